"""Reading the sheets of an .xlsx workbook (fastexcel), with the row each sheet's header is on."""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from rota.bundle.common import (
    KINDS,
    RawTable,
    short_error,
)
from rota.bundle.csvload import finish_raw
from rota.csvcheck import (
    Problems,
)
from rota.errors import Problem


def workbook_sources(
    path: Path, problems: Problems, single: str | None = None
) -> dict[str, Callable[[Problems], RawTable | None] | None]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names: list[str] = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own error types for anything it cannot open
        problems.add(Problem(path.name, None, None, f"cannot read as an Excel workbook ({short_error(exc)})"))
        return {}
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(name.strip().lower(), name)
    first_rows = _sheet_first_rows(path)
    sources: dict[str, Callable[[Problems], RawTable | None] | None] = {}
    kinds = (single,) if single else KINDS
    for kind in kinds:
        sheet = by_norm.get(kind)
        if sheet is None and single and len(names) == 1:
            sheet = names[0]
        if sheet is None:
            if kind == "responders" or single:
                problems.add(
                    Problem(
                        path.name,
                        None,
                        None,
                        f"no sheet named {kind!r} (sheets: {', '.join(names) or 'none'})",
                    )
                )
            continue
        first = first_rows.get(sheet, 1)
        sources[kind] = functools.partial(load_sheet, reader, path, sheet, kind, first)
    return sources


def load_sheet(
    reader: Any, path: Path, sheet: str, kind: str, first_row: int, problems: Problems
) -> RawTable | None:
    name = f"{path.name}:{sheet}"
    try:
        frame: pl.DataFrame = reader.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel raises its own error types
        problems.add(Problem(name, None, None, f"cannot read the sheet ({short_error(exc)})"))
        return None
    if frame.width == 0 or frame.height == 0:
        problems.add(Problem(name, None, None, "the sheet is empty; its first row must name the columns"))
        return None
    names = [f"c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    header = ["" if v is None else str(v) for v in frame.row(0)]
    body = frame.slice(1)
    body = body.with_columns(pl.col(names).cast(pl.String))
    return finish_raw(
        body,
        header,
        name,
        kind,
        header_line=first_row,
        clean=set(body.columns),
        keep=None,
        problems=problems,
        excel=True,
    )


def _sheet_first_rows(path: Path) -> dict[str, int]:
    """1-based row number of the first row holding a value, per sheet (the header row that fastexcel
    finds). Best effort: sheets it cannot work out are left out (row 1 is assumed)."""
    out: dict[str, int] = {}
    try:
        with zipfile.ZipFile(path) as z:
            workbook = z.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            targets: dict[str, str] = {}
            for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
                rid = _xml_attr(m[1], "Id")
                target = _xml_attr(m[1], "Target")
                if rid and target:
                    targets[rid] = target
            for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)>", workbook):
                sheet = _xml_attr(m[1], "name")
                rid = _xml_attr(m[1], "r:id") or _xml_attr(m[1], "id")
                target = targets.get(rid or "")
                if sheet is None or target is None:
                    continue
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                row = _first_value_row(z, member)
                if row is not None:
                    out[sheet] = row
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return out
    return out


def _first_value_row(z: zipfile.ZipFile, member: str) -> int | None:
    cell = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
    buf = ""
    with z.open(member) as fh:
        while len(buf) < 8_000_000:
            chunk = fh.read(65536)
            if not chunk:
                break
            buf += chunk.decode("utf-8", "replace")
            for m in cell.finditer(buf):
                inner = m[2]
                if inner is None or ("<v" not in inner and "<is" not in inner and ":v>" not in inner):
                    continue
                ref = _xml_attr(m[1], "r")
                rm = re.match(r"^[A-Z]+([0-9]+)$", ref or "")
                return int(rm[1]) if rm else None
    return None


def _xml_attr(attrs: str, key: str) -> str | None:
    m = re.search(rf'(?:^|\s){re.escape(key)}="([^"]*)"', attrs)
    if m is None:
        return None
    return (
        m[1]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )
