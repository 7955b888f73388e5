"""Settings turned into the ready-to-use values the request path reads (built at start-up)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from kettle._csp import Policy, hsts_value
from kettle._types import RawHeaders
from kettle.exceptions import ConfigurationError
from kettle.settings import Settings

_HOST = re.compile(rb"^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.\-_]+)(?::[0-9]{1,5})?$")


class FormLimits(NamedTuple):
    """How much of a form Kettle accepts before answering 413.

    Built from the ``max_form_*`` and ``upload_spool_size`` settings; pass one to
    ``parse_form`` directly to parse with other limits::

        form = await parse_form(request, FormLimits(max_files=1))
    """

    #: Non-file fields, url-encoded and multipart alike (``max_form_fields``).
    max_fields: int = 1000
    #: Uploaded files in one multipart body (``max_form_files``).
    max_files: int = 100
    #: Bytes of one non-file field value, after decoding (``max_form_field_size``).
    max_field_size: int = 1024 * 1024
    #: Bytes an upload may keep in memory before it moves to a temporary file.
    spool_size: int = 1024 * 1024


class HostMatcher(NamedTuple):
    """Decides whether a ``Host`` header names this site."""

    exact: frozenset[bytes]
    suffixes: tuple[bytes, ...]
    any: bool
    #: Answers already given, by raw Host value (bounded; see allows()).
    seen: dict[bytes, bool]

    @classmethod
    def from_settings(cls, hosts: list[str]) -> HostMatcher:
        exact = frozenset(h.lower().encode() for h in hosts if not h.startswith(".") and h != "*")
        suffixes = tuple(h.lower().encode() for h in hosts if h.startswith("."))
        return cls(exact, suffixes, "*" in hosts, {})

    def allows(self, host: bytes | None) -> bool:
        """Whether ``host`` (the raw header) names this site; answers are remembered."""
        if host is None:
            return self.any
        # PERF: clients send the same few Host values; a bounded memo skips the parsing.
        known = self.seen.get(host)
        if known is None:
            known = self._check(host)
            if len(self.seen) >= 256:
                self.seen.clear()
            self.seen[host] = known
        return known

    def _check(self, host: bytes) -> bool:
        if not _HOST.match(host):
            return False
        if self.any:
            return True
        name = host.lower()
        if name.startswith(b"["):
            name = name[: name.index(b"]") + 1]
        elif b":" in name:
            name = name.rpartition(b":")[0]
        name = name.rstrip(b".")
        return name in self.exact or any(name.endswith(s) or name == s[1:] for s in self.suffixes)


class AppConfig(NamedTuple):
    """Per-process values derived from ``Settings`` once, so requests do no parsing."""

    max_body_size: int
    max_header_size: int
    hosts: HostMatcher
    trusted_proxies: tuple[Any, ...]
    form_limits: FormLimits
    security_headers: RawHeaders
    security_header_names: frozenset[bytes]
    #: ``Strict-Transport-Security``'s value, sent on HTTPS responses; None: not sent.
    hsts: bytes | None
    #: The Content-Security-Policy of HTML responses; None: not sent.
    csp: Policy | None
    csrf_enabled: bool
    csrf_trusted_origins: frozenset[str]
    session_cookie: str
    session_cookie_bytes: bytes
    session_max_age: int
    session_secure: bool
    session_samesite: Any
    debug: bool

    @classmethod
    def from_settings(cls, s: Settings) -> AppConfig:
        import ipaddress

        try:
            proxies = tuple(ipaddress.ip_network(p, strict=False) for p in s.trusted_proxies)
        except ValueError as exc:
            raise ConfigurationError(
                f"KETTLE_TRUSTED_PROXIES has an entry that is not an address or network: {exc}."
            ) from None
        headers: RawHeaders = []
        if s.security_headers:
            headers = [
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", s.frame_options.encode()),
                (b"referrer-policy", s.referrer_policy.encode()),
                (b"cross-origin-opener-policy", s.cross_origin_opener_policy.encode()),
            ]
        secure = s.session_cookie_secure
        return cls(
            max_body_size=s.max_body_size,
            max_header_size=s.max_header_size,
            hosts=HostMatcher.from_settings(s.allowed_hosts),
            trusted_proxies=proxies,
            form_limits=FormLimits(
                max_fields=s.max_form_fields,
                max_files=s.max_form_files,
                max_field_size=s.max_form_field_size,
                spool_size=s.upload_spool_size,
            ),
            security_headers=headers,
            security_header_names=frozenset(k for k, _ in headers),
            hsts=hsts_value(s) if s.security_headers else None,
            csp=Policy.from_settings(s) if s.security_headers and s.csp_enabled else None,
            csrf_enabled=s.csrf_enabled,
            csrf_trusted_origins=frozenset(o.lower().rstrip("/") for o in s.csrf_trusted_origins),
            session_cookie=s.session_cookie,
            session_cookie_bytes=s.session_cookie.encode(),
            session_max_age=s.session_max_age,
            session_secure=s.env == "production" if secure is None else secure,
            session_samesite=s.session_cookie_samesite,
            debug=s.is_debug,
        )
