"""One agency's week of the rota as read for editing: the responders, shifts and absences overlapping a
local week (with the versions that saving checks), the grids as local wall time, and the week's exports
(bundle CSV and workbook, which import back unchanged).

Permissions: a coordinator opens only their own agency's week; the CDOP manager and the administrator
open any and the CDOP manager changes nothing (docs/security.md).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

import polars as pl

from rota.bundle import write_workbook
from rota.csvcheck import polars_zone
from rota.engine import gaps
from rota.errors import InputError, PermissionDenied
from rota.model import RESPONDERS_SCHEMA, Rota, conform
from rota.output import to_csv
from rota.services.access import COORDINATOR, Actor, can_edit_agency, require_read_people
from rota.services.editing.changes import ABSENCE, GRIDS, SHIFT, GridSpec
from rota.storage import Engine
from rota.storage.audit import data_version
from rota.storage.people import agency_names, responders_frame
from rota.storage.rota import load_rota
from rota.storage.versioned import versioned_rows
from rota.timeutil import SERVICE_TZ, day_start


def week_monday(d: date) -> date:
    """The Monday of the week holding `d` (weeks start on Monday)."""
    return d - timedelta(days=d.weekday())


def week_span(week_start: date, tz: tzinfo = SERVICE_TZ) -> tuple[datetime, datetime]:
    """The instants of local midnight on the week's Monday and on the Monday after (a clock-change week
    is an hour shorter or longer)."""
    monday = week_monday(week_start)
    return day_start(monday, tz), day_start(monday + timedelta(days=7), tz)


@dataclass(frozen=True)
class WeekView:
    """One agency's responders, and its shifts and absences overlapping one local week, as read (with
    the versions that saving checks). Instants are UTC."""

    agency: str
    week_start: date
    start: datetime
    end: datetime
    responders: pl.DataFrame  # responder_id, name, role, agency, email, active
    shifts: pl.DataFrame  # shift_id, responder_id, start, end, kind, version
    absences: pl.DataFrame  # id, responder_id, start, end, reason, version
    editable: bool
    data_version: int = 0  # the stored data's version when read (see `week_is_stale`)

    def names(self) -> dict[str, str]:
        return dict(self.responders.select("responder_id", "name").iter_rows())


def agencies_for(engine: Engine, actor: Actor) -> list[str]:
    """The agencies whose week the actor may open: a coordinator's own, or every stored agency."""
    require_read_people(actor)
    if actor.role == COORDINATOR:
        return [actor.agency] if actor.agency else []
    return agency_names(engine)


def _agency_to_open(engine: Engine, actor: Actor, agency: str | None) -> str:
    """A coordinator's own agency (any other is refused); else the one asked for, or the first stored."""
    if actor.role == COORDINATOR:
        if agency is not None and agency != actor.agency:
            raise PermissionDenied(
                f"{actor.label} coordinates {actor.agency} and cannot open {agency}'s rota"
            )
        agency = actor.agency
    if agency is not None:
        return agency
    names = agency_names(engine)
    if not names:
        raise InputError("no responders with an agency are stored yet; import a rota first")
    return names[0]


def week_rota(
    engine: Engine, actor: Actor, week_start: date, tz: tzinfo = SERVICE_TZ, agency: str | None = None
) -> WeekView:
    """The agency's week starting on the Monday of `week_start` (local time).

    A coordinator sees their own agency only; the administrator and the CDOP manager pick one (default:
    the first). `editable` says whether the actor may change it (the CDOP manager reads only).
    """
    require_read_people(actor)
    agency = _agency_to_open(engine, actor, agency)
    start, end = week_span(week_start, tz)
    version = data_version(engine)  # read first: a change made while reading makes the view stale
    with engine.connect() as conn:
        people = responders_frame(conn, RESPONDERS_SCHEMA, agency=agency)
        ids = people.get_column("responder_id").to_list()
        rows = {e: versioned_rows(conn, e, responder_ids=ids, start=start, end=end) for e in (SHIFT, ABSENCE)}
    editable = can_edit_agency(actor, agency)
    return WeekView(
        agency, week_monday(week_start), start, end, people, rows[SHIFT], rows[ABSENCE], editable, version
    )


def week_is_stale(engine: Engine, view: WeekView) -> bool:
    """Whether anything was stored since the view was read (every change is audited)."""
    return data_version(engine) != view.data_version


def week_gaps(engine: Engine, actor: Actor, week_start: date, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Every rule's gaps in the local week starting on the Monday of `week_start` (engine columns)."""
    require_read_people(actor)
    start, end = week_span(week_start, tz)
    return gaps(load_rota(engine, start, end), start, end, tz)


def to_wall(frame: pl.DataFrame, columns: Iterable[str], tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Instant columns as naive local wall time (what a person reads on a clock in `tz`)."""
    key = polars_zone(tz)
    exprs = []
    for c in columns:
        if key is not None:
            exprs.append(pl.col(c).dt.convert_time_zone(key).dt.replace_time_zone(None))
        else:
            exprs.append(
                pl.col(c).map_elements(
                    lambda t: t.astimezone(tz).replace(tzinfo=None),
                    return_dtype=pl.Datetime("us"),
                    skip_nulls=True,
                )
            )
    return frame.with_columns(exprs)


def editor_frames(view: WeekView, tz: tzinfo = SERVICE_TZ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The shifts and absences grids: key, responder_id, start and end as local wall time, kind/reason.

    The key (shift_id, absence_id) is blank for a row added in the grid.
    """
    return _grid(view.shifts, GRIDS[SHIFT], tz), _grid(view.absences, GRIDS[ABSENCE], tz)


def _grid(stored: pl.DataFrame, spec: GridSpec, tz: tzinfo) -> pl.DataFrame:
    """The stored rows as the grid shows them: the key under the grid's name, then the record's values."""
    return to_wall(stored, ("start", "end"), tz).select(pl.col(spec.pk).alias(spec.key), *spec.values)


# ------------------------------------------------------------------------------------------------ export


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "agency"


def export_name(view: WeekView, what: str, suffix: str) -> str:
    return f"rota-{_slug(view.agency)}-{view.week_start:%Y-%m-%d}-{what}.{suffix}"


def week_csv(view: WeekView, entity: str = SHIFT, tz: tzinfo = SERVICE_TZ) -> bytes:
    """The week's shifts (or absences) as bundle CSV (shifts.csv / absences.csv): local times with
    their offset, so the file imports back unchanged."""
    kind = "shifts" if entity == SHIFT else "absences"
    frame = conform(kind, view.shifts if entity == SHIFT else view.absences)
    return to_csv(frame, tz).encode("utf-8")


def week_workbook(view: WeekView, tz: tzinfo = SERVICE_TZ) -> bytes:
    """The week as an .xlsx workbook of the bundle's sheets (the agency's responders, the week's shifts
    and absences; times as local text with offset, so it imports back unchanged)."""
    rota = Rota(responders=view.responders, shifts=view.shifts, absences=view.absences)
    with tempfile.TemporaryDirectory(prefix="rota-export-") as tmp:
        path = Path(tmp) / "week.xlsx"
        write_workbook(rota, path, tz)
        return path.read_bytes()
