"""``/submit``: the form to post a link or a text (signed-in members, rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any

from kettle import Form, Group, RedirectResponse, Request, flash, render
from kettle.auth import login_required
from news.submissions import check, new_article, recent_duplicate
from news.web import article_limit, member_required, signed_in

group = Group("submit", templates=None, static=None)


@group.route("/submit", ["GET", "POST"])
@login_required
@member_required
@article_limit
def submit(
    request: Request,
    title: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Any:
    """Show the form; on POST, save the article, or send to the week's duplicate."""
    if request.method == "GET":
        return render("submit.html", values={"title": "", "url": "", "body": ""}, errors={})
    errors, values = check(title, url, body)
    if errors:
        return render("submit.html", values=values, errors=errors, status=422)
    existing = recent_duplicate(values["url"])
    if existing is not None:
        flash(request, "That link was submitted in the last 7 days; here it is.", "info")
        return RedirectResponse(request.url_for("pages.article", id=existing.id), 303)
    article = new_article(values, signed_in(request).id)
    article.save()
    flash(request, "Thanks! Your article is on /new now.", "success")
    return RedirectResponse(request.url_for("pages.article", id=article.id), 303)


__all__ = ["group", "submit"]
