"""The Rota editor's "Plan the gaps" through AppTest on the demo database: a coordinator plans next week
for their own agency, takes some of the proposed shifts into the grid as unsaved rows with their gap
impact, and only Save stores them (audited). A short time limit keeps each solve to a few seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from rota.demo import AGENCIES
from rota.services.access import CDOP_MANAGER, COORDINATOR
from rota.storage.audit import audit_entries
from rota.storage.rota import load_rota
from tests.dashboard.conftest import AppFactory
from tests.dashboard.test_rota_editor_page import editor, edits, texts, wall

NHS = AGENCIES["paediatrician"]
SECONDS = 10  # the solver's time limit here (the page's default is 20); 5 s found no plan under load


def names_of(db: Engine, agency: str) -> set[str]:
    responders = load_rota(db).responders
    return set(responders.filter(pl.col("agency") == agency).get_column("name").to_list())


def planned_next_week(at: AppTest) -> AppTest:
    """Open next week (wholly to come) and plan it, the period left at the editor's week."""
    at.button(key="editor_next_week").click().run()
    monday = at.session_state["editor_week"]
    assert at.session_state["editor_plan_period"] == (monday, monday + timedelta(days=6))
    assert "editor_plan_take" not in [d.key for d in at.dataframe]  # nothing is solved on page load
    at.number_input(key="editor_plan_seconds").set_value(SECONDS).run()
    at.button(key="editor_plan_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    shown = [d.key for d in at.dataframe] + [c.key for c in at.get("plotly_chart")]
    assert "editor_plan_timeline" in shown, texts(at.markdown) + texts(at.info)  # a proposal with fills
    return at


def uk_wall(text: str) -> datetime:
    """A time as the proposal shows it: "Mon 07/12/2026 19:00"."""
    return datetime.strptime(text, "%a %d/%m/%Y %H:%M")  # noqa: DTZ007 - wall time, no zone


def test_a_coordinator_plans_their_own_agency_only(app_as: AppFactory, db: Engine) -> None:
    at = planned_next_week(app_as(COORDINATOR, NHS, page="views/rota_editor_page.py"))
    assert "Plan the gaps" in texts(at.header)
    proposal = editor(at, "editor_plan_take").value
    assert len(proposal) > 0 and set(proposal["name"]) <= names_of(db, NHS)
    assert not proposal["take"].any()  # nothing is taken for the user
    # UK dates and the 24-hour clock; every shift inside the period planned
    monday = at.session_state["editor_week"]
    starts, ends = proposal["from"].map(uk_wall), proposal["to"].map(uk_wall)
    assert (starts.dt.date >= monday).all() and (ends > starts).all()
    assert ((ends - starts).dt.total_seconds() / 3600 - proposal["hours"]).abs().max() < 0.01
    assert proposal["closes"].str.contains("Paediatrician").all()  # rules in plain words, not their ids
    summary = " ".join(texts(at.markdown))
    assert "Expected cases meeting a gap, every rule:" in summary and "Gap time in the period" in summary
    # a rerun shows the same answer without solving again: the answer is kept for these inputs
    kept = at.session_state["editor_plan_answers"]
    at.run()
    assert editor(at, "editor_plan_take").value.equals(proposal)
    assert at.session_state["editor_plan_answers"] == kept


def test_accepting_selected_rows_puts_them_in_the_grid_and_only_save_stores_them(
    app_as: AppFactory, db: Engine
) -> None:
    at = planned_next_week(app_as(COORDINATOR, NHS, page="views/rota_editor_page.py"))
    proposal = editor(at, "editor_plan_take").value
    rows = len(editor(at, "shift_grid").value)
    stored = load_rota(db).shifts.height
    audited = audit_entries(db, limit=1).item(0, "id")
    taken = [0, len(proposal) - 1] if len(proposal) > 1 else [0]
    at.session_state["editor_plan_take"] = edits(edited={i: {"take": True} for i in taken})
    at.run()
    at.button(key="editor_plan_accept_selected").click().run()
    assert not at.exception and not at.error, texts(at.error)

    grid = editor(at, "shift_grid").value
    assert len(grid) == rows + len(taken)  # exactly the rows taken, without an id until saved
    new = grid.iloc[rows:]
    assert new["shift_id"].isna().all() and (new["kind"] == "oncall").all()
    expected = {(uk_wall(proposal["from"][i]), uk_wall(proposal["to"][i])) for i in taken}
    assert {(wall(s), wall(e)) for s, e in zip(new["start"], new["end"], strict=True)} == expected
    assert any(
        "Added to the grid: " in s and "Nothing is stored until you save" in s for s in texts(at.success)
    )
    assert "Gap impact" in texts(at.header)
    assert any(m.count("adds a shift for") == len(taken) for m in texts(at.markdown))  # the unsaved changes
    assert any(
        s.startswith(("Closes the gap", "Shortens the gap", "Eases the gap")) for s in texts(at.success)
    )
    assert load_rota(db).shifts.height == stored  # nothing stored yet
    # the proposal now says those shifts are in the grid, and taking them again adds nothing
    notes = editor(at, "editor_plan_take").value["note"]
    assert [notes[i] for i in taken] == ["In the grid"] * len(taken)

    at.button(key="editor_save").click().run()
    assert not at.exception
    assert f"Saved: {len(taken)} added." in texts(at.success)
    assert load_rota(db).shifts.height == stored + len(taken)
    log = audit_entries(db, limit=20).filter(pl.col("id") > audited)
    created = log.filter((pl.col("entity") == "shift") & (pl.col("action") == "create"))
    assert created.height == len(taken) and set(created.get_column("actor")) == {"test-coordinator"}


def test_the_cdop_manager_reads_the_proposal_without_taking_it(app_as: AppFactory) -> None:
    at = app_as(CDOP_MANAGER, page="views/rota_editor_page.py")
    at.selectbox(key="editor_agency").select(NHS).run()  # the manager plans the agency chosen at the top
    at = planned_next_week(at)
    assert any(f"Plan for {NHS} from " in c for c in texts(at.caption))
    assert "editor_plan_accept_all" not in [b.key for b in at.button]
    proposals = [
        d.value for d in at.dataframe if "Closes gaps in" in d.value.columns or "closes" in d.value.columns
    ]
    assert proposals and "take" not in proposals[0].columns


def test_a_plan_over_two_weeks_is_taken_week_by_week_without_solving_again(app_as: AppFactory) -> None:
    at = app_as(COORDINATOR, NHS, page="views/rota_editor_page.py")
    monday = at.session_state["editor_week"]
    at.session_state["editor_plan_period"] = (monday, monday + timedelta(days=13))
    at.number_input(key="editor_plan_seconds").set_value(SECONDS).run()
    at.button(key="editor_plan_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    proposal = editor(at, "editor_plan_take").value
    next_week = f"Week of {monday + timedelta(days=7):%d/%m/%Y}: open that week to take it"
    here = (proposal["note"] == "").sum()
    assert set(proposal["note"]) <= {"", next_week} and (proposal["note"] == next_week).any()
    if here:  # this week has begun: it may have nothing left to take
        rows = len(editor(at, "shift_grid").value)
        at.button(key="editor_plan_accept_all").click().run()
        assert len(editor(at, "shift_grid").value) == rows + here  # only this week's go into its grid
        at.button(key="editor_discard").click().run()
    assert at.button(key="editor_plan_accept_all").disabled == (here == 0)

    # next week: the period still holds it, so the same answer is shown (not solved again)
    kept = at.session_state["editor_plan_answers"]
    at.button(key="editor_next_week").click().run()
    assert at.session_state["editor_plan_period"] == (monday, monday + timedelta(days=13))
    assert at.session_state["editor_plan_answers"] == kept
    notes = editor(at, "editor_plan_take").value["note"]
    assert (notes == "").sum() == (proposal["note"] == next_week).sum()
