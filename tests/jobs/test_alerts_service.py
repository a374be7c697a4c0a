"""Alerts for people: who sees which alerts, who may acknowledge them (audited), the Coverage banner's
numbers, and the jobs overview for managers."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.errors import InputError, PermissionDenied
from rota.jobs import gap_scan, training_expiry
from rota.services.access import Actor
from rota.services.alerts import acknowledge, gap_banner, job_overview, list_alerts
from rota.services.editing import CREATE, SHIFT, Change, save_changes, shift_row
from rota.services.people import responder_list, set_responder_active
from rota.storage.audit import audit_entries
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.timeutil import utc_now
from tests.jobs.conftest import NOW, settings_for, small_rota

ADMIN = Actor("ada", "admin")
MANAGER = Actor("max", "cdop_manager")
POLICE = Actor("pat", "coordinator", "Vale Police")
AMBULANCE = Actor("amy", "coordinator", "Downs Ambulance")
COMMISSIONER = Actor("cam", "commissioner")


@pytest.fixture
def alerted(db_url: str) -> Engine:
    engine = init_db(db_url)
    until = {"S1:jar": date(2026, 12, 10), "A1:jar-16-17": date(2026, 12, 20)}
    import_rota(engine, small_rota(valid_until=until), actor="test")
    gap_scan(engine, settings_for(), now=NOW)
    training_expiry(engine, settings_for(), now=NOW)
    return engine


def test_each_role_sees_its_alerts(alerted: Engine) -> None:
    def seen(actor: Actor) -> list[tuple[str, str | None]]:
        return sorted(list_alerts(alerted, actor).select("kind", "responder_id").rows(), key=str)

    # the lapses themselves open gaps: SIO cover from 11/12, ambulance 16-17 from 21/12
    gaps = [("gap", None)] * 7
    everything = sorted([*gaps, ("training_expiry", "A1"), ("training_expiry", "S1")], key=str)
    assert seen(ADMIN) == seen(MANAGER) == everything
    assert seen(POLICE) == sorted([*gaps, ("training_expiry", "S1")], key=str)
    assert seen(AMBULANCE) == sorted([*gaps, ("training_expiry", "A1")], key=str)
    assert seen(COMMISSIONER) == gaps  # training alerts name people: not for commissioners
    alerted.dispose()


def test_only_managers_and_admins_acknowledge_and_it_is_audited(alerted: Engine) -> None:
    first = int(list_alerts(alerted, ADMIN)["id"][0])
    for actor in (POLICE, COMMISSIONER):
        with pytest.raises(PermissionDenied, match="only the CDOP manager and administrators"):
            acknowledge(alerted, actor, first)
    assert acknowledge(alerted, MANAGER, first, now=NOW) is True
    assert acknowledge(alerted, ADMIN, first) is False  # already done: no second audit entry
    row = list_alerts(alerted, ADMIN).filter(id=first)
    assert row["acknowledged_by"].to_list() == ["max"] and row["acknowledged_at"].to_list() == [NOW]
    audit = audit_entries(alerted, entity="alert")
    assert audit.select("actor", "action", "entity_id").rows() == [("max", "update", str(first))]
    assert '"acknowledged_by":"max"' in audit["after"][0].replace(" ", "")
    with pytest.raises(InputError, match="there is no alert 424242"):
        acknowledge(alerted, ADMIN, 424242)
    alerted.dispose()


def test_the_banner_counts_open_gaps_ahead_with_the_earliest(alerted: Engine) -> None:
    banner = gap_banner(alerted, COMMISSIONER, now=NOW)
    assert banner.count == 7 and banner.earliest == NOW.replace(day=3, hour=9)
    assert (banner.role, banner.rule_label) == ("paediatrician", "Paediatrician 0-15")
    # up to the end of a horizon (the gap list's): only the gaps starting before it
    soon = gap_banner(alerted, MANAGER, now=NOW, until=NOW + timedelta(days=3))
    assert (soon.count, soon.earliest, soon.until) == (2, NOW.replace(day=3, hour=9), NOW + timedelta(days=3))
    none = gap_banner(alerted, MANAGER, now=NOW, until=NOW + timedelta(hours=1))
    assert (none.count, none.earliest, none.rule_label) == (0, None, None)
    later = gap_banner(alerted, POLICE, now=NOW + timedelta(days=2, hours=6))  # the paediatric gaps are over
    assert later.count == 5 and later.earliest == NOW.replace(day=6, hour=12)
    alerted.dispose()


def test_saving_a_change_brings_the_alerts_in_step_without_waiting_for_the_scan(db_url: str) -> None:
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    engine = init_db(db_url)
    import_rota(engine, small_rota(now), actor="test")
    gap_scan(engine, settings_for(), now=now)
    assert gap_banner(engine, MANAGER).count == 4
    # the paediatrician's hole (two gaps: 0-15 and 16-17) is filled in the Rota editor
    fill = shift_row("P1", now + timedelta(days=2, hours=-3), now + timedelta(days=2, hours=5))
    save_changes(engine, ADMIN, [Change(SHIFT, CREATE, after=fill)])
    banner = gap_banner(engine, MANAGER)
    assert (banner.count, banner.role) == (2, "ambulance")
    closed = list_alerts(engine, ADMIN, include_resolved=True).filter(pl.col("role") == "paediatrician")
    assert closed["resolution"].to_list() == ["covered", "covered"]
    # taking the SIO off the rota opens gaps at once: stored as alerts, sent by the next scan
    sio = responder_list(engine, ADMIN).filter(pl.col("responder_id") == "S1").row(0, named=True)
    set_responder_active(engine, ADMIN, "S1", sio["version"], active=False)
    opened = list_alerts(engine, ADMIN).filter(pl.col("role") == "sio")
    assert opened.height == 2 and opened["emailed_at"].is_null().all()
    assert gap_banner(engine, MANAGER).count == 4
    engine.dispose()


def test_the_jobs_overview_is_for_managers(alerted: Engine) -> None:
    table = job_overview(alerted, MANAGER, settings_for())
    assert table["job"].to_list() == [
        "gap-scan",
        "training-expiry",
        "forecast-refresh",
        "import-watch",
        "assurance-pack",
    ]
    assert table["last_status"].to_list()[:2] == ["ok", "ok"]
    with pytest.raises(PermissionDenied):
        job_overview(alerted, POLICE, settings_for())
    alerted.dispose()
