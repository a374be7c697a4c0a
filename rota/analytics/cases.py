"""Reading `cases.csv` (docs/cases.md): pseudonymised CDOP case data, checked all or nothing.

Every bad value is collected as a `Problem` (file, line, column, reason) and one `InputError` lists them
all. Times follow docs/time.md and are parsed by the bundle's vectorised parser, with its clock-change
policy: a local time without an offset that does not exist or happens twice is refused.

Line numbers count the header as line 1; a quoted value spanning lines is allowed and is reported at the
line its row starts on. Blank rows are skipped.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

import polars as pl

from rota.analytics.reasons import REASON_CATEGORIES, category_code, identifying_text, with_reason_category
from rota.csvcheck import (
    LINE,
    TRUE_WORDS,
    Problems,
    blank_reason,
    instant_lookup,
    instant_reason,
    typed_lookup,
)
from rota.errors import InputError, Problem
from rota.limits import ID_MAX, TextClass, bad_text_mask, excerpt, text_reason
from rota.model import CASES
from rota.timeutil import SERVICE_TZ

_LINE = LINE
_BOM = "\ufeff"

# The columns, required ones and types are those of the one case record (rota.model.CASES, docs/cases.md).
TIME_COLUMNS: tuple[str, ...] = CASES.of_type("instant")
REQUIRED: tuple[str, ...] = CASES.required
CASE_COLUMNS: tuple[str, ...] = CASES.names
CASES_SCHEMA: dict[str, pl.DataType] = CASES.schema

# Column names that identify a child, compared lower case without spaces, underscores, hyphens or dots.
_IDENTIFYING = frozenset(
    {
        "name",
        "fullname",
        "firstname",
        "forename",
        "forenames",
        "givenname",
        "surname",
        "lastname",
        "familyname",
        "nhsnumber",
        "nhsno",
        "nhs",
        "dateofbirth",
        "dob",
        "birthdate",
        "address",
        "postcode",
        "postalcode",
        "zipcode",
    }
)
_ORDER = {c: i for i, c in enumerate(CASE_COLUMNS)}
# The length and characters each column may hold (rota.limits; docs/cases.md): an id, a name, free text;
# the other columns hold short typed values (times, numbers, true/false) and are held to an id's length.
_LIMITS: dict[str, TextClass] = CASES.limits
_TEXT: tuple[str, ...] = CASES.of_type("text")
_STEPS: tuple[str, ...] = TIME_COLUMNS[1:]


def empty_cases() -> pl.DataFrame:
    """A frame with no cases and the columns and types `read_cases` returns."""
    return pl.DataFrame(schema=CASES_SCHEMA)


def identifying(column: str) -> bool:
    """Whether a column name identifies a child (name, NHS number, date of birth, address, postcode)."""
    key = re.sub(r"[\s_\-.]", "", column.lower())
    return key in _IDENTIFYING or key.startswith("address")


def read_cases(path: Path, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Read and check a cases.csv file; the columns of `CASES_SCHEMA`, one row per case, times in UTC."""
    path = Path(path)
    name = path.name or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem(name, None, None, f"no such file: {path}")) from None
    except IsADirectoryError:
        raise InputError(Problem(name, None, None, "is a folder, not a CSV file")) from None
    except OSError as exc:
        raise InputError(Problem(name, None, None, f"cannot read the file ({exc.strerror or exc})")) from None
    return parse_cases(data, name, tz)


