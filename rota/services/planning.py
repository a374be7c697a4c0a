"""The capacity planner for every entry point (`rota plan`, the Rota editor's "Plan the gaps", Capacity &
forecast's "What it would take"): docs/planner.md.

Demand: the forecast's hourly demand (docs/methods.md, "Risk"), learnt from whole calendar quarters of the
stored cases as Capacity & forecast learns it; with no cases and no child population, every gap minute
weighs the same ("flat"), the answer says so and gives no expected cases (null).

Permissions, here and not in the pages: a coordinator plans only their own agency's responders (asking for
another agency is refused); the CDOP manager and administrators plan any agency or all; commissioners get
the aggregate answer only: the gaps, the expected cases and the training needed, never the fills, which
name responders. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.analytics.cases import empty_cases
from rota.analytics.demand import Prior
from rota.analytics.forecast import fit_for
from rota.errors import InputError, PermissionDenied, Problem
from rota.model import Rota
from rota.output import records
from rota.planner import Plan, PlanLimits, plan
from rota.services.access import (
    COMMISSIONER,
    COORDINATOR,
    Actor,
    can_read_forecast,
    can_read_people,
)
from rota.services.forecasting import child_population, history_window
from rota.storage import Engine
from rota.storage.cases import load_cases
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, day_start, iso_local, utc_now

MAX_PLAN_DAYS = 92
DEFAULT_PLAN_DAYS = 28
DEFAULT_TIME_LIMIT_S = 60.0
FLAT = "flat"  # the demand's source when there is nothing to learn from


@dataclass(frozen=True)
class PlanAnswer:
    """The planner's answer with what it was asked: `demand` names where the weights came from."""

    plan: Plan
    start: datetime
    end: datetime
    agency: str | None
    limits: PlanLimits
    demand: str
    shows_people: bool = True  # False: the fills are left out (a commissioner's answer)


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InputError(Problem("period", None, None, "the end must come after the start"))
    if end - start > timedelta(days=MAX_PLAN_DAYS):
        raise InputError(Problem("period", None, None, f"plan at most {MAX_PLAN_DAYS} days at a time"))


def default_period(today: date, tz: tzinfo = SERVICE_TZ) -> tuple[datetime, datetime]:
    """The next 28 days from today's midnight."""
    return day_start(today, tz), day_start(today + timedelta(days=DEFAULT_PLAN_DAYS), tz)


def demand_for(
    rota: Rota,
    cases: pl.DataFrame | None,
    start: datetime,
    end: datetime,
    population: int | None,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
) -> tuple[pl.DataFrame | Callable[[str, datetime], float], str]:
    """The planner's demand over [start, end): the forecast learnt from whole quarters of `cases` (and the
    national-rate prior when `population` is known), else every hour alike. Also its source in words."""
    if cases is None or cases.height == 0:
        cases = empty_cases()
    bands = [r.age_band for r in rota.effective_rules()]
    if cases.height:
        lo, hi = history_window(cases, min(start, now or utc_now()), tz)
    else:
        lo = hi = start
    try:
        fitted = fit_for(rota, cases, hi, Prior(child_population=population), tz, lo)
    except InputError:
        return _flat, FLAT
    frame = fitted.by_band(start, end, bands)
    if frame.height == 0 or float(frame.get_column("expected").sum()) <= 0:
        return _flat, FLAT
    years = (hi - lo).days / 365.25
    source = f"forecast from {years:.1f} years of cases" if hi > lo else "forecast from national rates"
    return frame, source


def _flat(band: str, hour: datetime) -> float:
    return 1.0


