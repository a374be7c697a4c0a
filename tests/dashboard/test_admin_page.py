"""Admin through AppTest on the demo data: rules with validation, the audit log, accounts, for every role."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from rota.services.access import Actor
from rota.services.admin import AuditFilters, audit_log, list_accounts, list_rules
from tests.dashboard.apptest_helpers import button, clean, open_tab
from tests.dashboard.conftest import APP, AppFactory, signed_in

PAGE = "views/admin_page.py"
PAGE_FILE = Path(__file__).resolve().parents[2] / "dashboard" / PAGE
SNAPSHOT = "admin_rules_snapshot"
ADMIN = Actor("root", "admin")


@pytest.mark.parametrize(
    ("role", "tabs"),
    [
        ("admin", ["Coverage rules", "Audit log", "Board actions", "Assurance packs", "Accounts"]),
        ("cdop_manager", ["Coverage rules", "Audit log", "Board actions", "Assurance packs"]),
    ],
)
def test_the_page_opens_for_admins_and_managers(app_as: AppFactory, role: str, tabs: list[str]) -> None:
    at = app_as(role, page=PAGE)
    clean(at)
    assert [t.value for t in at.title] == ["Admin"]
    assert [t.label for t in at.tabs] == tabs
    assert "Save rules" in [b.label for b in at.button]
    at = open_tab(at, "Audit log")
    clean(at)
    assert at.dataframe and len(at.dataframe[0].value) == 500  # the demo import audited every row
    assert "Download CSV" in [b.label for b in at.get("download_button")]


@pytest.mark.parametrize(("role", "agency"), [("coordinator", "Vale Police"), ("commissioner", None)])
def test_other_roles_do_not_get_the_page(app_as: AppFactory, role: str, agency: str | None) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as(role, agency, page=PAGE)


@pytest.mark.parametrize(("role", "agency"), [("coordinator", "Vale Police"), ("commissioner", None)])
def test_the_page_itself_refuses_other_roles(demo_db_url: str, role: str, agency: str | None) -> None:
    at = AppTest.from_file(str(PAGE_FILE), default_timeout=30)
    at.session_state["user"] = signed_in(role, agency)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role cannot open Admin."]
    assert not at.title


def test_bad_rules_are_reported_per_rule_and_not_saved(app_as: AppFactory, db: Engine) -> None:
    before = list_rules(db, ADMIN)
    at = app_as("cdop_manager", page=PAGE)
    snapshot = dict(at.session_state[SNAPSHOT])
    rows = [dict(r) for r in snapshot["rows"]]
    rows[0]["windows"] = "Mon-Fry 09:00-17:00"
    rows[1]["role"] = "nurse"
    rows[2]["rule_id"] = rows[3]["rule_id"]
    at.session_state[SNAPSHOT] = {**snapshot, "rows": rows}
    at.run()
    button(at, "Save rules").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors[0] == "The rules were not saved:"
    assert errors[1].startswith("row 1 (paediatrician), column windows: 'Mon-Fry' is not a day")
    assert errors[2].startswith("row 2 (paediatrician-16-17), column role: unknown role 'nurse'")
    assert errors[3] == "row 4 (sio-16-17), column rule_id: the id 'sio-16-17' is already used by row 3"
    after = list_rules(db, ADMIN)
    assert after.versions == before.versions and after.rules.equals(before.rules)


def test_a_manager_saves_a_rule_change_and_it_is_audited(app_as: AppFactory, db: Engine) -> None:
    at = app_as("cdop_manager", page=PAGE)
    snapshot = dict(at.session_state[SNAPSHOT])
    rows = [dict(r) for r in snapshot["rows"]]
    rows[2]["min_count"] = 2  # two SIOs for 0-15
    at.session_state[SNAPSHOT] = {**snapshot, "rows": rows}
    at.run()
    button(at, "Save rules").click().run()
    clean(at)
    assert [s.value for s in at.success] == ["Rules saved: 1 changed."]
    log = audit_log(db, ADMIN, AuditFilters(entity="coverage_rule"))
    assert (log["actor"][0], log["action"][0], log["entity_id"][0]) == ("test-cdop_manager", "update", "sio")
    assert list_rules(db, ADMIN).rules["min_count"][2] == 2


def test_a_rules_edit_that_crosses_another_is_refused(app_as: AppFactory, db: Engine) -> None:
    at = app_as("cdop_manager", page=PAGE)
    snapshot = dict(at.session_state[SNAPSHOT])
    at.session_state[SNAPSHOT] = {**snapshot, "versions": {k: v + 1 for k, v in snapshot["versions"].items()}}
    at.run()
    button(at, "Save rules").click().run()
    assert not at.exception
    assert any("changed by someone else" in e.value for e in at.error)


def test_the_audit_log_filters_and_says_when_nothing_matches(app_as: AppFactory) -> None:
    at = open_tab(app_as("admin", page=PAGE), "Audit log")
    at.selectbox(key="audit_entity").set_value("responder").run()
    clean(at)
    table = at.dataframe[0].value
    assert set(table["What"]) == {"responder"} and len(table) > 90
    at.text_input(key="audit_entity_id").set_value("SIO-004").run()
    assert set(at.dataframe[0].value["ID"]) == {"SIO-004"}
    at.text_input(key="audit_entity_id").set_value("nobody at all").run()
    clean(at)
    assert not at.dataframe
    assert any("No audit entries match" in i.value for i in at.info)


def test_an_admin_adds_and_switches_off_an_account(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("admin", page=PAGE), "Accounts")
    clean(at)
    assert at.dataframe[0].value["Username"].tolist() == ["test-admin"]  # the one signed in
    at.text_input(key="account_username").set_value("pat")
    at.selectbox(key="account_role").set_value("coordinator")
    at.text_input(key="account_agency").set_value("Vale Police")
    at.text_input(key="account_password").set_value("a long enough password")
    at.text_input(key="account_repeat").set_value("a long enough password")
    button(at, "Add account").click().run()
    clean(at)
    assert at.success[0].value == "Account pat added (Rota coordinator, Vale Police)."
    assert at.dataframe[0].value["Username"].tolist() == ["pat", "test-admin"]
    at.selectbox(key="account_pick").set_value("pat")
    button(at, "Switch off").click().run()
    clean(at)
    assert list_accounts(db, ADMIN)["active"].to_list() == [False, True]


def test_a_short_password_is_refused_with_a_message(app_as: AppFactory, db: Engine) -> None:
    at = open_tab(app_as("admin", page=PAGE), "Accounts")
    at.text_input(key="account_username").set_value("sam")
    at.text_input(key="account_password").set_value("short")
    at.text_input(key="account_repeat").set_value("short")
    button(at, "Add account").click().run()
    assert not at.exception
    assert any("at least 12 characters" in e.value for e in at.error)
    assert list_accounts(db, ADMIN)["username"].to_list() == ["test-admin"]  # only the one signed in


def test_an_empty_database_gets_helpful_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = signed_in("admin")
    at.run()
    at.switch_page(PAGE).run()
    clean(at)
    assert any("the six default rules below apply" in i.value for i in at.info)
    at = open_tab(at, "Audit log")
    clean(at)
    assert [i.value for i in at.info] == ["Nothing has been changed yet, so the audit log is empty."]
    st.cache_resource.clear()
