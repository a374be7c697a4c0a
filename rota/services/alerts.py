"""Alerts and scheduled jobs for people: reading alerts (everyone signed in, within their role),
acknowledging them (the CDOP manager and administrators, audited), the Coverage banner, and the jobs'
last and next runs. Imports no Streamlit; the dashboard and `rota alerts` both come through here.

What each role sees: administrators and the CDOP manager every alert; a coordinator the gap alerts and
their own agency's training alerts; a commissioner the gap alerts only (training alerts name people).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from rota import jobs
from rota.config import Settings, load_settings
from rota.errors import InputError, PermissionDenied, Problem
from rota.services.access import ADMIN, CDOP_MANAGER, COORDINATOR, Actor, can_read_people
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.timeutil import utc_now

ENTITY = "alert"


def can_acknowledge(actor: Actor) -> bool:
    return actor.role in (ADMIN, CDOP_MANAGER)


def require_acknowledge(actor: Actor) -> None:
    if not can_acknowledge(actor):
        raise PermissionDenied("only the CDOP manager and administrators acknowledge alerts")


def require_job_status(actor: Actor) -> None:
    if actor.role not in (ADMIN, CDOP_MANAGER):
        raise PermissionDenied("the scheduled jobs are for the CDOP manager and administrators")


def list_alerts(
    engine: Engine, actor: Actor, *, include_resolved: bool = False, limit: int | None = None
) -> pl.DataFrame:
    """Alerts the actor may see (`rota.storage.alerts.ALERT_SCHEMA`): open ones by start, then resolved
    ones when asked for."""
    agency = actor.agency if actor.role == COORDINATOR else None
    kinds = None if can_read_people(actor) else ["gap"]
    return store.select_alerts(
        engine, include_resolved=include_resolved, kinds=kinds, agency=agency, limit=limit
    )


@dataclass(frozen=True)
class GapBanner:
    """Open gap alerts still ahead (or under way) and the earliest one's start."""

    count: int
    earliest: datetime | None


def gap_banner(engine: Engine, actor: Actor, now: datetime | None = None) -> GapBanner:
    """For the top of the Coverage page: one query. Every signed-in role may read it (no names)."""
    del actor  # signed in is enough
    count, earliest = store.open_gap_summary(engine, now or utc_now())
    return GapBanner(count, earliest)


def acknowledge(engine: Engine, actor: Actor, alert_id: int, now: datetime | None = None) -> bool:
    """Mark an alert as seen and in hand (audited). False when someone had already acknowledged it."""
    require_acknowledge(actor)
    at = now or utc_now()
    with write_transaction(engine) as conn:
        before = store.alert_for_update(conn, alert_id)
        if before is None:
            raise InputError(Problem("alert", None, None, f"there is no alert {alert_id}"))
        if before["acknowledged_at"] is not None:
            return False
        store.update_alert(conn, alert_id, {"acknowledged_at": at, "acknowledged_by": actor.username})
        image = {k: before[k] for k in ("kind", "key", "acknowledged_at", "acknowledged_by")}
        after = {**image, "acknowledged_at": at, "acknowledged_by": actor.username}
        record_audit(conn, actor.username, "update", ENTITY, str(alert_id), image, after)
    return True


def job_overview(engine: Engine, actor: Actor, settings: Settings | None = None) -> pl.DataFrame:
    """Each job's schedule, next run and last run (`rota.jobs.overview`): the CDOP manager and admins."""
    require_job_status(actor)
    return jobs.overview(engine, settings or load_settings())
