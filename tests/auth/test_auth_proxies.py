"""kettle.auth behind a proxy: throttles key on the real client, mail links on the real site."""

from __future__ import annotations

import re

from authsite import PASSWORD, Site, csrf_from

from kettle.testing import TestClient

PROXY = ("10.0.0.1", 5000)


def behind_a_proxy(site: Site) -> None:
    site.app.settings.trusted_proxies = ["10.0.0.0/8"]
    site.app.settings.allowed_hosts = ["testserver", "news.example.org"]


def login(client: TestClient, password: str, headers: dict[str, str], user: str = "ann") -> int:
    token = csrf_from(client.get("/auth/login", headers=headers).text)
    data = {"username": user, "password": password, "csrf_token": token}
    return client.post("/auth/login", data=data, headers=headers).status_code


def test_a_direct_client_cannot_dodge_the_login_throttle(site: Site) -> None:
    behind_a_proxy(site)
    site.user("ann")
    with TestClient(site.app, client=("198.51.100.7", 1)) as client:
        for n in range(5):  # a new made-up address each time: still one client
            assert login(client, "wrong", {"x-forwarded-for": f"192.0.2.{n}"}) == 422
        assert login(client, PASSWORD, {"forwarded": "for=192.0.2.99"}) == 429


def test_clients_behind_a_trusted_proxy_are_told_apart(site: Site) -> None:
    behind_a_proxy(site)
    site.user("ann")
    limit = site.auth.options.max_failures_per_address
    with TestClient(site.app, client=PROXY) as client:
        one = {"x-forwarded-for": "203.0.113.1"}
        for n in range(limit):  # spread over accounts: the address limit, not an account's
            assert login(client, "wrong", one, user=f"user{n % 4}") == 422
        assert login(client, PASSWORD, one) == 429
        assert login(client, PASSWORD, {"x-forwarded-for": "203.0.113.2"}) == 303


def test_reset_links_use_the_forwarded_scheme_and_host(site: Site) -> None:
    behind_a_proxy(site)
    site.user("ann")
    headers = {"forwarded": "for=203.0.113.1;proto=https;host=news.example.org"}
    page_headers = {**headers, "referer": "https://news.example.org/auth/password/reset"}
    # The client's cookie jar sends the session's Secure cookie only over HTTPS: the
    # proxy's side of the connection is plain HTTP, the browser's is HTTPS.
    with TestClient(site.app, client=PROXY, base_url="https://testserver") as client:
        token = csrf_from(client.get("/auth/password/reset", headers=headers).text)
        sent = client.post(
            "/auth/password/reset",
            data={"email": "ann@example.org", "csrf_token": token},
            headers=page_headers,
        )
    assert sent.status_code == 200, sent.text
    body = site.mail.outbox[-1].body
    assert re.search(r"https://news\.example\.org/auth/password/reset/\S+", body), body
