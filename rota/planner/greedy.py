"""A first proposal for the solver to start from (docs/planner.md "Time"): candidate fills taken greedily,
earliest first and longest first, whenever one closes gap still short and keeps every limit for its
person. The solver starts from it rather than from no fill at all; when it already closes every gap, the
first aim is proved at once. It is only a hint: the model's constraints decide, so a hint that broke a limit
would be repaired or dropped by the solver, never proposed."""

from __future__ import annotations

from datetime import date, timedelta

from rota.planner.grid import Grid
from rota.planner.limits import PlanLimits

WEEK = 7 * 24 * 3600


def _weekly_ok(duties: list[tuple[int, int]], new: tuple[int, int], cap: int) -> bool:
    """Whether every 7 x 24 h window holding part of `new` keeps the duty seconds at most `cap`."""
    every = [*duties, new]
    near = [(a, b) for a, b in every if b > new[0] - WEEK and a < new[1] + WEEK]
    for w0 in {a for a, _ in near} | {b - WEEK for _, b in near}:
        w1 = w0 + WEEK
        if min(new[1], w1) <= max(new[0], w0):
            continue
        if sum(max(0, min(b, w1) - max(a, w0)) for a, b in near) > cap:
            return False
    return True


def _nights_ok(nights: set[date], night: date | None, most: int) -> bool:
    if night is None or night in nights:
        return True
    run = 1
    d = night - timedelta(days=1)
    while d in nights:
        run, d = run + 1, d - timedelta(days=1)
    d = night + timedelta(days=1)
    while d in nights:
        run, d = run + 1, d + timedelta(days=1)
    return run <= most


def greedy(grid: Grid, limits: PlanLimits) -> list[int]:
    """Candidate indexes of a proposal keeping every limit: the earliest gap still short is closed by the
    fill starting there that closes the most short gap time (any fill holding it when none starts there)."""
    need = {
        key: grid.gap_rows[key[0]].short
        for key, w in grid.weights.items()
        if w > 0 and grid.gap_rows[key[0]].short > 0
    }
    seconds = [b - a for a, b in grid.segments]
    holders: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(grid.candidates):
        for key in c.covers:
            holders.setdefault(key, []).append(i)
    taken: list[int] = []
    duties: dict[str, list[tuple[int, int]]] = {rid: list(s) for rid, s in grid.shifts.items()}
    fills: dict[str, list[tuple[int, int]]] = {}
    nights: dict[str, set[date]] = {rid: set(n) for rid, n in grid.shift_nights.items()}
    rest = limits.rest_seconds

    def gain(i: int) -> int:
        return sum(seconds[s] for key in grid.candidates[i].covers if need.get(key, 0) > 0 for s in (key[1],))

    def fits(i: int) -> bool:
        c = grid.candidates[i]
        if any(c.start < b + rest and a < c.end + rest for a, b in fills.get(c.responder_id, [])):
            return False
        if not _nights_ok(nights.setdefault(c.responder_id, set()), c.night, limits.max_consecutive_nights):
            return False
        return _weekly_ok(duties.setdefault(c.responder_id, []), (c.start, c.end), limits.weekly_seconds)

    for key in sorted(need, key=lambda k: (grid.segments[k[1]][0], k[0])):
        tried: set[int] = set()
        while need[key] > 0:
            pool = [i for i in holders.get(key, []) if i not in tried]
            here = [i for i in pool if grid.candidates[i].first == key[1]]
            best = next((i for i in sorted(here or pool, key=lambda i: (-gain(i), i)) if fits(i)), None)
            if best is None and here:
                best = next((i for i in sorted(pool, key=lambda i: (-gain(i), i)) if fits(i)), None)
            if best is None:
                break
            tried.add(best)
            c = grid.candidates[best]
            taken.append(best)
            fills.setdefault(c.responder_id, []).append((c.start, c.end))
            duties.setdefault(c.responder_id, []).append((c.start, c.end))
            if c.night is not None:
                nights[c.responder_id].add(c.night)
            for k in c.covers:
                if k in need:
                    need[k] -= 1
    return taken
