"""Loading a CSV file (or a sheet's cells) into a raw String frame: encoding, line ends, field counts,
the header and blank rows, every problem with its line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from rota.bundle.common import (
    BOM,
    COLUMNS,
    RawTable,
    short_error,
)
from rota.csvcheck import (
    LINE,
    Problems,
    unguard_formula,
)
from rota.errors import Problem


def load_csv(path: Path, kind: str, problems: Problems) -> RawTable | None:
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


def _parse_csv(data: bytes, name: str, kind: str, problems: Problems) -> RawTable | None:
    if data.startswith(BOM):
        data = data[len(BOM) :]
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
            problems.add(Problem(name, None, None, f"cannot read as CSV ({short_error(exc)})"))
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

    return finish_raw(
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
        problems.add(Problem(name, None, None, f"cannot read as CSV ({short_error(exc)})"))
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


def finish_raw(
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
) -> RawTable | None:
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
    out = frame.select(*exprs, pl.int_range(header_line + 1, header_line + 1 + n, dtype=pl.Int64).alias(LINE))
    for i in unnamed:
        flag = f"__unnamed{i}"
        filled = out.filter(pl.col(flag))
        if filled.height:
            line = filled.get_column(LINE)[0]
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
    return RawTable(name, kind, out, frozenset(chosen), header_line)


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
