"""Responders and their training as stored: reads for the bundle checks, editors and filters, and the
single-row edits of the people page, audited with the same keys and fields as an import (docs/bundle.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select

from rota.model import RESPONDERS_SCHEMA, TRAINING_SCHEMA
from rota.storage.audit import record_audit
from rota.storage.frames import select_frame, select_frame_in
from rota.storage.models import RESPONDER, TRAINING
from rota.storage.versioned import insert_versioned, update_versioned
from rota.timeutil import utc_now
from rota.vocab import AuditAction

STORED_RESPONDERS_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "role": pl.String(),
    "agency": pl.String(),
    "active": pl.Boolean(),
}


def stored_responders(engine: Engine) -> pl.DataFrame:
    """responder_id, role, agency, active of every stored responder (for the bundle reader's checks)."""
    with engine.connect() as conn:
        return select_frame(conn, RESPONDER, STORED_RESPONDERS_SCHEMA, order_by=["responder_id"])


# The audit log's key of a training record (the same for imports and single edits).
TRAINING_ID = pl.concat_str(
    [pl.col("responder_id"), pl.col("competency"), pl.col("valid_from").dt.to_string("%Y-%m-%d")],
    separator="/",
)
RESPONDER_ROWS_SCHEMA: dict[str, pl.DataType] = {**RESPONDERS_SCHEMA, "version": pl.Int64()}
TRAINING_ROWS_SCHEMA: dict[str, pl.DataType] = {"id": pl.Int64(), **TRAINING_SCHEMA, "version": pl.Int64()}


def responder_rows(engine: Engine) -> pl.DataFrame:
    """Every stored responder with its `version` (for optimistic edits), by responder_id."""
    with engine.connect() as conn:
        return select_frame(conn, RESPONDER, RESPONDER_ROWS_SCHEMA, order_by=["responder_id"])


def training_rows(engine: Engine, responder_id: str | None = None) -> pl.DataFrame:
    """Training records with their database `id` and `version`: of one responder, or all of them."""
    where = [TRAINING.c.responder_id == responder_id] if responder_id is not None else []
    with engine.connect() as conn:
        return select_frame(
            conn,
            TRAINING,
            TRAINING_ROWS_SCHEMA,
            where=where,
            order_by=["responder_id", "competency", "valid_from"],
        )


def responder_agencies(conn: Connection, responder_ids: Sequence[str]) -> dict[str, str | None]:
    """The stored agency of each of these responders (responders not stored are left out)."""
    if not responder_ids:
        return {}
    rows = select_frame_in(
        conn, RESPONDER, {"responder_id": pl.String(), "agency": pl.String()}, "responder_id", responder_ids
    )
    return dict(rows.iter_rows())


def responders_frame(
    conn: Connection,
    schema: Mapping[str, pl.DataType],
    *,
    responder_ids: Sequence[str] | None = None,
    agency: str | None = None,
) -> pl.DataFrame:
    """The stored responders (the columns of `schema`) of these ids and/or this agency, by name then id."""
    where = [] if agency is None else [RESPONDER.c.agency == agency]
    order = ["name", "responder_id"]
    if responder_ids is None:
        return select_frame(conn, RESPONDER, schema, where=where, order_by=order)
    found = select_frame_in(conn, RESPONDER, schema, "responder_id", list(responder_ids), where=where)
    return found.sort(order)


def agency_names(engine: Engine) -> list[str]:
    """The distinct agencies of the stored responders, sorted (responders without one are left out)."""
    with engine.connect() as conn:
        stmt = select(RESPONDER.c.agency).where(RESPONDER.c.agency.is_not(None)).distinct()
        return sorted(a for a in conn.execute(stmt).scalars().all() if a)


def held_competencies(engine: Engine) -> list[str]:
    """The distinct competencies in the stored training records, sorted."""
    with engine.connect() as conn:
        return sorted(str(c) for c in conn.execute(select(TRAINING.c.competency).distinct()).scalars().all())


# Single-row edits (the people page): locked reads, then versioned writes audited like an import's rows.


def training_audit_id(row: Mapping[str, Any]) -> str:
    """`TRAINING_ID` of one row: responder_id/competency/valid_from."""
    return f"{row['responder_id']}/{row['competency']}/{row['valid_from']:%Y-%m-%d}"


def _image(schema: Mapping[str, pl.DataType], row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in schema}


def lock_responder(conn: Connection, responder_id: str) -> dict[str, Any] | None:
    """The stored responder row (with version), locked until the transaction ends; None if there is none."""
    stmt = select(RESPONDER).where(RESPONDER.c.responder_id == responder_id).with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def lock_training(conn: Connection, training_id: int) -> dict[str, Any] | None:
    """The stored training row (with id and version), locked until the transaction ends; None if gone."""
    row = (
        conn.execute(select(TRAINING).where(TRAINING.c.id == training_id).with_for_update())
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def training_exists(conn: Connection, responder_id: str, competency: str, valid_from: date) -> bool:
    """Whether a record with this key (responder, competency, valid_from) is stored."""
    stmt = select(TRAINING.c.id).where(
        TRAINING.c.responder_id == responder_id,
        TRAINING.c.competency == competency,
        TRAINING.c.valid_from == valid_from,
    )
    return conn.execute(stmt).first() is not None


def insert_training_row(conn: Connection, actor: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert one training record (the TRAINING_SCHEMA fields) at version 1, audited; the stored row."""
    row = _image(TRAINING_SCHEMA, values)
    new_id = insert_versioned(conn, "training", row)
    record_audit(conn, actor, AuditAction.CREATE.value, "training", training_audit_id(row), None, row)
    return {"id": int(new_id), **row, "version": 1}


def update_training_row(
    conn: Connection, actor: str, old: Mapping[str, Any], expected_version: int, **changes: Any
) -> dict[str, Any] | None:
    """Change the training record `old` (as read at `expected_version`), audited; the stored row, or None
    (nothing changed) when its version has moved on."""
    if not update_versioned(conn, "training", old["id"], expected_version, changes):
        return None
    new = {**old, **changes, "version": expected_version + 1}
    before, after = _image(TRAINING_SCHEMA, old), _image(TRAINING_SCHEMA, new)
    record_audit(conn, actor, AuditAction.UPDATE.value, "training", training_audit_id(old), before, after)
    return new


def update_responder_row(
    conn: Connection, actor: str, old: Mapping[str, Any], expected_version: int, **changes: Any
) -> dict[str, Any] | None:
    """Change the responder `old` (as read at `expected_version`; `updated_at` set now), audited; the
    stored row, or None (nothing changed) when its version has moved on."""
    changes = {**changes, "updated_at": utc_now()}
    if not update_versioned(conn, "responder", old["responder_id"], expected_version, changes):
        return None
    new = {**old, **changes, "version": expected_version + 1}
    before, after = _image(RESPONDERS_SCHEMA, old), _image(RESPONDERS_SCHEMA, new)
    record_audit(conn, actor, AuditAction.UPDATE.value, "responder", str(old["responder_id"]), before, after)
    return new
