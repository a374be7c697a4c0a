"""Hostile probes, run again with new variants (docs/security.md): someone with a legitimate account, or a
file dropped by another system, tries to change or read what it may not. Each probe goes in through an
entry point a person would use (the upload the Rota editor calls, the `rota` command, the watched folder)
and checks that the database is exactly as it was and that nothing leaked into a message or a report."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.bundle import write_workbook
from rota.cli import main
from rota.errors import PermissionDenied
from rota.jobs import import_watch
from rota.model import Rota
from rota.services.access import COORDINATOR, Actor
from rota.services.editing import apply_import, preview_import, save_changes, week_csv, week_rota
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from tests.cli.dbdump import dump
from tests.jobs.conftest import NOW, settings_for, small_rota

POLICE = Actor("pc", COORDINATOR, "Vale Police")  # coordinates S1; P1 is Vale Hospitals', A1 the ambulance's
SECRET = "s3cret-first-line-of-a-private-file"


def _domain(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every table but the record of job runs (a refused file still makes a failed run)."""
    return {k: v for k, v in dump(url).items() if k != "job_run"}


@pytest.fixture
def stored(db_url: str) -> Iterator[tuple[Engine, str]]:
    engine = init_db(db_url)
    import_rota(engine, small_rota(), actor="test")
    try:
        yield engine, db_url
    finally:
        engine.dispose()


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


def _workbook(tmp_path: Path, rota: Rota) -> bytes:
    path = tmp_path / "upload.xlsx"
    write_workbook(rota, path, NOW.tzinfo)  # type: ignore[arg-type]
    return path.read_bytes()


S1_ONLY = "responder_id,name,role,agency\nS1,DI Bram Fictor,sio,Vale Police\n"


def _foreign_uploads(tmp_path: Path) -> dict[str, tuple[str, bytes]]:
    """Uploads by the police coordinator, each reaching into another agency's records a new way."""
    stored_rota = small_rota()
    training_of_p1 = Rota(
        responders=stored_rota.responders.filter(pl.col("responder_id") == "S1"),
        training=stored_rota.training.filter(pl.col("responder_id") == "P1"),
    )
    return {
        "a workbook renewing another agency's training": (
            "rota.xlsx",
            _workbook(tmp_path, training_of_p1),
        ),
        "a zipped bundle giving another agency's responder leave": (
            "bundle.zip",
            _zip(
                {
                    "responders.csv": S1_ONLY,
                    "absences.csv": "responder_id,start,end,reason\nP1,2026-12-02 08:00,2026-12-02 20:00,x\n",
                }
            ),
        ),
        "a stored shift of another agency, kept on its own responder": (
            "shifts.csv",
            b"shift_id,responder_id,start,end\nP1-3,P1,2026-11-23 00:00,2026-11-23 01:00\n",
        ),
        "an own responder moved to another agency": (
            "responders.csv",
            b"responder_id,name,role,agency\nS1,DI Bram Fictor,sio,Vale Hospitals\n",
        ),
        "another agency's responder claimed as one's own": (
            "responders.csv",
            b"responder_id,name,role,agency\nP1,Dr Ada Testwood,paediatrician,Vale Police\n",
        ),
        "a zipped bundle bringing coverage rules": (
            "bundle.zip",
            _zip(
                {
                    "responders.csv": S1_ONLY,
                    "rules.toml": '[[rule]]\nid = "sio"\nrole = "sio"\nmin_count = 1\n',
                }
            ),
        ),
        "a zipped bundle bringing cases": (
            "bundle.zip",
            _zip(
                {
                    "responders.csv": S1_ONLY,
                    "cases.csv": "case_id,notified_at,age_years,jar_criteria_met,jar_triggered\n"
                    "C1,2026-11-01 09:00,4,yes,yes\n",
                }
            ),
        ),
        "a shifts file for the ambulance service's responder": (
            "shifts-week49.csv",
            b"shift_id,responder_id,start,end\n,A1,2026-12-06 08:00,2026-12-06 20:00\n",
        ),
    }


