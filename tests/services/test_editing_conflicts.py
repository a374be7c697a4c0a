"""The rota editor's warnings and gap list, called directly (no Streamlit): the rota problems an unsaved edit
leaves (own leave, overlapping shifts, short rest, a lapsed competency) in plain words with UK dates, only for
the agency a coordinator coordinates; the gaps still worth filling (none already over), with rules named in
plain words; times typed in the grids as UK text. Runs on the sample rota of tests/services/test_editing.py
(SQLite, and PostgreSQL when ROTA_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.errors import PermissionDenied
from rota.services.editing import (
    CREATE,
    DELETE,
    SHIFT,
    Change,
    absence_row,
    change_from_stored,
    edit_conflicts,
    editor_frames,
    open_gaps,
    save_changes,
    shift_row,
    validate_changes,
    week_gaps,
    week_rota,
)
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from tests.services.test_editing import (
    ADMIN_ACTOR,
    COMMISSIONER_ACTOR,
    NHS_COORD,
    POLICE_COORD,
    WEEK,
    sample,
    shift_of,
    utc,
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, sample(), actor="setup")
    try:
        yield eng
    finally:
        eng.dispose()


def add(rid: str, start_hour: tuple[int, int, int], end_hour: tuple[int, int, int]) -> Change:
    return Change(SHIFT, CREATE, after=shift_row(rid, utc(*start_hour), utc(*end_hour)), row=1)


def warnings(engine: Engine, *changes: Change) -> list[tuple[str, str]]:
    found = edit_conflicts(engine, POLICE_COORD, changes)
    return list(found.select("kind", "warning").iter_rows())


def test_a_shift_during_the_responders_own_leave_is_a_warning(engine: Engine) -> None:
    # DI Delta (S4) is on annual leave on Saturday 28/03/2026 00:00-04:00 (GMT: local = UTC)
    assert warnings(engine, add("S4", (3, 28, 1), (3, 28, 3))) == [
        (
            "shift_during_absence",
            "DI Delta: shift 28/03/2026 01:00-03:00 overlaps their annual leave 28/03/2026 00:00-04:00",
        )
    ]
    # leave in whole days reads as days, the last one the day before the end at midnight
    leave = Change("absence", CREATE, after=absence_row("S1", utc(3, 24), utc(3, 26), "annual leave"))
    night = add("S1", (3, 24, 19), (3, 25, 7))
    assert warnings(engine, leave, night) == [
        (
            "shift_during_absence",
            "DI Alpha: shift 24/03/2026 19:00-07:00 overlaps their annual leave 24/03/2026-25/03/2026",
        )
    ]
    assert warnings(engine, add("S4", (3, 28, 5), (3, 28, 9))) == []  # after the leave: nothing to say


def test_overlapping_shifts_short_rest_and_a_lapsed_competency(engine: Engine) -> None:
    # DI Alpha (S1) is on call Friday 20:00 to Saturday 02:00
    assert warnings(engine, add("S1", (3, 27, 22), (3, 27, 23))) == [
        (
            "overlapping_shifts",
            "DI Alpha: shifts 27/03/2026 20:00-02:00 and 27/03/2026 22:00-23:00 overlap",
        )
    ]
    # DS Bravo (S2) works 02:00-08:00 and from 19:00 on Saturday: two hours off at 10:00 leaves short rests
    assert warnings(engine, add("S2", (3, 28, 10), (3, 28, 12))) == [
        (
            "short_rest",
            "DS Bravo: only 2 h rest between duties, from 28/03/2026 08:00 to 28/03/2026 10:00 "
            "(at least 11 h)",
        ),
        (
            "short_rest",
            "DS Bravo: only 7 h rest between duties, from 28/03/2026 12:00 to 28/03/2026 19:00 "
            "(at least 11 h)",
        ),
    ]
    # DS India's (S9) 16-17 briefing was valid until Friday 27/03/2026
    assert warnings(engine, add("S9", (3, 28, 9), (3, 28, 17))) == [
        (
            "lapsed_competency",
            "DS India: shift 28/03/2026 09:00-17:00 is after their jar-16-17 lapsed (valid until 27/03/2026)",
        )
    ]


def test_only_the_rows_changed_are_warned_about(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    # DI Alpha already rests only 6 h between X1 and X3 (stored); editing DS Bravo says nothing of it
    assert warnings(engine, add("S2", (3, 24, 9), (3, 24, 17))) == []
    # nor does deleting a row
    assert warnings(engine, change_from_stored(SHIFT, DELETE, shift_of(view.shifts, "X3"))) == []
    # a stored problem the new row is part of is still a problem after saving: it is said
    said = warnings(engine, add("S1", (3, 28, 8), (3, 28, 9)))
    assert sorted(k for k, _ in said) == ["overlapping_shifts", "short_rest"]


def test_a_coordinator_gets_warnings_about_their_own_agency_only(engine: Engine) -> None:
    nhs_shift = add("P1", (3, 28, 1), (3, 28, 3))  # overlaps Dr Juliet's stored day on call
    with pytest.raises(PermissionDenied, match="coordinates Vale Police"):
        edit_conflicts(engine, POLICE_COORD, [nhs_shift])
    with pytest.raises(PermissionDenied):
        edit_conflicts(engine, POLICE_COORD, [add("S4", (3, 28, 1), (3, 28, 3)), nhs_shift])
    with pytest.raises(PermissionDenied):
        edit_conflicts(engine, NHS_COORD, [add("S4", (3, 28, 1), (3, 28, 3))])
    with pytest.raises(PermissionDenied):
        edit_conflicts(engine, COMMISSIONER_ACTOR, [add("S4", (3, 28, 1), (3, 28, 3))])
    # nor write them: saving refuses the other agency's responder, and nothing is stored
    before = load_rota(engine).shifts.height
    with pytest.raises(PermissionDenied):
        save_changes(engine, POLICE_COORD, [nhs_shift])
    assert load_rota(engine).shifts.height == before
    # their own coordinator and the administrator are told
    for actor in (NHS_COORD, ADMIN_ACTOR):
        found = edit_conflicts(engine, actor, [nhs_shift])
        assert found.get_column("kind").to_list() == ["overlapping_shifts"]
        assert found.get_column("name").to_list() == ["Dr Juliet"]


def test_warnings_do_not_stop_saving(engine: Engine) -> None:
    during_leave = add("S4", (3, 28, 1), (3, 28, 3))
    assert warnings(engine, during_leave)
    assert str(save_changes(engine, POLICE_COORD, [during_leave])) == "Saved: 1 added."


def test_gaps_already_over_are_not_offered_and_rules_read_plainly(engine: Engine) -> None:
    every = week_gaps(engine, POLICE_COORD, WEEK)
    assert not every.is_empty()
    # Saturday 28/03/2026 05:30:20 (GMT): gaps that ended are gone; one under way is offered from 05:31
    now = utc(3, 28, 5, 30) + timedelta(seconds=20)
    left = open_gaps(engine, POLICE_COORD, WEEK, now=now)
    assert not left.is_empty() and left.height < every.height
    assert left.select((pl.col("end") > now).all()).item()
    assert left.get_column("start").min() == utc(3, 28, 5, 31)
    ended = every.filter(pl.col("end") <= now).height
    assert ended > 0
    labels = dict(left.select("rule_id", "label").iter_rows())
    assert labels["sio"] == "SIO 0-15" and labels["sio-16-17"] == "SIO 16-17"
    # a week that is over has nothing left to fill
    assert open_gaps(engine, POLICE_COORD, WEEK, now=utc(4, 6)).is_empty()
    with pytest.raises(PermissionDenied):
        open_gaps(engine, COMMISSIONER_ACTOR, WEEK, now=now)


def test_times_typed_as_uk_text_in_the_grid(engine: Engine) -> None:
    """The editor's grids hold times as text typed day first (a browser's own picker follows its locale)."""
    view = week_rota(engine, POLICE_COORD, WEEK)
    shifts, absences = editor_frames(view)
    as_text = [pl.col(c).dt.strftime("%d/%m/%Y %H:%M") for c in ("start", "end")]
    shifts, absences = shifts.with_columns(as_text), absences.with_columns(as_text)
    assert "28/03/2026 02:00" in shifts.get_column("start").to_list()
    assert validate_changes(view, shifts, absences).changes == ()  # as read: nothing changed
    # 05/03 is the fifth of March, never the third of May; the row's other fields stay as they were
    moved = shifts.with_columns(
        pl.when(pl.col("shift_id") == "X2").then(pl.lit("28/03/2026 05:00")).otherwise("end").alias("end")
    )
    checked = validate_changes(view, moved, absences)
    assert [(c.key, c.after["end"]) for c in checked.changes if c.after] == [("X2", utc(3, 28, 5))]
    added = pl.concat(
        [
            shifts,
            pl.DataFrame(
                [(None, "S1", "05/03/2026 19:00", "2026-03-06T07:00", "oncall")],
                schema=shifts.schema,
                orient="row",
            ),
        ]
    )
    new = validate_changes(view, added, absences).changes
    assert [(c.action, c.after["start"], c.after["end"]) for c in new if c.after] == [
        (CREATE, utc(3, 5, 19), utc(3, 6, 7))
    ]
    wrong = shifts.with_columns(pl.lit("3/28/2026 2:00 AM").alias("start"))
    assert not validate_changes(view, wrong, absences).ok  # US order with a 12-hour clock is refused
