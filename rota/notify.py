"""Notifications from the scheduled jobs: e-mail over SMTP and a webhook that receives a JSON body, both
configured by the settings of rota/config.py (docs/configuration.md, "Alerts").

Only what the jobs put in a message is sent: rules, times, responders' work details; never a child's data.
A failure raises `NotifyError`; the caller records it on the job run and tries again at the next run.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from rota.config import Settings

TIMEOUT_SECONDS = 15.0


class NotifyError(Exception):
    """A notification could not be delivered (the message says which channel and why)."""


Attachment = tuple[str, str, bytes]  # (file name, media type such as application/pdf, content)


def send_email(
    settings: Settings, to: Sequence[str], subject: str, body: str, attachments: Sequence[Attachment] = ()
) -> None:
    """One plain-text message to `to` through the configured SMTP server, with `attachments` (file name,
    media type, content) attached as files."""
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
    for filename, media_type, content in attachments:
        maintype, _, subtype = media_type.partition(";")[0].strip().partition("/")
        message.add_attachment(
            content, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
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
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail via {host}:{port} failed: {exc.__class__.__name__}: {exc}") from exc


def post_webhook(settings: Settings, payload: Mapping[str, Any]) -> None:
    """POST `payload` as JSON to ROTA_ALERT_WEBHOOK; any answer but 2xx is a failure."""
    if settings.alert_webhook is None:
        raise NotifyError("webhook: none configured (set ROTA_ALERT_WEBHOOK)")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        settings.alert_webhook.get_secret_value(),
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
