"""Storing CDOP cases and product settings, on SQLite and PostgreSQL: round trips, upserts, the audit log,
all-or-nothing refusals, and cases kept apart from the rota."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, select

from rota.analytics.cases import CASES_SCHEMA, empty_cases
from rota.errors import InputError
from rota.storage.audit import audit_entries
from rota.storage.cases import count_cases, load_cases, reset_cases
from rota.storage.imports import import_cases, import_rota
from rota.storage.models import CASE_RECORD
from rota.storage.rota import load_rota, reset_rota
from rota.storage.settings import read_settings, write_setting
from tests.storage.conftest import sample_rota, utc


def sample_cases() -> pl.DataFrame:
    """Cases on both 2026 clock changes, with blanks, infants with age_days and a 16-year-old."""
    return pl.DataFrame(
        {
            "case_id": ["JAR-2026-0001", "JAR-2026-0002", "JAR-2026-0003", "JAR-2026-0004"],
            # 29 March 00:59:59Z (GMT), 25 October 00:30Z (01:30 BST) and 01:30Z (01:30 GMT), June with µs
            "notified_at": [
                utc(2026, 3, 29, 0, 59, 59),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 1, 30),
                datetime(2026, 6, 1, 8, 0, 0, 123456, tzinfo=utc(2026, 1, 1).tzinfo),
            ],
            "age_years": [0, 16, 3, 0],
            "age_days": [12, None, None, 200],
            "jar_criteria_met": [True, True, False, True],
            "jar_triggered": [True, False, False, True],
            "paediatrician_at": [utc(2026, 3, 29, 2), None, None, utc(2026, 6, 1, 9)],
            "police_at": [utc(2026, 3, 29, 3), None, None, None],
            "home_visit_at": [None, None, None, utc(2026, 6, 2, 9)],
            "planning_meeting_at": [utc(2026, 3, 30, 10), None, None, None],
            "ncmd_notified_at": [utc(2026, 3, 30, 12), utc(2026, 10, 26, 12), None, None],
            "category": ["SUDI", "trauma", None, "SUDI"],
            "reason_incomplete": [None, "ED consultant not aware of JAR", None, 'Family declined: "no", é'],
            # derived at import from reason_incomplete (docs/cases.md, "Reasons")
            "reason_category": ["not_recorded", "not_recognised", "not_recorded", "family_declined"],
        },
        schema=CASES_SCHEMA,
    )


def case_audit(engine: Engine) -> pl.DataFrame:
    return audit_entries(engine, limit=None, entity="case")


def test_round_trip_keeps_types_instants_and_blanks(engine: Engine) -> None:
    cases = sample_cases()
    counts = import_cases(engine, cases, actor="tester", source="cases.csv")
    assert (counts.created, counts.updated, counts.deleted, counts.unchanged) == (4, 0, 0, 0)
    loaded = load_cases(engine)
    assert dict(loaded.schema) == CASES_SCHEMA
    assert loaded["notified_at"].dtype == pl.Datetime("us", "UTC")
    assert_frame_equal(loaded, cases.sort("notified_at", "case_id"))
    assert count_cases(engine) == 4


def test_empty_database_gives_the_schema(engine: Engine) -> None:
    loaded = load_cases(engine)
    assert loaded.height == 0 and dict(loaded.schema) == CASES_SCHEMA
    assert_frame_equal(import_and_load(engine, empty_cases()), empty_cases())
    assert read_settings(engine) == {}


def import_and_load(engine: Engine, cases: pl.DataFrame) -> pl.DataFrame:
    import_cases(engine, cases, actor="tester")
    return load_cases(engine)


def test_load_keeps_cases_notified_in_the_half_open_range(engine: Engine) -> None:
    import_cases(engine, sample_cases(), actor="tester")
    got = load_cases(engine, utc(2026, 6, 1), utc(2026, 10, 25, 1, 30))
    assert got["case_id"].to_list() == ["JAR-2026-0004", "JAR-2026-0002"]
    assert load_cases(engine, start=utc(2026, 10, 25, 1, 30))["case_id"].to_list() == ["JAR-2026-0003"]
    assert load_cases(engine, end=utc(2026, 3, 29, 0, 59, 59)).height == 0
    with pytest.raises(ValueError, match="aware"):
        load_cases(engine, datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_upsert_counts_versions_and_audit(engine: Engine) -> None:
    cases = sample_cases()
    import_cases(engine, cases, actor="tester", source="first.csv")
    again = import_cases(engine, cases, actor="someone", source="again.csv")
    assert (again.created, again.updated, again.unchanged, again.changes) == (0, 0, 4, 0)
    assert case_audit(engine).height == 4  # an unchanged import writes nothing
    changed = pl.concat(
        [
            cases.with_columns(
                pl.when(pl.col("case_id") == "JAR-2026-0002")
                .then(utc(2026, 10, 25, 2))
                .otherwise(pl.col("paediatrician_at"))
                .alias("paediatrician_at")
            ),
            cases.head(1).with_columns(pl.lit("JAR-2026-0005").alias("case_id")),
        ]
    )
    counts = import_cases(engine, changed, actor="editor", source="second.csv")
    assert (counts.created, counts.updated, counts.deleted, counts.unchanged) == (1, 1, 0, 3)
    with engine.connect() as conn:
        versions = dict(conn.execute(select(CASE_RECORD.c.case_id, CASE_RECORD.c.version)).all())
    assert versions["JAR-2026-0002"] == 2 and versions["JAR-2026-0001"] == 1
    audit = case_audit(engine)
    assert audit.height == 6
    update = audit.filter(pl.col("action") == "update").row(0, named=True)
    assert update["entity_id"] == "JAR-2026-0002" and update["actor"] == "editor"
    before, after = json.loads(update["before"]), json.loads(update["after"])
    assert before["paediatrician_at"] is None and after["paediatrician_at"] == "2026-10-25T02:00:00+00:00"
    assert after["notified_at"] == "2026-10-25T00:30:00+00:00" and after["age_years"] == 16
    created = audit.filter(pl.col("action") == "create")["entity_id"].to_list()
    assert sorted(created) == [
        "JAR-2026-0001",
        "JAR-2026-0002",
        "JAR-2026-0003",
        "JAR-2026-0004",
        "JAR-2026-0005",
    ]
    summary = audit_entries(engine, limit=None, entity="cases")
    assert summary["entity_id"].to_list() == ["second.csv", "first.csv"]
    assert json.loads(summary["after"][0])["summary"]["created"] == 1


def test_replace_makes_the_stored_cases_exactly_the_given_ones(engine: Engine) -> None:
    import_cases(engine, sample_cases(), actor="tester")
    kept = sample_cases().filter(pl.col("case_id").is_in(["JAR-2026-0001", "JAR-2026-0004"]))
    counts = import_cases(engine, kept, actor="tester", replace=True)
    assert (counts.created, counts.updated, counts.deleted, counts.unchanged) == (0, 0, 2, 2)
    assert load_cases(engine)["case_id"].to_list() == ["JAR-2026-0001", "JAR-2026-0004"]
    deleted = case_audit(engine).filter(pl.col("action") == "delete")
    assert sorted(deleted["entity_id"]) == ["JAR-2026-0002", "JAR-2026-0003"]
    assert deleted["after"].null_count() == 2 and json.loads(deleted["before"][0])["case_id"] in (
        "JAR-2026-0002",
        "JAR-2026-0003",
    )


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda df: pl.concat([df, df.tail(1)]), "case_id"),
        (lambda df: df.with_columns(pl.lit(18, dtype=pl.Int64).alias("age_years")), "age_years"),
        (lambda df: df.with_columns(pl.lit(5, dtype=pl.Int64).alias("age_days")), "age_days"),
        (lambda df: df.with_columns(pl.lit(None, dtype=pl.Boolean).alias("jar_triggered")), "jar_triggered"),
        (lambda df: df.with_columns(pl.lit(" ").alias("case_id")), "case_id"),
        (lambda df: df.with_columns(pl.col("notified_at").dt.replace_time_zone(None)), "notified_at"),
        (lambda df: df.with_columns(pl.lit("x").alias("nhs_number")), "nhs_number"),
        (lambda df: df.drop("jar_criteria_met"), "jar_criteria_met"),
    ],
)
def test_bad_cases_store_nothing(engine: Engine, change: object, column: str) -> None:
    import_cases(engine, sample_cases().head(1), actor="tester")
    before = load_cases(engine)
    audit_before = audit_entries(engine, limit=None).height
    bad = change(sample_cases().tail(3))  # type: ignore[operator]
    with pytest.raises(InputError) as info:
        import_cases(engine, bad, actor="tester")
    assert any(p.column == column for p in info.value.problems), info.value.message()
    assert_frame_equal(load_cases(engine), before)
    assert audit_entries(engine, limit=None).height == audit_before


def test_an_actor_is_required(engine: Engine) -> None:
    with pytest.raises(ValueError, match="actor"):
        import_cases(engine, sample_cases(), actor=" ")
    assert count_cases(engine) == 0


def test_reset_rota_keeps_the_cases_and_reset_cases_deletes_them_audited(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    import_cases(engine, sample_cases(), actor="tester")
    write_setting(engine, "child_population", "380000", actor="tester")
    reset_rota(engine, actor="tester")
    assert load_rota(engine).responders.height == 0
    assert count_cases(engine) == 4
    assert read_settings(engine) == {"child_population": "380000"}
    counts = reset_cases(engine, actor="cleaner")
    assert counts.deleted == 4 and count_cases(engine) == 0
    deleted = case_audit(engine).filter(pl.col("action") == "delete")
    assert deleted.height == 4 and set(deleted["actor"]) == {"cleaner"}
    assert reset_cases(engine, actor="cleaner").deleted == 0


def test_settings_are_stored_changed_deleted_and_audited(engine: Engine) -> None:
    write_setting(engine, "child_population", "380000", actor="ada")
    write_setting(engine, "mean_commitment_hours", "4", actor="ada")
    assert read_settings(engine) == {"child_population": "380000", "mean_commitment_hours": "4"}
    write_setting(engine, "child_population", "380000", actor="ada")  # unchanged: nothing written
    write_setting(engine, "child_population", "113000", actor="max")
    write_setting(engine, "mean_commitment_hours", None, actor="max")
    write_setting(engine, "never_set", None, actor="max")
    assert read_settings(engine) == {"child_population": "113000"}
    audit = audit_entries(engine, limit=None, entity="setting")
    assert audit["action"].to_list() == ["delete", "update", "create", "create"]
    change = audit.filter(pl.col("action") == "update").row(0, named=True)
    assert change["actor"] == "max" and change["entity_id"] == "child_population"
    assert json.loads(change["before"]) == {"key": "child_population", "value": "380000"}
    assert json.loads(change["after"]) == {"key": "child_population", "value": "113000"}
    with pytest.raises(InputError):
        write_setting(engine, " ", "1", actor="max")
    with pytest.raises(ValueError, match="actor"):
        write_setting(engine, "x", "1", actor="")


def test_many_cases_in_one_import(engine: Engine) -> None:
    n = 3_000
    t0 = utc(2020, 1, 1)
    many = pl.DataFrame(
        {
            "case_id": [f"C{i:05d}" for i in range(n)],
            "notified_at": [t0 + timedelta(hours=7 * i, minutes=i % 60) for i in range(n)],
            "age_years": [i % 18 for i in range(n)],
            "age_days": [(i % 365) if i % 18 == 0 else None for i in range(n)],
            "jar_criteria_met": [i % 25 != 0 for i in range(n)],
            "jar_triggered": [i % 5 != 0 for i in range(n)],
            "paediatrician_at": [t0 + timedelta(hours=7 * i + 2) if i % 3 else None for i in range(n)],
            "category": ["SUDI" if i % 18 == 0 else "trauma" for i in range(n)],
        }
    ).with_columns(pl.col("notified_at", "paediatrician_at").dt.cast_time_unit("us"))
    counts = import_cases(engine, many, actor="bulk")
    assert counts.created == n
    loaded = load_cases(engine)
    assert loaded.height == n
    expected = many.select(
        [pl.col(c) if c in many.columns else pl.lit(None, dtype=t).alias(c) for c, t in CASES_SCHEMA.items()]
    ).cast(CASES_SCHEMA)  # type: ignore[arg-type]
    expected = expected.with_columns(pl.lit("not_recorded").alias("reason_category"))  # derived at import
    assert_frame_equal(loaded, expected)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CASE_RECORD)).scalar_one() == n
    assert import_cases(engine, many, actor="bulk").unchanged == n
