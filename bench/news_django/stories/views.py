"""The pages people read: the front page, /new, /top and an article with its comments.

Written as Django's tutorial and topic guides teach: querysets with ``select_related`` and
``annotate``, ``Paginator``, ``get_object_or_404`` and ``render``. Only the reading pages
are here; the forms they show post to the Kettle site's routes, which this benchmark does
not serve (``elsewhere``).
"""

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpResponseNotFound
from django.shortcuts import get_object_or_404, render

from . import ranking
from .models import Article
from .threads import build_tree


def _page(request, items):
    paginator = Paginator(items, settings.NEWS_PER_PAGE)
    try:
        return paginator.page(request.GET.get("page", 1))
    except InvalidPage as error:
        raise Http404(f"There is no such page: {error}") from None


def _listing(request, title, tab, page, pinned=(), **context):
    offset = (page.number - 1) * page.paginator.per_page
    context.update(title=title, tab=tab, page_obj=page, pinned=pinned, offset=offset)
    return render(request, "stories/list.html", context)


def front(request):
    """Featured articles pinned, then the ranking (see ``stories.ranking``)."""
    page = _page(request, ranking.ranked_ids(settings.NEWS_RANK_WINDOW))
    found = Article.objects.select_related("author").in_bulk(page.object_list)
    page.object_list = [found[id] for id in page.object_list if id in found]
    pinned = []
    if page.number == 1:
        featured = Article.objects.filter(hidden=False, featured=True).select_related("author")
        pinned = featured[: settings.NEWS_FEATURED_COUNT]
    return _listing(request, "Top stories", "front", page, pinned)


def new(request):
    """Every visible article, newest first."""
    articles = Article.objects.filter(hidden=False).select_related("author")
    return _listing(request, "New", "new", _page(request, articles))


def top(request):
    """Top this week: the last 7 days' articles with enough votes, most voted first."""
    min_votes = settings.NEWS_TOP_MIN_VOTES
    articles = ranking.top_this_week(min_votes).select_related("author")
    page = _page(request, articles)
    return _listing(request, "Top this week", "top", page, min_votes=min_votes)


def article(request, id):
    """An article with its threaded comments."""
    found = get_object_or_404(Article.objects.select_related("author"), id=id, hidden=False)
    comments = found.comments.select_related("author")
    return render(request, "stories/article.html", {"article": found, "tree": build_tree(comments)})


def elsewhere(request, **kwargs):
    """The routes the pages link to that only the Kettle site serves (forms, profiles)."""
    return HttpResponseNotFound("Only the reading pages of the news site are written in Django.")
