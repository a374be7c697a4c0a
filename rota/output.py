"""Writing result frames for people (table) and for programs (csv, json), times in local time with offset.

Every CSV the product writes (`--format csv`, `rota export`, the dashboard's downloads) goes through
`csv_text`, `write_csv` or `to_csv` here, which neutralise text cells that a spreadsheet would run as a
formula.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import polars as pl

from rota.timeutil import SERVICE_TZ, iso_local, uk_local

FORMATS = ("table", "csv", "json")

FORMULA_TRIGGERS = "=+-@\t\r"
"""A text cell starting with one of these is a formula (or a DDE command) to a spreadsheet."""
FORMULA_GUARD = "'"
"""Put before such a cell so that a spreadsheet shows it as text; the bundle reader takes it off again."""
GUARDED_PATTERN = "^" + FORMULA_GUARD + "*[" + re.escape(FORMULA_TRIGGERS) + "]"
"""The cells that get one more ': those starting with a trigger, and (so that a value like "'=x" survives
the reader taking one ' off) those starting with apostrophes and then a trigger."""
_GUARDED = re.compile(GUARDED_PATTERN)


def neutralise(text: str) -> str:
    """`text` as a CSV cell that no spreadsheet runs: "=HYPERLINK(...)" -> "'=HYPERLINK(...)"."""
    return FORMULA_GUARD + text if _GUARDED.match(text) else text


def neutralise_text(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with its text cells neutralised (see `neutralise`); numbers, dates and booleans stay as they are,
    so a negative number is still a number."""
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Categorical | pl.Enum):
            col = col.cast(pl.String)
        elif dtype != pl.String:
            exprs.append(col)
            continue
        exprs.append(
            pl.when(col.str.contains(GUARDED_PATTERN)).then(FORMULA_GUARD + col).otherwise(col).alias(name)
        )
    return df.select(exprs)


def csv_text(df: pl.DataFrame) -> str:
    """`df` as CSV text (header, commas, \\n line ends) with its text cells neutralised."""
    return neutralise_text(df).write_csv()


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """`df` as a CSV file at `path` with its text cells neutralised (as `csv_text`)."""
    neutralise_text(df).write_csv(path)


def _plain(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return iso_local(value, tz)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def records(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> list[dict[str, Any]]:
    """Rows as plain dicts: instants as local ISO 8601 with offset, whole floats as ints."""
    return [{k: _plain(v, tz) for k, v in row.items()} for row in df.iter_rows(named=True)]


def to_json(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> str:
    return json.dumps(records(df, tz), indent=2, ensure_ascii=False)


def _csv_cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(value) if isinstance(value, str) else str(value)


def to_csv(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> str:
    """CSV for programs: instants as local ISO 8601 with offset, whole floats as ints, booleans true/false,
    text neutralised (see `neutralise`); a value holding a line break or carriage return is quoted."""
    rows = [[_csv_cell(v) for v in row.values()] for row in records(df, tz)]
    return pl.DataFrame(rows, schema=[(c, pl.String) for c in df.columns], orient="row").write_csv()


def _human(value: Any, tz: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return uk_local(value, tz)
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return str(value)


def to_table(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ, headers: Sequence[str] | None = None) -> str:
    """A plain fixed-width table, UK dates, 24-hour clock."""
    heads = list(headers) if headers else df.columns
    cells = [[_human(v, tz) for v in row] for row in df.iter_rows()]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(heads)]
    numeric = [df.schema[c].is_numeric() for c in df.columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(heads), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def render(df: pl.DataFrame, fmt: str, tz: tzinfo = SERVICE_TZ, headers: Sequence[str] | None = None) -> str:
    if fmt == "json":
        return to_json(df, tz)
    if fmt == "csv":
        return to_csv(df, tz).rstrip("\n")
    return to_table(df, tz, headers)


def duration_text(minutes: float) -> str:
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours or days:
        parts.append(f"{hours}h")
    parts.append(f"{mins:02d}m" if (hours or days) else f"{mins}m")
    return " ".join(parts)
