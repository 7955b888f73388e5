"""The hostile walk: one role's browser sends hypothesis-made requests to every target
(``routewalk.targets``) and records each answer that is a 5xx or not a well-formed page.

The requests go through ``RawScope``, a thin ASGI layer that puts the exact path and
query bytes into the request's scope, as a server would pass them on: httpx would
otherwise repair malformed percent-encoding before the app saw it::

    walk = Walk(app, role="reader", username="ann", password=PASSWORD, seeds=seeds)
    walk.run(profile())
    assert not walk.failures, walk.report()
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import traceback
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from hostile import shown
from hypothesis import HealthCheck, Phase, given, seed, settings
from routewalk import Harvest, Target, seed_paths, targets
from walkrequests import TOKEN, Call, calls, focus_inputs

from kettle import App
from kettle.testing import TestClient

#: The cookie that carries the role's session.
SESSION_COOKIE = "session"
#: More requests for routes with more inputs: this many for each field or query name
#: the route declares or its pages use.
PER_INPUT = 2
#: Requests made to each target before deciding whether the role gets past the door.
PROBE = 5
#: ``HYPOTHESIS_PROFILE=walk-long`` raises the budget for a long local run.
# NOTE: the examples are not shrunk (no Phase.shrink): a failure is recorded, not raised,
# so that one walk reports every distinct failure; the fixed seeds make it reproducible.
settings.register_profile(
    "walk-ci",
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "walk-long",
    max_examples=200,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)


def profile() -> settings:
    """The walk's hypothesis settings: ``walk-ci`` (reproducible, bounded) unless
    ``HYPOTHESIS_PROFILE`` names another registered profile."""
    return settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "walk-ci"))


class RawScope:
    """An ASGI app in front of ``app`` that sends a request with the path and query
    bytes registered under its ``x-walk`` header (``expect``), unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pending: dict[bytes, tuple[bytes, bytes]] = {}
        self._keys = itertools.count()

    def expect(self, raw_path: bytes, query: bytes) -> str:
        key = str(next(self._keys))
        self.pending[key.encode()] = (raw_path, query)
        return key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"x-walk"]
            key = next((v for k, v in scope["headers"] if k == b"x-walk"), None)
            if key is not None:
                raw_path, query = self.pending.pop(key)
                path = _path_of(raw_path)
                scope = {**scope, "headers": headers, "raw_path": raw_path, "path": path}
                scope["query_string"] = query
        await self.app(scope, receive, _long_location_kept(send))


def _path_of(raw_path: bytes) -> str:
    """The path a server puts in the scope, as uvicorn does: the raw path
    percent-decoded, bad UTF-8 replaced."""
    return unquote(raw_path.decode("ascii"), errors="replace")


#: httpx refuses to read a Location longer than 64 KiB (the app echoes hostile URLs
#: into ``?next=``); such a header is handed over as ``x-walk-location`` instead.
LONG_LOCATION = 16_000


def _long_location_kept(send: Any) -> Any:
    async def kept(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    (b"x-walk-location" if k == b"location" and len(v) > LONG_LOCATION else k, v)
                    for k, v in message.get("headers", [])
                ],
            }
        await send(message)

    return kept


