"""Writing the rota as a bundle folder (CSV files and rules.toml) or as an .xlsx workbook, each file
written beside its final name and then renamed over it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from datetime import date, tzinfo
from pathlib import Path

import polars as pl

from rota.bundle.common import (
    KINDS,
    RULES_FILE,
)
from rota.bundle.rulesfile import rules_toml
from rota.csvcheck import (
    polars_zone,
)
from rota.files import create_private, make_private
from rota.model import Rota, conform
from rota.output import write_csv
from rota.timeutil import SERVICE_TZ, iso_local


def write_bundle(rota: Rota, directory: Path, tz: tzinfo = SERVICE_TZ) -> None:
    """Write the rota as a bundle folder: four CSV files, and rules.toml when rules or extra roles exist.

    Times are local ISO 8601 with their offset (2026-10-25T01:30:00+01:00), dates YYYY-MM-DD, booleans
    true/false; a text cell a spreadsheet would take for a formula gets a leading ' (rota.output). Each
    file is written beside its final name and then renamed over it. A rules.toml left from an earlier
    export is removed when the rota has no rules, so the folder reads back as `rota`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rota = rota.conformed()
    for kind in KINDS:
        frame = export_frame(kind, getattr(rota, kind), tz)
        atomic_write(directory / f"{kind}.csv", functools.partial(write_csv, frame))
    text = rules_toml(rota.rules, rota.roles)
    target = directory / RULES_FILE
    if text is None:
        target.unlink(missing_ok=True)
    else:
        atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_workbook(rota: Rota, path: Path, tz: tzinfo = SERVICE_TZ) -> None:
    """Write the rota as an .xlsx workbook with sheets responders, training, shifts and absences.

    Times are text with their offset (so they read back exactly), dates real Excel dates, booleans real
    booleans. Rules are not part of the workbook (they live in rules.toml).
    """
    import xlsxwriter

    path = Path(path)
    rota = rota.conformed()

    def build(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
        try:
            bold = wb.add_format({"bold": True})
            date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
            for kind in KINDS:
                ws = wb.add_worksheet(kind)
                frame = export_frame(kind, getattr(rota, kind), tz, dates_as_text=False)
                ws.freeze_panes(1, 0)
                for j, name in enumerate(frame.columns):
                    ws.set_column(j, j, 27 if name in ("start", "end") else 16)
                    ws.write_string(0, j, name, bold)
                for i, row in enumerate(frame.iter_rows(), start=1):
                    for j, value in enumerate(row):
                        if value is None:
                            continue
                        if isinstance(value, bool):
                            ws.write_boolean(i, j, value)
                        elif isinstance(value, date):
                            ws.write_datetime(i, j, value, date_fmt)
                        else:
                            ws.write_string(i, j, str(value))
        finally:
            wb.close()

    atomic_write(path, build)


def export_frame(kind: str, frame: pl.DataFrame, tz: tzinfo, dates_as_text: bool = True) -> pl.DataFrame:
    """The frame as written: local ISO times with offsets, dates as text (or dates), text on one line."""
    frame = conform(kind, frame)
    exprs: list[pl.Expr] = []
    key = polars_zone(tz)
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if key is not None:
                exprs.append(col.dt.convert_time_zone(key).dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))
            else:
                exprs.append(
                    col.map_elements(lambda t: iso_local(t, tz), return_dtype=pl.String, skip_nulls=True)
                )
        elif isinstance(dtype, pl.Date):
            exprs.append(col.dt.strftime("%Y-%m-%d") if dates_as_text else col)
        elif dtype == pl.String:
            exprs.append(col.str.replace_all(r"[\r\n]+", " "))
        else:
            exprs.append(col)
    return frame.select(exprs)


def atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        create_private(tmp)  # 0600 from the start: the writers open it as it is
        write(tmp)
        make_private(tmp)  # in case a writer replaced the file instead
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
