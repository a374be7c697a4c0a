"""The planner's time grid and candidate fills (docs/planner.md "The time grid").

Times are whole seconds from the plan's start. The breakpoints are the gaps' own endpoints (exact, never
rounded), cut further only where something changes for a responder (a shift, an absence or a training
validity starts or ends inside a gap) and, inside a stretch of gap longer than the longest fill, at each
real local hour, so that it can be split into fills. A candidate fill is a run of contiguous segments for
one responder, free of their shifts and absences, at most the longest fill, at least the rest away from
their shifts, serving the rules it is qualified for over the whole run.
"""

from __future__ import annotations

import functools
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.engine import gaps, hour_starts, qualified_intervals
from rota.model import UTC_US, Rota, conform
from rota.planner.limits import PlanLimits
from rota.rules import Rule
from rota.timeutil import wall_to_instant_forward

Demand = Callable[[str, datetime], float]  # (age band, real local hour's UTC start) -> expected cases
WEIGHT_SCALE = 10**7  # expected cases are integerised as units of 1e-7 cases


@dataclass(frozen=True)
class GapRow:
    rule_id: str
    start: int
    end: int
    short: int  # how many more qualified responders the rule needs here
    band: str


@dataclass(frozen=True)
class Candidate:
    responder_id: str
    start: int
    end: int
    closes: tuple[str, ...]
    covers: tuple[tuple[int, int], ...]  # (gap row index, segment index)
    night: date | None
    first: int  # the first and last segment it holds
    last: int


@dataclass
class Grid:
    origin: datetime
    gap_rows: list[GapRow]
    gap_frame: pl.DataFrame
    segments: list[tuple[int, int]]
    weights: dict[tuple[int, int], int]  # (gap row, segment) -> integer expected cases
    candidates: list[Candidate]
    shifts: dict[str, list[tuple[int, int]]]  # each candidate responder's existing shifts
    shift_nights: dict[str, set[date]]

    def at(self, t: int) -> datetime:
        return self.origin + timedelta(seconds=t)


