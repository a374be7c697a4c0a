"""What `rota export` and `--format csv` write is safe to open in a spreadsheet (text cells that would run as
a formula get a leading ') and still imports back unchanged."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from tests.cli.test_import_export import stored

Run = Callable[..., tuple[int, str, str]]

HOSTILE_RESPONDERS = """responder_id,name,role,agency,email,active
P1,"=HYPERLINK(""http://x"")",paediatrician,"+cmd|' /C calc'!A0",,true
S1,-2+3,sio,+44 7700 900123,,true
A1,@SUM(1),ambulance,'=Bob,,true
"""
HOSTILE_TRAINING = """responder_id,competency,valid_from,valid_until
P1,jar,2020-01-01,
S1,jar,2020-01-01,
A1,jar,2020-01-01,
"""
HOSTILE_SHIFTS = """shift_id,responder_id,start,end,kind
X1,P1,2026-10-24 09:00,2026-10-24 17:00,oncall
"""
# The reason is written with its guard ', so the tab at its start survives the reader's trimming.
HOSTILE_ABSENCES = """responder_id,start,end,reason
A1,2026-10-26 08:00,2026-10-26 09:00,'\tleave
S1,2026-10-27 08:00,2026-10-27 09:00,@home
"""


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, text in {
        "responders.csv": HOSTILE_RESPONDERS,
        "training.csv": HOSTILE_TRAINING,
        "shifts.csv": HOSTILE_SHIFTS,
        "absences.csv": HOSTILE_ABSENCES,
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_export_neutralises_formula_cells_and_imports_back_unchanged(
    run: Run, db_url: str, hostile: Path, tmp_path: Path
) -> None:
    assert run("--db", db_url, "init")[0] == 0
    code, _, err = run("--db", db_url, "import", str(hostile))
    assert code == 0, err
    names = dict(stored(db_url)["responders"].select("responder_id", "name").iter_rows())
    assert names == {"P1": '=HYPERLINK("http://x")', "S1": "-2+3", "A1": "@SUM(1)"}

    out = tmp_path / "export"
    code, _, err = run("--db", db_url, "export", str(out))
    assert code == 0, err
    responders = {r["responder_id"]: r for r in rows(out / "responders.csv")}
    assert responders["P1"]["name"] == '\'=HYPERLINK("http://x")'
    assert responders["P1"]["agency"] == "'+cmd|' /C calc'!A0"
    assert responders["S1"]["name"] == "'-2+3"
    assert responders["S1"]["agency"] == "'+44 7700 900123"
    assert responders["A1"]["name"] == "'@SUM(1)"
    assert responders["A1"]["agency"] == "'=Bob"
    assert sorted(r["reason"] for r in rows(out / "absences.csv")) == ["'\tleave", "'@home"]

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("--db", fresh, "init")[0] == 0
    code, _, err = run("--db", fresh, "import", str(out))
    assert code == 0, err
    original, copy = stored(db_url), stored(fresh)
    for kind in original:
        assert_frame_equal(copy[kind], original[kind])
    assert sorted(copy["absences"]["reason"].to_list()) == ["\tleave", "@home"]


def test_format_csv_neutralises_text_cells(run: Run, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTA_PASSWORD", "Correct-horse-battery-9")
    assert run("--db", db_url, "init")[0] == 0
    agency = '=HYPERLINK("http://x")'
    code, _, err = run("--db", db_url, "users", "add", "bob", "--role", "coordinator", "--agency", agency)
    assert code == 0, err
    code, out, err = run("--db", db_url, "users", "list", "--format", "csv")
    assert code == 0, err
    (row,) = csv.DictReader(io.StringIO(out, newline=""))
    assert row["agency"] == "'" + agency
    assert row["failed_attempts"] == "0"