def plan_rota(
    rota: Rota,
    cases: pl.DataFrame | None,
    start: datetime,
    end: datetime,
    *,
    limits: PlanLimits | None = None,
    agency: str | None = None,
    population: int | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
) -> PlanAnswer:
    """The planner on a rota in hand (a bundle's files, or the stored rota loaded by `plan_gaps`)."""
    check_period(start, end)
    if not 1 <= time_limit_s <= 3600:
        raise InputError(Problem("time limit", None, None, "give from 1 to 3600 seconds"))
    limits = limits or PlanLimits()
    if agency is not None and agency not in set(rota.responders.get_column("agency").drop_nulls()):
        raise InputError(Problem("agency", None, None, f"no responder belongs to the agency {agency!r}"))
    demand, source = demand_for(rota, cases, start, end, population, tz, now)
    answer = plan(
        rota, start, end, demand=demand, limits=limits, tz=tz, time_limit_s=time_limit_s, agency=agency
    )
    return PlanAnswer(answer, start, end, agency, limits, source)


def plan_gaps(
    engine: Engine,
    actor: Actor,
    start: datetime,
    end: datetime,
    *,
    limits: PlanLimits | None = None,
    agency: str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
) -> PlanAnswer:
    """The planner on the stored rota, for what `actor` may see (module docstring)."""
    if actor.role == COORDINATOR:
        if agency not in (None, actor.agency):
            raise PermissionDenied(f"{actor.label} coordinates {actor.agency} and cannot plan for {agency}")
        agency = actor.agency
    elif not can_read_forecast(actor):
        raise PermissionDenied("the planner is for coordinators, the CDOP manager and commissioners")
    check_period(start, end)
    rota = load_rota(engine, start - timedelta(days=8), end + timedelta(days=8))
    if agency is not None and agency not in set(rota.responders.get_column("agency").drop_nulls()):
        raise InputError(Problem("agency", None, None, f"no responder belongs to the agency {agency!r}"))
    answer = plan_rota(
        rota,
        load_cases(engine),
        start,
        end,
        limits=limits,
        agency=agency,
        population=child_population(engine),
        time_limit_s=time_limit_s,
        tz=tz,
        now=now,
    )
    if actor.role == COMMISSIONER or not can_read_people(actor):
        answer = replace(answer, plan=replace(answer.plan, fills=()), shows_people=False)
    return answer


def plan_payload(answer: PlanAnswer, tz: tzinfo = SERVICE_TZ) -> dict[str, Any]:
    """SPEC 13's JSON (docs/planner.md "The answer"), with the period, limits, demand and bound."""
    p = answer.plan

    def cases(value: float) -> float | None:  # flat demand weighs hours, not cases: no figure to give
        return None if answer.demand == FLAT else round(value, 6)

    out: dict[str, Any] = {
        "status": p.status,
        "start": iso_local(answer.start, tz),
        "end": iso_local(answer.end, tz),
        "agency": answer.agency,
        "demand": answer.demand,
        "limits": {
            "rest_hours": answer.limits.rest_hours,
            "max_weekly_hours": answer.limits.max_weekly_hours,
            "max_consecutive_nights": answer.limits.max_consecutive_nights,
            "max_shift_hours": answer.limits.max_shift_hours,
        },
        "gaps_before": records(p.gaps_before, tz),
        "gaps_after": records(p.gaps_after, tz),
        "fills": [
            {
                "responder_id": f.responder_id,
                "start": iso_local(f.start, tz),
                "end": iso_local(f.end, tz),
                "kind": f.kind,
                "closes": list(f.closes),
                "hours": round(f.hours, 2),
                "expected_cases": None if answer.demand == FLAT else round(f.expected, 6),
            }
            for f in p.fills
        ],
        "training_needed": [
            {
                "role": n.role,
                "competencies": list(n.competencies),
                "agency": n.agency,
                "people": n.people,
                "hours": n.hours,
                "closes_all": n.closes_all,
            }
            for n in p.training_needed
        ],
        "expected_uncovered_cases_before": cases(p.expected_uncovered_before),
        "expected_uncovered_cases_after": cases(p.expected_uncovered_after),
        "expected_cases_covered": cases(p.objective),
        "best_bound": cases(p.best_bound),
        "relative_gap": None if p.relative_gap is None else round(p.relative_gap, 6),
    }
    if not answer.shows_people:
        del out["fills"]
    return out
