"""The Rota editor's warnings as you type: the rota problems that are not gaps (`rota conflicts`,
rota/engine/conflicts.py: a shift during the responder's own absence, overlapping shifts, less than 11 hours'
rest between duties, duty with a lapsed competency) that the unsaved changes would leave around the rows
they add or change, in plain words with UK dates. Warnings only: saving is not stopped by them.

Permissions: a coordinator gets warnings about their own agency's responders only; changes naming another
agency's responder are refused, as saving refuses them (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.engine.availability import MIN_REST
from rota.engine.conflicts import CONFLICT_SCHEMA, CONTEXT, conflicts
from rota.errors import PermissionDenied
from rota.services.access import COORDINATOR, Actor, require_read_people
from rota.services.editing.changes import Change, apply_changes
from rota.storage import Engine
from rota.storage.people import responder_agencies
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ
from rota.vocab import ConflictKind

MIDNIGHT = time(0)
WARNING_SCHEMA: dict[str, pl.DataType] = {**CONFLICT_SCHEMA, "name": pl.String(), "warning": pl.String()}


def _check_agencies(engine: Engine, actor: Actor, responder_ids: Sequence[str]) -> None:
    """A coordinator asks only about their own agency's responders (unknown ones are refused too)."""
    if actor.role != COORDINATOR:
        return
    with engine.connect() as conn:
        agencies = responder_agencies(conn, list(responder_ids))
    for rid in responder_ids:
        agency = agencies.get(rid)
        if agency is None or agency != actor.agency:
            raise PermissionDenied(
                f"{actor.label} coordinates {actor.agency} and cannot see responder {rid} "
                f"of {agency or 'no stored agency'}"
            )


def edit_conflicts(
    engine: Engine, actor: Actor, changes: Sequence[Change], tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """The rota problems of the responders whose rows `changes` add or change, once the changes are made,
    that touch those rows (WARNING_SCHEMA: the engine's columns, the responder's name and a sentence).

    Problems of rows the changes delete, or of other responders, are not reported; a problem that was
    already stored and that the new rows touch is (it is still there after saving)."""
    require_read_people(actor)
    named = sorted({r for c in changes for r in c.responders})
    _check_agencies(engine, actor, named)
    rows = [(c.entity, c.after) for c in changes if c.after is not None]
    if not rows:
        return pl.DataFrame(schema=WARNING_SCHEMA)
    lo = min(r["start"] for _, r in rows)
    hi = max(r["end"] for _, r in rows)
    rota = load_rota(engine, lo - CONTEXT, hi + CONTEXT)
    shifts, absences = apply_changes(rota.shifts, rota.absences, changes)
    after = replace(rota, shifts=shifts, absences=absences)
    found = conflicts(after, lo - CONTEXT, hi + CONTEXT, tz)
    touched = [(str(r["responder_id"]), r["start"], r["end"]) for _, r in rows]
    keep = [
        any(rid == who and a <= end and b >= start for who, start, end in touched)
        for rid, a, b in found.select("responder_id", "start", "end").iter_rows()
    ]
    found = found.filter(pl.Series(keep, dtype=pl.Boolean)) if keep else found
    names = dict(after.responders.select("responder_id", "name").iter_rows())
    words = [
        _sentence(row, names.get(row["responder_id"]) or row["responder_id"], shifts, absences, tz)
        for row in found.iter_rows(named=True)
    ]
    return found.with_columns(
        pl.Series("name", [names.get(r) or r for r in found.get_column("responder_id")], dtype=pl.String),
        pl.Series("warning", words, dtype=pl.String),
    ).select(list(WARNING_SCHEMA))


# ---------------------------------------------------------------------------------------------- words


def _local(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz)


def shift_text(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """'05/12/2026 19:00-07:00' (an end within a day needs no date), '05/12/2026 19:00-08/12/2026 07:00'."""
    a, b = _local(start, tz), _local(end, tz)
    if b - a <= timedelta(days=1) and (b.date() == a.date() or b.time() <= a.time()):
        stop = "24:00" if b.date() > a.date() and b.time() == MIDNIGHT else f"{b:%H:%M}"
        return f"{a:%d/%m/%Y %H:%M}-{stop}"
    return f"{a:%d/%m/%Y %H:%M}-{b:%d/%m/%Y %H:%M}"


def days_text(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """An absence by its days: '04/12/2026-06/12/2026' (an end at midnight ends the day before),
    '04/12/2026' for one day, with the times when it starts or ends within a day."""
    a, b = _local(start, tz), _local(end, tz)
    whole = a.time() == MIDNIGHT and b.time() == MIDNIGHT
    if not whole:
        return shift_text(start, end, tz)
    last = (b - timedelta(days=1)).date()
    return f"{a:%d/%m/%Y}" if last <= a.date() else f"{a:%d/%m/%Y}-{last:%d/%m/%Y}"


def _around(frame: pl.DataFrame, rid: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The responder's rows of `frame` that hold all of [start, end]."""
    return [
        r
        for r in frame.filter(pl.col("responder_id") == rid).sort("start").iter_rows(named=True)
        if r["start"] <= start and r["end"] >= end and r["start"] < r["end"]
    ]


def _sentence(
    row: Mapping[str, Any], name: str, shifts: pl.DataFrame, absences: pl.DataFrame, tz: tzinfo
) -> str:
    kind = next(k for k in ConflictKind if k.value == row["kind"])
    rid, start, end = row["responder_id"], row["start"], row["end"]
    mine = _around(shifts, rid, start, end)
    if kind == ConflictKind.SHIFT_DURING_ABSENCE:
        away = _around(absences, rid, start, end)
        shift = shift_text(mine[0]["start"], mine[0]["end"], tz) if mine else shift_text(start, end, tz)
        if away:
            what = (away[0].get("reason") or "").strip() or "absence"
            days = days_text(away[0]["start"], away[0]["end"], tz)
            return f"{name}: shift {shift} overlaps their {what} {days}"
        return f"{name}: shift {shift} overlaps their absence"
    if kind == ConflictKind.OVERLAPPING_SHIFTS:
        spans = " and ".join(shift_text(r["start"], r["end"], tz) for r in mine[:2])
        return f"{name}: shifts {spans or shift_text(start, end, tz)} overlap"
    if kind == ConflictKind.SHORT_REST:
        hours = (end - start) / timedelta(hours=1)
        return (
            f"{name}: only {hours:g} h rest between duties, from {_local(start, tz):%d/%m/%Y %H:%M} "
            f"to {_local(end, tz):%d/%m/%Y %H:%M} (at least {MIN_REST / timedelta(hours=1):g} h)"
        )
    # lapsed competency: the engine's detail names the competency and the day it was last valid
    competency, _, rest = str(row["detail"]).partition(" valid only until ")
    last_day = rest.split(";", 1)[0]
    shift = shift_text(mine[0]["start"], mine[0]["end"], tz) if mine else shift_text(start, end, tz)
    return f"{name}: shift {shift} is after their {competency} lapsed (valid until {last_day})"
