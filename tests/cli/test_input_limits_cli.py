"""The input limits through the real command line: each defect found in review is bad input (exit 2, the
file, line and column, what to do), never an internal error, and the database is left exactly as it was;
the commands that read the stored rota keep working."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from rota.storage.db import make_engine
from tests.cli.dbdump import dump

Run = Callable[..., tuple[int, str, str]]

CASES = """case_id,notified_at,age_years,jar_criteria_met,jar_triggered,paediatrician_at
C1,2026-10-24 10:00,3,yes,yes,2026-10-24 11:00
"""


@pytest.fixture
def loaded(run: Run, bundle: Path, db_url: str) -> str:
    assert run("--db", db_url, "init")[0] == 0
    code, _, err = run("--db", db_url, "import", str(bundle))
    assert code == 0, err
    return db_url


def refused(run: Run, db_url: str, *argv: str) -> str:
    """Run a command that must be refused as bad input; return its message."""
    before = dump(db_url)
    code, _, err = run("--db", db_url, *argv)
    assert code == 2, err
    assert err.startswith("rota: error:") and "Traceback" not in err and "internal error" not in err
    assert dump(db_url) == before
    return err


def still_works(run: Run, db_url: str, tmp_path: Path) -> None:
    for argv in (
        ("gaps", "--start", "2026-10-24", "--end", "2026-10-27"),
        ("coverage", "--start", "2026-10-24", "--end", "2026-10-25", "--format", "csv"),
        ("export", str(tmp_path / "export")),
        ("jobs", "run", "training-expiry"),
    ):
        code, _, err = run("--db", db_url, *argv)
        assert code == 0, (argv, err)


@pytest.mark.parametrize("column", ["valid_from", "valid_until"])
@pytest.mark.parametrize("value", ["0000-01-01", "9999-12-31"])
def test_training_dated_year_0_or_9999_is_refused_and_nothing_breaks(
    run: Run, loaded: str, bundle: Path, tmp_path: Path, column: str, value: str
) -> None:
    row = f"P1,extra,{value},\n" if column == "valid_from" else f"P1,extra,2020-01-01,{value}\n"
    training = bundle / "training.csv"
    training.write_text(training.read_text() + row)
    err = refused(run, loaded, "import", str(bundle))
    assert f"training.csv, line 7, column {column}: '{value}' is outside the accepted dates" in err
    err = refused(run, loaded, "import", str(training))
    assert "training.csv, line 7" in err
    still_works(run, loaded, tmp_path)


def test_cases_in_year_0_and_steps_before_the_notification_are_refused(
    run: Run, loaded: str, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text(
        CASES + "C2,0000-01-01 10:00,3,yes,yes,\nC3,2026-10-24 10:00,3,yes,yes,2026-10-24 09:00\n"
    )
    err = refused(run, loaded, "import", str(cases))
    assert "cases.csv, line 3, column notified_at: '0000-01-01 10:00' is outside" in err
    assert "cases.csv, line 4, column paediatrician_at: paediatrician_at 2026-10-24 09:00 is before" in err
    assert refused(run, loaded, "completion", "--cases", str(cases))
    assert refused(
        run, loaded, "forecast", "--cases", str(cases), "--start", "2026-11-01", "--end", "2026-11-02"
    )


@pytest.mark.parametrize("command", ["gaps", "coverage", "forecast", "ics"])
@pytest.mark.parametrize("bound", ["--start", "--end"])
def test_command_line_dates_outside_the_range_are_refused(
    run: Run, loaded: str, command: str, bound: str
) -> None:
    argv = [command, bound, "0000-01-01" if bound == "--start" else "9999-12-31"]
    if command == "ics":
        argv += ["--responder", "P1"]
    err = refused(run, loaded, *argv)
    assert "outside the accepted dates" in err


def test_an_xlsm_workbook_is_refused_saying_to_save_as_xlsx(run: Run, loaded: str, tmp_path: Path) -> None:
    book = tmp_path / "rota.xlsx"
    assert run("--db", loaded, "export", str(book))[0] == 0
    xlsm = book.with_suffix(".xlsm")
    shutil.copy(book, xlsm)
    for argv in (("import", str(xlsm)), ("import", str(xlsm), "--kind", "shifts")):
        err = refused(run, loaded, *argv)
        assert "rota.xlsm: only .xlsx workbooks are read, not .xlsm files" in err
        assert "cannot tell what this CSV holds" not in err


@pytest.mark.parametrize("count", [str(2**63), str(2**63 - 1), "1001", "0"])
def test_min_count_out_of_bounds_is_refused_with_its_line(
    run: Run, loaded: str, bundle: Path, count: str
) -> None:
    (bundle / "rules.toml").write_text(f'# rules\n[[rule]]\nid = "r"\nrole = "sio"\nmin_count = {count}\n')
    err = refused(run, loaded, "import", str(bundle))
    assert "rules.toml, line 2, column rule 1: rule r: min_count must be a whole number from 1 to 1000" in err
    code, _, err = run("gaps", "--bundle", str(bundle), "--start", "2026-10-24", "--end", "2026-10-25")
    assert code == 2 and "rules.toml, line 2" in err


def test_deeply_nested_rules_toml_is_refused(run: Run, loaded: str, bundle: Path) -> None:
    (bundle / "rules.toml").write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    assert "rules.toml: not valid rules: values are nested too deeply" in refused(
        run, loaded, "import", str(bundle)
    )


def test_cr_only_line_endings_are_refused(run: Run, loaded: str, bundle: Path) -> None:
    shifts = bundle / "shifts.csv"
    shifts.write_bytes(shifts.read_bytes().replace(b"\n", b"\r"))
    assert "shifts.csv: its lines end in a carriage return only" in refused(
        run, loaded, "import", str(bundle)
    )


def test_duplicate_training_and_absence_keys_are_named_by_file_and_line(
    run: Run, loaded: str, bundle: Path
) -> None:
    for name in ("training.csv", "absences.csv"):
        path = bundle / name
        lines = path.read_text().splitlines()
        path.write_text("\n".join([*lines, lines[1]]) + "\n")
    err = refused(run, loaded, "import", str(bundle))
    assert (
        "training.csv, line 7, column valid_from: P1's jar training from 2020-01-01 is already on line 2"
        in err
    )
    assert "absences.csv, line 3, column start: A1's absence from" in err


def test_a_newline_in_a_name_is_refused_at_import(run: Run, loaded: str, bundle: Path) -> None:
    responders = bundle / "responders.csv"
    responders.write_bytes(responders.read_bytes().replace(b"Dr Ada Testwood", b'"Dr Ada\rTestwood"'))
    err = refused(run, loaded, "import", str(bundle))
    assert "responders.csv, line 2, column name: name holds a control character (a carriage return)" in err


def test_rota_ics_writes_any_stored_text_on_one_line(run: Run, loaded: str, tmp_path: Path) -> None:
    engine = make_engine(loaded)
    with engine.begin() as conn:  # as a database written by hand or by an older version may hold
        conn.execute(
            text("UPDATE responder SET name = :n, role = :r WHERE responder_id = 'P1'"),
            {"n": "Dr Ada\nTestwood\r\x1b[31m", "r": "paed\niatrician"},
        )
    engine.dispose()
    code, out, err = run("--db", loaded, "ics", "--responder", "P1", "--start", "2026-10-01")
    assert code == 0, err
    assert "SUMMARY:JAR paed iatrician on call: Dr Ada Testwood [31m" in out
    assert "\x1b" not in out


@pytest.mark.parametrize("today", ["1900-06-01", "2100-06-01", "0000-01-01"])
def test_demo_keeps_its_data_within_the_accepted_dates(run: Run, tmp_path: Path, today: str) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, _, err = run("--db", url, "demo", "--today", today)
    assert code == 2 and err.startswith("rota: error: --today") and "internal error" not in err
    assert not (tmp_path / "demo.db").exists()
