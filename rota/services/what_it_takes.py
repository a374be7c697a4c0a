"""Capacity & forecast's "What it would take" (docs/dashboard.md): the capacity planner (`plan_gaps`,
docs/planner.md) over the first days of the page's period from today (at most 28; the reader picks how
many, as the planner takes longer the more days), as the page shows it: per role, the people to train,
their training and agency and the hours the planner gave them, each with the what-if change that tries
them (a `train` change, `TrainResponders`); the number of extra duties for today's staff, for those who
may see them; and the expected cases meeting a gap before and after those duties.

Permissions are `plan_gaps`'s and the forecast's: the CDOP manager, administrators and commissioners;
commissioners get the training needed and the figures, never the fills, which name responders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.errors import InputError, Problem
from rota.services.access import Actor, require_read_forecast
from rota.services.planning import FLAT, plan_gaps
from rota.storage import Engine
from rota.timeutil import SERVICE_TZ, day_start, utc_now

PLAN_DAYS = 28  # the most days planned at a time
DAY_CHOICES = (7, 14, 28)  # what the page offers; 28 (the default) answers in the time limit on the demo
TIME_LIMIT_S = 20.0


@dataclass(frozen=True)
class TrainingNeed:
    """`people` more of `role` holding `competencies` (of `agency` when the role has one) would close the
    gaps the planner cannot fill with today's staff, on duty `hours` between them. `change` tries it on the
    page (a plain what-if change, kind `train`, with the planner's duties). `found` is False when the
    planner ran out of time before giving these people any duty: `people` is then only its last try."""

    role: str
    people: int
    competencies: tuple[str, ...]
    agency: str | None
    hours: float
    change: dict[str, Any]
    found: bool = True


@dataclass(frozen=True)
class WhatItTakes:
    """The planner's answer for local days `first` to `last`, display-ready."""

    first: date
    last: date
    capped: bool  # the page's period runs on past `last`
    status: str  # optimal, feasible, no_solution (docs/planner.md "Status and bound")
    demand: str  # where the weights came from; "flat" when there was nothing to learn from
    needs: tuple[TrainingNeed, ...]
    fills: int | None  # extra duties for today's staff; None: not shown to this reader
    fill_hours: float | None
    gap_hours_before: float  # each rule's gap hours, summed over the rules
    gap_hours_after: float
    expected_before: float | None  # expected cases in each rule's gaps, summed; None with flat demand
    expected_after: float | None

    @property
    def gaps_left(self) -> bool:
        return self.gap_hours_after > 0


def _hours(gaps: pl.DataFrame) -> float:
    if gaps.height == 0:
        return 0.0
    return float(gaps.select((pl.col("end") - pl.col("start")).dt.total_seconds().sum()).item()) / 3600


def planned_days(
    first: date, last: date, tz: tzinfo = SERVICE_TZ, now: datetime | None = None, days: int = PLAN_DAYS
) -> tuple[date, date]:
    """The days planned for a period `first` to `last`: from today (or `first` if later), at most `days`
    (from 1 to 28)."""
    if not 1 <= days <= PLAN_DAYS:
        raise InputError(Problem("days", None, None, f"plan from 1 to {PLAN_DAYS} days at a time"))
    today = (now or utc_now()).astimezone(tz).date()
    start = max(first, today)
    if last < start:
        raise InputError(Problem("period", None, None, "pick a period that has not ended to plan for"))
    return start, min(last, start + timedelta(days=days - 1))


def what_it_would_take(
    engine: Engine,
    actor: Actor,
    first: date,
    last: date,
    tz: tzinfo = SERVICE_TZ,
    *,
    days: int = PLAN_DAYS,
    time_limit_s: float = TIME_LIMIT_S,
    now: datetime | None = None,
) -> WhatItTakes:
    """The planner over `planned_days` of the page's period `first` to `last`, for what `actor` may see."""
    require_read_forecast(actor)
    start_day, end_day = planned_days(first, last, tz, now, days)
    answer = plan_gaps(
        engine,
        actor,
        day_start(start_day, tz),
        day_start(end_day + timedelta(days=1), tz),
        time_limit_s=time_limit_s,
        tz=tz,
        now=now,
    )
    p = answer.plan
    needs = tuple(
        TrainingNeed(
            role=n.role,
            people=n.people,
            competencies=n.competencies,
            agency=n.agency,
            hours=n.hours,
            change={
                "kind": "train",
                "role": n.role,
                "count": n.people,
                "competencies": list(n.competencies),
                "duties": [list(d) for d in n.duties],
                "agency": n.agency,  # for the words only
                "hours": n.hours,
            },
            found=n.closes_all and bool(n.duties),
        )
        for n in p.training_needed
    )
    flat = answer.demand == FLAT
    return WhatItTakes(
        first=start_day,
        last=end_day,
        capped=end_day < last,
        status=p.status,
        demand=answer.demand,
        needs=needs,
        fills=len(p.fills) if answer.shows_people else None,
        fill_hours=round(sum(f.hours for f in p.fills), 2) if answer.shows_people else None,
        gap_hours_before=_hours(p.gaps_before),
        gap_hours_after=_hours(p.gaps_after),
        expected_before=None if flat else p.expected_uncovered_before,
        expected_after=None if flat else p.expected_uncovered_after,
    )


__all__ = [
    "DAY_CHOICES",
    "PLAN_DAYS",
    "TIME_LIMIT_S",
    "TrainingNeed",
    "WhatItTakes",
    "planned_days",
    "what_it_would_take",
]
