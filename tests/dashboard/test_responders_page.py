"""Responders & training through AppTest on the demo data, for every role."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from rota.storage.audit import audit_entries
from rota.storage.people import responder_rows
from tests.dashboard.apptest_helpers import button, clean
from tests.dashboard.conftest import APP, DEMO_TODAY, AppFactory, signed_in

PAGE = "views/responders_page.py"
PAGE_FILE = Path(__file__).resolve().parents[2] / "dashboard" / PAGE
TITLE = "Responders & training"
POLICE = "Vale Police"


def open_tab(at: AppTest, name: str) -> AppTest:
    at.session_state["responders_tab"] = name
    return at.run()


@pytest.mark.parametrize(
    ("role", "agency", "tabs"),
    [
        ("admin", None, ["Training expiry", "Responders", "Edit"]),
        ("cdop_manager", None, ["Training expiry", "Responders"]),
        ("coordinator", POLICE, ["Training expiry", "Responders", "Edit"]),
    ],
)
def test_the_page_opens_for_every_role_that_may_see_it(
    app_as: AppFactory, role: str, agency: str | None, tabs: list[str]
) -> None:
    at = app_as(role, agency, page=PAGE)
    clean(at)
    assert [t.value for t in at.title] == [TITLE]
    assert [t.label for t in at.tabs] == tabs
    # the demo has lapses within 90 days, one of which removes cover
    assert any(w.value.startswith("If ") and "loses" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {
        "Lapsing within 30 days",
        "Lapsing 31-60 days",
        "Lapsing 61-90 days",
        "Hours of cover at risk",
    }
    assert sum(int(metrics[k]) for k in list(metrics)[:3]) >= 3
    assert at.get("plotly_chart"), "the expiry timeline"
    assert at.dataframe, "the table beside the timeline"
    labels = [b.label for b in at.get("download_button")]
    assert "Download CSV" in labels


@pytest.mark.parametrize(("role", "agency"), [("commissioner", None)])
def test_commissioners_do_not_get_the_page(app_as: AppFactory, role: str, agency: str | None) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as(role, agency, page=PAGE)


def test_the_page_itself_refuses_a_commissioner(demo_db_url: str) -> None:
    at = AppTest.from_file(str(PAGE_FILE), default_timeout=30)
    at.session_state["user"] = signed_in("commissioner")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Your role cannot open {TITLE}."]
    assert not at.dataframe and not at.title


def test_the_list_filters(app_as: AppFactory) -> None:
    at = open_tab(app_as("cdop_manager", page=PAGE), "Responders")
    clean(at)
    assert any(c.value.endswith(" responders") for c in at.caption)
    everyone = at.dataframe[0].value
    assert len(everyone) > 90  # the active demo responders
    assert all(str(p).startswith("07700 900") for p in everyone["Phone"])  # the demo's fictional numbers
    at.selectbox(key="responders_role").set_value("sio").run()
    assert set(at.dataframe[0].value["Role"]) == {"sio"}
    at.selectbox(key="responders_status").set_value("Inactive").run()
    assert set(at.dataframe[0].value["Active"]) == {False}
    at.text_input(key="responders_search").set_value("no such person").run()
    clean(at)
    assert not at.dataframe
    assert any("No responder matches" in i.value for i in at.info)


def test_a_coordinator_sees_their_agency_first_and_edits_only_it(app_as: AppFactory) -> None:
    at = open_tab(app_as("coordinator", POLICE, page=PAGE), "Responders")
    assert at.selectbox(key="responders_agency").value == POLICE
    assert set(at.dataframe[0].value["Agency"]) == {POLICE}
    at = open_tab(at, "Edit")
    clean(at)
    options = at.selectbox(key="edit_responder").options
    assert options and all("SIO-" in o for o in options)


def test_a_coordinator_renews_training_and_it_is_audited(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("coordinator", POLICE, page=PAGE), "Edit")
    at.selectbox(key="edit_responder").set_value("SIO-004").run()
    at.selectbox(key="edit_competency").set_value("jar")
    button(at, "Save training").click().run()
    clean(at)
    assert at.success and "jar renewed from" in at.success[0].value
    entry = audit_entries(db, limit=1).row(0, named=True)
    assert (entry["actor"], entry["action"], entry["entity"]) == ("test-coordinator", "create", "training")
    assert entry["entity_id"] == f"SIO-004/jar/{DEMO_TODAY:%Y-%m-%d}"


def test_a_coordinator_deactivates_a_responder_after_confirming(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("coordinator", POLICE, page=PAGE), "Edit")
    at.selectbox(key="edit_responder").set_value("SIO-004").run()
    button(at, "Deactivate").click().run()
    assert any("Tick the box" in w.value for w in at.warning)
    at.checkbox(key="edit_sure").check()
    button(at, "Deactivate").click().run()
    clean(at)
    assert at.success[0].value.endswith("is now inactive.")
    rows = responder_rows(db).filter(pl.col("responder_id") == "SIO-004")
    assert rows["active"].to_list() == [False]
    assert audit_entries(db, limit=1)["entity_id"].to_list() == ["SIO-004"]


def test_the_manager_reads_but_has_no_edit_tab(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    assert "Edit" not in [t.label for t in at.tabs]
    assert not [b for b in at.button if b.label in ("Save training", "Deactivate")]


def test_an_empty_database_says_how_to_load_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = signed_in("cdop_manager")
    at.run()
    at.switch_page(PAGE).run()
    clean(at)
    assert [t.value for t in at.title] == [TITLE]
    assert any("No responders are stored yet" in i.value for i in at.info)
    st.cache_resource.clear()
