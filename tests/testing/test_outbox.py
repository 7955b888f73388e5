"""The testing environment collects mail in ``kettle.mail.outbox``, emptied per test."""

from __future__ import annotations

import asyncio

import pytest

from kettle import App, Settings, mail
from kettle.mail import ConsoleBackend, EmailMessage, MailSettings, mail_backend_from_settings
from kettle.testing import TestClient

HELLO = EmailMessage("Welcome", "Come in", to=["ann@example.org"])


def test_the_testing_environment_collects_mail() -> None:
    backend = mail_backend_from_settings(Settings.load(env="testing", env_file=None))
    asyncio.run(backend.send([HELLO]))
    assert mail.outbox == [HELLO]


def test_other_environments_still_print(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.load(env="development", env_file=None)
    assert isinstance(mail_backend_from_settings(settings), ConsoleBackend)
    chosen = MailSettings.load(env="testing", env_file=None, environ={}, mail_backend="console")
    assert isinstance(mail_backend_from_settings(chosen), ConsoleBackend)


# Two tests sending one message each: each sees only its own.
@pytest.mark.parametrize("attempt", [1, 2])
def test_the_outbox_is_emptied_before_each_test(attempt: int, mailoutbox: list[object]) -> None:
    assert mailoutbox == []
    backend = mail_backend_from_settings(Settings.load(env="testing", env_file=None))
    asyncio.run(backend.send([HELLO]))
    assert mailoutbox == [HELLO]


def test_mail_an_app_sends_lands_in_the_outbox(tmp_path: object) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None))
    sender = mail_backend_from_settings(app.settings)

    @app.post("/invite")
    async def invite(email: str) -> dict[str, str]:
        await sender.send([EmailMessage("Welcome", "Come in", to=[email])])
        return {"sent": email}

    with TestClient(app) as client:
        client.post("/invite?email=bob@example.org")
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
