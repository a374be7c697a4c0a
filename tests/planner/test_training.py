"""`training_needed`, worked by hand (issue 12, point 2): the fewest extra trained people, under the same
limits, that would close the gaps the fills leave."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest

from rota.planner import Need, PlanLimits, plan
from rota.rules import make_rule
from tests.planner.helpers import at, flat, rota

WEEK_START, WEEK_END = at("02/03/2026 20:00"), at("09/03/2026 08:00")  # 7 nights of 12 hours


def without_duties(needs: tuple[Need, ...]) -> tuple[Need, ...]:
    return tuple(replace(n, duties=()) for n in needs)


def test_nobody_trained_needs_two_people_for_seven_nights() -> None:
    p = plan(rota([]), WEEK_START, WEEK_END, demand=flat, time_limit_s=20)
    assert p.fills == ()
    assert without_duties(p.training_needed) == (Need("sio", ("jar",), None, 2, 84.0),)
    assert p.status == "optimal"
    # the duties the two new people would work: every night, whole, each by one of them
    (need,) = p.training_needed
    nights = [(WEEK_START + timedelta(days=d), WEEK_START + timedelta(days=d, hours=12)) for d in range(7)]
    assert sorted((a, b) for _, a, b in need.duties) == nights
    assert {n for n, _, _ in need.duties} == {1, 2}
    assert list(need.duties) == sorted(need.duties)  # by person, then start


def test_what_one_person_leaves_needs_one_more() -> None:
    p = plan(rota(["S1"]), WEEK_START, WEEK_END, demand=flat, time_limit_s=20)
    assert sum(f.hours for f in p.fills) == 48
    (need,) = p.training_needed
    assert (need.role, need.people, need.hours) == ("sio", 1, 36.0)


def test_a_lapse_in_the_period_counts() -> None:
    # S1 covers four nights, then their jar lapses: after that someone new is needed
    r = rota(
        ["S1", "S2"],
        training=[
            ("S1", "jar", date(2020, 1, 1), date(2026, 3, 4)),
            ("S2", "jar", date(2020, 1, 1), date(2026, 3, 4)),
        ],
    )
    p = plan(r, WEEK_START, WEEK_END, demand=flat, time_limit_s=20)
    # nights of 02/03 and 03/03 are coverable (to midnight on 04/03 too); the rest needs new people
    assert p.training_needed and p.training_needed[0].people >= 1
    lasting = plan(rota(["S1", "S2"]), WEEK_START, WEEK_END, demand=flat, time_limit_s=20)
    assert lasting.training_needed == ()


def test_two_at_once_needs_two_and_the_agency_is_the_roles_own() -> None:
    pair = make_rule(
        {
            "id": "pair",
            "role": "sio",
            "min_count": 2,
            "competencies": ["jar", "jar-16-17"],
            "age_band": "16-17",
            "windows": ["Sat 20:00-08:00"],
        }
    )
    r = rota(["S1"], rules=(pair,))
    r = type(r)(**{**r.__dict__, "responders": r.responders.with_columns(agency=pl.lit("Vale Police"))})
    p = plan(r, at("07/03/2026 12:00"), at("08/03/2026 12:00"), demand=flat, time_limit_s=20)
    assert p.fills == ()  # S1 holds no jar-16-17
    assert without_duties(p.training_needed) == (Need("sio", ("jar", "jar-16-17"), "Vale Police", 2, 24.0),)
    # both at once, the whole night: two people on the same duty
    (need,) = p.training_needed
    night = (at("07/03/2026 20:00"), at("08/03/2026 08:00"))
    assert sorted(need.duties) == [(1, *night), (2, *night)]


def test_limits_shape_the_count() -> None:
    # with at most 24 hours a week each, 84 hours of nights need four people
    p = plan(
        rota([]), WEEK_START, WEEK_END, demand=flat, limits=PlanLimits(max_weekly_hours=24), time_limit_s=20
    )
    assert [(n.people, n.hours) for n in p.training_needed] == [(4, 84.0)]
    assert p.expected_uncovered_after == pytest.approx(84)


def test_an_agency_is_told_about_its_own_roles_only() -> None:
    both = (
        make_rule(
            {
                "id": "nights",
                "role": "sio",
                "competencies": ["jar"],
                "age_band": "0-17",
                "windows": ["20:00-08:00"],
            }
        ),
        make_rule(
            {
                "id": "days",
                "role": "paediatrician",
                "competencies": ["jar"],
                "age_band": "0-17",
                "windows": ["09:00-17:00"],
            }
        ),
    )
    r = rota(["S1"], rules=both)
    r = type(r)(**{**r.__dict__, "responders": r.responders.with_columns(agency=pl.lit("Vale Police"))})
    p = plan(r, WEEK_START, WEEK_END, demand=flat, agency="Vale Police", time_limit_s=20)
    assert [n.role for n in p.training_needed] == ["sio"]  # the paediatrician gaps are the trust's
    everyone = plan(r, WEEK_START, WEEK_END, demand=flat, time_limit_s=20)
    assert [n.role for n in everyone.training_needed] == ["paediatrician", "sio"]
