"""Fixtures for the scheduled jobs: a small rota with known gaps (on SQLite and PostgreSQL through
`db_url`), a real local SMTP server (aiosmtpd) and a real local HTTP receiver for the webhook."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.config import Settings, load_settings
from rota.model import Rota, conform
from rota.storage.db import init_db
from rota.storage.imports import import_rota

# A Tuesday noon in winter (GMT): the small rota's gaps are fixed relative to it.
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IDS = ["P1", "S1", "A1"]
ROLES = ["paediatrician", "sio", "ambulance"]
AGENCIES = ["Vale Hospitals", "Vale Police", "Downs Ambulance"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_rota(
    around: datetime = NOW,
    *,
    holes: tuple[tuple[str, timedelta, timedelta], ...] = (
        ("P1", timedelta(days=2, hours=-3), timedelta(days=2, hours=5)),  # 2 gaps: paediatrician 0-15, 16-17
        ("A1", timedelta(days=5), timedelta(days=5, hours=3)),  # 2 gaps: ambulance 0-15, 16-17
    ),
    days_after: int = 40,
    valid_until: dict[str, date] | None = None,
) -> Rota:
    """One trained responder per role on duty in daily shifts from 10 days before `around` to `days_after`
    days after it, except the `holes` (responder, from, to relative to `around`)."""
    start = around.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    shifts: list[dict[str, Any]] = []
    for rid in IDS:
        cuts = [(around + a, around + b) for who, a, b in holes if who == rid]
        t = start
        n = 0
        while t < around + timedelta(days=days_after):
            end = t + timedelta(days=1)
            pieces = [(t, end)]
            for lo, hi in cuts:
                pieces = [
                    part
                    for a, b in pieces
                    for part in ((a, min(b, lo)), (max(a, hi), b))
                    if part[1] > part[0]
                ]
            for a, b in pieces:
                n += 1
                shifts.append({"shift_id": f"{rid}-{n}", "responder_id": rid, "start": a, "end": b})
            t = end
    until = valid_until or {}
    return Rota(
        responders=conform(
            "responders",
            pl.DataFrame(
                {
                    "responder_id": IDS,
                    "name": ["Dr Ada Testwood", "DI Bram Fictor", "Cleo Madeup"],
                    "role": ROLES,
                    "agency": AGENCIES,
                }
            ),
        ),
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": IDS * 2,
                    "competency": ["jar"] * 3 + ["jar-16-17"] * 3,
                    "valid_from": [date(2020, 1, 1)] * 6,
                    "valid_until": [until.get(f"{rid}:{c}") for c in ("jar", "jar-16-17") for rid in IDS],
                },
                schema_overrides={"valid_until": pl.Date()},
            ),
        ),
        shifts=conform("shifts", pl.DataFrame(shifts)),
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The small rota stored: four gaps in the 30 days after NOW."""
    eng = init_db(db_url)
    import_rota(eng, small_rota(), actor="test")
    try:
        yield eng
    finally:
        eng.dispose()


# ---------------------------------------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.messages.append(message_from_bytes(envelope.content))
        self.box.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def body(message: Message) -> str:
    """The text of a received message (decoded from its transfer encoding)."""
    data = message.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data.decode(message.get_content_charset() or "utf-8")


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """A real SMTP server on a free local port; `smtp.messages` holds what it received."""
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    box = Mailbox("127.0.0.1", free_port())
    controller = controller_mod.Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------------- webhook


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer with, in turn (then 204)


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A real HTTP server on a free local port that keeps every JSON body POSTed to it."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            status = receiver.answers.pop(0) if receiver.answers else 204
            if status < 300:
                receiver.bodies.append(json.loads(data))
                receiver.content_types.append(self.headers.get("Content-Type", ""))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def settings_for(smtp: Mailbox | None = None, webhook: Receiver | None = None, **extra: Any) -> Settings:
    """Settings as the environment would give them, pointing at the local servers."""
    env: dict[str, str] = {}
    if smtp is not None:
        env |= {
            "ROTA_SMTP_HOST": smtp.host,
            "ROTA_SMTP_PORT": str(smtp.port),
            "ROTA_SMTP_FROM": "rota@example.org",
            "ROTA_ALERT_EMAIL": "cdop.manager@example.org, duty.desk@example.org",
        }
    if webhook is not None:
        env["ROTA_ALERT_WEBHOOK"] = webhook.url
    env |= {k: str(v) for k, v in extra.items()}
    return load_settings(env)
