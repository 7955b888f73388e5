"""Typed settings, read from ``KETTLE_*`` environment variables and a ``.env`` file."""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from kettle.exceptions import ConfigurationError

#: The kinds of deployment a ``Settings.env`` names (``KETTLE_ENV=development``):
#: ``"development"``, ``"production"`` or ``"testing"``.
Environment = Literal["development", "production", "testing"]
PREFIX = "KETTLE_"


@dataclass(kw_only=True)
class Settings:
    """Everything Kettle can be configured with; subclass it to add your own typed settings.

    Each field can be set by an environment variable named ``KETTLE_<FIELD>`` or the same
    line in a ``.env`` file (the environment wins). Lists are comma-separated::

        class WeatherSettings(Settings):
            weather_provider: str = "offline"

        settings = WeatherSettings.load()   # KETTLE_WEATHER_PROVIDER=http switches it
        app = App(settings=settings)
    """

    #: ``development`` shows the debug page and generates a secret key; ``production``
    #: requires ``secret_key`` and ``allowed_hosts``; ``testing`` is production-like
    #: but generates a key and allows the test client's host.
    env: Environment = "production"
    #: Show tracebacks in the browser. Defaults to on in development only.
    debug: bool | None = None
    #: Signs sessions, CSRF tokens and reset links; required in production
    #: (``KETTLE_SECRET_KEY``), generated in development and testing. Keep it secret and
    #: stable: a new key signs everyone out.
    secret_key: str = ""
    #: Old secret keys still accepted when verifying signatures, so keys can be rotated.
    secret_key_fallbacks: list[str] = field(default_factory=list)
    #: Host names this app answers to; "*" answers any; ".example.com" matches subdomains.
    allowed_hosts: list[str] = field(default_factory=list)
    #: Proxies (addresses or networks) whose X-Forwarded-For/-Proto headers are believed.
    trusted_proxies: list[str] = field(default_factory=list)

    #: Where kettle.db connects (DATABASE_URL is read too); empty: SQLite next to the app.
    database_url: str = ""
    #: Read replicas of that database (DATABASE_REPLICA_URLS is read too); empty: none.
    database_replica_urls: list[str] = field(default_factory=list)
    #: Seconds a client that wrote reads from the primary afterwards (a signed cookie), so
    #: the page after a POST shows the write while replicas catch up; 0 turns it off.
    db_replica_pin_seconds: int = 5
    #: Where kettle.tasks keeps queued tasks: ``database`` (a table in the app's own
    #: database) or a broker URL such as ``redis://127.0.0.1:6379/0``.
    tasks_url: str = "database"

    #: The largest request body accepted, in bytes; a bigger one is refused with 413.
    max_body_size: int = 16 * 1024 * 1024
    #: The largest total size of a request's headers, in bytes (431 beyond it).
    max_header_size: int = 16 * 1024
    #: The most fields a form may send; more is a 400.
    max_form_fields: int = 1000
    #: The most files a multipart form may upload at once; more is a 400.
    max_form_files: int = 100
    #: The largest value of one (non-file) form field, in bytes; larger is a 400.
    max_form_field_size: int = 1024 * 1024
    #: Uploaded files bigger than this many bytes are spooled to a temporary file.
    upload_spool_size: int = 1024 * 1024
    #: Threads that run ``def`` handlers; the number of blocking handlers that can run at once.
    thread_pool_size: int = 40
    #: Connections each worker's blocking database engine keeps, and so the ``def`` requests
    #: that use the database at once; None: ``thread_pool_size``. The async engine keeps
    #: up to 10 more: workers x (this + 10) must stay below the server's max_connections.
    db_pool_size: int | None = None

    #: Check a CSRF token on every unsafe request that carries cookies (see the CSRF guide).
    csrf_enabled: bool = True
    csrf_trusted_origins: list[str] = field(default_factory=list)

    #: The name of the session cookie.
    session_cookie: str = "session"
    #: How long a session lasts, in seconds (two weeks by default).
    session_max_age: int = 14 * 24 * 3600
    #: Send the session cookie over HTTPS only; defaults to on in production only.
    session_cookie_secure: bool | None = None
    #: The session cookie's ``SameSite``: ``lax`` (default), ``strict`` or ``none``.
    session_cookie_samesite: Literal["lax", "strict", "none"] = "lax"
    #: Where kettle.auth keeps sessions when ``AuthOptions.session_store`` is not given:
    #: ``database``, ``redis`` (at ``KETTLE_SESSION_REDIS_URL``) or ``cookie``.
    session_store: Literal["database", "redis", "cookie"] = "database"

    #: Add the security headers below (and ``X-Content-Type-Options: nosniff``) to every
    #: response.
    security_headers: bool = True
    #: ``X-Frame-Options``: ``DENY`` keeps other sites from framing your pages.
    frame_options: str = "DENY"
    #: ``Referrer-Policy`` of every response.
    referrer_policy: str = "same-origin"
    #: ``Cross-Origin-Opener-Policy`` of every response.
    cross_origin_opener_policy: str = "same-origin"
    #: ``Strict-Transport-Security: max-age`` sent on HTTPS responses; unset means a year
    #: in production and off elsewhere; 0 turns it off.
    hsts_seconds: int | None = None
    #: Add ``includeSubDomains`` to HSTS (every subdomain must then serve HTTPS).
    hsts_include_subdomains: bool = False
    #: Add ``preload`` to HSTS (needs ``hsts_include_subdomains`` and a year or more).
    hsts_preload: bool = False
    #: Send a strict ``Content-Security-Policy`` with every HTML response.
    csp_enabled: bool = True
    #: Send it as ``Content-Security-Policy-Report-Only``: violations are reported, not blocked.
    csp_report_only: bool = False
    #: Where browsers POST violation reports (the ``report-uri`` directive); empty: nowhere.
    csp_report_uri: str = ""
    #: Sources added to ``script-src`` (``'self'`` and the nonce are always there).
    csp_script_src: list[str] = field(default_factory=list)
    #: Sources added to ``style-src`` (``'self'`` and the nonce are always there).
    csp_style_src: list[str] = field(default_factory=list)
    #: Sources added to ``img-src`` (``'self'`` and ``data:`` are always there).
    csp_img_src: list[str] = field(default_factory=list)
    #: Sources added to ``connect-src`` (``'self'`` is always there).
    csp_connect_src: list[str] = field(default_factory=list)

    #: Where Jinja2 keeps compiled templates, so that new workers start warm: ``auto``
    #: (a folder per app under ``$XDG_CACHE_HOME/kettle/templates/``, in production
    #: only), a folder of your choice (used in every environment), or ``off``.
    template_cache: str = "auto"

    #: The languages ``I18n(app)`` serves (``KETTLE_LANGUAGES=en,fr,de``); empty: English.
    languages: list[str] = field(default_factory=list)
    #: The default language of ``I18n(app)``; empty: the first of ``languages``.
    language: str = ""

    #: The zone datetimes are shown in when neither the user nor their browser chose one
    #: (``kettle.timezones``): an IANA name, ``KETTLE_TIME_ZONE=Europe/Paris``.
    time_zone: str = "UTC"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Subclasses are dataclasses too, so their annotated fields become settings.
        super().__init_subclass__(**kwargs)
        dataclass(kw_only=True)(cls)

    @property
    def is_debug(self) -> bool:
        """Whether the debug page is shown: ``debug`` if set, else only in development."""
        return self.env == "development" if self.debug is None else self.debug

    @classmethod
    def load(
        cls,
        *,
        env_file: str | Path | None = ".env",
        environ: typing.Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Self:
        """Build settings from ``overrides``, then the environment, then ``env_file``.

        A value that does not fit its field's type stops with an error naming the variable.
        """
        environ = os.environ if environ is None else environ
        file_values = {}
        if env_file is not None and Path(env_file).is_file():
            from dotenv import dotenv_values

            file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        hints = typing.get_type_hints(cls)
        raw: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for f in dataclasses.fields(cls):
            name = PREFIX + f.name.upper()
            if f.name in overrides:
                raw[f.name] = overrides.pop(f.name)
                sources[f.name] = f"the argument {f.name}="
            elif name in environ or name in file_values:
                text = environ.get(name, file_values.get(name, ""))
                raw[f.name] = _split_if_list(text, hints[f.name])
                sources[f.name] = f"{name}={text!r}"
        if overrides:
            unknown = ", ".join(sorted(overrides))
            raise ConfigurationError(
                f"{cls.__name__} has no setting named {unknown}; "
                f"known settings: {', '.join(f.name for f in dataclasses.fields(cls))}."
            )
        if not raw:
            return cls()  # PERF: nothing to convert; msgspec stays unimported
        import msgspec

        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            key = re.split(r"[^A-Za-z0-9_]", message.rpartition("$.")[2])[0]
            where = sources.get(key, "a setting")
            raise ConfigurationError(f"Invalid setting {where}: {message}.") from None

    def check(self, root: Path | None = None) -> None:
        """Validate the settings for their environment; fills in what development may generate.

        Development without a ``secret_key`` gets one kept for the project ``root`` (see
        ``_development_key``), so restarts and reloads keep sessions and open forms valid;
        testing, or development with no root, gets a new random one::

            settings = Settings.load(env="development")
            settings.check(root=Path("news"))   # the same secret_key at the next start
        """
        for name in ("thread_pool_size", "max_body_size", "max_header_size", "session_max_age"):
            if getattr(self, name) < 1:
                raise ConfigurationError(
                    f"{name} (KETTLE_{name.upper()}) must be at least 1, got {getattr(self, name)}."
                )
        if self.db_pool_size is not None and self.db_pool_size < 1:
            raise ConfigurationError(
                f"db_pool_size (KETTLE_DB_POOL_SIZE) must be at least 1, got {self.db_pool_size}; "
                "leave it unset for one connection per handler thread."
            )
        for name in ("max_form_fields", "max_form_files", "max_form_field_size"):
            if getattr(self, name) < 0:
                raise ConfigurationError(
                    f"{name} (KETTLE_{name.upper()}) cannot be negative, got {getattr(self, name)}."
                )
        if not self.secret_key:
            if self.env == "production":
                raise ConfigurationError(
                    "SECRET_KEY is missing: Kettle will not start in production without one, "
                    "because sessions and CSRF tokens are signed with it. Set KETTLE_SECRET_KEY "
                    "(in the environment or .env) to a long random string, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
                )
            kept = _development_key(root) if self.env == "development" and root else None
            if kept is None:
                import secrets

                kept = secrets.token_urlsafe(50)
            self.secret_key = kept
        if self.env == "production" and not self.allowed_hosts:
            raise ConfigurationError(
                "ALLOWED_HOSTS is empty: in production Kettle answers only the host names you "
                "list. Set KETTLE_ALLOWED_HOSTS, e.g. KETTLE_ALLOWED_HOSTS=example.com,"
                "www.example.com (or '*' to answer any host, not recommended)."
            )
        if not self.allowed_hosts:
            self.allowed_hosts = ["localhost", "127.0.0.1", "[::1]", "testserver"]


def _development_key(root: Path) -> str | None:
    """The development secret key of the project at ``root``: made once, then read from
    ``$XDG_CACHE_HOME/kettle/development-keys/`` (``~/.cache`` by default; one file per
    project folder, readable by its owner only), outside the project so that it is never
    committed. None when that folder cannot be written."""
    import hashlib
    import secrets

    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    path = _cache_home() / "development-keys" / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    except OSError:
        return None
    key = secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # NOTE: O_EXCL: two workers starting together keep the first one's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or None
    except OSError:
        return None
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


def _cache_home() -> Path:
    """Kettle's folder for what it keeps between runs on this machine (development keys,
    compiled templates): ``$XDG_CACHE_HOME/kettle``, ``~/.cache/kettle`` by default."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kettle"


def _split_if_list(text: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (list, tuple, set) or (
        origin in (typing.Union, types.UnionType)
        and any(typing.get_origin(a) in (list, tuple, set) for a in typing.get_args(hint))
    ):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


__all__ = ["Environment", "Settings"]
