"""Does an implementation answer every test type the way the TechEmpower rules ask?

`verify(port, world)` returns the problems found (empty: the server may be timed). WORLD
reads the `world` table as it is now ({id: randomNumber}), so single and multiple
queries are checked against the database, and updates are checked as persisted: rows
read back after the request hold what the response said, and most differ from before.
Standard library only.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import re
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from run import HOST

World = Callable[[], dict[int, int]]
ADDITIONAL = "Additional fortune added at request time."
#: The page's rows, sorted by message: the twelve stored fortunes and the one added.
FORTUNE_ROWS = [
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (0, ADDITIONAL),
    (3, "After enough decimal places, nobody gives a damn."),
    (7, "Any program that runs right is obsolete."),
    (10, "Computers make very fast, very accurate mistakes."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (9, "Feature: A bug with seniority."),
    (1, "fortune: No such file or directory"),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]
CONTENT_TYPES = {
    "plaintext": r"text/plain(; ?charset=utf-8)?",
    "json": r"application/json(; ?charset=utf-8)?",
    "html": r"text/html; ?charset=utf-8",
}
#: `queries` values and the row count the rules expect: clamped to 1..500, junk is 1.
QUERY_CASES = (("2", 2), ("0", 1), ("foo", 1), ("501", 500), ("", 1), (None, 1))
_IMF_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


class Answer:
    """One response: status, headers (lower-case names) and body."""

    def __init__(self, url: str, status: int, headers: dict[str, str], body: bytes) -> None:
        self.url, self.status, self.headers, self.body = url, status, headers, body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def get(port: int, url: str) -> Answer:
    conn = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        conn.request("GET", url)
        resp = conn.getresponse()
        body = resp.read()
        headers = {name.lower(): value for name, value in resp.getheaders()}
        return Answer(url, resp.status, headers, body)
    finally:
        conn.close()


def check_headers(answer: Answer, kind: str) -> list[str]:
    """Status 200, Server, a current Date, the Content-Type of KIND, and a body length."""
    url, headers = answer.url, answer.headers
    if answer.status != 200:
        return [f"{url} answered {answer.status}: {answer.body[:100]!r}"]
    problems = [
        f"{url} has no {name} header" for name in ("server", "date") if not headers.get(name)
    ]
    date = headers.get("date", "")
    if date and not _IMF_DATE.fullmatch(date):
        problems.append(f"{url}: Date {date!r} is not an HTTP date (IMF-fixdate)")
    elif date:
        age = abs(
            (dt.datetime.now(dt.UTC) - email.utils.parsedate_to_datetime(date)).total_seconds()
        )
        if age > 10:
            problems.append(f"{url}: Date {date!r} is {age:.0f} s off the clock (cached?)")
    content_type = headers.get("content-type", "")
    if not re.fullmatch(CONTENT_TYPES[kind], content_type, re.I):
        problems.append(f"{url}: Content-Type {content_type!r}, expected {CONTENT_TYPES[kind]}")
    if "content-length" not in headers and "transfer-encoding" not in headers:
        problems.append(f"{url} has neither Content-Length nor Transfer-Encoding")
    return problems


def world_problems(url: str, item: Any, world: dict[int, int] | None) -> list[str]:
    """ITEM must be exactly {"id": 1..10000, "randomNumber": int} (matching WORLD if given)."""
    if not isinstance(item, dict) or set(item) != {"id", "randomNumber"}:
        return [f"{url}: expected an object with id and randomNumber, got {str(item)[:80]}"]
    pk, number = item["id"], item["randomNumber"]
    if not isinstance(pk, int) or not isinstance(number, int) or not 1 <= pk <= 10_000:
        return [f"{url}: id and randomNumber must be integers, id 1..10000: {item}"]
    if world is not None and world.get(pk) != number:
        return [f"{url}: row {pk} has randomNumber {world.get(pk)}, the answer says {number}"]
    return []


def check_list(answer: Answer, expected: int, world: dict[int, int] | None) -> list[str]:
    problems = check_headers(answer, "json")
    if problems:
        return problems
    items = answer.json()
    if not isinstance(items, list):
        return [f"{answer.url}: expected a JSON array, got {answer.body[:80]!r}"]
    if len(items) != expected:
        return [f"{answer.url}: {len(items)} rows, expected {expected}"]
    for item in items:
        if found := world_problems(answer.url, item, world):
            return found
    return []


class _Rows(HTMLParser):
    """Collects the text of each <tr>'s <td> cells, entities decoded; notes the doctype."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.doctype = self.in_cell = False
        self.title = ""
        self._in_title = False

    def handle_decl(self, decl: str) -> None:
        self.doctype |= decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td" and self.rows:
            self.rows[-1].append("")
            self.in_cell = True
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.in_cell = self.in_cell and tag != "td"
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data
        elif self._in_title:
            self.title += data


