"""The vocabulary and the record declarations: the stored strings, and every shape made from them."""

from __future__ import annotations

import re
from enum import StrEnum

import polars as pl

from rota.analytics.cases import CASE_COLUMNS, CASES_SCHEMA, REQUIRED, TIME_COLUMNS
from rota.analytics.completion import MEASURES
from rota.bundle import COLUMNS, KINDS
from rota.model import CASES, RECORDS, SCHEMAS, SHIFT_KINDS, Column, Record
from rota.services.access import ROLES
from rota.services.completion import ASSURANCE_TEXT, MEASURE_LABELS, VARIATION_TEXT
from rota.storage.models import (
    ABSENCE,
    ALERT,
    ASSURANCE_PACK,
    AUDIT_LOG,
    BOARD_ACTION,
    CASE_RECORD,
    JOB_RUN,
    RESPONDER,
    SHIFT,
    TRAINING,
    USER_ACCOUNT,
    USER_SESSION,
    one_of,
)
from rota.vocab import (
    PARTS_OF_FULL,
    AccountRole,
    ActionStatus,
    AlertKind,
    Assurance,
    AuditAction,
    Improvement,
    JobStatus,
    Measure,
    PackAudience,
    ShiftKind,
    SignInMethod,
    SpcSignal,
    Variation,
    account_role_label,
    responder_role_label,
    values_of,
)

# The strings stored in databases, files and JSON today: the enums must keep them exactly.
STORED: dict[type[StrEnum], tuple[str, ...]] = {
    ShiftKind: ("oncall", "onsite"),
    AccountRole: ("admin", "cdop_manager", "coordinator", "commissioner"),
    AlertKind: ("gap", "training_expiry"),
    AuditAction: ("create", "update", "delete", "import", "read"),
    JobStatus: ("running", "ok", "failed"),
    SignInMethod: ("password", "oidc"),
    Measure: (
        "jar_triggered",
        "paediatrician",
        "police",
        "home_visit",
        "planning_meeting",
        "ncmd_notification",
        "fully_completed",
    ),
    Improvement: ("up", "down", "neutral"),
    SpcSignal: (
        "above_upl",
        "below_lpl",
        "trend_up",
        "trend_down",
        "two_of_three_above",
        "two_of_three_below",
        "shift_above",
        "shift_below",
    ),
    Variation: (
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
        "special_cause_neutral",
    ),
    Assurance: ("consistent_pass", "consistent_fail", "inconsistent"),
}

# Each check constraint made from a vocabulary: (table, constraint name, vocabulary).
CONSTRAINTS = [
    (SHIFT, "ck_shift_kind", ShiftKind),
    (USER_ACCOUNT, "ck_user_account_role", AccountRole),
    (ALERT, "ck_alert_kind", AlertKind),
    (AUDIT_LOG, "ck_audit_log_action", AuditAction),
    (JOB_RUN, "ck_job_run_status", JobStatus),
    (USER_SESSION, "ck_user_session_method", SignInMethod),
    (BOARD_ACTION, "ck_board_action_status", ActionStatus),
    (ASSURANCE_PACK, "ck_assurance_pack_audience", PackAudience),
]


def quoted(sql: str) -> set[str]:
    """The quoted words of a check constraint's SQL."""
    return set(re.findall(r"'([^']*)'", sql))


def constraint_sql(table: object, name: str) -> str:
    found = [c for c in table.constraints if c.name == name]  # type: ignore[attr-defined]
    assert len(found) == 1, name
    return str(found[0].sqltext)


def test_enum_values_are_the_stored_strings() -> None:
    for words, stored in STORED.items():
        assert values_of(words) == stored
        assert all(isinstance(w, str) and w == w.value for w in words)


def test_check_constraints_come_from_the_vocabulary() -> None:
    for table, name, words in CONSTRAINTS:
        assert quoted(constraint_sql(table, name)) == set(values_of(words)), name
    # written exactly as the first migration wrote it, so Alembic sees no change
    assert constraint_sql(SHIFT, "ck_shift_kind") == "kind IN ('oncall', 'onsite')"


def test_a_new_word_reaches_the_check_constraint() -> None:
    extended = StrEnum("ExtendedKind", {**{k.name: k.value for k in ShiftKind}, "STANDBY": "standby"})
    made = one_of("kind", extended, "ck_shift_kind")
    assert quoted(str(made.sqltext)) == {*SHIFT_KINDS, "standby"}


def test_polars_schemas_and_bundle_columns_come_from_the_records() -> None:
    assert KINDS == tuple(RECORDS) == ("responders", "training", "shifts", "absences")
    for kind, record in RECORDS.items():
        assert SCHEMAS[kind] == record.schema
        assert COLUMNS[kind] is record.columns
        assert tuple(c.name for c in COLUMNS[kind]) == tuple(record.schema)
    assert CASE_COLUMNS == CASES.names == tuple(CASES_SCHEMA)
    assert set(REQUIRED) == {"case_id", "notified_at", "age_years", "jar_criteria_met", "jar_triggered"}
    assert ("notified_at", *(m.step for m in Measure if m.step is not None)) == TIME_COLUMNS


def test_database_tables_hold_the_record_columns() -> None:
    bookkeeping = {"id", "version", "updated_at"}
    for table, record in (
        (RESPONDER, RECORDS["responders"]),
        (TRAINING, RECORDS["training"]),
        (SHIFT, RECORDS["shifts"]),
        (ABSENCE, RECORDS["absences"]),
        (CASE_RECORD, CASES),
    ):
        assert set(table.c.keys()) - bookkeeping == set(record.names), table.name


def test_a_new_column_reaches_schema_grid_and_limits() -> None:
    record = Record("shifts", (*RECORDS["shifts"].columns, Column("note", limit="text")))
    assert record.schema["note"] == pl.String()
    assert record.grid_columns("shift_id")[-1] == "note"
    assert record.limits["note"] == "text"
    grid = RECORDS["absences"].grid_columns("absence_id")
    assert grid == ("absence_id", *RECORDS["absences"].names)


def test_measures_carry_their_labels_and_targets_in_order() -> None:
    assert values_of(Measure) == MEASURES
    assert {m.value: m.label for m in Measure} == MEASURE_LABELS
    assert Measure.PAEDIATRICIAN.label == "Paediatrician within 4 hours" and Measure.PAEDIATRICIAN.hours == 4
    assert Measure.PLANNING_MEETING.working_days == 2
    assert all(m.target == 0.9 for m in Measure)
    # "fully completed" is every other measure, by declaration rather than by position
    assert set(PARTS_OF_FULL) == set(Measure) - {Measure.FULLY_COMPLETED}


def test_spc_words_and_labels() -> None:
    assert VARIATION_TEXT["special_cause_concern"] == "Special cause concern"
    assert ASSURANCE_TEXT["inconsistent"] == "Hit and miss against target"
    upward = {s for s in SpcSignal if s.upward}
    assert upward == {
        SpcSignal.ABOVE_UPL,
        SpcSignal.TREND_UP,
        SpcSignal.TWO_OF_THREE_ABOVE,
        SpcSignal.SHIFT_ABOVE,
    }


def test_account_and_responder_roles_are_named_apart() -> None:
    assert values_of(AccountRole) == ROLES
    assert account_role_label("coordinator") == "Rota coordinator"
    assert responder_role_label("sio") == "SIO"
    assert responder_role_label("social_worker") == "Social worker"
