"""`rota import` of cases (alone or beside a bundle), `rota completion` from the stored cases, and `rota demo`
storing its cases and the child population setting: all or nothing, exit 2 with file/line/column."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from rota.analytics.cases import TIME_COLUMNS
from rota.storage.audit import audit_entries
from rota.storage.cases import load_cases
from rota.storage.db import make_engine
from rota.storage.rota import load_rota
from rota.storage.settings import read_settings

Run = Callable[..., tuple[int, str, str]]

CASES = (
    "\n".join(
        [
            "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,paediatrician_at,police_at,"
            "home_visit_at,planning_meeting_at,ncmd_notified_at,category,reason_incomplete",
            "JAR-2026-0001,2026-10-24 07:40,0,95,yes,yes,2026-10-24 09:10,2026-10-24 10:00,2026-10-24 15:00,"
            "2026-10-27 11:00,2026-10-25 09:00,SUDI,",
            "JAR-2026-0002,2026-10-25T01:30+01:00,16,,yes,no,,,,,2026-10-26 12:00,trauma,"
            "ED consultant not aware of JAR",
            "JAR-2026-0003,2026-10-25 12:45,3,,yes,yes,2026-10-25 18:00,2026-10-25 13:30,,"
            "2026-10-28 10:00,,SUDC,no trained paediatrician on call",
            "JAR-2026-0004,26/10/2026 08:45,0,20,no,no,,,,,,unknown,",
        ]
    )
    + "\n"
)


def write(folder: Path, text: str = CASES, name: str = "cases.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def stored_cases(db_url: str) -> pl.DataFrame:
    engine = make_engine(db_url)
    try:
        return load_cases(engine)
    finally:
        engine.dispose()


def test_import_cases_by_file_name_then_unchanged_then_updated(run: Run, db_url: str, tmp_path: Path) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    path = write(tmp_path)
    code, out, err = run("--db", db_url, "import", str(path), "--actor", "max")
    assert code == 0, err
    assert "cases: 4 created" in out
    got = stored_cases(db_url)
    assert got["case_id"].to_list() == ["JAR-2026-0001", "JAR-2026-0002", "JAR-2026-0003", "JAR-2026-0004"]
    assert str(got["notified_at"][1]) == "2026-10-25 00:30:00+00:00"  # 01:30 BST
    code, out, _ = run("--db", db_url, "import", str(path))
    assert code == 0 and "4 unchanged" in out
    write(tmp_path, CASES.replace("SUDC", "trauma"))
    code, out, _ = run("--db", db_url, "import", str(path))
    assert code == 0 and "1 updated, 3 unchanged" in out
    engine = make_engine(db_url)
    try:
        audit = audit_entries(engine, limit=None, entity="case")
    finally:
        engine.dispose()
    assert audit.height == 5 and set(audit.filter(pl.col("action") == "create")["actor"]) == {"max"}


def test_import_with_kind_cases_and_replace(run: Run, db_url: str, tmp_path: Path) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    path = write(tmp_path, name="cdop-extract-2026.csv")
    code, _, err = run("--db", db_url, "import", str(path))
    assert code == 2 and "--kind" in err  # the name does not say what it holds
    code, out, err = run("--db", db_url, "import", str(path), "--kind", "cases")
    assert code == 0, err
    fewer = write(tmp_path, "\n".join(CASES.splitlines()[:3]) + "\n", name="fewer.csv")
    code, out, err = run("--db", db_url, "import", str(fewer), "--kind", "cases", "--replace")
    assert code == 0, err
    assert "2 deleted" in out and "2 unchanged" in out
    assert stored_cases(db_url).height == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("JAR-2026-0005,2026-03-29 01:30,4,,yes,yes,,,,,,,", ["cases.csv", "line 6", "notified_at"]),
        ("JAR-2026-0005,2026-11-01 09:00,18,,yes,yes,,,,,,,", ["cases.csv", "line 6", "age_years"]),
        ("JAR-2026-0001,2026-11-01 09:00,4,,yes,yes,,,,,,,", ["cases.csv", "line 6", "case_id", "duplicate"]),
        ("JAR-2026-0005,2026-11-01 09:00,4,,maybe,yes,,,,,,,", ["cases.csv", "line 6", "jar_criteria_met"]),
        ("JAR-2026-0005,2026-11-01 09:00,4,,yes,yes,soon,,,,,,", ["cases.csv", "line 6", "paediatrician_at"]),
    ],
)
def test_a_bad_row_exits_2_and_stores_nothing(
    run: Run, db_url: str, tmp_path: Path, line: str, expected: list[str]
) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    path = write(tmp_path, CASES + line + "\n")
    code, out, err = run("--db", db_url, "import", str(path))
    assert code == 2, out
    for text in expected:
        assert text in err, (text, err)
    assert "Traceback" not in err
    assert stored_cases(db_url).height == 0


def test_identifying_columns_are_refused(run: Run, db_url: str, tmp_path: Path) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    lines = CASES.splitlines()
    text = "\n".join([lines[0] + ",NHS Number"] + [row + ",4857773456" for row in lines[1:]]) + "\n"
    code, _, err = run("--db", db_url, "import", str(write(tmp_path, text)))
    assert code == 2
    assert "cases.csv, line 1, column NHS Number" in err and "pseudonymised" in err
    assert stored_cases(db_url).height == 0


def test_a_bundle_folder_with_cases_imports_both_or_nothing(
    run: Run, db_url: str, bundle: Path, tmp_path: Path
) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    write(bundle, CASES + "JAR-2026-0009,2026-11-01 09:00,4,,yes,yes,later,,,,,,\n")
    code, _, err = run("--db", db_url, "import", str(bundle))
    assert code == 2 and "cases.csv, line 6, column paediatrician_at" in err
    engine = make_engine(db_url)
    try:
        assert load_rota(engine).responders.height == 0  # the good rota files were not stored either
    finally:
        engine.dispose()
    assert stored_cases(db_url).height == 0
    write(bundle)
    code, out, err = run("--db", db_url, "import", str(bundle))
    assert code == 0, err
    assert "responders: 3 created" in out and "cases: 4 created" in out
    assert stored_cases(db_url).height == 4


def test_problems_in_the_rota_and_the_cases_are_reported_together(
    run: Run, db_url: str, bundle: Path
) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    (bundle / "shifts.csv").write_text(
        (bundle / "shifts.csv").read_text(encoding="utf-8")
        + "X9,NOBODY,2026-10-25 13:00,2026-10-25 14:00,\n",
        encoding="utf-8",
    )
    write(bundle, CASES + "JAR-2026-0001,2026-11-01 09:00,4,,yes,yes,,,,,,,\n")
    code, _, err = run("--db", db_url, "import", str(bundle))
    assert code == 2
    assert "shifts.csv, line 6" in err and "cases.csv, line 6, column case_id" in err


def csv_of(cases: pl.DataFrame) -> str:
    """A cases.csv of a frame: local times with their offsets, booleans as true/false."""
    out = cases.with_columns(
        *(
            pl.col(c).dt.convert_time_zone("Europe/London").dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
            for c in TIME_COLUMNS
        ),
        pl.col("jar_criteria_met", "jar_triggered").cast(pl.String).str.to_lowercase(),
    )
    return out.write_csv()


def test_completion_from_the_stored_cases_equals_completion_from_the_file(
    run: Run, db_url: str, bundle: Path, tmp_path: Path
) -> None:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    path = write(tmp_path)
    code, out, err = run("--db", db_url, "completion", "--format", "json")
    assert code == 0 and json.loads(out) == [] and "no cases are stored" in err
    assert run("--db", db_url, "import", str(bundle))[0] == 0
    assert run("--db", db_url, "import", str(path))[0] == 0
    for split in ("none", "hours", "age_band", "coverage"):
        args = ("completion", "--split", split, "--by", "quarter", "--format", "json")
        code, from_db, err = run("--db", db_url, *args)
        assert code == 0, err
        code, from_file, err = run("--db", db_url, *args, "--cases", str(path))
        assert code == 0, err
        assert json.loads(from_db) == json.loads(from_file), split
        assert json.loads(from_db)


def test_demo_stores_its_cases_and_the_child_population(run: Run, db_url: str, tmp_path: Path) -> None:
    code, out, err = run("--db", db_url, "demo", "--today", "2026-03-10")
    assert code == 0, err
    cases = stored_cases(db_url)
    assert f"Demo cases: {cases.height} pseudonymised cases" in out
    assert 120 <= cases.height <= 240
    engine = make_engine(db_url)
    try:
        assert read_settings(engine)["child_population"] == "380000"
    finally:
        engine.dispose()
    # the stored cases are the file's: completion agrees either way, split by the stored rota's cover
    path = write(tmp_path, csv_of(cases))
    args = ("completion", "--split", "coverage", "--by", "year", "--format", "json")
    from_db = json.loads(run("--db", db_url, *args)[1])
    from_file = json.loads(run("--db", db_url, *args, "--cases", str(path))[1])
    assert from_db == from_file
    uncovered = [r for r in from_db if r["split"] == "uncovered" and r["measure"] == "paediatrician"]
    assert sum(r["denominator"] for r in uncovered) > 0
    # a second demo replaces the cases with the same ones
    code, out, _ = run("--db", db_url, "demo", "--today", "2026-03-10")
    assert code == 0 and f"({cases.height} unchanged)" in out


def test_bad_cases_never_show_a_traceback_in_a_real_process(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    path = write(tmp_path, CASES.replace("2026-10-25 12:45", "2026-13-25 12:45"))
    subprocess.run([sys.executable, "-m", "rota.cli", "--db", db, "init"], check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "rota.cli", "--db", db, "import", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "cases.csv, line 4, column notified_at" in done.stderr
    assert "Traceback" not in done.stderr
