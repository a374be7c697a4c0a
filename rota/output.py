"""Writing result frames for people (table) and for programs (csv, json), times in local time with offset."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import polars as pl

from rota.timeutil import SERVICE_TZ, iso_local, uk_local

FORMATS = ("table", "csv", "json")


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


def to_csv(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> str:
    buf = io.StringIO()
    rows = records(df, tz)
    import csv

    writer = csv.DictWriter(buf, fieldnames=df.columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: "" if v is None else ("true" if v is True else "false" if v is False else v)
                for k, v in row.items()
            }
        )
    return buf.getvalue()


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
