"""The news site with ``news_tasks=worker``: mail and rankings as kettle.tasks tasks.

Tasks wait in the site's own database (the default ``KETTLE_TASKS_URL``) and a real
worker loop of the database backend, in a thread, runs them; the admin shows them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from news.app import create_app
from news.models import Article, Comment, Ranking
from news.roles import ADMIN
from news.settings import NewsSettings
from newssite import FAST_HASHER, GENEROUS, PASSWORD, Site, make_site

from htmlforms import csrf_from
from kettle.auth import AuthOptions, User
from kettle.db import Database, fields
from kettle.mail import EmailMessage, MemoryBackend
from kettle.tasks import Registry, Tasks
from kettle.tasks.models import TaskRow
from kettle.testing import TestClient


@pytest.fixture
def worker_site(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("KETTLE_TASKS_URL", raising=False)
    built = make_site(db_url, news_tasks="worker")
    yield built
    built.close()


def queued(site: Site, name: str) -> list[TaskRow]:
    with site.db.session():
        return list(TaskRow.objects.filter(name=name).order_by("id"))


def run_tasks(site: Site, within: float = 30) -> None:
    """Run every queued task with the database backend's worker, until none is left."""
    tasks: Tasks = site.app.state.tasks
    tasks.use()
    loop = tasks.backend.worker(Registry.defined(), queues=["default"], concurrency=2)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            with site.db.session():
                if not TaskRow.objects.filter(state__in=["pending", "running"]).exists():
                    return
            time.sleep(0.05)
        raise AssertionError("the queued tasks did not finish")
    finally:
        loop.stop(grace=5)
        thread.join(10)


def same_page(html: str, email: str) -> str:
    """The page without what differs by design: the address and the CSRF token."""
    return re.sub(r'content="[\w-]{40,}"', "", html.replace(email, "X"))


def ask_for_reset(site: Site, client: TestClient, email: str) -> Any:
    page = client.get("/auth/password/reset")
    return client.post(
        "/auth/password/reset", data={"email": email, "csrf_token": csrf_from(page.text)}
    )


