"""The pages people read: the front page, /new, /top, an article, a profile.

Lists show 30 articles a page (``?page=N``; a page out of range is a 404). Hidden
articles are listed nowhere and are a 404 to everyone but editors. A signed-out reader
gets the lists from the page cache (``news_page_cache_seconds``): their pages carry no
form and no CSRF token (the vote buttons are links to sign in), so they are the same
for everybody.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kettle import App, Group, HTTPException, Request, render
from kettle.auth import User, get_user
from kettle.cache import Cache, serve_cached
from kettle.db import Page, Paginator
from news import ranking
from news.models import Article, ArticleVote, Comment, CommentVote
from news.threads import build_tree, walk
from news.web import is_moderator, rankings_of, settings_of

group = Group("pages", templates=None, static=None)


def _voted_articles(request: Request, articles: list[Article]) -> set[int]:
    user = get_user(request)
    if not user.is_authenticated or not articles:
        return set()
    ids = [a.id for a in articles]
    votes = ArticleVote.objects.filter(user_id=user.id, article_id__in=ids)
    return set(votes.values_list("article_id", flat=True))


def _listing(
    request: Request, title: str, page: Page[Article], pinned: list[Article], **context: Any
) -> Any:
    articles = [*pinned, *page.items]
    return render(
        "list.html",
        title=title,
        page=page,
        pinned=pinned,
        voted=_voted_articles(request, articles),
        offset=(page.number - 1) * page.per_page,
        **context,
    )


def install_page_cache(app: App, cache: Cache, seconds: float) -> None:
    """Serve the lists (/, /new, /top) from ``cache`` for ``seconds`` to signed-out
    readers, through ``cache.page`` (0: never). ``news.app`` gives it a cache of its own,
    which moderation clears (``news.web.lists_changed``)::

        install_page_cache(app, Cache(url="memory://", prefix="news:pages"), 10)
    """
    app.state.page_cache = cache
    app.state.cached_lists = (
        {fn: cache.page(seconds, vary=["Cookie"])(fn) for fn in (_front, _new, _top)}
        if seconds > 0
        else {}
    )


def _served(request: Request, fn: Callable[..., Any], **params: Any) -> Any:
    # NOTE: the routes are the group's, shared by every app, and each app has its own
    # cache: the decorated handler is picked per app and served for this request.
    cached = getattr(request.app.state, "cached_lists", {}).get(fn)
    if cached is None:
        return fn(request, **params)
    return serve_cached(cached, request, request, **params)


@group.get("/")
def front(request: Request, page: int = 1) -> Any:
    """The front page: featured articles pinned, then the ranking (see ``news.ranking``)."""
    return _served(request, _front, page=page)


@group.get("/new")
def new(request: Request, page: int = 1) -> Any:
    """Every article, newest first."""
    return _served(request, _new, page=page)


@group.get("/top")
def top(request: Request, page: int = 1) -> Any:
    """Top this week: the last 7 days' articles with enough votes, most voted first."""
    return _served(request, _top, page=page)


def _front(request: Request, page: int = 1) -> Any:
    settings = settings_of(request)
    ranked = ranking.ranked_page(
        page, settings.news_per_page, settings.news_rank_window, rankings_of(request)
    )
    pinned = list(ranking.featured()[: settings.news_featured_count]) if page == 1 else []
    return _listing(request, "Top stories", ranked, pinned, tab="front")


def _new(request: Request, page: int = 1) -> Any:
    found = Paginator(ranking.newest(), settings_of(request).news_per_page).page(page)
    return _listing(request, "New", found, [], tab="new")


def _top(request: Request, page: int = 1) -> Any:
    settings = settings_of(request)
    found = ranking.top_page(
        page, settings.news_per_page, settings.news_top_min_votes, rankings_of(request)
    )
    return _listing(
        request, "Top this week", found, [], tab="top", min_votes=settings.news_top_min_votes
    )


def hidden_from(request: Request, article: Article) -> bool:
    """Whether ``article`` is hidden from this user: the one rule of every route that
    reaches an article, directly or through one of its comments (they answer 404)."""
    return article.hidden and not is_moderator(request)


def visible_article(request: Request, id: int) -> Article:
    """The article, unless it is hidden and the user is no editor (then a 404)."""
    article = Article.objects.select_related("author").filter(id=id).first()
    if article is None or hidden_from(request, article):
        raise HTTPException(404, f"No article with id {id}.")
    return article


def article_context(request: Request, article: Article, **extra: Any) -> dict[str, Any]:
    """What ``article.html`` needs; the comment form's errors and text come in ``extra``."""
    moderator = is_moderator(request)
    rows = list(Comment.objects.filter(article_id=article.id).select_related("author"))
    tree = build_tree(rows, show_hidden=moderator)
    user = get_user(request)
    voted_comments: set[int] = set()
    voted = False
    if user.is_authenticated:
        voted = ArticleVote.objects.filter(article_id=article.id, user_id=user.id).exists()
        ids = [node.comment.id for node in walk(tree)]
        if ids:
            mine = CommentVote.objects.filter(user_id=user.id, comment_id__in=ids)
            voted_comments = set(mine.values_list("comment_id", flat=True))
    context = {
        "article": article,
        "tree": tree,
        "voted": {article.id} if voted else set(),
        "voted_comments": voted_comments,
        "moderator": moderator,
        "edit_window": settings_of(request).news_edit_window,
        "errors": {},
        "values": {"body": "", "parent": ""},
    }
    context.update(extra)
    return context


@group.get("/articles/<int:id>")
def article(request: Request, id: int) -> Any:
    """An article with its threaded comments and the forms to answer."""
    found = visible_article(request, id)
    return render("article.html", **article_context(request, found))


@group.get("/users/<username>")
def profile(request: Request, username: str, page: int = 1, comments: int = 1) -> Any:
    """A user's submissions and comments, newest first, each list with its own pages."""
    person = User.objects.filter(username=username).first()
    if person is None:
        raise HTTPException(404, f"No user named {username!r}.")
    per_page = settings_of(request).news_per_page
    moderator = is_moderator(request)
    articles = Article.objects.filter(author_id=person.id).select_related("author")
    said = Comment.objects.filter(author_id=person.id, deleted=False).select_related("article")
    if not moderator:
        articles = articles.filter(hidden=False)
        said = said.filter(hidden=False, article__hidden=False)
    submitted = Paginator(articles.order_by("-created"), per_page).page(page)
    written = Paginator(said.order_by("-created"), per_page).page(comments)
    return render(
        "profile.html",
        person=person,
        page=submitted,
        comment_page=written,
        voted=_voted_articles(request, submitted.items),
        offset=(submitted.number - 1) * per_page,
    )


__all__ = [
    "article",
    "article_context",
    "front",
    "group",
    "hidden_from",
    "install_page_cache",
    "new",
    "profile",
    "top",
    "visible_article",
]
