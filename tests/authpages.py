"""Every page of kettle.auth, rendered: each GET page and each form shown again with its
errors (422) or its throttle message (429), on any app that serves ``Auth``.

``visit_every_auth_page`` walks the routes of the app's ``auth`` group: the routes it knows
get a scenario of their own; a route it does not know (a page added later) is requested
anyway, anonymous and signed in (path parameters filled with ``1`` or ``unknown``), and
must not fail with a 500; give a new page a scenario here to check what it shows. The
auth tests run it in development (where Jinja2's undefined variables are errors) and in
production, on the test site and the news site.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from htmlforms import csrf_from
from kettle import App
from kettle.testing import TestClient

#: The limits the walk runs with: low, so that each throttled form can be seen.
LOW_LIMITS: dict[str, Any] = {
    "max_failures_per_account": 1,
    "max_resets_per_email": 1,
    "max_signups_per_address": 1,
}
PASSWORD = "tea-at-altitude-1865"
NEW_PASSWORD = "kettles-whistle-at-dawn"


def _ok(response: Any, status: int, *phrases: str) -> str:
    where = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == status, f"{where}: {response.status_code}\n{response.text}"
    for phrase in phrases:
        assert phrase in response.text, f"{where}: {phrase!r} not in the page\n{response.text}"
    return str(response.text)


def visit_every_auth_page(app: App, make_user: Callable[[str], Any]) -> set[str]:
    """Request every page of ``app``'s auth group; returns the route names visited.

    ``make_user(username)`` saves an active user with ``PASSWORD`` and e-mail
    ``<username>@example.org``.
    """
    auth = app.state.auth
    prefix = auth.options.prefix
    routes = {name: (path, verbs) for path, verbs, _fn, name in auth.group.routes}
    visited: set[str] = set()
    make_user("ann")
    with TestClient(app, headers={"accept": "text/html"}) as client:
        # Login: the page, the blank form, a wrong password, then the throttled form.
        page = _ok(client.get(f"{prefix}/login"), 200, "Sign in")
        token = csrf_from(page)
        form = {"csrf_token": token, "username": "", "password": ""}
        _ok(client.post(f"{prefix}/login", data=form), 422, "This field is required.")
        form = {"csrf_token": token, "username": "ann", "password": "wrong-password-1"}
        _ok(client.post(f"{prefix}/login", data=form), 422, "Enter a correct username")
        _ok(client.post(f"{prefix}/login", data=form), 429, "Try again in")
        visited.add("login")

        # Password reset: the page, a blank address, the "sent" page, the throttled form.
        page = _ok(client.get(f"{prefix}/password/reset"), 200, "Reset your password")
        token = csrf_from(page)
        url = f"{prefix}/password/reset"
        _ok(client.post(url, data={"csrf_token": token, "email": ""}), 422, "required")
        sent = {"csrf_token": token, "email": "ann@example.org"}
        _ok(client.post(url, data=sent), 200, "Check your e-mail")
        _ok(client.post(url, data=sent), 429, "Try again in")
        visited.add("password_reset")

        # The link: a bad one, then the mailed one, the confirm page and its errors.
        _ok(client.get(f"{prefix}/password/reset/WzEsImFhIl0.forged.sig"), 400, "link")
        _ok(client.get(f"{prefix}/password/reset/confirm"), 400, "link")
        link = re.search(r"https?://[^/\s]+(/\S+)", auth.mail.outbox[-1].body)
        assert link is not None, auth.mail.outbox[-1].body
        followed = client.get(link.group(1))
        assert followed.status_code == 303, followed.text
        visited.add("password_reset_token")
        page = _ok(client.get(f"{prefix}/password/reset/confirm"), 200, "Choose a new password")
        blank = {"csrf_token": csrf_from(page), "password1": "", "password2": ""}
        url = f"{prefix}/password/reset/confirm"
        _ok(client.post(url, data=blank), 422, "This field is required.")
        weak = {**blank, "password1": "abcdefghij", "password2": "abcdefghij"}
        _ok(client.post(url, data=weak), 422, "password1-errors")
        visited.add("password_reset_confirm")

        # Sign-up: the page, every kind of error, then an account, then the throttle.
        page = _ok(client.get(f"{prefix}/signup"), 200, "Create an account")
        token = csrf_from(page)
        blank = {"csrf_token": token, "username": "", "password1": "", "password2": ""}
        _ok(client.post(f"{prefix}/signup", data=blank), 422, "This field is required.")
        weak = {
            "csrf_token": token,
            "username": "ann",
            "email": "nope",
            "password1": "aaaaaaaaaaaa",
            "password2": "aaaaaaaaaaaa",
        }
        _ok(client.post(f"{prefix}/signup", data=weak), 422, "That username is taken.")
        good = {**weak, "username": "walker", "email": "", "password1": NEW_PASSWORD}
        good["password2"] = NEW_PASSWORD
        signed_up = client.post(f"{prefix}/signup", data=good)
        assert signed_up.status_code == 303, signed_up.text
        visited.add("signup")

        # Password change, signed in as the new account (the flashed welcome shows here).
        page = _ok(client.get(f"{prefix}/password"), 200, "Change your password", "Welcome")
        token = csrf_from(page)
        blank = {"csrf_token": token, "old_password": "", "password1": "", "password2": ""}
        _ok(client.post(f"{prefix}/password", data=blank), 422, "This field is required.")
        visited.add("password_change")

        # Logout: a POST that redirects; then sign-up again from this address is throttled.
        out = client.post(f"{prefix}/logout", data={"csrf_token": token})
        assert out.status_code == 303, out.text
        visited.add("logout")
        page = _ok(client.get(f"{prefix}/signup"), 200, "Create an account")
        again = {**good, "csrf_token": csrf_from(page), "username": "walker2"}
        _ok(client.post(f"{prefix}/signup", data=again), 429, "Try again in")

        # Any other page of the group: anonymous, then signed in; never a 500.
        others = {name: route for name, route in routes.items() if name not in visited}
        for signed_in in (False, True):
            if signed_in:
                _sign_in(client, prefix)
            for path, verbs in others.values():
                path = _PARAMETER.sub(_placeholder, path)  # an unknown id: a 4xx, not a 500
                for verb in sorted(verbs):
                    if verb in ("GET", "HEAD"):
                        response = client.request(verb, prefix + path)
                    else:
                        token = csrf_from(client.get(f"{prefix}/password/reset").text)
                        response = client.request(verb, prefix + path, data={"csrf_token": token})
                    assert response.status_code < 500, f"{verb} {path}: {response.text}"
        visited |= set(others)
    return visited


_PARAMETER = re.compile(r"<(?:(\w+):)?\w+>")


def _placeholder(match: re.Match[str]) -> str:
    return "1" if match.group(1) == "int" else "unknown"


def _sign_in(client: TestClient, prefix: str) -> None:
    page = client.get(f"{prefix}/login")
    form = {"csrf_token": csrf_from(page.text), "username": "walker", "password": NEW_PASSWORD}
    response = client.post(f"{prefix}/login", data=form)
    assert response.status_code == 303, response.text
