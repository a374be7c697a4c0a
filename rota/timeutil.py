"""Parsing local times and dates, the clock-change policy and local-day arithmetic: all in one place.

Instants are UTC-aware datetimes inside the product; local wall time (Europe/London by default) exists
only at the edges: parsing input and formatting output.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rota.limits import out_of_range_reason, year_in_range

DEFAULT_TZ_NAME = "Europe/London"
SERVICE_TZ = ZoneInfo(DEFAULT_TZ_NAME)

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?P<off>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_UK = re.compile(r"^(?P<d>\d{2})/(?P<m>\d{2})/(?P<y>\d{4}) (?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?$")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})$")
_UK_DATE = re.compile(r"^(?P<d>\d{2})/(?P<m>\d{2})/(?P<y>\d{4})$")

INSTANT_FORMS = "YYYY-MM-DDTHH:MM[:SS][+HH:MM], YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM"
DATE_FORMS = "YYYY-MM-DD or DD/MM/YYYY"


class TimeParseError(ValueError):
    """A time or date that cannot be read; the message says why, without naming a file."""


def zone(name: str | None = None) -> ZoneInfo:
    """The one way to name a time zone: by IANA name, or the service default (Europe/London) without one
    or with a blank one. Every module asks here rather than building its own ZoneInfo."""
    try:
        return ZoneInfo(name or DEFAULT_TZ_NAME)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError(f"unknown time zone {name!r}") from exc


def zone_name(tz: tzinfo) -> str:
    """The IANA name of a zone (what polars needs to convert instants to local time, and what pages pass
    between reruns); UTC for the UTC singleton."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    if tz is UTC or str(tz) == "UTC":
        return "UTC"
    raise ValueError(f"time zone {tz!r} has no IANA name; use zoneinfo.ZoneInfo")


# ---------------------------------------------------------------------------------------------- bank holidays


@functools.lru_cache(maxsize=64)
def _bank_holidays_of(year: int) -> tuple[tuple[date, str], ...]:
    import holidays  # only the calendar functions need it: kept out of every command's start-up

    table = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return tuple(
        sorted((d, str(name).replace("(observed)", "(substitute day)")) for d, name in table.items())
    )


def bank_holidays(first: date, last: date) -> dict[date, str]:
    """England bank holidays from `first` to `last` inclusive, day -> name, in date order: the one source
    of bank holidays (the `holidays` package, GB subdivision ENG; docs/methods.md "Completion"). A holiday
    falling on a weekend is listed too, beside its weekday substitute named "(substitute day)"."""
    return {
        d: name
        for year in range(first.year, last.year + 1)
        for d, name in _bank_holidays_of(year)
        if first <= d <= last
    }


@functools.lru_cache(maxsize=64)
def _bank_holiday_days(year: int) -> frozenset[date]:
    return frozenset(d for d, _ in _bank_holidays_of(year))


def is_bank_holiday(d: date) -> bool:
    """Whether `d` is an England bank holiday (or the substitute day of one)."""
    return d in _bank_holiday_days(d.year)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not an England bank holiday."""
    return d.weekday() < 5 and not is_bank_holiday(d)


def parse_offset(text: str) -> timedelta:
    if text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        raise TimeParseError(f"impossible UTC offset {text!r}")
    return sign * timedelta(hours=hours, minutes=minutes)


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """Attach the zone to a naive wall time, refusing a time that does not exist or that happens twice."""
    early = wall.replace(tzinfo=tz, fold=0)
    late = wall.replace(tzinfo=tz, fold=1)
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise TimeParseError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks go forward); give a UTC offset"
        )
    if early.utcoffset() != late.utcoffset():
        raise TimeParseError(
            f"{wall:%Y-%m-%d %H:%M} happens twice in {tz} (the clocks go back); give a UTC offset, "
            f"for example {early.isoformat(timespec='minutes')} or {late.isoformat(timespec='minutes')}"
        )
    return early.astimezone(UTC)


def wall_to_instant_forward(wall: datetime, tz: tzinfo) -> datetime:
    """The earliest instant whose local wall time is at or after `wall` (windows and day starts).

    An ambiguous wall time gives its first occurrence; one in a spring-forward gap gives the moment the
    clocks jump.
    """
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == wall:
        return early
    # In a gap: fold=1 lands before the jump, fold=0 after it. Find the jump to the second.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = early
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def parse_instant(text: str, tz: tzinfo = SERVICE_TZ) -> datetime:
    """Read one of the accepted forms; without an offset the value is local wall time in `tz`."""
    raw = text.strip()
    m = _ISO.match(raw) or _UK.match(raw)
    if m is None:
        raise TimeParseError(f"cannot read {raw!r} as a date and time; use {INSTANT_FORMS}")
    g = m.groupdict()
    if not year_in_range(int(g["y"])):
        raise TimeParseError(out_of_range_reason(raw))
    try:
        wall = datetime(  # noqa: DTZ001 - a naive wall time, given its zone by localize() below
            int(g["y"]), int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g["S"] or 0)
        )
    except ValueError as exc:
        raise TimeParseError(f"{raw!r} is not a real date and time ({exc})") from exc
    off = g.get("off")
    if off:
        return (wall - parse_offset(off)).replace(tzinfo=UTC)
    return localize(wall, tz)


def parse_date(text: str) -> date:
    raw = text.strip()
    m = _ISO_DATE.match(raw) or _UK_DATE.match(raw)
    if m is None:
        raise TimeParseError(f"cannot read {raw!r} as a date; use {DATE_FORMS}")
    if not year_in_range(int(m["y"])):
        raise TimeParseError(out_of_range_reason(raw))
    try:
        return date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError as exc:
        raise TimeParseError(f"{raw!r} is not a real date ({exc})") from exc


def parse_bound(text: str, tz: tzinfo = SERVICE_TZ) -> datetime:
    """A range bound on the command line: any instant form, or a bare date meaning local midnight."""
    raw = text.strip()
    if _ISO_DATE.match(raw) or _UK_DATE.match(raw):
        return day_start(parse_date(raw), tz)
    return parse_instant(raw, tz)


def day_start(d: date, tz: tzinfo = SERVICE_TZ) -> datetime:
    """The instant local day `d` begins (00:00 local, or the first instant after it in a gap)."""
    return wall_to_instant_forward(datetime(d.year, d.month, d.day), tz)  # noqa: DTZ001 - wall time


def day_end(d: date, tz: tzinfo = SERVICE_TZ) -> datetime:
    """The instant just after local day `d` ends: the start of the next day (exclusive)."""
    return day_start(d + timedelta(days=1), tz)


def to_local(t: datetime, tz: tzinfo = SERVICE_TZ) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime: the product works with aware instants only")
    return t.astimezone(tz)


def iso_local(t: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """ISO 8601 local time with its offset, to the second: 2026-10-25T01:30:00+00:00."""
    return to_local(t, tz).isoformat(timespec="seconds")


def uk_local(t: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """For people: 25/10/2026 01:30 GMT (UK date order, 24-hour clock, zone abbreviation)."""
    local = to_local(t, tz)
    return f"{local:%d/%m/%Y %H:%M} {local.tzname()}"


def utc_now() -> datetime:
    return datetime.now(UTC)
