"""Reading a bundle folder, one file or sheet, or rows held in memory: all or nothing, every problem listed
(docs/bundle.md "Validation").
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path

import polars as pl

from rota.bundle.checks import validate
from rota.bundle.common import (
    COLUMN_ORDER,
    COLUMNS,
    KINDS,
    RULES_FILE,
    UNREAD_WORKBOOK_SUFFIXES,
    WORKBOOK_SUFFIXES,
    CheckContext,
    RawTable,
    ids_of,
)
from rota.bundle.csvload import load_csv
from rota.bundle.rulesfile import read_rules_into
from rota.bundle.workbook import workbook_sources
from rota.csvcheck import (
    LINE,
    Problems,
)
from rota.errors import InputError, Problem
from rota.model import Rota, empty
from rota.rules import DEFAULT_ROLES, Rule
from rota.timeutil import SERVICE_TZ


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
    problems = Problems(COLUMN_ORDER)
    if not path.exists():
        raise InputError(Problem(path.name or str(path), None, None, f"no such file or folder: {path}"))
    refuse_unread_workbook(path)
    if path.is_dir():
        sources: dict[str, Callable[[Problems], RawTable | None] | None] = folder_sources(path, problems)
        rules_path = path / RULES_FILE
        source = "not in responders.csv"
    elif path.suffix.lower() in WORKBOOK_SUFFIXES:
        sources = workbook_sources(path, problems)
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
        rules, roles = read_rules_into(rules_path, known_roles, problems)

    known = ids_of(known_responders)
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
    ctx = CheckContext(tz, roles, known, source)
    if raw_responders is not None:
        frames["responders"] = validate(raw_responders, ctx, problems)
    for kind in KINDS[1:]:
        loader = sources.get(kind)
        raw = loader(problems) if loader is not None else None
        if raw is not None:
            frames[kind] = validate(raw, ctx, problems)
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
    problems = Problems(COLUMN_ORDER)
    if not path.exists():
        raise InputError(Problem(path.name or str(path), None, None, f"no such file: {path}"))
    refuse_unread_workbook(path)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        sources = workbook_sources(path, problems, single=kind)
        loader = sources.get(kind)
        raw = loader(problems) if loader is not None else None
    else:
        raw = load_csv(path, kind, problems)
    if raw is None:
        problems.raise_if_any()
        return empty(kind)
    known = ids_of(known_responders)
    ctx = CheckContext(tz, known_roles, known, "not among the stored responders")
    out = validate(raw, ctx, problems)
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
    problems = Problems(COLUMN_ORDER)
    for c in spec.values():
        if c.required and c.name not in rows.columns:
            problems.add(Problem(name, None, c.name, "required column is missing"))
    text = pl.col(rows.columns).cast(pl.String).str.strip_chars()
    frame = rows.select(pl.when(text == "").then(None).otherwise(text).name.keep()).with_columns(
        pl.Series(LINE, numbers, dtype=pl.Int64)
    )
    ctx = CheckContext(tz, known_roles, ids_of(known_responders), ref_source)
    out = validate(RawTable(name, kind, frame, frozenset(rows.columns), 0), ctx, problems)
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
    problems = Problems(COLUMN_ORDER)
    rules, roles = read_rules_into(Path(path), known_roles, problems)
    problems.raise_if_any()
    return rules, roles


def folder_sources(path: Path, problems: Problems) -> dict[str, Callable[[Problems], RawTable | None] | None]:
    sources: dict[str, Callable[[Problems], RawTable | None] | None] = {}
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
            sources[kind] = functools.partial(load_csv, file, kind)
        elif kind == "responders":
            problems.add(
                Problem("responders.csv", None, None, f"missing: a bundle needs responders.csv in {path}")
            )
    return sources
