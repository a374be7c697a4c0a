"""The planner's answer (SPEC 13, docs/planner.md): fills for existing responders chosen best first by
expected cases covered, then fewest fills, then the smallest largest addition to anyone's hours, then
fewest people; then the extra trained people that would close what remains."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, tzinfo

import polars as pl

from rota.engine import gaps
from rota.model import Rota
from rota.planner.fills import Fill, with_fills
from rota.planner.grid import WEIGHT_SCALE, Demand, Grid, Weigher, build_grid
from rota.planner.limits import PlanLimits
from rota.planner.model import ORDER, Solved, build, fills_of, solve
from rota.planner.training import Need, training_needed
from rota.timeutil import SERVICE_TZ


@dataclass(frozen=True)
class Plan:
    """The proposal. `objective` is the expected cases covered by the fills (the first aim), `best_bound`
    the solver's proof of the most that could be covered, `relative_gap` their distance when not optimal."""

    status: str  # optimal, feasible or no_solution
    fills: tuple[Fill, ...]
    gaps_before: pl.DataFrame  # rule_id, start, end (UTC)
    gaps_after: pl.DataFrame
    expected_uncovered_before: float
    expected_uncovered_after: float
    objective: float
    best_bound: float
    relative_gap: float | None
    stages: tuple[tuple[str, str, float, float, float], ...] = ()  # (aim, status, value, bound, seconds)
    training_needed: tuple[Need, ...] = ()


def demand_from_frame(frame: pl.DataFrame) -> Demand:
    """A demand from a frame of hour_start (UTC), age_band and expected (cases in that hour); 0 elsewhere."""
    table = {
        (band, hour): float(v)
        for hour, band, v in frame.select("hour_start", "age_band", "expected").iter_rows()
    }
    return lambda band, hour: table.get((band, hour), 0.0)


def expected_in(frame: pl.DataFrame, rota: Rota, demand: Demand, tz: tzinfo) -> float:
    """Expected cases falling in the gaps of `frame` (rule_id, start, end), each by its rule's age band."""
    bands = {r.id: r.age_band for r in rota.effective_rules()}
    w = Weigher(demand, tz)
    return float(
        sum(w.expected(bands[k], a, b) for k, a, b in frame.select("rule_id", "start", "end").iter_rows())
    )


def _covered(grid: Grid, chosen: tuple[int, ...]) -> int:
    """The weight the chosen fills close: pieces of gap whose shortfall they make up (the solver's own count
    may leave some out when its first aim is not proved)."""
    held = Counter(key for i in chosen for key in grid.candidates[i].covers)
    return sum(w for key, w in grid.weights.items() if w > 0 and held[key] >= grid.gap_rows[key[0]].short)


def plan(
    rota: Rota,
    start: datetime,
    end: datetime,
    *,
    demand: Demand | pl.DataFrame,
    limits: PlanLimits | None = None,
    tz: tzinfo = SERVICE_TZ,
    time_limit_s: float = 60,
    agency: str | None = None,
    training: bool = True,
) -> Plan:
    """Propose fills closing the gaps of [start, end) that hold the most expected cases, and the extra
    trained people that would close the rest (SPEC 13). The time limit covers everything; the training
    answer gets what the fills leave, and a third of it unless the fills close every gap."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("start and end must be timezone-aware, end after start")
    limits = limits or PlanLimits()
    dem = demand_from_frame(demand) if isinstance(demand, pl.DataFrame) else demand
    rota = rota.conformed()
    began = time.monotonic()
    deadline = began + time_limit_s
    grid = build_grid(rota, start, end, dem, limits, tz, agency)
    before = grid.gap_frame.select("rule_id", "start", "end")
    exp_before = expected_in(before, rota, dem, tz)
    first = grid.candidates and before.height
    full = sum(w for w in grid.weights.values() if w > 0)
    reserve = time_limit_s / 3 if training else 0.0
    solved = (
        solve(build(grid, limits), ORDER, deadline - min(1.0, time_limit_s / 20), reserve, full)
        if first
        else Solved("optimal", (), {}, 0.0, ())
    )
    fills = fills_of(grid, solved.chosen)
    after = gaps(with_fills(rota, fills), start, end, tz).select("rule_id", "start", "end")
    exp_after = expected_in(after, rota, dem, tz)
    objective = _covered(grid, solved.chosen) / WEIGHT_SCALE
    bound = solved.bound / WEIGHT_SCALE if first else 0.0
    status = solved.status
    needs: tuple[Need, ...] = ()
    if training and after.height:
        needs, sure = training_needed(
            with_fills(rota, fills), start, end, after, limits, tz, agency, deadline
        )
        if not sure and status == "optimal":
            status = "feasible"
    gap = None if status == "optimal" else (max(0.0, bound - objective) / bound if bound > 0 else 0.0)
    return Plan(
        status, fills, before, after, exp_before, exp_after, objective, bound, gap, solved.stages, needs
    )
