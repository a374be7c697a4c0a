"""iCalendar feeds of shifts, for responders' own calendars: one event per shift with a stable UID
(`<shift_id>@cdop-rota`), so that a re-exported or re-fetched feed updates events instead of doubling them;
SEQUENCE follows the row's version. Times carry the service zone's TZID (with its VTIMEZONE) or are UTC.
Stored text goes into the feed on one line, without control characters, whatever the database holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import polars as pl

from rota.errors import InputError
from rota.limits import DATE_RANGE_TEXT, EARLIEST_DATE, ID_MAX, LATEST_DATE, NAME_MAX, printable
from rota.storage import Engine
from rota.storage.people import responders_frame
from rota.storage.versioned import versioned_rows
from rota.timeutil import SERVICE_TZ, utc_now
from rota.vocab import DEFAULT_SHIFT_KIND, ShiftKind

UID_DOMAIN = "cdop-rota"
PRODID = "-//CDOP rota//Joint Agency Response rota//EN"
KIND_LABELS = {k.value: k.label for k in ShiftKind}  # "on call", "on site" (rota.vocab)
_PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "name": pl.String(),
    "role": pl.String(),
}


def shift_uid(shift_id: str) -> str:
    """The event UID of a shift: the same in every export, whatever else changes about the shift."""
    return f"{shift_id}@{UID_DOMAIN}"


def _one_line(value: object, limit: int) -> str:
    # Imports refuse control characters in ids and names (docs/bundle.md, "Limits"), but a database
    # written by an older version, or by hand, may hold them: a line break would end the content line.
    return printable(str(value), limit) if value is not None else ""


def _refuse_unreadable_times(shifts: pl.DataFrame) -> None:
    # Imports and edits refuse dates outside 1900-2100; one written to the database another way (year 0,
    # say) cannot be turned into a calendar time at all, so say which shift it is rather than fail.
    lo = datetime.combine(EARLIEST_DATE - timedelta(days=1), datetime.min.time(), UTC)
    hi = datetime.combine(LATEST_DATE + timedelta(days=2), datetime.min.time(), UTC)
    ok = pl.col("start").is_between(lo, hi) & pl.col("end").is_between(lo, hi)
    bad = shifts.filter(~ok.fill_null(False)).get_column("shift_id").head(5).to_list()
    if bad:
        ids = ", ".join(_one_line(b, ID_MAX) for b in bad)
        raise InputError(
            f"stored shift(s) {ids} hold a start or end outside the accepted dates ({DATE_RANGE_TEXT}); "
            "import each again with the same shift_id and the right times, then make the calendar"
        )


def _event_time(t: datetime, tz: tzinfo) -> datetime:
    # A named zone gives TZID=Europe/London and a VTIMEZONE; anything else is written in UTC.
    return t.astimezone(tz) if isinstance(tz, ZoneInfo) else t.astimezone(UTC)


def shifts_calendar(
    shifts: pl.DataFrame,
    responders: pl.DataFrame,
    tz: tzinfo = SERVICE_TZ,
    *,
    name: str = "JAR rota",
    stamp: datetime | None = None,
) -> bytes:
    """An iCalendar (RFC 5545) file of `shifts` (shift_id, responder_id, start, end, kind and, if present,
    version), with each responder's name and role from `responders`."""
    people = {
        r["responder_id"]: r for r in responders.select("responder_id", "name", "role").iter_rows(named=True)
    }
    # The calendar's own UID is stable too (by name), so a re-imported feed is recognised as the same one.
    name = _one_line(name, NAME_MAX) or "JAR rota"
    slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())[:ID_MAX] or "rota"
    cal = icalendar.Calendar.new(name=name, prodid=PRODID, uid=f"calendar-{slug}@{UID_DOMAIN}")
    now = (stamp or utc_now()).astimezone(UTC).replace(microsecond=0)
    has_version = "version" in shifts.columns
    _refuse_unreadable_times(shifts)
    for row in shifts.sort("start", "shift_id").iter_rows(named=True):
        if row["start"] is None or row["end"] is None:
            continue
        person = people.get(row["responder_id"], {})
        rid = _one_line(row["responder_id"], ID_MAX)
        shift_id = _one_line(row["shift_id"], ID_MAX)
        who = _one_line(person.get("name"), NAME_MAX) or rid
        role = _one_line(person.get("role"), ID_MAX)
        kind = (
            KIND_LABELS.get(row["kind"] or DEFAULT_SHIFT_KIND.value)
            or _one_line(row["kind"], ID_MAX)
            or DEFAULT_SHIFT_KIND.label
        )
        event = icalendar.Event.new(
            uid=shift_uid(shift_id),
            summary=f"JAR {role} {kind}: {who}".replace("  ", " "),
            description=(
                f"Joint Agency Response rota: {who} ({rid}), {role or 'responder'}, {kind}. Shift {shift_id}."
            ),
            start=_event_time(row["start"], tz),
            end=_event_time(row["end"], tz),
            stamp=now,
            sequence=max(0, int(row["version"]) - 1) if has_version and row["version"] is not None else 0,
            categories=[c for c in ("JAR", role, kind) if c],
        )
        cal.add_component(event)
    if isinstance(tz, ZoneInfo) and shifts.height:
        # The zone's rules only for the years the events span, not 1970-2038: a much smaller file.
        first, last = shifts.get_column("start").min(), shifts.get_column("end").max()
        assert isinstance(first, datetime) and isinstance(last, datetime)
        cal.add_missing_timezones(
            first_date=date(first.year - 1, 1, 1), last_date=date(last.year + 1, 12, 31)
        )
    data: bytes = cal.to_ical()
    return data


def responder_calendar(
    engine: Engine,
    responder_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: tzinfo = SERVICE_TZ,
) -> bytes:
    """One responder's shifts overlapping [start, end) (either bound open) as an iCalendar feed."""
    with engine.connect() as conn:
        people = responders_frame(conn, _PEOPLE_SCHEMA, responder_ids=[responder_id])
        if not people.height:
            raise InputError(f"unknown responder {responder_id!r}")
        shifts = versioned_rows(conn, "shift", responder_ids=[responder_id], start=start, end=end)
    return shifts_calendar(shifts, people, tz, name=f"JAR rota: {people.item(0, 'name')}")