def parse_cases(data: bytes, name: str = "cases.csv", tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Check the bytes of a cases.csv file (see `read_cases`); `name` stands for the file in messages."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(Problem(name, line, None, "not a UTF-8 CSV file; save it as 'CSV UTF-8'")) from None
    text = text.removeprefix(_BOM)
    if "\x00" in text:
        raise InputError(Problem(name, None, None, "not a UTF-8 CSV file: it holds binary data"))
    if not text.strip():
        raise InputError(
            Problem(name, None, None, "the file is empty; it needs a header line naming the columns")
        )
    problems = Problems()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows: list[list[str]] = []
        lines: list[int] = []
        last = reader.line_num
        for row in reader:
            start = last + 1
            last = reader.line_num
            if not any(v.strip() for v in row):
                continue
            if len(row) != len(header):
                problems.add(
                    Problem(name, start, None, f"has {len(row)} fields but the header has {len(header)}")
                )
                continue
            rows.append(row)
            lines.append(start)
    except csv.Error as exc:
        raise InputError(Problem(name, reader.line_num, None, f"cannot read as CSV ({exc})")) from None

    chosen = _check_header(header, name, problems)
    columns = {col: [r[i].strip() or None for r in rows] for col, i in chosen.items()}
    frame = pl.DataFrame(
        {**columns, _LINE: lines}, schema={**dict.fromkeys(columns, pl.String()), _LINE: pl.Int64()}
    )
    out = _validate(frame, set(chosen), name, tz, problems)
    problems.raise_if_any()
    return out


def _check_header(header: list[str], name: str, problems: Problems) -> dict[str, int]:
    allowed = ", ".join(CASE_COLUMNS)
    chosen: dict[str, int] = {}
    for i, raw in enumerate(header):
        shown = raw.strip().removeprefix(_BOM)
        col = shown.lower()
        if not col:
            problems.add(Problem(name, 1, None, f"column {i + 1} has no name in the header"))
        elif identifying(col):
            problems.add(
                Problem(
                    name,
                    1,
                    shown,
                    "cases.csv holds pseudonymised data only: "
                    f"column {shown!r} identifies a child; remove it",
                )
            )
        elif col in chosen:
            problems.add(Problem(name, 1, col, "the column appears more than once in the header"))
        elif col in _ORDER:
            chosen[col] = i
        else:
            problems.add(Problem(name, 1, shown, f"unknown column; the allowed columns are {allowed}"))
    for c in REQUIRED:
        if c not in chosen:
            problems.add(Problem(name, 1, c, "required column is missing from the header"))
    return chosen


def _limit_reason(column: str, cls: TextClass, value: str | None) -> str:
    text = value or ""
    if column not in _TEXT and len(text) > ID_MAX:
        return f"{excerpt(text)} is {len(text)} characters long: too long to be a {column}"
    return text_reason(column, text, cls) or f"{column} {excerpt(text)} is not allowed"


def _validate(df: pl.DataFrame, present: set[str], file: str, tz: tzinfo, problems: Problems) -> pl.DataFrame:
    missing = [c for c in CASE_COLUMNS if c not in df.columns]
    df = df.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])

    def report(mask: pl.Series, column: str, reason: Callable[[str | None], str]) -> None:
        if not mask.any():
            return
        problems.report_rows(
            df.filter(mask).select(_LINE, column),
            lambda row: Problem(
                file, int(str(row[0])), column, reason(None if row[1] is None else str(row[1]))
            ),
        )

    for c in REQUIRED:
        if c in present:
            values = df.get_column(c)
            report(values.is_null(), c, functools.partial(blank_reason, c))

    # Lengths and control characters first; a value refused here is left out of the later checks.
    for c in (c for c in CASE_COLUMNS if c in present):
        cls = _LIMITS.get(c, "id")
        bad = bad_text_mask(df.get_column(c), cls)
        if bad.any():
            report(bad, c, functools.partial(_limit_reason, c, cls))
            df = df.with_columns(pl.when(bad).then(None).otherwise(pl.col(c)).alias(c))

    typed: dict[str, pl.Series] = {}
    for c in ("jar_criteria_met", "jar_triggered"):
        values = df.get_column(c)
        out = values.str.to_lowercase().replace_strict(
            list(TRUE_WORDS), list(TRUE_WORDS.values()), default=None, return_dtype=pl.Boolean
        )
        report(
            values.is_not_null() & out.is_null(),
            c,
            lambda v: f"{v!r} is not true or false (yes/no and 1/0 are accepted too)",
        )
        typed[c] = out

    def whole(c: str, hi: int, what: str) -> pl.Series:
        values = df.get_column(c)
        number = values.str.strip_chars().cast(pl.Int64, strict=False)
        ok = values.str.contains(r"^[0-9]{1,4}$") & number.is_between(0, hi)
        report(values.is_not_null() & ~ok.fill_null(False), c, lambda v: f"{v!r} is not {what}")
        return pl.select(pl.when(ok.fill_null(False)).then(number)).to_series()

    typed["age_years"] = whole("age_years", 17, "an age in whole years from 0 to 17")
    typed["age_days"] = whole("age_days", 364, "an age in whole days from 0 to 364")
    report(
        df.get_column("age_days").is_not_null() & (typed["age_years"] != 0).fill_null(False),
        "age_days",
        lambda _v: "age_days is for infants only; leave it blank when age_years is not 0",
    )

    typed.update(
        typed_lookup(
            df,
            list(TIME_COLUMNS),
            lambda u: instant_lookup(u, tz),
            lambda v: instant_reason(v, tz),
            file,
            problems,
        )
    )

    # A step cannot come before the notification that starts the JAR clock: such a time is mistyped.
    notified = typed["notified_at"]
    for c in _STEPS:
        before = (typed[c] < notified).fill_null(False)
        if before.any():
            rows = df.select(_LINE, pl.col(c).alias("step"), pl.col("notified_at").alias("notified"))
            for line, step, when in rows.filter(before).iter_rows():
                problems.add(
                    Problem(
                        file,
                        line,
                        c,
                        f"{c} {step} is before notified_at {when}; a step of the response cannot come "
                        "before the notification: check the date and time (and its UTC offset)",
                    )
                )

    ids = df.get_column("case_id")
    if ids.drop_nulls().n_unique() != ids.drop_nulls().len():
        firsts: dict[str, int] = {}
        for value, line in df.filter(ids.is_not_null()).select("case_id", _LINE).iter_rows():
            if value in firsts:
                problems.add(
                    Problem(
                        file, line, "case_id", f"duplicate case_id {value!r} (first on line {firsts[value]})"
                    )
                )
            else:
                firsts[value] = line

    check_free_text(df, file, problems)
    for c in CASE_COLUMNS:
        typed.setdefault(c, df.get_column(c))
    cases = pl.DataFrame([typed[c].alias(c).cast(CASES_SCHEMA[c]) for c in CASE_COLUMNS])
    return with_reason_category(cases)


