"""The gaps around an edit, for people: what saving some changes would do to cover (the engine's
`edit_impact`, rota/engine/impact.py) and who is free to fill a gap (the engine's availability rules,
rota/engine/availability.py). Here only the loading of the stored rota and the permission checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta, tzinfo

import polars as pl

from rota.engine.availability import candidates, find_rule
from rota.engine.impact import MARGIN, GapImpact, edit_impact, no_impact
from rota.engine.intervals import Interval
from rota.errors import InputError
from rota.services.access import Actor, require_read_people
from rota.services.editing.changes import Change, apply_changes
from rota.storage import Engine
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ

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
    return edit_impact(rota, replace(rota, shifts=shifts, absences=absences), lo, hi, tz)


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
