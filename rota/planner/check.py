"""An independent check of proposed fills against SPEC 13's limits, written from the text and sharing no
code with the model: each fill's role, training, overlap, rest, hours in every 7 x 24 hours, consecutive
nights and length, in plain words. An empty list means every fill keeps every limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

from rota.model import Rota
from rota.planner.fills import Fill
from rota.planner.limits import PlanLimits
from rota.timeutil import SERVICE_TZ, uk_local

_WEEK = timedelta(days=7)


def _is_night(a: datetime, b: datetime, tz: tzinfo) -> bool:
    """Whether [a, b) holds any minute between 23:00 and 06:00 local: look at every minute of it."""
    t = a
    while t < b:
        hour = t.astimezone(tz).hour
        if hour >= 23 or hour < 6:
            return True
        t = (t + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return False


def _held(a: datetime, b: datetime, w0: datetime, w1: datetime) -> timedelta:
    return max(timedelta(0), min(b, w1) - max(a, w0))


def _valid_dates(rota: Rota, rid: str, competency: str) -> list[tuple[date, date | None]]:
    tr = rota.training
    rows = tr.filter((tr["responder_id"] == rid) & (tr["competency"] == competency))
    return [(a, b) for a, b in rows.select("valid_from", "valid_until").iter_rows()]


def violations(rota: Rota, fills: Sequence[Fill], limits: PlanLimits, tz: tzinfo = SERVICE_TZ) -> list[str]:
    """Every limit any fill breaks, in plain words (empty when none)."""
    rota = rota.conformed()
    out: list[str] = []
    people = {r["responder_id"]: r for r in rota.responders.iter_rows(named=True)}
    rules = {r.id: r for r in rota.effective_rules()}
    shifts: list[tuple[str, datetime, datetime]] = [
        (r, a, b) for r, a, b in rota.shifts.select("responder_id", "start", "end").iter_rows()
    ]
    absences: list[tuple[str, datetime, datetime]] = [
        (r, a, b) for r, a, b in rota.absences.select("responder_id", "start", "end").iter_rows()
    ]
    for n, f in enumerate(fills, 1):
        name = f"fill {n} ({f.responder_id}, {uk_local(f.start, tz)} to {uk_local(f.end, tz)})"
        who = people.get(f.responder_id)
        if who is None:
            out.append(f"{name}: no such responder")
            continue
        if who["active"] is False:
            out.append(f"{name}: the responder is not active")
        if f.end <= f.start:
            out.append(f"{name}: ends before it starts")
            continue
        if f.end - f.start > timedelta(hours=limits.max_shift_hours):
            out.append(f"{name}: longer than {limits.max_shift_hours:g} hours")
        if not f.closes:
            out.append(f"{name}: closes no rule's gap")
        # every local date the fill holds a moment of
        first = f.start.astimezone(tz).date()
        last = (f.end - timedelta(microseconds=1)).astimezone(tz).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for rule_id in f.closes:
            rule = rules.get(rule_id)
            if rule is None:
                out.append(f"{name}: no rule {rule_id}")
                continue
            if rule.role != who["role"]:
                out.append(f"{name}: a {who['role']} cannot serve rule {rule_id} (role {rule.role})")
            for comp in rule.competencies:
                valid = _valid_dates(rota, f.responder_id, comp)
                if not all(any(a <= d and (b is None or d <= b) for a, b in valid) for d in days):
                    out.append(f"{name}: {comp} is not valid for the whole fill (rule {rule_id})")
        mine_shifts: list[tuple[datetime, datetime]] = [(a, b) for r, a, b in shifts if r == f.responder_id]
        mine_absent: list[tuple[datetime, datetime]] = [(a, b) for r, a, b in absences if r == f.responder_id]
        others: list[tuple[datetime, datetime]] = [
            (g.start, g.end) for m, g in enumerate(fills, 1) if m != n and g.responder_id == f.responder_id
        ]
        for label, spans in (("a shift", mine_shifts), ("an absence", mine_absent), ("another fill", others)):
            if any(a < f.end and f.start < b for a, b in spans):
                out.append(f"{name}: overlaps {label}")
        rest = timedelta(hours=limits.rest_hours)
        for a, b in mine_shifts + others:
            between = max(a - f.end, f.start - b)
            if timedelta(0) <= between < rest:
                out.append(
                    f"{name}: less than {limits.rest_hours:g} hours' rest from a duty at {uk_local(a, tz)}"
                )
        duties = mine_shifts + others + [(f.start, f.end)]
        # the fullest 7 x 24 h windows holding part of the fill start at a duty's start or end at a duty's end
        tried = [a for a, _ in duties] + [b - _WEEK for _, b in duties]
        cap = timedelta(hours=limits.max_weekly_hours)
        for w0 in tried:
            w1 = w0 + _WEEK
            if _held(f.start, f.end, w0, w1) == timedelta(0):
                continue
            total = sum((_held(a, b, w0, w1) for a, b in duties), timedelta(0))
            if total > cap:
                hours = total.total_seconds() / 3600
                out.append(
                    f"{name}: {hours:g} duty hours in the 7 days from {uk_local(w0, tz)}, "
                    f"more than {limits.max_weekly_hours:g}"
                )
                break
        if _is_night(f.start, f.end, tz):
            nights = {a.astimezone(tz).date() for a, b in duties if _is_night(a, b, tz)}
            d0 = f.start.astimezone(tz).date()
            lo = hi = d0
            while lo - timedelta(days=1) in nights:
                lo -= timedelta(days=1)
            while hi + timedelta(days=1) in nights:
                hi += timedelta(days=1)
            run = (hi - lo).days + 1
            # a fill dated on a night the person already works adds no night to the run
            already = any(_is_night(a, b, tz) and a.astimezone(tz).date() == d0 for a, b in mine_shifts)
            if run > limits.max_consecutive_nights and not already:
                out.append(
                    f"{name}: a night in a run of {run} consecutive nights, more than "
                    f"{limits.max_consecutive_nights}"
                )
    return out
