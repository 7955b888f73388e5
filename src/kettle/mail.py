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

    #: The subject line; line breaks in it are folded into spaces.
    subject: str
    #: The plain-text body, which every mail client can show.
    body: str
    #: The recipients' addresses: ``["ann@example.org", "Bob <bob@example.org>"]``.
    to: list[str]
    #: The sender's address (``"News <news@example.org>"``); None uses the backend's
    #: default, the ``mail_from`` setting.
    from_email: str | None = None
    #: An HTML version of the body, sent as an alternative part that mail clients show
    #: instead of ``body`` when they can; None sends plain text only.
    html: str | None = None
    #: Addresses that replies go to (the ``Reply-To`` header), when not the sender.
    reply_to: list[str] = field(default_factory=list)
    #: Extra headers, by name: ``{"List-Unsubscribe": "<https://example.org/unsub>"}``.
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

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        """Send ``messages``; returns how many were sent. A message the backend cannot
        take (no recipient, a bad header) raises ``ValueError``."""
        ...


class ConsoleBackend:
    """Writes each message to a stream (standard output): for development::

    ConsoleBackend(default_from="news@localhost")
    """

    def __init__(self, stream: TextIO | None = None, default_from: str = "webmaster@localhost"):
        self.stream = stream
        self.default_from = default_from

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        """Write each message, as it would be sent, to the stream; returns how many."""
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

    def __init__(
        self, default_from: str = "webmaster@localhost", outbox: list[EmailMessage] | None = None
    ) -> None:
        self.default_from = default_from
        #: A list of its own, or the one given (the testing environment's ``outbox``).
        self.outbox: list[EmailMessage] = [] if outbox is None else outbox

    async def send(self, messages: Sequence[EmailMessage]) -> int:
        """Append each message to ``outbox`` (after the checks SMTP would make); returns
        how many."""
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
        """``send_sync`` in a worker thread, so the event loop keeps serving."""
        return await asyncio.to_thread(self.send_sync, list(messages))


class MailSettings(Settings):
    """``Settings`` with the mail fields; subclass it (or copy the fields) to configure
    mail by ``KETTLE_MAIL_*`` and ``KETTLE_SMTP_*`` variables::

        settings = MailSettings.load(mail_backend="smtp", smtp_host="smtp.example.org")
    """

    #: ``console`` prints messages, ``memory`` keeps them, ``smtp`` sends them; unset,
    #: the testing environment collects them in ``kettle.mail.outbox``, others print them.
    mail_backend: Literal["console", "smtp", "memory"] | None = None
    #: The sender of messages that name none (``KETTLE_MAIL_FROM``):
    #: ``"News <news@example.org>"``.
    mail_from: str = "webmaster@localhost"
    #: The SMTP server's host name (``KETTLE_SMTP_HOST``), for the ``smtp`` backend.
    smtp_host: str = "localhost"
    #: The SMTP server's port (``KETTLE_SMTP_PORT``): 587 with STARTTLS, 465 with
    #: ``smtp_ssl``, 25 for a local relay.
    smtp_port: int = 587
    #: The user name to log in with (``KETTLE_SMTP_USERNAME``); empty skips the login.
    smtp_username: str = ""
    #: The password to log in with (``KETTLE_SMTP_PASSWORD``); set it from the
    #: environment or a secrets store, never in code.
    smtp_password: str = ""
    #: Upgrade the connection to TLS with STARTTLS before logging in (port 587); turn it
    #: off only for a local relay. Not together with ``smtp_ssl``.
    smtp_starttls: bool = True
    #: Connect over TLS from the start (port 465) instead of STARTTLS; set
    #: ``smtp_starttls=False`` with it.
    smtp_ssl: bool = False
    #: How long to wait for the SMTP server to connect or answer, in seconds.
    smtp_timeout: float = 10.0


#: Every message sent in the testing environment through a backend it chose by itself
#: (``mail_backend`` unset); Kettle's pytest plugin empties it before each test::
#:
#:     from kettle import mail
#:     assert mail.outbox[0].subject == "Reset your password"
outbox: list[EmailMessage] = []


def mail_backend_from_settings(settings: Settings) -> MailBackend:
    """The backend the settings name; with none named (or plain ``Settings``, with no mail
    fields), the testing environment collects messages in ``outbox``, others print them
    to the console::

        mail = mail_backend_from_settings(app.settings)
    """

    def get(name: str, default: Any) -> Any:
        return getattr(settings, name, default)

    kind = get("mail_backend", None)
    sender = get("mail_from", "webmaster@localhost")
    if kind is None and settings.env == "testing":
        return MemoryBackend(default_from=sender, outbox=outbox)
    if kind is None:
        kind = "console"
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
    "outbox",
]
