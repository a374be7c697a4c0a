"""Sending alerts: the digest's wording shared by the jobs, the webhook's JSON body, and a `Delivery`
that sends on one channel, marks the alerts sent only when that worked, and sums up the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from rota.config import Settings
from rota.notify import NotifyError, post_webhook
from rota.services.alerts import alert_json
from rota.storage import Engine
from rota.storage import alerts as store
from rota.timeutil import iso_local

DIGEST_LINES = 100  # lines listed in one message; the rest are counted
NOT_CONFIGURED = "not sent: no e-mail or webhook is configured"


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def listing(lines: Sequence[str]) -> str:
    shown = [f"- {line}" for line in lines[:DIGEST_LINES]]
    if len(lines) > DIGEST_LINES:
        shown.append(f"- ... and {len(lines) - DIGEST_LINES} more (see the dashboard)")
    return "\n".join(shown)


def digest_body(opening: str, alerts: Sequence[Mapping[str, Any]], closing: str) -> str:
    """A digest's text: the opening line, the alerts' messages as a list, and a closing paragraph."""
    return f"{opening}:\n\n" + listing([a["message"] for a in alerts]) + f"\n\n{closing}\n"


def payload(
    event: str, subject: str, body: str, alerts: Sequence[Mapping[str, Any]], now: datetime, tz: tzinfo
) -> dict[str, Any]:
    return {
        "source": "cdop-rota",
        "event": event,
        "generated_at": iso_local(now, tz),
        "summary": subject,
        "text": body,
        "count": len(alerts),
        "alerts": [alert_json(a, tz) for a in alerts],
    }


@dataclass
class Delivery:
    """One run's sending: what went out, and what failed (to be tried again at the next run, `retry`)."""

    engine: Engine
    now: datetime
    retry: str
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def send(
        self,
        alerts: Iterable[Mapping[str, Any]],
        channel: str,
        sending: Callable[[], None],
        sent: str,
        *,
        who: str = "",
    ) -> None:
        """Call `sending`; on success mark `alerts` sent on `channel` and note `sent`, else note the
        problem (prefixed with `who`)."""
        try:
            sending()
        except NotifyError as exc:
            self.problems.append(f"{who}{exc} ({self.retry})")
        else:
            store.mark_sent(self.engine, [a["id"] for a in alerts], channel, self.now)
            self.done.append(sent)

    def post(
        self, settings: Settings, event: str, subject: str, body: str, alerts: list[dict[str, Any]], what: str
    ) -> None:
        """Post `alerts` to the webhook in one JSON body (`payload`); mark them posted on success."""
        json_body = payload(event, subject, body, alerts, self.now, settings.tz)
        self.send(
            alerts, "posted_at", partial(post_webhook, settings, json_body), f"posted {what} to the webhook"
        )

    def summary(self) -> tuple[bool, str]:
        """(ok, what was sent and what failed)."""
        return not self.problems, "; ".join(self.done + self.problems) or "nothing new to send"


Sender = Callable[[Delivery, str, list[dict[str, Any]]], None]  # (delivery, channel, alerts pending there)


def deliver(
    engine: Engine, settings: Settings, now: datetime, kind: str, retry: str, sender: Sender
) -> tuple[bool, str]:
    """Send the open alerts of `kind` not yet sent, channel by channel (e-mail, then the webhook, where
    configured): `sender` sends those pending on a channel through the delivery, which marks them sent
    only on success. (ok, what was sent and what failed)."""
    if not (settings.email_on or settings.webhook_on):
        return True, NOT_CONFIGURED
    out = Delivery(engine, now, retry)
    for on, channel in ((settings.email_on, "emailed_at"), (settings.webhook_on, "posted_at")):
        pending = store.pending_alerts(engine, kind, channel) if on else []
        if pending:
            sender(out, channel, pending)
    return out.summary()
