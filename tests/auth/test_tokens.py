"""Password-reset tokens and API tokens (Authorization: Bearer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from authsite import PASSWORD, Site, make_site

from kettle import Request
from kettle.auth import ApiToken, User, get_user, login_required
from kettle.auth.tokens import ResetTokens, hash_api_token, new_api_token
from kettle.db import fields
from kettle.testing import TestClient


def user(**values: object) -> User:
    ann = User(username="ann", email="ann@example.org", password="$argon2id$v=19$one", **values)
    ann.id = 7
    return ann


# --- reset tokens ------------------------------------------------------------------------------
def test_a_reset_token_names_its_user_and_fits_their_current_state() -> None:
    tokens = ResetTokens("secret", max_age=60)
    ann = user()
    token = tokens.make(ann)
    assert tokens.user_id(token) == 7
    assert tokens.check(token, ann)
    assert "argon2" not in token
    assert "ann" not in token


@pytest.mark.parametrize(
    "change",
    [
        {"password": "$argon2id$v=19$two"},  # the password was reset with it: single use
        {"last_login": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},  # signed in since
        {"email": "ann@elsewhere.example"},
        {"id": 8},
    ],
)
def test_a_reset_token_dies_when_the_account_changes(change: dict[str, object]) -> None:
    tokens = ResetTokens("secret")
    ann = user()
    token = tokens.make(ann)
    for name, value in change.items():
        setattr(ann, name, value)
    assert not tokens.check(token, ann)


def test_reset_tokens_expire_and_cannot_be_forged() -> None:
    ann = user()
    token = ResetTokens("secret").make(ann)
    expired = ResetTokens("secret", max_age=-1)
    assert expired.user_id(token) is None
    assert not expired.check(token, ann)
    other_key = ResetTokens("another secret")
    assert other_key.user_id(token) is None
    assert not other_key.check(token, ann)
    assert ResetTokens("secret").user_id(token[:-2] + "xx") is None
    assert ResetTokens("secret").user_id("garbage") is None


def test_reset_tokens_survive_a_key_rotation() -> None:
    ann = user()
    token = ResetTokens("old secret").make(ann)
    rotated = ResetTokens("new secret", fallbacks=["old secret"])
    assert rotated.user_id(token) == 7
    assert rotated.check(token, ann)


# --- API tokens --------------------------------------------------------------------------------
def test_api_tokens_are_random_and_only_their_hash_is_kept(site: Site) -> None:
    raw, digest = new_api_token()
    assert raw.startswith("kt_")
    assert len(raw) == 46
    assert digest == hash_api_token(raw)
    assert new_api_token()[0] != raw
    ann = site.user("ann")
    with site.db.session() as session:
        token, raw = ApiToken.issue(ann, "deploy script")
        rows = session.execute(sa.select(ApiToken.__table__)).mappings().all()
    assert len(rows) == 1
    assert raw not in str(dict(rows[0]))
    assert rows[0]["key_hash"] == hash_api_token(raw)
    assert rows[0]["prefix"] == raw[:10]
    assert token.name == "deploy script"
    assert token.is_valid


@pytest.fixture
def api(site: Site) -> Site:
    @site.app.get("/api/me")
    @login_required
    async def me(request: Request) -> dict[str, object]:
        return {"user": get_user(request).username}

    @site.app.post("/api/notes")
    @login_required
    def note(request: Request) -> dict[str, object]:
        return {"by": get_user(request).username}

    return site


def test_a_bearer_token_authenticates_api_requests(api: Site) -> None:
    ann = api.user("ann")
    with api.db.session():
        token, raw = ApiToken.issue(ann, "laptop")
    bearer = {"authorization": f"Bearer {raw}"}
    with TestClient(api.app) as client:
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers=bearer).json() == {"user": "ann"}
        # A token is no ambient credential: no CSRF token needed, even with cookies.
        client.cookies.set("session", "whatever")
        assert client.post("/api/notes", headers=bearer).json() == {"by": "ann"}
    with api.db.session():
        used = ApiToken.objects.get(id=token.id).last_used
        assert used is not None
        assert fields.now() - used < dt.timedelta(minutes=1)


@pytest.mark.parametrize("kind", ["revoked", "expired", "unknown", "empty", "inactive"])
def test_bad_tokens_get_401(api: Site, kind: str) -> None:
    ann = api.user("ann")
    with api.db.session():
        token, raw = ApiToken.issue(ann, "laptop")
        if kind == "revoked":
            token.revoke()
        elif kind == "expired":
            token.expires = fields.now() - dt.timedelta(seconds=1)
            token.save()
        elif kind == "inactive":
            User.objects.filter(id=ann.id).update(is_active=False)
    raw = {"unknown": "kt_" + "x" * 43, "empty": ""}.get(kind, raw)
    with TestClient(api.app) as client:
        response = client.get("/api/me", headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "not valid" in response.json()["detail"]


@pytest.mark.anyio
async def test_revoking_in_async_code(api: Site) -> None:
    ann = api.user("ann")
    async with api.db.async_session():
        token, _raw = await ApiToken.aissue(ann, "ci")
        await token.arevoke()
    async with api.db.async_session():
        assert not (await ApiToken.objects.aget(id=token.id)).is_valid
    await api.db.adispose()


def test_a_bearer_token_wins_over_the_session(api: Site) -> None:
    api.user("ann")
    bob = api.user("bob")
    with api.db.session():
        _, raw = ApiToken.issue(bob, "bob's script")
    with TestClient(api.app) as client:
        api.login(client, "ann", PASSWORD)
        assert client.get("/api/me").json() == {"user": "ann"}
        response = client.get("/api/me", headers={"authorization": f"Bearer {raw}"})
        assert response.json() == {"user": "bob"}


# --- lifetimes ---------------------------------------------------------------------------------
def _about(moment: dt.datetime | None, expected: dt.timedelta) -> bool:
    """Whether ``moment`` lies ``expected`` from now (give or take a minute)."""
    assert moment is not None, "the token has no expiry"
    return abs(moment - (fields.now() + expected)) < dt.timedelta(minutes=1)


def test_tokens_expire_after_the_default_lifetime(site: Site) -> None:
    ann = site.user("ann")
    assert site.auth.options.token_lifetime == dt.timedelta(days=90)
    with site.db.session():
        token, _raw = ApiToken.issue(ann, "laptop")
    with site.db.session():
        assert _about(ApiToken.objects.get(id=token.id).expires, dt.timedelta(days=90))


@pytest.mark.anyio
async def test_a_lifetime_per_token(site: Site) -> None:
    ann = site.user("ann")
    with site.db.session():
        week, _ = ApiToken.issue(ann, "ci", expires_in=dt.timedelta(days=7))
        forever, _ = ApiToken.issue(ann, "kiosk", expires_in=None)
    async with site.db.async_session():
        hour, _ = await ApiToken.aissue(ann, "demo", expires_in=dt.timedelta(hours=1))
        default, _ = await ApiToken.aissue(ann, "phone")
    async with site.db.async_session():
        stored = {t.name: t.expires for t in await ApiToken.objects.alist()}
    await site.db.adispose()
    assert _about(stored["ci"], dt.timedelta(days=7))
    assert _about(stored["demo"], dt.timedelta(hours=1))
    assert _about(stored["phone"], dt.timedelta(days=90))
    assert stored["kiosk"] is None
    assert week.is_valid
    assert forever.is_valid
    assert hour.is_valid
    assert default.is_valid


def test_a_lifetime_must_be_positive(sqlite_site: Site) -> None:
    ann = sqlite_site.user("ann")
    with sqlite_site.db.session(), pytest.raises(ValueError, match="expires_in"):
        ApiToken.issue(ann, "ci", expires_in=dt.timedelta(0))


def test_no_default_expiry_when_the_app_asks_for_none(tmp_path: Path, db_url: str) -> None:
    forever = make_site(tmp_path, db_url, token_lifetime=None)
    forever.db.drop_all()
    forever.db.create_all()
    try:
        ann = forever.user("ann")
        with forever.db.session():
            token, _ = ApiToken.issue(ann, "kiosk")
            assert ApiToken.objects.get(id=token.id).expires is None
            week, _ = ApiToken.issue(ann, "ci", expires_in=dt.timedelta(days=7))
            assert _about(ApiToken.objects.get(id=week.id).expires, dt.timedelta(days=7))
    finally:
        forever.db.drop_all()
        forever.db.dispose()


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("expired", "The API token is not valid: it expired on "),
        ("revoked", "The API token is not valid: it was revoked on "),
        ("unknown", "The API token is not valid: it is unknown"),
    ],
)
def test_the_401_says_why_the_token_is_refused(api: Site, kind: str, says: str) -> None:
    ann = api.user("ann")
    with api.db.session():
        token, raw = ApiToken.issue(ann, "laptop", expires_in=dt.timedelta(days=1))
        if kind == "expired":
            token.expires = fields.now() - dt.timedelta(seconds=1)
            token.save()
        elif kind == "revoked":
            token.revoke()
    if kind == "unknown":
        raw = "kt_" + "x" * 43
    with TestClient(api.app) as client:
        response = client.get("/api/me", headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert says in detail
    assert "Authorization: Bearer" in detail or "issue a new" in detail.lower()


# --- last use ----------------------------------------------------------------------------------
def test_last_used_is_written_at_most_once_per_interval(api: Site) -> None:
    ann = api.user("ann")
    with api.db.session():
        token, raw = ApiToken.issue(ann, "laptop")
    bearer = {"authorization": f"Bearer {raw}"}

    def last_used() -> dt.datetime | None:
        with api.db.session():
            return ApiToken.objects.get(id=token.id).last_used

    with TestClient(api.app) as client:
        assert client.get("/api/me", headers=bearer).status_code == 200
        first = last_used()
        assert first is not None
        assert fields.now() - first < dt.timedelta(minutes=1)
        assert client.get("/api/me", headers=bearer).status_code == 200
        assert last_used() == first  # within token_touch_interval: no write
        an_hour_ago = fields.now() - dt.timedelta(hours=1)
        with api.db.session():
            ApiToken.objects.filter(id=token.id).update(last_used=an_hour_ago)
        assert client.get("/api/me", headers=bearer).status_code == 200
        again = last_used()
        assert again is not None
        assert fields.now() - again < dt.timedelta(minutes=1)


def test_a_bearer_request_reads_the_token_and_user_in_one_query(api: Site) -> None:
    ann = api.user("ann")
    with api.db.session():
        _, raw = ApiToken.issue(ann, "laptop")
    bearer = {"authorization": f"Bearer {raw}"}
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = api.db.async_engine.sync_engine
    with TestClient(api.app) as client:
        client.get("/api/me", headers=bearer)  # the first use writes last_used
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get("/api/me", headers=bearer).json() == {"user": "ann"}
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, statements