def test_every_address_queues_the_same_task_and_only_real_accounts_get_mail(
    worker_site: Site,
) -> None:
    ann = worker_site.user("ann")
    client = worker_site.client()
    known = ask_for_reset(worker_site, client, "ann@example.org")
    unknown = ask_for_reset(worker_site, client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert same_page(known.text, "ann@example.org") == same_page(unknown.text, "nobody@example.org")
    assert worker_site.mail.outbox == []  # nothing is sent during the request
    # The same work for both addresses: one task each, so no timing tells them apart.
    rows = queued(worker_site, "news.send_password_reset")
    assert [row.state for row in rows] == ["pending", "pending"]
    assert "ann@example.org" in rows[0].payload
    assert "nobody@example.org" in rows[1].payload
    assert not any("reset" in row.payload for row in rows)  # no token waits in the queue

    run_tasks(worker_site)
    [mail] = worker_site.mail.outbox  # the worker mails real accounts only
    assert mail.to == ["ann@example.org"]
    assert ann.id
    link = next(word for word in mail.body.split() if "/auth/password/reset/" in word)
    assert link.startswith("http://testserver/auth/password/reset/")
    followed = client.get(link.removeprefix("http://testserver"))
    assert followed.status_code == 303  # a working link: on to choosing the password


class SlowMail(MemoryBackend):
    """A mail server that takes 5 ms a message, like a nearby SMTP relay (or more)."""

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        await asyncio.sleep(0.005)
        return await super().send(messages)


def _reset_timings(news_tasks: str, url: str) -> tuple[float, float, int]:
    """Median seconds of the reset page for a known and an unknown address (200 each,
    interleaved), and how many reset tasks were queued."""
    settings = NewsSettings.load(env="testing", env_file=None, news_tasks=news_tasks, **GENEROUS)
    options = AuthOptions(
        hasher=FAST_HASHER, max_resets_per_email=10**6, max_resets_per_address=10**6
    )
    app = create_app(settings, database_url=url, mail=SlowMail(), auth_options=options)
    db: Database = app.state.db
    db.drop_all()
    db.create_all()
    try:
        with db.session():
            ann = User(username="ann", email="ann@example.org")
            ann.set_password(PASSWORD)
            ann.save()
        known: list[float] = []
        unknown: list[float] = []
        with TestClient(app) as client:
            token = csrf_from(client.get("/auth/password/reset").text)
            for round in range(220):
                for email, times in (("ann@example.org", known), ("zed@example.org", unknown)):
                    started = time.perf_counter()
                    response = client.post(
                        "/auth/password/reset", data={"email": email, "csrf_token": token}
                    )
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200
                    if round >= 20:  # the first requests warm caches up
                        times.append(elapsed)
        with db.session():
            count = TaskRow.objects.filter(name="news.send_password_reset").count()
        return statistics.median(known), statistics.median(unknown), count
    finally:
        db.drop_all()
        db.dispose()


def test_the_reset_page_takes_as_long_for_unknown_addresses_as_for_known_ones(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loose test of no gross difference (medians within 2x), not a timing benchmark;
    without tasks (``news_tasks=off``) the mail server's time alone tells them apart."""
    monkeypatch.delenv("KETTLE_TASKS_URL", raising=False)
    known, unknown, count = _reset_timings("worker", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    assert count == 440  # one task per request, whoever has the address
    assert 0.5 * known <= unknown <= 2 * known, (known, unknown)
    known, unknown, count = _reset_timings("off", f"sqlite:///{tmp_path / 'o.sqlite3'}")
    assert count == 0
    assert unknown < 0.8 * known, (known, unknown)  # the leak the tasks remove


def test_sign_up_queues_the_welcome_mail_with_the_account(worker_site: Site) -> None:
    client = worker_site.client()
    page = client.get("/auth/signup")
    response = client.post(
        "/auth/signup",
        data={
            "username": "newbie",
            "email": "newbie@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303
    assert worker_site.mail.outbox == []
    [row] = queued(worker_site, "news.send_welcome")
    run_tasks(worker_site)
    # The link that verifies the address goes through a task too (kettle.auth.verification).
    # Two tasks, run in either order: the welcome mail and the verification link.
    assert len(worker_site.mail.outbox) == 2
    [verify] = [m for m in worker_site.mail.outbox if "/auth/email/verify/" in m.body]
    [mail] = [m for m in worker_site.mail.outbox if m is not verify]
    assert verify.to == ["newbie@example.org"]
    assert (mail.subject, mail.to) == ("Welcome to Kettle News", ["newbie@example.org"])
    assert "Hello newbie" in mail.body
    assert queued(worker_site, "news.send_welcome")[0].state == "done"
    assert row.task_id


def _reply(site: Site, client: TestClient, article: Article, body: str, parent: str = "") -> Any:
    return site.post(client, f"/articles/{article.id}/comments", {"body": body, "parent": parent})


@pytest.mark.parametrize("news_tasks", ["worker", "off"])
def test_authors_hear_of_replies_but_not_of_their_own(
    sqlite_url: str, news_tasks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KETTLE_TASKS_URL", raising=False)
    site = make_site(sqlite_url, news_tasks=news_tasks)
    try:
        ann, bob = site.user("ann"), site.user("bob")
        article = site.article(ann, "Kettles at altitude")
        bobs = site.client("bob")
        assert _reply(site, bobs, article, "Water boils sooner up there.").status_code == 303
        with site.db.session():
            comment_id = Comment.objects.get(article_id=article.id).id
        anns = site.client("ann")
        assert _reply(site, anns, article, "It does!", str(comment_id)).status_code == 303
        assert _reply(site, anns, article, "My own note.").status_code == 303
        if news_tasks == "worker":
            assert site.mail.outbox == []
            assert len(queued(site, "news.notify_reply")) == 3
            run_tasks(site)
        to_ann, to_bob = sorted(site.mail.outbox, key=lambda mail: mail.to)
        assert to_ann.to == ["ann@example.org"]
        assert "bob replied to your article on “Kettles at altitude”" in to_ann.body
        assert "Water boils sooner up there." in to_ann.body
        assert to_bob.to == ["bob@example.org"]
        assert "ann replied to your comment" in to_bob.body
        assert f"/articles/{article.id}#c" in to_bob.body
        assert bob.id  # ann's own top-level note told nobody: two mails in all
    finally:
        site.close()


def _api_reply(site: Site, who: str, article: Article, body: str, parent: int | None = None) -> Any:
    with TestClient(site.app) as client:
        login = client.post("/api/tokens", json={"username": who, "password": PASSWORD})
        headers = {"authorization": f"Bearer {login.json()['token']}"}
        reply = {"article_id": article.id, "body": body, "parent_id": parent}
        return client.post("/api/comments", json=reply, headers=headers)


@pytest.mark.parametrize("news_tasks", ["worker", "off"])
def test_api_replies_notify_authors_too(
    sqlite_url: str, news_tasks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KETTLE_TASKS_URL", raising=False)
    site = make_site(sqlite_url, news_tasks=news_tasks)
    try:
        ann, _bob = site.user("ann"), site.user("bob")
        article = site.article(ann, "Kettles at altitude")
        top = _api_reply(site, "bob", article, "Water boils sooner up there.")
        assert top.status_code == 201, top.text
        assert _api_reply(site, "ann", article, "It does!", top.json()["id"]).status_code == 201
        assert _api_reply(site, "ann", article, "My own note.").status_code == 201
        if news_tasks == "worker":
            assert site.mail.outbox == []
            assert len(queued(site, "news.notify_reply")) == 3
            run_tasks(site)
        to_ann, to_bob = sorted(site.mail.outbox, key=lambda mail: mail.to)
        assert to_ann.to == ["ann@example.org"]
        assert "bob replied to your article" in to_ann.body
        assert to_bob.to == ["bob@example.org"]
        assert "ann replied to your comment" in to_bob.body
        assert f"#c{top.json()['id'] + 1}" in to_bob.body
    finally:
        site.close()


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'news.sqlite3'}"


def test_the_rankings_come_from_the_periodic_task(worker_site: Site) -> None:
    ann = worker_site.user("ann")
    old = worker_site.article(ann, "Old but loved", age_hours=10, points=500)
    new = worker_site.article(ann, "Brand new", age_hours=0, points=1)
    client = worker_site.client()
    # Before the task first ran, a page ranks for itself.
    assert client.get("/").text.index("Old but loved") < client.get("/").text.index("Brand new")
    run_recompute(worker_site)
    with worker_site.db.session():
        assert Ranking.objects.get(key="front").ids == f"[{old.id}, {new.id}]"
        Article.objects.filter(id=new.id).update(points=10_000)
    # Every web worker shows the stored order until the task ranks again.
    page = client.get("/").text
    assert page.index("Old but loved") < page.index("Brand new")
    run_recompute(worker_site)
    page = client.get("/").text
    assert page.index("Brand new") < page.index("Old but loved")


def run_recompute(site: Site) -> None:
    from news.tasks import recompute_rankings

    site.app.state.tasks.use()
    recompute_rankings()  # what the worker's scheduler runs every 15 seconds


def test_moderation_asks_for_a_new_ranking_at_once(worker_site: Site) -> None:
    ann = worker_site.user("ann")
    worker_site.user("boss", ADMIN)
    article = worker_site.article(ann, "Spam")
    boss = worker_site.client("boss")
    moderated = worker_site.post(
        boss, f"/articles/{article.id}/moderate", {"action": "hide", "next": "/"}
    )
    assert moderated.status_code == 303
    worker_site.post(boss, f"/articles/{article.id}/moderate", {"action": "unhide"})
    [row] = queued(worker_site, "news.recompute_rankings")  # one: the unique key collapses
    run_tasks(worker_site)
    assert queued(worker_site, "news.recompute_rankings")[0].state == "done"
    with worker_site.db.session():
        assert Ranking.objects.get(key="front").ids == f"[{article.id}]"
    assert row.unique_key == "news.rankings"


def test_the_admin_lists_tasks_shows_tracebacks_and_retries(worker_site: Site) -> None:
    worker_site.user("root", None, is_superuser=True, is_staff=True)
    ghost = worker_site.user("ghost")
    client = worker_site.client()
    ask_for_reset(worker_site, client, "ghost@example.org")
    # A mail server that refuses everything: the task fails after its retries.
    [row] = queued(worker_site, "news.send_password_reset")
    with worker_site.db.session():
        TaskRow.objects.filter(id=row.id).update(max_retries=0)
    worker_site.app.state.auth.mail = Refusing()
    run_tasks(worker_site)
    [failed] = queued(worker_site, "news.send_password_reset")
    assert failed.state == "failed"
    assert failed.error == "ConnectionRefusedError: the mail server said no"

    root = worker_site.client("root")
    listing = root.get("/admin/kettle_tasks/?state__exact=failed")
    assert listing.status_code == 200
    assert "news.send_password_reset" in listing.text
    assert "ConnectionRefusedError: the mail server said no" in listing.text
    detail = root.get(f"/admin/kettle_tasks/{failed.id}/change")
    assert detail.status_code == 200
    assert "Traceback (most recent call last)" in detail.text
    assert "raise ConnectionRefusedError" in detail.text
    assert "Add task row" not in listing.text

    done = root.post(
        "/admin/kettle_tasks/",
        data={
            "action": "retry_tasks",
            "_selected": [str(failed.id)],
            "csrf_token": csrf_from(listing.text),
        },
    )
    assert done.status_code == 303
    [again] = queued(worker_site, "news.send_password_reset")
    assert (again.state, again.attempts) == ("pending", 0)
    worker_site.app.state.auth.mail = worker_site.mail
    run_tasks(worker_site)
    assert [mail.to for mail in worker_site.mail.outbox] == [["ghost@example.org"]]
    assert ghost.id


class Refusing(MemoryBackend):
    async def send(self, messages: Sequence[EmailMessage]) -> int:
        raise ConnectionRefusedError("the mail server said no")


def test_without_a_worker_the_site_sends_mail_in_the_request(sqlite_site: Site) -> None:
    """``news_tasks=off`` (the default, ``make demo``): no task is queued."""
    sqlite_site.user("ann")
    ask_for_reset(sqlite_site, sqlite_site.client(), "ann@example.org")
    assert [mail.to for mail in sqlite_site.mail.outbox] == [["ann@example.org"]]
    assert queued(sqlite_site, "news.send_password_reset") == []


def test_the_records_of_tasks_done_a_day_ago_are_forgotten(worker_site: Site) -> None:
    from news.tasks import forget_finished_tasks, recompute_rankings

    worker_site.app.state.tasks.use()
    for _ in range(2):
        recompute_rankings.enqueue()
    run_tasks(worker_site)
    old, recent = queued(worker_site, "news.recompute_rankings")
    with worker_site.db.session():
        TaskRow.objects.filter(id=old.id).update(finished_at=fields.now() - dt.timedelta(days=2))
    forget_finished_tasks()  # what the scheduler runs every hour
    assert [row.id for row in queued(worker_site, "news.recompute_rankings")] == [recent.id]


def test_the_reset_hook_must_be_async(sqlite_site: Site) -> None:
    def not_async(request: Any, email: str) -> None: ...

    with pytest.raises(TypeError, match="not_async an `async def` taking"):
        sqlite_site.app.state.auth.on_password_reset(not_async)
