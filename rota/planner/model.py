"""The planner's CP-SAT model (docs/planner.md): a 0/1 choice per candidate fill (rota.planner.grid) under
the limits of SPEC 13, with its aims (expected cases covered, fills, the largest addition to anyone's hours,
people) solved in a given order, each holding the ones before at their best."""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import timedelta

from ortools.sat.python import cp_model

from rota.planner.fills import Fill
from rota.planner.greedy import greedy
from rota.planner.grid import WEIGHT_SCALE, Grid
from rota.planner.limits import PlanLimits

WEEK = 7 * 24 * 3600
_STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}


def _weekly(
    model: cp_model.CpModel, grid: Grid, x: list[cp_model.IntVar], limits: PlanLimits
) -> dict[str, cp_model.IntVar]:
    """Duty seconds in every 7 x 24 h window at most the limit, and each responder's added seconds.

    A responder's fills are unions of whole grid segments, so each segment they may hold gets a 0/1
    `held` and a running total of held seconds; a window's fill seconds are then two running totals and at
    most two partly held segments. The fullest windows start at a duty's start or end at a duty's end, so
    those are the ones written."""
    per: dict[str, list[int]] = {}
    for i, c in enumerate(grid.candidates):
        per.setdefault(c.responder_id, []).append(i)
    cap = limits.weekly_seconds
    added: dict[str, cp_model.IntVar] = {}
    for rid, idx in per.items():
        holders: dict[int, list[int]] = {}
        for i in idx:
            for s in range(grid.candidates[i].first, grid.candidates[i].last + 1):
                holders.setdefault(s, []).append(i)
        segs = sorted(holders)
        held = []
        for s in segs:
            v = model.new_bool_var(f"h_{rid}_{s}")
            model.add(v == sum(x[i] for i in holders[s]))
            held.append(v)
        spans = [grid.segments[s] for s in segs]
        lens = [b - a for a, b in spans]
        room = [0, *itertools.accumulate(lens)]
        run = [model.new_constant(0)]
        for k, v in enumerate(held):
            t = model.new_int_var(0, room[k + 1], f"p_{rid}_{k}")
            model.add(t == run[-1] + lens[k] * v)
            run.append(t)
        added[rid] = run[-1]
        starts = [a for a, _ in spans]
        ends = [b for _, b in spans]
        shifts = sorted(grid.shifts.get(rid, []))
        shift_starts = [a for a, _ in shifts]
        longest = max((b - a for a, b in shifts), default=0)
        points = {grid.candidates[i].start for i in idx} | {a for a, _ in shifts}
        points |= {e - WEEK for e in {grid.candidates[i].end for i in idx} | {b for _, b in shifts}}
        seen: set[tuple[int, ...]] = set()
        for w0 in sorted(points):
            w1 = w0 + WEEK
            lo = bisect_right(ends, w0)  # first segment ending after w0
            hi = bisect_left(starts, w1)  # segments [lo, hi) hold part of the window
            if lo >= hi:
                continue
            near = shifts[bisect_left(shift_starts, w0 - longest) : bisect_left(shift_starts, w1)]
            fixed = sum(max(0, min(b, w1) - max(a, w0)) for a, b in near)
            inner_lo = lo + (starts[lo] < w0)
            inner_hi = hi - (ends[hi - 1] > w1)
            terms: list[tuple[int, int]] = []  # (segment position, seconds of it in the window)
            if starts[lo] < w0:
                terms.append((lo, min(ends[lo], w1) - w0))
            if ends[hi - 1] > w1 and (hi - 1 != lo or starts[lo] >= w0):
                terms.append((hi - 1, w1 - starts[hi - 1]))
            whole = max(0, room[inner_hi] - room[inner_lo]) if inner_hi > inner_lo else 0
            if fixed + whole + sum(s for _, s in terms) <= cap:
                continue
            key = (fixed, inner_lo, inner_hi, *(k for t in terms for k in t))
            if key in seen:
                continue
            seen.add(key)
            expr = sum(s * held[k] for k, s in terms)
            if inner_hi > inner_lo:
                expr = expr + run[inner_hi] - run[inner_lo]
            model.add(expr <= max(0, cap - fixed))
    return added


