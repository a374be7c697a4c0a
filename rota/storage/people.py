"""Responders and their training as stored: reads for the bundle checks, editors and filters."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, Engine, select

from rota.model import RESPONDERS_SCHEMA, TRAINING_SCHEMA
from rota.storage.frames import select_frame, select_frame_in
from rota.storage.models import RESPONDER, TRAINING

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


def agency_names(engine: Engine) -> list[str]:
    """The distinct agencies of the stored responders, sorted (responders without one are left out)."""
    with engine.connect() as conn:
        stmt = select(RESPONDER.c.agency).where(RESPONDER.c.agency.is_not(None)).distinct()
        return sorted(a for a in conn.execute(stmt).scalars().all() if a)


def held_competencies(engine: Engine) -> list[str]:
    """The distinct competencies in the stored training records, sorted."""
    with engine.connect() as conn:
        return sorted(str(c) for c in conn.execute(select(TRAINING.c.competency).distinct()).scalars().all())
