"""Audited bulk upserts and deletes shared by the rota and case imports, and their counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, delete

from rota.errors import Problem
from rota.storage.audit import AuditBuffer, audit_frame
from rota.storage.frames import delete_rows, insert_rows, select_frame, update_rows
from rota.vocab import AuditAction

_OLD = "__old"
_FOUND = "__found"


@dataclass(frozen=True)
class Audited:
    """A table whose imported rows are audited one by one: the entity its rows are in the audit log, its
    primary key column, and the expression that names a row there (the audit entry's entity_id)."""

    table: Table
    entity: str
    pk: str
    entity_id: pl.Expr


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted

    def as_dict(self) -> dict[str, int]:
        """The counts by name, as the import's audit entry and summaries show them."""
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


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
    target: Audited,
    incoming: pl.DataFrame,
    stored: pl.DataFrame,
    *,
    key: list[str],
    compare: list[str],
    insert_constants: Mapping[str, Any] | None = None,
    update_constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert new rows (version 1, and `insert_constants`), update changed ones (version + 1, and
    `update_constants`), leave identical ones alone; audit each change."""
    columns = list(incoming.columns)
    entity, entity_id = target.entity, target.entity_id
    new, changed, unchanged = _classify(incoming, stored, key, compare)
    insert_rows(
        conn,
        target.table,
        new.with_columns(pl.lit(v).alias(k) for k, v in {"version": 1, **(insert_constants or {})}.items()),
    )
    update_rows(conn, target.table, target.pk, changed, compare, **(update_constants or {}))
    audit.add(
        audit_frame(
            new, entity, AuditAction.CREATE.value, entity_id, columns, before_suffix=None, after_suffix=""
        )
    )
    if changed.height:
        # The "before" image: the key columns as they are, the compared ones from the stored row.
        before = changed.with_columns(
            *(pl.col(c).alias(c + "__b") for c in columns if c not in compare),
            *(pl.col(c + _OLD).alias(c + "__b") for c in compare),
        )
        audit.add(
            audit_frame(
                before,
                entity,
                AuditAction.UPDATE.value,
                entity_id,
                columns,
                before_suffix="__b",
                after_suffix="",
            )
        )
    counts.created += new.height
    counts.updated += changed.height
    counts.unchanged += unchanged


def _audit_deleted(audit: AuditBuffer, target: Audited, doomed: pl.DataFrame, columns: Sequence[str]) -> None:
    audit.add(
        audit_frame(
            doomed,
            target.entity,
            AuditAction.DELETE.value,
            target.entity_id,
            columns,
            before_suffix="",
            after_suffix=None,
        )
    )


def delete_audited(
    conn: Connection,
    audit: AuditBuffer,
    counts: KindCounts,
    target: Audited,
    doomed: pl.DataFrame,
    columns: Sequence[str],
) -> None:
    """Delete the `doomed` rows (by primary key), each one audited with its `columns`."""
    if not doomed.height:
        return
    delete_rows(conn, target.table, target.pk, doomed.get_column(target.pk).to_list())
    _audit_deleted(audit, target, doomed, columns)
    counts.deleted += doomed.height


def clear_audited(
    conn: Connection, audit: AuditBuffer, target: Audited, schema: Mapping[str, pl.DataType]
) -> int:
    """Delete every row of the table, each one audited with the columns of `schema`; how many there were."""
    rows = select_frame(conn, target.table, schema)
    if rows.height:
        conn.execute(delete(target.table))
        _audit_deleted(audit, target, rows, list(schema))
    return rows.height
