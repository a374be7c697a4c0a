"""What every part of the bundle reader shares: the file names, the columns of each kind (made from the
record declarations of `rota.model`, docs/bundle.md "Columns and words") and the shapes a table passes
through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, tzinfo

import polars as pl

from rota.model import RECORDS, Column

KINDS: tuple[str, ...] = tuple(RECORDS)  # responders, training, shifts, absences: files and sheets
RULES_FILE = "rules.toml"
MAX_SHIFT = timedelta(days=7)
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""Suffixes routed to the workbook reader; of these only .xlsx is read (see `refuse_unread_workbook`)."""
UNREAD_WORKBOOK_SUFFIXES = (".xlsm", ".xls", ".xlsb", ".ods", ".numbers")
TOML_MAX_DEPTH = 20


BOM = b"\xef\xbb\xbf"

# The columns of each kind, from the one declaration of each record (rota.model).
COLUMNS: dict[str, tuple[Column, ...]] = {kind: record.columns for kind, record in RECORDS.items()}
# Where a column comes in its file, for sorting problems (the first kind naming a column decides).
COLUMN_ORDER: dict[str, int] = {}
for _columns in COLUMNS.values():
    for _i, _column in enumerate(_columns):
        COLUMN_ORDER.setdefault(_column.name, _i)


@dataclass
class RawTable:
    """One table as read: String columns named after the known header names, plus the line numbers."""

    file: str
    kind: str
    frame: pl.DataFrame
    present: frozenset[str]
    header_line: int


@dataclass(frozen=True)
class CheckContext:
    tz: tzinfo
    roles: tuple[str, ...]
    known_ids: pl.Series | None  # None = do not check responder references
    ref_source: str  # where known responders come from, for the message


def ids_of(frame: pl.DataFrame | None) -> pl.Series | None:
    if frame is None:
        return None
    if "responder_id" not in frame.columns:
        return pl.Series("responder_id", [], dtype=pl.String)
    return frame.get_column("responder_id").cast(pl.String).drop_nulls()


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
