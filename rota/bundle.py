"""Reading and writing the rota bundle: a folder of CSV files plus rules.toml, or an Excel workbook.

Reading is all-or-nothing: every file is read and checked, every bad value is collected as a `Problem`
(file, line, column, reason) and one `InputError` lists them all. Parsing and checks are vectorised in
polars so that a national bundle (500,000 shifts) reads in a fraction of a second; the per-value Python
parsers of `rota.timeutil` run only on the few bad values, to word their messages.

Line numbers count the header as line 1 and assume no quoted value spans lines; in a workbook they are
the row numbers of the sheet.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import os
import re
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Any

import polars as pl

from rota.csvcheck import (
    LINE,
    TRUE_WORDS,
    Problems,
    blank_reason,
    date_lookup,
    date_reason,
    instant_lookup,
    instant_reason,
    polars_zone,
    typed_lookup,
    unguard_formula,
)
from rota.errors import InputError, Problem
from rota.files import create_private, make_private
from rota.limits import ID_MAX, TextClass, bad_text_mask, excerpt, text_reason
from rota.model import SHIFT_KINDS, Rota, conform, empty
from rota.output import write_csv
from rota.rules import DEFAULT_ROLES, Rule, RuleError, make_rule
from rota.timeutil import (
    SERVICE_TZ,
    iso_local,
)

KINDS: tuple[str, ...] = ("responders", "training", "shifts", "absences")
RULES_FILE = "rules.toml"
MAX_SHIFT = timedelta(days=7)
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""Suffixes routed to the workbook reader; of these only .xlsx is read (see `refuse_unread_workbook`)."""
UNREAD_WORKBOOK_SUFFIXES = (".xlsm", ".xls", ".xlsb", ".ods", ".numbers")
TOML_MAX_DEPTH = 20

_BOM = b"\xef\xbb\xbf"
_RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_LINE = LINE
# Other modules imported this under its old private name; kept so that they keep working.
_polars_zone = polars_zone


@dataclass(frozen=True)
class _Col:
    name: str
    required: bool = False
    type: str = "text"  # text | ref | role | bool | date | instant | kind
    limit: TextClass = "id"  # the length and characters allowed (rota.limits; docs/bundle.md "Limits")


COLUMNS: dict[str, tuple[_Col, ...]] = {
    "responders": (
        _Col("responder_id", True),
        _Col("name", True, limit="name"),
        _Col("role", True, "role"),
        _Col("agency", limit="name"),
        _Col("email", limit="name"),
        _Col("active", False, "bool"),
    ),
    "training": (
        _Col("responder_id", True, "ref"),
        _Col("competency", True),
        _Col("valid_from", True, "date"),
        _Col("valid_until", False, "date"),
    ),
    "shifts": (
        _Col("shift_id"),
        _Col("responder_id", True, "ref"),
        _Col("start", True, "instant"),
        _Col("end", True, "instant"),
        _Col("kind", False, "kind"),
    ),
    "absences": (
        _Col("responder_id", True, "ref"),
        _Col("start", True, "instant"),
        _Col("end", True, "instant"),
        _Col("reason", limit="text"),
    ),
}


_COLUMN_ORDER: dict[str, int] = {}
for _cols in COLUMNS.values():
    for _i, _c in enumerate(_cols):
        _COLUMN_ORDER.setdefault(_c.name, _i)


@dataclass
class _Raw:
    """One table as read: String columns named after the known header names, plus the line numbers."""

    file: str
    kind: str
    frame: pl.DataFrame
    present: frozenset[str]
    header_line: int


@dataclass(frozen=True)
class _Context:
    tz: tzinfo
    roles: tuple[str, ...]
    known_ids: pl.Series | None  # None = do not check responder references
    ref_source: str  # where known responders come from, for the message


# --------------------------------------------------------------------------------------------------------
# Public API