@pytest.mark.parametrize(
    "probe",
    [
        "a workbook renewing another agency's training",
        "a zipped bundle giving another agency's responder leave",
        "a stored shift of another agency, kept on its own responder",
        "an own responder moved to another agency",
        "another agency's responder claimed as one's own",
        "a zipped bundle bringing coverage rules",
        "a zipped bundle bringing cases",
        "a shifts file for the ambulance service's responder",
    ],
)
def test_a_coordinator_upload_never_reaches_another_agency(
    stored: tuple[Engine, str], tmp_path: Path, probe: str
) -> None:
    engine, url = stored
    filename, data = _foreign_uploads(tmp_path)[probe]
    before = dump(url)
    preview = preview_import(engine, POLICE, filename, data)
    assert not preview.ok and preview.problems, probe
    with pytest.raises((PermissionDenied, Exception)):
        apply_import(engine, POLICE, preview)
    assert dump(url) == before, probe


def test_a_coordinator_replacing_a_span_removes_only_their_own_shifts(stored: tuple[Engine, str]) -> None:
    engine, _ = stored
    others = load_rota(engine).shifts.filter(pl.col("responder_id") != "S1")
    data = (
        b"shift_id,responder_id,start,end\n"
        b",S1,2026-11-22 00:00,2026-11-29 00:00\n,S1,2026-12-03 00:00,2026-12-10 00:00\n"
    )
    preview = preview_import(engine, POLICE, "shifts.csv", data)
    assert preview.ok, preview.problems
    apply_import(engine, POLICE, preview, replace_span=True)
    after = load_rota(engine).shifts
    assert after.filter(pl.col("responder_id") != "S1").sort("shift_id").equals(others.sort("shift_id"))


def test_zip_member_paths_cannot_write_outside(stored: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = stored
    before = dump(url)
    data = _zip({"../../escaped/responders.csv": S1_ONLY, "/abs/shifts.csv": "shift_id,responder_id\n"})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        preview_import(engine, POLICE, "bundle.zip", data)
    finally:
        os.chdir(cwd)
    assert not any(p.name == "escaped" for p in tmp_path.parent.parent.rglob("escaped"))
    assert not Path("/abs").exists()
    assert dump(url) == before


# --------------------------------------------------------------------------------------- the command line

Run = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("text", "leaks"),
    [
        ("Mr John Example", ("John", "Example")),
        ("seen by Dr Smith at home", ("Smith",)),
        ("DOB 03/04/2019", ("03/04/2019",)),
        ("born 3 March 2019", ("March 2019",)),
        ("lives at SW1A 1AA", ("SW1A", "1AA")),
        ("NHS 943 476 5919", ("943 476 5919",)),
        ("9434765919", ("9434765919",)),
    ],
)
def test_identifying_free_text_in_cases_is_refused_and_never_echoed(
    run: Run, stored: tuple[Engine, str], tmp_path: Path, text: str, leaks: tuple[str, ...]
) -> None:
    _, url = stored
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,reason_incomplete\n"
        f'C1,2026-11-01 09:00,4,yes,yes,"{text}"\n'
    )
    before = dump(url)
    code, out, err = run("--db", url, "import", str(cases))
    assert code == 2, err
    assert "cases.csv, line 2, column reason_incomplete" in err
    assert "Traceback" not in err
    for leak in leaks:
        assert leak not in err and leak not in out, (leak, err)
    assert dump(url) == before


@pytest.mark.parametrize(
    ("valid_from", "ok"),
    [("1899-12-31", False), ("1900-01-01", True), ("2100-12-31", True), ("2101-01-01", False)],
)
def test_the_date_range_holds_at_both_ends_on_the_upload_path(
    stored: tuple[Engine, str], valid_from: str, ok: bool
) -> None:
    engine, url = stored
    before = dump(url)
    data = f"responder_id,competency,valid_from\nS1,jar-refresher,{valid_from}\n".encode()
    preview = preview_import(engine, POLICE, "training.csv", data)
    assert preview.ok is ok, preview.problems
    if not ok:
        [problem] = preview.problems
        assert (problem.file, problem.line, problem.column) == ("training.csv", 2, "valid_from")
        assert dump(url) == before


