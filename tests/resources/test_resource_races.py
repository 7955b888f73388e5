"""A concurrent change between a client's read and its write is refused (412), never
lost: on SQLite, PostgreSQL and MariaDB, two PATCHes with the same If-Match race and
exactly one wins."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from authsite import Site
from dbhelpers import arun
from postsite import PostResource, posts

from kettle.testing import AsyncTestClient


class GatedPosts(PostResource):
    """The first writer holds its row (locked) until the test lets it go; the second
    says when it is about to read the row."""

    gates: ClassVar[dict[str, asyncio.Event]] = {}

    async def get_object(self, request: Any, queryset: Any, id: int) -> Any:
        if request.method == "PATCH" and request.headers.get("x-writer") == "second":
            self.gates["second_reads"].set()
        return await queryset.aget(pk=id)

    async def perform_update(self, request: Any, obj: Any) -> None:
        if request.headers.get("x-writer") == "first":
            self.gates["first_holds"].set()
            await self.gates["release_first"].wait()
        await obj.asave()


def test_two_writers_with_one_etag_one_wins_one_gets_412(site: Site) -> None:
    site.app.resource("/api/posts", GatedPosts)
    ann = site.user("ann", is_superuser=True)
    [post_id] = posts(site, "ann", "Tea")
    url = f"/api/posts/{post_id}"

    async def race() -> tuple[int, int, str]:
        gates = GatedPosts.gates
        for name in ("first_holds", "second_reads", "release_first"):
            gates[name] = asyncio.Event()
        async with AsyncTestClient(site.app) as client:
            await client.force_login(ann)
            etag = (await client.get(url)).headers["etag"]

            def patch(writer: str) -> Any:
                headers = {"if-match": etag, "x-writer": writer}
                return client.patch(url, json={"title": f"by {writer}"}, headers=headers)

            first = asyncio.create_task(patch("first"))
            await gates["first_holds"].wait()  # first has read and locked the row
            second = asyncio.create_task(patch("second"))
            await gates["second_reads"].wait()  # second is reading it now
            gates["release_first"].set()
            done_first, done_second = await first, await second
            title = (await client.get(url)).json()["title"]
        return done_first.status_code, done_second.status_code, title

    assert arun(site.db, race) == (200, 412, "by first")
