"""Two callbacks at once for the same new (provider, subject): one creates the account,
the other signs in with it, neither is a 500. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio

import pytest
from authsite import Site
from oidcsite import consent, provider, site

from htmlforms import csrf_from
from kettle.auth import User
from kettle.auth.oidc import accounts, identity_model_for
from kettle.auth.oidc.devprovider import OpenIDProvider
from kettle.testing import AsyncTestClient

__all__ = ["provider", "site"]  # the fixtures, used by name
UserIdentity = identity_model_for(User)


async def _callback(client: AsyncTestClient) -> str:
    """Start an acme sign-in in ``client`` and consent: the callback to come back to."""
    token = csrf_from((await client.get("/auth/login")).text)
    started = await client.post("/auth/oidc/acme/start", data={"csrf_token": token})
    assert started.status_code == 303, started.text
    return await asyncio.to_thread(consent, started.headers["location"])


@pytest.mark.parametrize("names", ["same", "different"])
def test_the_loser_signs_in_with_the_winners_account(
    site: Site, provider: OpenIDProvider, monkeypatch: pytest.MonkeyPatch, names: str
) -> None:
    """``same``: the loser's user row clashes on its username; ``different``: its user
    row goes in, and the identity clashes on (provider, subject)."""
    both_looked = asyncio.Barrier(2)
    real = accounts.unique_username
    made: list[str] = []

    async def together(model: type[User], base: str) -> str:
        # Both callbacks found no account for the subject before either creates one.
        name = await real(model, base)
        if names == "different" and made:
            name += "-too"
        made.append(name)
        await asyncio.wait_for(both_looked.wait(), 20)
        return name

    monkeypatch.setattr(accounts, "unique_username", together)

    async def race() -> list[tuple[int, str]]:
        async with AsyncTestClient(site.app) as first:
            second = AsyncTestClient(site.app)
            try:
                urls = [await _callback(first), await _callback(second)]
                answers = await asyncio.wait_for(
                    asyncio.gather(first.get(urls[0]), second.get(urls[1])), 60
                )
                shown = [(await c.get("/whoami")).json()["username"] for c in (first, second)]
            finally:
                await second.aclose()
        return [(a.status_code, who) for a, who in zip(answers, shown, strict=True)]

    (first, winner), second = asyncio.run(race())
    assert (first, second) == (303, (303, winner))  # both signed in, as the same account
    assert winner in made
    with site.db.session():
        assert [user.username for user in User.objects.all()] == [winner]
        assert UserIdentity.objects.get().user.username == winner
