"""About five years of fictional, pseudonymised CDOP cases for the demo footprint, pure and seeded; long
because how each step of a Joint Agency Response goes, in and out of hours and against the rota's cover,
is spelt out step by step.

`build_demo_cases(today, rota)` draws the unexpected child deaths a footprint of 380,000 children would
notify (docs/cases.md, "The demo cases"), and how each Joint Agency Response went, in the columns of the
case record (`rota.model.CASES`). Nothing identifies a child: references are like `JAR-2023-0042`
(year and order of notification), there are no names, dates of birth or places.

Calibration (docs/domain.md, "Numbers behind the demo and the prior"):
- Volume: 380,000 children x 30 deaths per 100,000 a year = 114 deaths, 30% sudden and unexpected = 34.2
  JAR-eligible cases a year. About 4% more cases are notified that turn out not to meet the JAR criteria
  (`jar_criteria_met` false), so cases arrive as a Poisson process of 35.6 a year in all.
- Age mix (share of cases): 0-27 days 10%, 28-364 days 32% (infants 42%: SUDI dominates), 1-4 years 15%,
  5-9 7%, 10-12 5%, 13-15 12%, 16-17 19% (suicide and trauma; the group the protocol easily misses).
  Infants carry `age_days` (neonates skewed to the first week, older infants peaking at 2-4 months).
- When: infant notifications peak in the morning (discovery after night-time sleep, 06:00-10:00 local
  holds about 38% of them), with a winter excess (December-February about 1.3 x the summer months);
  adolescents (13-17) lean to the evening (18:00-24:00 about 45%); children 1-12 in the day. Weekends see
  about 20% more notifications than weekdays and New Year's Day a third more than other days.
- Categories: SUDI (infants), SUDC, trauma, suicide, drowning, medical (a sudden natural cause), unknown.

How the response went depends on the hour and on the demo rota itself: each case is joined to the rota at
its notification instant (`rota.analytics.completion.covered`, per role). A case arriving when a role's
rules for its age band are not met is much less likely to see that responder within 4 hours (x0.3 with
nobody JAR-trained on duty; x0.65 for a 16-17-year-old when the responder on duty is trained but not
briefed on 16-17s), and its `reason_incomplete` names the gap. Out of hours and for 16-17-year-olds every
step is less likely; the JAR is triggered less often for 16-17s (adult emergency departments, "obvious"
causes such as road collisions); joint home visits are the most missed step (about 40% within 24 hours,
docs/domain.md: 37% across England). A blank step time means the step was not done; steps that would fall
after the extract (the start of `today`) are blank too. `reason_incomplete` holds the main reason for each
JAR-eligible case that missed any target, and is blank exactly for the fully completed ones.

With the demo rota (seed 7) the cases come out at about 34 JAR-eligible a year, three quarters of them out
of hours; paediatrician within 4 hours about 0.87 in hours against 0.68 out of hours, and about 0.83 in
covered hours against 0.41 in the rota's gaps; home visits within 24 hours about 0.38; fully completed
about 0.21.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import accumulate

import polars as pl

from rota.analytics.cases import CASE_COLUMNS, CASES_SCHEMA
from rota.analytics.completion import covered, nth_working_day_after
from rota.analytics.reasons import reason_category
from rota.model import Rota
from rota.timeutil import SERVICE_TZ, day_start, is_bank_holiday, is_working_day, wall_to_instant_forward

CHILD_POPULATION = 380_000
DEATHS_PER_100K = 30.0
UNEXPECTED_SHARE = 0.30
CRITERIA_NOT_MET_SHARE = 0.04
YEARS = 5
JAR_ELIGIBLE_PER_YEAR = CHILD_POPULATION * DEATHS_PER_100K / 100_000 * UNEXPECTED_SHARE  # 34.2
CASES_PER_YEAR = JAR_ELIGIBLE_PER_YEAR / (1 - CRITERIA_NOT_MET_SHARE)  # 35.6
NEW_YEARS_DAY_FACTOR = 1.33
STEP_COLUMNS: tuple[str, ...] = (
    "paediatrician_at",
    "police_at",
    "home_visit_at",
    "planning_meeting_at",
    "ncmd_notified_at",
)
_HOURS_PER_YEAR = 365.25 * 24

# Notification hour of day (local), relative weights.
_INFANT_HOURS = (
    0.5, 0.4, 0.4, 0.4, 0.5, 0.8, 1.6, 2.6, 2.9, 2.4, 1.6, 1.2,
    1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.6, 0.6, 0.5,
)  # fmt: skip
_CHILD_HOURS = (
    0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.1, 1.2, 1.3,
    1.3, 1.3, 1.4, 1.5, 1.6, 1.6, 1.5, 1.3, 1.0, 0.8, 0.6, 0.4,
)  # fmt: skip
_ADOLESCENT_HOURS = (
    0.9, 0.8, 0.6, 0.5, 0.4, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.7,
    0.8, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.0, 1.8, 1.3,
)  # fmt: skip
# Month (January first) and day of the week (Monday first).
_INFANT_MONTHS = (1.35, 1.3, 1.15, 1.0, 0.85, 0.8, 0.75, 0.75, 0.85, 0.95, 1.1, 1.3)
_OTHER_MONTHS = (1.0, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1, 1.1, 1.0, 0.95, 0.95, 1.0)
_INFANT_DAYS = (0.93, 0.93, 0.93, 0.93, 0.98, 1.15, 1.15)
_CHILD_DAYS = (0.95, 0.95, 0.95, 0.95, 1.0, 1.1, 1.1)
_ADOLESCENT_DAYS = (0.9, 0.9, 0.9, 0.95, 1.1, 1.25, 1.1)


@dataclass(frozen=True)
class _Group:
    name: str
    share: float
    ages: tuple[tuple[int, float], ...]  # age_years and weight
    hours: tuple[float, ...]
    months: tuple[float, ...]
    days: tuple[float, ...]
    categories: tuple[tuple[str, float], ...]


GROUPS: tuple[_Group, ...] = (
    _Group(
        "0-27d",
        0.10,
        ((0, 1.0),),
        _INFANT_HOURS,
        _INFANT_MONTHS,
        _INFANT_DAYS,
        (("SUDI", 0.70), ("medical", 0.15), ("trauma", 0.05), ("unknown", 0.10)),
    ),
    _Group(
        "28-364d",
        0.32,
        ((0, 1.0),),
        _INFANT_HOURS,
        _INFANT_MONTHS,
        _INFANT_DAYS,
        (("SUDI", 0.78), ("trauma", 0.06), ("medical", 0.08), ("unknown", 0.08)),
    ),
    _Group(
        "1-4",
        0.15,
        ((1, 4.0), (2, 2.5), (3, 1.8), (4, 1.5)),
        _CHILD_HOURS,
        _OTHER_MONTHS,
        _CHILD_DAYS,
        (("SUDC", 0.35), ("trauma", 0.20), ("drowning", 0.15), ("medical", 0.20), ("unknown", 0.10)),
    ),
    _Group(
        "5-9",
        0.07,
        tuple((a, 1.0) for a in range(5, 10)),
        _CHILD_HOURS,
        _OTHER_MONTHS,
        _CHILD_DAYS,
        (("trauma", 0.35), ("medical", 0.30), ("drowning", 0.10), ("SUDC", 0.15), ("unknown", 0.10)),
    ),
    _Group(
        "10-12",
        0.05,
        ((10, 1.0), (11, 1.1), (12, 1.3)),
        _CHILD_HOURS,
        _OTHER_MONTHS,
        _CHILD_DAYS,
        (("trauma", 0.35), ("medical", 0.30), ("suicide", 0.15), ("SUDC", 0.05), ("unknown", 0.15)),
    ),
    _Group(
        "13-15",
        0.12,
        ((13, 1.0), (14, 1.3), (15, 1.6)),
        _ADOLESCENT_HOURS,
        _OTHER_MONTHS,
        _ADOLESCENT_DAYS,
        (("suicide", 0.35), ("trauma", 0.33), ("medical", 0.20), ("unknown", 0.12)),
    ),
    _Group(
        "16-17",
        0.19,
        ((16, 0.45), (17, 0.55)),
        _ADOLESCENT_HOURS,
        _OTHER_MONTHS,
        _ADOLESCENT_DAYS,
        (("suicide", 0.40), ("trauma", 0.38), ("medical", 0.12), ("unknown", 0.10)),
    ),
)

# reason_incomplete wordings
# reason_incomplete when a role's rules were not met: nobody JAR-trained on duty, or (16-17-year-olds) the
# trained responder on duty not briefed that the protocol covers them
GAPS: dict[tuple[str, bool], str] = {
    ("paediatrician", False): "no trained paediatrician on call (gap in the rota)",
    ("paediatrician", True): "paediatrician on call not briefed on 16-17s (gap in the rota)",
    ("sio", False): "SIO not available (gap in the on-call rota)",
    ("sio", True): "SIO on call not briefed on 16-17s (gap in the rota)",
    ("ambulance", False): "no JAR-trained ambulance clinician on scene (gap in the rota)",
    ("ambulance", True): "ambulance clinicians not briefed on 16-17s (gap in the rota)",
}
ROLES: tuple[str, ...] = ("paediatrician", "sio", "ambulance")


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by counting unit-rate exponential gaps (fine for the few hundred needed here)."""
    n, total = 0, rng.expovariate(1.0)
    while total < mean:
        n += 1
        total += rng.expovariate(1.0)
    return n


