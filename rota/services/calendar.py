"""iCalendar feeds of shifts, for responders' own calendars: one event per shift with a stable UID
(`<shift_id>@cdop-rota`), so that a re-exported or re-fetched feed updates events instead of doubling them;
SEQUENCE follows the row's version. Times carry the service zone's TZID (with its VTIMEZONE) or are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import polars as pl
from sqlalchemy import Engine, select

from rota.errors import InputError
from rota.storage.models import RESPONDER
from rota.storage.repository import versioned_rows
from rota.timeutil import SERVICE_TZ, utc_now

UID_DOMAIN = "cdop-rota"
PRODID = "-//CDOP rota//Joint Agency Response rota//EN"
KIND_LABELS = {"oncall": "on call", "onsite": "on site"}


def shift_uid(shift_id: str) -> str:
    """The event UID of a shift: the same in every export, whatever else changes about the shift."""
    return f"{shift_id}@{UID_DOMAIN}"


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
    slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split()) or "rota"
    cal = icalendar.Calendar.new(name=name, prodid=PRODID, uid=f"calendar-{slug}@{UID_DOMAIN}")
    now = (stamp or utc_now()).astimezone(UTC).replace(microsecond=0)
    has_version = "version" in shifts.columns
    for row in shifts.sort("start", "shift_id").iter_rows(named=True):
        person = people.get(row["responder_id"], {})
        who = person.get("name") or row["responder_id"]
        role = person.get("role") or ""
        kind = KIND_LABELS.get(row["kind"] or "oncall", row["kind"] or "on call")
        event = icalendar.Event.new(
            uid=shift_uid(row["shift_id"]),
            summary=f"JAR {role} {kind}: {who}".replace("  ", " "),
            description=(
                f"Joint Agency Response rota: {who} ({row['responder_id']}), {role or 'responder'}, {kind}. "
                f"Shift {row['shift_id']}."
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
        rows = conn.execute(
            select(RESPONDER.c.responder_id, RESPONDER.c.name, RESPONDER.c.role).where(
                RESPONDER.c.responder_id == responder_id
            )
        ).all()
        if not rows:
            raise InputError(f"unknown responder {responder_id!r}")
        shifts = versioned_rows(conn, "shift", responder_ids=[responder_id], start=start, end=end)
    people = pl.DataFrame(
        rows, schema={"responder_id": pl.String, "name": pl.String, "role": pl.String}, orient="row"
    )
    return shifts_calendar(shifts, people, tz, name=f"JAR rota: {rows[0].name}")
