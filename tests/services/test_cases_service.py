"""Case data through the services: only the CDOP manager and administrators import cases or read them case
by case, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.errors import InputError, PermissionDenied
from rota.services.access import Actor, can_import_cases
from rota.services.cases import case_rows, import_cases_file
from rota.storage.audit import audit_entries
from rota.storage.cases import count_cases
from rota.timeutil import SERVICE_TZ, parse_bound

ADMIN = Actor("ada", "admin")
MANAGER = Actor("max", "cdop_manager")
COORD = Actor("pat", "coordinator", "Vale Police")
COMMISSIONER = Actor("cal", "commissioner")

CASES = """case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,paediatrician_at,category
JAR-2026-0001,2026-01-03 07:40,0,95,yes,yes,2026-01-03 09:10,SUDI
JAR-2026-0002,2026-02-14 22:15,17,,yes,no,,trauma
"""


@pytest.fixture
def cases_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(CASES, encoding="utf-8")
    return path


def test_roles_that_may_import_cases() -> None:
    assert [can_import_cases(a) for a in (ADMIN, MANAGER, COORD, COMMISSIONER)] == [True, True, False, False]


@pytest.mark.parametrize("actor", [MANAGER, ADMIN])
def test_manager_and_admin_import_and_read_cases(engine: Engine, cases_csv: Path, actor: Actor) -> None:
    counts = import_cases_file(engine, actor, cases_csv, SERVICE_TZ)
    assert counts.created == 2
    rows = case_rows(engine, actor)
    assert rows["case_id"].to_list() == ["JAR-2026-0001", "JAR-2026-0002"]
    assert rows["paediatrician_at"][0] == parse_bound("2026-01-03 09:10", SERVICE_TZ)
    february = case_rows(engine, actor, parse_bound("2026-02-01"), parse_bound("2026-03-01"))
    assert february["case_id"].to_list() == ["JAR-2026-0002"]
    audit = audit_entries(engine, limit=None, entity="case")
    assert set(audit["actor"]) == {actor.username}
    summary = audit_entries(engine, limit=None, entity="cases").filter(pl.col("action") == "import")
    assert summary["entity_id"].to_list() == ["cases.csv"]
    # both reads are audited too (entity "cases", action "read"), with the period and number of rows
    reads = audit_entries(engine, limit=None, entity="cases").filter(pl.col("action") == "read")
    assert reads.height == 2 and set(reads["actor"]) == {actor.username}


@pytest.mark.parametrize("actor", [COORD, COMMISSIONER])
def test_coordinators_and_commissioners_may_not_import_or_read_cases(
    engine: Engine, cases_csv: Path, actor: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        import_cases_file(engine, actor, cases_csv, SERVICE_TZ)
    assert count_cases(engine) == 0
    import_cases_file(engine, MANAGER, cases_csv, SERVICE_TZ)
    with pytest.raises(PermissionDenied):
        case_rows(engine, actor)


def test_permission_is_checked_before_the_file_is_read(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        import_cases_file(engine, COMMISSIONER, tmp_path / "missing.csv", SERVICE_TZ)


def test_a_bad_file_stores_nothing(engine: Engine, cases_csv: Path) -> None:
    cases_csv.write_text(CASES + "JAR-2026-0003,2026-03-29 01:30,4,,yes,yes,,\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_cases_file(engine, MANAGER, cases_csv, SERVICE_TZ)
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.column) == ("cases.csv", 4, "notified_at")
    assert count_cases(engine) == 0


def test_replace_through_the_service(engine: Engine, cases_csv: Path, tmp_path: Path) -> None:
    import_cases_file(engine, MANAGER, cases_csv, SERVICE_TZ)
    one = tmp_path / "one.csv"
    one.write_text("\n".join(CASES.splitlines()[:2]) + "\n", encoding="utf-8")
    counts = import_cases_file(engine, MANAGER, one, SERVICE_TZ, replace=True)
    assert (counts.deleted, counts.unchanged) == (1, 1)
    assert case_rows(engine, MANAGER).select(pl.col("case_id")).to_series().to_list() == ["JAR-2026-0001"]
