"""`rota completion --cases FILE`: JSON columns, splits, and exit 2 for bad input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]

CASES = """case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,police_at
C-0001,2026-10-25T00:30+01:00,16,,yes,yes,2026-10-25T03:30Z
C-0002,2026-10-25 13:00,3,,yes,no,
C-0003,2026-10-26 08:30,0,,no,yes,
"""


def write(tmp_path: Path, text: str = CASES) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_has_exactly_the_columns_and_numeric_rates(run: Run, tmp_path: Path) -> None:
    code, out, err = run("completion", "--cases", str(write(tmp_path)), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 7
    assert all(list(r) == ["period", "split", "measure", "numerator", "denominator", "rate"] for r in rows)
    police = next(r for r in rows if r["measure"] == "police")
    assert police == {
        "period": "2026-10",
        "split": "all",
        "measure": "police",
        "numerator": 1,
        "denominator": 2,
        "rate": 0.5,
    }
    assert all(isinstance(r["rate"], int | float) for r in rows)


def test_csv_by_quarter_split_by_age_band(run: Run, tmp_path: Path) -> None:
    code, out, err = run(
        "completion",
        "--cases",
        str(write(tmp_path)),
        "--by",
        "quarter",
        "--split",
        "age_band",
        "--format",
        "csv",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    triggered = {r["split"]: r["denominator"] for r in rows if r["measure"] == "jar_triggered"}
    assert triggered["1-4"] == "1" and triggered["15-17"] == "1" and triggered["16-17"] == "1"
    assert triggered["0-364d"] == "0"  # C-0003 does not meet the JAR criteria
    assert {r["period"] for r in rows} == {"2026-Q4"}


def test_coverage_split_uses_the_bundle(run: Run, tmp_path: Path, bundle: Path) -> None:
    code, out, err = run(
        "completion", "--cases", str(write(tmp_path)), "--split", "coverage", "--bundle", str(bundle),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    rows = [r for r in json.loads(out) if r["measure"] == "jar_triggered"]
    # C-0001 (16) needs the SIO 16-17 rule, which S1 (no jar-16-17) cannot meet; C-0002 is covered
    assert [(r["split"], r["denominator"]) for r in rows] == [("covered", 1), ("uncovered", 1)]


def test_table_output(run: Run, tmp_path: Path) -> None:
    code, out, err = run("completion", "--cases", str(write(tmp_path)), "--by", "year")
    assert code == 0, err
    # for people: plain names of the cases and measures, rates as per cents (csv and json keep the codes)
    assert out.splitlines()[0].split() == ["period", "cases", "measure", "met", "of", "rate"]
    assert "All cases" in out and "Paediatrician within 4 hours" in out and "paediatrician " not in out
    assert all(line.endswith("%") or line.rstrip().endswith("rate") for line in out.splitlines()[2:])


def test_bad_input_exits_2(run: Run, tmp_path: Path) -> None:
    path = write(tmp_path, CASES.replace("police_at\n", "police_at,postcode\n", 1))
    code, out, err = run("completion", "--cases", str(path), "--format", "json")
    assert code == 2 and out == ""
    assert "column 'postcode' identifies a child; remove it" in err

    path = write(tmp_path, CASES.replace("2026-10-25 13:00", "2026-10-25 01:15"))
    code, _, err = run("completion", "--cases", str(path))
    assert code == 2
    assert "cases.csv, line 3, column notified_at: 2026-10-25 01:15 happens twice" in err


def test_without_cases_it_reads_the_stored_cases(run: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    code, out, err = run("--db", db, "completion")
    assert code == 2 and out == "" and "rota init" in err  # no database yet
    assert run("--db", db, "init")[0] == 0
    code, out, err = run("--db", db, "completion", "--format", "json")
    assert code == 0 and out.strip() == "[]" and "no cases are stored" in err
    assert run("--db", db, "import", str(write(tmp_path)))[0] == 0
    code, out, err = run("--db", db, "completion", "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)) == 7
    code, _, err = run("completion", "--cases", "x.csv", "--by", "week")
    assert code == 2 and "week" in err


def test_an_older_database_is_told_to_run_init(run: Run, tmp_path: Path) -> None:
    from sqlalchemy import text

    from rota.storage.db import init_db

    db = f"sqlite:///{tmp_path / 'old.db'}"
    engine = init_db(db)
    with engine.begin() as conn:  # as if made before cases were stored
        conn.execute(text("DROP TABLE case_record"))
    engine.dispose()
    code, _, err = run("--db", db, "completion")
    assert code == 2 and "run `rota init`" in err and "Traceback" not in err
