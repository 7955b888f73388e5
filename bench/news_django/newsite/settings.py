"""Settings of the news site written in Django, for bench/news_vs_django.py.

`startproject`'s settings with production values (DEBUG off, allowed hosts, persistent
connections), its middleware and its contrib apps, and the Kettle site's database:
DATABASE_URL names the PostgreSQL database that Kettle's `python -m news demo` filled.
The tables are Kettle's; the models map onto them (`managed = False`), so Django never
migrates them.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
NEWS_STATIC = BASE_DIR.parent.parent / "examples" / "news" / "news" / "static"
_url = urlsplit(os.environ["DATABASE_URL"])

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "bench-secret-for-the-news-site-in-django")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "stories",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "newsite.urls"
WSGI_APPLICATION = "newsite.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
        "CONN_MAX_AGE": 60,  # persistent connections, as the deployment checklist advises
    }
}
# Kettle's accounts table, auth_user, read through a custom user model (stories.User).
AUTH_USER_MODEL = "stories.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
STATICFILES_DIRS = [NEWS_STATIC]

#: The site's own settings, as Kettle's NewsSettings has them.
NEWS_PER_PAGE = 30
NEWS_RANK_WINDOW = 1000
NEWS_FEATURED_COUNT = 5
NEWS_TOP_MIN_VOTES = 10
