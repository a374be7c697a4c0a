"""Gap alerts kept in step with the rota: the gaps under way or ahead within 30 days, matched against the
stored open gap alerts (new ones added, changed ones updated, closed ones resolved). The hourly gap scan
(rota/jobs/gaps.py) does this and then sends what is new; every service that changes the rota (shift and
absence edits, imports from the command line, the watched folder and the dashboard, training edits, the
demo) calls `reconcile_gap_alerts` after it commits, so that the Coverage page's alert banner never
counts a gap that a save has closed. Sending stays with the scan: an alert added here is sent at the next
scan, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.config import load_settings
from rota.engine import gaps
from rota.output import duration_text
from rota.services.coverage import rule_label
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.db import write_transaction
from rota.storage.rota import load_rota
from rota.timeutil import uk_local, utc_now
from rota.vocab import AlertKind

log = logging.getLogger(__name__)

LOOKAHEAD = timedelta(days=30)
# Longer than the longest shift (7 days): a gap under way keeps the start it was first reported with.
LOOKBACK = timedelta(days=8)


def _utc_text(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gap_key(rule_id: str, start: datetime, end: datetime | None) -> str:
    """What identifies a gap: rule, start and end in UTC (`open` when it runs past the look-ahead)."""
    return f"{rule_id}|{_utc_text(start)}|{_utc_text(end) if end is not None else 'open'}"


@dataclass(frozen=True)
class FoundGap:
    """A gap as the engine found it in [lo, hi); `start_open`/`end_open`: cut off by the scan's range."""

    rule_id: str
    role: str
    age_band: str
    start: datetime
    end: datetime
    required: int
    available: int
    start_open: bool = False
    end_open: bool = False

    @property
    def key(self) -> str:
        return gap_key(self.rule_id, self.start, None if self.end_open else self.end)


@dataclass
class GapPlan:
    """What a scan changes: alerts to add, alerts to update in place (not sent again), alerts to resolve."""

    new: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    resolved: dict[int, str] = field(default_factory=dict)
    unchanged: int = 0


def gap_message(
    label: str, start: datetime, end: datetime, open_end: bool, required: int, available: int, tz: tzinfo
) -> str:
    """One line for people: `Paediatrician 16-17: 0 of 1 qualified on duty from ... to ... (16 h)`."""
    minutes = (end - start).total_seconds() / 60
    until = (
        f"beyond {uk_local(end, tz)} (the end of the 30-day look-ahead)"
        if open_end
        else f"to {uk_local(end, tz)} ({duration_text(minutes)})"
    )
    return f"{label}: {available} of {required} qualified on duty from {uk_local(start, tz)} {until}"


def _continues(alert: Mapping[str, Any], gap: FoundGap) -> bool:
    """Is this stored alert the same gap, seen again with the scan's edges moved on?"""
    if alert["rule_id"] != gap.rule_id:
        return False
    start_ok = alert["start"] == gap.start or (gap.start_open and alert["start"] <= gap.start)
    end_ok = (alert["end"] == gap.end and bool(alert["open_end"]) == gap.end_open) or (
        bool(alert["open_end"]) and gap.end >= alert["end"]
    )
    return bool(start_ok and end_ok)


def _pair(
    stored: Sequence[Mapping[str, Any]], found: Sequence[FoundGap]
) -> tuple[list[tuple[FoundGap, Mapping[str, Any] | None]], set[int]]:
    """Each gap found with the open alert it matches (by key, else one it continues), and the ids used."""
    by_key = {a["key"]: a for a in stored}
    used: set[int] = set()
    pairs: list[tuple[FoundGap, Mapping[str, Any] | None]] = []
    loose: list[FoundGap] = []
    for g in found:
        a = by_key.get(g.key)
        if a is not None and a["id"] not in used:
            used.add(a["id"])
            pairs.append((g, a))
        else:
            loose.append(g)
    for g in loose:
        match = next((a for a in stored if a["id"] not in used and _continues(a, g)), None)
        if match is not None:
            used.add(match["id"])
        pairs.append((g, match))
    return pairs, used


