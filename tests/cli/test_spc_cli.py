"""`rota spc FILE --column C`: JSON by default (docs/commands.md), a table on request, bad input exits 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]
VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def series(tmp_path: Path) -> Path:
    return write(tmp_path, "month,rate\n" + "".join(f"m{i},{v}\n" for i, v in enumerate(VIGNETTE)))


def test_json_by_default_with_spec_keys(run: Run, series: Path) -> None:
    code, out, err = run("spc", str(series), "--column", "rate")
    assert code == 0, err
    data = json.loads(out)
    assert {"mean", "upl", "lpl", "points", "variation_icon", "assurance_icon"} <= set(data)
    assert (round(data["mean"], 2), round(data["upl"], 2), round(data["lpl"], 2)) == (1.94, 6.95, -3.06)
    assert all(set(p) == {"value", "signal", "type"} for p in data["points"])
    assert [p["value"] for p in data["points"]] == VIGNETTE
    assert data["points"][4] == {"value": 10, "signal": "above_upl", "type": "special_cause_neutral"}
    assert data["variation_icon"] == "common_cause"
    assert data["assurance_icon"] is None


def test_options_improvement_target_baseline(run: Run, series: Path) -> None:
    code, out, err = run(
        "spc", str(series), "--column", "rate", "--improvement", "down", "--target", "8", "--baseline", "4"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["mean"] == 1.5 and data["baseline"] == 4
    assert data["points"][4]["type"] == "special_cause_concern"
    assert data["assurance_icon"] == "consistent_pass"


def test_table_and_csv_formats(run: Run, series: Path) -> None:
    code, out, _ = run("spc", str(series), "--column", "rate", "--format", "table")
    assert code == 0
    assert "mean 1.944" in out and "above_upl" in out and "variation: common_cause" in out
    code, out, _ = run("--format", "csv", "spc", str(series), "--column", "rate")
    assert code == 0
    assert out.splitlines()[0] == "point,value,signal,type"
    assert out.splitlines()[5] == "5,10.0,above_upl,special_cause_neutral"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("month,rate\nm1,1\nm2,\nm3,2\n", "series.csv, line 3, column rate: blank value"),
        ("month,rate\nm1,1\nm2,lots\nm3,2\n", "series.csv, line 3, column rate: 'lots' is not a number"),
        ("month,rate\nm1,1\nm2,nan\nm3,2\n", "line 3, column rate: 'nan' is not a finite number"),
        ("month,rate\nm1,1\nm2\nm3,2\n", "line 3, column rate: blank value"),
        (
            "month,count\nm1,1\nm2,2\n",
            "series.csv, line 1, column rate: no such column; the columns are: month",
        ),
        ("month,rate\nm1,1\n", "at least 2 points are needed, got 1"),
        ("", "the file is empty"),
    ],
)
def test_bad_files_exit_2(run: Run, tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    code, out, err = run("spc", str(path), "--column", "rate")
    assert code == 2
    assert out == ""
    assert expected in err
    assert "Traceback" not in err


def test_every_bad_value_is_named(run: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "month,rate\nm1,x\nm2,2\nm3,\n")
    code, _, err = run("spc", str(path), "--column", "rate")
    assert code == 2
    assert "2 problems" in err and "line 2, column rate" in err and "line 4, column rate" in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--baseline", "19"], "longer than the series"),
        (["--baseline", "1"], "--baseline 1: the baseline needs at least 2 points"),
        (["--target", "nan"], "--target nan is not a finite number"),
        (["--improvement", "sideways"], "invalid choice"),
        (["--baseline", "two"], "invalid int value"),
    ],
)
def test_bad_options_exit_2(run: Run, series: Path, extra: list[str], expected: str) -> None:
    code, _, err = run("spc", str(series), "--column", "rate", *extra)
    assert code == 2
    assert expected in err


def test_missing_file_exits_2(run: Run, tmp_path: Path) -> None:
    code, _, err = run("spc", str(tmp_path / "nope.csv"), "--column", "rate")
    assert code == 2
    assert "nope.csv: no such file" in err
    code, _, err = run("spc", str(tmp_path), "--column", "rate")
    assert code == 2
    assert "is a folder" in err
