"""The gap scan with real parts: a local SMTP server receives the digest, a local HTTP server the webhook's
JSON; repeated scans send nothing new; closing a gap resolves its alert; failed deliveries are retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from rota.jobs import FoundGap, gap_key, gap_scan, plan_gap_alerts
from rota.model import Rota, conform
from rota.storage.alerts import job_runs, select_alerts
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.timeutil import SERVICE_TZ
from tests.jobs.conftest import NOW, Mailbox, Receiver, body, free_port, settings_for, small_rota

DAY = timedelta(days=1)
DIGEST_SUBJECT = "CDOP rota: 4 new gaps in cover in the next 30 days"


def test_new_gaps_go_out_in_one_digest_by_email_and_webhook(
    engine: Engine, smtp: Mailbox, webhook: Receiver
) -> None:
    outcome = gap_scan(engine, settings_for(smtp, webhook), now=NOW)
    assert outcome.status == "ok", outcome.message
    assert outcome.message.startswith("4 gaps in the next 30 days: 4 new, 0 already alerted, 0 resolved")
    # one e-mail to everyone in ROTA_ALERT_EMAIL, listing every gap in local time
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == DIGEST_SUBJECT
    assert mail["From"] == "rota@example.org"
    assert smtp.recipients == [["cdop.manager@example.org", "duty.desk@example.org"]]
    body = mail.get_payload(decode=True).decode()
    assert (
        "Paediatrician 16-17: 0 of 1 qualified on duty from 03/12/2026 09:00 GMT to 03/12/2026 17:00 GMT"
        in body
    )
    assert (
        "Ambulance 0-15: 0 of 1 qualified on duty from 06/12/2026 12:00 GMT to 06/12/2026 15:00 GMT" in body
    )
    assert body.count("\n- ") == 4
    # one webhook POST with a JSON body
    assert len(webhook.bodies) == 1 and webhook.content_types[0].startswith("application/json")
    posted = webhook.bodies[0]
    assert posted["event"] == "gaps" and posted["count"] == 4 and posted["summary"] == DIGEST_SUBJECT
    first = posted["alerts"][0]
    assert {k: first[k] for k in ("kind", "rule_id", "start", "end", "required", "available")} == {
        "kind": "gap",
        "rule_id": "paediatrician",
        "start": "2026-12-03T09:00:00+00:00",
        "end": "2026-12-03T17:00:00+00:00",
        "required": 1,
        "available": 0,
    }
    stored = select_alerts(engine)
    assert stored.height == 4
    assert stored["emailed_at"].null_count() == 0 and stored["posted_at"].null_count() == 0
    runs = job_runs(engine, "gap-scan")
    assert runs["status"].to_list() == ["ok"] and runs["finished_at"][0] is not None


def test_scanning_again_sends_nothing_new(engine: Engine, smtp: Mailbox, webhook: Receiver) -> None:
    settings = settings_for(smtp, webhook)
    gap_scan(engine, settings, now=NOW)
    for later in (NOW, NOW + timedelta(minutes=1), NOW + timedelta(hours=1), NOW + timedelta(days=1)):
        outcome = gap_scan(engine, settings, now=later)
        assert outcome.status == "ok"
        assert "0 new, 4 already alerted, 0 resolved; nothing new to send" in outcome.message
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1
    assert select_alerts(engine, include_resolved=True).height == 4


def test_a_gap_under_way_is_not_sent_again(engine: Engine, smtp: Mailbox) -> None:
    settings = settings_for(smtp)
    gap_scan(engine, settings, now=NOW)
    during = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # inside the paediatric gap (09:00-17:00)
    outcome = gap_scan(engine, settings, now=during)
    assert "0 new, 4 already alerted" in outcome.message
    after = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # it is over
    outcome = gap_scan(engine, settings, now=after)
    assert "2 gaps in the next 30 days: 0 new, 2 already alerted, 2 resolved" in outcome.message
    resolved = select_alerts(engine, include_resolved=True).filter(pl.col("resolved_at").is_not_null())
    assert sorted(resolved["rule_id"]) == ["paediatrician", "paediatrician-16-17"]
    assert set(resolved["resolution"]) == {"passed"}
    assert len(smtp.messages) == 1


def test_closing_a_gap_resolves_its_alert(engine: Engine, smtp: Mailbox) -> None:
    settings = settings_for(smtp)
    gap_scan(engine, settings, now=NOW)
    cover = Rota(
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": ["cover-A1"],
                    "responder_id": ["A1"],
                    "start": [datetime(2026, 12, 6, 11, 0, tzinfo=UTC)],
                    "end": [datetime(2026, 12, 6, 16, 0, tzinfo=UTC)],
                }
            ),
        )
    )
    import_rota(engine, cover, actor="test", kinds={"shifts"})
    outcome = gap_scan(engine, settings, now=NOW + timedelta(hours=1))
    assert outcome.message.startswith("2 gaps in the next 30 days: 0 new, 2 already alerted, 2 resolved")
    still_open = select_alerts(engine)
    assert sorted(still_open["rule_id"]) == ["paediatrician", "paediatrician-16-17"]
    closed = select_alerts(engine, include_resolved=True).filter(pl.col("resolved_at").is_not_null())
    assert sorted(closed["rule_id"]) == ["ambulance", "ambulance-16-17"]
    assert set(closed["resolution"]) == {"covered"}
    assert len(smtp.messages) == 1  # a closed gap sends nothing


def test_a_shorter_gap_is_a_changed_alert_and_sent(engine: Engine, smtp: Mailbox) -> None:
    settings = settings_for(smtp)
    gap_scan(engine, settings, now=NOW)
    part = Rota(
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": ["part-A1"],
                    "responder_id": ["A1"],
                    "start": [datetime(2026, 12, 6, 12, 0, tzinfo=UTC)],
                    "end": [datetime(2026, 12, 6, 13, 0, tzinfo=UTC)],
                }
            ),
        )
    )
    import_rota(engine, part, actor="test", kinds={"shifts"})
    outcome = gap_scan(engine, settings, now=NOW)
    assert "2 new, 2 already alerted, 2 resolved" in outcome.message
    changed = select_alerts(engine, include_resolved=True).filter(pl.col("resolution") == "changed")
    assert sorted(changed["rule_id"]) == ["ambulance", "ambulance-16-17"]
    assert len(smtp.messages) == 2
    assert smtp.messages[1]["Subject"] == "CDOP rota: 2 new gaps in cover in the next 30 days"
    assert "from 06/12/2026 13:00 GMT to 06/12/2026 15:00 GMT (2h 00m)" in body(smtp.messages[1])


def test_failed_deliveries_are_recorded_and_retried_at_the_next_scan(
    engine: Engine, webhook: Receiver
) -> None:
    webhook.answers = [500]
    closed_port = free_port()  # nothing listens there
    settings = settings_for(
        webhook=webhook,
        ROTA_SMTP_HOST="127.0.0.1",
        ROTA_SMTP_PORT=closed_port,
        ROTA_ALERT_EMAIL="duty.desk@example.org",
    )
    outcome = gap_scan(engine, settings, now=NOW)
    assert outcome.status == "failed"
    assert f"e-mail via 127.0.0.1:{closed_port} failed: ConnectionRefusedError" in outcome.message
    assert "webhook answered 500" in outcome.message and "will retry at the next scan" in outcome.message
    runs = job_runs(engine, "gap-scan")
    assert runs["status"].to_list() == ["failed"] and "webhook answered 500" in runs["message"][0]
    stored = select_alerts(engine)
    assert stored.height == 4  # stored all the same ...
    assert stored["emailed_at"].null_count() == 4 and stored["posted_at"].null_count() == 4  # ... not sent
    outcome = gap_scan(engine, settings_for(webhook=webhook), now=NOW + timedelta(hours=1))
    assert outcome.status == "ok", outcome.message
    assert "posted 4 gaps to the webhook" in outcome.message
    assert len(webhook.bodies) == 1 and webhook.bodies[0]["count"] == 4


def test_nothing_configured_stores_the_alerts_and_says_so(engine: Engine) -> None:
    outcome = gap_scan(engine, settings_for(), now=NOW)
    assert outcome.status == "ok"
    assert outcome.message.endswith("not sent: no e-mail or webhook is configured")
    assert select_alerts(engine).height == 4


def test_a_gap_past_the_look_ahead_is_sent_once_as_time_moves_on(db_url: str, smtp: Mailbox) -> None:
    # the stored rota stops 20 days ahead: every rule is in gap from then to the end of the look-ahead
    engine = init_db(db_url)
    import_rota(engine, small_rota(days_after=20), actor="test")
    settings = settings_for(smtp)
    first = gap_scan(engine, settings, now=NOW)
    assert "10 gaps in the next 30 days: 10 new" in first.message  # 4 holes + 6 rules from day 20 on
    open_ended = select_alerts(engine).filter(pl.col("open_end"))
    assert open_ended.height == 6
    assert "(the end of the 30-day look-ahead)" in open_ended["message"][0]
    for later in (NOW + timedelta(hours=1), NOW + timedelta(days=3), NOW + timedelta(days=25)):
        outcome = gap_scan(engine, settings, now=later)
        assert " 0 new, " in outcome.message, outcome.message
    assert len(smtp.messages) == 1
    stored = select_alerts(engine).filter(pl.col("open_end"))
    assert stored.height == 6
    assert stored["end"].min() == NOW + timedelta(days=55)  # moved on with the look-ahead, quietly
    engine.dispose()


def test_plan_keeps_matching_gaps_and_resolves_the_rest() -> None:
    t = NOW
    stored = [
        {
            "id": 1,
            "key": gap_key("sio", t, t + timedelta(hours=2)),
            "rule_id": "sio",
            "start": t,
            "end": t + timedelta(hours=2),
            "open_end": False,
            "required": 1,
            "available": 0,
        },
        {
            "id": 2,
            "key": gap_key("paediatrician", t - timedelta(days=9), None),
            "rule_id": "paediatrician",
            "start": t - timedelta(days=9),
            "end": t + timedelta(days=30),
            "open_end": True,
            "required": 1,
            "available": 0,
        },
    ]
    found = [
        # the same SIO gap, seen again
        FoundGap("sio", "sio", "0-15", t, t + timedelta(hours=2), 1, 0),
        # the paediatric gap: begun before the scan's range, and now its end is in view
        FoundGap(
            "paediatrician",
            "paediatrician",
            "0-15",
            t - timedelta(days=8),
            t + timedelta(days=31),
            1,
            0,
            True,
        ),
    ]
    plan = plan_gap_alerts(stored, found, t, {}, SERVICE_TZ)
    assert plan.new == [] and plan.resolved == {} and plan.unchanged == 2
    assert [(i, sorted(v)) for i, v in plan.updates] == [(2, ["end", "key", "message", "open_end"])]
    assert plan.updates[0][1]["key"] == gap_key(
        "paediatrician", t - timedelta(days=9), t + timedelta(days=31)
    )
    # nothing found: the SIO alert is covered, unless it is over
    assert plan_gap_alerts(stored, [], t, {}, SERVICE_TZ).resolved == {1: "covered", 2: "covered"}
    assert plan_gap_alerts(stored, [], t + timedelta(hours=3), {}, SERVICE_TZ).resolved[1] == "passed"
