"""Votes from the pages: a toggle, once per user, counters in step, JSON for site.js."""

from __future__ import annotations

from news import votes
from news.models import Article, ArticleVote, Comment, CommentVote
from newssite import Site

JSON = {"accept": "application/json"}


def test_a_vote_toggles_and_keeps_the_counter_in_step(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    site.user("cy")
    article = site.article(ann)
    bob, cy = site.client("bob"), site.client("cy")

    response = site.post(bob, f"/articles/{article.id}/vote", {"next": "/new"})
    assert (response.status_code, response.headers["location"]) == (303, "/new")
    site.post(cy, f"/articles/{article.id}/vote")
    assert site.get(Article, article.id).points == 2
    page = bob.get(f"/articles/{article.id}").text
    assert 'class="vote-button voted" aria-pressed="true"' in page

    site.post(bob, f"/articles/{article.id}/vote")  # again: taken back
    assert site.get(Article, article.id).points == 1
    with site.db.session():
        assert ArticleVote.objects.filter(article_id=article.id).count() == 1


def test_javascript_gets_the_count_and_the_state_as_json(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann, points=0)
    bob = site.client("bob")
    first = site.post(bob, f"/articles/{article.id}/vote", headers=JSON)
    assert first.json() == {"points": 1, "voted": True}
    second = site.post(bob, f"/articles/{article.id}/vote", headers=JSON)
    assert second.json() == {"points": 0, "voted": False}


def test_a_user_counts_once_even_when_two_votes_race(site: Site) -> None:
    ann = site.user("ann")
    bob = site.user("bob")
    article = site.article(ann)
    with site.db.session():
        assert votes.add(votes.ARTICLE, article.id, bob.id) is True
        assert votes.add(votes.ARTICLE, article.id, bob.id) is False  # the constraint refuses
        assert votes.points(votes.ARTICLE, article.id) == 1
    with site.db.session():
        assert votes.remove(votes.ARTICLE, article.id, bob.id) is True
        assert votes.remove(votes.ARTICLE, article.id, bob.id) is False
        assert votes.points(votes.ARTICLE, article.id) == 0


def test_comments_are_voted_on_the_same_way(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    comment = site.comment(article, ann)
    bob = site.client("bob")
    assert site.post(bob, f"/comments/{comment.id}/vote", headers=JSON).json() == {
        "points": 1,
        "voted": True,
    }
    response = site.post(bob, f"/comments/{comment.id}/vote")
    assert response.headers["location"] == f"/articles/{article.id}#c{comment.id}"
    assert site.get(Comment, comment.id).points == 0
    with site.db.session():
        assert not CommentVote.objects.exists()


def test_anonymous_votes_go_to_the_login_page_or_get_401(site: Site) -> None:
    ann = site.user("ann")
    article = site.article(ann)
    client = site.client()
    assert (
        site.post(client, f"/articles/{article.id}/vote")
        .headers["location"]
        .startswith("/auth/login?next=")
    )
    assert site.post(client, f"/articles/{article.id}/vote", headers=JSON).status_code == 401


def test_a_locked_article_refuses_votes_with_a_message(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann, locked=True, points=5)
    bob = site.client("bob")
    response = site.post(bob, f"/articles/{article.id}/vote", headers=JSON)
    assert response.status_code == 403
    assert "locked by the editors" in response.json()["detail"]
    response = site.post(bob, f"/articles/{article.id}/vote")
    assert response.status_code == 303
    assert "locked by the editors" in bob.get(response.headers["location"]).text
    assert site.get(Article, article.id).points == 5


def test_voting_on_something_that_does_not_exist_is_a_404(site: Site) -> None:
    site.user("bob")
    bob = site.client("bob")
    assert site.post(bob, "/articles/999/vote", headers=JSON).status_code == 404
    assert site.post(bob, "/comments/999/vote").status_code == 404
