"""CSRF protection: tokens, origins, exemptions and rotation, through the whole app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kettle import App, Request, Settings, csrf_exempt, render
from kettle.csrf import rotate_token
from kettle.testing import TestClient

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([\w-]+)"')


def make_app(**settings: object) -> App:
    options: dict[str, object] = {"env": "testing", **settings}
    app = App(
        root=FIXTURES,
        templates="templates",
        settings=Settings.load(env_file=None, environ={}, **options),
    )

    @app.get("/form")
    def form() -> object:
        return render("form.html")

    @app.post("/submit")
    async def submit(request: Request) -> dict[str, object]:
        form = await request.form()
        return {"ok": True, "title": form.get("title")}

    @app.delete("/items/<int:id>")
    def delete_item(id: int) -> dict[str, object]:
        return {"deleted": id}

    @app.post("/hooks/payment")
    @csrf_exempt
    def payment() -> dict[str, object]:
        return {"hook": "payment"}

    @csrf_exempt
    @app.post("/hooks/mail")
    def mail() -> dict[str, object]:
        return {"hook": "mail"}

    @app.get("/login")
    def login(request: Request) -> str:
        rotate_token(request)
        return "logged in"

    return app


@pytest.fixture
def app() -> App:
    return make_app()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    """A client that sends requests as written: no CSRF token filled in for it."""
    with TestClient(app, enforce_csrf=True) as client:
        yield client


def get_token(client: TestClient) -> str:
    """Load the form page (which starts the session) and return the token in its form."""
    match = TOKEN_FIELD.search(client.get("/form").text)
    assert match is not None
    return match[1]


def test_get_pages_need_no_token(client: TestClient) -> None:
    response = client.get("/form")

    assert response.status_code == 200
    assert TOKEN_FIELD.search(response.text)


def test_post_without_cookies_is_not_checked(client: TestClient) -> None:
    response = client.post("/submit", data={"title": "hello"})

    assert response.status_code == 200
    assert response.json() == {"ok": True, "title": "hello"}


def test_post_with_session_and_no_token_is_refused(client: TestClient) -> None:
    get_token(client)

    response = client.post("/submit", data={"title": "hello"})

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert "CSRF" in detail
    assert "csrf_token" in detail
    assert "X-CSRF-Token" in detail


def test_refusal_is_a_page_for_browsers(client: TestClient) -> None:
    get_token(client)

    response = client.post("/submit", data={"title": "x"}, headers={"accept": "text/html"})

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "403 Forbidden" in response.text
    assert "CSRF check failed" in response.text


def test_any_cookie_makes_the_request_checked(client: TestClient) -> None:
    client.cookies.set("theme", "dark")

    response = client.post("/submit", data={"title": "x"})

    assert response.status_code == 403


def test_token_in_the_form_field(client: TestClient) -> None:
    token = get_token(client)

    response = client.post("/submit", data={"title": "hello", "csrf_token": token})

    assert response.status_code == 200
    assert response.json() == {"ok": True, "title": "hello"}


def test_token_in_a_multipart_form(client: TestClient) -> None:
    token = get_token(client)

    response = client.post(
        "/submit",
        data={"title": "with file", "csrf_token": token},
        files={"upload": ("a.txt", b"data", "text/plain")},
    )

    assert response.status_code == 200
    assert response.json()["title"] == "with file"


def test_token_in_the_header(client: TestClient) -> None:
    token = get_token(client)

    assert client.delete("/items/3", headers={"x-csrf-token": token}).json() == {"deleted": 3}
    assert client.delete("/items/3").status_code == 403


def test_tokens_differ_on_each_response_and_all_are_valid(client: TestClient) -> None:
    page = client.get("/form").text
    in_page = [*TOKEN_FIELD.findall(page), *re.findall(r'<span id="\w+">([\w-]+)</span>', page)]
    tokens = [*in_page, get_token(client), get_token(client)]

    assert len(in_page) == 3
    assert len(set(in_page)) == 1  # one masked token per response
    assert len(set(tokens)) == 3  # and a fresh pad for the next
    for token in tokens:
        assert client.post("/submit", data={"csrf_token": token}).status_code == 200


def test_token_from_another_session_is_refused(app: App) -> None:
    with (
        TestClient(app, enforce_csrf=True) as victim,
        TestClient(app, enforce_csrf=True) as attacker,
    ):
        attacker_token = get_token(attacker)
        get_token(victim)

        response = victim.post("/submit", data={"csrf_token": attacker_token})

    assert response.status_code == 403
    assert "does not match" in response.json()["detail"]


def test_token_without_a_session_is_refused(app: App) -> None:
    with TestClient(app, enforce_csrf=True) as client:
        token = get_token(client)
        client.cookies.clear()
        client.cookies.set("theme", "dark")

        assert client.post("/submit", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:],
        lambda t: t[:-2],
        lambda t: t + "AAAA",
        lambda t: "not a token at all",
        lambda t: "é" * 86,
    ],
    ids=["flipped", "short", "long", "garbage", "non-ascii"],
)
def test_tampered_token_is_refused(client: TestClient, tamper: object) -> None:
    token = get_token(client)
    bad = tamper(token)  # type: ignore[operator]

    response = client.post("/submit", data={"csrf_token": bad})

    assert response.status_code == 403
    assert client.post("/submit", data={"csrf_token": token}).status_code == 200


def test_origin_from_another_site_is_refused_even_with_a_token(client: TestClient) -> None:
    token = get_token(client)

    response = client.post(
        "/submit", data={"csrf_token": token}, headers={"origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert "https://evil.example" in response.json()["detail"]


@pytest.mark.parametrize("origin", ["http://testserver", "HTTP://TestServer"])
def test_matching_origin_is_accepted(client: TestClient, origin: str) -> None:
    token = get_token(client)

    response = client.post("/submit", data={"csrf_token": token}, headers={"origin": origin})

    assert response.status_code == 200


def test_same_host_other_scheme_is_refused(client: TestClient) -> None:
    token = get_token(client)

    response = client.post(
        "/submit", data={"csrf_token": token}, headers={"origin": "https://testserver"}
    )

    assert response.status_code == 403


def test_trusted_origins_are_accepted() -> None:
    app = make_app(csrf_trusted_origins=["https://admin.example.com/"])
    with TestClient(app, enforce_csrf=True) as client:
        token = get_token(client)
        trusted = {"origin": "https://admin.example.com"}
        other = {"origin": "https://other.example.com"}

        assert client.post("/submit", data={"csrf_token": token}, headers=trusted).is_success
        assert client.post("/submit", data={"csrf_token": token}, headers=other).is_error


def test_https_needs_origin_or_referer(app: App) -> None:
    with TestClient(app, enforce_csrf=True, base_url="https://testserver") as client:
        token = get_token(client)
        data = {"csrf_token": token}

        bare = client.post("/submit", data=data)
        same = client.post("/submit", data=data, headers={"referer": "https://testserver/form"})
        cross = client.post("/submit", data=data, headers={"referer": "https://evil.example/"})
        downgraded = client.post(
            "/submit", data=data, headers={"referer": "http://testserver/form"}
        )

    assert bare.status_code == 403
    assert "Referer" in bare.json()["detail"]
    assert same.status_code == 200
    assert cross.status_code == 403
    assert downgraded.status_code == 403


def test_https_referer_from_a_trusted_origin() -> None:
    app = make_app(csrf_trusted_origins=["https://admin.example.com"])
    with TestClient(app, enforce_csrf=True, base_url="https://testserver") as client:
        token = get_token(client)
        response = client.post(
            "/submit",
            data={"csrf_token": token},
            headers={"referer": "https://admin.example.com/tools?x=1"},
        )

    assert response.status_code == 200


def test_authorization_header_skips_the_check(client: TestClient) -> None:
    get_token(client)

    response = client.post(
        "/submit", data={"title": "api"}, headers={"authorization": "Bearer abc"}
    )

    assert response.status_code == 200
    assert response.json()["title"] == "api"


@pytest.mark.parametrize("path", ["/hooks/payment", "/hooks/mail"])
def test_exempt_handlers_are_not_checked(client: TestClient, path: str) -> None:
    get_token(client)

    response = client.post(path, headers={"origin": "https://payments.example"})

    assert response.status_code == 200
    assert response.json()["hook"] in path


def test_csrf_can_be_disabled() -> None:
    with TestClient(make_app(csrf_enabled=False), enforce_csrf=True) as client:
        get_token(client)
        response = client.post(
            "/submit", data={"title": "x"}, headers={"origin": "https://evil.example"}
        )

    assert response.status_code == 200


def test_rotate_token_invalidates_old_tokens(client: TestClient) -> None:
    old = get_token(client)
    assert client.post("/submit", data={"csrf_token": old}).status_code == 200

    client.get("/login")

    assert client.post("/submit", data={"csrf_token": old}).status_code == 403
    new = get_token(client)
    assert client.post("/submit", data={"csrf_token": new}).status_code == 200


def test_refused_request_does_not_reach_the_handler() -> None:
    app = make_app()
    calls: list[str] = []

    @app.put("/counter")
    def bump() -> dict[str, int]:
        calls.append("bump")
        return {"count": len(calls)}

    with TestClient(app, enforce_csrf=True) as client:
        token = get_token(client)
        assert client.put("/counter").status_code == 403
        assert calls == []
        assert client.put("/counter", headers={"x-csrf-token": token}).json() == {"count": 1}


def test_the_forms_of_one_response_share_a_token_and_the_next_response_gets_another() -> None:
    from kettle.csrf import get_token as token_for

    app = make_app()

    @app.get("/tokens")
    def tokens(request: Request) -> dict[str, str]:
        first, second = token_for(request), token_for(request)
        rotate_token(request)  # a login within the request: the new secret's token
        return {"first": first, "second": second, "rotated": token_for(request)}

    client = TestClient(app, enforce_csrf=True)
    one, two = client.get("/tokens").json(), client.get("/tokens").json()
    assert one["first"] == one["second"]
    assert one["rotated"] != one["first"]
    assert two["first"] != one["rotated"]  # a fresh pad for every response
    token = two["rotated"]
    response = client.post("/submit", data={"title": "x"}, headers={"x-csrf-token": token})
    assert response.status_code == 200  # the last token is the session's
