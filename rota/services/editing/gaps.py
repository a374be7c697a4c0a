"""The gaps around an edit, for people: what saving some changes would do to cover (the engine's
`edit_impact`, rota/engine/impact.py), the week's gaps still worth filling, and who is free to fill one
(the engine's availability rules, rota/engine/availability.py). Rules are named in plain words
(`rule_label`: "SIO 16-17"), never by their id. Here only the loading of the stored rota and the
permission checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.engine import gaps
from rota.engine.availability import candidates, find_rule
from rota.engine.impact import MARGIN, GapImpact, edit_impact, no_impact
from rota.engine.intervals import Interval
from rota.errors import InputError
from rota.model import Rota
from rota.services.access import Actor, require_read_people
from rota.services.coverage import rule_label
from rota.services.editing.changes import Change, apply_changes
from rota.services.editing.week import week_span
from rota.storage import Engine
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, utc_now

REACH = timedelta(days=8)  # shifts this far either side of a gap decide the rest before and after it


def gap_impact(engine: Engine, actor: Actor, changes: Sequence[Change], tz: tzinfo = SERVICE_TZ) -> GapImpact:
    """Gaps before and after `changes` around the time they touch, for every rule, and what differs."""
    require_read_people(actor)
    if not changes:
        return no_impact(tz)
    spans = [c.span() for c in changes]
    lo = min(a for a, _ in spans) - MARGIN
    hi = max(b for _, b in spans) + MARGIN
    rota = load_rota(engine, lo, hi)
    shifts, absences = apply_changes(rota.shifts, rota.absences, changes)
    edited = replace(rota, shifts=shifts, absences=absences)
    return edit_impact(rota, edited, lo, hi, tz, _labels(rota))


def _labels(rota: Rota) -> dict[str, str]:
    return {r.id: rule_label(r) for r in rota.effective_rules()}


def rule_labels(engine: Engine) -> dict[str, str]:
    """Each rule's label for people ("SIO 16-17", "Paediatrician 0-17, Mon-Fri 09:00-17:00, 2 needed")
    by its id."""
    at = utc_now()
    return _labels(load_rota(engine, at, at))


def _next_minute(t: datetime) -> datetime:
    whole = t.replace(second=0, microsecond=0)
    return whole if whole == t else whole + timedelta(minutes=1)


def open_gaps(
    engine: Engine,
    actor: Actor,
    week_start: date,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
) -> pl.DataFrame:
    """The gaps of every rule in the local week starting on the Monday of `week_start` that have not ended
    by `now` (default: the present), a gap already begun from the next whole minute on; the engine's gap
    columns and each rule's `label`. Filling a gap in the past helps nobody."""
    require_read_people(actor)
    start, end = week_span(week_start, tz)
    from_ = _next_minute(now or utc_now())
    rota = load_rota(engine, start, end)
    lo = max(start, from_)
    found = gaps(rota, lo, end, tz) if lo < end else gaps(rota, start, end, tz).clear()
    labels = _labels(rota)
    label = pl.col("rule_id").replace_strict(labels, default=pl.col("rule_id"), return_dtype=pl.String)
    return found.with_columns(label.alias("label"))


def gap_candidates(
    engine: Engine,
    actor: Actor,
    rule_id: str,
    gap: Interval,
    *,
    agency: str | None = None,
    tz: tzinfo = SERVICE_TZ,
) -> pl.DataFrame:
    """Every active responder of the rule's role (of `agency`, if given), whether they are free to cover
    the gap (start, end) and if not why: training through the gap, not absent, not on duty, and at least
    11 hours' rest after their previous shift and before their next one. Free ones first
    (`rota.engine.availability.AVAILABILITY_SCHEMA`; `free_only` keeps the free ones)."""
    require_read_people(actor)
    gap_start, gap_end = gap
    if gap_start.tzinfo is None or gap_end.tzinfo is None or gap_end <= gap_start:
        raise InputError("a gap needs an aware start and a later end")
    rota = load_rota(engine, gap_start - REACH, gap_end + REACH)
    rule = find_rule(rota, rule_id)
    if rule is None:
        known = ", ".join(r.id for r in rota.effective_rules())
        raise InputError(f"unknown rule {rule_id!r}; the rules are {known}")
    return candidates(rota, rule, gap, tz, agency)
