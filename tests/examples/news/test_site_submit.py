"""/submit: a link or a text, checked, with duplicates of the week sent to the original."""

from __future__ import annotations

import datetime as dt

from news.models import Article
from newssite import Site

from kettle.db import fields


def test_a_link_is_saved_with_its_domain_and_shown(site: Site) -> None:
    site.user("ann")
    client = site.client("ann")
    response = site.post(
        client,
        "/submit",
        {"title": "  Kettles,   explained ", "url": "https://www.Example.com/kettles?x=1"},
    )
    assert response.status_code == 303
    with site.db.session():
        article = Article.objects.get(title="Kettles, explained")
        assert (article.url, article.domain, article.body) == (
            "https://www.Example.com/kettles?x=1",
            "example.com",
            "",
        )
    assert response.headers["location"] == f"/articles/{article.id}"
    page = client.get(response.headers["location"]).text
    assert "Thanks! Your article is on /new now." in page
    assert "(example.com)" in page


def test_a_text_post_needs_no_link(site: Site) -> None:
    site.user("ann")
    client = site.client("ann")
    response = site.post(
        client, "/submit", {"title": "Ask: best kettle?", "body": "Line one\n\nTwo"}
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "<p>Line one</p><p>Two</p>" in page


def test_bad_input_shows_the_form_again_with_the_problem(site: Site) -> None:
    site.user("ann")
    client = site.client("ann")
    cases = [
        ({"title": "T", "url": "javascript:alert(1)"}, "Enter a full http:// or https:// link"),
        ({"title": "T", "url": "ftp://example.com/x"}, "Enter a full http:// or https:// link"),
        ({"title": "T", "url": "https://example.com", "body": "text"}, "not both"),
        ({"title": "T"}, "Give a link to the story, or write a text instead."),
        ({"title": "", "url": "https://example.com"}, "Give the article a title."),
        ({"title": "x" * 201, "url": "https://example.com"}, "Keep the title to 200 characters."),
    ]
    for data, message in cases:
        response = site.post(client, "/submit", data)
        assert response.status_code == 422, data
        assert message in response.text, data
        assert 'aria-invalid="true"' in response.text
    with site.db.session():
        assert Article.objects.count() == 0


def test_a_link_submitted_this_week_leads_to_the_existing_article(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    original = site.article(ann, "Original", url="https://example.com/story", age_hours=24 * 6)
    client = site.client("bob")
    response = site.post(client, "/submit", {"title": "Again", "url": "https://example.com/story"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/articles/{original.id}"
    assert (
        "That link was submitted in the last 7 days" in client.get(f"/articles/{original.id}").text
    )
    with site.db.session():
        assert Article.objects.count() == 1


def test_a_link_older_than_a_week_may_be_submitted_again(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    site.article(ann, "Old", url="https://example.com/story", age_hours=24 * 8)
    client = site.client("bob")
    response = site.post(client, "/submit", {"title": "Again", "url": "https://example.com/story"})
    assert response.status_code == 303
    with site.db.session():
        assert Article.objects.filter(url="https://example.com/story").count() == 2
        newest = Article.objects.order_by("-created").first()
        assert newest is not None
        assert newest.title == "Again"
        assert newest.created > fields.now() - dt.timedelta(minutes=1)


def test_anonymous_visitors_are_sent_to_log_in(site: Site) -> None:
    response = site.client().get("/submit")
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?next=%2Fsubmit"


def test_a_form_post_without_the_csrf_token_is_refused(site: Site) -> None:
    site.user("ann")
    client = site.client("ann")
    client.enforce_csrf = True  # posts as written: no token filled in by the test client
    response = client.post("/submit", data={"title": "T", "url": "https://example.com"})
    assert response.status_code == 403
    assert "CSRF check failed" in response.text
    with site.db.session():
        assert Article.objects.count() == 0
