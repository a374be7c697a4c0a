"""Reads of case-level data are written to the audit log; commissioners get PermissionDenied and nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.errors import PermissionDenied
from rota.services.access import Actor
from rota.services.cases import case_rows, import_cases_file
from rota.services.completion import case_list, case_table, completion_view
from rota.storage.audit import audit_entries
from rota.storage.db import init_db

MANAGER = Actor("mia", "cdop_manager")
COMMISSIONER = Actor("cara", "commissioner", "ICB")
COORDINATOR = Actor("cody", "coordinator", "Police")

CASES = (
    "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,paediatrician_at,category,reason_incomplete\n"
    "JAR-2025-0001,2025-01-06 10:00,3,yes,yes,2025-01-06 11:00,SUDC,\n"
    "JAR-2025-0002,2025-02-06 22:00,16,yes,yes,,trauma,no trained paediatrician on call\n"
)


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    eng = init_db(db_url)
    path = tmp_path / "cases.csv"
    path.write_text(CASES, encoding="utf-8")
    import_cases_file(eng, MANAGER, path)
    try:
        yield eng
    finally:
        eng.dispose()


def reads(engine: Engine) -> pl.DataFrame:
    return audit_entries(engine, limit=None, entity="cases").filter(pl.col("action") == "read")


def test_reading_the_case_list_writes_an_audit_row(engine: Engine) -> None:
    rows = case_list(engine, MANAGER, only_incomplete=True, via="case list")
    assert rows["case_id"].to_list() == ["JAR-2025-0002", "JAR-2025-0001"]  # neither fully completed
    found = reads(engine)
    assert found.height == 1
    entry = found.row(0, named=True)
    assert entry["actor"] == "mia" and entry["entity_id"] == "case list" and entry["at"] is not None
    what = json.loads(entry["after"])
    assert what == {"via": "case list", "period": "all", "rows": 2, "filter": "responses not fully completed"}
    assert "JAR-2025" not in entry["after"] and "paediatrician" not in entry["after"]  # no child data


def test_every_service_serving_case_rows_audits_each_call(engine: Engine) -> None:
    view = completion_view(engine, MANAGER, include_cases=True)
    case_list(engine, MANAGER, view, via="download csv")
    case_table(engine, MANAGER)
    case_rows(engine, MANAGER)
    assert sorted(reads(engine)["entity_id"].to_list()) == ["case list", "case rows", "download csv"]


@pytest.mark.parametrize("actor", [COMMISSIONER, COORDINATOR])
def test_others_get_permission_denied_and_nothing(engine: Engine, actor: Actor) -> None:
    before = audit_entries(engine, limit=None).height
    for call in (
        lambda: case_list(engine, actor),
        lambda: case_table(engine, actor),
        lambda: case_rows(engine, actor),
        lambda: completion_view(engine, actor, include_cases=True),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert audit_entries(engine, limit=None).height == before
