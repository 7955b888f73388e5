"""No request, however hostile, is a server error (audit issue #11).

Every route of the news site, its admin and kettle.auth's pages (and the static files)
is walked as each role (signed out, a reader, an editor, staff) with requests that
hypothesis makes from hostile values: integers far past any column's range, Unicode
digits, impossible dates, 10,000-character strings, NUL and control characters, lone
surrogates, malformed percent-encoding and raw bytes in the query string, hostile form
fields and JSON bodies (see ``hostile``, ``routewalk`` and ``walker``). Any 5xx, or an
answer that is no well-formed page, fails the test with the role, method, URL and the
traceback's last lines. It runs on SQLite, PostgreSQL and MariaDB, and once more in the
development settings, where an undefined template variable is an error.

The walk is reproducible by default (``walk-ci``: a fixed seed per route and role, 5
requests to learn whether the role gets in, then 10 more plus 2 per input of the route);
``HYPOTHESIS_PROFILE=walk-long`` walks much longer with fresh randomness.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from news.app import create_app
from news.models import ArticleVote, CommentVote
from news.roles import ADMIN, EDITOR, READER, ensure_roles
from news.settings import NewsSettings
from newssite import FAST_HASHER, GENEROUS, PASSWORD, Site
from routewalk import mount_files
from walker import PER_INPUT, RawScope, Walk, profile
from walkrequests import Call

from kettle.auth import AuthOptions, Group, User
from kettle.auth.twofactor.core import CodeThrottle
from kettle.db import Database
from kettle.mail import MemoryBackend
from kettle.testing import TestClient

#: role -> (username, news role); "signed out" has no account.
ROLES: dict[str, tuple[str | None, str | None]] = {
    "signed out": (None, None),
    "reader": ("ann", READER),
    "editor": ("ed", EDITOR),
    "staff": ("boss", ADMIN),
}
#: What the admin's list of articles answers each role: proof that the role is signed in.
ADMIN_LIST = {"signed out": 303, "reader": 403, "editor": 200, "staff": 200}


def build_site(url: str, env: str = "testing") -> Site:
    """The news site on ``url`` in ``env``'s settings, its tables new; login throttles
    high enough that the walk's failed logins never lock its own roles out."""
    # GitHub is on, at an address where nothing answers: the walk reaches its routes.
    github = {
        "oidc_github_client_id": "news-walk",
        "oidc_github_client_secret": "news-walk-secret",
        "news_github_url": "http://127.0.0.1:9",
    }
    settings = NewsSettings.load(env=env, env_file=None, **GENEROUS, **github)
    options = AuthOptions(
        hasher=FAST_HASHER, max_failures_per_account=10**6, max_failures_per_address=10**6
    )
    mail = MemoryBackend()
    app = create_app(settings, database_url=url, mail=mail, auth_options=options)
    # ... and the second factor's: the walk sends the code page wrong codes by the dozen.
    two_factor = app.state.two_factor
    two_factor.throttle = CodeThrottle(
        two_factor.throttle.store, max_per_account=10**6, max_per_address=10**6
    )
    db: Database = app.state.db
    db.drop_all()
    db.create_all()
    with db.session():
        ensure_roles()
    return Site(app, db, mail)


def seed(site: Site) -> dict[str, list[str]]:
    """Accounts for the roles, an article, a hidden one, comments and votes; returns the
    values worth trying for each path parameter."""
    users = {role: site.user(name, news_role) for role, (name, news_role) in ROLES.items() if name}
    ann, ed = users["reader"], users["editor"]
    shown = site.article(ann, "Why kettles whistle")
    hidden = site.article(ed, "Withdrawn", hidden=True)
    first = site.comment(shown, ann, "First!")
    reply = site.comment(shown, ed, "A reply", parent=first)
    gone = site.comment(shown, ann, "Hidden remark", hidden=True)
    with site.db.session():
        ArticleVote.objects.create(article_id=shown.id, user_id=ann.id)
        CommentVote.objects.create(comment_id=first.id, user_id=ed.id)
        groups = list(Group.objects.values_list("id", flat=True))
        token = site.app.state.auth.reset_tokens.make(User.objects.get(id=ann.id))
    ids = {shown.id, hidden.id, first.id, reply.id, gone.id, *groups}
    ids |= {user.id for user in users.values()}
    admin = site.app.state.admin
    return {
        "id": [str(i) for i in sorted(ids)],
        "username": [user.username for user in users.values()],
        "model": [model_admin.slug for model_admin in admin.admins()],
        "token": [token],
        "path": mount_files(site.app),
    }