def read_bundle(
    path: Path,
    tz: tzinfo = SERVICE_TZ,
    known_responders: pl.DataFrame | None = None,
    known_roles: tuple[str, ...] = DEFAULT_ROLES,
) -> Rota:
    """Read and check a bundle folder or an .xlsx workbook; raise InputError listing every problem.

    `known_responders` (at least `responder_id`) are responders already stored, which training, shifts
    and absences may reference without their being in the bundle's responders; `known_roles` are the
    roles already configured (the bundle's rules.toml may add more).
    """
    path = Path(path)
    problems = Problems(_COLUMN_ORDER)
    if not path.exists():
        raise InputError(Problem(path.name or str(path), None, None, f"no such file or folder: {path}"))
    refuse_unread_workbook(path)
    if path.is_dir():
        sources: dict[str, Callable[[Problems], _Raw | None] | None] = _folder_sources(path, problems)
        rules_path = path / RULES_FILE
        source = "not in responders.csv"
    elif path.suffix.lower() in WORKBOOK_SUFFIXES:
        sources = _workbook_sources(path, problems)
        rules_path = path.parent / RULES_FILE
        source = "not in the responders sheet"
    else:
        raise InputError(
            Problem(
                path.name,
                None,
                None,
                "not a rota bundle: give a folder holding responders.csv (and training.csv, shifts.csv, "
                "absences.csv, rules.toml) or an .xlsx workbook with sheets of those names",
            )
        )

    rules: tuple[Rule, ...] = ()
    roles = known_roles
    if rules_path.is_file():
        rules, roles = _read_rules(rules_path, known_roles, problems)

    known = _ids_of(known_responders)
    frames: dict[str, pl.DataFrame] = {}
    raw_responders = None
    loader = sources.get("responders")
    if loader is not None:
        raw_responders = loader(problems)
    if raw_responders is not None:
        file_ids = (
            raw_responders.frame.get_column("responder_id")
            if "responder_id" in raw_responders.present
            else None
        )
        if file_ids is not None:
            file_ids = file_ids.drop_nulls()
            known = file_ids if known is None else pl.concat([known, file_ids])
    if known_responders is not None:
        source += " nor already stored"
    ctx = _Context(tz, roles, known, source)
    if raw_responders is not None:
        frames["responders"] = _validate(raw_responders, ctx, problems)
    for kind in KINDS[1:]:
        loader = sources.get(kind)
        raw = loader(problems) if loader is not None else None
        if raw is not None:
            frames[kind] = _validate(raw, ctx, problems)
    problems.raise_if_any()
    return Rota(
        responders=frames.get("responders", empty("responders")),
        training=frames.get("training", empty("training")),
        shifts=frames.get("shifts", empty("shifts")),
        absences=frames.get("absences", empty("absences")),
        rules=rules,
        roles=roles,
    )


def read_table(
    path: Path,
    kind: str,
    tz: tzinfo = SERVICE_TZ,
    known_responders: pl.DataFrame | None = None,
    known_roles: tuple[str, ...] = DEFAULT_ROLES,
) -> pl.DataFrame:
    """Read and check one CSV file (or the sheet `kind` of a workbook) of one kind.

    Responder references are checked only when `known_responders` is given.
    """
    path = Path(path)
    if kind not in COLUMNS:
        raise InputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    problems = Problems(_COLUMN_ORDER)
    if not path.exists():
        raise InputError(Problem(path.name or str(path), None, None, f"no such file: {path}"))
    refuse_unread_workbook(path)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        sources = _workbook_sources(path, problems, single=kind)
        loader = sources.get(kind)
        raw = loader(problems) if loader is not None else None
    else:
        raw = _load_csv(path, kind, problems)
    if raw is None:
        problems.raise_if_any()
        return empty(kind)
    known = _ids_of(known_responders)
    ctx = _Context(tz, known_roles, known, "not among the stored responders")
    out = _validate(raw, ctx, problems)
    problems.raise_if_any()
    return out


def check_rows(
    rows: pl.DataFrame,
    kind: str,
    *,
    name: str,
    lines: Sequence[int] | None = None,
    tz: tzinfo = SERVICE_TZ,
    known_responders: pl.DataFrame | None = None,
    known_roles: tuple[str, ...] = DEFAULT_ROLES,
    ref_source: str = "not among the stored responders",
) -> pl.DataFrame:
    """Check rows held in memory (for example a data grid's edited rows) by exactly the rules that
    `read_table` applies to a file of `kind`, and return the canonical frame, one row per input row.

    `rows` has columns named as the kind's columns, values as text (or None); `lines` numbers the rows
    for the messages (default 1, 2, ...) and `name` stands for the file. Raises InputError listing
    every problem. Unlike a file, blank rows are not skipped: the caller decides what a blank row means.
    """
    if kind not in COLUMNS:
        raise InputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    spec = {c.name: c for c in COLUMNS[kind]}
    unknown = [c for c in rows.columns if c not in spec]
    if unknown:
        raise ValueError(f"unknown {kind} column(s) {', '.join(unknown)}; allowed: {', '.join(spec)}")
    numbers = list(lines) if lines is not None else list(range(1, rows.height + 1))
    if len(numbers) != rows.height:
        raise ValueError("give one line number per row")
    problems = Problems(_COLUMN_ORDER)
    for c in spec.values():
        if c.required and c.name not in rows.columns:
            problems.add(Problem(name, None, c.name, "required column is missing"))
    text = pl.col(rows.columns).cast(pl.String).str.strip_chars()
    frame = rows.select(pl.when(text == "").then(None).otherwise(text).name.keep()).with_columns(
        pl.Series(_LINE, numbers, dtype=pl.Int64)
    )
    ctx = _Context(tz, known_roles, _ids_of(known_responders), ref_source)
    out = _validate(_Raw(name, kind, frame, frozenset(rows.columns), 0), ctx, problems)
    problems.raise_if_any()
    return out


