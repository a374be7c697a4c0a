"""The hourly gap scan: the gaps of the next 30 days, one stored alert per gap, new ones sent in one
digest per channel, closed ones resolved. Running it again with nothing changed sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any

import polars as pl

from rota.config import Settings
from rota.engine import gaps
from rota.jobs.digest import Delivery, count, deliver, digest_body
from rota.notify import send_email
from rota.output import duration_text
from rota.services.coverage import rule_label
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.db import write_transaction
from rota.storage.rota import load_rota
from rota.timeutil import uk_local, zone_name
from rota.vocab import AlertKind

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


def scan_gaps(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """The gap scan's work: store the plan in one transaction, then send what is new."""
    found, labels = find_gaps(engine, now, settings.tz)
    with write_transaction(engine) as conn:
        store.job_lock(conn, "gap-scan")
        plan = plan_gap_alerts(store.open_alerts(conn, AlertKind.GAP.value), found, now, labels, settings.tz)
        store.resolve_alerts(conn, plan.resolved, now)
        for alert_id, values in plan.updates:
            store.update_alert(conn, alert_id, values)
        store.insert_alerts(conn, plan.new)
    ok, sent = deliver_gaps(engine, settings, now)
    summary = (
        f"{len(found)} gap{'s' if len(found) != 1 else ''} in the next 30 days: {len(plan.new)} new, "
        f"{plan.unchanged} already alerted, {len(plan.resolved)} resolved; {sent}"
    )
    return ok, summary


def _gap_digest(alerts: Sequence[Mapping[str, Any]], tz: tzinfo) -> tuple[str, str]:
    n = len(alerts)
    subject = f"CDOP rota: {count(n, 'new gap')} in cover in the next 30 days"
    body = digest_body(
        f"The rota has {count(n, 'gap')} in cover not reported before (times are local, {zone_name(tz)})",
        alerts,
        "The Coverage page of the dashboard shows each gap and who could fill it. Gaps are checked every "
        "hour and each is reported once; a gap that closes is marked resolved.",
    )
    return subject, body


def deliver_gaps(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """Send the open gap alerts not yet sent, in one digest per channel; mark them sent only on success."""

    def sender(out: Delivery, channel: str, pending: list[dict[str, Any]]) -> None:
        subject, body = _gap_digest(pending, settings.tz)
        gaps_text = count(len(pending), "gap")
        if channel == "emailed_at":
            sending = partial(send_email, settings, settings.alert_email, subject, body)
            out.send(pending, channel, sending, f"e-mailed {gaps_text} in one digest")
        else:
            out.post(settings, "gaps", subject, body, pending, gaps_text)

    return deliver(engine, settings, now, AlertKind.GAP.value, "will retry at the next scan", sender)
