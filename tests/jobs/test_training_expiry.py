"""Training-expiry warnings: one alert per lapse within 30 days, sent to the coordinators of the responder's
agency (else ROTA_ALERT_EMAIL), not repeated, resolved when the renewal is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.jobs import training_expiry
from rota.model import Rota, conform
from rota.services.auth import create_user
from rota.storage.alerts import select_alerts
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from tests.jobs.conftest import NOW, Mailbox, Receiver, body, settings_for, small_rota

PASSWORD = "a long enough password"


@pytest.fixture
def lapsing(db_url: str) -> Iterator[Engine]:
    """The small rota with the SIO's jar lapsing in 10 days and the paramedic's jar-16-17 in 20; the
    police coordinator's account is named by an e-mail address, the ambulance one's is not."""
    engine = init_db(db_url)
    until = {"S1:jar": date(2026, 12, 10), "A1:jar-16-17": date(2026, 12, 20), "P1:jar": date(2027, 6, 1)}
    import_rota(engine, small_rota(valid_until=until), actor="test")
    create_user(engine, None, "police.coord@example.org", "coordinator", PASSWORD, "Vale Police", by="test")
    create_user(engine, None, "amb-coord", "coordinator", PASSWORD, "Downs Ambulance", by="test")
    try:
        yield engine
    finally:
        engine.dispose()


def test_lapses_go_to_the_agency_coordinators_once(lapsing: Engine, smtp: Mailbox, webhook: Receiver) -> None:
    settings = settings_for(smtp, webhook)
    outcome = training_expiry(lapsing, settings, now=NOW)
    assert outcome.status == "ok", outcome.message
    assert outcome.message.startswith("2 competencies lapse within 30 days: 2 new, 0 already alerted")
    alerts = select_alerts(lapsing).sort("responder_id")
    assert alerts.select("responder_id", "competency", "valid_until", "agency").rows() == [
        ("A1", "jar-16-17", date(2026, 12, 20), "Downs Ambulance"),
        ("S1", "jar", date(2026, 12, 10), "Vale Police"),
    ]
    assert set(alerts["kind"]) == {"training_expiry"}
    # one message per agency: the police coordinator by their address, the ambulance one via ROTA_ALERT_EMAIL
    by_subject = {m["Subject"]: (m, to) for m, to in zip(smtp.messages, smtp.recipients, strict=True)}
    police, police_to = by_subject["CDOP rota: 1 competency of Vale Police lapse within 30 days"]
    assert police_to == ["police.coord@example.org"]
    text = body(police)
    assert "For the rota coordinator of Vale Police (police.coord@example.org)" in text
    assert "DI Bram Fictor (sio, Vale Police): jar is valid until 10/12/2026 and lapses on 11/12/2026" in text
    assert "Cleo" not in text
    ambulance, ambulance_to = by_subject["CDOP rota: 1 competency of Downs Ambulance lapse within 30 days"]
    assert ambulance_to == ["cdop.manager@example.org", "duty.desk@example.org"]
    assert "(amb-coord)" in body(ambulance)
    assert webhook.bodies[0]["event"] == "training_expiry" and webhook.bodies[0]["count"] == 2
    again = training_expiry(lapsing, settings, now=NOW)
    assert "0 new, 2 already alerted" in again.message and "nothing new to send" in again.message
    assert len(smtp.messages) == 2 and len(webhook.bodies) == 1


def test_a_recorded_renewal_resolves_the_alert(lapsing: Engine, smtp: Mailbox) -> None:
    settings = settings_for(smtp)
    training_expiry(lapsing, settings, now=NOW)
    renewal = Rota(
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": ["S1"],
                    "competency": ["jar"],
                    "valid_from": [date(2026, 12, 11)],
                    "valid_until": [date(2029, 12, 10)],
                }
            ),
        )
    )
    import_rota(lapsing, renewal, actor="test", kinds={"training"})
    outcome = training_expiry(lapsing, settings, now=NOW)
    assert "1 competency lapse within 30 days: 0 new, 1 already alerted, 1 resolved" in outcome.message
    resolved = select_alerts(lapsing, include_resolved=True).filter(pl.col("resolved_at").is_not_null())
    assert resolved.select("responder_id", "resolution").rows() == [("S1", "renewed")]
    assert len(smtp.messages) == 2
