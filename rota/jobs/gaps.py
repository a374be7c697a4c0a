"""The hourly gap scan: the gaps of the next 30 days, one stored alert per gap, new ones sent in one
digest per channel, closed ones resolved. Running it again with nothing changed sends nothing. Saves
bring the stored alerts in step at once (rota.services.gapalerts); the scan also sends what is new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from rota.config import Settings
from rota.jobs.digest import Delivery, count, deliver, digest_body
from rota.notify import send_email
from rota.services.gapalerts import (
    LOOKAHEAD,
    LOOKBACK,
    FoundGap,
    GapPlan,
    find_gaps,
    gap_key,
    gap_message,
    plan_gap_alerts,
    store_gap_plan,
)
from rota.storage import Engine
from rota.timeutil import zone_name
from rota.vocab import AlertKind

# Planning the alerts lives in rota.services.gapalerts (the services that change the rota call it too).
__all__ = [
    "LOOKAHEAD",
    "LOOKBACK",
    "FoundGap",
    "GapPlan",
    "deliver_gaps",
    "find_gaps",
    "gap_key",
    "gap_message",
    "plan_gap_alerts",
    "scan_gaps",
]


def scan_gaps(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """The gap scan's work: store the plan in one transaction (rota.services.gapalerts), then send what
    is new."""
    found, plan = store_gap_plan(engine, now, settings.tz)
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
