"""`rota conflicts`: rota problems that are not gaps, from a bundle or the stored rota, in every format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]
RANGE = ("--start", "2026-10-24", "--end", "2026-10-28")


def with_problems(bundle: Path) -> Path:
    """The shared bundle (A1 is on site through a 1-hour absence) plus an overlap and a short rest for S1."""
    shifts = bundle / "shifts.csv"
    shifts.write_text(
        shifts.read_text(encoding="utf-8")
        + "X5,S1,2026-10-26 23:00,2026-10-27 02:00,oncall\n"  # overlaps X3 (to 27/10 00:00)
        + "X6,S1,2026-10-27 10:00,2026-10-27 12:00,oncall\n",  # 8 h after X5: too little rest
        encoding="utf-8",
    )
    return bundle


def test_json_lists_each_problem_with_exactly_the_contract_fields(run: Run, bundle: Path) -> None:
    code, out, err = run("conflicts", "--bundle", str(with_problems(bundle)), *RANGE, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert all(list(r) == ["kind", "responder_id", "start", "end", "detail"] for r in rows)
    assert [(r["kind"], r["responder_id"], r["start"], r["end"]) for r in rows] == [
        # the shared bundle's 30-minute hole in S1's cover is 30 minutes of rest between two duties
        ("short_rest", "S1", "2026-10-25T12:00:00+00:00", "2026-10-25T12:30:00+00:00"),
        ("shift_during_absence", "A1", "2026-10-26T08:00:00+00:00", "2026-10-26T09:00:00+00:00"),
        ("overlapping_shifts", "S1", "2026-10-26T23:00:00+00:00", "2026-10-27T00:00:00+00:00"),
        ("short_rest", "S1", "2026-10-27T02:00:00+00:00", "2026-10-27T10:00:00+00:00"),
    ]
    assert rows[3]["detail"] == "8h 00m rest between duties (at least 11h 00m)"


def test_csv_table_and_agency(run: Run, bundle: Path) -> None:
    folder = str(with_problems(bundle))
    code, out, _ = run("conflicts", "--bundle", folder, *RANGE, "--format", "csv", "--agency", "Vale Police")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["responder_id"] for r in rows} == {"S1"} and len(rows) == 3
    code, out, _ = run("conflicts", "--bundle", folder, *RANGE)
    assert code == 0
    assert "shift during own absence" in out and "4 rota problems from 24/10/2026 00:00 BST" in out
    code, out, _ = run("conflicts", "--bundle", folder, "--start", "2026-10-24", "--end", "2026-10-25")
    assert code == 0 and out.startswith("No rota problems from 24/10/2026 00:00 BST")


def test_an_unknown_agency_or_a_bad_range_exits_2(run: Run, bundle: Path) -> None:
    code, _, err = run("conflicts", "--bundle", str(bundle), *RANGE, "--agency", "Nowhere Police")
    assert code == 2 and "--agency 'Nowhere Police': no responder of that agency" in err
    assert "Traceback" not in err
    code, _, err = run("conflicts", "--bundle", str(bundle), "--start", "2026-10-25 01:30")
    assert code == 2 and "--start" in err  # the repeated autumn hour, without an offset


def test_the_stored_rota_gives_the_same_problems(run: Run, bundle: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    folder = str(with_problems(bundle))
    assert run("--db", db, "init")[0] == 0
    assert run("--db", db, "import", folder)[0] == 0
    stored = run("--db", db, "conflicts", *RANGE, "--format", "json")
    files = run("conflicts", "--bundle", folder, *RANGE, "--format", "json")
    assert stored[0] == 0 and json.loads(stored[1]) == json.loads(files[1])
