"""How many more trained people would close the gaps the fills leave (SPEC 13 `training_needed`;
docs/planner.md "Training needed").

For each role with gaps left, hypothetical new people of that role are added, holding every competency
of that role's rules still in gap, valid throughout, with no shifts. The planner's own model, under the
same limits, first closes as much gap time as it can with them, then uses as few of them as it can, for as
few hours; their number is raised until every gap closes. A training that lapses during the period has
already opened the gaps it leaves, so the people needed to cover them are counted here.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

import polars as pl

from rota.model import Rota, with_new_people
from rota.planner.fills import Fill
from rota.planner.grid import build_grid
from rota.planner.limits import PlanLimits
from rota.planner.model import ADDED, COVERED, PEOPLE, build, fills_of, solve

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Need:
    """`people` more people of `role` holding `competencies` (of `agency` when known) would close the
    role's remaining gaps, working `hours` between them. `duties`: the duties the planner gave them, as
    (person number from 1, start, end UTC), by person then start (a scenario can try them: Capacity &
    forecast's "What it would take"); not in `rota plan`'s answer. `closes_all`: every gap closes with
    them; when the time runs out first, `people` and `hours` are what the best answer found used, closing
    only part of the gaps. Whether no fewer could do is the plan's status (optimal)."""

    role: str
    competencies: tuple[str, ...]
    agency: str | None
    people: int
    hours: float
    duties: tuple[tuple[int, datetime, datetime], ...] = ()
    closes_all: bool = True  # False: the time ran out first; `people` then close only part of the gaps


def _flat(band: str, hour: datetime) -> float:
    return 1.0  # every gap hour counts the same: the aim is to close all of them


def _busiest_week_seconds(spans: list[tuple[datetime, datetime]]) -> float:
    """The most gap time of one role in any 7 x 24 hours (the union of its rules' gaps)."""
    union: list[list[datetime]] = []
    for a, b in sorted(spans):
        if union and a <= union[-1][1]:
            union[-1][1] = max(union[-1][1], b)
        else:
            union.append([a, b])
    best = 0.0
    for w0, _ in union:
        w1 = w0 + WEEK
        held = sum(max(0.0, (min(b, w1) - max(a, w0)).total_seconds()) for a, b in union)
        best = max(best, held)
    return best


def _agency_of(rota: Rota, role: str, agency: str | None) -> str | None:
    if agency is not None:
        return agency
    people = rota.responders.filter((pl.col("role") == role) & pl.col("active").fill_null(True))
    found = people["agency"].drop_nulls().unique().to_list()
    return found[0] if len(found) == 1 else None


def _with_new_people(
    rota: Rota, role: str, competencies: tuple[str, ...], agency: str | None, count: int, start: datetime
) -> tuple[Rota, frozenset[str]]:
    ids = [f"NEW-{role.upper()}-{n}" for n in range(1, count + 1)]
    names = [f"New {role} {n}" for n in range(1, count + 1)]
    first = start.date() - timedelta(days=2)
    out = with_new_people(rota, ids, names, role, competencies, first, agency=agency)
    return out, frozenset(ids)


def _number(responder_id: str) -> int:
    return int(responder_id.rsplit("-", 1)[1])


def _duties(fills: tuple[Fill, ...]) -> tuple[tuple[int, datetime, datetime], ...]:
    """The new people's fills as (person, start, end), people numbered 1, 2... in the order of their ids."""
    numbers = sorted({_number(f.responder_id) for f in fills})
    person = {n: i for i, n in enumerate(numbers, start=1)}
    return tuple(sorted((person[_number(f.responder_id)], f.start, f.end) for f in fills))


def training_needed(
    rota: Rota,
    start: datetime,
    end: datetime,
    remaining: pl.DataFrame,
    limits: PlanLimits,
    tz: tzinfo,
    agency: str | None,
    deadline: float,
) -> tuple[tuple[Need, ...], bool]:
    """The fewest extra people per role (and competency set, and agency when known) that would close the
    gaps in `remaining` (rule_id, start, end) of `rota` (which already holds the fills), and whether every
    count was proved the fewest before `deadline` (time.monotonic()). With an agency, only the roles its
    responders hold."""
    rules = {r.id: r for r in rota.effective_rules()}
    by_role: dict[str, list[tuple[str, datetime, datetime]]] = {}
    for rid, a, b in remaining.select("rule_id", "start", "end").iter_rows():
        by_role.setdefault(rules[rid].role, []).append((rid, a, b))
    needs: list[Need] = []
    sure = True
    roles = sorted(by_role)
    if agency is not None:  # an agency trains its own roles only: other agencies' gaps are theirs
        theirs = rota.responders.filter(pl.col("agency") == agency).get_column("role").unique().to_list()
        roles = [r for r in roles if r in theirs]
    for n, role in enumerate(roles):
        rows = by_role[role]
        gap_rules = [rules[r] for r in sorted({r for r, _, _ in rows})]
        competencies = tuple(sorted({c for r in gap_rules for c in r.competencies}))
        short = max(r.min_count for r in gap_rules)
        per_week = _busiest_week_seconds([(a, b) for _, a, b in rows])
        # nobody holds more than the weekly limit of the busiest week's gap time: a floor on the people
        fewest = max(short, math.ceil(per_week / limits.weekly_seconds))
        count = fewest * 2 + 1
        who = _agency_of(rota, role, agency)
        # the role's share of the time left; the rota keeps only this role's rules
        role_rota = replace(rota, rules=tuple(gap_rules))
        while True:
            role_deadline = time.monotonic() + (deadline - time.monotonic()) / (len(roles) - n)
            trial, ids = _with_new_people(role_rota, role, competencies, who, count, start)
            grid = build_grid(trial, start, end, _flat, limits, tz, None, only=ids)
            total = sum(grid.weights.values())
            built = build(grid, limits)
            new = [built.used[i] for i in sorted(ids, key=_number) if i in built.used]
            for one, two in itertools.pairwise(new):  # the new people are alike: take them in order
                built.model.add(one >= two)
            built.model.add(sum(new) >= fewest)  # a floor the solver cannot see for itself
            solved = solve(built, (COVERED, PEOPLE, ADDED), role_deadline, 0.0, total)
            if solved.status == "no_solution":
                sure = False
                break
            first_proved = solved.stages[0][1] == "optimal"
            if (
                round(solved.values.get(COVERED, 0)) >= total
                or not first_proved
                or time.monotonic() >= deadline
            ):
                break
            count *= 2  # proved too few to close every gap: try twice as many
        closed = solved.status != "no_solution" and round(solved.values.get(COVERED, 0)) >= total
        sure = sure and closed and solved.status == "optimal"
        fills = fills_of(grid, solved.chosen)
        people = len({f.responder_id for f in fills})
        hours = round(sum(f.hours for f in fills), 2)
        needs.append(Need(role, competencies, who, people, hours, _duties(fills), closed))
    return tuple(needs), sure
