"""Kettle News: a link-sharing site with votes, threaded comments, moderation and an API.

``news.app`` builds the site (``app``, ``db``, ``auth``, ``admin``); ``news.models`` holds
its data. Run it from ``examples/news`` with ``kettle run news/app.py``.
"""