def _nights(model: cp_model.CpModel, grid: Grid, x: list[cp_model.IntVar], limits: PlanLimits) -> None:
    n = limits.max_consecutive_nights
    per: dict[str, dict[object, list[int]]] = {}
    for i, c in enumerate(grid.candidates):
        if c.night is not None:
            per.setdefault(c.responder_id, {}).setdefault(c.night, []).append(i)
    for rid, by_date in per.items():
        fixed = grid.shift_nights.get(rid, set())
        var: dict[object, cp_model.IntVar] = {}
        for d, idx in by_date.items():
            if d in fixed:
                continue
            v = model.new_bool_var(f"night_{rid}_{d}")
            for i in idx:
                model.add_implication(x[i], v)
            var[d] = v
        for d0 in by_date:
            for k in range(n + 1):  # every run of n + 1 dates holding d0
                first = d0 - timedelta(days=k)  # type: ignore[operator]
                run = [first + timedelta(days=j) for j in range(n + 1)]
                free = [var[d] for d in run if d in var]
                if free:
                    model.add(sum(free) <= max(0, n - sum(1 for d in run if d in fixed)))


@dataclass
class Built:
    """The CP-SAT model of a grid: a 0/1 choice per candidate fill and the four aims as variables."""

    grid: Grid
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    aims: dict[str, tuple[cp_model.IntVar, bool]]  # name -> (variable, maximise)
    used: dict[str, cp_model.IntVar]  # responder -> whether any fill is theirs


@dataclass(frozen=True)
class Solved:
    status: str  # optimal, feasible or no_solution
    chosen: tuple[int, ...]  # the candidates taken
    values: dict[str, float]  # each aim's value
    bound: float  # the first aim's bound
    stages: tuple[tuple[str, str, float, float, float], ...]


COVERED, FILLS, LARGEST, PEOPLE = "expected cases covered", "fills", "largest added seconds", "people"
ADDED = "added seconds"
ORDER = (COVERED, FILLS, LARGEST, PEOPLE)


def build(grid: Grid, limits: PlanLimits) -> Built:
    model = cp_model.CpModel()
    cands = grid.candidates
    x = [model.new_bool_var(f"x{i}") for i in range(len(cands))]
    by_rid: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_rid.setdefault(c.responder_id, []).append(i)
    rest = limits.rest_seconds
    for idx in by_rid.values():  # no overlap, and the rest after each fill
        model.add_no_overlap(
            [
                model.new_optional_fixed_size_interval_var(
                    cands[i].start, cands[i].end - cands[i].start + rest, x[i], f"i{i}"
                )
                for i in idx
            ]
        )
    added = _weekly(model, grid, x, limits)
    _nights(model, grid, x, limits)
    holders: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(cands):
        for key in c.covers:
            holders.setdefault(key, []).append(i)
    covered: list[tuple[cp_model.IntVar, int]] = []
    for key, idx in holders.items():
        w = grid.weights.get(key, 0)
        if w <= 0:
            continue
        v = model.new_bool_var(f"c{key}")
        model.add(grid.gap_rows[key[0]].short * v <= sum(x[i] for i in idx))
        covered.append((v, w))
    used = {rid: model.new_bool_var(f"u_{rid}") for rid in by_rid}
    most = model.new_int_var(0, 10**9, "most")
    for rid, idx in by_rid.items():
        model.add(most >= added[rid])
        for i in idx:
            model.add_implication(x[i], used[rid])
    exprs: list[tuple[str, cp_model.LinearExprT, bool]] = [
        (COVERED, sum(w * v for v, w in covered), True),
        (FILLS, sum(x), False),
        (LARGEST, most, False),
        (PEOPLE, sum(used.values()), False),
        (ADDED, sum(added.values()), False),
    ]
    aims: dict[str, tuple[cp_model.IntVar, bool]] = {}
    for name, expr, maximise in exprs:
        aims[name] = (model.new_int_var(-(10**15), 10**15, name), maximise)
        model.add(aims[name][0] == expr)
    first = set(greedy(grid, limits))
    for i, v in enumerate(x):  # a first proposal to start from (rota.planner.greedy)
        model.add_hint(v, i in first)
    return Built(grid, model, x, aims, used)


