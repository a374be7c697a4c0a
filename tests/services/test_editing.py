"""The rota editor's services, called directly (no Streamlit): permissions, saving with optimistic locking
and audit, validation with the import rules, gap impact, free qualified responders, import and export.
Every test runs on SQLite and, when ROTA_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar
import polars as pl
import pytest
from sqlalchemy import Engine

from rota.bundle import read_bundle, read_table
from rota.cli import main
from rota.errors import ConflictError, InputError, PermissionDenied
from rota.model import Rota
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, Actor
from rota.services.calendar import responder_calendar, shift_uid, shifts_calendar
from rota.services.editing import (
    ABSENCE,
    CREATE,
    DELETE,
    SHIFT,
    UPDATE,
    Change,
    EditConflict,
    agencies_for,
    apply_import,
    change_from_stored,
    editor_frames,
    free_only,
    gap_candidates,
    gap_impact,
    preview_import,
    rebase,
    save_changes,
    shift_row,
    validate_changes,
    week_csv,
    week_rota,
    week_workbook,
)
from rota.storage.audit import audit_entries
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ

POLICE = "Vale Police"
NHS = "Vale Hospitals NHS Trust"
WEEK = date(2026, 3, 23)  # Monday; the clocks go forward on Sunday 29 March
BOTH = ("jar", "jar-16-17")

POLICE_COORD = Actor("pc", COORDINATOR, POLICE, "Police coordinator")
POLICE_COORD_2 = Actor("pc2", COORDINATOR, POLICE, "Second police coordinator")
NHS_COORD = Actor("nc", COORDINATOR, NHS, "NHS coordinator")
ADMIN_ACTOR = Actor("root", ADMIN)
MANAGER = Actor("manager", CDOP_MANAGER)
COMMISSIONER_ACTOR = Actor("icb", COMMISSIONER)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def sample() -> Rota:
    """SIOs of Vale Police and one NHS paediatrician around Saturday 28 March 2026 (GMT, so local = UTC).

    The SIOs are arranged for the free-responder checks of a gap on Saturday 02:00-08:00: S2 rests exactly
    11 hours either side, S5 rests 10.5 h before, S6 10 h after, S7 is on duty, S4 on leave, S3 lacks the
    16-17 briefing, S9's briefing lapses the day before, S8 has left.
    """
    people = [
        ("S1", "DI Alpha", POLICE, True, BOTH),
        ("S2", "DS Bravo", POLICE, True, BOTH),
        ("S3", "DC Charlie", POLICE, True, ("jar",)),
        ("S4", "DI Delta", POLICE, True, BOTH),
        ("S5", "DS Echo", POLICE, True, BOTH),
        ("S6", "DI Foxtrot", POLICE, True, BOTH),
        ("S7", "DS Golf", POLICE, True, ("jar",)),
        ("S8", "DI Hotel", POLICE, False, BOTH),
        ("S9", "DS India", POLICE, True, BOTH),
        ("P1", "Dr Juliet", NHS, True, BOTH),
    ]
    responders = pl.DataFrame(
        {
            "responder_id": [p[0] for p in people],
            "name": [p[1] for p in people],
            "role": ["paediatrician" if p[0].startswith("P") else "sio" for p in people],
            "agency": [p[2] for p in people],
            "email": [f"{p[0].lower()}@example.org" for p in people],
            "active": [p[3] for p in people],
        }
    )
    training = pl.DataFrame(
        [
            {
                "responder_id": rid,
                "competency": c,
                "valid_from": date(2020, 1, 1),
                "valid_until": date(2026, 3, 27) if (rid, c) == ("S9", "jar-16-17") else None,
            }
            for rid, *_, comps in people
            for c in comps
        ]
    )
    shifts = [
        ("X1", "S1", utc(3, 27, 20), utc(3, 28, 2), "oncall"),
        ("X2", "S2", utc(3, 28, 2), utc(3, 28, 8), "oncall"),
        ("X3", "S1", utc(3, 28, 8), utc(3, 28, 20), "onsite"),
        ("X4", "S2", utc(3, 27, 10), utc(3, 27, 15), "onsite"),
        ("X5", "S2", utc(3, 28, 19), utc(3, 29, 7), "oncall"),
        ("X6", "S5", utc(3, 27, 10), utc(3, 27, 15, 30), "onsite"),
        ("X7", "S6", utc(3, 28, 18), utc(3, 28, 23), "oncall"),
        ("X8", "S7", utc(3, 28, 6), utc(3, 28, 14), "oncall"),
        ("XP", "P1", utc(3, 28, 0), utc(3, 29, 0), "oncall"),
    ]
    return Rota(
        responders=responders,
        training=training,
        shifts=pl.DataFrame(
            shifts, schema=["shift_id", "responder_id", "start", "end", "kind"], orient="row"
        ),
        absences=pl.DataFrame(
            [("S4", utc(3, 28, 0), utc(3, 28, 4), "annual leave")],
            schema=["responder_id", "start", "end", "reason"],
            orient="row",
        ),
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, sample(), actor="setup")
    try:
        yield eng
    finally:
        eng.dispose()


def stored_shifts(engine: Engine) -> dict[str, tuple[Any, ...]]:
    rows = load_rota(engine).shifts.select("shift_id", "responder_id", "start", "end", "kind").rows()
    return {r[0]: r[1:] for r in rows}


def audit_count(engine: Engine) -> int:
    return audit_entries(engine, limit=None).height


def shift_of(view_shifts: pl.DataFrame, shift_id: str) -> dict[str, Any]:
    return view_shifts.filter(pl.col("shift_id") == shift_id).row(0, named=True)


# ------------------------------------------------------------------------------------------- the week


def test_coordinator_sees_their_own_agency_only(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, date(2026, 3, 26))  # a Thursday
    assert view.week_start == WEEK  # any day picks its Monday
    assert view.start == utc(3, 23) and view.end == datetime(2026, 3, 29, 23, tzinfo=UTC)  # BST from Sunday
    assert set(view.responders.get_column("agency")) == {POLICE}
    assert "XP" not in view.shifts.get_column("shift_id").to_list()
    assert set(view.shifts.get_column("version")) == {1}
    assert view.editable
    assert agencies_for(engine, POLICE_COORD) == [POLICE]
    with pytest.raises(PermissionDenied):
        week_rota(engine, POLICE_COORD, WEEK, agency=NHS)


def test_manager_reads_every_agency_but_changes_nothing(engine: Engine) -> None:
    assert agencies_for(engine, MANAGER) == sorted([NHS, POLICE])
    view = week_rota(engine, MANAGER, WEEK, agency=NHS)
    assert not view.editable and view.shifts.get_column("shift_id").to_list() == ["XP"]
    xp = shift_of(view.shifts, "XP")
    before = audit_count(engine)
    with pytest.raises(PermissionDenied):
        save_changes(engine, MANAGER, [change_from_stored(SHIFT, DELETE, xp)])
    assert "XP" in stored_shifts(engine) and audit_count(engine) == before
    with pytest.raises(PermissionDenied):
        week_rota(engine, COMMISSIONER_ACTOR, WEEK)
    with pytest.raises(PermissionDenied):
        save_changes(engine, COMMISSIONER_ACTOR, [change_from_stored(SHIFT, DELETE, xp)])


def test_police_coordinator_cannot_change_an_nhs_shift(engine: Engine) -> None:
    xp = shift_of(week_rota(engine, ADMIN_ACTOR, WEEK, agency=NHS).shifts, "XP")
    x3 = shift_of(week_rota(engine, POLICE_COORD, WEEK).shifts, "X3")
    before_rows, before_audit = stored_shifts(engine), audit_count(engine)
    attempts = [
        [change_from_stored(SHIFT, UPDATE, xp, {**xp, "end": utc(3, 28, 12)})],
        [change_from_stored(SHIFT, DELETE, xp)],
        [Change(SHIFT, CREATE, after=shift_row("P1", utc(3, 30, 9), utc(3, 30, 17)))],
        # moving an NHS shift to a police responder, or a police shift to the NHS responder
        [change_from_stored(SHIFT, UPDATE, xp, {**xp, "responder_id": "S3"})],
        [change_from_stored(SHIFT, UPDATE, x3, {**x3, "responder_id": "P1"})],
        # one allowed change beside a refused one: nothing at all is written
        [
            change_from_stored(SHIFT, UPDATE, x3, {**x3, "kind": "oncall"}),
            change_from_stored(SHIFT, DELETE, xp),
        ],
    ]
    for changes in attempts:
        with pytest.raises(PermissionDenied):
            save_changes(engine, POLICE_COORD, changes)
    assert stored_shifts(engine) == before_rows
    assert audit_count(engine) == before_audit
    # the NHS coordinator may
    result = save_changes(engine, NHS_COORD, [change_from_stored(SHIFT, DELETE, xp)])
    assert result.deleted == 1 and "XP" not in stored_shifts(engine)


def test_coordinator_adds_changes_and_deletes_through_the_grid_with_audit(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    shifts, absences = editor_frames(view, SERVICE_TZ)
    shifts = shifts.with_columns(  # X3 now ends at 18:00 (local wall time in the grid)
        pl.when(pl.col("shift_id") == "X3")
        .then(datetime(2026, 3, 28, 18))  # noqa: DTZ001 - grid values are naive local wall time
        .otherwise(pl.col("end"))
        .alias("end")
    ).filter(pl.col("shift_id") != "X6")  # X6 deleted
    added = pl.DataFrame(
        {
            "shift_id": [None, None],
            "responder_id": ["S3", None],  # the second added row is still blank: ignored
            "start": [datetime(2026, 3, 30, 9), None],  # noqa: DTZ001
            "end": [datetime(2026, 3, 30, 17), None],  # noqa: DTZ001
            "kind": ["onsite", None],
        },
        schema=shifts.schema,
    )
    shifts = pl.concat([shifts, added])
    absences = pl.concat(
        [
            absences.with_columns(pl.lit("sick").alias("reason")),
            pl.DataFrame(
                {
                    "absence_id": [None],
                    "responder_id": ["S1"],
                    "start": [datetime(2026, 3, 26, 0)],  # noqa: DTZ001
                    "end": [datetime(2026, 3, 27, 0)],  # noqa: DTZ001
                    "reason": ["training"],
                },
                schema=absences.schema,
            ),
        ]
    )
    checked = validate_changes(view, shifts, absences, SERVICE_TZ)
    assert checked.ok, checked.problems
    assert sorted((c.entity, c.action, c.key) for c in checked.changes) == [
        (ABSENCE, CREATE, None),
        (ABSENCE, UPDATE, view.absences.get_column("id")[0]),
        (SHIFT, CREATE, None),
        (SHIFT, DELETE, "X6"),
        (SHIFT, UPDATE, "X3"),
    ]
    result = save_changes(engine, POLICE_COORD, checked.changes)
    assert (result.created, result.updated, result.deleted) == (2, 2, 1)
    stored = stored_shifts(engine)
    assert stored["X3"][2] == utc(3, 28, 18) and "X6" not in stored
    new_id = result.new_keys[shifts.height - 1]  # the grid row of the added shift
    assert stored[str(new_id)] == ("S3", utc(3, 30, 8), utc(3, 30, 16), "onsite")  # BST
    rota = load_rota(engine)
    assert sorted(rota.absences.get_column("reason").to_list()) == ["sick", "training"]
    # versions moved on for the updated rows only
    again = week_rota(engine, POLICE_COORD, WEEK)
    assert shift_of(again.shifts, "X3")["version"] == 2 and shift_of(again.shifts, "X1")["version"] == 1

    log = audit_entries(engine, limit=5)
    assert set(log.get_column("actor")) == {"pc"}
    entries = {(r["entity"], r["action"]): r for r in log.iter_rows(named=True)}
    assert set(entries) == {
        ("shift", "create"),
        ("shift", "update"),
        ("shift", "delete"),
        ("absence", "create"),
        ("absence", "update"),
    }
    upd = entries[("shift", "update")]
    assert upd["entity_id"] == "X3"
    assert json.loads(upd["before"])["end"] == "2026-03-28T20:00:00+00:00"
    assert json.loads(upd["after"])["end"] == "2026-03-28T18:00:00+00:00"
    assert entries[("shift", "delete")]["after"] is None
    assert json.loads(entries[("shift", "delete")]["before"])["shift_id"] == "X6"
    assert (
        entries[("absence", "create")]["entity_id"]
        == "S1/2026-03-26T00:00:00+00:00/2026-03-27T00:00:00+00:00"
    )
    assert json.loads(entries[("absence", "update")]["after"])["reason"] == "sick"


def test_unchanged_grid_has_no_changes(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    shifts, absences = editor_frames(view)
    checked = validate_changes(view, shifts, absences)
    assert checked.ok and checked.changes == ()
    # the grid as pandas (what st.data_editor hands back for pandas input) works the same
    assert validate_changes(view, shifts.to_pandas(), absences.to_pandas()).changes == ()


# ------------------------------------------------------------------------------------------- conflicts


def test_second_save_of_the_same_row_is_a_conflict_and_changes_nothing(engine: Engine) -> None:
    first = week_rota(engine, POLICE_COORD, WEEK)
    second = week_rota(engine, POLICE_COORD_2, WEEK)
    x3a, x3b = shift_of(first.shifts, "X3"), shift_of(second.shifts, "X3")
    save_changes(
        engine, POLICE_COORD, [change_from_stored(SHIFT, UPDATE, x3a, {**x3a, "end": utc(3, 28, 16)})]
    )
    theirs = [
        Change(SHIFT, CREATE, after=shift_row("S3", utc(3, 31, 9), utc(3, 31, 17)), row=12),
        Change(SHIFT, UPDATE, "X3", 1, before=x3b, after={**x3b, "end": utc(3, 28, 22)}, row=3),
    ]
    after_first, audit_after_first = stored_shifts(engine), audit_count(engine)
    with pytest.raises(ConflictError) as caught:
        save_changes(engine, POLICE_COORD_2, theirs)
    assert isinstance(caught.value, EditConflict)
    (conflict,) = caught.value.conflicts
    assert (conflict.key, conflict.row, conflict.yours_version, conflict.current_version) == ("X3", 3, 1, 2)
    assert conflict.yours is not None and conflict.yours["end"] == utc(3, 28, 22)
    assert conflict.current is not None and conflict.current["end"] == utc(3, 28, 16)
    assert stored_shifts(engine) == after_first  # neither the update nor the new shift was written
    assert audit_count(engine) == audit_after_first
    # "keep my version": the same edits on top of the current row
    result = save_changes(engine, POLICE_COORD_2, rebase(theirs, caught.value.conflicts))
    assert (result.created, result.updated) == (1, 1)
    assert stored_shifts(engine)["X3"][2] == utc(3, 28, 22)


def test_keeping_my_version_keeps_their_edits_to_other_fields(engine: Engine) -> None:
    mine = shift_of(week_rota(engine, POLICE_COORD, WEEK).shifts, "X3")
    theirs = shift_of(week_rota(engine, POLICE_COORD_2, WEEK).shifts, "X3")
    save_changes(
        engine, POLICE_COORD_2, [change_from_stored(SHIFT, UPDATE, theirs, {**theirs, "end": utc(3, 28, 17)})]
    )
    wanted = [change_from_stored(SHIFT, UPDATE, mine, {**mine, "kind": "oncall"})]
    with pytest.raises(EditConflict) as caught:
        save_changes(engine, POLICE_COORD, wanted)
    (rebased,) = rebase(wanted, caught.value.conflicts)
    assert rebased.version == 2 and rebased.after is not None
    assert (rebased.after["kind"], rebased.after["end"]) == ("oncall", utc(3, 28, 17))
    save_changes(engine, POLICE_COORD, [rebased])
    assert stored_shifts(engine)["X3"][2:] == (utc(3, 28, 17), "oncall")
    # a row both deleted: nothing left to do
    x4 = shift_of(week_rota(engine, POLICE_COORD, WEEK).shifts, "X4")
    save_changes(engine, POLICE_COORD_2, [change_from_stored(SHIFT, DELETE, x4)])
    with pytest.raises(EditConflict) as caught:
        save_changes(engine, POLICE_COORD, [change_from_stored(SHIFT, DELETE, x4)])
    assert rebase([change_from_stored(SHIFT, DELETE, x4)], caught.value.conflicts) == ()


def test_a_row_deleted_meanwhile_is_a_conflict(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    x4 = shift_of(view.shifts, "X4")
    save_changes(engine, POLICE_COORD_2, [change_from_stored(SHIFT, DELETE, x4)])
    with pytest.raises(EditConflict) as caught:
        save_changes(engine, POLICE_COORD, [change_from_stored(SHIFT, UPDATE, x4, {**x4, "kind": "oncall"})])
    (conflict,) = caught.value.conflicts
    assert conflict.current is None and conflict.current_version is None
    assert "X4" not in stored_shifts(engine)


# ------------------------------------------------------------------------------------------- validation


def grid(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [(None, *r) for r in rows],
        schema={
            "shift_id": pl.String,
            "responder_id": pl.String,
            "start": pl.Datetime("us"),
            "end": pl.Datetime("us"),
            "kind": pl.String,
        },
        orient="row",
    )


def wall(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - grid values are local wall time


def test_bad_rows_are_named_by_row_and_column(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    edited, _ = editor_frames(view)
    bad = grid(
        ("S1", wall(3, 30, 9), wall(3, 30, 9), "oncall"),  # end = start
        ("S1", wall(3, 30, 9), wall(4, 7, 9), "oncall"),  # 8 days
        ("S1", wall(3, 29, 1, 30), wall(3, 29, 9), "oncall"),  # 01:30 does not exist on 29 March
        ("S1", wall(10, 25, 1, 30), wall(10, 25, 9), "oncall"),  # 01:30 happens twice on 25 October
        ("P1", wall(3, 30, 9), wall(3, 30, 17), "oncall"),  # not a police responder
        (None, wall(3, 30, 9), wall(3, 30, 17), "oncall"),  # no responder
    )
    checked = validate_changes(view, pl.concat([edited, bad]))
    n = edited.height
    found = {(p.line, p.column): p.reason for p in checked.problems}
    assert set(found) == {
        (n + 1, "end"),
        (n + 2, "end"),
        (n + 3, "start"),
        (n + 4, "start"),
        (n + 5, "responder_id"),
        (n + 6, "responder_id"),
    }
    assert "not after start" in found[(n + 1, "end")]
    assert "at most 7 days" in found[(n + 2, "end")]
    assert found[(n + 3, "start")].startswith("29/03/2026 01:30 does not exist in Europe/London")
    assert "happens twice" in found[(n + 4, "start")]
    assert "not a responder of Vale Police" in found[(n + 5, "responder_id")]
    assert "blank" in found[(n + 6, "responder_id")]
    assert all(p.file == "Shifts" for p in checked.problems)
    assert not checked.ok


def test_an_untouched_time_in_the_repeated_hour_stays_valid(engine: Engine) -> None:
    # 00:30 UTC on 25 October 2026 is 01:30 BST, the first of two 01:30s
    import_rota(
        engine,
        Rota(
            shifts=pl.DataFrame(
                {
                    "shift_id": ["AMB"],
                    "responder_id": ["S1"],
                    "start": [utc(10, 25, 0, 30)],
                    "end": [utc(10, 25, 9)],
                    "kind": ["oncall"],
                }
            )
        ),
        actor="setup",
        kinds={"shifts"},
    )
    view = week_rota(engine, POLICE_COORD, date(2026, 10, 19))
    shifts, _ = editor_frames(view)
    assert shifts.get_column("start").to_list() == [wall(10, 25, 1, 30)]
    edited = shifts.with_columns(pl.lit(wall(10, 25, 10)).alias("end"))
    checked = validate_changes(view, edited)
    assert checked.ok, checked.problems
    (change,) = checked.changes
    assert change.after is not None and change.after["start"] == utc(10, 25, 0, 30)
    assert change.after["end"] == utc(10, 25, 10)  # 10:00 GMT


def test_two_equal_absences_are_refused(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    _, absences = editor_frames(view)
    copy = absences.with_columns(pl.lit(None, dtype=absences.schema["absence_id"]).alias("absence_id"))
    checked = validate_changes(view, None, pl.concat([absences, copy]))
    assert [(p.file, p.line, p.column) for p in checked.problems] == [("Absences", 2, "start")]


# ------------------------------------------------------------------------------------------- gap impact


def test_deleting_a_shift_opens_a_gap(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    deletion = [change_from_stored(SHIFT, DELETE, shift_of(view.shifts, "X2"))]
    impact = gap_impact(engine, POLICE_COORD, deletion)
    assert impact.sentences == (
        # S7 (not briefed on 16-17s) is on from 06:00
        "opens a gap Sat 02:00-06:00 for SIO 0-15 (28/03/2026)",
        "opens a gap Sat 02:00-08:00 for SIO 16-17 (28/03/2026)",
    )
    assert impact.effects.get_column("minutes_change").to_list() == [240, 360]
    assert load_rota(engine).shifts.filter(pl.col("shift_id") == "X2").height == 1  # nothing saved


def test_shortening_lengthening_and_closing_gaps(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    x2 = shift_of(view.shifts, "X2")
    save_changes(engine, POLICE_COORD, [change_from_stored(SHIFT, DELETE, x2)])
    back = Change(SHIFT, CREATE, after=shift_row("S2", utc(3, 28, 2), utc(3, 28, 8)))
    part = Change(SHIFT, CREATE, after=shift_row("S2", utc(3, 28, 2), utc(3, 28, 5)))
    assert gap_impact(engine, POLICE_COORD, [back]).sentences == (
        "closes the gap Sat 02:00-06:00 for SIO 0-15 (28/03/2026)",
        "closes the gap Sat 02:00-08:00 for SIO 16-17 (28/03/2026)",
    )
    assert gap_impact(engine, POLICE_COORD, [part]).sentences == (
        "shortens the gap Sat 02:00-06:00 for SIO 0-15 to Sat 05:00-06:00 (28/03/2026)",
        "shortens the gap Sat 02:00-08:00 for SIO 16-17 to Sat 05:00-08:00 (28/03/2026)",
    )
    x1 = shift_of(view.shifts, "X1")
    earlier = change_from_stored(SHIFT, UPDATE, x1, {**x1, "end": utc(3, 28, 1)})
    assert gap_impact(engine, POLICE_COORD, [earlier]).sentences == (
        "lengthens the gap Sat 02:00-06:00 for SIO 0-15 to Sat 01:00-06:00 (28/03/2026)",
        "lengthens the gap Sat 02:00-08:00 for SIO 16-17 to Sat 01:00-08:00 (28/03/2026)",
    )


# ------------------------------------------------------------------------------------------- free responders


def test_free_qualified_honours_training_leave_duty_and_eleven_hours_rest(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    save_changes(engine, POLICE_COORD, [change_from_stored(SHIFT, DELETE, shift_of(view.shifts, "X2"))])
    start, end = utc(3, 28, 2), utc(3, 28, 8)
    free = free_only(gap_candidates(engine, POLICE_COORD, "sio-16-17", (start, end)))
    assert free.get_column("responder_id").to_list() == ["S2"]  # 11 h rest exactly, either side
    row = free.row(0, named=True)
    assert (row["rest_before_hours"], row["rest_after_hours"]) == (11, 11)
    assert row["previous_shift_end"] == utc(3, 27, 15) and row["next_shift_start"] == utc(3, 28, 19)

    why = dict(
        gap_candidates(engine, POLICE_COORD, "sio-16-17", (start, end))
        .select("responder_id", "reason")
        .iter_rows()
    )
    assert set(why) == {"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S9"}  # S8 has left, P1 is no SIO
    assert why["S2"] is None
    assert why["S1"].startswith("only 0.0 h rest after the shift ending 28/03/2026 02:00 GMT")
    assert why["S3"].startswith("not trained") and why["S7"].startswith("not trained")
    assert why["S9"].startswith("not trained")  # the briefing lapsed on Friday
    assert why["S4"] == "absent (annual leave) during the gap"
    assert why["S5"].startswith("only 10.5 h rest after")
    assert why["S6"].startswith("only 10.0 h rest before the shift starting 28/03/2026 18:00 GMT")
    # the 0-15 rule needs no 16-17 briefing: S3 and S9 become free; S7 is on duty from 06:00
    free_0_15 = free_only(gap_candidates(engine, POLICE_COORD, "sio", (start, end)))
    assert free_0_15.get_column("responder_id").to_list() == ["S3", "S2", "S9"]  # by name
    why_0_15 = dict(
        gap_candidates(engine, POLICE_COORD, "sio", (start, end)).select("responder_id", "reason").iter_rows()
    )
    assert why_0_15["S7"] == "already on duty during the gap"
    assert free_only(gap_candidates(engine, POLICE_COORD, "sio", (start, end), agency=NHS)).height == 0
    with pytest.raises(InputError):
        free_only(gap_candidates(engine, POLICE_COORD, "no-such-rule", (start, end)))
    with pytest.raises(PermissionDenied):
        free_only(gap_candidates(engine, COMMISSIONER_ACTOR, "sio", (start, end)))


# ------------------------------------------------------------------------------------------- export


def uids(data: bytes) -> list[str]:
    cal = icalendar.Calendar.from_ical(data)
    return [str(e["UID"]) for e in cal.walk("VEVENT")]


def test_icalendar_uids_are_stable_across_exports(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    first = shifts_calendar(view.shifts, view.responders, SERVICE_TZ)
    save_changes(  # a change to the shift keeps its UID and raises its SEQUENCE
        engine,
        POLICE_COORD,
        [
            change_from_stored(
                SHIFT, UPDATE, (x3 := shift_of(view.shifts, "X3")), {**x3, "end": utc(3, 28, 19)}
            )
        ],
    )
    again = week_rota(engine, POLICE_COORD, WEEK)
    second = shifts_calendar(again.shifts, again.responders, SERVICE_TZ)
    assert (
        uids(first)
        == uids(second)
        == [shift_uid(s) for s in again.shifts.sort("start", "shift_id")["shift_id"]]
    )
    assert shift_uid("X3") == "X3@cdop-rota"
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(second).walk("VEVENT")}
    x3 = events["X3@cdop-rota"]
    assert int(x3["SEQUENCE"]) == 1
    assert x3["DTSTART"].params["TZID"] == "Europe/London"
    assert x3.decoded("DTEND") == utc(3, 28, 19)
    assert b"BEGIN:VTIMEZONE" in second and b"TZID:Europe/London" in second
    # one responder's feed, as `rota ics` writes it
    feed = responder_calendar(engine, "S2", utc(3, 1), None)
    assert uids(feed) == ["X4@cdop-rota", "X2@cdop-rota", "X5@cdop-rota"]
    assert uids(responder_calendar(engine, "S2", utc(3, 1), None)) == uids(feed)
    with pytest.raises(InputError):
        responder_calendar(engine, "NOBODY")


def test_rota_ics_command(
    db_url: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ics", "--db", db_url, "--responder", "S2", "--start", "2026-03-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BEGIN:VCALENDAR") and "UID:X5@cdop-rota" in out
    target = tmp_path / "s2.ics"
    assert (
        main(["ics", "--db", db_url, "--responder", "S2", "--start", "01/03/2026 00:00", "-o", str(target)])
        == 0
    )
    assert uids(target.read_bytes()) == ["X4@cdop-rota", "X2@cdop-rota", "X5@cdop-rota"]
    assert main(["ics", "--db", db_url, "--responder", "NOBODY"]) == 2
    assert "unknown responder" in capsys.readouterr().err


def test_week_exports_import_back(engine: Engine, tmp_path: Path) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    csv_path = tmp_path / "shifts.csv"
    csv_path.write_bytes(week_csv(view, SHIFT))
    assert "2026-03-28T02:00:00+00:00" in csv_path.read_text()  # local time with its offset
    back = read_table(csv_path, "shifts")
    assert back.sort("shift_id").equals(view.shifts.drop("version").sort("shift_id"))
    book = tmp_path / "week.xlsx"
    book.write_bytes(week_workbook(view))
    rota = read_bundle(book)
    assert rota.shifts.sort("shift_id").equals(back.sort("shift_id"))
    assert rota.absences.height == 1 and rota.responders.height == view.responders.height


def test_week_csv_neutralises_formula_cells_and_imports_back(engine: Engine, tmp_path: Path) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    hostile = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]
    absences = pl.concat([view.absences] * len(hostile)).with_columns(
        reason=pl.Series(hostile), end=pl.col("end") + pl.duration(days=pl.int_range(pl.len()))
    )
    view = dataclasses.replace(view, absences=absences)
    text = week_csv(view, ABSENCE).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["reason"] for r in rows] == [f"'{v}" for v in hostile]
    path = tmp_path / "absences.csv"
    path.write_text(text, encoding="utf-8")
    assert read_table(path, "absences")["reason"].to_list() == hostile


# ------------------------------------------------------------------------------------------- import


SHIFTS_CSV = """shift_id,responder_id,start,end,kind
,S3,30/03/2026 09:00,30/03/2026 17:00,onsite
X3,S1,2026-03-28 08:00,2026-03-28 21:00,onsite
"""


def test_coordinator_imports_own_shifts_with_preview(engine: Engine) -> None:
    steps: list[tuple[float, str]] = []
    preview = preview_import(engine, POLICE_COORD, "shifts.csv", SHIFTS_CSV.encode())
    assert preview.ok and preview.kinds == ("shifts",)
    assert preview.counts == {"shifts": 2, "shifts updated or unchanged": 1, "shifts new": 1}
    summary = apply_import(engine, POLICE_COORD, preview, progress=lambda f, m: steps.append((f, m)))
    assert (summary["shifts"].created, summary["shifts"].updated) == (1, 1)
    assert steps[-1][0] == 1.0
    assert stored_shifts(engine)["X3"][2] == utc(3, 28, 21)
    assert set(audit_entries(engine, limit=3).get_column("actor")) == {"pc"}


def test_import_errors_and_other_agencies_are_refused(engine: Engine) -> None:
    bad = (
        SHIFTS_CSV
        + "XQ,P1,2026-03-30 09:00,2026-03-30 08:00,oncall\n,S1,2026-03-29 01:30,2026-03-29 08:00,\n"
    )
    preview = preview_import(engine, POLICE_COORD, "shifts week 13.csv", bad.encode())
    assert not preview.ok
    assert [(p.line, p.column) for p in preview.problems] == [(4, "end"), (5, "start")]
    # valid rows, but one for the NHS paediatrician
    other = SHIFTS_CSV + "XQ,P1,2026-03-30 09:00,2026-03-30 17:00,oncall\n"
    preview = preview_import(engine, POLICE_COORD, "shifts.csv", other.encode())
    assert not preview.ok
    assert [p.reason for p in preview.problems] == [f"1 row for P1 of {NHS}; you coordinate {POLICE}"]
    with pytest.raises(InputError):
        apply_import(engine, POLICE_COORD, preview)
    assert preview_import(engine, POLICE_COORD, "notes.txt", b"hello").problems[0].reason.startswith("upload")
    assert not preview_import(engine, POLICE_COORD, "rota.csv", SHIFTS_CSV.encode()).ok  # kind unknown
    assert preview_import(engine, POLICE_COORD, "rota.csv", SHIFTS_CSV.encode(), kind="shifts").ok
    with pytest.raises(PermissionDenied):
        preview_import(engine, MANAGER, "shifts.csv", SHIFTS_CSV.encode())


def zipped(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(f"bundle/{name}", text)
    return buf.getvalue()


def test_zipped_bundle_import(engine: Engine) -> None:
    responders = f"responder_id,name,role,agency\nS10,DC Kilo,sio,{POLICE}\n"
    training = "responder_id,competency,valid_from\nS10,jar,2024-01-01\n"
    shifts = "responder_id,start,end\nS10,2026-03-31 09:00,2026-03-31 17:00\n"
    data = zipped({"responders.csv": responders, "training.csv": training, "shifts.csv": shifts})
    preview = preview_import(engine, POLICE_COORD, "bundle.zip", data)
    assert preview.ok, preview.problems
    apply_import(engine, POLICE_COORD, preview)
    assert "S10" in load_rota(engine).responders.get_column("responder_id").to_list()
    # a coordinator cannot bring rules, nor responders of another agency
    sneaky = zipped(
        {
            "responders.csv": f"responder_id,name,role,agency\nS11,DC Lima,sio,{NHS}\n",
            "rules.toml": '[[rule]]\nid = "x"\nrole = "sio"\n',
        }
    )
    preview = preview_import(engine, POLICE_COORD, "bundle.zip", sneaky)
    assert [p.file for p in preview.problems] == ["rules.toml", "responders"]
    assert preview_import(engine, ADMIN_ACTOR, "bundle.zip", sneaky).ok
