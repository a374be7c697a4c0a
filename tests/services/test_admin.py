"""Administration: coverage rules with per-rule validation, the audit log with filters, and accounts, on
SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine, text

from rota.errors import ConflictError, InputError, PermissionDenied
from rota.rules import default_rules
from rota.services.access import Actor
from rota.services.admin import (
    AuditFilters,
    add_account,
    audit_choices,
    audit_log,
    list_accounts,
    list_rules,
    save_rules,
    set_account_active,
    validate_rules,
)
from rota.services.people import add_training
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, utc_now
from tests.services.test_people import hand_rota

ADMIN = Actor("ada", "admin")
MANAGER = Actor("max", "cdop_manager")
COORD = Actor("pat", "coordinator", "Vale Police")
COMMISSIONER = Actor("cal", "commissioner")
PASSWORD = "correct horse battery staple"


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            n: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {n}")).all()), key=repr)
            for n in ("coverage_rule", "audit_log")
        }


def rows_of(frame: pl.DataFrame) -> list[dict[str, object]]:
    return frame.drop("version").to_dicts()


# ---------------------------------------------------------------------------------------------- rules


def test_the_defaults_are_listed_when_no_rule_is_stored(engine: Engine) -> None:
    ruleset = list_rules(engine, COORD)
    assert ruleset.configured is False
    assert ruleset.versions == {}
    assert ruleset.rules["rule_id"].to_list() == [r.id for r in default_rules()]
    assert ruleset.rules.row(1, named=True) == {
        "rule_id": "paediatrician-16-17",
        "role": "paediatrician",
        "min_count": 1,
        "competencies": "jar, jar-16-17",
        "age_band": "16-17",
        "windows": "",
        "version": None,
    }
    assert ruleset.roles == ("paediatrician", "sio", "ambulance")


def test_a_manager_saves_rules_from_an_edited_table_and_each_change_is_audited(engine: Engine) -> None:
    ruleset = list_rules(engine, MANAGER)
    rows = rows_of(ruleset.rules)
    # as st.data_editor hands them back: floats for counts, NaN or None for blanks, an empty new row
    rows.append(
        {
            "rule_id": "paediatrician-office-hours",
            "role": "paediatrician",
            "min_count": 2.0,
            "competencies": "jar",
            "age_band": "0-17",
            "windows": "Mon-Fri 09:00-17:00; Sat 10:00-12:00",
        }
    )
    rows.append({"rule_id": None, "role": None, "min_count": math.nan, "competencies": "", "age_band": None})
    saved = save_rules(engine, MANAGER, rows, ruleset.versions)
    assert (saved.created, saved.updated, saved.deleted) == (7, 0, 0)
    assert str(saved) == "Rules saved: 7 added."
    stored = load_rota(engine).rules
    office = stored[-1]
    assert office.min_count == 2
    assert [w.text for w in office.windows] == ["Mon-Fri 09:00-17:00", "Sat 10:00-12:00"]
    log = audit_log(engine, MANAGER, AuditFilters(entity="coverage_rule"))
    assert log.height == 7 and set(log["actor"]) == {"max"} and set(log["action"]) == {"create"}

    # then one changed and one removed
    again = list_rules(engine, MANAGER)
    assert again.configured is True and again.versions == {r.id: 1 for r in stored}
    rows = rows_of(again.rules)
    rows[0]["min_count"] = 2
    del rows[-1]  # (removing one from the middle also moves, and so changes, the ones after it)
    saved = save_rules(engine, MANAGER, rows, again.versions)
    assert (saved.created, saved.updated, saved.deleted, saved.unchanged) == (0, 1, 1, 5)
    log = audit_log(engine, ADMIN, AuditFilters(entity="coverage_rule", action="update"))
    assert log["entity_id"].to_list() == ["paediatrician"]
    assert '"min_count":1' in log["before"][0] and '"min_count":2' in log["after"][0]


def test_rule_errors_are_all_reported_per_row_and_nothing_is_stored(engine: Engine) -> None:
    before = dump(engine)
    rows: list[dict[str, object]] = [
        {"rule_id": "sio", "role": "sio", "min_count": 1, "competencies": "jar", "age_band": "0-15"},
        {"rule_id": "sio", "role": "sio", "min_count": 1, "competencies": "jar", "age_band": "16-17"},
        {"rule_id": "nurse", "role": "nurse", "competencies": "jar", "age_band": "0-17"},
        {"rule_id": "paed", "role": "paediatrician", "min_count": 0, "age_band": "0-15"},
        {"rule_id": "amb", "role": "ambulance", "age_band": "0-15", "windows": "Mon-Fry 09:00-17:00"},
        {"rule_id": "amb2", "role": "ambulance", "age_band": "12-19"},
        {"rule_id": "bad id!", "role": "ambulance"},
        {"role": "ambulance", "age_band": "0-15"},
    ]
    with pytest.raises(InputError) as info:
        save_rules(engine, ADMIN, rows)
    problems = [(p.file, p.column) for p in info.value.problems]
    assert problems == [
        ("row 2 (sio)", "rule_id"),
        ("row 3 (nurse)", "role"),
        ("row 4 (paed)", "min_count"),
        ("row 5 (amb)", "windows"),
        ("row 6 (amb2)", "age_band"),
        ("row 7 (bad id!)", "rule_id"),
        ("row 8", "rule_id"),
    ]
    text_ = str(info.value)
    assert "row 2 (sio), column rule_id: the id 'sio' is already used by row 1" in text_
    assert "unknown role 'nurse' (known: paediatrician, sio, ambulance)" in text_
    assert "'Mon-Fry' is not a day" in text_
    assert "rule amb:" not in text_  # the row already says which rule
    assert dump(engine) == before


def test_an_empty_table_is_refused() -> None:
    rules, problems = validate_rules([{"rule_id": "", "role": None}], ("sio",))
    assert rules == [] and "keep at least one rule" in str(problems[0])


def test_unheld_competencies_are_saved_with_a_warning(engine: Engine) -> None:
    import_rota(engine, hand_rota(), actor="setup")
    row = {"rule_id": "sio", "role": "sio", "competencies": "jar, jar-1617", "age_band": "0-15"}
    saved = save_rules(engine, ADMIN, [row])
    assert (saved.created, saved.updated, saved.deleted) == (0, 1, 2)
    assert saved.warnings == (
        "sio: nobody holds jar-1617, so this rule will be in gap at all times (check the spelling)",
    )


def test_only_managers_and_admins_change_rules(engine: Engine) -> None:
    rows = rows_of(list_rules(engine, COORD).rules)
    before = dump(engine)
    for who in (COORD, COMMISSIONER):
        with pytest.raises(PermissionDenied):
            save_rules(engine, who, rows)
    assert dump(engine) == before


def test_a_rules_edit_that_crosses_another_is_refused(engine: Engine) -> None:
    mine = list_rules(engine, MANAGER)
    theirs = list_rules(engine, ADMIN)
    save_rules(engine, ADMIN, rows_of(theirs.rules), theirs.versions)
    before = dump(engine)
    with pytest.raises(ConflictError, match="changed by someone else"):
        save_rules(engine, MANAGER, rows_of(mine.rules)[:2], mine.versions)
    assert dump(engine) == before


# ---------------------------------------------------------------------------------------------- audit


def test_the_audit_log_filters(engine: Engine) -> None:
    import_rota(engine, hand_rota(), actor="setup")
    add_training(engine, ADMIN, "S2", "jar-16-17", date(2027, 1, 5))
    add_training(engine, COORD, "S1", "jar", date(2027, 1, 5), date(2030, 1, 4))
    everything = audit_log(engine, MANAGER, limit=10_000)
    assert everything["id"].is_sorted(descending=True)
    assert audit_log(engine, MANAGER, limit=3).height == 3

    by_pat = audit_log(engine, MANAGER, AuditFilters(actor="pat"))
    assert by_pat["entity_id"].to_list() == ["S1/jar/2027-01-05"]
    training = audit_log(engine, MANAGER, AuditFilters(entity="training", action="create", entity_id="s2/"))
    assert set(training["entity_id"]) == {"S2/jar/2025-06-01", "S2/jar-16-17/2027-01-05"}
    assert audit_log(engine, MANAGER, AuditFilters(action="import"))["entity"].to_list() == ["rota"]

    today = utc_now().astimezone(SERVICE_TZ).date()
    assert audit_log(engine, MANAGER, AuditFilters(since=today, until=today)).height == everything.height
    assert audit_log(engine, MANAGER, AuditFilters(until=today - timedelta(days=1))).height == 0
    assert audit_log(engine, MANAGER, AuditFilters(since=today + timedelta(days=1))).height == 0

    choices = audit_choices(engine, ADMIN)
    assert choices["actor"] == ["ada", "pat", "setup"]
    assert "training" in choices["entity"] and choices["action"] == ["create", "import"]


def test_bad_audit_filters_are_refused_with_a_message(engine: Engine) -> None:
    with pytest.raises(InputError, match="before the start date"):
        audit_log(engine, ADMIN, AuditFilters(since=date(2027, 1, 2), until=date(2027, 1, 1)))
    with pytest.raises(InputError, match="unknown action"):
        audit_log(engine, ADMIN, AuditFilters(action="drop"))
    with pytest.raises(InputError, match="between 1 and"):
        audit_log(engine, ADMIN, limit=0)


def test_the_audit_log_is_for_managers_and_admins(engine: Engine) -> None:
    for who in (COORD, COMMISSIONER):
        with pytest.raises(PermissionDenied):
            audit_log(engine, who)
        with pytest.raises(PermissionDenied):
            audit_choices(engine, who)


# ---------------------------------------------------------------------------------------------- accounts


def test_admins_add_list_and_switch_off_accounts(engine: Engine) -> None:
    add_account(engine, ADMIN, "ada", "admin", PASSWORD, display_name="Ada Admin")
    made = add_account(engine, ADMIN, "Pat.Coord", "coordinator", PASSWORD, agency="Vale Police")
    assert made.username == "pat.coord" and made.agency == "Vale Police"
    accounts = list_accounts(engine, ADMIN)
    assert accounts["username"].to_list() == ["ada", "pat.coord"]
    assert "password_hash" not in accounts.columns
    set_account_active(engine, ADMIN, "pat.coord", False)
    accounts = list_accounts(engine, ADMIN)
    assert accounts.filter(pl.col("username") == "pat.coord")["active"].to_list() == [False]
    log = audit_log(engine, ADMIN, AuditFilters(entity="user_account"))
    assert log["action"].to_list() == ["update", "create", "create"]
    assert all("argon2" not in (v or "") for v in [*log["before"], *log["after"]])
    with pytest.raises(InputError, match="at least 12"):
        add_account(engine, ADMIN, "short", "commissioner", "short")


def test_only_admins_manage_accounts(engine: Engine) -> None:
    for who in (MANAGER, COORD, COMMISSIONER):
        with pytest.raises(PermissionDenied):
            list_accounts(engine, who)
        with pytest.raises(PermissionDenied):
            add_account(engine, who, "eve", "admin", PASSWORD)
        with pytest.raises(PermissionDenied):
            set_account_active(engine, who, "ada", False)
    assert list_accounts(engine, ADMIN).height == 0
