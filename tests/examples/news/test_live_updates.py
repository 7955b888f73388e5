"""Live updates in process (news/live.py): what a vote or a comment announces to the
sockets of open pages, what it never announces, and a client that misbehaves.

Each test watches through the same ``TestClient`` it writes with: the broadcast is in
memory, on that client's event loop. "Nothing was sent" is checked by sending something
visible next and finding it first on the socket.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from news.live import live_of, shown
from news.models import Article, Comment
from newssite import PASSWORD, Site

from kettle.testing import TestClient, WebSocketDenied
from kettle.websockets import WebSocketDisconnect

JSON = {"accept": "application/json"}
REDIS_URL = "redis://127.0.0.1:6379/0"


def bob_reads_an_article(site: Site) -> tuple[Article, TestClient]:
    """Ann's article, and Bob, signed in, to read it."""
    article = site.article(site.user("ann"))
    site.user("bob")
    return article, site.client("bob")


def test_a_vote_reaches_the_lists_and_the_article_page(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann, points=4)
    bob = site.client("bob")
    with (
        bob.websocket_connect("/live/lists") as lists,
        bob.websocket_connect(f"/live/articles/{article.id}") as page,
    ):
        site.post(bob, f"/articles/{article.id}/vote")  # the form, without JavaScript
        expected = {"type": "votes", "id": article.id, "points": 5}
        assert lists.receive_json() == page.receive_json() == expected
        site.post(bob, f"/articles/{article.id}/vote", headers=JSON)  # site.js: taken back
        assert lists.receive_json() == {**expected, "points": 4}


def api_client(
    site: Site, username: str, client: TestClient | None = None
) -> tuple[TestClient, dict[str, str]]:
    """A client of the API (``client``, else a new one) and the headers that sign it in
    as ``username``."""
    client = client if client is not None else site.client()
    response = client.post("/api/tokens", json={"username": username, "password": PASSWORD})
    return client, {"authorization": f"Bearer {response.json()['token']}"}