def _hint_all(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """The solver's last solution, every variable of it, as the model's hint."""
    solution = list(solver.response_proto.solution)
    model.clear_hints()  # type: ignore[no-untyped-call]
    for index, val in enumerate(solution):
        model.add_hint(model.get_int_var_from_proto_index(index), val)


def _complete_hint(model: cp_model.CpModel, solver: cp_model.CpSolver, seconds: float) -> bool:
    """Work out every derived variable of the hinted proposal (held pieces, running totals, nights, cover),
    so the first aim starts from a complete solution: a hint of the fill choices alone barely helps."""
    if seconds <= 0.1:
        return False
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = seconds
    res = solver.solve(model)
    solver.parameters.fix_variables_to_their_hinted_value = False
    if res not in _STATUS:
        return False
    _hint_all(model, solver)
    return True


def solve(
    built: Built, order: tuple[str, ...], deadline: float, reserve: float = 0.0, full: int | None = None
) -> Solved:
    """Each aim of `order` in turn, holding the ones before at their best value found, until `deadline`
    (time.monotonic()) less `reserve` seconds, which are given back when the first aim reaches `full`. An
    aim not solved in its share keeps the previous solution's value."""
    model, x = built.model, built.x
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 1
    # probing in presolve takes a third of a minute on the 28-day demo and is repeated at every aim; without
    # it the first aim is proved in under 10 s (docs/performance.md)
    solver.parameters.cp_model_probing_level = 0
    chosen: tuple[int, ...] = ()
    proven = True
    stages: list[tuple[str, str, float, float, float]] = []
    values: dict[str, float] = {}
    bound = 0.0
    aim0, up = built.aims[order[0]]
    (model.maximize if up else model.minimize)(aim0)  # the derived variables at their best for the hint
    clock = time.monotonic()
    hinted = _complete_hint(model, solver, min(5.0, (deadline - reserve - time.monotonic()) / 4))
    hint_took = time.monotonic() - clock
    # the first proposal closes every gap: nothing can cover more, so the first aim is proved already
    at_full = hinted and up and full is not None and round(solver.value(aim0)) >= full
    if hinted:  # the greedy proposal, whole: the answer if the first aim finds nothing better in time
        chosen = tuple(i for i in range(len(x)) if solver.boolean_value(x[i]))
        values = {n: float(solver.value(v)) for n, (v, _) in built.aims.items()}
    for k, name in enumerate(order):
        aim, maximise = built.aims[name]
        left = deadline - reserve - time.monotonic()
        share = left if k == len(order) - 1 else left * (0.6 if k == 0 else 0.5)
        if share < 0.2:
            proven = False
            if k == 0 and hinted:  # the greedy proposal stands; the bound is every gap closed
                bound = float(full) if full is not None else float("nan")
                stages.append((name, "feasible", values[name], bound, 0.0))
                continue
            stages.append((name, "no time", float("nan"), float("nan"), 0.0))
            continue
        if k == 0 and at_full:
            res, took = cp_model.OPTIMAL, hint_took
        else:
            (model.maximize if maximise else model.minimize)(aim)
            solver.parameters.max_time_in_seconds = share
            clock = time.monotonic()
            res = solver.solve(model)
            took = time.monotonic() - clock
        if res not in _STATUS:  # no better solution in time: hold this aim where the last one left it
            proven = False
            if k == 0 and hinted:  # the greedy proposal stands; the bound is every gap closed
                bound = float(full) if full is not None else float("nan")
                stages.append((name, "feasible", values[name], bound, took))
                model.add(aim >= round(values[name]) if maximise else aim <= round(values[name]))
                continue
            stages.append((name, solver.status_name(res).lower(), float("nan"), float("nan"), took))
            if k == 0:
                break
            continue
        value = round(solver.value(aim))
        chosen = tuple(i for i in range(len(x)) if solver.boolean_value(x[i]))
        values = {n: float(solver.value(v)) for n, (v, _) in built.aims.items()}
        best = float(full) if k == 0 and at_full and full is not None else solver.best_objective_bound
        if k == 0:
            bound = best
            if full is not None and value >= full:
                reserve = 0.0  # nothing will be left for the training answer: the later aims may use it
        proven = proven and res == cp_model.OPTIMAL
        stages.append((name, _STATUS[res], float(value), float(round(best)), took))
        model.add(aim >= value if maximise else aim <= value)
        if not (k == 0 and at_full):  # the hint is that solution already
            _hint_all(model, solver)
    first_ok = bool(stages) and stages[0][1] in _STATUS.values()
    status = "no_solution" if not first_ok else ("optimal" if proven else "feasible")
    return Solved(status, chosen, values, bound, tuple(stages))


def fills_of(grid: Grid, chosen: tuple[int, ...]) -> tuple[Fill, ...]:
    cands = grid.candidates
    return tuple(
        sorted(
            (
                Fill(
                    cands[i].responder_id,
                    grid.at(cands[i].start),
                    grid.at(cands[i].end),
                    "oncall",
                    cands[i].closes,
                    sum(grid.weights.get(key, 0) for key in cands[i].covers) / WEIGHT_SCALE,
                )
                for i in chosen
            ),
            key=lambda f: (f.start, f.responder_id),
        )
    )