# --------------------------------------------------------------------------------------- the watched folder


def _settled(path: Path) -> None:
    past = time.time() - 120
    os.utime(path, (past, past), follow_symlinks=False)


def _watch(engine: Engine, inbox: Path) -> tuple[str, str]:
    outcome = import_watch(engine, settings_for(ROTA_IMPORT_WATCH=inbox), now=NOW)
    return outcome.status, outcome.message


def _reports(inbox: Path) -> str:
    return "".join(p.read_text() for p in inbox.rglob("*.report.txt"))


def test_a_bundle_folder_that_is_a_symlink_is_not_followed(
    stored: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = stored
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "responders.csv").write_text(f"responder_id,name,role\n{SECRET},x,sio\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "bundle").symlink_to(outside, target_is_directory=True)
    _settled(inbox / "bundle")
    before = _domain(url)
    status, message = _watch(engine, inbox)
    assert status == "failed"
    assert SECRET not in message and SECRET not in _reports(inbox)
    assert (outside / "responders.csv").read_text().startswith("responder_id")  # left where it was
    assert _domain(url) == before


def test_a_file_name_with_control_characters_is_reported_on_one_line(
    stored: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = stored
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "shifts\n\x1b[31mred.csv"
    (inbox / name).write_text(
        "shift_id,responder_id,start,end\nW1,NOBODY,2026-12-06 08:00,2026-12-06 09:00\n"
    )
    _settled(inbox / name)
    before = _domain(url)
    status, message = _watch(engine, inbox)
    assert status == "failed"
    assert "\n" not in message and "\x1b" not in message
    assert "\x1b" not in _reports(inbox)
    assert _domain(url) == before


def test_identifying_text_dropped_in_the_folder_stays_out_of_the_report(
    stored: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = stored
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cases = inbox / "cases.csv"
    cases.write_text(
        "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,reason_incomplete\n"
        'C1,2026-11-01 09:00,4,yes,yes,"family of Mrs Jane Example, 943 476 5919"\n'
    )
    _settled(cases)
    before = _domain(url)
    status, message = _watch(engine, inbox)
    assert status == "failed"
    report = _reports(inbox)
    assert "line 2" in report
    for leak in ("Jane", "Example", "943 476 5919"):
        assert leak not in report and leak not in message
    assert _domain(url) == before


def test_an_empty_file_is_refused_cleanly(stored: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = stored
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "shifts.csv").write_bytes(b"")
    _settled(inbox / "shifts.csv")
    before = _domain(url)
    status, _ = _watch(engine, inbox)
    assert status == "failed"
    assert "shifts.csv" in _reports(inbox)
    assert _domain(url) == before


# ------------------------------------------------------------------------------------ what leaves the product


def test_a_formula_saved_through_the_grid_leaves_as_text(stored: tuple[Engine, str]) -> None:
    """A coordinator stores a reason that a spreadsheet would run; the week's CSV download neutralises it."""
    engine, _ = stored
    from datetime import date, datetime

    from rota.services.editing import Change, absence_row

    start = datetime(2026, 12, 8, 9, tzinfo=NOW.tzinfo)
    end = datetime(2026, 12, 8, 17, tzinfo=NOW.tzinfo)
    row = absence_row("S1", start, end, '=HYPERLINK("http://example.org/x","click")')
    result = save_changes(engine, POLICE, [Change("absence", "create", after=row)])
    assert result.created == 1, result
    view = week_rota(engine, POLICE, date(2026, 12, 7))
    text = week_csv(view, "absence").decode()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run
