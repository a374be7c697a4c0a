"""Audited bulk upserts and deletes shared by the rota and case imports, and their counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table

from rota.errors import Problem
from rota.storage.audit import AuditBuffer, audit_frame
from rota.storage.frames import delete_rows, insert_rows, update_rows

_OLD = "__old"
_FOUND = "__found"


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted


def _changed_mask(columns: Sequence[str]) -> pl.Expr:
    if not columns:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(c).ne_missing(pl.col(c + _OLD)) for c in columns])


def duplicates(df: pl.DataFrame, key: list[str], kind: str) -> list[Problem]:
    dup = df.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if not dup.height:
        return []
    problems = []
    for row in dup.select(key).unique(maintain_order=True).head(50).iter_rows():
        shown = ", ".join(f"{k}={v}" for k, v in zip(key, row, strict=True))
        problems.append(Problem(kind, None, "/".join(key), f"{shown} appears more than once"))
    return problems


def _classify(
    incoming: pl.DataFrame, stored: pl.DataFrame, key: list[str], compare: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Split incoming rows into new ones and changed ones (with the stored values as `<col>__old`)."""
    renamed = stored.rename({c: c + _OLD for c in compare}).with_columns(pl.lit(True).alias(_FOUND))
    joined = incoming.join(renamed, on=key, how="left")
    new = joined.filter(pl.col(_FOUND).is_null()).select(incoming.columns)
    matched = joined.filter(pl.col(_FOUND).is_not_null())
    changed = matched.filter(_changed_mask(compare))
    return new, changed, matched.height - changed.height


def upsert(
    conn: Connection,
    audit: AuditBuffer,
    counts: KindCounts,
    *,
    table: Table,
    entity: str,
    incoming: pl.DataFrame,
    stored: pl.DataFrame,
    key: list[str],
    compare: list[str],
    pk: str,
    entity_id: pl.Expr,
    insert_constants: Mapping[str, Any] | None = None,
    update_constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert new rows, update changed ones (version + 1), leave identical ones alone; audit each change."""
    columns = list(incoming.columns)
    new, changed, unchanged = _classify(incoming, stored, key, compare)
    insert_rows(
        conn, table, new.with_columns(pl.lit(v).alias(k) for k, v in (insert_constants or {}).items())
    )
    update_rows(conn, table, pk, changed, compare, **(update_constants or {}))
    audit.add(audit_frame(new, entity, "create", entity_id, columns, before_suffix=None, after_suffix=""))
    if changed.height:
        # The "before" image: the key columns as they are, the compared ones from the stored row.
        before = changed.with_columns(
            *(pl.col(c).alias(c + "__b") for c in columns if c not in compare),
            *(pl.col(c + _OLD).alias(c + "__b") for c in compare),
        )
        audit.add(
            audit_frame(before, entity, "update", entity_id, columns, before_suffix="__b", after_suffix="")
        )
    counts.created += new.height
    counts.updated += changed.height
    counts.unchanged += unchanged


def delete_audited(
    conn: Connection,
    audit: AuditBuffer,
    counts: KindCounts,
    *,
    table: Table,
    entity: str,
    doomed: pl.DataFrame,
    columns: Sequence[str],
    pk: str,
    entity_id: pl.Expr,
) -> None:
    if not doomed.height:
        return
    delete_rows(conn, table, pk, doomed.get_column(pk).to_list())
    audit.add(audit_frame(doomed, entity, "delete", entity_id, columns, before_suffix="", after_suffix=None))
    counts.deleted += doomed.height
