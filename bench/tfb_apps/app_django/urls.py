from django.urls import path

from app_django import views

urlpatterns = [
    path("plaintext", views.plaintext),
    path("json", views.json_hello),
    path("db", views.single_query),
    path("queries", views.multiple_queries),
    path("fortunes", views.fortunes),
    path("updates", views.updates),
]
