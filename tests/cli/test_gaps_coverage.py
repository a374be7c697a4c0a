"""`rota gaps` and `rota coverage` on a bundle and on the stored rota."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]


def test_gaps_json_from_a_bundle_names_the_half_hour_hole(run: Run, bundle: Path) -> None:
    code, out, err = run(
        "gaps", "--bundle", str(bundle), "--start", "2026-10-25", "--end", "2026-10-26", "--format", "json"
    )
    assert code == 0, err
    rows = json.loads(out)
    sio = [r for r in rows if r["rule_id"] == "sio"]
    assert sio == [
        {
            "rule_id": "sio",
            "role": "sio",
            "age_band": "0-15",
            "start": "2026-10-25T12:00:00+00:00",
            "end": "2026-10-25T12:30:00+00:00",
            "required": 1,
            "available": 0,
            "minutes": 30,
        }
    ]
    # S1 holds no jar-16-17, so the 16-17 SIO rule is uncovered the whole (25-hour) day
    sio1617 = [r for r in rows if r["rule_id"] == "sio-16-17"]
    assert [(r["start"], r["end"], r["minutes"]) for r in sio1617] == [
        ("2026-10-25T00:00:00+01:00", "2026-10-26T00:00:00+00:00", 25 * 60)
    ]
    assert {r["rule_id"] for r in rows} == {"sio", "sio-16-17"}


def test_fail_on_gap_exits_3_only_when_a_gap_exists(run: Run, bundle: Path) -> None:
    code, _, _ = run(
        "gaps", "--bundle", str(bundle), "--start", "2026-10-25", "--end", "2026-10-26", "--fail-on-gap"
    )
    assert code == 3
    code, out, _ = run(
        "gaps",
        "--bundle",
        str(bundle),
        "--start",
        "2026-10-25 13:00",
        "--end",
        "2026-10-25 14:00",
        "--fail-on-gap",
    )
    assert code == 3  # the 16-17 SIO gap is still there
    (bundle / "training.csv").write_text(
        (bundle / "training.csv").read_text() + "S1,jar-16-17,2020-01-01,\n", encoding="utf-8"
    )
    code, out, _ = run(
        "gaps",
        "--bundle",
        str(bundle),
        "--start",
        "2026-10-25 13:00",
        "--end",
        "2026-10-25 14:00",
        "--fail-on-gap",
    )
    assert code == 0
    assert "No gaps" in out


def test_coverage_has_25_real_hours_on_the_october_change(run: Run, bundle: Path) -> None:
    code, out, err = run(
        "coverage", "--bundle", str(bundle), "--start", "2026-10-25", "--end", "2026-10-26", "--format", "csv"
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"hour_start", "rule_id", "required", "available", "gap_minutes"} <= set(rows[0])
    hours = sorted({r["hour_start"] for r in rows}, key=datetime.fromisoformat)
    assert len(hours) == 25
    assert hours[1:4] == [
        "2026-10-25T01:00:00+01:00",
        "2026-10-25T01:00:00+00:00",
        "2026-10-25T02:00:00+00:00",
    ]
    noon = next(r for r in rows if r["rule_id"] == "sio" and r["hour_start"] == "2026-10-25T12:00:00+00:00")
    assert (noon["required"], noon["available"], noon["gap_minutes"]) == ("1", "0", "30")
    assert len(rows) == 25 * 6


def test_coverage_has_23_real_hours_on_the_march_change(run: Run, bundle: Path) -> None:
    code, out, err = run(
        "coverage",
        "--bundle",
        str(bundle),
        "--start",
        "2026-03-29",
        "--end",
        "2026-03-30",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert len({r["hour_start"] for r in rows}) == 23
    assert all(r["gap_minutes"] == 60 and r["available"] == 0 for r in rows)  # nobody on duty in March


def test_table_output_is_for_people(run: Run, bundle: Path) -> None:
    code, out, _ = run("gaps", "--bundle", str(bundle), "--start", "2026-10-25", "--end", "2026-10-26")
    assert code == 0
    assert "25/10/2026 12:00 GMT" in out
    assert "30m" in out


def test_stored_rota_gives_the_same_gaps_as_the_bundle(run: Run, bundle: Path, db_url: str) -> None:
    assert run("--db", db_url, "init")[0] == 0
    code, _, err = run("--db", db_url, "import", str(bundle))
    assert code == 0, err
    args = ("--start", "2026-10-24", "--end", "2026-10-27", "--format", "json")
    stored = json.loads(run("--db", db_url, "gaps", *args)[1])
    from_files = json.loads(run("gaps", "--bundle", str(bundle), *args)[1])
    assert stored == from_files
    assert stored  # there are gaps to compare


def test_bad_range_is_a_clear_error(run: Run, bundle: Path) -> None:
    code, _, err = run("gaps", "--bundle", str(bundle), "--start", "2026-10-26", "--end", "2026-10-25")
    assert code == 2
    assert "--end" in err and "after" in err
    code, _, err = run("gaps", "--bundle", str(bundle), "--start", "2026-03-29 01:30", "--end", "2026-03-30")
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err


def test_uninitialised_database_says_run_init(run: Run, bundle: Path, db_url: str) -> None:
    code, _, err = run("--db", db_url, "gaps")
    assert code == 2
    assert "rota init" in err