def refuse_unread_workbook(path: Path) -> None:
    """Raise InputError for a spreadsheet file other than an .xlsx workbook (.xlsm, .xls, .ods...): only
    .xlsx workbooks are read, and a macro-enabled or older file is refused with what to do about it."""
    suffix = Path(path).suffix.lower()
    if suffix in UNREAD_WORKBOOK_SUFFIXES and not Path(path).is_dir():
        raise InputError(
            Problem(
                Path(path).name,
                None,
                None,
                f"only .xlsx workbooks are read, not {suffix} files: open it in Excel (or LibreOffice) and "
                "save it as an Excel Workbook (.xlsx), or save each sheet as CSV UTF-8",
            )
        )


def read_rules(
    path: Path, known_roles: tuple[str, ...] = DEFAULT_ROLES
) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """Read rules.toml: `[[rule]]` tables and an optional top-level `roles = [...]` adding roles.

    Returns the rules and the known roles (`known_roles` followed by any configured ones).
    """
    problems = Problems(_COLUMN_ORDER)
    rules, roles = _read_rules(Path(path), known_roles, problems)
    problems.raise_if_any()
    return rules, roles


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
        frame = _export_frame(kind, getattr(rota, kind), tz)
        _atomic_write(directory / f"{kind}.csv", functools.partial(write_csv, frame))
    text = rules_toml(rota.rules, rota.roles)
    target = directory / RULES_FILE
    if text is None:
        target.unlink(missing_ok=True)
    else:
        _atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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
                frame = _export_frame(kind, getattr(rota, kind), tz, dates_as_text=False)
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

    _atomic_write(path, build)


def rules_toml(rules: Sequence[Rule], roles: Sequence[str] = DEFAULT_ROLES) -> str | None:
    """rules.toml text for these rules and any roles beyond the defaults (None when there is nothing)."""
    extra = [r for r in roles if r not in DEFAULT_ROLES]
    if not rules and not extra:
        return None
    lines = ["# Coverage rules (see the product spec, section 2)."]
    if extra:
        lines.append(f"roles = {_toml_value(extra)}")
    for rule in rules:
        lines.append("")
        lines.append("[[rule]]")
        for key, value in rule.as_toml_table().items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------
# Sources: where each table comes from


def _folder_sources(path: Path, problems: Problems) -> dict[str, Callable[[Problems], _Raw | None] | None]:
    sources: dict[str, Callable[[Problems], _Raw | None] | None] = {}
    # Other files may sit beside a bundle (cases.csv, notes); only near-misses of the expected names
    # (shift.csv, Shifts.csv, rule.toml) are refused, as they are almost certainly meant to be read.
    expected = [f"{k}.csv" for k in KINDS] + [RULES_FILE]
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        problems.add(Problem(path.name, None, None, f"cannot read the folder ({exc.strerror or exc})"))
        return {}
    for entry in entries:
        if entry.name in expected or entry.name.startswith("."):
            continue
        close = difflib.get_close_matches(entry.name.lower(), expected, n=1, cutoff=0.85)
        if close:
            problems.add(
                Problem(
                    entry.name, None, None, f"unknown file in the bundle folder; did you mean {close[0]}?"
                )
            )
    for kind in KINDS:
        file = path / f"{kind}.csv"
        if file.exists():
            sources[kind] = functools.partial(_load_csv, file, kind)
        elif kind == "responders":
            problems.add(
                Problem("responders.csv", None, None, f"missing: a bundle needs responders.csv in {path}")
            )
    return sources


def _workbook_sources(
    path: Path, problems: Problems, single: str | None = None
) -> dict[str, Callable[[Problems], _Raw | None] | None]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names: list[str] = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own error types for anything it cannot open
        problems.add(Problem(path.name, None, None, f"cannot read as an Excel workbook ({_short(exc)})"))
        return {}
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(name.strip().lower(), name)
    first_rows = _sheet_first_rows(path)
    sources: dict[str, Callable[[Problems], _Raw | None] | None] = {}
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
        sources[kind] = functools.partial(_load_sheet, reader, path, sheet, kind, first)
    return sources


