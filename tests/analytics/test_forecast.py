"""Risk per rule (docs/methods.md): expected uncovered cases as the integral of demand over the gaps, to the
minute and across clock changes; Erlang-B; scenarios."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from rota.analytics.demand import HOURS_PER_YEAR, Prior, fit_demand
from rota.analytics.forecast import assess, erlang_b, forecast, with_scenarios
from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder, apply_scenarios
from rota.errors import InputError
from rota.model import Rota, conform
from rota.rules import Rule, parse_window
from rota.timeutil import day_start, parse_instant
from tests.analytics.simulate import TrueModel

POPULATION = 113_000
RULES = (
    Rule("paediatrician", "paediatrician", 1, ("jar",), "0-15"),
    Rule("paediatrician-16-17", "paediatrician", 1, ("jar", "jar-16-17"), "16-17"),
)


def hourly_rate(band: tuple[int, int]) -> float:
    """The flat prior-only rate per hour for an age band."""
    yearly = Prior(POPULATION).yearly_cases(band)
    assert yearly is not None
    return yearly / HOURS_PER_YEAR


def flat_demand(start: datetime) -> object:
    no_cases = TrueModel().draw(start, start, seed=0)
    return fit_demand(no_cases, [(0, 15), (16, 17)], start, start, Prior(POPULATION))


def rota_with(shifts: list[tuple[str, str]], competencies: tuple[str, ...] = ("jar",)) -> Rota:
    responders = pl.DataFrame(
        {"responder_id": ["P1"], "name": ["Dr Test"], "role": ["paediatrician"], "active": [True]}
    )
    training = pl.DataFrame(
        {
            "responder_id": ["P1"] * len(competencies),
            "competency": list(competencies),
            "valid_from": [date(2020, 1, 1)] * len(competencies),
            "valid_until": [None] * len(competencies),
        },
        schema={
            "responder_id": pl.String,
            "competency": pl.String,
            "valid_from": pl.Date,
            "valid_until": pl.Date,
        },
    )
    frame = pl.DataFrame(
        {
            "shift_id": [f"X{i}" for i in range(len(shifts))],
            "responder_id": ["P1"] * len(shifts),
            "start": [parse_instant(a) for a, _ in shifts],
            "end": [parse_instant(b) for _, b in shifts],
        }
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training),
        shifts=conform("shifts", frame),
        rules=RULES,
    )


def test_erlang_b_matches_the_published_table() -> None:
    # 15 lines carry 8.108 Erlangs at 1% loss (docs/domain.md)
    assert erlang_b(np.array([15]), np.array([8.108]))[0] == pytest.approx(0.01, abs=2e-5)
    assert erlang_b(np.array([0, 0]), np.array([0.0, 5.0])).tolist() == [1.0, 1.0]
    assert erlang_b(np.array([1]), np.array([0.5]))[0] == pytest.approx(1 / 3)
    # mixed server counts in one call
    mixed = erlang_b(np.array([1, 2, 15]), np.array([1.0, 1.0, 8.108]))
    assert mixed[:2].tolist() == pytest.approx([0.5, 0.2])


def test_expected_uncovered_is_the_demand_over_a_gap_to_the_minute() -> None:
    # a 90-minute hole on a weekday afternoon
    rota = rota_with([("2026-01-05 00:00", "2026-01-05 13:15"), ("2026-01-05 14:45", "2026-01-06 00:00")])
    start, end = day_start(date(2026, 1, 5)), day_start(date(2026, 1, 6))
    result = assess(rota, flat_demand(start), start, end)  # type: ignore[arg-type]
    row = result.rules.row(0, named=True)
    assert row["rule_id"] == "paediatrician"
    assert row["uncovered_hours"] == pytest.approx(1.5)
    assert row["expected_uncovered_cases"] == pytest.approx(1.5 * hourly_rate((0, 15)), rel=1e-9)
    assert row["p_any_uncovered"] == pytest.approx(1 - math.exp(-row["expected_uncovered_cases"]))
    # no jar-16-17: the 16-17 rule is in gap all day
    teen = result.rules.row(1, named=True)
    assert teen["uncovered_hours"] == pytest.approx(24.0)
    assert teen["expected_uncovered_cases"] == pytest.approx(24 * hourly_rate((16, 17)), rel=1e-9)
    # lost >= uncovered: congestion adds a little in covered time
    assert row["expected_lost_cases"] > row["expected_uncovered_cases"]
    assert teen["expected_lost_cases"] == pytest.approx(teen["expected_uncovered_cases"])


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23.0), (date(2026, 10, 25), 25.0)],
    ids=["spring-forward", "fall-back"],
)
def test_clock_change_days_count_real_hours(day: date, hours: float) -> None:
    rota = rota_with([])  # nobody on duty
    start, end = day_start(day), day_start(day + timedelta(days=1))
    result = assess(rota, flat_demand(start), start, end)  # type: ignore[arg-type]
    row = result.rules.row(0, named=True)
    assert row["uncovered_hours"] == pytest.approx(hours)
    assert row["expected_uncovered_cases"] == pytest.approx(hours * hourly_rate((0, 15)), rel=1e-9)
    # with nobody rostered every case is lost, and the forecast total is the same integral
    assert row["expected_lost_cases"] == pytest.approx(row["expected_uncovered_cases"])
    assert result.prediction.mean == pytest.approx(hours * hourly_rate((0, 17)), rel=1e-9)
    assert result.hourly.filter(pl.col("rule_id") == "paediatrician").height == int(hours)


def test_night_gap_across_the_autumn_change_is_five_real_hours() -> None:
    # on duty all day except 00:00-04:00 local on 25/10/2026, which lasts five real hours
    rota = rota_with(
        [("2026-10-24T00:00+01:00", "2026-10-25T00:00+01:00"), ("2026-10-25T04:00Z", "2026-10-26T00:00Z")]
    )
    start, end = day_start(date(2026, 10, 24)), day_start(date(2026, 10, 26))
    row = assess(rota, flat_demand(start), start, end).rules.row(0, named=True)  # type: ignore[arg-type]
    assert row["uncovered_hours"] == pytest.approx(5.0)


def test_windowed_rule_counts_only_its_windows() -> None:
    office = Rule("office", "paediatrician", 2, ("jar",), "0-17", (parse_window("Mon-Fri 09:00-17:00"),))
    rota = Rota(
        responders=rota_with([]).responders,
        training=rota_with([]).training,
        shifts=rota_with([("2026-01-05 00:00", "2026-01-12 00:00")]).shifts,
        rules=(office,),
    )
    start, end = day_start(date(2026, 1, 5)), day_start(date(2026, 1, 12))
    result = assess(rota, flat_demand(start), start, end)  # type: ignore[arg-type]
    row = result.rules.row(0, named=True)
    assert row["uncovered_hours"] == pytest.approx(40.0)  # one of two needed, office hours only
    assert row["expected_uncovered_cases"] == pytest.approx(40 * hourly_rate((0, 17)), rel=1e-9)


def test_band_risk_counts_a_case_once_when_several_rules_are_in_gap() -> None:
    rota = rota_with([], competencies=("jar", "jar-16-17"))
    start, end = day_start(date(2026, 1, 5)), day_start(date(2026, 1, 6))
    both = Rota(
        responders=rota.responders,
        training=rota.training,
        shifts=rota.shifts,
        rules=(*RULES, Rule("all-ages", "paediatrician", 1, ("jar",), "0-17")),
    )
    result = assess(both, flat_demand(start), start, end)  # type: ignore[arg-type]
    bands = {r["age_band"]: r for r in result.bands.iter_rows(named=True)}
    assert bands["0-15"]["expected_uncovered_cases"] == pytest.approx(24 * hourly_rate((0, 15)))
    assert result.expected_cases_meeting_a_gap == pytest.approx(24 * hourly_rate((0, 17)))


def test_scenario_adding_night_cover_removes_night_gaps_only() -> None:
    # on duty 07:00-19:00 every day of one week: nights are gaps
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(7)]
    rota = rota_with([(f"{d} 07:00", f"{d} 19:00") for d in days], competencies=("jar", "jar-16-17"))
    start, end = day_start(days[0]), day_start(days[-1] + timedelta(days=1))
    base = assess(rota, flat_demand(start), start, end)  # type: ignore[arg-type]
    assert base.rules.row(0, named=True)["uncovered_hours"] == pytest.approx(7 * 12)
    change = with_scenarios(rota, base, [AddResponders("paediatrician", 2, "Mon-Sun 19:00-07:00")])
    after = change.changed.rules.row(0, named=True)
    assert after["uncovered_hours"] == pytest.approx(0.0)
    assert after["expected_uncovered_cases"] == 0.0
    table = change.comparison()
    assert table.get_column("expected_uncovered_cases_change")[0] == pytest.approx(
        -base.rules.row(0, named=True)["expected_uncovered_cases"]
    )
    payload = change.as_json()
    assert payload["changes"] == ["add 2 trained paediatrician responders on Mon-Sun 19:00-07:00"]
    assert payload["rules"][0]["expected_uncovered_cases_change"] < 0


def test_scenario_training_lapse_and_removal_open_gaps() -> None:
    rota = rota_with([("2026-01-05 00:00", "2026-01-12 00:00")], competencies=("jar", "jar-16-17"))
    start, end = day_start(date(2026, 1, 5)), day_start(date(2026, 1, 12))
    lapsed = apply_scenarios(rota, [LapseTraining("P1", "jar", date(2026, 1, 8))], start, end)
    base = assess(rota, flat_demand(start), start, end)  # type: ignore[arg-type]
    after = assess(lapsed, base.demand, start, end)
    assert base.rules.row(0, named=True)["uncovered_hours"] == 0
    assert after.rules.row(0, named=True)["uncovered_hours"] == pytest.approx(4 * 24)
    removed = assess(apply_scenarios(rota, [RemoveResponder("P1")], start, end), base.demand, start, end)
    assert removed.rules.row(0, named=True)["uncovered_hours"] == pytest.approx(7 * 24)
    with pytest.raises(InputError, match="unknown responder"):
        apply_scenarios(rota, [RemoveResponder("NOBODY")], start, end)
    with pytest.raises(InputError, match="no coverage rule"):
        apply_scenarios(rota, [AddResponders("coroner", 1)], start, end)
    with pytest.raises(InputError, match="not like"):
        apply_scenarios(rota, [AddResponders("paediatrician", 1, "nights")], start, end)


def test_forecast_fits_on_history_before_the_range_and_reports_the_spec_keys() -> None:
    history_start = datetime(2020, 1, 1, tzinfo=UTC)
    start = day_start(date(2026, 1, 5))
    cases = TrueModel(cases_per_year=30).draw(history_start, start, seed=4)
    result = forecast(rota_with([]), cases, start, start + timedelta(days=91), prior=Prior(POPULATION))
    payload = result.as_json()
    assert {"start", "end", "expected_cases", "interval_80", "interval_95", "rules"} <= payload.keys()
    assert payload["start"] == "2026-01-05T00:00:00+00:00"
    assert payload["interval_95"][0] <= payload["interval_80"][0] <= payload["expected_cases"]
    assert payload["expected_cases"] <= payload["interval_80"][1] <= payload["interval_95"][1]
    assert payload["expected_cases"] == pytest.approx(30 * 91 / 365.25, rel=0.25)
    for rule in payload["rules"]:
        assert {
            "rule_id",
            "age_band",
            "uncovered_hours",
            "expected_uncovered_cases",
            "p_any_uncovered",
            "expected_lost_cases",
        } <= rule.keys()
    assert payload["model"]["bands"][0]["cases_in_history"] > 100
