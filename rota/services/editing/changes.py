"""Edits to one agency's week as values: a `Change` adds, changes or deletes one shift or absence. The
grid (grid.py) makes them, saving (save.py) stores them, and the gap impact (gaps.py) lays them over the
stored rota with `apply_changes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import polars as pl

from rota.limits import TextClass
from rota.model import ABSENCES, SHIFTS, Record, conform
from rota.timeutil import SERVICE_TZ, uk_local
from rota.vocab import DEFAULT_SHIFT_KIND, AuditAction

SHIFT = "shift"
ABSENCE = "absence"
# What a change does, in the audit log's words (rota.vocab.AuditAction).
CREATE: str = AuditAction.CREATE.value
UPDATE: str = AuditAction.UPDATE.value
DELETE: str = AuditAction.DELETE.value
TABLE_NAMES = {SHIFT: "Shifts", ABSENCE: "Absences"}


@dataclass(frozen=True)
class GridSpec:
    """An editable grid of a record (rota.model): the entity, the grid's key column (blank for a row
    added in the grid) and the stored frame's key column; the value columns are the record's own."""

    entity: str
    record: Record
    key: str
    pk: str

    @property
    def kind(self) -> str:
        """The bundle kind whose rules apply (shifts, absences)."""
        return self.record.kind

    @property
    def columns(self) -> tuple[str, ...]:
        """The grid's columns: the key, then the values."""
        return self.record.grid_columns(self.key)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c != self.key)

    @property
    def text_limits(self) -> dict[str, TextClass]:
        """The input limits of the value columns that hold text (docs/bundle.md, "Limits")."""
        instants = self.record.of_type("instant")
        return {c: self.record.limits[c] for c in self.values if c not in instants}


GRIDS = {
    SHIFT: GridSpec(SHIFT, SHIFTS, "shift_id", "shift_id"),
    ABSENCE: GridSpec(ABSENCE, ABSENCES, "absence_id", "id"),
}
SHIFT_GRID_COLUMNS = GRIDS[SHIFT].columns
ABSENCE_GRID_COLUMNS = GRIDS[ABSENCE].columns


@dataclass(frozen=True)
class Change:
    """One row to add, change or delete. `version` is the version the row was read at; `before` is the
    row as read and `after` the row wanted (responder_id, start, end and kind or reason; UTC instants);
    `row` is its 1-based row in the grid, for messages."""

    entity: str
    action: str
    key: str | int | None = None
    version: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        if self.entity not in GRIDS:
            raise ValueError(f"a change is to a shift or an absence, not {self.entity!r}")
        if self.action not in (CREATE, UPDATE, DELETE):
            raise ValueError(f"unknown action {self.action!r}")
        if self.action != CREATE and (self.key is None or self.version is None or self.before is None):
            raise ValueError(f"to {self.action} a row give its key, the version read and the row as read")
        if self.action != DELETE and self.after is None:
            raise ValueError(f"to {self.action} a row give the row wanted (after)")

    @property
    def responders(self) -> list[str]:
        return [str(r["responder_id"]) for r in (self.before, self.after) if r is not None]

    def span(self) -> tuple[datetime, datetime]:
        rows = [r for r in (self.before, self.after) if r is not None]
        return min(r["start"] for r in rows), max(r["end"] for r in rows)


def shift_row(
    responder_id: str, start: datetime, end: datetime, kind: str = DEFAULT_SHIFT_KIND.value
) -> dict[str, Any]:
    return {"responder_id": responder_id, "start": start, "end": end, "kind": kind}


def absence_row(
    responder_id: str, start: datetime, end: datetime, reason: str | None = None
) -> dict[str, Any]:
    return {"responder_id": responder_id, "start": start, "end": end, "reason": reason}


def row_values(entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity's value columns of `row` (responder_id, start, end, kind or reason)."""
    return {c: row.get(c) for c in GRIDS[entity].values}


def keyed(frame: pl.DataFrame, key: str) -> dict[Any, dict[str, Any]]:
    """The rows of `frame` by their `key` column."""
    return {row[key]: row for row in frame.iter_rows(named=True)}


def change_from_stored(
    entity: str, action: str, stored: Mapping[str, Any], after: Mapping[str, Any] | None = None
) -> Change:
    """A change to a row as read (from `WeekView.shifts` or `.absences`, with its key and version)."""
    grid = GRIDS[entity]
    return Change(
        entity,
        action,
        key=stored[grid.pk],
        version=int(stored["version"]),
        before=row_values(entity, stored),
        after=None if after is None else row_values(entity, after),
    )


def apply_changes(
    shifts: pl.DataFrame, absences: pl.DataFrame, changes: Sequence[Change]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shifts and absences (canonical frames) as they will be once `changes` are saved; new shifts get
    a provisional id `new-<row>`."""
    shifts, absences = conform("shifts", shifts), conform("absences", absences)
    gone = [c.key for c in changes if c.entity == SHIFT and c.action != CREATE]
    if gone:
        shifts = shifts.filter(~pl.col("shift_id").is_in(pl.Series(gone, dtype=pl.String).implode()))
    gone_abs = [c.before for c in changes if c.entity == ABSENCE and c.before is not None]
    if gone_abs:
        keys = conform("absences", pl.DataFrame(gone_abs)).select("responder_id", "start", "end")
        absences = absences.join(keys, on=["responder_id", "start", "end"], how="anti", nulls_equal=True)
    new_shifts = [
        {"shift_id": str(c.key) if c.key is not None else f"new-{c.row or i}", **c.after}
        for i, c in enumerate(changes, start=1)
        if c.entity == SHIFT and c.after is not None
    ]
    new_abs = [dict(c.after) for c in changes if c.entity == ABSENCE and c.after is not None]
    if new_shifts:
        shifts = pl.concat([shifts, conform("shifts", pl.DataFrame(new_shifts))])
    if new_abs:
        absences = pl.concat([absences, conform("absences", pl.DataFrame(new_abs))])
    return shifts.sort("start", "responder_id"), absences.sort("start", "responder_id")


def describe_change(change: Change, names: Mapping[str, str], tz: tzinfo = SERVICE_TZ) -> str:
    """One line for people: 'adds a shift for Dr Ada Testwood, 28/03/2026 20:00 GMT to ...'."""
    what = "shift" if change.entity == SHIFT else "absence"
    row = change.after if change.after is not None else change.before
    assert row is not None
    who = names.get(str(row["responder_id"]), str(row["responder_id"]))
    when = f"{uk_local(row['start'], tz)} to {uk_local(row['end'], tz)}"
    verb = {CREATE: "adds", UPDATE: "changes", DELETE: "deletes"}[change.action]
    return f"{verb} a {what} for {who}, {when}"
