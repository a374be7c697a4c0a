"""The demand model: recovers a known model, leans on the national prior when history is short, and its
80% intervals cover 75-90% in rolling-origin backtests on data drawn from a known model."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from rota.analytics.demand import (
    AGE_SHARES,
    HOURS_PER_YEAR,
    Prior,
    count_quantile,
    elementary_bands,
    fit_demand,
    hour_grid,
    prediction_from_moments,
)
from rota.analytics.forecast import backtest
from rota.errors import InputError
from rota.timeutil import SERVICE_TZ, day_start
from tests.analytics.simulate import TrueModel

BANDS = [(0, 15), (16, 17)]
START = datetime(2015, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)


def test_elementary_bands_cut_ages_at_every_rule_edge() -> None:
    assert elementary_bands([(0, 15), (16, 17)]) == [(0, 15), (16, 17)]
    assert elementary_bands([(0, 17), (16, 17)]) == [(0, 15), (16, 17)]
    assert elementary_bands([(2, 9)]) == [(0, 1), (2, 9), (10, 17)]
    assert elementary_bands([]) == [(0, 17)]


def test_age_shares_add_up_to_one() -> None:
    assert len(AGE_SHARES) == 18
    assert math.isclose(sum(AGE_SHARES), 1.0)


def test_hour_grid_lists_real_local_hours_on_both_clock_change_days() -> None:
    spring = hour_grid(day_start(date(2026, 3, 29)), day_start(date(2026, 3, 30)))
    autumn = hour_grid(day_start(date(2026, 10, 25)), day_start(date(2026, 10, 26)))
    assert spring.height == 23
    assert autumn.height == 25
    # the repeated 01:00 hour of the autumn night falls in the same hour-of-day cell twice
    assert autumn.get_column("cell").to_list().count(autumn.get_column("cell")[1]) == 2
    half = hour_grid(datetime(2026, 1, 5, 9, 30, tzinfo=UTC), datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    assert half.get_column("fraction").to_list() == [0.5, 1.0]


def test_count_quantiles_match_published_poisson_values() -> None:
    assert count_quantile(10.0, None, 0.10) == 6
    assert count_quantile(10.0, None, 0.90) == 14
    assert count_quantile(0.0, None, 0.9) == 0
    # the negative binomial is wider than the Poisson with the same mean
    wide = prediction_from_moments(10.0, 30.0)
    assert wide.shape == pytest.approx(5.0)
    assert wide.interval(0.8)[0] < 6 < 14 < wide.interval(0.8)[1]


def test_fit_recovers_a_known_model_within_tolerance() -> None:
    truth = TrueModel(cases_per_year=40.0)
    cases = truth.draw(START, END, seed=11)
    demand = fit_demand(cases, BANDS, START, END)
    # level: cases a year within 12% of the truth (10 years of about 40 cases: standard error about 5%)
    expected = demand.predict(END, END + timedelta(days=365)).mean
    true_year = float(truth.hourly(END, END + timedelta(days=365)).get_column("rate").sum())
    assert expected == pytest.approx(true_year, rel=0.12)
    # the 16-17 band's share
    young, old = demand.models
    assert old.yearly_rate() / (young.yearly_rate() + old.yearly_rate()) == pytest.approx(0.2, abs=0.05)
    # shape, from the sum of the bands over one year of hours
    hourly = demand.hourly(END, END + timedelta(days=365))
    fitted = hourly.get_column("rate_0-15").to_numpy() + hourly.get_column("rate_16-17").to_numpy()
    true = truth.hourly(END, END + timedelta(days=365)).get_column("rate").to_numpy()
    local = hourly.select(pl.col("hour_start").dt.convert_time_zone("Europe/London"))
    hour = local.to_series().dt.hour().to_numpy()
    month = local.to_series().dt.month().to_numpy()
    by_hour = np.array([fitted[hour == h].mean() for h in range(24)])
    true_by_hour = np.array([true[hour == h].mean() for h in range(24)])
    assert np.corrcoef(by_hour, true_by_hour)[0, 1] > 0.85
    assert abs(int(np.argmax(by_hour)) - 9) <= 3  # the morning peak (true peak 09:00)
    winter = fitted[month == 1].mean() / fitted[month == 7].mean()
    assert winter == pytest.approx(math.exp(2 * truth.winter), rel=0.25)  # true ratio exp(0.5) = 1.65


def test_no_history_uses_the_national_prior_scaled_by_population() -> None:
    empty = TrueModel().draw(START, START, seed=1)
    demand = fit_demand(empty, BANDS, START, START, Prior(child_population=113_000))
    year = demand.predict(END, END + timedelta(days=365))
    # 113,000 children x 30 per 100,000 x 30% = 10.2 JAR-eligible deaths a year (docs/domain.md)
    assert year.mean == pytest.approx(113_000 * 30e-5 * 0.3 * 365 * 24 / HOURS_PER_YEAR, rel=1e-3)
    low, high = year.interval(0.8)
    assert low < year.mean < high
    # with no data the rate is flat: every hour of the week alike
    rates = demand.hourly(END, END + timedelta(days=7)).get_column("rate_0-15")
    assert rates.max() == pytest.approx(rates.min(), rel=1e-6)  # type: ignore[arg-type]


def test_short_history_is_shrunk_towards_the_prior() -> None:
    truth = TrueModel(cases_per_year=30.0, winter=0, weekend=0, daily=0)
    half_year = START + timedelta(days=182)
    cases = truth.draw(START, half_year, seed=5)
    prior = Prior(child_population=113_000)  # about 10 a year: a third of the truth
    demand = fit_demand(cases, BANDS, START, half_year, prior)
    fitted = sum(m.yearly_rate() for m in demand.models)
    observed = cases.height / 0.498
    assert prior.yearly_cases((0, 17)) < fitted < observed  # type: ignore[operator]
    # with ten years the data win
    long = truth.draw(START, END, seed=5)
    demand_long = fit_demand(long, BANDS, START, END, prior)
    assert sum(m.yearly_rate() for m in demand_long.models) == pytest.approx(30.0, rel=0.12)


def test_no_history_and_no_population_is_a_clear_error() -> None:
    empty = TrueModel().draw(START, START, seed=1)
    with pytest.raises(InputError, match="child population"):
        fit_demand(empty, BANDS, START, START)


def test_cases_outside_the_history_or_not_eligible_are_not_counted() -> None:
    cases = TrueModel(cases_per_year=50).draw(START, END, seed=3)
    not_eligible = cases.with_columns(pl.lit(False).alias("jar_criteria_met"))
    demand = fit_demand(pl.concat([cases, not_eligible]), BANDS, START, END)
    assert sum(m.cases for m in demand.models) == cases.height


def test_backtest_intervals_are_calibrated_on_data_from_a_known_model() -> None:
    """docs/commands.md: 80% intervals cover 75-90% in backtests on data drawn from a known model."""
    truth = TrueModel(cases_per_year=40.0)
    hits80: list[float] = []
    hits95: list[float] = []
    crps: list[float] = []
    baseline: list[float] = []
    for seed in range(5):
        cases = truth.draw(START, END, seed=100 + seed)
        result = backtest(cases, BANDS, START, END, horizon_days=91, step_days=91, min_train_days=730)
        o = result.origins
        assert o.height == 32
        hits80 += o.get_column("in_80").to_list()
        hits95 += o.get_column("in_95").to_list()
        crps += o.get_column("crps").to_list()
        baseline += o.get_column("baseline_crps").to_list()
    coverage80 = float(np.mean(hits80))
    assert 0.75 <= coverage80 <= 0.90, coverage80
    assert float(np.mean(hits95)) >= 0.90
    # with a real season and daily shape, the model beats the mean-rate baseline on CRPS
    assert float(np.mean(crps)) < float(np.mean(baseline))


def test_backtest_summary_reports_scores_and_coverage() -> None:
    cases = TrueModel(cases_per_year=30.0).draw(START, END, seed=9)
    result = backtest(cases, BANDS, START, END, None, SERVICE_TZ, 91, 182, 365)
    summary = result.summary()
    assert summary["origins"] == result.origins.height > 10
    assert 0 <= summary["coverage_80"] <= summary["coverage_95"] <= 1
    for key in ("mean_log_score", "baseline_mean_log_score", "mean_crps", "baseline_mean_crps", "crps_skill"):
        assert isinstance(summary[key], float)
    first = result.as_json()["forecasts"][0]
    assert first["origin"].startswith("2016-01-01T00:00:00")
