from django.db import models


class Author(models.Model):
    username = models.CharField(max_length=150)

    class Meta:
        db_table = "author"
        managed = False


class Article(models.Model):
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=500)
    score = models.IntegerField()
    created = models.DateTimeField()
    author = models.ForeignKey(Author, models.CASCADE, related_name="articles")

    class Meta:
        db_table = "article"
        managed = False
        ordering = ["id"]
