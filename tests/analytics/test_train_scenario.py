"""The scenario that trains new people for the capacity planner's duties (docs/methods.md, "Scenarios"):
exactly those people, that training and those shifts; in words; through the page's cache key; and the
planner's own training answer closing the gaps it was worked out for."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from rota.analytics.forecast import assess, with_scenarios
from rota.analytics.scenarios import AddResponders, RemoveResponder, TrainResponders, apply_scenarios
from rota.errors import InputError
from rota.planner import plan
from rota.services.forecasting import scenario_key, scenarios_from
from rota.timeutil import day_start, parse_instant
from tests.analytics.test_forecast import flat_demand, rota_with

START, END = day_start(date(2026, 1, 5)), day_start(date(2026, 1, 8))  # three days, GMT


def night(day: int) -> tuple[datetime, datetime]:
    """19:00 to 07:00 from the night of 05/01/2026 + `day` (UTC = local in January)."""
    a = parse_instant("2026-01-05T19:00:00+00:00") + timedelta(days=day)
    return a, a + timedelta(hours=12)


DUTIES = ((1, *night(0)), (2, *night(1)), (1, *night(2)))
TRAIN = TrainResponders("paediatrician", 2, ("jar", "jar-16-17"), DUTIES)


def days_only() -> object:
    """P1 on duty 07:00-19:00 each day: the nights are gaps for both rules."""
    return rota_with(
        [(f"2026-01-0{d} 07:00", f"2026-01-0{d} 19:00") for d in (5, 6, 7)], competencies=("jar", "jar-16-17")
    )


def test_apply_adds_exactly_those_people_training_and_shifts() -> None:
    rota = days_only()
    changed = apply_scenarios(rota, [RemoveResponder("P1"), TRAIN], START, END)  # type: ignore[arg-type]
    new = changed.responders.filter(pl.col("responder_id").str.starts_with("scenario-2-"))
    assert new["responder_id"].to_list() == ["scenario-2-paediatrician-1", "scenario-2-paediatrician-2"]
    assert set(new["role"]) == {"paediatrician"} and all(new["active"])
    assert changed.responders.height == rota.responders.height + 2  # type: ignore[attr-defined]
    held = changed.training.filter(pl.col("responder_id").str.starts_with("scenario-2-"))
    assert sorted(zip(held["responder_id"], held["competency"], strict=True)) == [
        ("scenario-2-paediatrician-1", "jar"),
        ("scenario-2-paediatrician-1", "jar-16-17"),
        ("scenario-2-paediatrician-2", "jar"),
        ("scenario-2-paediatrician-2", "jar-16-17"),
    ]
    assert set(held["valid_until"].to_list()) == {None}
    assert set(held["valid_from"].to_list()) == {date(2026, 1, 4)}  # valid before the first duty
    shifts = changed.shifts.filter(pl.col("responder_id").str.starts_with("scenario-2-"))
    assert sorted(shifts.select("responder_id", "start", "end").iter_rows()) == sorted(
        (f"scenario-2-paediatrician-{n}", a, b) for n, a, b in DUTIES
    )
    assert changed.shifts.height == rota.shifts.height + 3  # type: ignore[attr-defined]
    # the rota's own people and shifts are left as they were
    assert changed.shifts.filter(pl.col("responder_id") == "P1").height == 3


def test_the_new_people_close_the_nights_they_are_on_duty() -> None:
    rota = days_only()
    base = assess(rota, flat_demand(START), START, END)  # type: ignore[arg-type]
    assert base.rules.row(0, named=True)["uncovered_hours"] == pytest.approx(3 * 12)
    after = with_scenarios(rota, base, [TRAIN]).changed  # type: ignore[arg-type]
    # 00:00-07:00 of 05/01 is before the first duty: only that is left
    assert after.rules["uncovered_hours"].to_list() == [pytest.approx(7), pytest.approx(7)]
    assert after.expected_cases_meeting_a_gap < base.expected_cases_meeting_a_gap


def test_describe_says_how_many_what_training_and_the_hours() -> None:
    assert TRAIN.describe() == "train 2 more paediatrician in jar, jar-16-17 (36 hours of duty)"
    half = TrainResponders("sio", 1, ("jar",), ((1, night(0)[0], night(0)[0] + timedelta(minutes=90)),))
    assert half.describe() == "train 1 more sio in jar (1.5 hours of duty)"


def test_the_page_key_round_trips() -> None:
    change = {
        "kind": "train",
        "role": "paediatrician",
        "count": 2,
        "competencies": ["jar", "jar-16-17"],
        "duties": [list(d) for d in DUTIES],  # as a page may keep them
        "agency": "Vale Hospitals NHS Trust",  # for the words only
    }
    add = {"kind": "add", "role": "sio", "count": 1, "window": None, "first": None}
    key = scenario_key([add, change])
    assert hash(key) == hash(scenario_key([add, change]))
    assert scenarios_from(key) == (AddResponders("sio", 1), TRAIN)


def test_refused_duties() -> None:
    rota = days_only()
    for bad, why in [
        (TrainResponders("sio", 1, ("jar",), ()), "no coverage rule"),
        (TrainResponders("paediatrician", 0, ("jar",), ()), "from 1 to 200"),
        (TrainResponders("paediatrician", 1, (), ()), "name the training"),
        (TrainResponders("paediatrician", 1, ("jar",), ((2, *night(0)),)), "person 2, but 1"),
        (TrainResponders("paediatrician", 1, ("jar",), ((1, night(0)[1], night(0)[0]),)), "end after"),
    ]:
        with pytest.raises(InputError, match=why):
            apply_scenarios(rota, [bad], START, END)  # type: ignore[arg-type]


def test_the_planners_training_answer_as_a_scenario_closes_the_gaps() -> None:
    rota = days_only()
    p = plan(rota, START, END, demand=lambda band, hour: 1.0, time_limit_s=20)  # type: ignore[arg-type]
    assert p.fills == ()  # P1 works every day: a night after a day breaks the rest limit
    (need,) = p.training_needed
    assert need.people >= 1 and need.duties
    base = assess(rota, flat_demand(START), START, END)  # type: ignore[arg-type]
    train = TrainResponders(need.role, need.people, need.competencies, need.duties)
    after = with_scenarios(rota, base, [train]).changed  # type: ignore[arg-type]
    assert after.rules["uncovered_hours"].sum() == pytest.approx(0)
    assert train.hours == pytest.approx(need.hours)
