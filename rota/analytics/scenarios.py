"""What-if changes to a rota (docs/methods.md, "Scenarios"): add trained responders on chosen hours, train
new people for the capacity planner's duties, let a training lapse, remove a responder. Each returns a
changed copy; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.errors import InputError, Problem
from rota.model import Rota, with_new_people
from rota.rules import RuleError, parse_window
from rota.timeutil import SERVICE_TZ


@dataclass(frozen=True)
class AddResponders:
    """`count` more responders of `role`, holding every competency the role's rules ask for, on duty in
    `window` (like "Mon-Sun 19:00-07:00"; None = around the clock) between `first` and `last` (inclusive
    local dates; None = the whole forecast range)."""

    role: str
    count: int
    window: str | None = None
    first: date | None = None
    last: date | None = None

    def describe(self) -> str:
        when = f" on {self.window}" if self.window else " around the clock"
        span = ""
        if self.first or self.last:
            span = f" from {self.first:%d/%m/%Y}" if self.first else ""
            span += f" to {self.last:%d/%m/%Y}" if self.last else ""
        noun = "responder" if self.count == 1 else "responders"
        return f"add {self.count} trained {self.role} {noun}{when}{span}"


@dataclass(frozen=True)
class LapseTraining:
    """`competency` of `responder_id` lapses from local date `on` (valid to the day before)."""

    responder_id: str
    competency: str
    on: date

    def describe(self) -> str:
        return f"{self.competency} training of {self.responder_id} lapses on {self.on:%d/%m/%Y}"


@dataclass(frozen=True)
class RemoveResponder:
    """`responder_id` no longer responds (left, long-term absence)."""

    responder_id: str

    def describe(self) -> str:
        return f"remove responder {self.responder_id}"


@dataclass(frozen=True)
class TrainResponders:
    """`count` new people of `role` holding `competencies`, on duty exactly in `duties`: (person number from
    1 to `count`, start, end), UTC-aware. The capacity planner's training answer (docs/planner.md) as a
    scenario: its duties for the people it says would close the gaps left."""

    role: str
    count: int
    competencies: tuple[str, ...]
    duties: tuple[tuple[int, datetime, datetime], ...] = ()

    @property
    def hours(self) -> float:
        return sum((b - a).total_seconds() for _, a, b in self.duties) / 3600

    def describe(self) -> str:
        return (
            f"train {self.count} more {self.role} in {', '.join(self.competencies)} "
            f"({round(self.hours, 2):g} hours of duty)"
        )


Scenario = AddResponders | LapseTraining | RemoveResponder | TrainResponders


def _problem(reason: str) -> InputError:
    return InputError(Problem("scenario", None, None, reason))


def apply_scenarios(
    rota: Rota, scenarios: Sequence[Scenario], start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ
) -> Rota:
    """The rota with every scenario applied, in order, over the forecast range [start, end)."""
    for i, s in enumerate(scenarios):
        if isinstance(s, AddResponders):
            rota = _add(rota, s, start, end, tz, i)
        elif isinstance(s, TrainResponders):
            rota = _train(rota, s, start, tz, i)
        elif isinstance(s, LapseTraining):
            rota = _lapse(rota, s)
        else:
            rota = _remove(rota, s)
    return rota


def _add(rota: Rota, s: AddResponders, start: datetime, end: datetime, tz: tzinfo, index: int) -> Rota:
    rules = [r for r in rota.effective_rules() if r.role == s.role]
    if not rules:
        raise _problem(f"no coverage rule asks for the role {s.role!r}")
    if not 1 <= s.count <= 200:
        raise _problem("the number of responders to add must be from 1 to 200")
    try:
        window = parse_window(s.window) if s.window else None
    except RuleError as exc:
        raise _problem(str(exc)) from None
    lo = start if s.first is None else max(start, _midnight(s.first, tz))
    hi = end if s.last is None else min(end, _midnight(s.last + timedelta(days=1), tz))
    if hi <= lo:
        raise _problem("the chosen days fall outside the forecast range")
    spans = window.intervals(lo, hi, tz) if window else [(lo, hi)]
    competencies = sorted({c for r in rules for c in r.competencies})
    ids = [f"scenario-{index + 1}-{s.role}-{n + 1}" for n in range(s.count)]
    return with_new_people(
        rota,
        ids,
        [f"Scenario {s.role} {n + 1}" for n in range(s.count)],
        s.role,
        competencies,
        lo.astimezone(tz).date() - timedelta(days=1),
        duties=[(r, a, b) for r in ids for a, b in spans],
    )


def _train(rota: Rota, s: TrainResponders, start: datetime, tz: tzinfo, index: int) -> Rota:
    if not any(r.role == s.role for r in rota.effective_rules()):
        raise _problem(f"no coverage rule asks for the role {s.role!r}")
    if not 1 <= s.count <= 200:
        raise _problem("the number of people to train must be from 1 to 200")
    if not s.competencies:
        raise _problem("name the training the new people would hold")
    for n, a, b in s.duties:
        if not 1 <= n <= s.count:
            raise _problem(f"a duty is for person {n}, but {s.count} are trained")
        if a.tzinfo is None or b.tzinfo is None or b <= a:
            raise _problem("a duty must end after it starts, with a time zone")
    ids = [f"scenario-{index + 1}-{s.role}-{n}" for n in range(1, s.count + 1)]
    earliest = min([start, *(a for _, a, _ in s.duties)])
    return with_new_people(
        rota,
        ids,
        [f"Trained {s.role} {n}" for n in range(1, s.count + 1)],
        s.role,
        s.competencies,
        earliest.astimezone(tz).date() - timedelta(days=1),
        duties=[(ids[n - 1], a, b) for n, a, b in s.duties],
    )


def _midnight(d: date, tz: tzinfo) -> datetime:
    from rota.timeutil import day_start

    return day_start(d, tz)


def _known(rota: Rota, responder_id: str) -> None:
    if responder_id not in set(rota.responders.get_column("responder_id").to_list()):
        raise _problem(f"unknown responder {responder_id!r}")


def _lapse(rota: Rota, s: LapseTraining) -> Rota:
    _known(rota, s.responder_id)
    t = rota.training
    mine = (pl.col("responder_id") == s.responder_id) & (pl.col("competency") == s.competency)
    if t.filter(mine).height == 0:
        raise _problem(f"{s.responder_id} holds no {s.competency!r} training")
    last = s.on - timedelta(days=1)
    # valid_until is inclusive: the day before `on` is the last valid day; records starting later go
    lapsed = t.filter(~mine | (pl.col("valid_from") <= last)).with_columns(
        pl.when(mine & (pl.col("valid_until").is_null() | (pl.col("valid_until") > last)))
        .then(pl.lit(last))
        .otherwise(pl.col("valid_until"))
        .alias("valid_until")
    )
    return replace(rota, training=lapsed)


def _remove(rota: Rota, s: RemoveResponder) -> Rota:
    _known(rota, s.responder_id)
    return replace(
        rota,
        responders=rota.responders.with_columns(
            pl.when(pl.col("responder_id") == s.responder_id)
            .then(pl.lit(False))
            .otherwise(pl.col("active"))
            .alias("active")
        ),
    )


__all__ = [
    "AddResponders",
    "LapseTraining",
    "RemoveResponder",
    "Scenario",
    "TrainResponders",
    "apply_scenarios",
]
