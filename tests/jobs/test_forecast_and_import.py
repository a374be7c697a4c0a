"""The nightly forecast refresh (its stored JSON is what the dashboard reads) and the watched import folder
(each item imported all or nothing, then moved to done/ or failed/ with a report beside it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.jobs import forecast_refresh, import_watch, latest_forecast
from rota.storage.alerts import job_runs
from rota.storage.rota import load_rota
from rota.storage.settings import write_setting
from tests.jobs.conftest import NOW, settings_for


def test_forecast_refresh_stores_the_next_91_days_for_the_dashboard(engine: Engine) -> None:
    assert latest_forecast(engine) is None
    write_setting(engine, "child_population", "250000", actor="test")
    outcome = forecast_refresh(engine, settings_for(), now=NOW)
    assert outcome.status == "ok", outcome.message
    stored = latest_forecast(engine)
    assert stored is not None
    created_at, payload = stored
    assert created_at == NOW
    assert payload["start"] == "2026-12-01T00:00:00+00:00" and payload["end"] == "2027-03-02T00:00:00+00:00"
    assert {r["rule_id"] for r in payload["rules"]} >= {"paediatrician", "sio-16-17"}
    assert payload["expected_cases"] > 0
    later = NOW.replace(day=2)
    forecast_refresh(engine, settings_for(), now=later)
    assert latest_forecast(engine) == (later, latest_forecast(engine)[1])  # type: ignore[index]


def test_a_forecast_that_cannot_be_made_is_a_failed_run_with_the_reason(engine: Engine) -> None:
    outcome = forecast_refresh(engine, settings_for(), now=NOW)  # no cases and no child population
    assert outcome.status == "failed"
    assert "no child population configured" in outcome.message
    assert job_runs(engine, "forecast-refresh")["status"].to_list() == ["failed"]
    assert latest_forecast(engine) is None


GOOD_SHIFTS = "shift_id,responder_id,start,end\nW1,S1,2026-12-06 12:00,2026-12-06 16:00\n"
BAD_SHIFTS = (
    "shift_id,responder_id,start,end\n"
    "W2,NOBODY,2026-12-06 12:00,2026-12-06 16:00\n"
    "W3,S1,2026-12-06 18:00,2026-12-06 17:00\n"
)
RESPONDERS = "responder_id,name,role,agency\nS2,DS Kim Example,sio,Vale Police\n"
TRAINING = "responder_id,competency,valid_from,valid_until\nS2,jar,2025-01-01,\n"


def _settled(path: Path, seconds_ago: float = 60) -> None:
    past = time.time() - seconds_ago
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (past, past))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "shifts-week49.csv").write_text(GOOD_SHIFTS)
    (folder / "shifts-bad.csv").write_text(BAD_SHIFTS)
    bundle = folder / "police-bundle"
    bundle.mkdir()
    (bundle / "responders.csv").write_text(RESPONDERS)
    (bundle / "training.csv").write_text(TRAINING)
    (folder / "notes.txt").write_text("not a rota")
    for item in folder.iterdir():
        _settled(item)
    (folder / "shifts-still-copying.csv").write_text(GOOD_SHIFTS)  # just written: must wait
    (folder / ".shifts.csv.part").write_text("half a fi")  # a temporary name: ignored
    return folder


def test_import_watch_files_good_items_in_done_and_bad_ones_in_failed(engine: Engine, inbox: Path) -> None:
    settings = settings_for(ROTA_IMPORT_WATCH=inbox)
    outcome = import_watch(engine, settings, now=NOW)
    assert outcome.status == "failed"  # a refused file needs someone to look
    assert "1 still being written" in outcome.message
    done = sorted(p.name for p in (inbox / "done").iterdir())
    assert done == [
        "20261201-120000-police-bundle",
        "20261201-120000-police-bundle.report.txt",
        "20261201-120000-shifts-week49.csv",
        "20261201-120000-shifts-week49.csv.report.txt",
    ]
    failed = sorted(p.name for p in (inbox / "failed").iterdir())
    assert failed == [
        "20261201-120000-notes.txt",
        "20261201-120000-notes.txt.report.txt",
        "20261201-120000-shifts-bad.csv",
        "20261201-120000-shifts-bad.csv.report.txt",
    ]
    report = (inbox / "failed" / "20261201-120000-shifts-bad.csv.report.txt").read_text()
    assert report.startswith("shifts-bad.csv was NOT imported: nothing from it was stored.")
    assert "2 problems" in report
    assert "shifts-bad.csv, line 2, column responder_id" in report and "line 3" in report
    done_report = (inbox / "done" / "20261201-120000-shifts-week49.csv.report.txt").read_text()
    assert done_report == (
        "shifts-week49.csv was imported on 01/12/2026 12:00 GMT by the watched folder: shifts: 1 created\n"
    )
    # what was good is stored, all of it; nothing of the bad file is
    rota = load_rota(engine)
    assert "S2" in rota.responders["responder_id"].to_list()
    assert rota.shifts.filter(pl.col("shift_id") == "W1").height == 1
    assert rota.shifts.filter(pl.col("shift_id").is_in(["W2", "W3"])).height == 0
    # the file still being written and the temporary one are where they were
    assert sorted(p.name for p in inbox.iterdir()) == [
        ".shifts.csv.part",
        "done",
        "failed",
        "shifts-still-copying.csv",
    ]
    _settled(inbox / "shifts-still-copying.csv")
    again = import_watch(engine, settings, now=NOW.replace(minute=1))
    assert (
        again.status == "ok"
        and "shifts-still-copying.csv -> done/20261201-120100-shifts-still-copying.csv" in (again.message)
    )
    assert import_watch(engine, settings, now=NOW).message == "nothing to import"


def test_import_watch_without_its_folder(engine: Engine, tmp_path: Path) -> None:
    assert import_watch(engine, settings_for(), now=NOW).message.startswith("nothing to watch")
    missing = import_watch(engine, settings_for(ROTA_IMPORT_WATCH=tmp_path / "nope"), now=NOW)
    assert missing.status == "failed" and "does not exist" in missing.message
