from rest_framework import generics

from app_drf.models import Article
from app_drf.serializers import ArticleSerializer


class ArticleList(generics.ListAPIView):
    queryset = Article.objects.select_related("author")
    serializer_class = ArticleSerializer


class ArticleDetail(generics.RetrieveAPIView):
    queryset = Article.objects.select_related("author")
    serializer_class = ArticleSerializer
