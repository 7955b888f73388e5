"""Sending e-mail: one small backend interface, a console backend for development, an
in-memory one for tests and SMTP for production.

The backend comes from the settings (``mail_backend_from_settings``); add the mail fields
to your settings by subclassing ``MailSettings``, so ``KETTLE_MAIL_BACKEND=smtp`` and
``KETTLE_SMTP_HOST=...`` configure it::

    class SiteSettings(MailSettings):
        pass

    mail = mail_backend_from_settings(SiteSettings.load())
    await mail.send([EmailMessage("Welcome", "Hello Ann!", to=["ann@example.org"])])
"""

from __future__ import annotations

import asyncio
import email.message
import email.utils
import smtplib
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TextIO

from kettle.exceptions import ConfigurationError
from kettle.settings import Settings


@dataclass
class EmailMessage:
    """One e-mail: a plain-text body and, optionally, an HTML alternative::

    EmailMessage("Reset your password", text, to=["ann@example.org"], html=page)
    """

    subject: str
    body: str
    to: list[str]
    from_email: str | None = None
    html: str | None = None
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def build(self, default_from: str) -> email.message.EmailMessage:
        """The standard-library message, ready for ``smtplib`` (headers checked there:
        a line break in a header value is refused, so no header injection)::

            EmailMessage("Hi", "Hello", to=["ann@example.org"]).build("site@example.org")
        """
        message = email.message.EmailMessage()
        message["Subject"] = " ".join(self.subject.split())
        message["From"] = self.from_email or default_from
        message["To"] = ", ".join(self.to)
        if self.reply_to:
            message["Reply-To"] = ", ".join(self.reply_to)
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = email.utils.make_msgid()
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.body)
        if self.html is not None:
            message.add_alternative(self.html, subtype="html")
        return message


class MailBackend(Protocol):
    """Where messages go; ``send`` returns how many were sent::

    class Queued:
        async def send(self, messages):
            for message in messages:
                await queue.put(message)
            return len(messages)
    """

    async def send(self, messages: Sequence[EmailMessage]) -> int: ...


class ConsoleBackend:
    """Writes each message to a stream (standard output): for development::

    ConsoleBackend(default_from="news@localhost")
    """

    def __init__(self, stream: TextIO | None = None, default_from: str = "webmaster@localhost"):
        self.stream = stream
        self.default_from = default_from

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        stream = self.stream or sys.stdout
        for message in messages:
            stream.write(message.build(self.default_from).as_string())
            stream.write("\n" + "-" * 72 + "\n")
        stream.flush()
        return len(messages)


class MemoryBackend:
    """Keeps messages in ``outbox``: for tests::

    mail = MemoryBackend()
    ...
    assert mail.outbox[0].to == ["ann@example.org"]
    """

    def __init__(self, default_from: str = "webmaster@localhost") -> None:
        self.default_from = default_from
        self.outbox: list[EmailMessage] = []

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        for message in messages:
            message.build(self.default_from)  # refuse what SMTP would refuse
            self.outbox.append(message)
        return len(messages)


class SMTPBackend:
    """Sends through an SMTP server with ``smtplib``, in a worker thread.

    ``starttls`` upgrades a plain connection (port 587); ``use_ssl`` connects over TLS
    from the start (port 465)::

        SMTPBackend("smtp.example.org", 587, username="news", password=secret)
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 587,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        use_ssl: bool = False,
        timeout: float = 10.0,
        default_from: str = "webmaster@localhost",
    ) -> None:
        if starttls and use_ssl:
            raise ConfigurationError(
                "SMTP: choose STARTTLS (smtp_starttls, port 587) or implicit TLS "
                "(smtp_ssl, port 465), not both."
            )
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.use_ssl = starttls, use_ssl
        self.timeout = timeout
        self.default_from = default_from

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            connection.starttls(context=context)
        return connection

    def send_sync(self, messages: Sequence[EmailMessage]) -> int:
        """Send now, blocking (``send`` runs this in a thread)."""
        if not messages:
            return 0
        built = [m.build(self.default_from) for m in messages]
        with self._connect() as connection:
            if self.username:
                connection.login(self.username, self.password)
            for message in built:
                connection.send_message(message)
        return len(built)

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        return await asyncio.to_thread(self.send_sync, list(messages))


class MailSettings(Settings):
    """``Settings`` with the mail fields; subclass it (or copy the fields) to configure
    mail by ``KETTLE_MAIL_*`` and ``KETTLE_SMTP_*`` variables::

        settings = MailSettings.load(mail_backend="smtp", smtp_host="smtp.example.org")
    """

    #: ``console`` prints messages (development), ``memory`` keeps them (tests).
    mail_backend: Literal["console", "smtp", "memory"] = "console"
    mail_from: str = "webmaster@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout: float = 10.0


def mail_backend_from_settings(settings: Settings) -> MailBackend:
    """The backend the settings name; plain ``Settings`` (no mail fields) print to the
    console::

        mail = mail_backend_from_settings(app.settings)
    """

    def get(name: str, default: Any) -> Any:
        return getattr(settings, name, default)

    kind = get("mail_backend", "console")
    sender = get("mail_from", "webmaster@localhost")
    if kind == "console":
        return ConsoleBackend(default_from=sender)
    if kind == "memory":
        return MemoryBackend(default_from=sender)
    if kind == "smtp":
        return SMTPBackend(
            get("smtp_host", "localhost"),
            get("smtp_port", 587),
            username=get("smtp_username", ""),
            password=get("smtp_password", ""),
            starttls=get("smtp_starttls", True),
            use_ssl=get("smtp_ssl", False),
            timeout=get("smtp_timeout", 10.0),
            default_from=sender,
        )
    raise ConfigurationError(
        f"KETTLE_MAIL_BACKEND={kind!r} is not a mail backend; use console, smtp or memory."
    )


__all__ = [
    "ConsoleBackend",
    "EmailMessage",
    "MailBackend",
    "MailSettings",
    "MemoryBackend",
    "SMTPBackend",
    "mail_backend_from_settings",
]
