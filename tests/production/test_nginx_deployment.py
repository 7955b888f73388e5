"""The news site deployed as docs/deployment.md says, driven through nginx: two `kettle run`
processes on a PostgreSQL primary and replica of the test's own, and Redis.

One deployment serves every phase, in order: a session made on one process continues on
the other, a rate limit counts across both, a write is read back, one process and then the
other is restarted (SIGTERM) during a 30 s load of votes with no failed request and no
acknowledged vote lost, one is killed (SIGKILL) under a load of reads and votes that nginx
sends again to the other (votes are idempotent: see the guide), and PostgreSQL's primary
restarts under load with 503s during the gap, never a 500, and full recovery after. About
80-110 s in all, 25 of them setting up.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest
from newsdeploy import PASSWORD, Deployment, deployment

from htmlforms import csrf_from

pytestmark = [pytest.mark.server, pytest.mark.process]

LOAD_SECONDS = 30.0
CONCURRENCY = 24


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("nginx")
    with deployment(
        folder, users=50, articles=150, KETTLE_NEWS_ARTICLE_RATE="4/10minutes"
    ) as running:
        yield running


def upstream_ports(site: Deployment) -> set[str]:
    return {str(p.port) for p in site.processes}


def served_by(response: httpx.Response) -> str:
    """The port of the process nginx got the answer from (the last one it tried)."""
    return response.headers["x-upstream"].rsplit(", ", 1)[-1].rsplit(":", 1)[-1]


def bearer(site: Deployment, n: int) -> dict[str, str]:
    return {"authorization": f"Bearer {site.tokens[n]}"}


def test_a_session_made_on_one_process_continues_on_the_other(site: Deployment) -> None:
    with httpx.Client(base_url=site.url, headers={"accept": "text/html"}) as browser:
        page = browser.get("/auth/login")
        signed_in = browser.post(
            "/auth/login",
            data={"username": "reader1", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        pages = [browser.get("/submit") for _ in range(6)]
    assert [p.status_code for p in pages] == [200] * 6
    assert all("reader1" in p.text for p in pages)
    assert {served_by(p) for p in pages} == upstream_ports(site)


def test_a_rate_limit_counts_across_both_processes(site: Deployment) -> None:
    answers = [
        httpx.post(
            f"{site.url}/api/articles",
            json={"title": f"Limited {n}", "url": f"https://example.com/limited/{n}"},
            headers=bearer(site, 2),
        )
        for n in range(6)
    ]
    assert [a.status_code for a in answers] == [201] * 4 + [429] * 2, [a.text for a in answers]
    assert {served_by(a) for a in answers[:4]} == upstream_ports(site)


def test_a_write_is_read_back_through_either_process(site: Deployment) -> None:
    created = httpx.post(
        f"{site.url}/api/articles",
        json={"title": "Read me back", "url": "https://example.com/read-back"},
        headers=bearer(site, 3),
    )
    assert created.status_code == 201, created.text
    reads = [httpx.get(f"{site.url}/api/articles/{created.json()['id']}") for _ in range(4)]
    assert [r.status_code for r in reads] == [200] * 4, [r.text for r in reads]
    assert {r.json()["title"] for r in reads} == {"Read me back"}
    assert {served_by(r) for r in reads} == upstream_ports(site)


class Load:
    """Votes (each user on each article once) and front-page reads through nginx."""

    def __init__(self, site: Deployment, users: range, *, votes: bool = True) -> None:
        self.site = site
        self.votes = votes
        self.pairs = itertools.product(users, site.articles)
        self.statuses: Counter[str] = Counter()
        self.acknowledged: list[tuple[str, int]] = []
        #: Votes answered 409 ("already voted"): each pair is tried once, so only a vote
        #: that nginx sent again after its first process died with it done gets one.
        self.repeated: list[tuple[str, int]] = []
        #: (seconds since the start, status) of every answer.
        self.timeline: list[tuple[float, str]] = []

    async def run(self, seconds: float) -> None:
        limits = httpx.Limits(max_connections=CONCURRENCY * 2)
        async with httpx.AsyncClient(base_url=self.site.url, timeout=30, limits=limits) as client:
            start = time.monotonic()
            await asyncio.gather(
                *(self._worker(client, start, start + seconds, n) for n in range(CONCURRENCY))
            )

    async def _worker(self, client: httpx.AsyncClient, start: float, end: float, n: int) -> None:
        for turn in itertools.count():
            if time.monotonic() >= end:
                return
            if not self.votes or (turn + n) % 4 == 0:
                outcome = await self._ask(client.get("/api/front"))
            else:
                pair = next(self.pairs, None)
                if pair is None:
                    return  # every user voted on every article
                user, article = pair
                outcome = await self._ask(
                    client.post(
                        "/api/votes",
                        json={"article_id": article},
                        headers=bearer(self.site, user),
                    )
                )
                if outcome == "201":
                    self.acknowledged.append((self.site.usernames[user], article))
                elif outcome == "409":
                    self.repeated.append((self.site.usernames[user], article))
            self.statuses[outcome] += 1
            self.timeline.append((time.monotonic() - start, outcome))

    def failures(self) -> list[tuple[float, str]]:
        """When each answer other than 200 and 201 came (seconds since the start)."""
        return [(round(at, 2), status) for at, status in self.timeline if status[0] != "2"]

    @staticmethod
    async def _ask(request: object) -> str:
        try:
            response = await request  # type: ignore[misc]  # NOTE: an httpx coroutine
        except httpx.HTTPError as error:
            return type(error).__name__
        return str(response.status_code)


class Background(threading.Thread):
    """Run each ``(pause, action)`` in turn in a thread of its own: wait ``pause``
    seconds, run ``action``, go on to the next. ``join()`` raises what an action raised."""

    def __init__(self, *steps: tuple[float, Callable[[], object]]) -> None:
        super().__init__(daemon=True)
        self.steps = steps
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            for pause, action in self.steps:
                time.sleep(pause)
                action()
        except BaseException as error:
            self.error = error

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        assert not self.is_alive(), f"the background steps took over {timeout} s"
        if self.error is not None:
            raise self.error


def test_restarting_each_process_under_load_fails_no_request_and_loses_no_vote(
    site: Deployment,
) -> None:
    load = Load(site, range(5, 30))
    codes: list[int] = []
    stopped_at: list[float] = []
    start = time.monotonic()

    def restart(index: int) -> None:
        stopped_at.append(time.monotonic() - start)
        codes.append(site.restart_process(index, down_for=1.0))

    # A rolling restart: the second process stops once the first serves again and nginx
    # has had fail_timeout (2 s) to take it back.
    restarts = Background((5.0, lambda: restart(1)), (3.0, lambda: restart(0)))
    asyncio.run(load.run(LOAD_SECONDS))
    restarts.join(timeout=60)
    assert codes == [0, 0], site.log
    assert stopped_at[-1] < LOAD_SECONDS - 3, stopped_at  # both stopped under load
    errors = Counter(
        line.split("] ", 1)[-1].split(" while ")[0].split(": ", 1)[-1].split(" ", 1)[-1]
        for line in (site.root / "error.log").read_text().splitlines()
    )
    assert set(load.statuses) <= {"200", "201"}, (errors, load.statuses, load.failures()[:3])
    assert load.statuses["201"] > 100, load.statuses  # a load, not a trickle
    stored = set(
        site.rows(
            "SELECT u.username, v.article_id FROM article_vote v "
            "JOIN auth_user u ON u.id = v.user_id"
        )
    )
    assert set(load.acknowledged) <= stored  # no acknowledged vote is lost
    assert len(stored) == len(load.acknowledged)  # and none counted twice or unanswered


def test_a_crashed_process_fails_no_request_and_loses_no_vote(site: Deployment) -> None:
    """SIGKILL: the requests the process had are cut, and nginx sends them again to the
    other process: reads, and votes too (their location says ``non_idempotent``). A vote
    the dead process had committed finds itself there: a 409 that changes nothing. The
    process hangs for half a second first, so votes are in flight when it dies."""
    users = range(40, 50)  # users of their own: their votes are all this phase's
    load = Load(site, users)
    error_log = site.root / "error.log"
    logged = len(error_log.read_text())
    crash = Background((3.0, lambda: site.kill_process(1, down_for=2.0, freeze=0.5)))
    asyncio.run(load.run(10.0))
    crash.join(timeout=60)
    assert set(load.statuses) <= {"200", "201", "409"}, (load.statuses, load.failures()[:3])
    assert load.statuses["200"] > 20, load.statuses
    assert load.statuses["201"] > 50, load.statuses
    names = ", ".join(f"'{site.usernames[n]}'" for n in users)
    stored = site.rows(
        "SELECT u.username, v.article_id FROM article_vote v "
        f"JOIN auth_user u ON u.id = v.user_id WHERE u.username IN ({names})"
    )
    # Every vote answered is stored once, and no vote is stored that was not answered.
    assert sorted(stored) == sorted(load.acknowledged + load.repeated)
    # The kill cut votes in flight (nginx logs each request it sends again), or the
    # phase proved nothing about writes.
    cut = error_log.read_text()[logged:].splitlines()
    resent = [line for line in cut if '"POST /api/votes ' in line and "reading response" in line]
    assert resent, ("no vote was in flight when the process died", load.statuses, cut[-5:])


def test_a_database_restart_gives_503s_then_recovers(site: Deployment) -> None:
    load = Load(site, range(30, 40))  # users of their own: no vote is there already
    restart = Background((3.0, lambda: site.restart_primary(down_for=2.0)))
    asyncio.run(load.run(15.0))
    restart.join(timeout=60)
    assert "500" not in load.statuses, load.statuses
    assert set(load.statuses) <= {"200", "201", "503"}, load.statuses
    assert load.statuses["503"] > 0, load.statuses  # the gap was seen...
    recovered = [status for at, status in load.timeline if at > 12.0]
    assert recovered
    assert set(recovered) <= {"200", "201"}, Counter(recovered)  # ...and is over
