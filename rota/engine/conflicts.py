"""Rota problems that are not gaps (`rota conflicts`, docs/commands.md): a shift during the same responder's
absence, two overlapping shifts of one responder, less than the minimum rest (11 hours) between duties, and
duty by someone whose competency has lapsed for the rules their role serves. Pure: frames in, a frame out.

Each problem is one row `kind, responder_id, start, end, detail` over the time it concerns: the overlap for an
absence or two shifts, the rest between two duties, the part of a shift after the competency lapsed. Shifts
that meet end to start are one duty (no rest problem between them). A competency a responder never held is
not reported as lapsed: they are not meant to serve the rules that need it (the gaps show what that costs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import NamedTuple

import polars as pl

from rota.engine.availability import MIN_REST
from rota.engine.intervals import Interval, merge_intervals, subtract
from rota.model import UTC_US, Rota
from rota.output import duration_text
from rota.rules import Rule
from rota.timeutil import SERVICE_TZ, day_start, uk_local
from rota.vocab import ConflictKind

CONFLICT_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "responder_id": pl.String(),
    "start": UTC_US,
    "end": UTC_US,
    "detail": pl.String(),
}
CONFLICT_COLUMNS: tuple[str, ...] = tuple(CONFLICT_SCHEMA)
# How far around the asked range a caller should load the rota, so that a duty or rest that crosses the
# range's edge is seen whole: a shift lasts at most 7 days (docs/time.md), and rest is counted in hours.
CONTEXT = timedelta(days=8)


NO_EXPIRY = datetime(9999, 12, 31, tzinfo=UTC)


class Conflict(NamedTuple):
    kind: ConflictKind
    responder_id: str
    start: datetime
    end: datetime
    detail: str


class _Shift(NamedTuple):
    shift_id: str | None
    start: datetime
    end: datetime


def conflicts(
    rota: Rota,
    start: datetime,
    end: datetime,
    tz: tzinfo = SERVICE_TZ,
    *,
    min_rest: timedelta = MIN_REST,
) -> pl.DataFrame:
    """Every rota problem touching [start, end), sorted by start, responder and kind (not clipped to the
    range: a problem is reported whole)."""
    rota = rota.conformed()
    shifts = _by_responder(rota.shifts, with_id=True)
    absences = _by_responder(rota.absences, with_id=False)
    roles = dict(rota.responders.select("responder_id", "role").iter_rows())
    validity = _validity(rota.training, tz)
    rules = rota.effective_rules()
    found: list[Conflict] = []
    for rid, mine in shifts.items():
        found += _during_absence(rid, mine, absences.get(rid, []), tz)
        found += _overlapping(rid, mine, tz)
        found += _short_rest(rid, mine, min_rest, tz)
        role = roles.get(rid)
        if role is not None:
            found += _lapsed(rid, mine, [r for r in rules if r.role == role], validity.get(rid, {}), tz)
    rows = sorted(
        (c for c in found if c.start < end and c.end > start),
        key=lambda c: (c.start, c.responder_id, list(ConflictKind).index(c.kind), c.end, c.detail),
    )
    return pl.DataFrame(
        [(c.kind.value, c.responder_id, c.start, c.end, c.detail) for c in rows],
        schema=CONFLICT_SCHEMA,
        orient="row",
    )


def _by_responder(frame: pl.DataFrame, *, with_id: bool) -> dict[str, list[_Shift]]:
    out: dict[str, list[_Shift]] = defaultdict(list)
    ids = frame.get_column("shift_id") if with_id else pl.Series([None] * frame.height, dtype=pl.String)
    for rid, sid, a, b in zip(frame["responder_id"], ids, frame["start"], frame["end"], strict=True):
        out[rid].append(_Shift(sid, a, b))
    return {rid: sorted(spans, key=lambda s: (s.start, s.end)) for rid, spans in out.items()}


def _span(a: datetime, b: datetime, tz: tzinfo) -> str:
    return f"{uk_local(a, tz)} to {uk_local(b, tz)}"


def _named(shift: _Shift) -> str:
    return f"shift {shift.shift_id}" if shift.shift_id else "a shift"


def _overlaps(a: _Shift, b: _Shift) -> Interval | None:
    lo, hi = max(a.start, b.start), min(a.end, b.end)
    return (lo, hi) if hi > lo else None


def _during_absence(rid: str, mine: list[_Shift], away: list[_Shift], tz: tzinfo) -> Iterator[Conflict]:
    for shift in mine:
        for absence in away:
            both = _overlaps(shift, absence)
            if both is not None:
                text = f"{_named(shift)} while absent {_span(absence.start, absence.end, tz)}"
                yield Conflict(ConflictKind.SHIFT_DURING_ABSENCE, rid, *both, text)


def _overlapping(rid: str, mine: list[_Shift], tz: tzinfo) -> Iterator[Conflict]:
    for i, first in enumerate(mine):
        for second in mine[i + 1 :]:
            if second.start >= first.end:
                break  # sorted by start: no later shift overlaps `first`
            both = _overlaps(first, second)
            if both is not None:
                text = f"{_named(first)} and {_named(second)} overlap"
                yield Conflict(ConflictKind.OVERLAPPING_SHIFTS, rid, *both, text)


def _short_rest(rid: str, mine: list[_Shift], min_rest: timedelta, tz: tzinfo) -> Iterator[Conflict]:
    duties = merge_intervals((s.start, s.end) for s in mine)
    for (_, finished), (resumed, _) in pairwise(duties):
        rest = resumed - finished
        if rest < min_rest:
            text = f"{_hours(rest)} rest between duties (at least {_hours(min_rest)})"
            yield Conflict(ConflictKind.SHORT_REST, rid, finished, resumed, text)


def _hours(span: timedelta) -> str:
    return duration_text(span / timedelta(minutes=1))


def _validity(training: pl.DataFrame, tz: tzinfo) -> dict[str, dict[str, list[Interval]]]:
    """Per responder and competency, the merged spans it is valid: from valid_from 00:00 local to the end of
    valid_until (docs/time.md); a blank valid_until runs on."""
    starts: dict[date, datetime] = {}

    def at(d: date) -> datetime:
        if d not in starts:
            starts[d] = day_start(d, tz)
        return starts[d]

    spans: dict[str, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    for rid, comp, since, until in training.select(
        "responder_id", "competency", "valid_from", "valid_until"
    ).iter_rows():
        end = at(until + timedelta(days=1)) if until is not None else NO_EXPIRY
        spans[rid][comp].append((at(since), end))
    return {rid: {c: merge_intervals(v) for c, v in comps.items()} for rid, comps in spans.items()}


def _lapsed(
    rid: str, mine: list[_Shift], rules: Iterable[Rule], held: dict[str, list[Interval]], tz: tzinfo
) -> Iterator[Conflict]:
    """The parts of each duty after a competency the role's rules need, once held, has lapsed."""
    needing: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        for comp in rule.competencies:
            needing[comp].append(rule.id)
    for comp, rule_ids in needing.items():
        spans = held.get(comp)
        if not spans:
            continue  # never held: not meant to serve these rules
        for shift in mine:
            for lo, hi in subtract([(shift.start, shift.end)], spans):
                ended = [b for _, b in spans if b <= lo]
                if not ended:
                    continue  # not valid yet: a start date in the future is not a lapse
                last_day = (max(ended) - timedelta(seconds=1)).astimezone(tz).date()
                text = (
                    f"{comp} valid only until {last_day:%d/%m/%Y}; {_named(shift)} serves "
                    f"{', '.join(sorted(set(rule_ids)))}"
                )
                yield Conflict(ConflictKind.LAPSED_COMPETENCY, rid, lo, hi, text)
