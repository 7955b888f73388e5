from django.urls import path

from . import views

urlpatterns = [
    path("", views.front, name="front"),
    path("new", views.new, name="new"),
    path("top", views.top, name="top"),
    path("articles/<int:id>", views.article, name="article"),
    # Served by the Kettle site only: the targets of the pages' links and forms.
    path("articles/<int:id>/vote", views.elsewhere, name="vote_article"),
    path("articles/<int:id>/comments", views.elsewhere, name="post_comment"),
    path("comments/<int:id>/vote", views.elsewhere, name="vote_comment"),
    path("users/<str:username>", views.elsewhere, name="profile"),
    path("submit", views.elsewhere, name="submit"),
    path("auth/login", views.elsewhere, name="login"),
    path("auth/signup", views.elsewhere, name="signup"),
]
