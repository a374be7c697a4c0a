"""Versioned single-row changes for editors (optimistic locking): each update or delete names the version
the row was read at, and touches nothing when the stored version has moved on since."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, delete, insert, update
from sqlalchemy.exc import IntegrityError

from rota.model import ABSENCES_SCHEMA, SHIFTS_SCHEMA
from rota.storage.frames import overlap, select_frame, select_frame_in
from rota.storage.models import ABSENCE, RESPONDER, SHIFT, TRAINING

VERSIONED_TABLES: dict[str, tuple[Table, str]] = {
    "responder": (RESPONDER, "responder_id"),
    "training": (TRAINING, "id"),
    "shift": (SHIFT, "shift_id"),
    "absence": (ABSENCE, "id"),
}
VERSIONED_SHIFTS_SCHEMA: dict[str, pl.DataType] = {**SHIFTS_SCHEMA, "version": pl.Int64()}
VERSIONED_ABSENCES_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    **ABSENCES_SCHEMA,
    "version": pl.Int64(),
}


class RowRefused(Exception):
    """The database refused a single-row change (a constraint); `detail` is its own message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _refused(exc: IntegrityError) -> RowRefused:
    return RowRefused(str(exc.orig) if exc.orig is not None else str(exc))


def _versioned(entity: str) -> tuple[Table, str]:
    try:
        return VERSIONED_TABLES[entity]
    except KeyError:
        raise ValueError(f"no versioned table for {entity!r}") from None


def new_shift_ids(n: int) -> pl.Series:
    """`n` new shift ids: 32 hex digits, time-ordered (millisecond clock, then a counter) with 48 random
    bits, so that they are unique and a large import appends to the key index instead of scattering."""
    prefix = f"{time.time_ns() // 1_000_000:012x}7"
    noise = secrets.token_hex(6 * n)
    return pl.Series(
        "shift_id", [f"{prefix}{i:07x}{noise[12 * i : 12 * i + 12]}" for i in range(n)], dtype=pl.String()
    )


def new_shift_id() -> str:
    """A new shift id in the same form as an import's (time-ordered, 32 hex digits)."""
    value: str = new_shift_ids(1)[0]
    return value


def versioned_rows(
    conn: Connection,
    entity: str,
    *,
    keys: Sequence[Any] | None = None,
    responder_ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Shifts or absences with their primary key and `version`, by key or by responder and overlap.

    Shifts: shift_id, responder_id, start, end, kind, version. Absences: id, responder_id, start, end,
    reason, version. `start`/`end` keep the rows overlapping [start, end).
    """
    if entity not in ("shift", "absence"):
        raise ValueError("versioned_rows reads shifts or absences")
    table, pk = _versioned(entity)
    schema = VERSIONED_SHIFTS_SCHEMA if entity == "shift" else VERSIONED_ABSENCES_SCHEMA
    where = overlap(table, start, end)
    if keys is not None:
        frame = select_frame_in(conn, table, schema, pk, list(keys), where=where)
    elif responder_ids is not None:
        frame = select_frame_in(conn, table, schema, "responder_id", list(responder_ids), where=where)
    else:
        frame = select_frame(conn, table, schema, where=where)
    return frame.sort("start", "responder_id", pk)


def insert_versioned(conn: Connection, entity: str, values: Mapping[str, Any]) -> Any:
    """Insert one row at version 1 and return its primary key; RowRefused when the database refuses it."""
    table, pk = _versioned(entity)
    try:
        result = conn.execute(insert(table).values(**values, version=1).returning(table.c[pk]))
    except IntegrityError as exc:
        raise _refused(exc) from exc
    return result.scalar_one()


def update_versioned(
    conn: Connection, entity: str, key: Any, version: int, values: Mapping[str, Any]
) -> bool:
    """UPDATE ... SET values, version = version + 1 WHERE pk = key AND version = version.

    False (nothing changed) when the row is gone or its version has moved on; RowRefused when the database
    refuses the new values.
    """
    table, pk = _versioned(entity)
    stmt = (
        update(table)
        .where(table.c[pk] == key, table.c.version == version)
        .values(**values, version=table.c.version + 1)
    )
    try:
        return conn.execute(stmt).rowcount == 1
    except IntegrityError as exc:
        raise _refused(exc) from exc


def delete_versioned(conn: Connection, entity: str, key: Any, version: int) -> bool:
    """DELETE ... WHERE pk = key AND version = version; False when the row is gone or has changed."""
    table, pk = _versioned(entity)
    return conn.execute(delete(table).where(table.c[pk] == key, table.c.version == version)).rowcount == 1
