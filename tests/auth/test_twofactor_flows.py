"""Two-factor authentication end to end on each engine: enrolment, the challenge after the
password, replay, recovery codes, throttling, the gate for staff, and no way around it
through a password reset, the admin or the enrolment page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site
from twofactorsite import (
    answer,
    code_at,
    enrol,
    make_two_factor_site,
    password,
    recovery_codes,
    token,
    whoami,
)

from authpages import LOW_LIMITS, PASSWORD, visit_every_auth_page
from kettle import Settings
from kettle.admin import AdminSite
from kettle.auth.twofactor import TwoFactor
from kettle.auth.twofactor.codes import seal
from kettle.testing import TestClient

Both = tuple[Site, TwoFactor]
_FORM = {"content-type": "application/x-www-form-urlencoded"}


def _built(tmp_path: Path, db_url: str, **options: object) -> Iterator[Both]:
    site, two_factor = make_two_factor_site(tmp_path, db_url, **options)
    AdminSite(site.app)
    site.db.drop_all()
    site.db.create_all()
    site.user("ann")
    site.user("sam", is_staff=True)
    yield site, two_factor
    site.db.drop_all()
    site.db.dispose()


@pytest.fixture
def both(tmp_path: Path, db_url: str) -> Iterator[Both]:
    """The two-factor site on each engine, with ann and sam (staff)."""
    yield from _built(tmp_path, db_url)


@pytest.fixture
def staff_gate(tmp_path: Path, db_url: str) -> Iterator[Both]:
    """The same, with a second factor required of staff."""
    yield from _built(tmp_path, db_url, required_for_staff=True)


def _enrolled(site: Site, username: str = "ann") -> tuple[str, list[str]]:
    """Enrol ``username`` in a client of its own, then sign that client out."""
    with TestClient(site.app) as client:
        site.login(client, username)
        return enrol(client)


def test_enrol_then_sign_in_needs_the_code(both: Both) -> None:
    site, two_factor = both
    secret, codes = _enrolled(site)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    with site.db.session():
        row = two_factor.totp_model.objects.get()
        assert row.is_on
        assert secret not in row.secret
    with TestClient(site.app) as client:
        client.get("/auth/login")
        first = client.cookies["session"]
        response = password(client, next_url="/auth/password")
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/2fa"
        assert client.get("/auth/2fa").headers["location"] == "/auth/2fa/totp"
        pending = client.cookies["session"]
        assert pending != first
        assert not whoami(client)
        page = client.get("/auth/2fa/totp")
        assert page.status_code == 200
        assert "A recovery code" in page.text
        wrong = answer(client, "000000" if code_at(secret) != "000000" else "111111")
        assert wrong.status_code == 422
        assert "not right" in wrong.text
        done = answer(client, code_at(secret, 1))  # enrolment used the current step's
        assert done.status_code == 303
        assert done.headers["location"] == "/auth/password"
        assert client.cookies["session"] not in (first, pending)
        assert whoami(client)


def test_a_code_works_once(both: Both) -> None:
    site, _ = both
    secret, _ = _enrolled(site)  # enrolment used the current step's code
    with TestClient(site.app) as client:
        password(client)
        replay = answer(client, code_at(secret))
        assert replay.status_code == 422
        assert not whoami(client)
        assert answer(client, code_at(secret, 1)).status_code == 303  # the next step's
    with TestClient(site.app) as client:
        password(client)
        assert answer(client, code_at(secret, 1)).status_code == 422  # used just now
        assert answer(client, code_at(secret, -1)).status_code == 422  # older: refused too


def test_a_secret_no_key_opens_is_a_clear_409_and_recovery_still_works(both: Both) -> None:
    # As after SECRET_KEY changed with no fallback kept: the stored secret is sealed under
    # a key the app no longer has.
    site, two_factor = both
    secret, codes = _enrolled(site)
    with site.db.session():
        row = two_factor.totp_model.objects.get()
        row.secret = seal(secret, "a secret key the app never had")
        row.save()
    with TestClient(site.app) as client:
        password(client)
        refused = answer(client, code_at(secret))
        assert refused.status_code == 409
        assert "secret key changed" in refused.text
        assert not whoami(client)
        assert answer(client, codes[0], "recovery").status_code == 303
        assert whoami(client)


def test_recovery_code_works_once_and_new_ones_replace_them(both: Both) -> None:
    site, _ = both
    secret, codes = _enrolled(site)
    with TestClient(site.app) as client:
        password(client)
        done = answer(client, codes[0].upper().replace("-", " "), "recovery")
        assert done.status_code == 303
        assert whoami(client)
        assert "9 unused recovery codes" in client.get("/auth/2fa/setup").text
    with TestClient(site.app) as client:
        password(client)
        assert answer(client, codes[0], "recovery").status_code == 422
        assert answer(client, codes[1], "recovery").status_code == 303
        form = {"proof": code_at(secret, 1), "csrf_token": token(client)}
        shown = client.post("/auth/2fa/recovery-codes", data=form)
        fresh = recovery_codes(shown.text)
        assert len(fresh) == 10
        assert not set(fresh) & set(codes)
    with TestClient(site.app) as client:
        password(client)
        assert answer(client, codes[2], "recovery").status_code == 422  # replaced
        assert answer(client, fresh[0], "recovery").status_code == 303


def test_wrong_codes_are_throttled_per_user(both: Both) -> None:
    site, two_factor = both
    secret, _ = _enrolled(site)
    with TestClient(site.app) as client:
        password(client)
        for _ in range(two_factor.options.max_failures_per_user):
            assert answer(client, "12345x"[:5] + "9").status_code in (422,)
        throttled = answer(client, code_at(secret, 1))  # right, but too late
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert "Try again in" in throttled.text
        assert not whoami(client)
        assert answer(client, "k7mq2-x9frt", "recovery").status_code == 429  # same counter


def test_pending_user_is_anonymous_everywhere(both: Both) -> None:
    site, _ = both
    _enrolled(site, "sam")
    with TestClient(site.app, headers={"accept": "text/html"}) as client:
        assert password(client, "sam").headers["location"] == "/auth/2fa"
        for path in ("/auth/password", "/auth/tokens", "/admin/", "/auth/2fa/setup"):
            response = client.get(path)
            assert response.status_code in (302, 303), f"{path}: {response.status_code}"
            assert (
                "/auth/2fa" in response.headers["location"]
                or "/login" in (response.headers["location"])
            )
        form = {"proof": "tea-at-altitude-1865", "csrf_token": token(client)}
        assert client.post("/auth/2fa/disable", data=form).status_code in (302, 303)
        assert client.get("/admin/").headers["location"].startswith("/auth/login")


def test_staff_must_enrol_before_anything_else(staff_gate: Both) -> None:
    site, _ = staff_gate
    with TestClient(site.app, headers={"accept": "text/html"}) as client:
        assert password(client).headers["location"] == "/"  # ann is not staff
    with TestClient(site.app, headers={"accept": "text/html"}) as client:
        response = password(client, "sam", next_url="/admin/")
        assert response.headers["location"] == "/auth/2fa/setup"
        assert client.get("/admin/").headers["location"].startswith("/auth/login")
        assert not whoami(client)
        page = client.get("/auth/2fa/setup")
        assert "needs a second step" in page.text
        pending = client.cookies["session"]
        secret, codes = enrol(client)
        assert len(codes) == 10
        assert whoami(client)
        assert client.cookies["session"] != pending  # signed in under a new session id
        assert client.get("/admin/").status_code == 200
        manage = client.get("/auth/2fa/setup").text
        assert "required for your account" in manage
        assert "Turn it off" not in manage
        form = {"proof": code_at(secret, 1), "csrf_token": token(client)}
        refused = client.post("/auth/2fa/disable", data=form)
        assert refused.headers["location"] == "/auth/2fa/setup"
    with TestClient(site.app) as client:
        assert password(client, "sam").headers["location"] == "/auth/2fa"


def test_enrolling_while_pending_cannot_replace_a_factor(staff_gate: Both) -> None:
    site, _ = staff_gate
    _enrolled(site, "sam")
    with TestClient(site.app) as client:
        password(client, "sam")
        setup = client.get("/auth/2fa/setup")  # a second enrolment would skip the first
        assert setup.status_code == 303
        assert setup.headers["location"] == "/auth/2fa"
        forged = {"code": "123456", "csrf_token": token(client)}
        assert client.post("/auth/2fa/setup", data=forged).status_code == 303
        assert not whoami(client)


def test_a_password_reset_does_not_bypass_the_second_factor(both: Both) -> None:
    site, _ = both
    secret, _ = _enrolled(site)
    with TestClient(site.app) as client:
        client.post(
            "/auth/password/reset", data={"email": "ann@example.org", "csrf_token": token(client)}
        )
        link = re.search(r"https?://[^/\s]+(/\S+)", site.mail.outbox[-1].body)
        assert link is not None
        client.get(link.group(1))
        new = "kettles-whistle-at-dawn"
        form = {"password1": new, "password2": new, "csrf_token": token(client)}
        done = client.post("/auth/password/reset/confirm", data=form)
        assert done.status_code == 303
        assert not whoami(client)
        login = {"username": "ann", "password": new, "csrf_token": token(client)}
        assert client.post("/auth/login", data=login).headers["location"] == "/auth/2fa"
        assert not whoami(client)
        assert answer(client, code_at(secret, 1)).status_code == 303
        assert whoami(client)


def test_turning_it_off_needs_a_code_or_the_password(both: Both) -> None:
    site, two_factor = both
    secret, _ = _enrolled(site)
    with TestClient(site.app) as client:
        password(client)
        answer(client, code_at(secret, 1))
        wrong = {"proof": "not-my-password", "csrf_token": token(client)}
        refused = client.post("/auth/2fa/disable", data=wrong)
        assert refused.status_code == 422
        assert "neither" in refused.text
        right = {"proof": "tea-at-altitude-1865", "csrf_token": token(client)}
        assert client.post("/auth/2fa/disable", data=right).status_code == 303
    with site.db.session():
        assert two_factor.totp_model.objects.count() == 0
        assert two_factor.recovery_model.objects.count() == 0
    with TestClient(site.app) as client:
        assert password(client).headers["location"] == "/"


@pytest.mark.parametrize("code", ["", "   ", "abcdef", "1" * 100, "١٢٣٤٥٦", "%ED%B3%BF", "%FF"])
def test_bad_codes_get_a_clear_422(both: Both, code: str) -> None:
    site, _ = both
    _enrolled(site)
    with TestClient(site.app) as client:
        password(client)
        body = f"csrf_token={token(client)}&code={code}"
        for kind in ("totp", "recovery"):
            response = client.post(f"/auth/2fa/{kind}", content=body, headers=_FORM)
            if code.startswith("%"):  # not UTF-8: the framework's 400 says so
                assert response.status_code == 400
                assert "not valid UTF-8" in response.text
            else:
                assert response.status_code == 422, response.text
                assert 'role="alert"' in response.text


def test_forms_without_csrf_are_refused(both: Both) -> None:
    site, _ = both
    _enrolled(site)
    with TestClient(site.app, enforce_csrf=True) as client:
        password(client)
        for path in ("/auth/2fa/totp", "/auth/2fa/recovery", "/auth/2fa/setup"):
            response = client.post(path, data={"code": "123456"})
            assert response.status_code == 403, f"{path}: {response.status_code}"
        assert not whoami(client)


def test_without_a_pending_sign_in_the_challenge_goes_to_login(both: Both) -> None:
    site, _ = both
    with TestClient(site.app) as client:
        for path in ("/auth/2fa", "/auth/2fa/totp", "/auth/2fa/recovery"):
            response = client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == "/auth/login"
        assert answer(client, "123456").headers["location"] == "/auth/login"


def test_every_page_renders_in_development(tmp_path: Path, db_url: str) -> None:
    settings = Settings.load(env="development", env_file=None)  # undefined names fail
    site = make_site(tmp_path, db_url, settings=settings, **LOW_LIMITS)
    TwoFactor(site.auth)
    site.db.drop_all()
    site.db.create_all()
    try:
        visited = visit_every_auth_page(site.app, lambda name: site.user(name, PASSWORD))
        assert {"2fa_totp", "2fa_setup", "2fa_disable", "second_factor"} <= visited
    finally:
        site.db.drop_all()
        site.db.dispose()


def test_required_of_one_user_by_flag_or_hook(tmp_path: Path, db_url: str) -> None:
    built = _built(tmp_path, db_url, required=lambda user: user.username == "sam")
    site, two_factor = next(built)
    try:

        @site.app.get("/require/<name>")
        async def require(name: str) -> dict[str, bool]:
            user = await site.auth.user_model.objects.aget(username=name)
            await two_factor.arequire(user)
            return {"required": await two_factor.arequired(user)}

        with TestClient(site.app) as client:
            assert password(client, "sam").headers["location"] == "/auth/2fa/setup"  # hook
        with TestClient(site.app) as client:
            assert password(client).headers["location"] == "/"
            assert client.get("/require/ann").json() == {"required": True}
        with TestClient(site.app) as client:
            assert password(client).headers["location"] == "/auth/2fa/setup"  # the flag
            assert not whoami(client)
            enrol(client)
            assert whoami(client)
    finally:
        next(built, None)
