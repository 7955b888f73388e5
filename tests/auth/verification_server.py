"""The app the e-mail verification browser tests serve (``verification_server:app``):
mandatory verification, and mail written to ``<root>/outbox.txt`` for the test to read.
``authbrowser.serving`` makes its tables first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from authbrowser import served_site

from kettle.mail import EmailMessage

ROOT = Path(os.environ.get("KETTLE_TEST_AUTH_ROOT", "."))


class FileOutbox:
    """Appends each message's recipients and body to ``<root>/outbox.txt``."""

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        with (ROOT / "outbox.txt").open("a", encoding="utf-8") as out:
            for message in messages:
                out.write(f"To: {', '.join(message.to)}\n{message.body}\n")
        return len(messages)


site = served_site(email_verification="mandatory")
site.auth.mail = FileOutbox()
app = site.app