def test_api_votes_are_announced_too(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    comment = site.comment(article, ann)
    bob, signed = api_client(site, "bob")
    with bob.websocket_connect(f"/live/articles/{article.id}") as page:
        assert bob.post(f"/api/articles/{article.id}/vote", headers=signed).status_code == 200
        assert page.receive_json() == {"type": "votes", "id": article.id, "points": 1}
        assert bob.post(f"/api/comments/{comment.id}/vote", headers=signed).status_code == 200
        assert page.receive_json() == {"type": "votes", "comment": comment.id, "points": 1}
        vote = bob.get(f"/api/votes?article_id={article.id}", headers=signed).json()
        assert bob.delete(f"/api/votes/{vote['items'][0]['id']}", headers=signed).is_success
        assert page.receive_json() == {"type": "votes", "id": article.id, "points": 0}
        assert bob.post("/api/votes", json={"article_id": article.id}, headers=signed).is_success
        assert page.receive_json() == {"type": "votes", "id": article.id, "points": 1}


def test_a_comment_arrives_as_the_page_renders_it(site: Site) -> None:
    article, bob = bob_reads_an_article(site)
    with bob.websocket_connect(f"/live/articles/{article.id}") as page:
        body = "Steam <b>whistles</b> & sings"
        site.post(bob, f"/articles/{article.id}/comments", {"body": body})
        message = page.receive_json()
        assert page.receive_json() == {"type": "comments", "id": article.id, "count": 1}
    with site.db.session():
        saved = Comment.objects.get(article_id=article.id)
    assert message["type"] == "comment"
    assert (message["article"], message["id"], message["parent"]) == (article.id, saved.id, None)
    escaped = "Steam &lt;b&gt;whistles&lt;/b&gt; &amp; sings"
    shown = site.client().get(f"/articles/{article.id}").text
    for html in (message["html"], message["member_html"]):
        assert html.lstrip().startswith(f'<li class="comment" id="c{saved.id}">')
        assert f"<p>{escaped}</p>" in html
        assert f"<p>{escaped}</p>" in shown
        assert "<b>" not in html
    # A signed-out reader's copy has no form; a member's has the vote and reply forms,
    # their CSRF field empty (live.js fills it in), and no one's Edit or Delete.
    assert "<form" not in message["html"]
    assert "Sign in to vote" in message["html"]
    member = message["member_html"]
    assert member.count('name="csrf_token" value="" data-live-csrf') == 2
    assert ">Reply</summary>" in member
    assert "Delete" not in member
    assert "Edit" not in member


def test_replies_name_their_parent(site: Site) -> None:
    article, bob = bob_reads_an_article(site)
    first = site.comment(article, site.user("cy"))
    with bob.websocket_connect(f"/live/articles/{article.id}") as page:
        site.post(bob, f"/articles/{article.id}/comments", {"body": "Agreed.", "parent": first.id})
        assert page.receive_json()["parent"] == first.id


def test_api_comments_are_announced(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    bob, signed = api_client(site, "bob")
    with bob.websocket_connect(f"/live/articles/{article.id}") as page:
        body = {"article_id": article.id, "body": "Via API"}
        response = bob.post("/api/comments", json=body, headers=signed)
        assert response.status_code == 201, response.text
        message = page.receive_json()
    assert message["id"] == response.json()["id"]
    assert "<p>Via API</p>" in message["html"]


def test_hidden_articles_and_comments_are_never_announced(site: Site) -> None:
    ann = site.user("ann")
    site.user("eve", role="editor")
    shown_article = site.article(ann, "Shown")
    hidden = site.article(ann, "Hidden", hidden=True)
    buried = site.comment(shown_article, ann, "Buried", hidden=True)
    under = site.comment(shown_article, ann, "Under the buried one", parent=buried)
    eve, signed = api_client(site, "eve", site.client("eve"))  # pages and API
    with (
        eve.websocket_connect("/live/lists") as lists,
        eve.websocket_connect(f"/live/articles/{hidden.id}") as hidden_page,
        eve.websocket_connect(f"/live/articles/{shown_article.id}") as page,
    ):
        # An editor may vote and comment where readers cannot see: nothing goes out.
        assert eve.post(f"/api/articles/{hidden.id}/vote", headers=signed).status_code == 200
        body = {"article_id": hidden.id, "body": "Psst"}
        assert eve.post("/api/comments", json=body, headers=signed).status_code == 201
        assert eve.post(f"/api/comments/{under.id}/vote", headers=signed).status_code == 200
        # Then something readers see: it is the first message on each socket.
        assert eve.post(f"/api/articles/{shown_article.id}/vote", headers=signed).is_success
        visible = {"type": "votes", "id": shown_article.id, "points": 1}
        assert lists.receive_json() == page.receive_json() == visible
        site.post(eve, f"/articles/{hidden.id}/comments", {"body": "Also hidden"})
        assert eve.delete(f"/api/articles/{hidden.id}/vote", headers=signed).is_success
        assert eve.delete(f"/api/articles/{shown_article.id}/vote", headers=signed).is_success
        assert lists.receive_json() == {**visible, "points": 0}
        # Shown again, the article is announced: that is the first its page hears.
        site.post(eve, f"/articles/{hidden.id}/moderate", {"action": "unhide"})
        assert eve.post(f"/api/articles/{hidden.id}/vote", headers=signed).is_success
        assert hidden_page.receive_json() == {"type": "votes", "id": hidden.id, "points": 1}
    with site.db.session():
        assert Comment.objects.filter(article_id=hidden.id).count() == 2


def test_shown_follows_the_thread_rule() -> None:
    # 1 is hidden, 2 answers it, 3 was deleted, 4 is fine, 5 is not there.
    thread = [
        (1, None, True, False),
        (2, 1, False, False),
        (3, None, False, True),
        (4, None, False, False),
    ]
    assert [shown(id, thread) for id in (1, 2, 3, 4, 5)] == [False, False, False, True, False]


def test_a_write_that_fails_announces_nothing(site: Site) -> None:
    article, bob = bob_reads_an_article(site)
    with bob.websocket_connect(f"/live/articles/{article.id}") as page:
        assert site.post(bob, f"/articles/{article.id}/comments", {"body": " "}).status_code == 422
        site.post(bob, f"/articles/{article.id}/vote")
        assert page.receive_json()["type"] == "votes"


@pytest.mark.parametrize(
    ("sent", "code"),
    [('{"type": "ping"}', None), ('{"type": "shout"}', 1007), ("not json", 1007)],
)
def test_pings_are_fine_and_anything_else_closes_the_socket(
    sqlite_site: Site, sent: str, code: int | None
) -> None:
    site = sqlite_site
    ann = site.user("ann")
    article = site.article(ann)
    client = site.client()
    with client.websocket_connect(f"/live/articles/{article.id}") as page:
        page.send_text(sent)
        if code is None:
            site.post(site.client("ann"), f"/articles/{article.id}/vote")  # another loop
            page.send_text(sent)  # still open
            return
        with pytest.raises(WebSocketDisconnect) as closed:
            page.receive()
        assert closed.value.code == code


def test_the_routes_refuse_plain_requests_and_other_sites(sqlite_site: Site) -> None:
    client = sqlite_site.client()
    assert client.get("/live/lists").status_code == 426
    # "WEBSOCKET" is how routes name the handshake, not an HTTP method a client may send.
    assert client.request("WEBSOCKET", "/live/lists").status_code == 426
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect(
            "/live/lists", headers={"origin": "https://evil.example"}
        ).__enter__()
    assert denied.value.status_code == 403


def test_the_broadcast_is_redis_when_the_site_or_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newssite import make_site

    url = f"sqlite:///{tmp_path / 'news.sqlite3'}"
    monkeypatch.delenv("KETTLE_BROADCAST_URL", raising=False)
    site = make_site(url, news_redis_url=REDIS_URL, news_cache_prefix="here")
    broadcast = live_of(site.app).broadcast
    assert (broadcast.url, broadcast.prefix) == (REDIS_URL, "here:live")
    site.close()
    monkeypatch.setenv("KETTLE_BROADCAST_URL", "memory://")  # the variable comes first
    site = make_site(url, news_redis_url=REDIS_URL)
    assert live_of(site.app).broadcast.url == "memory://"
    site.close()


def test_votes_still_count_when_the_broadcast_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from newssite import make_site

    monkeypatch.setenv("KETTLE_BROADCAST_URL", "redis://127.0.0.1:1/0")  # nobody listens
    site = make_site(f"sqlite:///{tmp_path / 'news.sqlite3'}")
    article, bob = bob_reads_an_article(site)
    response = site.post(bob, f"/articles/{article.id}/vote", headers=JSON)
    assert response.json() == {"points": 1, "voted": True}  # the vote is in; the push is not
    assert "on_commit" in caplog.text
    site.close()