# --------------------------------------------------------------------------------------------------------
# Loading CSV files and sheets into raw String frames


def _load_csv(path: Path, kind: str, problems: Problems) -> _Raw | None:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(Problem(name, None, None, f"no such file: {path}"))
        return None
    except IsADirectoryError:
        problems.add(Problem(name, None, None, "is a folder, not a CSV file"))
        return None
    except OSError as exc:
        problems.add(Problem(name, None, None, f"cannot read the file ({exc.strerror or exc})"))
        return None
    return _parse_csv(data, name, kind, problems)


def _parse_csv(data: bytes, name: str, kind: str, problems: Problems) -> _Raw | None:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data or data.isspace():
        problems.add(
            Problem(name, None, None, "the file is empty; it needs a header line naming the columns")
        )
        return None
    if data.startswith(b"PK\x03\x04"):
        problems.add(
            Problem(name, None, None, "not a UTF-8 CSV file: it is an Excel workbook or other zip file")
        )
        return None
    if b"\x00" in data:
        problems.add(Problem(name, None, None, "not a UTF-8 CSV file: it holds binary data"))
        return None
    if b"\n" not in data and b"\r" in data.rstrip(b"\r"):
        problems.add(
            Problem(
                name,
                None,
                None,
                "its lines end in a carriage return only (an old Mac format), so its rows cannot be told "
                "apart: save it as 'CSV UTF-8' (Windows or Unix line ends)",
            )
        )
        return None
    try:
        if not data.isascii():
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(
            Problem(
                name,
                line,
                None,
                f"not a UTF-8 CSV file (byte 0x{data[exc.start]:02x} cannot be read as UTF-8); "
                "save it as 'CSV UTF-8'",
            )
        )
        return None

    end = data.find(b"\n")
    header_text = (data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    if not header_text.strip():
        problems.add(Problem(name, 1, None, "line 1 is blank; the first line must name the columns"))
        return None
    try:
        header = next(csv.reader([header_text]))
    except csv.Error as exc:  # a quoted line break or other damage in the header line
        problems.add(
            Problem(
                name,
                1,
                None,
                f"cannot read the header line as CSV ({exc}); check its quotes and line ends, "
                "and save it as CSV UTF-8",
            )
        )
        return None
    n_fields = len(header)
    names = [f"c{i}" for i in range(n_fields)]

    # One row per line is assumed (no quoted value spans lines); the lines themselves are only looked at
    # when polars cannot read the file, the row count is off, or a row may have too few fields.
    expected_rows = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
    stats: pl.DataFrame | None = None
    try:
        frame = pl.read_csv(data, infer_schema=False, new_columns=names, quote_char='"')
    except pl.exceptions.PolarsError:
        stats = _line_stats(data, name, problems)
        if stats is None:
            return None
        try:
            frame = pl.read_csv(
                data, infer_schema=False, new_columns=names, quote_char='"', truncate_ragged_lines=True
            )
        except pl.exceptions.PolarsError as exc:
            problems.add(Problem(name, None, None, f"cannot read as CSV ({_short(exc)})"))
            return None
    frame = frame.select(names)  # polars may add columns for a ragged first row

    keep: pl.Series | None = None
    check_lines = stats is not None or frame.height != expected_rows
    if not check_lines and n_fields > 1 and frame.height and frame.get_column(names[-1]).null_count():
        # A row with too few fields leaves the last column empty: look closer only then.
        others = pl.any_horizontal(pl.col(names[:-1]).is_not_null())
        check_lines = bool(frame.select((pl.col(names[-1]).is_null() & others).any()).item())
    if check_lines:
        if stats is None:
            stats = _line_stats(data, name, problems)
        keep = None if stats is None else _check_fields(stats, n_fields, frame.height, name, problems)
        if keep is None:
            return None

    return _finish_raw(
        frame, header, name, kind, header_line=1, clean=_to_clean(data, frame), keep=keep, problems=problems
    )


def _to_clean(data: bytes, frame: pl.DataFrame) -> set[str]:
    """Columns whose values may need white space stripped or an empty quoted value made null.

    Cheap tests first: most files are ASCII with no tab and no value starting or ending with a space.
    """
    if not data.isascii() or any(c in data for c in (b"\t", b"\x0b", b"\x0c")):
        return set(frame.columns)
    if b" " not in data and b"\r" not in data and b'"' not in data:
        return set()
    edges = frame.select(
        [
            (
                (pl.col(c).str.len_bytes() == 0)
                | pl.col(c).str.starts_with(" ")
                | pl.col(c).str.ends_with(" ")
                | pl.col(c).str.ends_with("\r")
            ).any()
            for c in frame.columns
        ]
    )
    return {c for c in frame.columns if edges.get_column(c)[0]}


def _line_stats(data: bytes, name: str, problems: Problems) -> pl.DataFrame | None:
    """Per data line: blank or not and its number of fields; None (with problems) on unbalanced quotes."""
    try:
        lines = pl.read_csv(
            data, has_header=False, infer_schema=False, separator="\x00", quote_char=None, new_columns=["l"]
        ).get_column("l")
    except pl.exceptions.PolarsError as exc:
        problems.add(Problem(name, None, None, f"cannot read as CSV ({_short(exc)})"))
        return None
    body = pl.DataFrame({"l": lines.slice(1)})
    stats = body.select(
        blank=pl.col("l").is_null() | pl.col("l").str.contains(r"^[\s,]*$"),
        quotes=pl.col("l").str.count_matches('"', literal=True),
        fields=pl.col("l").str.replace_all(r'"[^"]*"', "").str.count_matches(",", literal=True) + 1,
    ).with_row_index("i")
    unbalanced = stats.filter(pl.col("quotes") % 2 == 1)
    for i in unbalanced.get_column("i").to_list():
        problems.add(
            Problem(name, i + 2, None, "unbalanced quote marks; a quoted value must close on the same line")
        )
    return None if unbalanced.height else stats


def _check_fields(
    stats: pl.DataFrame, n_fields: int, n_rows: int, name: str, problems: Problems
) -> pl.Series | None:
    """Rows whose field count matches the header (True) or not (False); None if rows cannot be trusted."""
    if stats.height != n_rows:
        problems.add(
            Problem(
                name,
                None,
                None,
                "cannot split the file into rows; check for quoted values that run over a line end",
            )
        )
        return None
    wrong = stats.filter(~pl.col("blank") & (pl.col("fields") != n_fields))
    for i, fields in wrong.select("i", "fields").iter_rows():
        problems.add(Problem(name, i + 2, None, f"has {fields} fields but the header has {n_fields}"))
    return stats.select(pl.col("blank") | (pl.col("fields") == n_fields)).to_series()


def _load_sheet(
    reader: Any, path: Path, sheet: str, kind: str, first_row: int, problems: Problems
) -> _Raw | None:
    name = f"{path.name}:{sheet}"
    try:
        frame: pl.DataFrame = reader.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel raises its own error types
        problems.add(Problem(name, None, None, f"cannot read the sheet ({_short(exc)})"))
        return None
    if frame.width == 0 or frame.height == 0:
        problems.add(Problem(name, None, None, "the sheet is empty; its first row must name the columns"))
        return None
    names = [f"c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    header = ["" if v is None else str(v) for v in frame.row(0)]
    body = frame.slice(1)
    body = body.with_columns(pl.col(names).cast(pl.String))
    return _finish_raw(
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


def _finish_raw(
    frame: pl.DataFrame,
    header: list[str],
    name: str,
    kind: str,
    *,
    header_line: int,
    clean: set[str],
    keep: pl.Series | None,
    problems: Problems,
    excel: bool = False,
) -> _Raw | None:
    """Check the header, name the known columns, clean values, number the lines and drop blank rows."""
    spec = {c.name: c for c in COLUMNS[kind]}
    allowed = ", ".join(spec)
    chosen: dict[str, str] = {}  # column name -> raw frame column
    unnamed: list[int] = []
    for i, raw_name in enumerate(header):
        col = raw_name.strip().lower()
        if not col:
            unnamed.append(i)
        elif col in chosen:
            problems.add(Problem(name, header_line, col, "the column appears more than once in the header"))
        elif col in spec:
            chosen[col] = f"c{i}"
        else:
            problems.add(
                Problem(
                    name, header_line, raw_name.strip(), f"unknown column; the allowed columns are {allowed}"
                )
            )
    for c in spec.values():
        if c.required and c.name not in chosen:
            problems.add(Problem(name, header_line, c.name, "required column is missing from the header"))

    exprs: list[pl.Expr] = []
    for col, source in chosen.items():
        e = pl.col(source)
        if source in clean:
            e = e.str.strip_chars()
            e = pl.when(e == "").then(None).otherwise(e)
        if excel:
            e = _excel_cleanup(e, spec[col].type)
        if spec[col].type in ("text", "ref", "role"):  # the cells a writer may have guarded with a '
            e = unguard_formula(e)
        exprs.append(e.alias(col))
    for i in unnamed:
        e = pl.col(f"c{i}").str.strip_chars()
        exprs.append((e.is_not_null() & (e != "")).alias(f"__unnamed{i}"))
    n = frame.height
    out = frame.select(
        *exprs, pl.int_range(header_line + 1, header_line + 1 + n, dtype=pl.Int64).alias(_LINE)
    )
    for i in unnamed:
        flag = f"__unnamed{i}"
        filled = out.filter(pl.col(flag))
        if filled.height:
            line = filled.get_column(_LINE)[0]
            problems.add(
                Problem(name, line, None, f"column {i + 1} has no name in the header but holds values")
            )
        out = out.drop(flag)

    mask: pl.Expr | None = None
    if chosen:
        mask = ~pl.all_horizontal(pl.col(list(chosen)).is_null())
    if keep is not None and keep.len() == n:
        keep_expr = pl.lit(keep)
        mask = keep_expr if mask is None else mask & keep_expr
    if mask is not None and n:
        flags = out.select(mask.alias("keep")).to_series()
        if not flags.all():
            out = out.filter(flags)
    return _Raw(name, kind, out, frozenset(chosen), header_line)


def _excel_cleanup(e: pl.Expr, type_: str) -> pl.Expr:
    """Excel date cells arrive as 'YYYY-MM-DD HH:MM:SS[.fff]': dates lose a midnight time, times round to
    the second."""
    if type_ == "date":
        return e.str.replace(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00(?:\.0+)?$", "$1")
    if type_ == "instant":
        frac = e.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+$")
        rounded = (
            e.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
            .dt.round("1s")
            .dt.strftime("%Y-%m-%d %H:%M:%S")
        )
        return pl.when(frac).then(rounded).otherwise(e)
    return e


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


# --------------------------------------------------------------------------------------------------------
# Checking rows


def _validate(raw: _Raw, ctx: _Context, problems: Problems) -> pl.DataFrame:
    """Turn a raw String frame into the canonical frame of its kind, recording every bad value."""
    kind, file = raw.kind, raw.file
    spec = COLUMNS[kind]
    df = raw.frame
    missing = [c.name for c in spec if c.name not in df.columns]
    if missing:
        df = df.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    lines = df.get_column(_LINE)

    def report(mask: pl.Series, column: str, reason: Callable[[str | None], str]) -> None:
        if not mask.any():
            return
        bad = df.filter(mask).select(_LINE, column)
        problems.report_rows(bad, lambda row: Problem(file, int(str(row[0])), column, reason(_text(row[1]))))

    for c in spec:
        if c.required and c.name in raw.present:
            values = df.get_column(c.name)
            if values.null_count():
                report(values.is_null(), c.name, functools.partial(blank_reason, c.name))

    # Lengths and control characters first (docs/bundle.md, "Limits"); a value refused here is left out
    # of the later checks, so that it is reported once and never copied whole into another message.
    for c in spec:
        if c.name not in raw.present:
            continue
        bad = bad_text_mask(df.get_column(c.name), c.limit)
        if bad.any():
            report(bad, c.name, functools.partial(_limit_reason, c))
            df = df.with_columns(pl.when(bad).then(None).otherwise(pl.col(c.name)).alias(c.name))

    typed: dict[str, pl.Series] = {}
    for c in spec:
        values = df.get_column(c.name)
        if c.type == "role":
            mapping = {r.lower(): r for r in ctx.roles}
            out = values.str.to_lowercase().replace_strict(
                list(mapping), list(mapping.values()), default=None, return_dtype=pl.String
            )
            report(
                values.is_not_null() & out.is_null(),
                c.name,
                lambda v: f"unknown role {v!r}; the known roles are {', '.join(ctx.roles)}",
            )
            typed[c.name] = out
        elif c.type == "bool":
            out = values.str.to_lowercase().replace_strict(
                list(TRUE_WORDS), list(TRUE_WORDS.values()), default=None, return_dtype=pl.Boolean
            )
            report(
                values.is_not_null() & out.is_null(),
                c.name,
                lambda v: f"{v!r} is not true or false (yes/no and 1/0 are accepted too; blank = true)",
            )
            typed[c.name] = out.fill_null(True)
        elif c.type == "kind":
            kinds = pl.Series(SHIFT_KINDS).implode()
            if not (values.is_in(kinds) | values.is_null()).all():
                values = values.str.to_lowercase().str.replace_all(r"[\s_\-]", "")
                report(
                    values.is_not_null() & ~values.is_in(kinds),
                    c.name,
                    lambda v: f"kind must be {' or '.join(SHIFT_KINDS)} (blank = oncall), not {v!r}",
                )
            typed[c.name] = values.fill_null("oncall")
        elif c.type == "ref":
            if ctx.known_ids is not None:
                ok = values.is_in(ctx.known_ids.implode())
                report(
                    values.is_not_null() & ~ok,
                    c.name,
                    lambda v: f"unknown responder {v!r} ({ctx.ref_source})",
                )
            typed[c.name] = values

    date_cols = [c.name for c in spec if c.type == "date"]
    if date_cols:
        typed.update(typed_lookup(df, date_cols, date_lookup, date_reason, file, problems))
    instant_cols = [c.name for c in spec if c.type == "instant"]
    if instant_cols:
        typed.update(
            typed_lookup(
                df,
                instant_cols,
                lambda u: instant_lookup(u, ctx.tz),
                lambda v: instant_reason(v, ctx.tz),
                file,
                problems,
            )
        )
    for c in spec:
        typed.setdefault(c.name, df.get_column(c.name))
    result = pl.DataFrame([typed[c.name].alias(c.name) for c in spec]).with_columns(lines.alias(_LINE))

    _cross_checks(kind, result, df, file, problems)
    return conform(kind, result.drop(_LINE))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _limit_reason(col: _Col, value: str | None) -> str:
    text = value or ""
    if col.type in ("role", "bool", "date", "instant", "kind") and len(text) > ID_MAX:
        return f"{excerpt(text)} is {len(text)} characters long: too long to be a {col.name}"
    return text_reason(col.name, text, col.limit) or f"{col.name} {excerpt(text)} is not allowed"


def _cross_checks(kind: str, out: pl.DataFrame, raw: pl.DataFrame, file: str, problems: Problems) -> None:
    def duplicates(column: str) -> None:
        values = out.get_column(column)
        present = values.drop_nulls()
        if present.hash().n_unique() == present.len():  # a hash collision only leads to the exact check
            return
        firsts: dict[str, int] = {}
        for value, line in out.filter(values.is_not_null()).select(column, _LINE).iter_rows():
            if value in firsts:
                problems.add(
                    Problem(
                        file, line, column, f"duplicate {column} {value!r} (first on line {firsts[value]})"
                    )
                )
            else:
                firsts[value] = line

    def duplicate_keys(
        columns: list[str], column: str, reason: Callable[[tuple[Any, ...], int], str]
    ) -> None:
        # The database's key of a training record or an absence: twice in one file is an error here, with
        # its line, rather than a refusal by the database with none.
        keyed = out.hstack(raw.select(pl.col(c).alias(f"{c}_text") for c in columns))
        keyed = keyed.filter(pl.all_horizontal(pl.col(columns).is_not_null()))
        if not keyed.select(pl.struct(columns).is_duplicated().any()).item():
            return
        firsts: dict[tuple[Any, ...], int] = {}
        texts = [f"{c}_text" for c in columns]
        for row in keyed.select(_LINE, *columns, *texts).iter_rows():
            line, key, shown = row[0], row[1 : 1 + len(columns)], row[1 + len(columns) :]
            if key in firsts:
                problems.add(Problem(file, line, column, reason(shown, firsts[key])))
            else:
                firsts[key] = line

    if kind == "responders":
        duplicates("responder_id")
    elif kind == "shifts":
        duplicates("shift_id")
    elif kind == "training":
        duplicate_keys(
            ["responder_id", "competency", "valid_from"],
            "valid_from",
            lambda k, first: (
                f"{k[0]}'s {k[1]} training from {k[2]} is already on line {first}; "
                "give each certificate once (a renewal starts on a later valid_from)"
            ),
        )
    elif kind == "absences":
        duplicate_keys(
            ["responder_id", "start", "end"],
            "start",
            lambda k, first: (
                f"{k[0]}'s absence from {k[1]} to {k[2]} is already on line {first}; give each absence once"
            ),
        )
    if kind == "training":
        bad = out.filter(pl.col("valid_until") < pl.col("valid_from"))
        problems.report_rows(
            bad.select(_LINE, "valid_from", "valid_until"),
            lambda r: Problem(
                file, int(str(r[0])), "valid_until", f"valid_until {r[2]} is before valid_from {r[1]}"
            ),
        )
    if kind in ("shifts", "absences"):
        what = "shift" if kind == "shifts" else "absence"
        both = out.hstack(raw.select(pl.col("start").alias("start_text"), pl.col("end").alias("end_text")))
        bad = both.filter(pl.col("end") <= pl.col("start"))
        problems.report_rows(
            bad.select(_LINE, "start_text", "end_text"),
            lambda r: Problem(
                file,
                int(str(r[0])),
                "end",
                f"end {r[2]} is not after start {r[1]}; a {what} must end after it starts",
            ),
        )
        if kind == "shifts":
            long = both.filter(pl.col("end") - pl.col("start") > MAX_SHIFT)
            problems.report_rows(
                long.select(_LINE, "start", "end"),
                lambda r: Problem(
                    file,
                    int(str(r[0])),
                    "end",
                    f"the shift lasts {_duration_text(r[2] - r[1])}; a shift may last at most 7 days",  # type: ignore[operator]
                ),
            )


def _duration_text(d: timedelta) -> str:
    hours, rest = divmod(int(d.total_seconds()) // 60, 60)
    days, hours = divmod(hours, 24)
    out = f"{days} days {hours} h"
    return out + (f" {rest} min" if rest else "")


# --------------------------------------------------------------------------------------------------------
# Rules


def _read_rules(
    path: Path, known_roles: tuple[str, ...], problems: Problems
) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(Problem(name, None, None, f"no such file: {path}"))
        return (), known_roles
    except OSError as exc:
        problems.add(Problem(name, None, None, f"cannot read the file ({exc.strerror or exc})"))
        return (), known_roles
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(Problem(name, None, None, "not a UTF-8 TOML file"))
        return (), known_roles
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m[1]) if m else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
        if m:
            reason += f" (column {m[2]})"
        problems.add(Problem(name, line, None, f"not valid TOML: {reason}"))
        return (), known_roles
    except RecursionError:
        problems.add(
            Problem(
                name,
                None,
                None,
                "not valid rules: values are nested too deeply; rules.toml holds `roles = [...]` and "
                "[[rule]] tables of plain values",
            )
        )
        return (), known_roles

    roles = list(known_roles)
    for key in doc:
        if key not in ("rule", "roles"):
            problems.add(
                Problem(name, None, key, "unknown key; rules.toml holds `roles = [...]` and [[rule]] tables")
            )
    extra = doc.get("roles", [])
    if not isinstance(extra, list) or not all(isinstance(r, str) and r.strip() for r in extra):
        problems.add(
            Problem(name, None, "roles", 'roles must be a list of role names, like roles = ["nurse"]')
        )
    elif any(text_reason("role", r.strip(), "id") for r in extra):
        for r in extra:
            why = text_reason("role", r.strip(), "id")
            if why:
                problems.add(Problem(name, None, "roles", why))
    else:
        for r in extra:
            if r.strip() not in roles:
                roles.append(r.strip())
    role_tuple = tuple(roles)

    tables = doc.get("rule", [])
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list):
        problems.add(Problem(name, None, "rule", "rules must be [[rule]] tables"))
        return (), role_tuple
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    # The line of each [[rule]] header, for the messages (none when the rules are written inline).
    headers = [n for n, text_line in enumerate(text.splitlines(), start=1) if _RULE_HEADER.match(text_line)]
    for i, table in enumerate(tables, start=1):
        where = f"rule {i}"
        line = headers[i - 1] if len(headers) == len(tables) else None
        if not isinstance(table, dict):
            problems.add(Problem(name, line, where, "each rule must be a [[rule]] table"))
            continue
        try:
            rule = make_rule(table, role_tuple)
        except RuleError as exc:
            problems.add(Problem(name, line, where, str(exc)))
            continue
        if rule.id in seen:
            problems.add(
                Problem(name, line, where, f"duplicate rule id {rule.id!r} (also rule {seen[rule.id]})")
            )
            continue
        seen[rule.id] = i
        rules.append(rule)
    return tuple(rules), role_tuple


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------------------------------------
# Writing helpers


def _export_frame(kind: str, frame: pl.DataFrame, tz: tzinfo, dates_as_text: bool = True) -> pl.DataFrame:
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


def _atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        create_private(tmp)  # 0600 from the start: the writers open it as it is
        write(tmp)
        make_private(tmp)  # in case a writer replaced the file instead
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _ids_of(frame: pl.DataFrame | None) -> pl.Series | None:
    if frame is None:
        return None
    if "responder_id" not in frame.columns:
        return pl.Series("responder_id", [], dtype=pl.String)
    return frame.get_column("responder_id").cast(pl.String).drop_nulls()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
