"""kettle.mail: the console, memory and SMTP backends, and configuration from settings."""

from __future__ import annotations

import asyncio
import email
import io
import socketserver
import threading
from collections.abc import Iterator

import pytest

from kettle import Settings
from kettle.exceptions import ConfigurationError
from kettle.mail import (
    ConsoleBackend,
    EmailMessage,
    MailSettings,
    MemoryBackend,
    SMTPBackend,
    mail_backend_from_settings,
)

HELLO = EmailMessage("Welcome", "Hello Ann!", to=["ann@example.org"], html="<p>Hello Ann!</p>")


def test_a_message_builds_a_standard_email() -> None:
    built = HELLO.build("news@example.org")
    assert (built["From"], built["To"], built["Subject"]) == (
        "news@example.org",
        "ann@example.org",
        "Welcome",
    )
    assert built.is_multipart()
    assert [part.get_content_type() for part in built.iter_parts()] == ["text/plain", "text/html"]
    folded = EmailMessage("Hi\r\nBcc: x@evil.example", "b", to=["a@b.c"]).build("n@e.o")
    assert folded["Subject"] == "Hi Bcc: x@evil.example"  # line breaks are folded away
    assert folded["Bcc"] is None
    with pytest.raises(ValueError, match=r"linefeed|newline|CR|LF"):
        EmailMessage("Hi", "b", to=["a@b.c"], headers={"X-Tag": "a\nBcc: x@evil"}).build("n@e.o")


def test_the_console_backend_prints_messages() -> None:
    stream = io.StringIO()
    assert asyncio.run(ConsoleBackend(stream, "news@localhost").send([HELLO])) == 1
    assert "Subject: Welcome" in stream.getvalue()
    assert "From: news@localhost" in stream.getvalue()


def test_the_memory_backend_keeps_messages() -> None:
    backend = MemoryBackend()
    asyncio.run(backend.send([HELLO, HELLO]))
    assert backend.outbox == [HELLO, HELLO]


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive a message (no TLS, no auth)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: _SMTPServer = self.server  # type: ignore[assignment]
        self.reply("220 test ESMTP")
        while line := self.rfile.readline().decode():
            command = line.strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                server.envelope.append(line.strip())
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                server.messages.append(b"".join(data))
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.envelope: list[str] = []
        self.messages: list[bytes] = []


@pytest.fixture
def smtp_server() -> Iterator[_SMTPServer]:
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_smtp_backend_sends_through_a_server(smtp_server: _SMTPServer) -> None:
    port = smtp_server.server_address[1]
    backend = SMTPBackend("127.0.0.1", port, starttls=False, default_from="news@example.org")
    assert asyncio.run(backend.send([HELLO])) == 1
    assert any("ann@example.org" in line for line in smtp_server.envelope)
    received = email.message_from_bytes(smtp_server.messages[0])
    assert received["Subject"] == "Welcome"
    assert received["From"] == "news@example.org"


def test_the_backend_comes_from_the_settings() -> None:
    plain = Settings.load(env="development", env_file=None)
    assert isinstance(mail_backend_from_settings(plain), ConsoleBackend)
    testing = Settings.load(env="testing", env_file=None)  # kettle.mail.outbox collects
    assert isinstance(mail_backend_from_settings(testing), MemoryBackend)
    settings = MailSettings.load(
        env_file=None,
        environ={"KETTLE_MAIL_BACKEND": "smtp", "KETTLE_SMTP_HOST": "smtp.example.org"},
        smtp_port=465,
        smtp_ssl=True,
        smtp_starttls=False,
    )
    backend = mail_backend_from_settings(settings)
    assert isinstance(backend, SMTPBackend)
    assert (backend.host, backend.port, backend.use_ssl) == ("smtp.example.org", 465, True)
    memory = MailSettings.load(env_file=None, environ={"KETTLE_MAIL_BACKEND": "memory"})
    assert isinstance(mail_backend_from_settings(memory), MemoryBackend)


def test_contradicting_tls_settings_are_refused() -> None:
    settings = MailSettings.load(env_file=None, environ={}, mail_backend="smtp", smtp_ssl=True)
    with pytest.raises(ConfigurationError, match="STARTTLS"):
        mail_backend_from_settings(settings)