class _Errors(logging.Handler):
    """Keeps the tracebacks the app logs while a request runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tail(self) -> str:
        for record in reversed(self.records):
            if record.exc_info and record.exc_info[1] is not None:
                lines = traceback.format_exception(record.exc_info[1])
                return "".join(lines[-3:]).strip()
        return ""


@dataclass
class Failure:
    """A 5xx or a malformed answer, with what a reader needs to reproduce it."""

    role: str
    target: Target
    call: Call
    status: int | str
    tail: str

    def __str__(self) -> str:
        body = f"\n    body: {shown(self.call.body)}" if self.call.body else ""
        tail = self.tail.replace("\n", "\n      ")
        return (
            f"[{self.role}] {self.call.method} {self.call.url} (route {self.target.template})"
            f"{body}\n    -> {self.status}\n      {tail}"
        )


def _refused(status: int, headers: Any) -> bool:
    """Whether an answer says "sign in" or "not for you": what a role kept out of a
    route gets, whatever else the request says."""
    to_login = urlsplit(headers.get("location", "")).path == "/auth/login"
    return status in (401, 403) or (status in (302, 303) and to_login)


def _ill_formed(status: int, headers: Any, content: bytes) -> str:
    """Why an answer is no well-formed page, or ""."""
    if status >= 500:
        return f"status {status}"
    kind = headers.get("content-type", "")
    located = "location" in headers or "x-walk-location" in headers
    if 300 <= status < 400 and status != 304 and not located:
        return f"a {status} redirect without a Location header"
    if "text/html" in kind:
        try:
            text = content.decode("utf-8").lower()
        except UnicodeDecodeError:
            return "an HTML page that is not UTF-8"
        if content and ("<html" not in text or "</html>" not in text):
            return "an HTML page cut short (no <html>...</html>)"
    if "json" in kind:
        try:
            json.loads(content)
        except ValueError:
            return "a JSON answer that does not parse"
    return ""


@dataclass
class Walk:
    """One role walking every target of ``app`` (see the module docstring)."""

    app: App
    role: str
    username: str | None
    password: str
    seeds: dict[str, list[str]]
    failures: dict[tuple[str, str, str], Failure] = field(default_factory=dict)
    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    seeded: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Targets that answered something else than "sign in" or "not for you" (``_refused``).
    opened: set[tuple[str, str]] = field(default_factory=set)
    #: Requests per input of a route, beyond the budget's own (``PER_INPUT``).
    per_input: int = PER_INPUT
    #: Answers the second-factor page after the password (editors and admins must use
    #: two-factor authentication): ``second_factor(client)`` returns the response.
    second_factor: Callable[[TestClient], Any] | None = None

    def __post_init__(self) -> None:
        self.raw = RawScope(self.app)
        self.client = TestClient(self.raw)
        self.harvest = Harvest()
        self.errors = _Errors()
        self.targets = targets(self.app)

    # --- sending -----------------------------------------------------------------------------
    def send(self, call: Call, target: Target) -> int:
        """Send ``call``; record a failure if the answer is a 5xx or ill-formed."""
        headers = {"accept": call.accept, "x-walk": self.raw.expect(call.raw_path, call.query)}
        token = (self.harvest.token or "").encode()
        body = call.body.replace(TOKEN, token) if call.body else call.body
        if call.content_type:
            headers["content-type"] = call.content_type
        if call.csrf_header:
            headers["x-csrf-token"] = call.csrf_header.replace(TOKEN.decode(), token.decode())
        self.errors.records.clear()
        cookie = self.client.cookies.get(SESSION_COOKIE)
        try:
            response = self.client.request(call.method, "/", content=body, headers=headers)
        except Exception as exc:
            tail = "".join(traceback.format_exception(exc)[-3:]).strip()
            self._fail(target, call, "no answer: the app raised", tail)
            return 0
        problem = _ill_formed(response.status_code, response.headers, response.content)
        if problem:
            self._fail(target, call, problem, self.errors.tail() or response.text[:300])
        self.statuses.setdefault(target.key, Counter())[response.status_code] += 1
        if self._routed(call) and not _refused(response.status_code, response.headers):
            self.opened.add(target.key)
        if self.client.cookies.get(SESSION_COOKIE) != cookie:
            self._still_signed_in(target, call)
        return response.status_code

    def _fail(
        self,
        target: Target,
        call: Call,
        status: int | str,
        tail: str,
        key: tuple[str, str, str] | None = None,
    ) -> None:
        """Keep the first failure of each kind: per route, method and error line."""
        last = tail.strip().splitlines()[-1] if tail.strip() else str(status)
        key = key or (target.name, call.method, last[:200])
        if key not in self.failures:
            self.failures[key] = Failure(self.role, target, call, status, tail)

    def get(self, path: str) -> Any:
        return self.client.get(path, headers={"accept": "text/html"})

    # --- the role's session ----------------------------------------------------------------------
    def sign_in(self) -> None:
        """Start a fresh session as the role (and get its CSRF token)."""
        self.client.cookies.clear()
        if self.username is not None:
            page = self.get("/auth/login")
            self.harvest.read(self.app, "/auth/login", page.text)
            form = {"username": self.username, "password": self.password}
            done = self.client.post(
                "/auth/login", data={**form, "csrf_token": self.harvest.token or ""}
            )
            assert done.status_code == 303, f"{self.role} could not sign in: {done.text[:500]}"
            if done.headers["location"].startswith("/auth/2fa") and self.second_factor:
                done = self.second_factor(self.client)
                assert done.status_code == 303, f"{self.role}'s code refused: {done.text[:500]}"
        front = self.get("/")
        self.harvest.read(self.app, "/", front.text)
        if self.username is None:  # a signed-out reader's lists have no form (page cache)
            self.harvest.read(self.app, "/auth/login", self.get("/auth/login").text)
        assert self.harvest.token, f"no CSRF token for {self.role}"

    def read_pages(self) -> None:
        """Read every GET target filled with seeded values: the pages' forms and links
        tell the walk which fields each route takes."""
        for target in self.targets:
            if target.method != "GET":
                continue
            for path in seed_paths(target, self.seeds):
                response = self.get(path)
                status = response.status_code
                # Kept: the first answer, unless a later one lets the role in (the first
                # model of the admin may be one the role has no permission for).
                if self.seeded.get(target.key, 404) in (400, 401, 403, 404):
                    self.seeded[target.key] = status
                if "text/html" in response.headers.get("content-type", ""):
                    self.harvest.read(self.app, path, response.text)
                if status != 404:
                    self.harvest.found(self.app, "GET", path)
                if status < 400:  # a page the role may see: enough for this route
                    break

    # --- walking ---------------------------------------------------------------------------------
    def run(self, budget: settings) -> None:
        """Walk every target with ``budget`` examples each (see ``profile``)."""
        logger = logging.getLogger("kettle")
        logger.addHandler(self.errors)
        try:
            self.sign_in()
            self.read_pages()
            for target in self.targets:
                if target.changes_who_is_signed_in:  # (walked last) a fresh session each
                    self.sign_in()
                self._walk(target, budget)
        finally:
            logger.removeHandler(self.errors)
            self.client.close()

    def _routed(self, call: Call) -> bool:
        """Whether the router sends ``call`` to a handler (or it is for the static files)."""
        if call.method == "GET" and self.app.router.find_mount(_path_of(call.raw_path)):
            return True
        return self.app.router.lookup(call.method, _path_of(call.raw_path))[0] is not None

    def _still_signed_in(self, target: Target, call: Call) -> None:
        """After ``call`` changed the session cookie: a walk that lost its role proves
        nothing, so sign in again. Losing it to a request that should not end a
        session (a GET, a 404) is a failure too."""
        if self.username is None or self.get("/auth/password").status_code == 200:
            return
        if not target.changes_who_is_signed_in:
            problem = "the role was signed out by this request (its session cookie replaced)"
            self._fail(target, call, problem, problem, key=("session", "", problem))
        self.sign_in()

    def _walk(self, target: Target, budget: settings) -> None:
        """A few requests first; if the role is refused them all (signed out, not
        staff), that is the answer to any input: the rest of the budget goes elsewhere."""
        made = calls(target, self.harvest, self.seeds)
        name = f"{self.role} {target.method} {target.name}"
        self._examples(target, made, settings(budget, max_examples=PROBE), f"probe {name}")
        if target.key not in self.opened:
            return
        inputs = len(set(focus_inputs(target, self.harvest)))
        wider = settings(budget, max_examples=budget.max_examples + self.per_input * inputs)
        self._examples(target, made, wider, name)

    def _examples(self, target: Target, made: Any, budget: settings, name: str) -> None:
        @budget
        @given(made)
        def walk(call: Call) -> None:
            self.send(call, target)

        if budget.derandomize:
            # Each target and role its own fixed seed: reproducible, yet not one sequence.
            walk = seed(zlib.crc32(name.encode()))(walk)
        walk()

    def report(self) -> str:
        """Every distinct failure, one paragraph each."""
        shown_failures = "\n".join(str(f) for f in self.failures.values())
        return f"{len(self.failures)} hostile request(s) broke the site:\n{shown_failures}"
