"""Storage for the scheduled jobs: alerts, job runs, the nightly forecast snapshot, and the next run times
APScheduler keeps in its own job store table.

SQLAlchemy core, like the repository. Instants are aware UTC datetimes in and out (SQLModel's UTCDateTime).
"""

from __future__ import annotations

import json
import os
import re
import socket
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    Table,
    Unicode,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from rota.model import UTC_US
from rota.storage.db import write_transaction
from rota.storage.models import ALERT, FORECAST_SNAPSHOT, JOB_RUN, JOBSTORE_TABLE
from rota.vocab import AlertKind, JobStatus

ALERT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "kind": pl.String(),
    "rule_id": pl.String(),
    "role": pl.String(),
    "age_band": pl.String(),
    "start": UTC_US,
    "end": UTC_US,
    "open_end": pl.Boolean(),
    "required": pl.Int64(),
    "available": pl.Int64(),
    "responder_id": pl.String(),
    "competency": pl.String(),
    "valid_until": pl.Date(),
    "agency": pl.String(),
    "message": pl.String(),
    "created_at": UTC_US,
    "emailed_at": UTC_US,
    "posted_at": UTC_US,
    "resolved_at": UTC_US,
    "resolution": pl.String(),
    "acknowledged_at": UTC_US,
    "acknowledged_by": pl.String(),
}
CHANNELS = ("emailed_at", "posted_at")
# A run still marked running after this long died with its process; another run may start. Runs renew a
# lease every HEARTBEAT; one that has not for LEASE (or whose process is gone) died with its process.
STALE_RUN = timedelta(hours=2)
HEARTBEAT = timedelta(seconds=30)
LEASE = timedelta(minutes=3)
_RUNNING = re.compile(r"^running: pid (?P<pid>\d+) on (?P<host>\S+); alive at (?P<alive>\S+)$")
KEEP_RUNS = timedelta(days=14)
KEEP_FORECASTS = 30

_jobstore = Table(
    JOBSTORE_TABLE,
    MetaData(),  # not SQLModel.metadata: APScheduler owns this table
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25)),
)


# ---------------------------------------------------------------------------------------------- locking


