"""Completion measures, periods and splits (docs/cases.md), with fictional pseudonymised cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from rota.analytics.cases import parse_cases
from rota.analytics.completion import COLUMNS, MEASURES, completion, measures, planning_deadline
from rota.bundle import read_bundle

HEADER = (
    "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,"
    "paediatrician_at,police_at,home_visit_at,planning_meeting_at,ncmd_notified_at"
)


def cases(*rows: str) -> pl.DataFrame:
    return parse_cases(("\n".join([HEADER, *rows]) + "\n").encode())


def met(df: pl.DataFrame, measure: str) -> list[bool]:
    return measures(df).get_column(measure).to_list()


def test_elapsed_time_boundaries() -> None:
    df = cases(
        "C-0001,2026-06-10 10:00,3,,yes,yes,"
        "2026-06-10 14:00,2026-06-10 14:00,2026-06-11 10:00,,2026-06-12 10:00",
        "C-0002,2026-06-10 10:00,3,,yes,yes,"
        "2026-06-10 14:01,2026-06-10 14:01,2026-06-11 10:01,,2026-06-12 10:01",
        "C-0003,2026-06-10 10:00,3,,yes,yes,,,,,",
    )
    for measure in ("paediatrician", "police", "home_visit", "ncmd_notification"):
        assert met(df, measure) == [True, False, False], measure


def test_four_hours_are_real_hours_across_the_october_clock_change() -> None:
    # 00:30 BST is 23:30 UTC; 03:30 GMT is four real hours later though only three on the wall clock
    df = cases(
        "C-0001,2026-10-25T00:30+01:00,3,,yes,yes,2026-10-25 04:30,2026-10-25T03:30Z,,,",
        "C-0002,2026-10-25T00:30+01:00,3,,yes,yes,2026-10-25 03:30,2026-10-25 03:31,,,",
    )
    assert met(df, "police") == [True, False]
    assert met(df, "paediatrician") == [False, True]


def test_planning_deadline_skips_weekends_and_england_bank_holidays() -> None:
    end_of = lambda d: planning_deadline(d)  # noqa: E731
    assert end_of(date(2026, 6, 12)) == datetime(2026, 6, 16, 23, 0, tzinfo=UTC)  # Fri -> end of Tue (BST)
    assert end_of(date(2026, 6, 13)) == datetime(2026, 6, 16, 23, 0, tzinfo=UTC)  # Sat -> end of Tue
    assert end_of(date(2026, 6, 10)) == datetime(2026, 6, 12, 23, 0, tzinfo=UTC)  # Wed -> end of Fri
    # Christmas 2026: Fri 25 and Mon 28 (Boxing Day observed) are bank holidays -> Tue 29, Wed 30
    assert end_of(date(2026, 12, 24)) == datetime(2026, 12, 31, 0, 0, tzinfo=UTC)
    # Easter 2027: Good Friday 26 March, Easter Monday 29 March -> Tue 30, Wed 31
    assert end_of(date(2027, 3, 25)) == datetime(2027, 3, 31, 23, 0, tzinfo=UTC)


def test_planning_meeting_measure_over_weekend_and_christmas() -> None:
    df = cases(
        "C-0001,2026-06-12 15:00,3,,yes,yes,,,,2026-06-16 23:59,",
        "C-0002,2026-06-12 15:00,3,,yes,yes,,,,2026-06-17 00:00,",
        "C-0003,2026-06-13 09:00,3,,yes,yes,,,,2026-06-16 18:00,",
        "C-0004,2026-12-24 10:00,3,,yes,yes,,,,2026-12-30 16:00,",
        "C-0005,2026-12-24 10:00,3,,yes,yes,,,,2026-12-31 09:00,",
        "C-0006,2027-03-25 10:00,3,,yes,yes,,,,2027-03-31 23:30,",
        "C-0007,2027-03-25 10:00,3,,yes,yes,,,,,",
    )
    assert met(df, "planning_meeting") == [True, False, True, True, False, True, False]


def test_fully_completed_needs_every_measure_and_criteria_filter() -> None:
    full = "2026-06-10 11:00,2026-06-10 11:00,2026-06-10 12:00,2026-06-11 09:00,2026-06-10 12:00"
    df = cases(
        f"C-0001,2026-06-10 10:00,3,,yes,yes,{full}",
        f"C-0002,2026-06-10 10:00,3,,yes,no,{full}",
        f"C-0003,2026-06-10 10:00,3,,no,yes,{full}",
    )
    m = measures(df)
    assert m.get_column("case_id").to_list() == ["C-0001", "C-0002"]
    assert m.get_column("fully_completed").to_list() == [True, False]
    out = completion(df, by="year")
    assert out.columns == list(COLUMNS)
    assert out.get_column("measure").to_list() == list(MEASURES)
    row = out.filter(pl.col("measure") == "fully_completed").row(0, named=True)
    assert row == {
        "period": "2026",
        "split": "all",
        "measure": "fully_completed",
        "numerator": 1,
        "denominator": 2,
        "rate": 0.5,
    }


def _periods(df: pl.DataFrame, by: str) -> dict[str, int]:
    out = completion(df, by=by).filter(pl.col("measure") == "jar_triggered")
    return dict(zip(out.get_column("period").to_list(), out.get_column("denominator").to_list(), strict=True))


def test_periods_use_local_time_and_have_no_holes() -> None:
    df = cases(
        "C-0001,2026-03-31T23:30Z,3,,yes,yes,,,,,",  # 00:30 BST on 1 April
        "C-0002,2026-03-31T22:30Z,3,,yes,yes,,,,,",  # 23:30 BST on 31 March
        "C-0003,2026-06-30T23:30Z,3,,yes,yes,,,,,",  # 1 July
        "C-0004,2027-01-01 00:30,3,,yes,yes,,,,,",
    )
    months = _periods(df, "month")
    assert list(months)[:5] == ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    assert months["2026-03"] == 1 and months["2026-04"] == 1 and months["2026-05"] == 0
    assert months["2026-07"] == 1 and months["2027-01"] == 1 and len(months) == 11
    assert _periods(df, "quarter") == {"2026-Q1": 1, "2026-Q2": 1, "2026-Q3": 1, "2026-Q4": 0, "2027-Q1": 1}
    assert _periods(df, "year") == {"2026": 3, "2027": 1}
    empty_month = completion(df, by="month").filter(pl.col("period") == "2026-05")
    assert empty_month.get_column("rate").null_count() == len(MEASURES)


def _split_counts(df: pl.DataFrame, split: str, **kw: object) -> dict[str, int]:
    out = completion(df, by="year", split=split, **kw).filter(pl.col("measure") == "jar_triggered")  # type: ignore[arg-type]
    return dict(zip(out.get_column("split").to_list(), out.get_column("denominator").to_list(), strict=True))


def test_age_bands_with_16_17_counted_twice_and_infant_without_days() -> None:
    ages = [("0", "5"), ("0", "27"), ("0", "28"), ("0", ""), ("1", ""), ("4", ""), ("9", ""), ("14", "")]
    ages += [("15", ""), ("16", ""), ("17", "")]
    df = cases(*[f"C-{i:04d},2026-06-10 10:00,{y},{d},yes,yes,,,,," for i, (y, d) in enumerate(ages)])
    assert _split_counts(df, "age_band") == {
        "0-27d": 2,
        "28-364d": 1,
        "0-364d": 1,
        "1-4": 2,
        "5-9": 1,
        "10-14": 1,
        "15-17": 3,
        "16-17": 2,
    }


def test_hours_split_weekdays_nine_to_five_not_bank_holidays() -> None:
    times = [
        "2026-06-15 09:00",  # Monday: in
        "2026-06-15 16:59",  # in
        "2026-06-15 17:00",  # out
        "2026-06-15 08:59",  # out
        "2026-06-13 12:00",  # Saturday: out
        "2026-08-31 12:00",  # Late Summer Bank Holiday Monday: out
        "2026-12-28 11:00",  # Boxing Day (observed): out
        "2026-12-29 11:00",  # Tuesday: in
    ]
    df = cases(*[f"C-{i:04d},{t},3,,yes,yes,,,,," for i, t in enumerate(times)])
    assert _split_counts(df, "hours") == {"in_hours": 3, "out_of_hours": 5}


RULES = """
[[rule]]
id = "paed"
role = "paediatrician"
age_band = "0-15"

