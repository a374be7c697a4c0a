"""The planning service (docs/planner.md): who may plan what, the demand it weighs by, and that nothing is
stored. The demo rota and simulated cases are stored in SQLite once for the module; periods are short so
the solver proves its answers quickly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.demo import build_demo
from rota.errors import InputError, PermissionDenied
from rota.planner import PlanLimits, violations
from rota.services.access import Actor
from rota.services.planning import FLAT, plan_gaps, plan_payload, plan_rota
from rota.storage.db import init_db
from rota.storage.imports import import_cases, import_rota
from rota.storage.rota import load_rota
from rota.storage.settings import write_setting
from rota.timeutil import day_start
from tests.analytics.simulate import TrueModel

TODAY = date(2026, 12, 4)
NOW = day_start(TODAY) + timedelta(hours=9)
START, END = day_start(TODAY), day_start(TODAY + timedelta(days=4))
MANAGER = Actor("manager", "cdop_manager")
POLICE = Actor("coord", "coordinator", agency="Vale Police")
COMMISSIONER = Actor("icb", "commissioner")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("planning") / "demo.db"
    engine = init_db(f"sqlite:///{path}")
    import_rota(engine, build_demo(TODAY), actor="test", source="demo")
    cases = TrueModel(cases_per_year=34).draw(
        day_start(TODAY - timedelta(days=5 * 365)), day_start(TODAY), 11
    )
    import_cases(engine, cases, actor="test", source="simulated")
    write_setting(engine, "child_population", "380000", actor="test")
    yield engine
    engine.dispose()


def _agencies(engine: Engine) -> dict[str, str]:
    people = load_rota(engine, START, END).responders
    return dict(people.select("responder_id", "agency").iter_rows())


def test_a_coordinator_plans_their_own_agency_only(engine: Engine) -> None:
    answer = plan_gaps(engine, POLICE, START, END, time_limit_s=8, now=NOW)
    assert answer.agency == "Vale Police"
    agencies = _agencies(engine)
    assert answer.plan.fills, "the demo's SIO gaps are fillable"
    assert {agencies[f.responder_id] for f in answer.plan.fills} == {"Vale Police"}
    with pytest.raises(PermissionDenied, match="Vale Police"):
        plan_gaps(engine, POLICE, START, END, agency="Vale Hospitals NHS Trust", time_limit_s=5, now=NOW)


def test_commissioners_get_no_fills_and_nothing_is_stored(engine: Engine) -> None:
    before = load_rota(engine, START, END).shifts.height
    answer = plan_gaps(engine, COMMISSIONER, START, END, time_limit_s=8, now=NOW)
    assert answer.plan.fills == () and not answer.shows_people
    payload = plan_payload(answer)
    assert "fills" not in payload
    assert payload["expected_uncovered_cases_before"] >= payload["expected_uncovered_cases_after"]
    assert load_rota(engine, START, END).shifts.height == before


def test_the_managers_plan_keeps_every_limit_and_weighs_by_the_forecast(engine: Engine) -> None:
    answer = plan_gaps(engine, MANAGER, START, END, time_limit_s=10, now=NOW)
    assert answer.demand.startswith("forecast from 5.0 years")
    rota = load_rota(engine, START - timedelta(days=8), END + timedelta(days=8))
    assert violations(rota, answer.plan.fills, PlanLimits()) == []
    p = answer.plan
    assert p.expected_uncovered_before > 0
    assert p.expected_uncovered_after < p.expected_uncovered_before
    covered = sum(f.expected for f in p.fills)
    assert covered >= p.expected_uncovered_before - p.expected_uncovered_after - 1e-6


def test_unknown_agency_and_long_periods_are_refused(engine: Engine) -> None:
    with pytest.raises(InputError, match="no responder belongs"):
        plan_gaps(engine, MANAGER, START, END, agency="Atlantis Police", time_limit_s=5, now=NOW)
    with pytest.raises(InputError, match="at most 92 days"):
        plan_gaps(engine, MANAGER, START, START + timedelta(days=93), time_limit_s=5, now=NOW)
    with pytest.raises(InputError, match="end must come after"):
        plan_gaps(engine, MANAGER, END, START, time_limit_s=5, now=NOW)


def test_no_cases_and_no_population_weigh_every_hour_alike() -> None:
    rota = build_demo(TODAY)
    answer = plan_rota(rota, pl.DataFrame(), START, START + timedelta(days=2), time_limit_s=10, now=NOW)
    assert answer.demand == FLAT
    payload = plan_payload(answer)
    assert payload["expected_uncovered_cases_before"] is None
    assert all(f["expected_cases"] is None for f in payload["fills"])
