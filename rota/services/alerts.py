"""Alerts and scheduled jobs for people: reading alerts (everyone signed in, within their role),
acknowledging them (the CDOP manager and administrators, audited), the Coverage banner, an alert as JSON
for programs, and the catalogue of jobs with their last and next runs. Imports no Streamlit; the
dashboard, `rota alerts` and `rota jobs list` come through here, and the jobs (rota/jobs/) and the
scheduler (rota/scheduler.py) take the catalogue and `alert_json` from here, so that nothing here
imports the jobs.

What each role sees: administrators and the CDOP manager every alert; a coordinator the gap alerts and
their own agency's training alerts; a commissioner the gap alerts only (training alerts name people).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import polars as pl

from rota.config import Settings, load_settings
from rota.errors import InputError, PermissionDenied, Problem
from rota.model import UTC_US
from rota.rules import default_rules
from rota.services.access import ADMIN, CDOP_MANAGER, COORDINATOR, Actor, can_read_people
from rota.services.coverage import rule_label
from rota.storage import Engine
from rota.storage import alerts as store
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.storage.rules import stored_rules
from rota.timeutil import iso_local, uk_local, utc_now
from rota.vocab import AlertKind, AuditAction, JobStatus, responder_role_label

ENTITY = "alert"


@dataclass(frozen=True)
class JobSpec:
    """A job: its fixed id (also the name `rota jobs run` takes), the function the scheduler calls, and
    its schedule in words (the triggers themselves are in rota/scheduler.py)."""

    name: str
    function: str
    title: str
    schedule: str


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("gap-scan", "rota.jobs:gap_scan", "Gap scan (next 30 days)", "every hour"),
        JobSpec(
            "training-expiry", "rota.jobs:training_expiry", "Training expiry (next 30 days)", "daily 02:30"
        ),
        JobSpec(
            "forecast-refresh", "rota.jobs:forecast_refresh", "Forecast refresh (91 days)", "nightly 03:00"
        ),
        JobSpec(
            "import-watch",
            "rota.jobs:import_watch",
            "Import watch folder",
            "every minute while ROTA_IMPORT_WATCH is set",
        ),
        JobSpec(
            "assurance-pack",
            "rota.jobs:assurance_pack",
            "Assurance pack (the last quarter's)",
            "daily 06:30; builds on the fifth working day after a quarter ends",
        ),
    )
}
JOB_NAMES: tuple[str, ...] = tuple(JOBS)


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
    kinds = None if can_read_people(actor) else [AlertKind.GAP.value]
    return store.select_alerts(
        engine, include_resolved=include_resolved, kinds=kinds, agency=agency, limit=limit
    )


@dataclass(frozen=True)
class GapBanner:
    """Open gap alerts still ahead (or under way) before `until` (None: any time), the earliest one's
    start, and its rule: id, role and the rule's plain name (`SIO 0-17`, as the gap list names it)."""

    count: int
    earliest: datetime | None
    until: datetime | None = None
    rule_id: str | None = None
    role: str | None = None
    rule_label: str | None = None


def gap_banner(
    engine: Engine, actor: Actor, now: datetime | None = None, until: datetime | None = None
) -> GapBanner:
    """For the top of the Coverage page: the open gap alerts from `now` to `until` (the gap list's
    horizon). Every signed-in role may read it (no names). The alerts are kept in step with the rota by
    every save (rota.services.gapalerts) and by the hourly scan."""
    del actor  # signed in is enough
    count, first = store.open_gap_summary(engine, now or utc_now(), until)
    if first is None:
        return GapBanner(count, None, until)
    rules = {r.id: r for r in stored_rules(engine)[0]} or {r.id: r for r in default_rules()}
    rule = rules.get(first["rule_id"])
    label = (
        rule_label(rule)
        if rule is not None
        else f"{responder_role_label(first['role'] or '')} {first['age_band'] or ''}".strip()
    )
    return GapBanner(count, first["start"], until, first["rule_id"], first["role"], label)


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
        record_audit(conn, actor.username, AuditAction.UPDATE.value, ENTITY, str(alert_id), image, after)
    return True


def alert_json(alert: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """An alert for programs (webhook, `rota alerts`): local ISO times with their offset."""

    def t(value: Any) -> str | None:
        return iso_local(value, tz) if isinstance(value, datetime) else None

    until = alert.get("valid_until")
    return {
        "id": alert.get("id"),
        "kind": alert["kind"],
        "rule_id": alert.get("rule_id"),
        "role": alert.get("role"),
        "age_band": alert.get("age_band"),
        "start": t(alert.get("start")),
        "end": t(alert.get("end")),
        "open_end": bool(alert.get("open_end")),
        "required": alert.get("required"),
        "available": alert.get("available"),
        "responder_id": alert.get("responder_id"),
        "competency": alert.get("competency"),
        "valid_until": until.isoformat() if isinstance(until, date) else None,
        "agency": alert.get("agency"),
        "message": alert.get("message"),
        "created_at": t(alert.get("created_at")),
        "resolved_at": t(alert.get("resolved_at")),
        "resolution": alert.get("resolution"),
        "acknowledged_at": t(alert.get("acknowledged_at")),
        "acknowledged_by": alert.get("acknowledged_by"),
    }


# ---------------------------------------------------------------------------------------------- jobs

OVERVIEW_SCHEMA: dict[str, pl.DataType] = {
    "job": pl.String(),
    "schedule": pl.String(),
    "next_run": UTC_US,
    "last_run": UTC_US,
    "last_finished": UTC_US,
    "last_status": pl.String(),
    "last_message": pl.String(),
}


def overview(engine: Engine, settings: Settings, now: datetime | None = None) -> pl.DataFrame:
    """Every job: its schedule, next run (from the job store; null while no scheduler has stored it), and
    its last run (start, end, status, message). A run still marked running long after it began died with
    its process and shows as `interrupted`."""
    now = now or utc_now()
    scheduled = store.scheduled_runs(engine) or {}
    last = store.last_runs(engine)
    rows = []
    for name, spec in JOBS.items():
        schedule = spec.schedule
        if name == "import-watch":
            schedule = (
                f"every minute: {settings.import_watch}"
                if settings.import_watch
                else "off (ROTA_IMPORT_WATCH not set)"
            )
        run = last.get(name, {})
        status = run.get("status")
        started = run.get("started_at")
        if (
            status == JobStatus.RUNNING
            and started is not None
            and not store.run_is_live(started, run.get("message"), now)
        ):
            status = "interrupted"
        rows.append(
            (name, schedule, scheduled.get(name), started, run.get("finished_at"), status, run.get("message"))
        )
    return pl.DataFrame(rows, schema=OVERVIEW_SCHEMA, orient="row")


def overview_lines(engine: Engine, settings: Settings) -> list[str]:
    """One line a job: its schedule and next run (for the log of `rota scheduler`)."""
    out = []
    for r in overview(engine, settings).iter_rows(named=True):
        nxt = uk_local(r["next_run"], settings.tz) if r["next_run"] else "not scheduled"
        out.append(f"{r['job']}: {r['schedule']}; next run {nxt}")
    return out


def job_overview(engine: Engine, actor: Actor, settings: Settings | None = None) -> pl.DataFrame:
    """Each job's schedule, next run and last run (`overview`): the CDOP manager and admins."""
    require_job_status(actor)
    return overview(engine, settings or load_settings())
