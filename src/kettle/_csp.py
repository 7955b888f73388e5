"""The Content-Security-Policy and Strict-Transport-Security headers, built at start-up.

Every HTML response gets a strict policy: scripts and styles from the site itself, or
inline ones that carry the response's nonce (``{{ csp_nonce() }}`` in a template,
``request.csp_nonce`` in code). The nonce is made only when something asks for it, so a
page with no inline code sends the same precomputed header every time.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, NamedTuple

from kettle.exceptions import ConfigurationError
from kettle.settings import Settings

if TYPE_CHECKING:
    from kettle.responses.base import Response

#: Marks where the nonce goes in the precomputed header (never a valid source itself).
_SLOT = b"\x00"


class Policy(NamedTuple):
    """A Content-Security-Policy ready to send: ``policy.value(nonce)`` is the header.

    ::

        policy = Policy.from_settings(Settings.load(env="testing", csp_img_src=["https:"]))
        policy.value(None)       # b"default-src 'self'; ... img-src 'self' data: https: ..."
        policy.value("abc123")   # script-src 'self' 'nonce-abc123' ...
    """

    #: ``content-security-policy`` or ``content-security-policy-report-only``.
    name: bytes
    #: The header with no nonce (a page with no inline script or style).
    plain: bytes
    #: The header split where the nonce goes.
    parts: tuple[bytes, ...]

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        """The policy the ``csp_*`` settings describe (see docs/security.md)."""
        for name in ("csp_script_src", "csp_style_src", "csp_img_src", "csp_connect_src"):
            for source in getattr(s, name):
                if (
                    not source
                    or any(c in ";,\r\n\x00" for c in source)
                    or "unsafe-inline" in source
                ):
                    raise ConfigurationError(
                        f"{name} (KETTLE_{name.upper()}) has the source {source!r}, which is "
                        "not allowed: give host names, schemes or keywords such as 'self', "
                        "without ';' or ','. 'unsafe-inline' would undo the nonces: give "
                        "the inline code a nonce ({{ csp_nonce() }}) instead."
                    )

        def sources(*base: str) -> str:
            return " ".join(dict.fromkeys(base))

        nonce = "'nonce-\x00'"
        frame = {"DENY": "'none'", "SAMEORIGIN": "'self'"}.get(s.frame_options.upper())
        script = sources("'self'", nonce, *s.csp_script_src)
        style = sources("'self'", nonce, *s.csp_style_src)
        img = sources("'self'", "data:", *s.csp_img_src)
        connect = sources("'self'", *s.csp_connect_src)
        directives = [
            "default-src 'self'",
            f"script-src {script}",
            f"style-src {style}",
            f"img-src {img}",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
        ]
        if frame is not None:
            directives.append(f"frame-ancestors {frame}")
        if s.csp_report_uri:
            directives.append(f"report-uri {s.csp_report_uri}")
        template = "; ".join(directives).encode()
        header = b"content-security-policy"
        if s.csp_report_only:
            header += b"-report-only"
        plain = template.replace(b" 'nonce-\x00'", b"")
        return cls(header, plain, tuple(template.split(_SLOT)))

    def value(self, nonce: str | None) -> bytes:
        """The header's value for a response whose nonce is ``nonce`` (None: no nonce)."""
        if nonce is None:
            return self.plain
        return nonce.encode().join(self.parts)


def new_nonce() -> str:
    """A fresh nonce for one response: 128 random bits, URL-safe (``"k3T0...Q"``)."""
    return secrets.token_urlsafe(16)


def hsts_value(s: Settings) -> bytes | None:
    """The ``Strict-Transport-Security`` value the ``hsts_*`` settings ask for, or None.

    ``hsts_seconds`` left unset means a year in production and off elsewhere::

        hsts_value(Settings.load(env="production", hsts_include_subdomains=True))
        # b"max-age=31536000; includeSubDomains"
    """
    seconds = s.hsts_seconds
    if seconds is None:
        seconds = 365 * 24 * 3600 if s.env == "production" else 0
    if seconds < 0:
        raise ConfigurationError(
            f"hsts_seconds (KETTLE_HSTS_SECONDS) cannot be negative, got {seconds}; "
            "0 turns Strict-Transport-Security off."
        )
    if not seconds:
        return None
    if s.hsts_preload and (seconds < 365 * 24 * 3600 or not s.hsts_include_subdomains):
        raise ConfigurationError(
            "hsts_preload (KETTLE_HSTS_PRELOAD) needs hsts_include_subdomains and an "
            f"hsts_seconds of at least 31536000 (a year), got {seconds}: browsers' preload "
            "lists refuse anything less."
        )
    value = f"max-age={seconds}"
    if s.hsts_include_subdomains:
        value += "; includeSubDomains"
    if s.hsts_preload:
        value += "; preload"
    return value.encode()


def add_headers(
    response: Response, https: bool, nonce: str | None, hsts: bytes | None, csp: Policy | None
) -> None:
    """Add HSTS (on HTTPS only) and the policy (to HTML without a policy of its own).

    ::

        add_headers(response, request.scheme == "https", nonce, config.hsts, config.csp)
    """
    if hsts is not None and https:
        response.raw_headers.append((b"strict-transport-security", hsts))
    if csp is None:
        return
    media = response.media_type or ""
    # PERF: one pass over a handful of headers; JSON and files stop at the content type.
    for name, value in response.raw_headers:
        if name == b"content-type":
            media = value.decode("latin-1")
        elif name.startswith(b"content-security-policy"):
            return  # the handler chose its own (OpenAPI's /docs does)
    if media.startswith("text/html"):
        response.raw_headers.append((csp.name, csp.value(nonce)))


__all__ = ["Policy", "add_headers", "hsts_value", "new_nonce"]
