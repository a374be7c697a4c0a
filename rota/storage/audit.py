"""The audit log: one entry per change, written in the changing transaction, and its reads.

`entity` is the table name and `entity_id` the row's natural key (responder_id; `responder_id/competency/
valid_from` for training; shift_id; `responder_id/start/end` in UTC for absences; rule_id; the role name;
`rota` for an import's summary); cases are entity `case` (case_id) with `cases` for an import's summary,
settings entity `setting` (key). `before` and `after` are compact JSON of the row's data fields, instants
as UTC ISO 8601 (docs/security.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from rota.model import UTC_US
from rota.storage.db import write_transaction
from rota.storage.frames import ISO_UTC, insert_rows, instant_column, instant_to_utc, raw_instant_dtype
from rota.storage.models import AUDIT_ACTIONS, AUDIT_LOG, AuditLog
from rota.timeutil import utc_now
from rota.vocab import AuditAction

AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "at": UTC_US,
    "actor": pl.String(),
    "action": pl.String(),
    "entity": pl.String(),
    "entity_id": pl.String(),
    "before": pl.String(),
    "after": pl.String(),
}


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audit record")
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to the audit log")


def to_audit_json(row: Mapping[str, Any] | None) -> str | None:
    """Compact JSON of a row for the audit log (instants as UTC ISO 8601, dates as YYYY-MM-DD)."""
    if row is None:
        return None
    return json.dumps(dict(row), default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json_rows(df: pl.DataFrame, columns: Sequence[str], suffix: str = "") -> pl.Expr:
    """A vectorised `to_audit_json` over the rows of `df` (same format)."""
    exprs = []
    for name in columns:
        src = pl.col(name + suffix)
        dtype = df.schema[name + suffix]
        if isinstance(dtype, pl.Datetime):
            exprs.append(src.dt.convert_time_zone("UTC").dt.to_string(ISO_UTC).alias(name))
        elif dtype == pl.Date():
            exprs.append(src.dt.to_string("%Y-%m-%d").alias(name))
        else:
            exprs.append(src.alias(name))
    return pl.struct(exprs).struct.json_encode()


def record_audit(
    session_or_conn: Session | Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Append one entry to the audit log, in the caller's transaction (committed with its change)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(AUDIT_ACTIONS)}, not {action!r}")
    values: dict[str, Any] = {
        "at": utc_now(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": to_audit_json(before),
        "after": to_audit_json(after),
    }
    if isinstance(session_or_conn, Session):
        session_or_conn.add(AuditLog(**values))
    else:
        session_or_conn.execute(insert(AUDIT_LOG).values(**values))


def record_read(engine: Engine, actor: str, entity: str, entity_id: str, what: Mapping[str, Any]) -> None:
    """Audit a read of case-level data (action "read"): who, when (the entry's time), and `what` was read
    (how, the filter or period, the number of rows). `what` must hold no case data itself."""
    if not actor or not actor.strip():
        raise ValueError("record_read needs the actor (who is reading) for the audit log")
    with write_transaction(engine) as conn:
        record_audit(conn, actor, AuditAction.READ.value, entity, entity_id, None, what)


class AuditBuffer:
    """Audit rows gathered during an import and written in one executemany at the end."""

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame) -> None:
        """`frame` has columns entity, action, entity_id, before, after (all strings)."""
        if frame.height:
            self._frames.append(frame.select("entity", "action", "entity_id", "before", "after"))

    def add_one(
        self, entity: str, action: str, entity_id: str, before: str | None, after: str | None
    ) -> None:
        self.add(
            pl.DataFrame(
                {
                    "entity": [entity],
                    "action": [action],
                    "entity_id": [entity_id],
                    "before": [before],
                    "after": [after],
                },
                schema={c: pl.String() for c in ("entity", "action", "entity_id", "before", "after")},
            )
        )

    def __len__(self) -> int:
        return sum(f.height for f in self._frames)

    def write(self, conn: Connection, actor: str, at: datetime) -> None:
        if not self._frames:
            return
        rows = pl.concat(self._frames).select(
            pl.lit(at, dtype=UTC_US).alias("at"), pl.lit(actor).alias("actor"), pl.all()
        )
        insert_rows(conn, AUDIT_LOG, rows)


def audit_frame(
    df: pl.DataFrame,
    entity: str,
    action: str,
    entity_id: pl.Expr,
    columns: Sequence[str],
    *,
    before_suffix: str | None,
    after_suffix: str | None,
) -> pl.DataFrame:
    none = pl.lit(None, dtype=pl.String())
    return df.select(
        pl.lit(entity).alias("entity"),
        pl.lit(action).alias("action"),
        entity_id.cast(pl.String()).alias("entity_id"),
        (none if before_suffix is None else _json_rows(df, columns, before_suffix)).alias("before"),
        (none if after_suffix is None else _json_rows(df, columns, after_suffix)).alias("after"),
    )


def audit_entries(
    engine: Engine, limit: int | None = 1000, entity: str | None = None, actor: str | None = None
) -> pl.DataFrame:
    """The newest audit entries first (id, at, actor, action, entity, entity_id, before, after)."""
    where: list[ColumnElement[bool]] = []
    if entity is not None:
        where.append(AUDIT_LOG.c.entity == entity)
    if actor is not None:
        where.append(AUDIT_LOG.c.actor == actor)
    with engine.connect() as conn:
        return _select_audit(conn, where, limit)


def data_version(engine: Engine) -> int:
    """A number that goes up whenever stored data changes (every change is audited): the newest audit id
    of a change. Audited reads (action "read") change nothing, so they leave it alone: otherwise every read
    of the case list would make the pages work everything out again, and read (and audit) again.

    Dashboard pages key their caches on it. Newest first by primary key, so the scan stops at the first
    change (reads are few between changes).
    """
    query = (
        select(AUDIT_LOG.c.id)
        .where(AUDIT_LOG.c.action != AuditAction.READ.value)
        .order_by(AUDIT_LOG.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def search_audit(
    engine: Engine,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 500,
) -> pl.DataFrame:
    """Audit entries matching every filter given, newest first (columns as `audit_entries`).

    actor, entity and action match exactly; entity_id matches when it contains the text (any case);
    `at` must lie in [since, until).
    """
    where: list[ColumnElement[bool]] = []
    for col, value in (("actor", actor), ("entity", entity), ("action", action)):
        if value is not None:
            where.append(AUDIT_LOG.c[col] == value)
    if entity_id:
        where.append(func.lower(AUDIT_LOG.c.entity_id).contains(entity_id.lower(), autoescape=True))
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("search_audit needs aware datetimes")
    if since is not None:
        where.append(AUDIT_LOG.c.at >= since)
    if until is not None:
        where.append(AUDIT_LOG.c.at < until)
    with engine.connect() as conn:
        return _select_audit(conn, where, limit)


def _select_audit(conn: Connection, where: list[ColumnElement[bool]], limit: int | None) -> pl.DataFrame:
    dialect = conn.dialect.name
    cols = [
        instant_column(AUDIT_LOG.c.at, dialect).label("at") if name == "at" else AUDIT_LOG.c[name]
        for name in AUDIT_SCHEMA
    ]
    stmt = select(*cols).where(*where).order_by(AUDIT_LOG.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = conn.execute(stmt).all()
    raw = {
        name: (raw_instant_dtype(dialect) if name == "at" else dtype) for name, dtype in AUDIT_SCHEMA.items()
    }
    return pl.DataFrame(rows, schema=raw, orient="row").with_columns(instant_to_utc("at", dialect))


def audit_facets(engine: Engine) -> dict[str, list[str]]:
    """The distinct actors, entities and actions in the audit log, sorted (for filter choices)."""
    with engine.connect() as conn:
        return {
            col: sorted(str(v) for v in conn.execute(select(AUDIT_LOG.c[col]).distinct()).scalars().all())
            for col in ("actor", "entity", "action")
        }