# Free-text columns checked for identifying details (a case_id is checked too: it must be a pseudonym).
FREE_TEXT_COLUMNS: tuple[str, ...] = ("case_id", "category", "reason_incomplete", "reason_category")


def check_free_text(df: pl.DataFrame, file: str, problems: Problems) -> None:
    """Refuse free text that looks like it identifies a child (a title and name, a date of birth or other
    date, a postcode, an NHS number: `rota.analytics.reasons.identifying_text`) and unknown reason
    categories. The message names the file, line and column and what was seen, never the text itself."""
    for c in FREE_TEXT_COLUMNS:
        if c not in df.columns:
            continue
        for line, value in df.select(_LINE, c).iter_rows():
            found = identifying_text(value)
            if found is not None:
                problems.add(
                    Problem(
                        file,
                        line,
                        c,
                        f"looks like it holds {found}; cases.csv holds pseudonymised data only, so remove "
                        "names, dates of birth, postcodes and NHS numbers from the text",
                    )
                )
    if "reason_category" in df.columns:
        for line, value in df.select(_LINE, "reason_category").iter_rows():
            if value is not None and category_code(value) is None and identifying_text(value) is None:
                problems.add(
                    Problem(
                        file,
                        line,
                        "reason_category",
                        f"{value!r} is not a reason category; use one of {', '.join(REASON_CATEGORIES)} "
                        "(or leave it blank to have it worked out from reason_incomplete)",
                    )
                )
