"""Storage for the board's actions (`board_action`): insert, read for update, update, and the lists.

The services (rota/services/actions.py) check permissions and input and write the audit entry in the same
transaction, through the connection-taking functions here. Instants are aware UTC datetimes in and out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, case, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from rota.model import UTC_US
from rota.storage.models import BOARD_ACTION
from rota.vocab import ActionStatus

ACTION_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "title": pl.String(),
    "owner_agency": pl.String(),
    "owner": pl.String(),
    "due": pl.Date(),
    "status": pl.String(),
    "notes": pl.String(),
    "created_at": UTC_US,
    "created_by": pl.String(),
    "closed_at": UTC_US,
    "closed_by": pl.String(),
    "version": pl.Int64(),
}
OPEN = ActionStatus.OPEN.value
CLOSED = ActionStatus.CLOSED.value


def insert_action(conn: Connection, values: Mapping[str, Any]) -> int:
    """Store a new action (status open, version 1); its id."""
    row = {**values, "status": OPEN, "version": 1, "closed_at": None, "closed_by": None}
    new_id = conn.execute(insert(BOARD_ACTION).values(**row).returning(BOARD_ACTION.c.id)).scalar_one()
    return int(new_id)


def action_for_update(conn: Connection, action_id: int) -> dict[str, Any] | None:
    """One action as a dict (locked for the rest of the transaction on PostgreSQL), or None."""
    query = select(BOARD_ACTION).where(BOARD_ACTION.c.id == action_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def update_action(conn: Connection, action_id: int, version: int, values: Mapping[str, Any]) -> bool:
    """Change an action read at `version` (the version goes up by one); False when it has changed since."""
    done = conn.execute(
        update(BOARD_ACTION)
        .where(BOARD_ACTION.c.id == action_id, BOARD_ACTION.c.version == version)
        .values(**values, version=version + 1)
    )
    return bool(done.rowcount == 1)


def _frame(engine: Engine, where: list[ColumnElement[bool]]) -> pl.DataFrame:
    a = BOARD_ACTION
    query = (
        select(*(a.c[c] for c in ACTION_SCHEMA))
        .where(*where)
        .order_by(case((a.c.status == OPEN, 0), else_=1), a.c.due, a.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=ACTION_SCHEMA, orient="row")


def select_actions(engine: Engine, *, status: str | None = None, agency: str | None = None) -> pl.DataFrame:
    """Actions (ACTION_SCHEMA), open ones first, each by due date: of one status and one owner agency when
    given."""
    a = BOARD_ACTION
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(a.c.status == status)
    if agency is not None:
        where.append(a.c.owner_agency == agency)
    return _frame(engine, where)


def select_actions_between(
    engine: Engine, start: datetime, end: datetime, agency: str | None = None
) -> pl.DataFrame:
    """The actions of a period [start, end) as they stood at `end`: those made before `end` and still open
    then (closed later, or not at all), and those closed within the period. One closed after `end` comes
    back open, without its closing time and closer, so that the period's list never changes afterwards."""
    a = BOARD_ACTION
    where: list[ColumnElement[bool]] = [
        a.c.created_at < end,
        or_(a.c.closed_at.is_(None), a.c.closed_at >= start),
    ]
    if agency is not None:
        where.append(a.c.owner_agency == agency)
    found = _frame(engine, where)
    later = pl.col("closed_at").is_not_null() & (pl.col("closed_at") >= end)
    return found.with_columns(
        pl.when(later).then(pl.lit(OPEN)).otherwise(pl.col("status")).alias("status"),
        pl.when(later).then(None).otherwise(pl.col("closed_at")).alias("closed_at"),
        pl.when(later).then(None).otherwise(pl.col("closed_by")).alias("closed_by"),
    ).sort(pl.col("status") != OPEN, "due", "id")
