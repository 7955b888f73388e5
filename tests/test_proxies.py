"""Behind a proxy: Forwarded and X-Forwarded-* believed from trusted peers only."""

from __future__ import annotations

from typing import Any

import pytest

from kettle import App, Request, Settings
from kettle._proxies import Hop, forwarded_hops, resolve
from kettle.responses import RedirectResponse
from kettle.testing import TestClient

PROXY = ("10.0.0.1", 5000)


def proxied_app(trusted: list[str], hosts: list[str] | None = None) -> App:
    settings = Settings.load(
        env="testing",
        env_file=None,
        trusted_proxies=trusted,
        allowed_hosts=hosts or ["testserver", "news.example.org"],
    )
    app = App(settings=settings)

    @app.get("/who", name="who")
    def who(request: Request) -> dict[str, Any]:
        # request.url is read first: the scheme must already be the forwarded one.
        url = request.url
        client = request.client
        assert client is not None
        return {
            "url": url,
            "host": client.host,
            "port": client.port,
            "link": f"{request.scheme}://{request.host}{request.url_for('who')}",
        }

    @app.get("/away")
    def away(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scheme}://{request.host}/who", 303)

    return app


def who(app: App, headers: dict[str, str], peer: tuple[str, int] = PROXY) -> dict[str, Any]:
    with TestClient(app, client=peer) as client:
        response = client.get("/who", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def test_a_direct_client_cannot_change_its_address_scheme_or_host() -> None:
    app = proxied_app(["10.0.0.0/8"])
    lies = {
        "forwarded": "for=1.2.3.4;proto=https;host=news.example.org",
        "x-forwarded-for": "5.6.7.8",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "news.example.org",
    }
    got = who(app, lies, peer=("198.51.100.7", 4000))
    assert got == {
        "url": "http://testserver/who",
        "host": "198.51.100.7",
        "port": 4000,
        "link": "http://testserver/who",
    }


def test_the_scheme_is_forwarded_before_the_handler_reads_the_url() -> None:
    app = proxied_app(["10.0.0.1"])
    got = who(app, {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"})
    assert got["url"] == "https://testserver/who"
    assert (got["host"], got["port"]) == ("203.0.113.9", 0)


def test_forwarded_host_and_scheme_reach_urls_links_and_redirects() -> None:
    app = proxied_app(["10.0.0.1"])
    headers = {"forwarded": 'for="[2001:db8::7]:4711";proto=https;host=news.example.org'}
    got = who(app, headers)
    assert got == {
        "url": "https://news.example.org/who",
        "host": "2001:db8::7",
        "port": 4711,
        "link": "https://news.example.org/who",
    }
    with TestClient(app, client=PROXY) as client:
        moved = client.get("/away", headers=headers, follow_redirects=False)
    assert moved.headers["location"] == "https://news.example.org/who"


def test_x_forwarded_host_and_port() -> None:
    app = proxied_app(["10.0.0.1"])
    headers = {
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-host": "news.example.org",
        "x-forwarded-port": "8443",
        "x-forwarded-proto": "https",
    }
    assert who(app, headers)["url"] == "https://news.example.org:8443/who"


def test_a_forwarded_host_must_be_allowed() -> None:
    app = proxied_app(["10.0.0.1"])
    with TestClient(app, client=PROXY) as client:
        bad = client.get("/who", headers={"x-forwarded-host": "evil.example.com"})
        worse = client.get("/who", headers={"forwarded": 'host="evil.example.com/x y"'})
    assert bad.status_code == 400
    assert "evil.example.com" in bad.text
    assert "ALLOWED_HOSTS" in bad.text
    assert worse.status_code == 400


def test_a_chain_of_trusted_proxies_and_cidrs() -> None:
    app = proxied_app(["10.0.0.0/8", "2001:db8:ffff::/48"])
    chain = {"x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.9.8.7, 2001:db8:ffff::2"}
    assert who(app, chain)["host"] == "203.0.113.9"  # the nearest untrusted hop
    standard = {"forwarded": 'for=6.6.6.6, for=203.0.113.9;proto=https, for="[2001:db8:ffff::2]"'}
    got = who(app, standard)
    assert (got["host"], got["url"]) == ("203.0.113.9", "https://testserver/who")
    all_ours = {"x-forwarded-for": "10.1.1.1, 10.2.2.2"}
    assert who(app, all_ours)["host"] == "10.1.1.1"


def test_forwarded_wins_over_x_forwarded() -> None:
    app = proxied_app(["10.0.0.1"])
    both = {"forwarded": "for=203.0.113.9", "x-forwarded-for": "6.6.6.6"}
    assert who(app, both)["host"] == "203.0.113.9"


def test_several_forwarded_header_fields_are_one_list() -> None:
    app = proxied_app(["10.0.0.0/8"])
    with TestClient(app, client=PROXY) as client:
        got = client.get(
            "/who", headers=[("forwarded", "for=6.6.6.6"), ("forwarded", "for=203.0.113.9")]
        ).json()
    assert got["host"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("for=192.0.2.43", [Hop("192.0.2.43", 0, None, None)]),
        ('For="[2001:db8:cafe::17]:4711"', [Hop("2001:db8:cafe::17", 4711, None, None)]),
        (
            'for=192.0.2.60;proto=HTTPS;by=203.0.113.43, for="198.51.100.17:80"',
            [Hop("192.0.2.60", 0, "https", None), Hop("198.51.100.17", 80, None, None)],
        ),
        ('for="_gazonk";host="a.example:8080"', [Hop(None, 0, None, "a.example:8080")]),
        ("for=unknown;proto=gopher", [Hop(None, 0, None, None)]),
        ('host="x\\"y"', [Hop(None, 0, None, 'x"y')]),
        ('for="1.2.3.4, 5.6.7.8"', [Hop(None, 0, None, None)]),  # a comma inside quotes
        ("garbage, for=192.0.2.1", [Hop(None, 0, None, None), Hop("192.0.2.1", 0, None, None)]),
        ("for=[::1", [Hop(None, 0, None, None)]),
        ("", []),
        (",,;;==", [Hop(None, 0, None, None)]),
        ('for="', [Hop(None, 0, None, None)]),
    ],
)
def test_parsing_rfc_7239(header: str, expected: list[Hop]) -> None:
    assert list(forwarded_hops(header)) == expected


def test_garbage_before_the_proxys_own_element_changes_nothing() -> None:
    proxies = (__import__("ipaddress").ip_network("10.0.0.0/8"),)
    headers = {b"forwarded": b"for=\x00\xff;;, for=203.0.113.9;proto=https"}
    found = resolve(PROXY, headers, proxies)
    assert found is not None
    assert found.client == ("203.0.113.9", 0)
    stopped = resolve(PROXY, {b"forwarded": b"for=203.0.113.9, nonsense!"}, proxies)
    assert stopped is not None
    assert stopped.client == PROXY  # unreadable: keep the proxy
    # An unterminated quote swallows what follows: the client is then the proxy, never
    # an address the client chose.
    swallowed = resolve(PROXY, {b"forwarded": b'for="6.6.6.6, for=203.0.113.9'}, proxies)
    assert swallowed is not None
    assert swallowed.client == PROXY


@pytest.mark.parametrize(
    "headers",
    [
        {"forwarded": '"""'},
        {"forwarded": "for=" + "[" * 5000},
        {"forwarded": "for=999.1.1.1:99999;proto=https;host="},
        {"forwarded": "proto=https;proto=http;for=;"},
        {"x-forwarded-for": ",,,", "x-forwarded-proto": "ftp"},
        {"x-forwarded-for": "1.2.3.4:notaport", "x-forwarded-port": "-1"},
        {"x-forwarded-host": "", "x-forwarded-proto": "https, http, https"},
        {"forwarded": "for=\u00e9\u00e9".encode()},
    ],
)
def test_garbage_from_a_trusted_proxy_is_never_a_500(headers: dict[str, str]) -> None:
    app = proxied_app(["10.0.0.1"])
    with TestClient(app, client=PROXY) as client:
        response = client.get("/who", headers=headers)
    assert response.status_code in (200, 400), response.text


def test_the_session_cookie_is_secure_when_the_proxy_says_https() -> None:
    settings = Settings.load(env="testing", env_file=None, trusted_proxies=["10.0.0.1"])
    app = App(settings=settings)

    @app.get("/remember")
    def remember(request: Request) -> str:
        request.session["seen"] = True
        return "ok"

    with TestClient(app, client=PROXY) as client:
        plain = client.get("/remember")
        https = client.get("/remember", headers={"x-forwarded-proto": "https"})
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "secure" in https.headers["set-cookie"].lower()