def _pick(rng: random.Random, options: Sequence[tuple[object, float]]) -> object:
    values = [v for v, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _in_hours(local: datetime) -> bool:
    minutes = local.hour * 60 + local.minute
    return local.weekday() < 5 and 9 * 60 <= minutes < 17 * 60 and not is_bank_holiday(local.date())


def _hour_grid(first: datetime, end: datetime, tz: tzinfo) -> tuple[list[datetime], list[datetime]]:
    """Every real hour in [first, end): its UTC start and its local wall time."""
    starts: list[datetime] = []
    local: list[datetime] = []
    t = first
    while t < end:
        starts.append(t)
        local.append(t.astimezone(tz))
        t += timedelta(hours=1)
    return starts, local


def _weights(group: _Group, local: Sequence[datetime]) -> list[float]:
    out = []
    for w in local:
        x = group.hours[w.hour] * group.months[w.month - 1] * group.days[w.weekday()]
        if w.month == 1 and w.day == 1:
            x *= NEW_YEARS_DAY_FACTOR
        out.append(x)
    return out


def _age_days(rng: random.Random, group: str) -> int | None:
    if group == "0-27d":
        if rng.random() < 0.55:
            return rng.randint(0, 6)  # most neonatal collapses come in the first week
        return rng.randint(7, 27)
    if group == "28-364d":
        return max(28, min(364, round(rng.lognormvariate(math.log(100), 0.55))))
    return None


def _minutes(rng: random.Random, lo: float, mode: float, hi: float) -> timedelta:
    return timedelta(minutes=round(rng.triangular(lo, hi, mode)))


@dataclass
class _Case:
    notified_at: datetime
    group: str
    age_years: int
    age_days: int | None
    category: str
    criteria_met: bool = True
    triggered: bool = False
    paediatrician_at: datetime | None = None
    police_at: datetime | None = None
    home_visit_at: datetime | None = None
    planning_meeting_at: datetime | None = None
    ncmd_notified_at: datetime | None = None
    reason: str | None = None


def _draw_cases(rng: random.Random, first: datetime, end: datetime, tz: tzinfo) -> list[_Case]:
    starts, local = _hour_grid(first, end, tz)
    years = len(starts) / _HOURS_PER_YEAR
    cases: list[_Case] = []
    for group in GROUPS:
        cum = list(accumulate(_weights(group, local)))
        n = _poisson(rng, group.share * CASES_PER_YEAR * years)
        for _ in range(n):
            i = bisect_left(cum, rng.random() * cum[-1])
            at = starts[min(i, len(starts) - 1)] + timedelta(minutes=rng.randrange(60))
            age = int(_pick(rng, group.ages))  # type: ignore[call-overload]
            cases.append(
                _Case(
                    notified_at=at,
                    group=group.name,
                    age_years=age,
                    age_days=_age_days(rng, group.name),
                    category=str(_pick(rng, group.categories)),
                )
            )
    cases.sort(key=lambda c: (c.notified_at, c.age_years))
    return cases


@dataclass(frozen=True)
class _Cover:
    """For one case and role: the role's rules for the case's age met (`ok`), and, failing that, whether
    its rules for a 15-year-old were met (someone JAR-trained on duty, only not briefed on 16-17s)."""

    ok: bool
    trained: bool


def _role_cover(cases: list[_Case], rota: Rota, tz: tzinfo) -> list[dict[str, _Cover]]:
    """Per case, per role: the rota at notified_at (`completion.covered` on that role's rules)."""
    times = [c.notified_at for c in cases]
    ages = [c.age_years for c in cases]
    schema = {"notified_at": CASES_SCHEMA["notified_at"], "age_years": pl.Int64()}
    frame = pl.DataFrame({"notified_at": times, "age_years": ages}, schema=schema)
    younger = pl.DataFrame({"notified_at": times, "age_years": [min(a, 15) for a in ages]}, schema=schema)
    rules = rota.effective_rules()
    ok: dict[str, list[bool]] = {}
    trained: dict[str, list[bool]] = {}
    for role in ROLES:
        mine = tuple(r for r in rules if r.role == role)
        if not mine or not cases:
            ok[role] = trained[role] = [True] * len(cases)
        else:
            ok[role] = covered(frame, replace(rota, rules=mine), tz).to_list()
            trained[role] = covered(younger, replace(rota, rules=mine), tz).to_list()
    return [
        {role: _Cover(ok[role][i], ok[role][i] or trained[role][i]) for role in ROLES}
        for i in range(len(cases))
    ]


def _factor(cover: _Cover, untrained: float, unbriefed: float) -> float:
    if cover.ok:
        return 1.0
    return unbriefed if cover.trained else untrained


@dataclass(frozen=True)
class _Step:
    """How an immediate step (paediatrician, police: within 4 hours) goes: the chance of being on time in
    and out of hours, its factor for 16-17s, the minutes taken when on time (triangular low, mode, high, in
    and out of hours), and how often a late step is still done, with its mean lateness in minutes."""

    p_in_hours: float
    p_out_of_hours: float
    older: float
    in_hours: tuple[float, float, float]
    out_of_hours: tuple[float, float, float]
    late_share: float
    late_mean: float


# For 16-17s the emergency-department consultant leads, so the paediatrician is often called late.
_PAEDIATRICIAN = _Step(0.93, 0.84, 0.82, (20, 75, 240), (30, 110, 240), 0.7, 200)
_POLICE = _Step(0.92, 0.86, 0.9, (25, 80, 240), (35, 100, 240), 0.75, 180)


def _immediate(
    rng: random.Random, step: _Step, t0: datetime, in_hours: bool, older: bool, factor: float
) -> tuple[datetime | None, bool]:
    """When the step was done (None: never) and whether within 4 hours; `factor` is the rota's cover."""
    p = step.p_in_hours if in_hours else step.p_out_of_hours
    if older:
        p *= step.older
    p *= factor
    if rng.random() < p:
        return t0 + _minutes(rng, *(step.in_hours if in_hours else step.out_of_hours)), True
    if rng.random() < step.late_share:
        return t0 + timedelta(minutes=241 + min(round(rng.expovariate(1 / step.late_mean)), 1200)), False
    return None, False


def _gap(role: str, cover: _Cover) -> str:
    return GAPS[(role, cover.trained)]


def _respond(rng: random.Random, c: _Case, cover: dict[str, _Cover], tz: tzinfo, bank_holiday: bool) -> None:
    """Draw whether and when each step happened, and the main reason when any target was missed."""
    t0 = c.notified_at
    local = t0.astimezone(tz)
    in_hours = _in_hours(local)
    weekend = local.weekday() >= 5 or bank_holiday
    older = c.age_years >= 16
    paed, sio, amb = cover["paediatrician"], cover["sio"], cover["ambulance"]

    # NCMD notification is due for every child death, JAR or not.
    p_ncmd = 0.84 * (0.85 if local.weekday() >= 4 else 1.0)
    if rng.random() < p_ncmd:
        c.ncmd_notified_at = t0 + _minutes(rng, 120, 900, 47 * 60)
    elif rng.random() < 0.9:
        c.ncmd_notified_at = t0 + _minutes(rng, 48 * 60 + 30, 80 * 60, 14 * 24 * 60)

    if not c.criteria_met:
        c.triggered = rng.random() < 0.3  # started, then stood down once the circumstances were clear
        return

    p_trigger = 0.97
    if older:
        p_trigger = 0.84 * _factor(paed, 0.72, 0.86)
        if c.category == "trauma":
            p_trigger -= 0.12  # an "obvious" cause: road collisions excluded locally
    c.triggered = rng.random() < p_trigger
    missed: list[str] = []
    if not c.triggered:
        if older:
            c.reason = (
                "JAR not triggered: cause thought obvious (road collision)"
                if c.category == "trauma" and rng.random() < 0.6
                else "ED consultant not aware of JAR for 16-17-year-olds"
            )
        else:
            c.reason = "JAR not triggered: death not recognised as unexpected"
        if rng.random() < 0.25:  # picked up later: a late meeting
            day = nth_working_day_after(local.date(), rng.randint(3, 8))
            c.planning_meeting_at = wall_to_instant_forward(
                datetime.combine(day, time(rng.randint(9, 15))), tz
            )
        return

    # immediate response: paediatrician and police within 4 hours
    factor = _factor(paed, 0.3, 0.65) * _factor(amb, 0.85, 0.95)
    c.paediatrician_at, paed_on = _immediate(rng, _PAEDIATRICIAN, t0, in_hours, older, factor)
    if not paed_on:
        if not paed.ok:
            missed.append(_gap("paediatrician", paed))
        elif not amb.ok:
            missed.append(_gap("ambulance", amb))
        elif older:
            missed.append("adult ED: on-call paediatrician called late")
        else:
            missed.append(
                "paediatrician delayed by clinical duties"
                if in_hours
                else "on-call paediatrician delayed (night call-out)"
            )

    factor = _factor(sio, 0.35, 0.7) * _factor(amb, 0.9, 0.95)
    c.police_at, police_on = _immediate(rng, _POLICE, t0, in_hours, older, factor)
    if not police_on:
        if not sio.ok:
            missed.append(_gap("sio", sio))
        elif not amb.ok:
            missed.append(_gap("ambulance", amb))
        else:
            missed.append("SIO attending another incident")

    # joint home or scene visit within 24 hours: the most missed step
    p_home = 0.70 if in_hours else 0.52
    if weekend:
        p_home *= 0.75
    if older:
        p_home *= 0.8
    if not (paed_on and police_on):
        p_home *= 0.5
    declined = rng.random() < 0.07
    if declined:
        missed.append("family declined home visit")
    elif rng.random() < p_home:
        c.home_visit_at = t0 + _minutes(rng, 90, 600, 24 * 60)
    else:
        if rng.random() < 0.55:
            c.home_visit_at = t0 + _minutes(rng, 24 * 60 + 30, 36 * 60, 96 * 60)
        if c.paediatrician_at is None or c.police_at is None:
            missed.append("no joint visit: police and paediatrician not both available")
        elif weekend and not in_hours:
            missed.append("home visits not done at weekends or on bank holidays")
        else:
            missed.append("home visit delayed beyond 24 hours")

    # information-sharing and planning meeting: by the end of the 2nd working day
    p_meeting = 0.88 * (0.93 if not in_hours else 1.0) * (0.85 if older else 1.0)
    p_meeting *= _factor(paed, 0.8, 0.92)
    day = local.date()
    if rng.random() < p_meeting:
        when = nth_working_day_after(day, 1 if rng.random() < 0.6 else 2)
        c.planning_meeting_at = wall_to_instant_forward(
            datetime.combine(when, time(rng.randint(9, 15), rng.choice((0, 15, 30, 45)))), tz
        )
    else:
        if rng.random() < 0.9:
            when = nth_working_day_after(day, rng.randint(3, 6))
            c.planning_meeting_at = wall_to_instant_forward(
                datetime.combine(when, time(rng.randint(9, 15))), tz
            )
        ahead = [day + timedelta(days=k) for k in range(4)]
        holiday_soon = any(d.weekday() < 5 and not is_working_day(d) for d in ahead)
        missed.append(
            "designated doctor not available (bank holiday)"
            if holiday_soon
            else "planning meeting delayed: partners not available"
        )

    if c.ncmd_notified_at is None or c.ncmd_notified_at > t0 + timedelta(hours=48):
        missed.append("NCMD notification delayed")
    c.reason = missed[0] if missed else None


def build_demo_cases(today: date, rota: Rota, seed: int = 7, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Cases notified over the five years before `today` (up to its start), the same for the same
    `today`, `seed` and rota; columns and types of CASES_SCHEMA, sorted by notification."""
    rng = random.Random(f"demo-cases/{seed}")
    first = day_start(_add_years(today, -YEARS), tz)
    end = day_start(today, tz)
    cases = _draw_cases(rng, first, end, tz)
    for c in cases:
        c.criteria_met = rng.random() >= CRITERIA_NOT_MET_SHARE
    for c, cover in zip(cases, _role_cover(cases, rota, tz), strict=True):
        _respond(rng, c, cover, tz, is_bank_holiday(c.notified_at.astimezone(tz).date()))
        # the extract is taken at the start of `today`: later steps have not happened yet
        pending = False
        for name in STEP_COLUMNS:
            value = getattr(c, name)
            if value is not None and value >= end:
                setattr(c, name, None)
                pending = True
        if pending and c.criteria_met and c.reason is None:
            c.reason = "steps still in progress at the time of the extract"
    ids: list[str] = []
    per_year: dict[int, int] = {}
    for c in cases:
        year = c.notified_at.astimezone(tz).year
        per_year[year] = per_year.get(year, 0) + 1
        ids.append(f"JAR-{year}-{per_year[year]:04d}")
    data = {
        "case_id": ids,
        "notified_at": [c.notified_at for c in cases],
        "age_years": [c.age_years for c in cases],
        "age_days": [c.age_days for c in cases],
        "jar_criteria_met": [c.criteria_met for c in cases],
        "jar_triggered": [c.triggered for c in cases],
        "paediatrician_at": [c.paediatrician_at for c in cases],
        "police_at": [c.police_at for c in cases],
        "home_visit_at": [c.home_visit_at for c in cases],
        "planning_meeting_at": [c.planning_meeting_at for c in cases],
        "ncmd_notified_at": [c.ncmd_notified_at for c in cases],
        "category": [c.category for c in cases],
        "reason_incomplete": [c.reason for c in cases],
        "reason_category": [reason_category(c.reason) for c in cases],
    }
    frame = pl.DataFrame(data, schema={name: CASES_SCHEMA[name] for name in data})
    # A step the demo does not simulate (of a measure added to rota.vocab.Measure since) is blank: not done.
    blank = [pl.lit(None, dtype=CASES_SCHEMA[c]).alias(c) for c in CASE_COLUMNS if c not in data]
    return frame.with_columns(blank).select(list(CASE_COLUMNS))


def demo_cases_summary(cases: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> dict[str, object]:
    """Counts for the command line to print after loading the demo cases (JSON-friendly)."""
    if cases.height == 0:
        return {"cases": 0}
    times = cases.get_column("notified_at")
    lo: datetime = times.min()  # type: ignore[assignment]
    hi: datetime = times.max()  # type: ignore[assignment]
    years = max((hi - lo).total_seconds() / (_HOURS_PER_YEAR * 3600), 1e-9)
    eligible = cases.filter(pl.col("jar_criteria_met"))
    share_16_17 = eligible.filter(pl.col("age_years") >= 16).height / max(eligible.height, 1)
    infants = eligible.filter(pl.col("age_years") == 0).height / max(eligible.height, 1)
    return {
        "cases": cases.height,
        "jar_eligible": eligible.height,
        "jar_eligible_per_year": round(eligible.height / years, 1),
        "infant_share": round(infants, 2),
        "share_16_17": round(share_16_17, 2),
        "first_notified": lo.astimezone(tz).date().isoformat(),
        "last_notified": hi.astimezone(tz).date().isoformat(),
    }


__all__ = ["CHILD_POPULATION", "GROUPS", "build_demo_cases", "demo_cases_summary"]