def job_lock(conn: Connection, name: str) -> None:
    """Serialise runs of one job across processes for the rest of the transaction. SQLite's
    BEGIN IMMEDIATE (write_transaction) already does; PostgreSQL takes a transaction advisory lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"rota-job:{name}".encode()))))


# ---------------------------------------------------------------------------------------------- alerts


def open_alerts(conn: Connection, kind: str) -> list[dict[str, Any]]:
    """The unresolved alerts of one kind, oldest first, as dicts."""
    a = ALERT
    rows = conn.execute(
        select(a).where(a.c.kind == kind, a.c.resolved_at.is_(None)).order_by(a.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def insert_alerts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(ALERT), [dict(r) for r in rows])


def update_alert(conn: Connection, alert_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(ALERT).where(ALERT.c.id == alert_id).values(**values))


def resolve_alerts(conn: Connection, resolutions: Mapping[int, str], at: datetime) -> None:
    """Resolve alerts by id, each with its reason (covered, changed, passed, renewed, lapsed)."""
    for reason in sorted(set(resolutions.values())):
        ids = [i for i, r in resolutions.items() if r == reason]
        conn.execute(
            update(ALERT)
            .where(ALERT.c.id.in_(ids), ALERT.c.resolved_at.is_(None))
            .values(resolved_at=at, resolution=reason)
        )


def pending_alerts(engine: Engine, kind: str, channel: str) -> list[dict[str, Any]]:
    """Open alerts of `kind` not yet delivered on `channel` (emailed_at or posted_at), oldest first."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    a = ALERT
    with engine.connect() as conn:
        rows = conn.execute(
            select(a)
            .where(a.c.kind == kind, a.c.resolved_at.is_(None), a.c[channel].is_(None))
            .order_by(a.c.start, a.c.rule_id, a.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def mark_sent(engine: Engine, ids: Iterable[int], channel: str, at: datetime) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    chosen = sorted(set(ids))
    if not chosen:
        return
    with write_transaction(engine) as conn:
        conn.execute(update(ALERT).where(ALERT.c.id.in_(chosen)).values(**{channel: at}))


def select_alerts(
    engine: Engine,
    *,
    include_resolved: bool = False,
    kinds: Sequence[str] | None = None,
    agency: str | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Alerts (ALERT_SCHEMA), open first then newest first. `agency`: gap alerts and that agency's
    training alerts only (what a coordinator sees)."""
    a = ALERT
    where: list[ColumnElement[bool]] = []
    if not include_resolved:
        where.append(a.c.resolved_at.is_(None))
    if kinds is not None:
        where.append(a.c.kind.in_(list(kinds)))
    if agency is not None:
        where.append(or_(a.c.kind == AlertKind.GAP.value, a.c.agency == agency))
    query = (
        select(*(a.c[c] for c in ALERT_SCHEMA))
        .where(*where)
        .order_by(a.c.resolved_at.is_not(None), a.c.start, a.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=ALERT_SCHEMA, orient="row")


def open_gap_summary(
    engine: Engine, now: datetime, until: datetime | None = None
) -> tuple[int, dict[str, Any] | None]:
    """How many open gap alerts are still ahead (or under way) at `now` and start before `until` (None:
    any time), and the earliest of them (start, end, rule_id, role, age_band; ties by id)."""
    a = ALERT
    where = [a.c.kind == AlertKind.GAP.value, a.c.resolved_at.is_(None), a.c.end > now]
    if until is not None:
        where.append(a.c.start < until)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).where(*where)).scalar_one()
        first = (
            conn.execute(
                select(a.c.start, a.c.end, a.c.rule_id, a.c.role, a.c.age_band)
                .where(*where)
                .order_by(a.c.start, a.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
    return int(count or 0), dict(first) if first is not None else None


def alert_for_update(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    query = select(ALERT).where(ALERT.c.id == alert_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# ---------------------------------------------------------------------------------------------- job runs


def _running_text(at: datetime) -> str:
    """The message of a run under way: who runs it and when it last said it was alive (its lease)."""
    alive = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"running: pid {os.getpid()} on {socket.gethostname()}; alive at {alive}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def run_is_live(started_at: datetime, message: str | None, at: datetime) -> bool:
    """Whether a run still marked `running` is really going: its process is alive (when it ran on this
    host) and it renewed its lease within LEASE. Runs recorded without a lease (older versions) count
    as going for STALE_RUN after their start."""
    found = _RUNNING.match(message or "")
    if found is None:
        return started_at > at - STALE_RUN
    if found["host"] == socket.gethostname() and not _pid_alive(int(found["pid"])):
        return False
    alive = datetime.strptime(found["alive"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return alive > at - LEASE


def begin_run(engine: Engine, job: str, at: datetime) -> int | None:
    """Record that `job` starts now; None (nothing recorded) while another run of it is still going.

    A run left `running` by a process that died (killed, machine restarted) is marked failed
    ("interrupted") as soon as that is known: at once on the same host, else when its lease lapses."""
    r = JOB_RUN
    with write_transaction(engine) as conn:
        job_lock(conn, job)
        running = conn.execute(
            select(r.c.id, r.c.started_at, r.c.message).where(
                r.c.job == job, r.c.status == JobStatus.RUNNING.value
            )
        ).all()
        if any(run_is_live(started, message, at) for _id, started, message in running):
            return None
        for run_id, _started, message in running:
            conn.execute(
                update(r)
                .where(r.c.id == run_id)
                .values(
                    status=JobStatus.FAILED.value,
                    finished_at=at,
                    message="interrupted: the process stopped before the run ended "
                    f"({message or 'no details'})",
                )
            )
        new_id = conn.execute(
            insert(r)
            .values(job=job, started_at=at, status=JobStatus.RUNNING.value, message=_running_text(at))
            .returning(r.c.id)
        ).scalar_one()
        return int(new_id)


def renew_run(engine: Engine, run_id: int, at: datetime) -> None:
    """Renew a running run's lease (the job's heartbeat)."""
    r = JOB_RUN
    with write_transaction(engine) as conn:
        conn.execute(
            update(r)
            .where(r.c.id == run_id, r.c.status == JobStatus.RUNNING.value)
            .values(message=_running_text(at))
        )


def end_run(engine: Engine, run_id: int, status: str, message: str, at: datetime) -> None:
    """Record how a run ended, and forget that job's runs older than two weeks."""
    r = JOB_RUN
    with write_transaction(engine) as conn:
        job = conn.execute(
            update(r)
            .where(r.c.id == run_id)
            .values(status=status, message=message, finished_at=at)
            .returning(r.c.job)
        ).scalar_one()
        conn.execute(delete(r).where(r.c.job == job, r.c.started_at < at - KEEP_RUNS, r.c.id != run_id))


def last_runs(engine: Engine) -> dict[str, dict[str, Any]]:
    """The latest run of every job that has run: job -> {started_at, finished_at, status, message}."""
    r = JOB_RUN
    latest = select(func.max(r.c.id)).group_by(r.c.job).scalar_subquery()
    with engine.connect() as conn:
        rows = conn.execute(select(r).where(r.c.id.in_(latest))).mappings()
        return {row["job"]: dict(row) for row in rows}


def job_runs(engine: Engine, job: str | None = None, limit: int = 50) -> pl.DataFrame:
    """Recent runs, newest first: job, started_at, finished_at, status, message."""
    r = JOB_RUN
    query = select(r.c.job, r.c.started_at, r.c.finished_at, r.c.status, r.c.message)
    if job is not None:
        query = query.where(r.c.job == job)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(r.c.id.desc()).limit(limit)).all()
    return pl.DataFrame(
        [tuple(x) for x in rows],
        schema={
            "job": pl.String(),
            "started_at": UTC_US,
            "finished_at": UTC_US,
            "status": pl.String(),
            "message": pl.String(),
        },
        orient="row",
    )


def scheduled_runs(engine: Engine) -> dict[str, datetime | None] | None:
    """Next run time of each job in APScheduler's job store (None for a paused job); None when no
    scheduler has ever started on this database (the table does not exist yet)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(JOBSTORE_TABLE):
            return None
        rows = conn.execute(select(_jobstore.c.id, _jobstore.c.next_run_time)).all()
    return {
        str(job_id): datetime.fromtimestamp(float(ts), UTC) if ts is not None else None for job_id, ts in rows
    }


# ---------------------------------------------------------------------------------------------- forecast


def store_forecast(
    engine: Engine, created_at: datetime, start: datetime, end: datetime, payload: Mapping[str, Any]
) -> None:
    """Keep a forecast's JSON (the newest KEEP_FORECASTS are kept)."""
    f = FORECAST_SNAPSHOT
    text = json.dumps(payload, default=str, ensure_ascii=False)
    with write_transaction(engine) as conn:
        conn.execute(insert(f).values(created_at=created_at, start=start, end=end, payload=text))
        keep = select(f.c.id).order_by(f.c.id.desc()).limit(KEEP_FORECASTS).subquery()
        conn.execute(delete(f).where(f.c.id.not_in(select(keep.c.id))))


def latest_forecast(engine: Engine) -> tuple[datetime, dict[str, Any]] | None:
    """The newest stored forecast: (when it was made, the `rota forecast` JSON), or None."""
    f = FORECAST_SNAPSHOT
    with engine.connect() as conn:
        row = conn.execute(select(f.c.created_at, f.c.payload).order_by(f.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    payload = json.loads(row.payload)
    if not isinstance(payload, dict):
        return None
    return row.created_at, payload
