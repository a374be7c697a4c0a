"""The Admin page's Board actions and Assurance packs parts through AppTest on the demo data: adding,
editing and closing an action (stored and audited under the signed-in name), bad input shown without
storing anything, and the stored packs listed with a download button each."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from rota.services.access import SYSTEM, Actor
from rota.services.actions import add_action, list_actions
from rota.services.packs import list_packs, pack_content, store_pack
from rota.storage.audit import audit_entries
from tests.dashboard.apptest_helpers import button, clean, open_tab
from tests.dashboard.conftest import AppFactory

PAGE = "views/admin_page.py"
ADMIN = Actor("root", "admin")
SNAPSHOT = "admin_actions_snapshot"


def an_action(db: Engine, title: str = "Recruit two SIOs for nights", due: date = date(2027, 3, 31)) -> int:
    return add_action(db, ADMIN, title=title, owner_agency="Vale Police", owner="DCI Kim", due=due)


def test_the_manager_adds_an_action_and_it_is_audited(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("cdop_manager", page=PAGE), "Board actions")
    clean(at)
    assert [h.value for h in at.header] == ["Board actions", "Jobs and alerts"]
    assert any("No open actions" in i.value for i in at.info)
    at.text_input(key="action_title").set_value("Recruit two SIOs for nights")
    at.text_input(key="action_agency").set_value("Vale Police")
    at.text_input(key="action_owner").set_value("Head of Public Protection")
    at.date_input(key="action_due").set_value(date(2027, 3, 31))
    at.text_area(key="action_notes").set_value("Night cover")
    button(at, "Add action").click().run()
    clean(at)
    stored = list_actions(db, ADMIN)
    assert stored["title"].to_list() == ["Recruit two SIOs for nights"]
    assert [s.value for s in at.success] == [f"Action {stored['id'][0]} added, due 31/03/2027."]
    assert (stored["due"][0], stored["notes"][0], stored["status"][0]) == (
        date(2027, 3, 31),
        "Night cover",
        "open",
    )
    log = audit_entries(db, entity="board_action")
    assert (log["actor"][0], log["action"][0]) == ("test-cdop_manager", "create")
    assert (
        at.session_state[SNAPSHOT]["rows"][0]["title"] == "Recruit two SIOs for nights"
    )  # the editor shows it


@pytest.mark.parametrize(
    ("title", "due", "message"),
    [
        ("", date(2027, 3, 31), "Title is blank: give the action's title."),
        ("Recruit", None, "Due date is blank: give one like 31/03/2027."),
    ],
)
def test_bad_input_is_shown_and_nothing_is_stored(
    app_as: AppFactory, db: Engine, title: str, due: date | None, message: str
) -> None:
    at = open_tab(app_as("admin", page=PAGE), "Board actions")
    at.text_input(key="action_title").set_value(title)
    at.text_input(key="action_agency").set_value("Vale Police")
    at.text_input(key="action_owner").set_value("DCI Kim")
    at.date_input(key="action_due").set_value(due)
    button(at, "Add action").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert list_actions(db, ADMIN).height == 0


def test_an_open_action_is_edited_in_the_table(app_as: AppFactory, db: Engine) -> None:
    first = an_action(db)
    at = open_tab(app_as("cdop_manager", page=PAGE), "Board actions")
    clean(at)
    editor = at.session_state[SNAPSHOT]
    assert [r["id"] for r in editor["rows"]] == [first]
    # the cells as a person edits them: the grid's own state, row 0
    at.session_state["actions_editor"] = {
        "edited_rows": {0: {"owner": "DCI Bram Fictor", "due": "2027-04-30", "notes": "Interviews booked"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    button(at, "Save changes").click().run()
    clean(at)
    assert [s.value for s in at.success] == ["1 action changed."]
    row = list_actions(db, ADMIN).row(0, named=True)
    assert (row["owner"], row["due"], row["notes"]) == (
        "DCI Bram Fictor",
        date(2027, 4, 30),
        "Interviews booked",
    )
    log = audit_entries(db, entity="board_action")
    assert (log["actor"][0], log["action"][0], log["entity_id"][0]) == (
        "test-cdop_manager",
        "update",
        str(first),
    )


def test_an_edit_crossing_another_is_refused(app_as: AppFactory, db: Engine) -> None:
    first = an_action(db)
    at = open_tab(app_as("cdop_manager", page=PAGE), "Board actions")
    snapshot = dict(at.session_state[SNAPSHOT])
    at.session_state[SNAPSHOT] = {**snapshot, "versions": {str(first): 0}}  # read before someone's change
    at.session_state["actions_editor"] = {
        "edited_rows": {0: {"title": "Mine"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    button(at, "Save changes").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors[0] == f"Action {first} was not changed:"
    assert "changed by someone else" in errors[1]
    assert list_actions(db, ADMIN)["title"].to_list() == ["Recruit two SIOs for nights"]


def test_the_manager_closes_an_action_with_a_note(app_as: AppFactory, db: Engine) -> None:
    an_action(db, "Renew JAR training", date(2027, 1, 15))
    second = an_action(db)
    at = open_tab(app_as("cdop_manager", page=PAGE), "Board actions")
    clean(at)
    pick = at.selectbox(key="action_close_pick")
    assert pick.options == [
        f"{second - 1}: Renew JAR training (due 15/01/2027)",
        f"{second}: Recruit two SIOs for nights (due 31/03/2027)",
    ]
    pick.set_value(second)
    at.text_area(key="action_close_notes").set_value("Two SIOs started in February")
    button(at, "Close action").click().run()
    clean(at)
    assert [s.value for s in at.success] == [f"Action {second} closed."]
    closed = list_actions(db, ADMIN, status="closed").row(0, named=True)
    assert (closed["id"], closed["notes"]) == (second, "Two SIOs started in February")
    assert [r["id"] for r in at.session_state[SNAPSHOT]["rows"]] == [second - 1]  # the editor: open ones only
    assert at.expander and at.expander[0].label == "Closed actions (1)"
    shown = at.expander[0].dataframe[0].value
    assert shown["Title"].tolist() == ["Recruit two SIOs for nights"]
    assert list(shown.columns) == ["Id", "Title", "Owner agency", "Owner", "Due", "Closed", "Notes"]


def test_the_stored_packs_are_listed_with_a_download_button_each(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("cdop_manager", page=PAGE), "Assurance packs")
    clean(at)
    assert [i.value for i in at.info] == ["No assurance packs are stored yet."]
    content = b"%PDF-1.7\n" + bytes(range(256)) * 800
    common = {"content": content, "now": datetime(2026, 10, 8, 5, 0, tzinfo=UTC)}
    ids = [
        store_pack(
            db, SYSTEM, period="2026-Q3", audience="commissioner", agency=None, filename="q3-c.pdf", **common
        ),  # type: ignore[arg-type]
        store_pack(
            db, SYSTEM, period="2026-Q3", audience="manager", agency=None, filename="q3-m.pdf", **common
        ),  # type: ignore[arg-type]
        store_pack(
            db,
            SYSTEM,
            period="2026-Q3",
            audience="commissioner",
            agency="Vale Police",
            filename="q3-p.pdf",
            **common,
        ),  # type: ignore[arg-type]
    ]
    at.run()
    clean(at)
    downloads = at.get("download_button")
    assert len(downloads) == 3
    assert {d.label for d in downloads} == {"Download"}
    text = " ".join(str(m.value) for m in at.markdown)
    for expected in (
        "2026-Q3",
        "Commissioners",
        "CDOP manager",
        "Vale Police",
        "Whole partnership",
        "08/10/2026 06:00 BST",
        "system",
        "200 KB",
    ):
        assert expected in text, expected
    # what a button hands over when pressed: the stored bytes, the download audited
    assert pack_content(db, ADMIN, ids[2]) == content
    assert list_packs(db, ADMIN)["id"].to_list() == sorted(ids, reverse=True)
