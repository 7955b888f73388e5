"""The news site's tables, as Kettle's migrations made them, mapped with `managed = False`.

Kettle keeps ``points`` and ``comment_count`` as counters on the article (and ``points``
on the comment), so the lists read them instead of counting rows; /top counts the week's
``ArticleVote`` rows, as Kettle's does.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class User(AbstractBaseUser):
    """Kettle's accounts (``auth_user``); this site only reads their names."""

    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(max_length=254)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)
    date_joined = models.DateTimeField()

    objects = BaseUserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"

    class Meta:
        managed = False
        db_table = "auth_user"

    def __str__(self):
        return self.username


class Article(models.Model):
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500, null=True)
    domain = models.CharField(max_length=200, default="")
    body = models.TextField(default="")
    author = models.ForeignKey(User, models.CASCADE, related_name="articles")
    created = models.DateTimeField(auto_now_add=True)
    points = models.IntegerField(default=0)
    comment_count = models.IntegerField(default=0)
    hidden = models.BooleanField(default=False)
    featured = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "article"
        ordering = ["-created"]

    def __str__(self):
        return self.title


class ArticleVote(models.Model):
    article = models.ForeignKey(Article, models.CASCADE, related_name="votes")
    user = models.ForeignKey(User, models.CASCADE, related_name="article_votes")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = "article_vote"


class Comment(models.Model):
    article = models.ForeignKey(Article, models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", models.CASCADE, null=True, related_name="replies")
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    edited = models.DateTimeField(null=True)
    points = models.IntegerField(default=0)
    deleted = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "comment"
        ordering = ["created"]

    def __str__(self):
        return self.body[:60]
