"""`rota import` / `rota export` through the command line: all-or-nothing, clear errors, round trips."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rota.storage.db import make_engine
from rota.storage.rota import load_rota

Run = Callable[..., tuple[int, str, str]]


def stored(db_url: str) -> dict[str, pl.DataFrame]:
    engine = make_engine(db_url)
    try:
        rota = load_rota(engine)
    finally:
        engine.dispose()
    return {
        "responders": rota.responders.sort("responder_id"),
        "training": rota.training.sort("responder_id", "competency", "valid_from"),
        "shifts": rota.shifts.sort("shift_id"),
        "absences": rota.absences.sort("responder_id", "start"),
    }


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


# One bad-input class per case: (file to change, how, text that must appear in the error).
BAD_INPUTS = {
    "unknown responder": (
        "shifts.csv",
        lambda p: append(p, "X9,NOBODY,2026-10-25 13:00,2026-10-25 14:00,oncall"),
        ["shifts.csv", "line 6", "responder_id"],
    ),
    "end before start": (
        "shifts.csv",
        lambda p: append(p, "X9,S1,2026-10-25 14:00,2026-10-25 13:00,oncall"),
        ["shifts.csv", "line 6", "end"],
    ),
    "end equals start": (
        "absences.csv",
        lambda p: append(p, "S1,2026-10-25 14:00,2026-10-25 14:00,leave"),
        ["absences.csv", "line 3", "end"],
    ),
    "shift over 7 days": (
        "shifts.csv",
        lambda p: append(p, "X9,S1,2026-11-01 09:00,2026-11-08 09:01,oncall"),
        ["shifts.csv", "line 6", "7 days"],
    ),
    "unknown role": (
        "responders.csv",
        lambda p: append(p, "Z1,Dr Zed Fake,wizard,,,true"),
        ["responders.csv", "line 5", "role", "wizard"],
    ),
    "malformed date": (
        "training.csv",
        lambda p: append(p, "S1,jar-16-17,soon,"),
        ["training.csv", "line 7", "valid_from"],
    ),
    "impossible date": (
        "training.csv",
        lambda p: append(p, "S1,jar-16-17,2026-02-30,"),
        ["training.csv", "line 7", "valid_from"],
    ),
    "impossible time": (
        "shifts.csv",
        lambda p: append(p, "X9,S1,31/04/2026 10:00,2026-05-01 10:00,oncall"),
        ["shifts.csv", "line 6", "start"],
    ),
    "duplicate shift id": (
        "shifts.csv",
        lambda p: append(p, "X1,S1,2026-11-01 09:00,2026-11-01 10:00,oncall"),
        ["shifts.csv", "line 6", "shift_id"],
    ),
    "duplicate responder id": (
        "responders.csv",
        lambda p: append(p, "S1,DI Other Fictor,sio,,,true"),
        ["responders.csv", "line 5", "responder_id"],
    ),
    "nonexistent local time": (
        "shifts.csv",
        lambda p: append(p, "X9,S1,2026-03-29 01:30,2026-03-29 05:00,oncall"),
        ["shifts.csv", "line 6", "start", "does not exist"],
    ),
    "ambiguous local time": (
        "shifts.csv",
        lambda p: append(p, "X9,S1,2026-10-25 01:30,2026-10-25 05:00,oncall"),
        ["shifts.csv", "line 6", "start", "twice"],
    ),
    "unknown column": (
        "shifts.csv",
        lambda p: p.write_text(p.read_text().replace("kind", "kind,colour", 1), encoding="utf-8"),
        ["shifts.csv", "colour"],
    ),
    "binary garbage": (
        "shifts.csv",
        lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 50),
        ["shifts.csv"],
    ),
    "empty file": ("shifts.csv", lambda p: p.write_bytes(b""), ["shifts.csv", "empty"]),
    "missing file": ("responders.csv", lambda p: p.unlink(), ["responders.csv"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_each_bad_input_class_exits_2_naming_file_and_line(
    run: Run, bundle: Path, db_url: str, case: str
) -> None:
    name, spoil, expected = BAD_INPUTS[case]
    assert run("--db", db_url, "init")[0] == 0
    spoil(bundle / name)
    code, _out, err = run("--db", db_url, "import", str(bundle))
    assert code == 2
    assert "Traceback" not in err
    for text in expected:
        assert text.lower() in err.lower(), (case, err)
    assert all(df.height == 0 for df in stored(db_url).values())  # nothing half-written
    # the same bundle checked without a database is refused the same way
    code, _, err = run("gaps", "--bundle", str(bundle), "--start", "2026-10-25", "--end", "2026-10-26")
    assert code == 2
    assert expected[0] in err


def test_import_is_all_or_nothing_and_lists_every_bad_row(run: Run, bundle: Path, db_url: str) -> None:
    assert run("--db", db_url, "init")[0] == 0
    assert run("--db", db_url, "import", str(bundle))[0] == 0
    before = stored(db_url)
    append(bundle / "shifts.csv", "X5,S1,2026-11-01 09:00,2026-11-01 10:00,oncall")  # fine on its own
    append(bundle / "shifts.csv", "X6,S1,2026-11-02 09:00,2026-11-01 10:00,oncall")  # ends before it starts
    append(bundle / "training.csv", "NOBODY,jar,2020-01-01,")  # unknown responder
    code, _, err = run("--db", db_url, "import", str(bundle))
    assert code == 2
    assert "shifts.csv, line 7" in err and "training.csv, line 7" in err
    after = stored(db_url)
    for kind, frame in before.items():
        assert_frame_equal(after[kind], frame)


def test_single_csv_import_uses_stored_responders(
    run: Run, bundle: Path, db_url: str, tmp_path: Path
) -> None:
    assert run("--db", db_url, "init")[0] == 0
    assert run("--db", db_url, "import", str(bundle))[0] == 0
    extra = tmp_path / "more-shifts.csv"
    extra.write_text("responder_id,start,end\nS1,2026-10-25 12:00,2026-10-25 12:30\n", encoding="utf-8")
    code, out, err = run("--db", db_url, "import", str(extra), "--kind", "shifts")
    assert code == 0, err
    assert "1 created" in out
    gaps = json.loads(
        run("--db", db_url, "gaps", "--start", "2026-10-25", "--end", "2026-10-26", "--format", "json")[1]
    )
    assert [g for g in gaps if g["rule_id"] == "sio"] == []  # the half-hour hole is filled


def test_export_then_import_gives_the_same_rota(run: Run, db_url: str, tmp_path: Path) -> None:
    assert run("--db", db_url, "demo", "--today", "2026-10-20")[0] == 0
    out_dir = tmp_path / "export"
    code, _, err = run("--db", db_url, "export", str(out_dir))
    assert code == 0, err
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("--db", fresh, "init")[0] == 0
    code, _, err = run("--db", fresh, "import", str(out_dir))
    assert code == 0, err
    original, copy = stored(db_url), stored(fresh)
    for kind in original:
        assert_frame_equal(copy[kind], original[kind])
    args = ("gaps", "--start", "2026-10-20", "--end", "2026-11-17", "--format", "json")
    assert run("--db", fresh, *args)[1] == run("--db", db_url, *args)[1]
    # and importing the export again changes nothing
    code, out, _ = run("--db", fresh, "import", str(out_dir))
    assert code == 0 and "nothing changed" in out


def test_bad_input_never_shows_a_traceback_in_a_real_process(bundle: Path, tmp_path: Path) -> None:
    (bundle / "shifts.csv").write_bytes(b"\x00\x01\x02garbage\xff")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rota.cli",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "gaps",
            "--bundle",
            str(bundle),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "shifts.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