@pytest.fixture
def walked(db_url: str) -> Iterator[tuple[Site, dict[str, list[str]]]]:
    built = build_site(db_url)
    try:
        yield built, seed(built)
    finally:
        built.close()


def walk(site: Site, seeds: dict[str, list[str]], role: str, per_input: int = PER_INPUT) -> Walk:
    username = ROLES[role][0]
    done = Walk(site.app, role, username, PASSWORD, seeds, per_input=per_input)
    if username is not None:
        done.second_factor = functools.partial(site.second_factor, username=username)
    done.run(profile())
    return done


def assert_reached(done: Walk, role: str) -> None:
    """The walk cannot pass by walking nothing: every target got requests, the seeded
    pages were found, and hostile requests got past the router on most routes."""
    walked = {key for key, statuses in done.statuses.items() if statuses.total()}
    every = {target.key for target in done.targets}
    assert walked == every, f"targets never walked: {sorted(every - walked)}"
    assert len(every) >= 45, f"only {len(every)} routes and methods: are the routes there?"
    assert done.seeded[("GET", "admin.changelist")] == ADMIN_LIST[role]
    assert done.seeded[("GET", "pages.article")] == 200
    found = [key for key, status in done.seeded.items() if status != 404]
    assert len(found) >= 0.9 * len(done.seeded), f"seeded pages not found: {done.seeded}"
    reached = [key for key, statuses in done.statuses.items() if set(statuses) - {404}]
    assert len(reached) >= 0.85 * len(every), (
        f"only {len(reached)} of {len(every)} routes answered a hostile request with "
        f"anything but 404: {sorted(every - set(reached))}"
    )


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ROLES)
def test_no_hostile_request_is_a_server_error(
    walked: tuple[Site, dict[str, list[str]]], role: str
) -> None:
    site, seeds = walked
    done = walk(site, seeds, role)
    assert_reached(done, role)
    assert not done.failures, done.report()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ["signed out", "reader"])
def test_no_hostile_request_is_a_server_error_in_development(tmp_path: Path, role: str) -> None:
    """Development renders templates strictly: a page that reads a variable it was not
    given is a 500 there, which the walk must find too. Every page is read once before
    the walk, so a shorter walk does here (on SQLite only: templates know no engine)."""
    site = build_site(f"sqlite:///{tmp_path / 'news.sqlite3'}", env="development")
    try:
        done = walk(site, seed(site), role, per_input=1)
    finally:
        site.close()
    assert_reached(done, role)
    assert not done.failures, done.report()


def test_the_walk_sends_the_bytes_it_was_given() -> None:
    """Malformed percent-encoding and raw bytes reach the app unrepaired."""
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    raw = RawScope(app)
    call = Call("GET", b"/users/%C3%zz", b"page=%&q=\xff\x00", "text/html")
    with TestClient(raw) as client:
        key = raw.expect(call.raw_path, call.query)
        assert client.get("/", headers={"x-walk": key}).status_code == 204
    assert seen["raw_path"] == b"/users/%C3%zz"
    assert seen["path"] == "/users/\ufffd%zz"
    assert seen["query_string"] == b"page=%&q=\xff\x00"
    assert all(name != b"x-walk" for name, _ in seen["headers"])