def _new_alert(g: FoundGap, label: str, now: datetime, tz: tzinfo) -> dict[str, Any]:
    return {
        "kind": AlertKind.GAP.value,
        "key": g.key,
        "rule_id": g.rule_id,
        "role": g.role,
        "age_band": g.age_band,
        "start": g.start,
        "end": g.end,
        "open_end": g.end_open,
        "required": g.required,
        "available": g.available,
        "message": gap_message(label, g.start, g.end, g.end_open, g.required, g.available, tz),
        "created_at": now,
    }


def plan_gap_alerts(
    stored: Sequence[Mapping[str, Any]],
    found: Sequence[FoundGap],
    now: datetime,
    labels: Mapping[str, str],
    tz: tzinfo,
) -> GapPlan:
    """Match the gaps found against the open gap alerts. A gap matches an alert with the same key, or one
    it continues (an alert cut off at the old look-ahead, or begun before the scan's range): those are
    updated quietly. Unmatched gaps become new alerts; unmatched alerts are resolved as `passed` (over),
    `changed` (the rule has a new, different gap there) or `covered`."""
    plan = GapPlan()
    pairs, used = _pair(stored, found)
    for g, a in pairs:
        label = labels.get(g.rule_id, g.rule_id)
        if a is None:
            plan.new.append(_new_alert(g, label, now, tz))
            continue
        start = a["start"] if g.start_open else g.start
        want = {
            "key": gap_key(g.rule_id, start, None if g.end_open else g.end),
            "start": start,
            "end": g.end,
            "open_end": g.end_open,
            "required": g.required,
            "available": g.available,
        }
        values = {k: v for k, v in want.items() if a[k] != v}
        if values:
            values["message"] = gap_message(label, start, g.end, g.end_open, g.required, g.available, tz)
            plan.updates.append((int(a["id"]), values))
        plan.unchanged += 1
    for a in stored:
        if a["id"] in used:
            continue
        if not a["open_end"] and a["end"] <= now:
            reason = "passed"
        elif any(
            n["rule_id"] == a["rule_id"] and n["start"] < a["end"] and n["end"] > a["start"] for n in plan.new
        ):
            reason = "changed"
        else:
            reason = "covered"
        plan.resolved[int(a["id"])] = reason
    return plan


def find_gaps(engine: Engine, now: datetime, tz: tzinfo) -> tuple[list[FoundGap], dict[str, str]]:
    """The gaps under way or ahead within 30 days of `now`, from the stored rota, and the rules' labels."""
    lo, hi = now - LOOKBACK, now + LOOKAHEAD
    rota = load_rota(engine, lo, hi)
    rules = rota.effective_rules()
    found = gaps(rota, lo, hi, tz, rules).filter(pl.col("end") > now)
    out = [
        FoundGap(
            rule_id=r["rule_id"],
            role=r["role"],
            age_band=r["age_band"],
            start=r["start"],
            end=r["end"],
            required=int(r["required"]),
            available=int(r["available"]),
            start_open=r["start"] <= lo,
            end_open=r["end"] >= hi,
        )
        for r in found.iter_rows(named=True)
    ]
    return out, {r.id: rule_label(r) for r in rules}


def store_gap_plan(engine: Engine, now: datetime, tz: tzinfo) -> tuple[list[FoundGap], GapPlan]:
    """Find the gaps and bring the stored open gap alerts in step with them, in one transaction under
    the gap scan's lock (so a scan and a save never store the same gap twice)."""
    found, labels = find_gaps(engine, now, tz)
    with write_transaction(engine) as conn:
        store.job_lock(conn, "gap-scan")
        plan = plan_gap_alerts(store.open_alerts(conn, AlertKind.GAP.value), found, now, labels, tz)
        store.resolve_alerts(conn, plan.resolved, now)
        for alert_id, values in plan.updates:
            store.update_alert(conn, alert_id, values)
        store.insert_alerts(conn, plan.new)
    return found, plan


def reconcile_gap_alerts(
    engine: Engine, tz: tzinfo | None = None, now: datetime | None = None
) -> GapPlan | None:
    """After a change to the rota is committed: the stored gap alerts brought in step (`store_gap_plan`).
    The change itself is already saved, so a failure here is logged, not raised (None): the next hourly
    scan puts the alerts right."""
    try:
        return store_gap_plan(engine, now or utc_now(), tz or load_settings().tz)[1]
    except Exception:
        log.exception("gap alerts: bringing them in step with the saved rota failed; the next scan will")
        return None
