"""Time zones: datetimes stay UTC in the database and are shown in the reader's zone.

The zone of a request (``zone_for(request)``) is the first of:

1. the signed-in user's ``time_zone`` (kettle.auth), when it names an IANA zone;
2. the ``kettle_tz`` cookie set by the browser script (``add_script_route``), which
   reads ``Intl.DateTimeFormat().resolvedOptions().timeZone``;
3. the ``time_zone`` setting (``KETTLE_TIME_ZONE``), ``UTC`` by default.

In templates, ``{{ article.created | localtime }}`` is the aware datetime in that zone
(hand it to a locale formatter), ``{{ article.created | local_datetime }}`` the text
``2026-03-29 03:30 CEST``. In code::

    localtime(stamp, "Europe/Paris")                    # an aware datetime in Paris
    with activated(zone_for(request)):                  # what the admin does per request
        local_datetime(stamp)                           # "2026-03-29 03:30 CEST"
    from_local(dt.datetime(2026, 3, 29, 2, 30), "Europe/Paris")   # NonexistentTime

A local time the clocks skip (spring forward) or repeat (fall back) cannot be read as
one moment: ``from_local`` raises ``NonexistentTime`` or ``AmbiguousTime``, as Django does.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from kettle.responses.base import Response

if TYPE_CHECKING:
    import jinja2

    from kettle.requests import Request
    from kettle.scaffold import Scaffold

#: The cookie the browser script sets to the browser's zone.
COOKIE = "kettle_tz"
#: The script that sets ``COOKIE`` (served by ``add_script_route``).
SCRIPT_FILE = Path(__file__).resolve().parent / "timezone.js"
#: The zone of the database, and the default of everything here.
UTC = ZoneInfo("UTC")
_active: contextvars.ContextVar[ZoneInfo | None] = contextvars.ContextVar(
    "kettle_time_zone", default=None
)


class AmbiguousTime(ValueError):
    """A local time that happens twice (the clocks went back): which one is meant?"""


class NonexistentTime(ValueError):
    """A local time that never happens (the clocks jumped over it)."""


@functools.lru_cache(maxsize=1024)
def get_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None if no such IANA zone exists::

    get_zone("Europe/Paris")   # ZoneInfo("Europe/Paris");  get_zone("../etc") is None
    """
    # NOTE: zoneinfo reads files under the name: refuse anything but a plain zone name.
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    if not all(c.isascii() and (c.isalnum() or c in "/_+-") for c in name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.cache
def zone_names() -> list[str]:
    """Every IANA zone name, sorted (the choices of a zone ``<select>``)::

    "Europe/Paris" in zone_names()   # True
    """
    return sorted(available_timezones())


def default_zone(settings: Any) -> ZoneInfo:
    """The site's zone: ``settings.time_zone`` (``KETTLE_TIME_ZONE``), else UTC."""
    return get_zone(str(getattr(settings, "time_zone", "") or "UTC")) or UTC


def zone_for(request: Request) -> ZoneInfo:
    """The zone to show ``request``'s reader datetimes in (see the module docstring)::

    zone_for(request)   # ZoneInfo("Europe/Paris")
    """
    state = request.state
    found: ZoneInfo | None = getattr(state, "time_zone", None)
    if found is not None:  # PERF: worked out once per request
        return found
    user = getattr(state, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None else ""
    found = get_zone(chosen) if isinstance(chosen, str) and chosen else None
    if found is None:
        found = get_zone(request.cookies.get(COOKIE, ""))
    if found is None:
        found = default_zone(request.app.settings)
    state.time_zone = found
    return found


def current_zone() -> ZoneInfo:
    """The zone ``activated`` for this request or task, else UTC."""
    return _active.get() or UTC


@contextlib.contextmanager
def activated(zone: ZoneInfo | str) -> Iterator[ZoneInfo]:
    """Show datetimes in ``zone`` inside the block (``localtime`` with no zone uses it)::

    with activated("America/New_York"):
        local_datetime(stamp)   # "2026-11-01 01:30 EDT"
    """
    chosen = zone if isinstance(zone, ZoneInfo) else get_zone(zone)
    if chosen is None:
        raise ValueError(f"{zone!r} is not an IANA time zone name, like 'Europe/Paris'.")
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)


def activate(zone: ZoneInfo) -> None:
    """Make ``zone`` the current one for the rest of this request (a request hook)::

    app.before_request(lambda request: activate(zone_for(request)))
    """
    _active.set(zone)


def _zone(zone: ZoneInfo | str | None) -> ZoneInfo:
    if zone is None:
        return current_zone()
    if isinstance(zone, ZoneInfo):
        return zone
    found = get_zone(zone)
    if found is None:
        raise ValueError(f"{zone!r} is not an IANA time zone name, like 'Europe/Paris'.")
    return found


def localtime(value: dt.datetime, zone: ZoneInfo | str | None = None) -> dt.datetime:
    """``value`` in ``zone`` (default: ``current_zone()``); a naive value is taken as UTC,
    as the database stores it::

        localtime(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC), "Europe/Paris").hour   # 14
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone(zone))


def local_datetime(
    value: dt.datetime | None, zone: ZoneInfo | str | None = None, *, seconds: bool = False
) -> str:
    """``value`` in ``zone`` as text with the zone's abbreviation ("" for None)::

    local_datetime(stamp, "Europe/Paris")   # "2026-07-01 14:00 CEST"
    """
    if value is None:
        return ""
    local = localtime(value, zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def from_local(value: dt.datetime, zone: ZoneInfo | str | None = None) -> dt.datetime:
    """The aware datetime that a naive local ``value`` means in ``zone``; an aware value
    is returned as it is. Raises ``NonexistentTime`` in a spring-forward gap and
    ``AmbiguousTime`` in a fall-back overlap::

        from_local(dt.datetime(2026, 7, 1, 14), "Europe/Paris")   # 12:00 UTC
    """
    if value.tzinfo is not None:
        return value
    chosen = _zone(zone)
    early, late = value.replace(tzinfo=chosen, fold=0), value.replace(tzinfo=chosen, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    # NOTE: both folds exist for a repeated hour; for a skipped one, a round trip moves it.
    if early.astimezone(dt.UTC).astimezone(chosen).replace(tzinfo=None) != value:
        raise NonexistentTime(
            f"{value:%Y-%m-%d %H:%M} does not exist in {chosen.key}: the clocks skip it "
            "(daylight saving time begins). Enter a time outside the skipped hour."
        )
    raise AmbiguousTime(
        f"{value:%Y-%m-%d %H:%M} happens twice in {chosen.key}: the clocks go back "
        "(daylight saving time ends). Enter a time outside the repeated hour, or switch "
        "your time zone to UTC to enter this one."
    )


# --- templates --------------------------------------------------------------------------------
def _template_zone(context: jinja2.runtime.Context, zone: ZoneInfo | str | None) -> Any:
    if zone is not None or _active.get() is not None:
        return zone
    request = context.get("request")
    return zone_for(request) if request is not None else None


def localtime_filter(context: jinja2.runtime.Context, value: Any, zone: Any = None) -> Any:
    """The ``localtime`` template filter: ``{{ stamp | localtime }}`` (None stays None)."""
    if not isinstance(value, dt.datetime):
        return value
    return localtime(value, _template_zone(context, zone))


def local_datetime_filter(
    context: jinja2.runtime.Context, value: Any, zone: Any = None, seconds: bool = False
) -> str:
    """The ``local_datetime`` filter: ``{{ stamp | local_datetime }}`` -> "... CEST"."""
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    return local_datetime(value, _template_zone(context, zone), seconds=seconds)


def template_filters() -> dict[str, Any]:
    """The filters Kettle's template environments get (``kettle.templates``)."""
    import jinja2

    return {
        "localtime": jinja2.pass_context(localtime_filter),
        "local_datetime": jinja2.pass_context(local_datetime_filter),
    }


# --- the browser script ---------------------------------------------------------------------
@functools.cache
def _script() -> bytes:
    return SCRIPT_FILE.read_bytes()


def script_response() -> Response:
    """The browser script, cacheable for a day (``add_script_route`` serves it)."""
    headers = {"Cache-Control": "public, max-age=86400"}
    return Response(_script(), media_type="text/javascript", headers=headers)


def add_script_route(
    owner: Scaffold, path: str = "/timezone.js", name: str = "timezone_script"
) -> None:
    """Serve the script that remembers the browser's zone, for pages to load::

    add_script_route(app)
    # <script src="{{ url_for('timezone_script') }}" defer></script>
    """

    owner.get(path, name=name)(timezone_script)


async def timezone_script() -> Response:
    """The handler ``add_script_route`` registers: ``script_response()``."""
    return script_response()


__all__ = [
    "COOKIE",
    "SCRIPT_FILE",
    "UTC",
    "AmbiguousTime",
    "NonexistentTime",
    "activate",
    "activated",
    "add_script_route",
    "current_zone",
    "default_zone",
    "from_local",
    "get_zone",
    "local_datetime",
    "localtime",
    "script_response",
    "template_filters",
    "zone_for",
    "zone_names",
]
