"""The capacity-forecast service: who may ask what, what-if scenarios, and the stored rota's end.

Most tests use the demo rota (a year back, eight weeks ahead of a fixed day) with five years of cases drawn
from a known demand model, stored in SQLite once for the module; a small hand-built rota checks a
scenario exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder
from rota.demo import build_demo
from rota.errors import InputError, PermissionDenied
from rota.model import Rota, conform
from rota.rules import default_rules
from rota.services.access import Actor
from rota.services.forecasting import (
    DEFAULT_FORECAST_DAYS,
    bands_by_age,
    capacity_forecast,
    chance_of_any,
    change_since_previous,
    default_forecast_period,
    forecast_settings,
    hour_of_week_table,
    rule_table,
    scenario_effects,
    scenario_key,
    scenario_totals,
    scenarios_from,
    weekly_table,
)
from rota.storage.db import init_db
from rota.storage.imports import import_cases, import_rota
from rota.storage.settings import write_setting
from rota.timeutil import SERVICE_TZ, day_start
from tests.analytics.simulate import TrueModel

TODAY = date(2026, 11, 25)
NOW = day_start(TODAY) + timedelta(hours=10)
ADMIN = Actor("admin-user", "admin")
MANAGER = Actor("manager", "cdop_manager")
COORDINATOR = Actor("coord", "coordinator", agency="Vale Police")
COMMISSIONER = Actor("icb", "commissioner")
POLICE_COMMISSIONER = Actor("pcc", "commissioner", agency="Vale Police")
NIGHTS = AddResponders("sio", 2, "Mon-Sun 19:00-07:00")


def _cases(until: date, years: int = 5, seed: int = 11) -> pl.DataFrame:
    return TrueModel(cases_per_year=34).draw(
        day_start(until - timedelta(days=365 * years)), day_start(until), seed
    )


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("forecast") / "demo.db"
    engine = init_db(f"sqlite:///{path}")
    import_rota(engine, build_demo(TODAY), actor="test", source="demo")
    import_cases(engine, _cases(TODAY), actor="test", source="simulated")
    write_setting(engine, "child_population", "380000", actor="test")
    yield engine
    engine.dispose()


# ---------------------------------------------------------------------------------------------- access


def test_coordinators_may_not_read_the_forecast(demo_engine: Engine) -> None:
    p = default_forecast_period(TODAY)
    with pytest.raises(PermissionDenied):
        capacity_forecast(demo_engine, COORDINATOR, p.first, p.last, now=NOW)


@pytest.mark.parametrize(
    "scenario",
    [LapseTraining("SIO-001", "jar", TODAY + timedelta(days=7)), RemoveResponder("SIO-001")],
    ids=["lapse", "remove"],
)
def test_commissioners_may_not_try_scenarios_about_named_responders(
    demo_engine: Engine, scenario: object
) -> None:
    p = default_forecast_period(TODAY)
    with pytest.raises(InputError, match="commissioners can try adding trained responders"):
        capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, scenarios=(scenario,), now=NOW)


def test_commissioners_may_add_responders_and_see_their_agencys_roles(demo_engine: Engine) -> None:
    cf = capacity_forecast(
        demo_engine,
        POLICE_COMMISSIONER,
        TODAY,
        TODAY + timedelta(days=27),
        scenarios=(NIGHTS,),
        now=NOW,
    )
    assert cf.scenario is not None
    assert cf.agency_roles == ("sio",)
    # without an agency: no agency's roles to pick out
    plain = capacity_forecast(demo_engine, COMMISSIONER, TODAY, TODAY + timedelta(days=27), now=NOW)
    assert plain.agency_roles == ()


def test_managers_may_try_a_lapse_and_a_removal(demo_engine: Engine) -> None:
    from rota.storage.rota import load_rota

    rota = load_rota(demo_engine)
    sio = rota.responders.filter(pl.col("role") == "sio").get_column("responder_id")[0]
    cf = capacity_forecast(
        demo_engine,
        MANAGER,
        TODAY,
        TODAY + timedelta(days=27),
        scenarios=(LapseTraining(sio, "jar", TODAY), RemoveResponder(sio)),
        now=NOW,
    )
    assert cf.scenario is not None
    after = cf.rules.filter(pl.col("role") == "sio")
    assert (after["uncovered_hours_after"] >= after["uncovered_hours"]).all()


def test_too_long_a_period_is_refused(demo_engine: Engine) -> None:
    with pytest.raises(InputError):
        capacity_forecast(demo_engine, ADMIN, TODAY, TODAY + timedelta(days=400), now=NOW)


def test_an_unknown_role_or_window_is_an_input_error(demo_engine: Engine) -> None:
    for bad in (AddResponders("coroner", 1), AddResponders("sio", 1, "nights")):
        with pytest.raises(InputError):
            capacity_forecast(demo_engine, ADMIN, TODAY, TODAY + timedelta(days=6), scenarios=(bad,), now=NOW)


# ---------------------------------------------------------------------------------------------- figures


def test_the_default_period_is_the_next_quarter() -> None:
    p = default_forecast_period(TODAY)
    assert (p.first, p.last, p.days) == (TODAY, TODAY + timedelta(days=90), DEFAULT_FORECAST_DAYS)


def test_settings_come_from_the_stored_settings(demo_engine: Engine) -> None:
    assert forecast_settings(demo_engine).child_population == 380_000
    assert forecast_settings(demo_engine).commitment_hours == 4.0


def test_the_quarter_has_per_rule_risk_and_both_age_bands(demo_engine: Engine) -> None:
    cf = capacity_forecast(demo_engine, COMMISSIONER, TODAY, TODAY + timedelta(days=90), now=NOW)
    assert cf.expected_cases > 0
    low, high = cf.interval_80
    assert low <= cf.expected_cases <= high
    assert cf.forecast.bands["age_band"].to_list() == ["0-15", "16-17"]
    assert set(cf.rules["rule_id"]) == {
        "paediatrician",
        "paediatrician-16-17",
        "sio",
        "sio-16-17",
        "ambulance",
        "ambulance-16-17",
        "paediatrician-office-hours",
    }
    assert cf.rules["label"].to_list()[:2] == ["Paediatrician 0-15", "Paediatrician 16-17"]
    p_any = cf.rules.select(
        (1 - (-pl.col("expected_uncovered_cases")).exp() - pl.col("p_any_uncovered")).abs().max()
    )
    assert p_any.item() < 1e-12
    # lost cases include the uncovered ones and more (responders busy with an earlier case)
    assert (cf.rules["expected_lost_cases"] >= cf.rules["expected_uncovered_cases"] - 1e-12).all()
    # a case meets a gap once however many rules are in gap: no more than the sum over a band's rules
    assert 0 < cf.expected_cases_meeting_a_gap <= cf.expected_cases
    # hour of week: 168 hours per rule; weekly: every rule in every week
    assert cf.hour_of_week.group_by("rule_id").len()["len"].to_list() == [168] * 7
    assert cf.weekly["week_start"].n_unique() == 14  # 91 days from a Wednesday touch 14 weeks


def test_the_end_of_the_stored_rota_is_reported(demo_engine: Engine) -> None:
    """The demo rota runs fourteen weeks ahead: twenty weeks run past it, a quarter does not."""
    longer = capacity_forecast(demo_engine, COMMISSIONER, TODAY, TODAY + timedelta(days=140), now=NOW)
    since = longer.unrostered_from
    assert since is not None and since == longer.last_shift_end
    assert TODAY + timedelta(days=90) <= since.astimezone(SERVICE_TZ).date() <= TODAY + timedelta(days=100)
    assert 0 < longer.expected_cases_unrostered < longer.expected_cases
    quarter = capacity_forecast(demo_engine, COMMISSIONER, TODAY, TODAY + timedelta(days=90), now=NOW)
    assert quarter.unrostered_from is None
    assert quarter.expected_cases_unrostered == 0
    beyond = capacity_forecast(
        demo_engine, COMMISSIONER, TODAY + timedelta(days=110), TODAY + timedelta(days=120), now=NOW
    )
    assert beyond.last_shift_end is None
    assert beyond.unrostered_from == beyond.period.start
    assert beyond.expected_cases_unrostered == pytest.approx(beyond.expected_cases, rel=0.02)


def test_sios_on_nights_cut_the_sio_risk_and_leave_other_roles_alone(demo_engine: Engine) -> None:
    p = default_forecast_period(TODAY)
    cf = capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, scenarios=(NIGHTS,), now=NOW)
    assert cf.scenario is not None
    rules = cf.rules
    sio = rules.filter(pl.col("role") == "sio")
    others = rules.filter(pl.col("role") != "sio")
    assert sio.height == 2
    assert (sio["expected_uncovered_cases_after"] < sio["expected_uncovered_cases"]).all()
    assert (sio["uncovered_hours_after"] < sio["uncovered_hours"]).all()
    assert (sio["expected_lost_cases_after"] < sio["expected_lost_cases"]).all()
    for col in ("uncovered_hours", "expected_uncovered_cases", "expected_lost_cases"):
        assert (others[f"{col}_after"] - others[col]).abs().max() < 1e-9
    comparison = cf.scenario.comparison()
    assert comparison["expected_uncovered_cases_change"].to_list() == pytest.approx(
        (rules["expected_uncovered_cases_after"] - rules["expected_uncovered_cases"]).to_list()
    )
    # the hour-of-week and weekly frames carry the after columns: more on duty at night, never fewer
    how = cf.hour_of_week.filter(pl.col("role") == "sio")
    night = how.filter((pl.col("hour") >= 19) | (pl.col("hour") < 7))
    day = how.filter((pl.col("hour") >= 8) & (pl.col("hour") < 18))
    assert (night["trained_on_duty_after"] - night["trained_on_duty"]).min() == pytest.approx(2.0)
    assert (day["trained_on_duty_after"] - day["trained_on_duty"]).abs().max() < 1e-9
    weekly = cf.weekly.filter(pl.col("role") == "sio")
    assert weekly["expected_uncovered_cases_after"].sum() < weekly["expected_uncovered_cases"].sum()
    # the headline (any rule for the age) can only fall
    assert cf.scenario.changed.expected_cases_meeting_a_gap < cf.expected_cases_meeting_a_gap


def test_what_if_changes_kept_as_plain_values_become_scenarios() -> None:
    on = date(2027, 1, 4)
    changes = [
        {"kind": "add", "role": "sio", "count": "2", "window": "Mon-Sun 19:00-07:00", "first": None},
        {"kind": "lapse", "responder_id": "R1", "who": "Ann", "competency": "jar", "on": on},
        {"kind": "remove", "responder_id": "R2", "who": "Bob"},
    ]
    key = scenario_key(changes)
    assert hash(key) == hash(scenario_key(changes))  # a cache key
    assert scenarios_from(key) == (
        AddResponders("sio", 2, "Mon-Sun 19:00-07:00", None, None),
        LapseTraining("R1", "jar", on),
        RemoveResponder("R2"),
    )
    assert scenarios_from(()) == ()


def test_chance_of_at_least_one_case() -> None:
    assert chance_of_any(0.0) == 0.0
    assert chance_of_any(0.7) == pytest.approx(0.5034, abs=1e-4)


def test_display_ready_rows_for_the_page(demo_engine: Engine) -> None:
    p = default_forecast_period(TODAY)
    cf = capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, scenarios=(NIGHTS,), now=NOW)
    assert list(bands_by_age(cf.forecast)) == ["0-15", "16-17"]
    totals = scenario_totals(cf)
    assert [t.age_band for t in totals] == [None, "0-15", "16-17"]
    assert totals[0].change < 0
    assert totals[0].after == pytest.approx(cf.expected_cases_meeting_a_gap + totals[0].change)
    effects = scenario_effects(cf)
    assert [e.role for e in effects] == ["sio"] and effects[0].better and effects[0].disjoint
    assert effects[0].one_needed and len(effects[0].rules) == 2
    table = rule_table(cf, cf.rules, mark_agency=False)
    assert table.height == cf.rules.height
    assert "Chance of at least one, with the changes" in table.columns
    assert table["Chance of at least one"].to_list() == pytest.approx(
        [round(chance_of_any(x) * 100) for x in cf.rules["expected_uncovered_cases"]]
    )
    assert hour_of_week_table(cf, "sio").height == 7 * 24
    assert weekly_table(cf, "sio").height == cf.weekly.filter(pl.col("role") == "sio").height
    without = capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, now=NOW)
    assert scenario_totals(without) == [] and scenario_effects(without) == []


def test_a_base_forecast_is_reused_with_the_same_answer(demo_engine: Engine) -> None:
    p = default_forecast_period(TODAY)
    base = capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, now=NOW)
    fresh = capacity_forecast(demo_engine, COMMISSIONER, p.first, p.last, scenarios=(NIGHTS,), now=NOW)
    reused = capacity_forecast(
        demo_engine, COMMISSIONER, p.first, p.last, scenarios=(NIGHTS,), now=NOW, base=base
    )
    assert reused.forecast is base.forecast
    for col in reused.rules.columns:
        if reused.rules.schema[col].is_float():
            assert reused.rules[col].to_list() == pytest.approx(
                fresh.rules[col].to_list(), rel=1e-9, abs=1e-12
            )
        else:
            assert reused.rules[col].to_list() == fresh.rules[col].to_list()
    # a base for another period is not used
    other = capacity_forecast(
        demo_engine,
        COMMISSIONER,
        p.first,
        p.last - timedelta(days=1),
        scenarios=(NIGHTS,),
        now=NOW,
        base=base,
    )
    assert other.forecast is not base.forecast
    # permission checks still apply when a base is given
    with pytest.raises(InputError):
        capacity_forecast(
            demo_engine, COMMISSIONER, p.first, p.last, scenarios=(RemoveResponder("x"),), now=NOW, base=base
        )


# ---------------------------------------------------------------------------------------------- exact


def _one_sio_on_days(first: date, days: int) -> Rota:
    """One SIO trained for both bands on duty 07:00-19:00 every day; one paediatrician and one ambulance
    responder on duty around the clock."""
    ids = ["SIO1", "PAED1", "AMB1"]
    roles = ["sio", "paediatrician", "ambulance"]
    starts, ends, who = [], [], []
    for d in range(-1, days + 1):
        day = first + timedelta(days=d)
        starts.append(day_start(day) + timedelta(hours=7))
        ends.append(day_start(day) + timedelta(hours=19))
        who.append("SIO1")
    for rid in ("PAED1", "AMB1"):
        starts.append(day_start(first - timedelta(days=1)))
        ends.append(day_start(first + timedelta(days=days + 1)))
        who.append(rid)
    return Rota(
        responders=conform(
            "responders",
            pl.DataFrame({"responder_id": ids, "name": ["DI Day", "Dr Always", "P Always"], "role": roles}),
        ),
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": ids * 2,
                    "competency": ["jar"] * 3 + ["jar-16-17"] * 3,
                    "valid_from": [date(2020, 1, 1)] * 6,
                }
            ),
        ),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [f"X{i}" for i in range(len(who))],
                    "responder_id": who,
                    "start": starts,
                    "end": ends,
                }
            ),
        ),
        rules=tuple(default_rules()),
    )


def test_sios_on_nights_close_every_sio_gap_of_a_day_only_rota(tmp_path: Path) -> None:
    first = date(2027, 3, 1)  # Monday; no clock change in the fortnight
    engine = init_db(f"sqlite:///{tmp_path / 'small.db'}")
    try:
        import_rota(engine, _one_sio_on_days(first, 14), actor="test")
        write_setting(engine, "child_population", "380000", actor="test")
        last = first + timedelta(days=13)
        cf = capacity_forecast(
            engine,
            COMMISSIONER,
            first,
            last,
            scenarios=(AddResponders("sio", 1, "Mon-Sun 19:00-07:00"),),
            now=day_start(first),
        )
    finally:
        engine.dispose()
    rules = {r["rule_id"]: r for r in cf.rules.iter_rows(named=True)}
    # 12 hours a night for 14 nights without an SIO, none once nights are covered
    assert rules["sio"]["uncovered_hours"] == pytest.approx(14 * 12)
    assert rules["sio-16-17"]["uncovered_hours"] == pytest.approx(14 * 12)
    assert rules["sio"]["uncovered_hours_after"] == pytest.approx(0)
    assert rules["sio"]["expected_uncovered_cases_after"] == pytest.approx(0)
    assert rules["sio"]["expected_uncovered_cases"] > 0
    for rid in ("paediatrician", "paediatrician-16-17", "ambulance", "ambulance-16-17"):
        assert rules[rid]["uncovered_hours"] == rules[rid]["uncovered_hours_after"] == 0
    # no stored cases: the demand is the national prior for 380,000 children
    assert cf.history[0]["cases_in_history"] == 0
    assert cf.unrostered_from is None


# ---------------------------------------------------------------------------------------------- change


def test_the_change_since_the_previous_period_of_as_many_days(demo_engine: Engine) -> None:
    first, last = TODAY - timedelta(days=27), TODAY  # four weeks inside the stored demo rota
    current = capacity_forecast(demo_engine, MANAGER, first, last, now=NOW)
    change = change_since_previous(demo_engine, MANAGER, current)
    assert (change.previous.first, change.previous.last) == (
        first - timedelta(days=28),
        first - timedelta(days=1),
    )
    # the same demand model over four weeks a month earlier: about as many cases expected
    assert change.expected_cases == pytest.approx(current.expected_cases, rel=0.3)
    assert change.expected_cases_change == pytest.approx(current.expected_cases - change.expected_cases)
    assert change.meeting_a_gap_change == pytest.approx(
        current.expected_cases_meeting_a_gap - change.expected_cases_meeting_a_gap
    )
    # the demo rota has gaps, and they differ from one four weeks to the next
    assert 0 < change.expected_cases_meeting_a_gap < change.expected_cases
    assert change.meeting_a_gap_change != 0
    with pytest.raises(PermissionDenied):
        change_since_previous(demo_engine, COORDINATOR, current)
