"""Storage for the built assurance packs (`assurance_pack`): each pack's file and what it is (quarter,
audience, agency, who built it and when, size and SHA-256). The list never reads the files themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.sql.elements import ColumnElement

from rota.model import UTC_US
from rota.storage.models import ASSURANCE_PACK

PACK_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "period": pl.String(),
    "audience": pl.String(),
    "agency": pl.String(),
    "created_at": UTC_US,
    "created_by": pl.String(),
    "filename": pl.String(),
    "media_type": pl.String(),
    "size": pl.Int64(),
    "sha256": pl.String(),
}


def insert_pack(conn: Connection, values: Mapping[str, Any]) -> int:
    """Store one pack (its `content` among the values); its id."""
    p = ASSURANCE_PACK
    return int(conn.execute(insert(p).values(**values).returning(p.c.id)).scalar_one())


def select_packs(engine: Engine, audiences: Sequence[str] | None = None) -> pl.DataFrame:
    """The stored packs without their files (PACK_SCHEMA), newest quarter first, then newest built first;
    of these audiences only when given."""
    p = ASSURANCE_PACK
    where: list[ColumnElement[bool]] = []
    if audiences is not None:
        where.append(p.c.audience.in_(list(audiences)))
    query = (
        select(*(p.c[c] for c in PACK_SCHEMA))
        .where(*where)
        .order_by(p.c.period.desc(), p.c.created_at.desc(), p.c.id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=PACK_SCHEMA, orient="row")


def pack_row(engine: Engine, pack_id: int) -> dict[str, Any] | None:
    """One pack with its file (`content`, bytes), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(ASSURANCE_PACK).where(ASSURANCE_PACK.c.id == pack_id)).mappings().first()
    if row is None:
        return None
    found = dict(row)
    found["content"] = bytes(found["content"])  # psycopg gives a memoryview
    return found


def pack_exists(engine: Engine, period: str, audience: str, agency: str | None = None) -> bool:
    """Whether a pack of this quarter, audience and agency (None: the whole partnership's) is stored."""
    p = ASSURANCE_PACK
    same_agency = p.c.agency.is_(None) if agency is None else p.c.agency == agency
    with engine.connect() as conn:
        found = conn.execute(
            select(p.c.id).where(p.c.period == period, p.c.audience == audience, same_agency).limit(1)
        ).first()
    return found is not None
