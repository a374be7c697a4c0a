"""Notifications from the scheduled jobs: the settings (from the environment, SPEC section 10), e-mail over
SMTP and a webhook that receives a JSON body.

Only what the jobs put in a message is sent: rules, times, responders' work details; never a child's data.
A failure raises `NotifyError`; the caller records it on the job run and tries again at the next run.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from rota.errors import InputError, Problem
from rota.redact import remember_secret
from rota.timeutil import DEFAULT_TZ_NAME, zone

ENV_SMTP_HOST = "ROTA_SMTP_HOST"
ENV_SMTP_PORT = "ROTA_SMTP_PORT"
ENV_SMTP_FROM = "ROTA_SMTP_FROM"
ENV_ALERT_EMAIL = "ROTA_ALERT_EMAIL"
ENV_ALERT_WEBHOOK = "ROTA_ALERT_WEBHOOK"
# Beyond SPEC section 10, for relays that need them (documented in docs/operations.md).
ENV_SMTP_USER = "ROTA_SMTP_USER"
ENV_SMTP_PASSWORD = "ROTA_SMTP_PASSWORD"
ENV_SMTP_STARTTLS = "ROTA_SMTP_STARTTLS"
ENV_IMPORT_WATCH = "ROTA_IMPORT_WATCH"
ENV_IMPORT_SETTLE_SECONDS = "ROTA_IMPORT_SETTLE_SECONDS"
ENV_IMPORT_MAX_MB = "ROTA_IMPORT_MAX_MB"
DEFAULT_IMPORT_SETTLE_SECONDS = 60.0
DEFAULT_IMPORT_MAX_MB = 200.0

DEFAULT_SMTP_PORT = 25
DEFAULT_FROM = "cdop-rota@localhost"
TIMEOUT_SECONDS = 15.0
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class NotifyError(Exception):
    """A notification could not be delivered (the message says which channel and why)."""


def _bad(name: str, reason: str) -> InputError:
    return InputError(Problem(name, None, None, reason))


def _addresses(name: str, text: str) -> tuple[str, ...]:
    out = tuple(a.strip() for a in text.split(",") if a.strip())
    for address in out:
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain or " " in address:
            raise _bad(name, f"{address!r} is not an e-mail address (give addresses separated by commas)")
    return out


@dataclass(frozen=True)
class Settings:
    """Where alerts go and what the jobs watch. `Settings.from_env()` reads the environment."""

    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_from: str = DEFAULT_FROM
    alert_email: tuple[str, ...] = ()
    alert_webhook: str | None = field(default=None, repr=False)
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    import_watch: Path | None = None
    import_settle_seconds: float = DEFAULT_IMPORT_SETTLE_SECONDS
    import_max_mb: float = DEFAULT_IMPORT_MAX_MB
    tz: tzinfo = field(default_factory=lambda: zone(DEFAULT_TZ_NAME))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """From ROTA_SMTP_HOST, ROTA_SMTP_PORT, ROTA_SMTP_FROM, ROTA_ALERT_EMAIL (comma-separated),
        ROTA_ALERT_WEBHOOK, ROTA_IMPORT_WATCH, ROTA_IMPORT_SETTLE_SECONDS, ROTA_IMPORT_MAX_MB and ROTA_TZ;
        a malformed value is an InputError naming it."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = get(ENV_SMTP_PORT)
        port = DEFAULT_SMTP_PORT
        if port_text is not None:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise _bad(ENV_SMTP_PORT, f"{port_text!r} is not a port number")
            port = int(port_text)
        webhook = get(ENV_ALERT_WEBHOOK)
        # A webhook URL is a credential (whoever has it may post alerts), like the SMTP password: neither
        # is ever printed or logged.
        remember_secret(webhook)
        remember_secret(get(ENV_SMTP_PASSWORD))
        if webhook is not None and not webhook.lower().startswith(("http://", "https://")):
            raise _bad(ENV_ALERT_WEBHOOK, "not an http:// or https:// URL (the value is secret: not shown)")
        sender = get(ENV_SMTP_FROM) or DEFAULT_FROM
        _addresses(ENV_SMTP_FROM, sender)
        starttls_text = (get(ENV_SMTP_STARTTLS) or "").lower()
        if starttls_text not in _TRUE + _FALSE:
            raise _bad(ENV_SMTP_STARTTLS, f"{starttls_text!r}: give 1 or 0")
        watch = get(ENV_IMPORT_WATCH)

        def number(name: str, default: float, low: float) -> float:
            text = get(name)
            if text is None:
                return default
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not low <= value < float("inf"):
                raise _bad(name, f"{text!r} is not a number of at least {low:g}")
            return value

        settle = number(ENV_IMPORT_SETTLE_SECONDS, DEFAULT_IMPORT_SETTLE_SECONDS, 0)
        max_mb = number(ENV_IMPORT_MAX_MB, DEFAULT_IMPORT_MAX_MB, 0.001)
        try:
            tz = zone(get("ROTA_TZ") or DEFAULT_TZ_NAME)
        except Exception as exc:
            raise _bad("ROTA_TZ", str(exc)) from exc
        return cls(
            smtp_host=get(ENV_SMTP_HOST),
            smtp_port=port,
            smtp_from=sender,
            alert_email=_addresses(ENV_ALERT_EMAIL, get(ENV_ALERT_EMAIL) or ""),
            alert_webhook=webhook,
            smtp_user=get(ENV_SMTP_USER),
            smtp_password=get(ENV_SMTP_PASSWORD),
            smtp_starttls=starttls_text in _TRUE,
            import_watch=Path(watch).expanduser() if watch else None,
            import_settle_seconds=settle,
            import_max_mb=max_mb,
            tz=tz,
        )

    @property
    def email_on(self) -> bool:
        """E-mail is sent when an SMTP host is set (recipients: ROTA_ALERT_EMAIL, or a job's own)."""
        return self.smtp_host is not None

    @property
    def webhook_on(self) -> bool:
        return self.alert_webhook is not None

    def channels_text(self) -> str:
        """For people: where alerts go, or how to make them go somewhere."""
        parts = []
        if self.email_on:
            to = ", ".join(self.alert_email) or "(no ROTA_ALERT_EMAIL)"
            parts.append(f"e-mail via {self.smtp_host}:{self.smtp_port} to {to}")
        if self.webhook_on:
            parts.append("webhook")
        if not parts:
            return "stored only: set ROTA_SMTP_HOST and ROTA_ALERT_EMAIL, or ROTA_ALERT_WEBHOOK, to send them"
        return " and ".join(parts)


def send_email(settings: Settings, to: Sequence[str], subject: str, body: str) -> None:
    """One plain-text message to `to` through the configured SMTP server."""
    if settings.smtp_host is None:
        raise NotifyError("e-mail: no SMTP server (set ROTA_SMTP_HOST)")
    if not to:
        raise NotifyError("e-mail: nobody to send to (set ROTA_ALERT_EMAIL)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    host, port = settings.smtp_host, settings.smtp_port
    try:
        smtp: smtplib.SMTP
        if port == 465:
            smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if settings.smtp_starttls and port != 465:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail via {host}:{port} failed: {exc.__class__.__name__}: {exc}") from exc


def post_webhook(settings: Settings, payload: Mapping[str, Any]) -> None:
    """POST `payload` as JSON to ROTA_ALERT_WEBHOOK; any answer but 2xx is a failure."""
    if settings.alert_webhook is None:
        raise NotifyError("webhook: none configured (set ROTA_ALERT_WEBHOOK)")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        settings.alert_webhook,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "cdop-rota"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"webhook answered {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise NotifyError(f"webhook failed: {exc.__class__.__name__}: {exc}") from exc
    if not 200 <= status < 300:
        raise NotifyError(f"webhook answered {status}")
