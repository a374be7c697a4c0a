"""The demo cases: pseudonymised, reproducible, about five years, and calibrated where a CDOP manager would
look (volume, age mix, timing, completion out of hours, for 16-17s and in the rota's gaps)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

import polars as pl
import pytest

from rota.analytics.cases import CASE_COLUMNS, CASES_SCHEMA, identifying
from rota.analytics.completion import completion, covered, measures
from rota.demo import build_demo
from rota.demo_cases import CHILD_POPULATION, STEP_COLUMNS, build_demo_cases, demo_cases_summary
from rota.model import Rota
from rota.timeutil import SERVICE_TZ, day_start

TODAY = date(2026, 3, 10)
SEEDS = (7, 8, 9, 10)  # case seeds pooled on one rota for the calibration checks (about 680 cases)


@cache
def rota(today: date = TODAY) -> Rota:
    return build_demo(today)


@cache
def cases(seed: int = 7, today: date = TODAY) -> pl.DataFrame:
    return build_demo_cases(today, rota(today), seed)


@cache
def pooled() -> pl.DataFrame:
    return pl.concat([cases(s).with_columns(pl.lit(s).alias("seed")) for s in SEEDS])


def local(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("notified_at").dt.convert_time_zone("Europe/London").alias("local"))


def eligible(df: pl.DataFrame) -> pl.DataFrame:
    return local(df.filter(pl.col("jar_criteria_met")))


def rate(df: pl.DataFrame, measure: str) -> float:
    m = measures(df)
    return float(m.get_column(measure).mean())  # type: ignore[arg-type]


def test_columns_types_and_nothing_identifying() -> None:
    df = cases()
    assert dict(df.schema) == CASES_SCHEMA
    assert tuple(df.columns) == CASE_COLUMNS
    assert not [c for c in df.columns if identifying(c)]
    # references carry the year and the order of notification, nothing else
    assert all(re.fullmatch(r"JAR-\d{4}-\d{4}", x) for x in df["case_id"])
    assert df["case_id"].n_unique() == df.height
    years = local(df).select(pl.col("local").dt.year().cast(pl.String)).to_series()
    assert (df["case_id"].str.slice(4, 4) == years).all()
    for column in ("case_id", "notified_at", "age_years", "jar_criteria_met", "jar_triggered", "category"):
        assert df[column].null_count() == 0, column


def test_same_seed_same_cases_and_another_seed_other_cases() -> None:
    again = build_demo_cases(TODAY, build_demo(TODAY), 7)
    assert again.equals(cases(7))
    assert not cases(8).equals(cases(7))


def test_about_five_years_up_to_the_start_of_today() -> None:
    df = cases()
    start, end = day_start(date(2021, 3, 10)), day_start(TODAY)
    assert df["notified_at"].min() >= start  # type: ignore[operator]
    assert df["notified_at"].max() < end  # type: ignore[operator]
    assert df["notified_at"].min() < start + timedelta(days=120)  # type: ignore[operator]
    assert df["notified_at"].max() > end - timedelta(days=120)  # type: ignore[operator]
    assert df["notified_at"].is_sorted()
    for column in STEP_COLUMNS:
        done = df.filter(pl.col(column).is_not_null())
        assert (done[column] > done["notified_at"]).all(), column
        assert (done[column] < end).all(), column


def test_the_demo_rota_spans_the_cases() -> None:
    shifts = rota().shifts
    assert shifts["start"].min() < cases()["notified_at"].min()  # type: ignore[operator]


def test_volume_matches_a_footprint_of_380000_children() -> None:
    assert CHILD_POPULATION == 380_000
    for seed in SEEDS:
        per_year = eligible(cases(seed)).height / 5
        assert 24 <= per_year <= 44, (seed, per_year)  # about 34 JAR-eligible deaths a year
    # a few cases turn out not to meet the JAR criteria
    not_met = pooled().filter(~pl.col("jar_criteria_met")).height / pooled().height
    assert 0.005 <= not_met <= 0.1


def test_age_mix() -> None:
    df = eligible(pooled())
    n = df.height
    infants = df.filter(pl.col("age_years") == 0)
    assert 0.3 <= infants.height / n <= 0.55
    assert 0.14 <= df.filter(pl.col("age_years") >= 16).height / n <= 0.25
    # infants carry age_days, both NCMD infant bands occur, nobody else has age_days
    assert infants["age_days"].null_count() == 0
    assert infants.filter(pl.col("age_days") < 28).height > 0
    assert infants.filter(pl.col("age_days") >= 28).height > infants.filter(pl.col("age_days") < 28).height
    assert (
        df.filter(pl.col("age_years") > 0)["age_days"].null_count()
        == df.filter(pl.col("age_years") > 0).height
    )
    assert set(df["age_years"]) == set(range(18))


def test_infants_are_notified_in_the_morning_and_in_winter() -> None:
    infants = eligible(pooled()).filter(pl.col("age_years") == 0)
    hour = infants["local"].dt.hour()
    morning = hour.is_between(6, 9).mean()
    night = hour.is_between(0, 3).mean()
    assert morning > 0.28  # 4 hours of 24 would hold 0.17
    assert morning > 2 * night  # the peak is discovery, not death
    assert hour.n_unique() >= 20  # but deaths are notified at every hour
    month = infants["local"].dt.month()
    assert month.is_in([12, 1, 2]).sum() > 1.3 * month.is_in([6, 7, 8]).sum()


def test_adolescents_lean_to_the_evening_and_weekends_are_busier() -> None:
    df = eligible(pooled())
    teens = df.filter(pl.col("age_years") >= 13)
    assert teens["local"].dt.hour().is_between(18, 23).mean() > 0.33  # 6 hours of 24 would hold 0.25
    weekend = df["local"].dt.weekday().is_in([6, 7]).mean()
    assert weekend > 2 / 7


def test_out_of_hours_completion_is_lower_than_in_hours() -> None:
    result = completion(pooled(), by="year", split="hours")
    totals = result.group_by("split", "measure").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    rates = {
        (s, m): n / d
        for s, m, n, d in totals.select("split", "measure", "numerator", "denominator").iter_rows()
    }
    for measure in ("paediatrician", "home_visit", "planning_meeting", "fully_completed"):
        assert rates[("out_of_hours", measure)] < rates[("in_hours", measure)], measure
    # about three quarters of JARs start out of hours (docs/domain.md)
    n_in = totals.filter(pl.col("split") == "in_hours", pl.col("measure") == "jar_triggered")["denominator"][
        0
    ]
    n_all = totals.filter(pl.col("measure") == "jar_triggered")["denominator"].sum()
    assert 0.6 <= 1 - n_in / n_all <= 0.9


def test_16_17_year_olds_are_missed_more_often() -> None:
    df = pooled().filter(pl.col("jar_criteria_met"))
    older, younger = df.filter(pl.col("age_years") >= 16), df.filter(pl.col("age_years") < 16)
    assert older["jar_triggered"].mean() < younger["jar_triggered"].mean() - 0.1  # type: ignore[operator]
    assert rate(older, "paediatrician") < rate(younger, "paediatrician")
    assert rate(older, "fully_completed") < rate(younger, "fully_completed")


def test_home_visits_are_the_most_missed_step() -> None:
    df = pooled()
    home = rate(df, "home_visit")
    assert 0.25 <= home <= 0.75  # joint visits 37-75% in published series (docs/domain.md)
    for other in ("paediatrician", "police", "planning_meeting", "ncmd_notification"):
        assert home < rate(df, other), other


def test_cases_in_the_rotas_gaps_complete_less_often_and_say_why() -> None:
    df = pooled()
    flag = covered(df, rota())
    cov, unc = df.filter(flag), df.filter(~flag)
    assert unc.height >= 30
    assert rate(unc, "paediatrician") < rate(cov, "paediatrician") - 0.25
    assert rate(unc, "police") < rate(cov, "police") - 0.2
    assert rate(unc, "fully_completed") < rate(cov, "fully_completed")
    # a gap in the rota is given as the reason only where there was one
    gap = pl.col("reason_incomplete").str.contains("gap in the").fill_null(False)
    assert cov.filter(gap).height == 0
    assert unc.filter(gap).height >= 0.3 * unc.height


def test_a_reason_is_given_exactly_for_incomplete_eligible_cases() -> None:
    df = pooled()
    for seed in SEEDS:
        one = cases(seed)
        full = measures(one).select("case_id", "fully_completed")
        joined = one.filter(pl.col("jar_criteria_met")).join(full, on="case_id")
        has_reason = joined["reason_incomplete"].is_not_null()
        assert (has_reason == ~joined["fully_completed"]).all(), seed
    reasons = set(df["reason_incomplete"].drop_nulls())
    for expected in (
        "no trained paediatrician on call (gap in the rota)",
        "SIO not available (gap in the on-call rota)",
        "ED consultant not aware of JAR for 16-17-year-olds",
        "family declined home visit",
    ):
        assert expected in reasons, expected
    categories = set(df["category"])
    assert {"SUDI", "SUDC", "trauma", "suicide", "unknown"} <= categories


@pytest.mark.parametrize("today", [date(2025, 12, 1), date(2026, 3, 10)])
def test_summary(today: date) -> None:
    df = cases(7, today)
    s = demo_cases_summary(df)
    assert s["cases"] == df.height
    assert s["jar_eligible"] == df.filter(pl.col("jar_criteria_met")).height
    assert isinstance(s["jar_eligible_per_year"], float) and 24 <= s["jar_eligible_per_year"] <= 44
    assert s["last_notified"] < today.isoformat()  # type: ignore[operator]
    assert demo_cases_summary(df.clear()) == {"cases": 0}


def test_works_with_any_tz_and_an_empty_rota() -> None:
    df = build_demo_cases(TODAY, Rota(), seed=3, tz=SERVICE_TZ)
    assert df.height > 100
    # with no responders at all every case is in a gap
    gap = df["reason_incomplete"].str.contains("gap in the").fill_null(False)
    assert gap.mean() > 0.3  # type: ignore[operator]
