"""Reading cases.csv: types, pseudonymised data only, and every problem listed with file, line, column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from rota.analytics.cases import CASES_SCHEMA, identifying, read_cases
from rota.errors import InputError

HEADER = "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,police_at"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        read_cases(path)
    return [str(p) for p in info.value.problems]


def test_reads_types_booleans_and_blank_times(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER},category\n"
        "C-0001,2026-06-10 10:00,0,12,yes,1,2026-06-10T12:00Z,sudi\n"
        "C-0002,10/06/2026 11:00,16,,true,no,,\n"
        "\n"
        "C-0003,2026-06-10T12:00+01:00,3,,0,false,,\n",
    )
    df = read_cases(path)
    assert df.schema == pl.Schema(CASES_SCHEMA)
    assert df.get_column("case_id").to_list() == ["C-0001", "C-0002", "C-0003"]
    assert df.get_column("notified_at").to_list() == [
        datetime(2026, 6, 10, 9, 0, tzinfo=UTC),
        datetime(2026, 6, 10, 10, 0, tzinfo=UTC),
        datetime(2026, 6, 10, 11, 0, tzinfo=UTC),
    ]
    assert df.get_column("age_days").to_list() == [12, None, None]
    assert df.get_column("jar_criteria_met").to_list() == [True, True, False]
    assert df.get_column("jar_triggered").to_list() == [True, False, False]
    assert df.get_column("police_at").to_list() == [datetime(2026, 6, 10, 12, 0, tzinfo=UTC), None, None]
    assert df.get_column("category").to_list() == ["sudi", None, None]
    assert df.get_column("home_visit_at").null_count() == 3


@pytest.mark.parametrize(
    "column", ["postcode", "Post Code", "NHS number", "nhs_number", "Date_of_Birth", "DOB"]
)
def test_identifying_column_is_refused(tmp_path: Path, column: str) -> None:
    path = write(tmp_path, f"{HEADER},{column}\nC-0001,2026-06-10 10:00,3,,yes,yes,,X\n")
    assert problems(path) == [
        f"cases.csv, line 1, column {column}: cases.csv holds pseudonymised data only: "
        f"column {column!r} identifies a child; remove it"
    ]


def test_identifying_names() -> None:
    assert all(identifying(c) for c in ("name", "First Name", "surname", "address_line_1", "NHS_No"))
    assert not any(identifying(c) for c in ("case_id", "category", "reason_incomplete"))


def test_nonexistent_and_ambiguous_local_times_name_file_line_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "C-0001,2026-03-29 01:30,3,,yes,yes,\n"
        "C-0002,2026-10-25T01:30+01:00,3,,yes,yes,2026-10-25 01:30\n"
        "C-0003,2026-03-29T01:30+00:00,3,,yes,yes,\n",
    )
    found = problems(path)
    assert len(found) == 2
    assert found[0].startswith("cases.csv, line 2, column notified_at: 2026-03-29 01:30 does not exist")
    assert found[1].startswith("cases.csv, line 3, column police_at: 2026-10-25 01:30 happens twice")


def test_all_problems_listed_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,colour\n"
        "C-0001,2026-06-10 10:00,18,,maybe,yes,x\n"
        "C-0001,,4,100,yes,,x\n"
        "C-0002,2026-06-10 10:00,0,365,yes,no,x\n"
        "C-0003,2026-06-10 10:00,3\n",
    )
    found = problems(path)
    assert found[0].startswith("cases.csv, line 1, column colour: unknown column")
    joined = "\n".join(found)
    for expected in (
        "line 2, column age_years: '18' is not an age in whole years from 0 to 17",
        "line 2, column jar_criteria_met: 'maybe' is not true or false",
        "line 3, column notified_at: notified_at is blank; it is required",
        "line 3, column jar_triggered: jar_triggered is blank; it is required",
        "line 3, column age_days: age_days is for infants only",
        "line 3, column case_id: duplicate case_id 'C-0001' (first on line 2)",
        "line 4, column age_days: '365' is not an age in whole days from 0 to 364",
        "line 5: has 3 fields but the header has 7",
    ):
        assert expected in joined


def test_missing_required_column_and_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,notified_at,age_years,jar_triggered\nC-0001,2026-06-10 10:00,3,yes\n")
    assert problems(path) == [
        "cases.csv, line 1, column jar_criteria_met: required column is missing from the header"
    ]
    assert problems(write(tmp_path, "")) == [
        "cases.csv: the file is empty; it needs a header line naming the columns"
    ]
    with pytest.raises(InputError, match="no such file"):
        read_cases(tmp_path / "absent.csv")