def check_fortunes(answer: Answer) -> list[str]:
    problems = check_headers(answer, "html")
    if problems:
        return problems
    text = answer.body.decode("utf-8", errors="replace")
    if "<script" in text.lower():
        return ["/fortunes: the <script> fortune reached the page unescaped"]
    page = _Rows()
    page.feed(text)
    if not page.doctype or page.title.strip() != "Fortunes":
        return ["/fortunes: expected <!DOCTYPE html> and <title>Fortunes</title>"]
    rows = [tuple(cells) for cells in page.rows if cells]
    want = [(str(pk), message) for pk, message in FORTUNE_ROWS]
    if rows != want:
        pairs = enumerate(zip(rows, want, strict=False))
        wrong = next((i for i, (a, b) in pairs if a != b), min(len(rows), len(want) - 1))
        got = rows[wrong] if wrong < len(rows) else "nothing"
        return [
            f"/fortunes: {len(rows)} rows; row {wrong + 1} is {got}, expected {want[wrong]} "
            "(all 13, sorted by message, escaped)"
        ]
    return []


def _query_url(path: str, value: str | None) -> str:
    return path if value is None else f"{path}?queries={value}"


def check_updates(port: int, world: World) -> list[str]:
    """Clamping, then persistence: after /updates?queries=500, rows that appear once hold the
    answer's values, and at least 90% of them differ from before the request."""
    problems = []
    for value, expected in QUERY_CASES:
        problems += check_list(get(port, _query_url("/updates", value)), expected, None)
    if problems:
        return problems
    before = world()
    answer = get(port, "/updates?queries=500")
    if problems := check_list(answer, 500, None):
        return problems
    after = world()
    counts = Counter(item["id"] for item in answer.json())
    once = {item["id"]: item["randomNumber"] for item in answer.json() if counts[item["id"]] == 1}
    stale = [pk for pk, number in once.items() if after[pk] != number]
    if stale:
        pk = stale[0]
        return [
            f"/updates: {len(stale)} of {len(once)} rows were not persisted: row {pk} holds "
            f"{after[pk]}, the answer said {once[pk]}"
        ]
    changed = sum(before[pk] != after[pk] for pk in once)
    if changed < 0.9 * len(once):
        return [f"/updates: only {changed} of {len(once)} rows got a new randomNumber"]
    return []


def verify(port: int, world: World, database: bool = True) -> list[str]:
    """Every problem with the six test types on the server at PORT (empty: all correct);
    without DATABASE, with plaintext and JSON only."""
    problems: list[str] = []
    plain = get(port, "/plaintext")
    problems += check_headers(plain, "plaintext")
    if plain.status == 200 and plain.body != b"Hello, World!":
        problems.append(f"/plaintext body is {plain.body[:80]!r}")
    hello = get(port, "/json")
    problems += check_headers(hello, "json")
    if hello.status == 200 and hello.json() != {"message": "Hello, World!"}:
        problems.append(f"/json body is {hello.body[:80]!r}")
    if not database:
        return problems
    now = world()
    singles = [get(port, "/db") for _ in range(5)]
    for answer in singles:
        found = check_headers(answer, "json")
        problems += found or world_problems("/db", answer.json(), now)
    if not problems and len({answer.json()["id"] for answer in singles}) < 2:
        problems.append("/db: five requests answered the same row")
    for value, expected in (*QUERY_CASES, ("20", 20)):
        problems += check_list(get(port, _query_url("/queries", value)), expected, now)
    problems += check_fortunes(get(port, "/fortunes"))
    return problems + check_updates(port, world)