[[rule]]
id = "sio-weekend-16-17"
role = "sio"
age_band = "16-17"
windows = ["Sat,Sun 00:00-24:00"]
"""


def test_coverage_split_with_a_tiny_rota(tmp_path: Path) -> None:
    files = {
        "responders.csv": "responder_id,name,role\nP-01,Dr Test Example,paediatrician\n",
        "training.csv": "responder_id,competency,valid_from\nP-01,jar,2020-01-01\n",
        "shifts.csv": "responder_id,start,end\nP-01,2026-06-15 09:00,2026-06-15 17:00\n",
        "absences.csv": "responder_id,start,end\n",
        "rules.toml": RULES,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    rota = read_bundle(tmp_path)
    df = cases(
        "C-0001,2026-06-15 10:00,5,,yes,yes,,,,,",  # paediatrician on shift: covered
        "C-0002,2026-06-15 17:00,5,,yes,yes,,,,,",  # shift has ended: uncovered
        "C-0003,2026-06-15 10:00,16,,yes,yes,,,,,",  # weekend SIO rule outside its window: covered
        "C-0004,2026-06-13 10:00,16,,yes,yes,,,,,",  # Saturday, no SIO: uncovered
        "C-0005,2026-06-15 16:59,0,3,yes,no,,,,,",  # covered
    )
    assert _split_counts(df, "coverage", rota=rota) == {"covered": 3, "uncovered": 2}
    triggered = completion(df, by="year", split="coverage", rota=rota).filter(
        pl.col("measure") == "jar_triggered"
    )
    assert triggered.get_column("numerator").to_list() == [2, 2]


def test_no_cases_and_bad_arguments() -> None:
    df = cases("C-0001,2026-06-10 10:00,3,,no,yes,,,,,")
    out = completion(df)
    assert out.height == 0 and out.columns == list(COLUMNS)
    with pytest.raises(ValueError, match="by must be"):
        completion(df, by="week")
    with pytest.raises(ValueError, match="needs a rota"):
        completion(df, split="coverage")


def test_coverage_split_matches_the_engine_case_by_case_on_the_demo() -> None:
    """`covered` cuts the rota down to the shifts holding a case's instant; each answer must be the engine's
    own answer for that one instant (no gap in any rule for the child's age)."""
    from rota.analytics.completion import covered
    from rota.demo import build_demo
    from rota.demo_cases import build_demo_cases
    from rota.engine import gaps
    from rota.rules import age_in_band

    today = date(2026, 11, 25)
    rota = build_demo(today)
    cases = build_demo_cases(today, rota).head(60)
    flags = covered(cases, rota).to_list()
    assert True in flags and False in flags
    for row, flag in zip(cases.iter_rows(named=True), flags, strict=True):
        t = row["notified_at"]
        found = gaps(rota, t, t + timedelta(seconds=1))
        mine = [g for g in found.get_column("age_band").to_list() if age_in_band(row["age_years"], g)]
        assert flag == (not mine), row["case_id"]
