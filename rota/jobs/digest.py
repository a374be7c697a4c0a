"""Sending alerts: the digest's wording shared by the jobs, the webhook's JSON body, and a `Delivery`
that sends on one channel, marks the alerts sent only when that worked, and sums up the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from rota.notify import NotifyError, Settings
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


def configured(settings: Settings) -> bool:
    """Whether any channel (e-mail, webhook) is set up."""
    return bool(settings.email_on or settings.webhook_on)


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

    def summary(self) -> tuple[bool, str]:
        """(ok, what was sent and what failed)."""
        return not self.problems, "; ".join(self.done + self.problems) or "nothing new to send"
