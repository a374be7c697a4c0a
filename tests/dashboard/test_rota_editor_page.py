"""The Rota editor page through AppTest on the demo database: what each role sees, edits seeded into the
grids' edit state (AppTest does not type into cells), saving, conflicts, validation, import and export."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

from rota.demo import AGENCIES
from rota.services.access import COORDINATOR, Actor
from rota.services.editing import (
    ABSENCE,
    CREATE,
    UPDATE,
    Change,
    absence_row,
    change_from_stored,
    save_changes,
    week_rota,
)
from rota.storage.audit import audit_entries
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, day_start
from tests.dashboard.conftest import APP, DEMO_TODAY, AppFactory

PAGE = "views/rota_editor_page.py"
PAGE_FILE = str(Path(APP).parent / PAGE)
POLICE = AGENCIES["sio"]
NHS = AGENCIES["paediatrician"]


def editor(at: AppTest, key: str) -> Dataframe:
    """A grid by its key (data editors carry their key in AppTest)."""
    found = [d for d in at.dataframe if d.key == key]
    assert found, f"no grid {key!r}; grids: {[d.key for d in at.dataframe]}"
    return found[0]


def table(at: AppTest, column: str) -> pd.DataFrame:
    """A read-only table by one of its column names (AppTest does not report a read-only table's key)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a column {column!r}"
    return found[0]


def ids_of(db: Engine, agency: str) -> set[str]:
    responders = load_rota(db, datetime.now().astimezone(), datetime.now().astimezone()).responders
    return set(responders.filter(pl.col("agency") == agency).get_column("responder_id").to_list())


def wall(text: str) -> datetime:
    """A grid time: local wall time typed day first with a 24-hour clock ("05/12/2026 19:00")."""
    return datetime.strptime(text, "%d/%m/%Y %H:%M")  # noqa: DTZ007 - wall time, no zone


def edits(
    edited: dict[int, dict[str, Any]] | None = None,
    added: list[dict[str, Any]] | None = None,
    deleted: list[int] | None = None,
) -> dict[str, Any]:
    """The edit state st.data_editor keeps: what a person's typing in the grid produces."""
    return {"edited_rows": edited or {}, "added_rows": added or [], "deleted_rows": deleted or []}


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def test_coordinator_sees_their_agency_only(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    assert not at.exception
    assert at.title[0].value == "Rota editor"
    shifts = editor(at, "shift_grid")
    assert shifts.editing_mode == "dynamic" and editor(at, "absence_grid").editing_mode == "dynamic"
    police = ids_of(db, POLICE)
    assert len(shifts.value) > 0 and set(shifts.value["responder_id"]) <= police
    # times as typed text, day first with a 24-hour clock (a browser's own picker follows its locale)
    assert shifts.value["start"].str.fullmatch(r"\d\d/\d\d/20\d\d [0-2]\d:[0-5]\d").all()
    assert "editor_agency" not in [s.key for s in at.selectbox]  # a coordinator has one agency
    assert any(f"**Agency:** {POLICE}" in m for m in texts(at.markdown))
    assert at.button(key="editor_save").disabled  # nothing to save yet
    labels = [b.label for b in at.get("download_button")]
    assert {"Shifts (CSV)", "Absences (CSV)", "Week (Excel)", "Calendar (iCalendar)"} <= set(labels)
    # weeks start on Monday; "Next week" moves by seven days
    week = at.session_state["editor_week"]
    assert week.weekday() == 0 and week <= DEMO_TODAY < week + timedelta(days=7)
    at.button(key="editor_next_week").click().run()
    assert at.session_state["editor_week"] == week + timedelta(days=7) and not at.exception


def test_an_edit_shows_its_impact_and_saves_with_audit(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    grid = editor(at, "shift_grid").value
    row = grid.iloc[0]
    new_end = wall(row["end"]) - timedelta(hours=1)
    # typed as the grid shows times: UK order, 24-hour clock
    at.session_state["shift_grid"] = edits(edited={0: {"end": f"{new_end:%d/%m/%Y %H:%M}"}})
    at.run()
    assert not at.exception and not at.error
    assert any("changes a shift for" in m for m in texts(at.markdown))
    assert "Gap impact" in texts(at.header)
    at.button(key="editor_save").click().run()
    assert "Saved: 1 changed." in texts(at.success)
    stored = load_rota(db).shifts.filter(pl.col("shift_id") == row["shift_id"]).row(0, named=True)
    assert stored["end"].astimezone(SERVICE_TZ).replace(tzinfo=None) == new_end
    last = audit_entries(db, limit=1).row(0, named=True)
    assert (last["actor"], last["action"], last["entity"], last["entity_id"]) == (
        "test-coordinator",
        "update",
        "shift",
        row["shift_id"],
    )
    assert at.session_state["shift_grid"]["edited_rows"] == {}  # the grid starts again from the stored rows


def test_bad_rows_are_listed_as_you_type_and_block_saving(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    n = len(editor(at, "shift_grid").value)
    someone = sorted(ids_of(db, POLICE))[0]
    at.session_state["shift_grid"] = edits(
        added=[
            {"responder_id": someone, "start": "2026-03-29T01:30:00", "end": "2026-03-29T08:00:00"},
            {"responder_id": someone, "start": "2026-04-01T09:00:00", "end": "2026-04-01T08:00:00"},
        ]
    )
    at.run()
    assert not at.exception
    assert "2 problems to fix before saving:" in texts(at.error)
    problems = table(at, "Row holds")
    assert problems["Row"].tolist() == [n + 1, n + 2]
    assert problems["Column"].tolist() == ["Start", "End"]
    assert "does not exist in Europe/London" in problems["Problem"][0]
    assert "not after start" in problems["Problem"][1]
    assert at.button(key="editor_save").disabled
    assert any("Fix the problems above" in i for i in texts(at.info))


def test_deleting_the_week_opens_gaps(app_as: AppFactory) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    n = len(editor(at, "shift_grid").value)
    at.session_state["shift_grid"] = edits(deleted=list(range(n)))
    at.run()
    warnings = texts(at.warning)
    # the demo week may already hold a gap for SIO 16-17 (rules in plain words), which deleting every
    # shift then lengthens
    opened = ("Opens a gap", "Lengthens the gap")
    assert any(w.startswith(opened) and "for SIO 16-17" in w for w in warnings), warnings
    assert not at.button(key="editor_save").disabled


def test_a_conflict_shows_both_versions_and_keeps_the_edits(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    grid = editor(at, "shift_grid").value
    row = grid.iloc[0]
    kind = "onsite" if row["kind"] == "oncall" else "oncall"
    at.session_state["shift_grid"] = edits(edited={0: {"kind": kind}})
    at.run()
    # meanwhile the other police coordinator moves the end of the same shift
    other = Actor("other", COORDINATOR, POLICE)
    view = week_rota(db, other, at.session_state["editor_week"], SERVICE_TZ)
    theirs = view.shifts.filter(pl.col("shift_id") == row["shift_id"]).row(0, named=True)
    moved = theirs["end"] - timedelta(hours=2)
    save_changes(db, other, [change_from_stored("shift", UPDATE, theirs, {**theirs, "end": moved})])

    at.button(key="editor_save").click().run()
    assert not at.exception
    assert any(e.startswith("Nothing was saved: 1 row changed") for e in texts(at.error))
    both = table(at, "current version")
    assert len(both) == 1 and "(v2)" in both["current version"][0] and "(v1)" in both["you read"][0]
    stored = load_rota(db).shifts.filter(pl.col("shift_id") == row["shift_id"]).row(0, named=True)
    assert stored["kind"] == row["kind"]  # not overwritten
    assert at.session_state["shift_grid"]["edited_rows"] == {0: {"kind": kind}}  # edits kept
    # keep mine: my kind on top of their end
    at.button(key="editor_keep_mine").click().run()
    assert "Saved: 1 changed." in texts(at.success)
    stored = load_rota(db).shifts.filter(pl.col("shift_id") == row["shift_id"]).row(0, named=True)
    assert (stored["kind"], stored["end"]) == (kind, moved)


def test_cdop_manager_reads_every_agency_without_editing(app_as: AppFactory, db: Engine) -> None:
    at = app_as("cdop_manager", page=PAGE)
    assert not at.exception
    assert any(i.startswith("Read only") for i in texts(at.info))
    assert not at.data_editor  # plain tables, no grids to edit
    assert "editor_save" not in [b.key for b in at.button]
    assert not at.get("file_uploader")
    agency = at.selectbox(key="editor_agency")
    assert set(agency.options) == set(AGENCIES.values())
    agency.set_value(NHS).run()
    shown = table(at, "kind")
    assert len(shown) > 0 and set(shown["responder_id"]) <= ids_of(db, NHS)


def test_admin_picks_an_agency_and_edits_it(app_as: AppFactory, db: Engine) -> None:
    at = app_as("admin", page=PAGE)
    at.selectbox(key="editor_agency").set_value(NHS).run()
    assert not at.exception
    grid = editor(at, "shift_grid")
    assert grid.editing_mode == "dynamic" and set(grid.value["responder_id"]) <= ids_of(db, NHS)


def test_commissioner_is_refused(app_as: AppFactory) -> None:
    at = app_as("commissioner")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)  # the page is not in a commissioner's navigation
    direct = AppTest.from_file(PAGE_FILE, default_timeout=30)
    direct.session_state["user"] = {
        "username": "icb",
        "role": "commissioner",
        "agency": None,
        "display_name": "ICB",
        "last_seen": time.time(),
    }
    direct.run()
    assert texts(direct.error) == ["Your role cannot open Rota editor."]
    assert not direct.dataframe


def test_import_shows_the_problems_then_imports(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    someone = sorted(ids_of(db, POLICE))[0]
    paediatrician = sorted(ids_of(db, NHS))[0]
    day = DEMO_TODAY + timedelta(days=3)
    good = f"{someone},{day:%d/%m/%Y} 09:00,{day:%d/%m/%Y} 17:00,onsite\n"
    bad = f"responder_id,start,end,kind\n{good}{someone},{day:%d/%m/%Y} 09:00,{day:%d/%m/%Y} 08:00,\n"
    at.get("file_uploader")[0].upload("shifts.csv", bad.encode(), "text/csv")
    at.run()
    assert not at.exception
    assert any(e.startswith("1 problem: fix it") for e in texts(at.error))
    problems = table(at, "Problem")
    assert (problems["Line"][0], problems["Column"][0]) == (3, "end")
    assert at.button(key="editor_import").disabled
    # another agency's responder is refused too
    at.get("file_uploader")[0].clear().upload(
        "shifts.csv",
        f"responder_id,start,end\n{paediatrician},{day:%d/%m/%Y} 09:00,{day:%d/%m/%Y} 17:00\n".encode(),
    )
    at.run()
    assert "you coordinate" in table(at, "Problem")["Problem"][0]
    at.get("file_uploader")[0].clear().upload("shifts.csv", f"responder_id,start,end,kind\n{good}".encode())
    at.run()
    assert not at.button(key="editor_import").disabled
    before = load_rota(db).shifts.height
    at.button(key="editor_import").click().run()
    assert not at.exception
    assert any(s.startswith("Imported shifts.csv: shifts: 1 created") for s in texts(at.success))
    assert load_rota(db).shifts.height == before + 1


def week_with_a_free_responder(at: AppTest) -> None:
    """Move on week by week to the first with a gap that a police responder is free to fill (the demo has
    thin weekends within the coming weeks)."""
    for _ in range(8):
        if "editor_fill_who" in [s.key for s in at.selectbox]:
            return
        at.button(key="editor_next_week").click().run()
    raise AssertionError("no gap with a free responder in the coming weeks")


def test_fill_a_gap_adds_a_row_to_the_grid_and_only_save_stores_it(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    week_with_a_free_responder(at)
    gap = at.selectbox(key="editor_gap")
    assert gap.options and all(o.startswith("SIO ") for o in gap.options)  # plain words, not sio-16-17
    free = next(d.value for d in at.dataframe if "Rest before" in d.value.columns)  # the free responders
    assert free["Phone"].notna().all() and free["Phone"].str.startswith("07700 900").all()  # drama range
    who = at.selectbox(key="editor_fill_who")
    assert who.value is None and who.placeholder == "Choose a responder"  # nobody chosen for the user
    assert at.button(key="editor_fill_gap").disabled
    rows = len(editor(at, "shift_grid").value)
    stored = load_rota(db).shifts.height

    filled, chosen = gap.value, who.options[0]
    who.select(chosen).run()
    at.button(key="editor_fill_gap").click().run()
    assert not at.exception
    grid = editor(at, "shift_grid").value
    assert len(grid) == rows + 1  # a new row of the grid, without an id until saved
    new = grid.iloc[-1]
    assert (
        chosen.endswith(f"({new['responder_id']})") and pd.isna(new["shift_id"]) and new["kind"] == "oncall"
    )
    assert any("Nothing is stored until you save" in s for s in texts(at.success))
    assert any("adds a shift for" in m for m in texts(at.markdown))  # the unsaved change, and its impact
    closed = ("Closes the gap", "Shortens the gap", "Eases the gap")
    assert any(s.startswith(closed) and " for SIO " in s for s in texts(at.success)), texts(at.success)
    assert load_rota(db).shifts.height == stored  # nothing stored yet
    assert at.selectbox(key="editor_fill_who").value is None  # adding again means choosing again

    at.button(key="editor_save").click().run()
    assert not at.exception
    assert "Saved: 1 added." in texts(at.success)
    assert load_rota(db).shifts.height == stored + 1
    grid = editor(at, "shift_grid").value
    assert len(grid) == rows + 1 and not grid["shift_id"].isna().any()  # a stored row now, read afresh
    left = [s for s in at.selectbox if s.key == "editor_gap"]
    assert not left or filled not in left[0].options  # the gap filled is no longer offered
    # and the next gap starts with nobody chosen, not with the last gap's choice
    assert all(s.value is None for s in at.selectbox if s.key == "editor_fill_who")


def test_discarding_drops_a_row_added_from_fill_a_gap(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    week_with_a_free_responder(at)
    rows = len(editor(at, "shift_grid").value)
    who = at.selectbox(key="editor_fill_who")
    who.select(who.options[0]).run()
    at.button(key="editor_fill_gap").click().run()
    assert len(editor(at, "shift_grid").value) == rows + 1
    at.button(key="editor_discard").click().run()
    assert len(editor(at, "shift_grid").value) == rows and at.button(key="editor_save").disabled
    # a choice made for one gap is not carried to another
    who = at.selectbox(key="editor_fill_who")
    who.select(who.options[0]).run()
    gaps = at.selectbox(key="editor_gap")
    if len(gaps.options) > 1:
        gaps.select(gaps.options[1]).run()
        assert all(s.value is None for s in at.selectbox if s.key == "editor_fill_who")


def test_gaps_already_over_are_not_offered(app_as: AppFactory) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    at.button(key="editor_prev_week").click().run()  # last week is over: nothing in it is worth filling
    assert not at.exception
    assert "editor_gap" not in [s.key for s in at.selectbox]
    assert any(s.startswith("No gaps left to fill this week") for s in texts(at.success))


def test_a_shift_during_the_responders_own_leave_is_a_warning_that_does_not_stop_saving(
    app_as: AppFactory, db: Engine
) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    monday = at.session_state["editor_week"]
    thursday, friday = monday + timedelta(days=3), monday + timedelta(days=4)
    someone = sorted(ids_of(db, POLICE))[0]
    name = load_rota(db).responders.filter(pl.col("responder_id") == someone).item(0, "name")
    leave = absence_row(
        someone,
        day_start(thursday, SERVICE_TZ),
        day_start(friday + timedelta(days=1), SERVICE_TZ),
        "annual leave",
    )
    save_changes(db, Actor("other", COORDINATOR, POLICE), [Change(ABSENCE, CREATE, after=leave)])
    at.run()  # nothing edited here: the week is read afresh
    at.session_state["shift_grid"] = edits(
        added=[{"responder_id": someone, "start": f"{thursday}T19:00:00", "end": f"{friday}T07:00:00"}]
    )
    at.run()
    assert not at.exception and not at.error
    said = "\n".join(texts(at.warning))
    assert "Check before saving" in said
    assert (
        f"{name}: shift {thursday:%d/%m/%Y} 19:00-07:00 overlaps their annual leave "
        f"{thursday:%d/%m/%Y}-{friday:%d/%m/%Y}"
    ) in said
    before = load_rota(db).shifts.height
    at.button(key="editor_save").click().run()
    assert "Saved: 1 added." in texts(at.success)
    assert load_rota(db).shifts.height == before + 1


def test_a_coordinator_gets_no_warnings_about_another_agencys_responder(
    app_as: AppFactory, db: Engine
) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    monday = at.session_state["editor_week"]
    paediatrician = sorted(ids_of(db, NHS))[0]
    at.session_state["shift_grid"] = edits(
        added=[{"responder_id": paediatrician, "start": f"{monday}T09:00:00", "end": f"{monday}T17:00:00"}]
    )
    at.run()
    assert not at.exception
    assert not [w for w in texts(at.warning) if "Check before saving" in w]  # refused, not shown
    assert at.button(key="editor_save").disabled  # the row itself is a problem to fix


def test_an_unedited_week_shows_changes_stored_meanwhile(app_as: AppFactory, db: Engine) -> None:
    at = app_as(COORDINATOR, POLICE, page=PAGE)
    row = editor(at, "shift_grid").value.iloc[0]
    other = Actor("other", COORDINATOR, POLICE)
    view = week_rota(db, other, at.session_state["editor_week"], SERVICE_TZ)
    theirs = view.shifts.filter(pl.col("shift_id") == row["shift_id"]).row(0, named=True)
    save_changes(
        db,
        other,
        [change_from_stored("shift", UPDATE, theirs, {**theirs, "end": theirs["end"] - timedelta(hours=1)})],
    )
    at.run()
    grid = editor(at, "shift_grid").value
    now = grid[grid["shift_id"] == row["shift_id"]].iloc[0]
    assert wall(now["end"]) == wall(row["end"]) - timedelta(hours=1)
