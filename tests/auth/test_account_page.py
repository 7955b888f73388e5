"""The account page (``/auth/account``): one list of the account's pages, each battery's
entry there only when it is installed, and linked from every auth page once signed in.
On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from authsite import make_site

from kettle.auth import AccountLink
from kettle.auth.passkeys import Passkeys
from kettle.auth.twofactor import TwoFactor
from kettle.testing import TestClient

_LINK = re.compile(r'<li><a href="([^"]+)">([^<]+)</a>')
CORE = [
    ("/auth/password", "Password"),
    ("/auth/tokens", "API tokens"),
    ("/auth/email", "E-mail address"),
    ("/auth/time-zone", "Time zone"),
]


def _entries(tmp_path: Path, url: str, *batteries: str) -> list[tuple[str, str]]:
    site = make_site(tmp_path, url)
    if "2fa" in batteries:
        TwoFactor(site.auth)
    if "passkeys" in batteries:
        Passkeys(site.auth)
    site.auth.add_account_link(AccountLink("Newsletters", "auth.time_zone", "Letters."))
    site.db.drop_all()
    site.db.create_all()
    try:
        site.user("ann")
        with TestClient(site.app) as client:
            assert client.get("/auth/account").status_code == 401
            site.login(client)
            page = client.get("/auth/account")
            assert page.status_code == 200
            assert "Signed in as <strong>ann</strong>" in page.text
            for path, _ in CORE:  # every auth page links to the account page
                assert 'href="/auth/account"' in client.get(path).text, path
            return _LINK.findall(page.text)
    finally:
        site.db.drop_all()
        site.db.dispose()


def test_only_the_core_pages_without_batteries(tmp_path: Path, db_url: str) -> None:
    assert _entries(tmp_path, db_url) == [*CORE, ("/auth/time-zone", "Newsletters")]


@pytest.mark.parametrize("batteries", [("2fa",), ("2fa", "passkeys")])
def test_each_battery_adds_its_entry(
    tmp_path: Path, db_url: str, batteries: tuple[str, ...]
) -> None:
    entries = _entries(tmp_path, db_url, *batteries)
    assert entries[: len(CORE)] == CORE
    assert ("/auth/2fa/setup", "Two-factor authentication") in entries
    assert (("/auth/passkeys", "Passkeys") in entries) == ("passkeys" in batteries)


def test_nobody_signed_in_sees_no_account_link(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'a.sqlite3'}")
    site.db.create_all()
    with TestClient(site.app) as client:
        assert "/auth/account" not in client.get("/auth/login").text
    site.db.dispose()