@functools.lru_cache(maxsize=4096)
def _night(d: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The night starting on local date d: 23:00 to 06:00 the next day, as instants."""
    ns = wall_to_instant_forward(datetime.combine(d, datetime.min.time()).replace(hour=23), tz)
    ne = wall_to_instant_forward(
        datetime.combine(d + timedelta(days=1), datetime.min.time()).replace(hour=6), tz
    )
    return ns, ne


def night_date(a: datetime, b: datetime, tz: tzinfo) -> date | None:
    """The local start date of a duty [a, b) holding any minute between 23:00 and 06:00 local, else None."""
    first = a.astimezone(tz).date()
    d = first - timedelta(days=1)
    last = b.astimezone(tz).date()
    while d <= last:
        ns, ne = _night(d, tz)
        if a < ne and ns < b:
            return first
        d += timedelta(days=1)
    return None


class Weigher:
    """Expected cases of an age band in [a, b): each real local hour's demand times the share of it held."""

    def __init__(self, demand: Demand, tz: tzinfo) -> None:
        self.demand = demand
        self.tz = tz
        self.cache: dict[tuple[str, datetime], float] = {}

    def expected(self, band: str, a: datetime, b: datetime) -> float:
        total = 0.0
        for h in hour_starts(a, b, self.tz):
            key = (band, h)
            if key not in self.cache:
                self.cache[key] = float(self.demand(band, h))
            held = (min(b, h + timedelta(hours=1)) - max(a, h)).total_seconds()
            total += self.cache[key] * held / 3600
        return total


def _secs(origin: datetime, t: datetime) -> int:
    return round((t - origin).total_seconds())


def _pairs(df: pl.DataFrame, origin: datetime) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for rid, a, b in df.select("responder_id", "start", "end").iter_rows():
        if a is not None and b is not None and b > a:
            out.setdefault(rid, []).append((_secs(origin, a), _secs(origin, b)))
    return {k: sorted(v) for k, v in out.items()}


def _qualification(
    rota: Rota, people: pl.DataFrame, rules: list[Rule], start: datetime, end: datetime, tz: tzinfo
) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(responder, rule id) -> intervals where the responder's role and training fit the rule, from the
    engine itself run on everyone on duty throughout with no absence."""
    whole = conform(
        "shifts",
        people.select(
            "responder_id",
            pl.lit(start - timedelta(days=2)).alias("start"),
            pl.lit(end + timedelta(days=2)).alias("end"),
        ),
    )
    free = replace(rota, responders=people, shifts=whole, absences=rota.absences.clear())
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for rule in rules:
        for rid, ivs in _pairs(qualified_intervals(free, rule, start, end, tz), start).items():
            out[(rid, rule.id)] = ivs
    return out


def _near(
    people: pl.DataFrame, start: datetime, end: datetime, limits: PlanLimits
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A filter keeping the shifts or absences of `people` that can matter to a fill in [start, end): a
    7 x 24 h window holding part of a fill, the rest after or before it and a run of consecutive nights
    around it all reach less than `reach` from the period (the year of a national bundle is not read)."""
    reach = timedelta(days=max(7, limits.max_consecutive_nights + 1) + 1, seconds=limits.rest_seconds)
    lo, hi = pl.lit(start - reach).cast(UTC_US), pl.lit(end + reach).cast(UTC_US)
    ids = people.get_column("responder_id").implode()

    def near(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("responder_id").is_in(ids) & (pl.col("end") > lo) & (pl.col("start") < hi))

    return near


def _inside(ivs: list[tuple[int, int]], a: int, b: int) -> bool:
    return any(x <= a and b <= y for x, y in ivs)


class Spans:
    """Sorted intervals asked whether any comes within `margin` of [a, b), by bisection."""

    def __init__(self, ivs: list[tuple[int, int]]) -> None:
        ivs = sorted(ivs)
        self.starts = [x for x, _ in ivs]
        self.reach = list(itertools.accumulate((y for _, y in ivs), max))

    def touch(self, a: int, b: int, margin: int = 0) -> bool:
        k = bisect_left(self.starts, b + margin)
        return k > 0 and self.reach[k - 1] + margin > a


def build_grid(
    rota: Rota,
    start: datetime,
    end: datetime,
    demand: Demand,
    limits: PlanLimits,
    tz: tzinfo,
    agency: str | None,
    only: frozenset[str] | None = None,
) -> Grid:
    """The grid of [start, end)'s gaps and the candidate fills of the rota's active responders (of one
    agency, or only those named in `only`)."""
    rules = rota.effective_rules()
    by_id = {r.id: r for r in rules}
    found = gaps(rota, start, end, tz, rules)
    rows = [
        GapRow(rid, _secs(start, a), _secs(start, b), int(req) - int(av), band)
        for rid, a, b, req, av, band in found.select(
            "rule_id", "start", "end", "required", "available", "age_band"
        ).iter_rows()
    ]
    people = rota.responders.filter(
        pl.col("active").fill_null(True) & pl.col("role").is_in(sorted({r.role for r in rules}))
    )
    if agency is not None:
        people = people.filter(pl.col("agency") == agency)
    if only is not None:
        people = people.filter(pl.col("responder_id").is_in(sorted(only)))
    near = _near(people, start, end, limits)
    busy = _pairs(
        pl.concat(
            [
                near(rota.shifts).select("responder_id", "start", "end"),
                near(rota.absences).select("responder_id", "start", "end"),
            ]
        ),
        start,
    )
    shifts = _pairs(near(rota.shifts), start)
    qual = _qualification(rota, people, rules, start, end, tz) if rows and people.height else {}
    ids = sorted({rid for rid, _ in qual})
    # the union of the gaps, and the breakpoints
    union: list[list[int]] = []
    for a, b in sorted((g.start, g.end) for g in rows):
        if union and a <= union[-1][1]:
            union[-1][1] = max(union[-1][1], b)
        else:
            union.append([a, b])
    lo = [u[0] for u in union]

    def in_union(t: int) -> bool:
        i = bisect_right(lo, t) - 1
        return i >= 0 and union[i][0] < t < union[i][1]

    ends = frozenset(t for g in rows for t in (g.start, g.end))
    own: dict[str, set[int]] = {rid: set() for rid in ids}  # where something changes for one responder
    for rid in ids:
        own[rid].update(t for a, b in busy.get(rid, []) for t in (a, b) if in_union(t))
    for (rid, _), ivs in qual.items():
        own[rid].update(t for a, b in ivs for t in (a, b) if in_union(t))
    points = set(ends).union(*own.values())
    for a, b in union:
        if b - a > limits.shift_seconds:
            points.update(
                t
                for h in hour_starts(start + timedelta(seconds=a), start + timedelta(seconds=b), tz)
                if a < (t := _secs(start, h)) < b
            )
    cuts = sorted(points)
    segments = [(a, b) for a, b in itertools.pairwise(cuts) if _in_rows(rows, a, b)]
    seg_rows: list[list[int]] = [
        [i for i, g in enumerate(rows) if g.start <= a and b <= g.end] for a, b in segments
    ]
    weigher = Weigher(demand, tz)
    weights: dict[tuple[int, int], int] = {}
    for s, (a, b) in enumerate(segments):
        for g in seg_rows[s]:
            w = weigher.expected(rows[g].band, start + timedelta(seconds=a), start + timedelta(seconds=b))
            weights[(g, s)] = round(w * WEIGHT_SCALE)
    lengths = [h * 3600 for h in (4, 8) if h * 3600 < limits.shift_seconds]
    candidates: list[Candidate] = []
    for rid in ids:
        own_busy = Spans(busy.get(rid, []))
        own_shifts = Spans(shifts.get(rid, []))
        # the rules this responder is qualified for on each segment
        fit = [
            frozenset()
            if own_busy.touch(a, b)
            else frozenset(k for k in by_id if _inside(qual.get((rid, k), []), a, b))
            for a, b in segments
        ]
        for i in range(len(segments)):
            candidates.extend(
                _runs_from(
                    i, rid, segments, fit, seg_rows, rows, ends | own[rid], lengths, own_shifts, limits
                )
            )
    for n, c in enumerate(candidates):
        night = night_date(start + timedelta(seconds=c.start), start + timedelta(seconds=c.end), tz)
        candidates[n] = replace(c, night=night)
    shift_nights = {
        rid: {
            d
            for a, b in shifts.get(rid, [])
            if (d := night_date(start + timedelta(seconds=a), start + timedelta(seconds=b), tz)) is not None
        }
        for rid in ids
    }
    return Grid(
        start, rows, found, segments, weights, candidates, {r: shifts.get(r, []) for r in ids}, shift_nights
    )


def _in_rows(rows: list[GapRow], a: int, b: int) -> bool:
    return any(g.start <= a and b <= g.end for g in rows)


def _runs_from(
    i: int,
    rid: str,
    segments: list[tuple[int, int]],
    fit: list[frozenset[str]],
    seg_rows: list[list[int]],
    rows: list[GapRow],
    structural: frozenset[int],
    lengths: list[int],
    own_shifts: Spans,
    limits: PlanLimits,
) -> list[Candidate]:
    """The candidate fills of one responder starting at segment i: runs of contiguous segments, each
    serving a rule in gap there, ending at a point where something changes, at the first end past each of
    `lengths`, or at the longest run allowed; shorter hourly ends add nothing a coordinator needs."""
    a = segments[i][0]
    served = fit[i]
    if not served or own_shifts.touch(a, segments[i][1], limits.rest_seconds):
        return []
    out: list[Candidate] = []
    last: tuple[int, frozenset[str]] | None = None
    kept: int | None = None
    todo = list(lengths)
    for j in range(i, len(segments)):
        if j > i and segments[j][0] != segments[j - 1][1]:
            break
        now = served & fit[j]
        b = segments[j][1]
        if not now or b - a > limits.shift_seconds or own_shifts.touch(a, b, limits.rest_seconds):
            break
        if now != served and not all(any(rows[g].rule_id in now for g in seg_rows[s]) for s in range(i, j)):
            break
        if not any(rows[g].rule_id in now for g in seg_rows[j]):
            break
        served = now
        last = (j, served)
        passed = False
        while todo and b - a >= todo[0]:
            todo.pop(0)
            passed = True
        if passed or b in structural:
            out.append(_candidate(rid, i, j, served, segments, seg_rows, rows))
            kept = j
    if last is not None and kept != last[0]:
        out.append(_candidate(rid, i, last[0], last[1], segments, seg_rows, rows))
    return out


def _candidate(
    rid: str,
    i: int,
    j: int,
    served: frozenset[str],
    segments: list[tuple[int, int]],
    seg_rows: list[list[int]],
    rows: list[GapRow],
) -> Candidate:
    covers = tuple((g, s) for s in range(i, j + 1) for g in seg_rows[s] if rows[g].rule_id in served)
    closes = tuple(sorted({rows[g].rule_id for g, _ in covers}))
    return Candidate(rid, segments[i][0], segments[j][1], closes, covers, None, i, j)
