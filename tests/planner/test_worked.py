"""Worked cases whose answer is known by hand (issue 12, point 5). Demand is one expected case an hour
unless a test says otherwise, so expected cases equal gap hours. Every plan also passes the checker."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from rota.errors import InputError
from rota.planner import Plan, PlanLimits, plan, violations
from rota.rules import make_rule
from tests.planner.helpers import at, flat, rota

DEFAULT = PlanLimits()
WEEK_START, WEEK_END = at("02/03/2026 20:00"), at("09/03/2026 08:00")  # Mon 20:00 to Mon 08:00: 7 nights


def solved(r, start, end, limits=DEFAULT, demand=flat, **kw) -> Plan:  # type: ignore[no-untyped-def]
    p = plan(r, start, end, demand=demand, limits=limits, time_limit_s=20, **kw)
    assert p.status == "optimal"
    assert violations(r, p.fills, limits) == []
    return p


def test_a_night_only_rule_needs_exactly_two_people_under_a_48_hour_week() -> None:
    # 7 nights of 12 hours = 84 hours; one person may hold 48 of them (4 nights) in any 7 x 24 hours
    one = solved(rota(["S1"]), WEEK_START, WEEK_END)
    assert one.expected_uncovered_before == pytest.approx(84)
    assert [f.hours for f in one.fills] == [12.0] * 4
    assert one.expected_uncovered_after == pytest.approx(36)
    assert one.objective == pytest.approx(48)
    two = solved(rota(["S1", "S2"]), WEEK_START, WEEK_END)
    assert two.expected_uncovered_after == 0
    assert two.gaps_after.height == 0
    assert len(two.fills) == 7
    assert {f.responder_id for f in two.fills} == {"S1", "S2"}
    assert all(f.closes == ("nights",) and f.kind == "oncall" for f in two.fills)


def test_consecutive_nights_bind_when_the_week_does_not() -> None:
    # with 100 hours a week, at most 4 nights in a row: 7 nights leave one night out (4 + gap + 2)
    p = solved(rota(["S1"]), WEEK_START, WEEK_END, PlanLimits(max_weekly_hours=100))
    assert len(p.fills) == 6
    assert p.expected_uncovered_after == pytest.approx(12)
    p3 = solved(
        rota(["S1"]), WEEK_START, WEEK_END, PlanLimits(max_weekly_hours=100, max_consecutive_nights=3)
    )
    assert len(p3.fills) == 6  # 3 + gap + 3
    p2 = solved(
        rota(["S1"]), WEEK_START, WEEK_END, PlanLimits(max_weekly_hours=100, max_consecutive_nights=2)
    )
    assert len(p2.fills) == 5  # 2 + gap + 2 + gap + 1


def test_rest_binds_in_a_day_long_gap() -> None:
    always = make_rule({"id": "always", "role": "sio", "competencies": ["jar"], "age_band": "0-17"})
    r = rota(["S1"], rules=(always,))
    day = (at("03/03/2026 00:00"), at("04/03/2026 00:00"))
    # two fills 11 hours apart hold 24 - 11 = 13 of the 24 hours (how they split them is free)
    p = solved(r, *day)
    assert len(p.fills) == 2 and sum(f.hours for f in p.fills) == 13
    assert p.fills[1].start - p.fills[0].end == timedelta(hours=11)
    assert p.expected_uncovered_after == pytest.approx(11)
    # with 12 hours' rest nothing fits after the first fill
    p12 = solved(r, *day, PlanLimits(rest_hours=12))
    assert [f.hours for f in p12.fills] == [12.0]
    assert p12.expected_uncovered_after == pytest.approx(12)


def test_rest_from_an_existing_shift() -> None:
    # S1 works 08:00-18:00 on Tue; Tue night 20:00-08:00 needs 11 hours after 18:00: 05:00-08:00 only
    r = rota(["S1"], shifts=[("S1", at("03/03/2026 08:00"), at("03/03/2026 18:00"))])
    p = solved(r, at("03/03/2026 20:00"), at("04/03/2026 08:00"))
    assert p.expected_uncovered_before == pytest.approx(12)
    assert p.fills == ()  # no cut at 05:00: the gap is not longer than a fill, so it is not split
    r2 = rota(["S1", "S2"], shifts=[("S1", at("03/03/2026 08:00"), at("03/03/2026 18:00"))])
    p2 = solved(r2, at("03/03/2026 20:00"), at("04/03/2026 08:00"))
    assert [f.responder_id for f in p2.fills] == ["S2"]


def test_an_absence_in_the_middle() -> None:
    r = rota(["S1"], absences=[("S1", at("04/03/2026 02:00"), at("04/03/2026 04:00"))])
    p = solved(r, at("03/03/2026 20:00"), at("04/03/2026 08:00"))
    # 20:00-02:00 or 04:00-08:00, not both (11 hours' rest): the longer one
    assert [(f.start, f.end) for f in p.fills] == [(at("03/03/2026 20:00"), at("04/03/2026 02:00"))]
    assert p.expected_uncovered_after == pytest.approx(6)
    # someone free all night takes the whole night in one fill
    r2 = rota(["S1", "S2"], absences=[("S1", at("04/03/2026 02:00"), at("04/03/2026 04:00"))])
    p2 = solved(r2, at("03/03/2026 20:00"), at("04/03/2026 08:00"))
    assert [(f.responder_id, f.hours) for f in p2.fills] == [("S2", 12.0)]


def test_a_competency_that_lapses_mid_period() -> None:
    # S1's jar ends with Wed 04/03: Tue night whole, Wed night only to midnight
    r = rota(["S1"], training=[("S1", "jar", date(2020, 1, 1), date(2026, 3, 4))])
    p = solved(r, at("03/03/2026 20:00"), at("05/03/2026 08:00"))
    assert [(f.start, f.end) for f in p.fills] == [
        (at("03/03/2026 20:00"), at("04/03/2026 08:00")),
        (at("04/03/2026 20:00"), at("05/03/2026 00:00")),
    ]
    assert p.expected_uncovered_after == pytest.approx(8)
    # the checker refuses a fill past the lapse
    from rota.planner import Fill

    late = Fill("S1", at("04/03/2026 20:00"), at("05/03/2026 08:00"), closes=("nights",))
    assert any("jar is not valid" in v for v in violations(r, [late], PlanLimits()))


def test_spring_forward_night_is_11_real_hours() -> None:
    # Thu 26/03 to Sun 29/03 nights: 12 + 12 + 11 (clocks forward) + 12 = 47 hours
    start, end = at("26/03/2026 20:00"), at("30/03/2026 08:00")
    p = solved(rota(["S1"]), start, end, PlanLimits(max_weekly_hours=47))
    assert p.expected_uncovered_after == 0
    assert sorted(f.hours for f in p.fills) == [11.0, 12.0, 12.0, 12.0]
    short = next(f for f in p.fills if f.hours == 11)
    assert short.start == at("28/03/2026 20:00")


def test_fall_back_night_is_13_real_hours() -> None:
    # Thu 22/10 to Sun 25/10 nights: 12 + 12 + 13 (clocks back) + 12 = 49 hours
    start, end = at("22/10/2026 20:00"), at("26/10/2026 08:00")
    limits = PlanLimits(max_weekly_hours=49, max_shift_hours=13)
    p = solved(rota(["S1"]), start, end, limits)
    assert p.expected_uncovered_after == 0
    assert sorted(f.hours for f in p.fills) == [12.0, 12.0, 12.0, 13.0]
    # one hour less a week and a whole night must go (the gaps are not split)
    p48 = solved(rota(["S1"]), start, end, PlanLimits(max_weekly_hours=48, max_shift_hours=13))
    # a 12-hour night goes; the 13-hour one is kept: 37 hours
    assert p48.expected_uncovered_after == pytest.approx(12)
    assert sorted(f.hours for f in p48.fills) == [12.0, 12.0, 13.0]
    # the checker counts the real 13 hours
    from rota.planner import Fill

    all4 = [Fill("S1", f.start, f.end, closes=f.closes) for f in p.fills]
    assert any("49 duty hours" in v for v in violations(rota(["S1"]), all4, PlanLimits(48, 48, 4, 13)))


def test_demand_weighting_chooses_which_of_two_equal_gaps_is_closed() -> None:
    start, end = at("03/03/2026 20:00"), at("05/03/2026 08:00")
    second = at("04/03/2026 20:00")
    limits = PlanLimits(max_weekly_hours=12)

    def late(band: str, hour: datetime) -> float:
        return 0.5 if hour >= second else 0.1

    def early(band: str, hour: datetime) -> float:
        return 0.1 if hour >= second else 0.5

    p_late = solved(rota(["S1"]), start, end, limits, demand=late)
    assert [f.start for f in p_late.fills] == [second]
    assert p_late.expected_uncovered_after == pytest.approx(1.2)
    p_early = solved(rota(["S1"]), start, end, limits, demand=early)
    assert [f.start for f in p_early.fills] == [start]
    assert p_early.objective == pytest.approx(6.0)


def test_agency_limits_who_fills() -> None:
    r = rota(["S1", "S2"])
    r = type(r)(**{**r.__dict__, "responders": r.responders.with_columns(agency=pl_agency())})
    p = solved(r, at("03/03/2026 20:00"), at("04/03/2026 08:00"), agency="Vale Police")
    assert [f.responder_id for f in p.fills] == ["S2"]


def pl_agency():  # type: ignore[no-untyped-def]
    import polars as pl

    return pl.Series(["Hill Police", "Vale Police"])


def test_no_gaps_no_fills() -> None:
    r = rota(["S1"], shifts=[("S1", at("03/03/2026 20:00"), at("04/03/2026 08:00"))])
    p = solved(r, at("03/03/2026 20:00"), at("04/03/2026 08:00"))
    assert p.fills == () and p.expected_uncovered_before == 0 and p.gaps_before.height == 0


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(InputError, match="rest hours"):
        PlanLimits(rest_hours=-1)
    with pytest.raises(InputError, match="consecutive nights"):
        PlanLimits(max_consecutive_nights=0)
    assert timedelta(hours=PlanLimits().max_shift_hours) == timedelta(hours=12)


def test_each_fill_says_the_expected_cases_it_serves() -> None:
    p = solved(rota(["S1", "S2"]), WEEK_START, WEEK_END)
    assert [f.expected for f in p.fills] == pytest.approx([12.0] * 7)  # one case an hour, 12-hour nights
