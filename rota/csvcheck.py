"""Checks shared by the readers of CSV input (the rota bundle, cases.csv): problems collected per file,
yes/no words, and vectorised parsing of dates and instants with readable reasons for the bad values.

Parsing is vectorised in polars; the per-value parsers of `rota.timeutil` run only on the few bad values,
to word their messages. Rows carry their line number in the column `LINE`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

import polars as pl

from rota.errors import InputError, Problem
from rota.limits import EARLIEST_DATE, LATEST_DATE
from rota.model import UTC_US
from rota.output import FORMULA_GUARD, FORMULA_TRIGGERS
from rota.timeutil import (
    DATE_FORMS,
    INSTANT_FORMS,
    TimeParseError,
    parse_date,
    parse_instant,
    parse_offset,
)

LINE = "__line"
"""The column holding each row's line number in the file (the header is line 1)."""

TRUE_WORDS: dict[str, bool] = {
    "true": True,
    "yes": True,
    "1": True,
    "y": True,
    "false": False,
    "no": False,
    "0": False,
    "n": False,
}
"""The accepted spellings of a boolean (lower case)."""

# The accepted instant forms (timeutil.parse_instant), with ASCII digits and in-range clock fields.
ISO_RE = (
    r"^(?<y>[0-9]{4})-(?<m>[0-9]{2})-(?<d>[0-9]{2})[T ](?<H>[01][0-9]|2[0-3]):(?<M>[0-5][0-9])"
    r"(?::(?<S>[0-5][0-9]))?(?<off>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
UK_RE = (
    r"^(?<d>[0-9]{2})/(?<m>[0-9]{2})/(?<y>[0-9]{4}) (?<H>[01][0-9]|2[0-3]):(?<M>[0-5][0-9])"
    r"(?::(?<S>[0-5][0-9]))?$"
)
ISO_DATE_RE = r"^(?<y>[0-9]{4})-(?<m>[0-9]{2})-(?<d>[0-9]{2})$"
UK_DATE_RE = r"^(?<d>[0-9]{2})/(?<m>[0-9]{2})/(?<y>[0-9]{4})$"


MAX_KEPT_PROBLEMS = 2_000
"""Problems kept per read; the rest are only counted, so a huge bad file costs no more than a small one."""
_UNGUARD = "^" + FORMULA_GUARD + "+[" + re.escape(FORMULA_TRIGGERS) + "]"


def unguard_formula(e: pl.Expr) -> pl.Expr:
    """Take off the ' that the product's CSV writers put before a cell starting with = + - @, tab or
    carriage return (rota.output.neutralise), so that an export reads back as it was: "'=Bob" -> "=Bob",
    "''=x" -> "'=x". Exactly one ' goes, and only when apostrophes lead to one of those characters."""
    return pl.when(e.str.contains(_UNGUARD)).then(e.str.slice(1)).otherwise(e)


class Problems:
    """Problems found so far, kept per file in the order the files were read.

    `column_order` (column name -> position) orders the problems of one line; columns not in it come
    last, in the order they were found. Only the first `limit` are kept; later ones are counted
    (`omitted`), and `room()` tells a loop over bad rows how many more are worth wording.
    """

    def __init__(self, column_order: Mapping[str, int] | None = None, limit: int = MAX_KEPT_PROBLEMS) -> None:
        self._by_file: dict[str, list[Problem]] = {}
        self._order: Mapping[str, int] = column_order or {}
        self._limit = limit
        self._kept = 0
        self.omitted = 0

    def add(self, problem: Problem) -> None:
        if self._kept >= self._limit:
            self.omitted += 1
            return
        self._kept += 1
        self._by_file.setdefault(problem.file, []).append(problem)

    def room(self) -> int:
        """How many more problems will be kept."""
        return max(0, self._limit - self._kept)

    def skip(self, n: int) -> None:
        """Count `n` problems found but not worded (beyond `room()`)."""
        self.omitted += max(0, n)

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(p)

    def __bool__(self) -> bool:
        return self.omitted > 0 or any(self._by_file.values())

    def count(self, file: str) -> int:
        return len(self._by_file.get(file, ()))

    def sorted(self) -> list[Problem]:
        out: list[Problem] = []
        order = self._order
        for problems in self._by_file.values():
            out.extend(sorted(problems, key=lambda p: (p.line or 0, order.get(p.column or "", 99))))
        return out

    def raise_if_any(self) -> None:
        if self:
            raise InputError(self.sorted(), omitted=self.omitted)

    def report_rows(self, rows: pl.DataFrame, make: Callable[[tuple[object, ...]], Problem]) -> None:
        """Add one problem per row of `rows` (made by `make` from the row), wording only as many as are
        kept and counting the rest."""
        room = self.room()
        for row in rows.head(room).iter_rows():
            self.add(make(row))
        self.skip(rows.height - room)


def blank_reason(column: str, _value: str | None) -> str:
    return f"{column} is blank; it is required"


def typed_lookup(
    df: pl.DataFrame,
    columns: list[str],
    parse: Callable[[pl.Series], pl.Series],
    reason: Callable[[str], str],
    file: str,
    problems: Problems,
) -> dict[str, pl.Series]:
    """Parse the distinct values of some columns once, then map every row to its parsed value.

    `df` holds the columns as text and the line numbers in `LINE`; every value `parse` leaves null is
    reported as a problem worded by `reason`.
    """
    uniques = pl.concat([df.get_column(c) for c in columns]).drop_nulls().unique()
    parsed = parse(uniques)
    lookup = pl.DataFrame({"text": uniques, "value": parsed})
    any_bad = bool(lookup.select(pl.col("value").is_null().any()).item())
    reasons: dict[str, str] = {}  # worded only for the problems kept (a huge bad file has millions)

    def why(text: str) -> str:
        if text not in reasons:
            reasons[text] = reason(text)
        return reasons[text]

    out: dict[str, pl.Series] = {}
    for c in columns:
        joined = df.select(pl.col(c).alias("text"), LINE).join(
            lookup, on="text", how="left", maintain_order="left"
        )
        value = joined.get_column("value")
        if any_bad:
            bad = joined.filter(pl.col("text").is_not_null() & pl.col("value").is_null())
            problems.report_rows(bad.select("text", LINE), functools.partial(_typed_problem, file, c, why))
        out[c] = value
    return out


def _typed_problem(file: str, column: str, why: Callable[[str], str], row: tuple[object, ...]) -> Problem:
    text, line = row
    return Problem(file, int(str(line)), column, why(str(text)))


# --------------------------------------------------------------------------------------------------------
# Dates and times, vectorised


def polars_zone(tz: tzinfo) -> str | None:
    """The IANA name polars knows for `tz`, or None."""
    key = tz.key if isinstance(tz, ZoneInfo) else ("UTC" if tz is UTC else None)
    if key is None:
        return None
    try:
        pl.select(pl.datetime(2026, 1, 1).dt.replace_time_zone(key))
    except pl.exceptions.PolarsError:
        return None
    return key


def date_lookup(texts: pl.Series) -> pl.Series:
    """Dates for distinct texts (`YYYY-MM-DD` or `DD/MM/YYYY`; null where a text is not a real date)."""
    f = pl.DataFrame({"t": texts})
    iso = pl.col("t").str.extract_groups(ISO_DATE_RE)
    uk = pl.col("t").str.extract_groups(UK_DATE_RE)
    parts = [pl.coalesce(iso.struct.field(k), uk.struct.field(k)) for k in ("y", "m", "d")]
    text = pl.concat_str([parts[0], pl.lit("-"), parts[1], pl.lit("-"), parts[2]])
    parsed = text.str.strptime(pl.Date(), "%Y-%m-%d", strict=False)
    # Dates outside the accepted range are bad input (docs/bundle.md, "Limits"): left null here, and
    # date_reason says why.
    return f.select(
        pl.when(parsed.is_between(EARLIEST_DATE, LATEST_DATE)).then(parsed).otherwise(None)
    ).to_series()


def date_reason(text: str) -> str:
    """Why `text` is not an accepted date."""
    try:
        parse_date(text)
    except TimeParseError as exc:
        return str(exc)
    return f"cannot read {text!r} as a date; use {DATE_FORMS}"


def instant_lookup(texts: pl.Series, tz: tzinfo) -> pl.Series:
    """UTC instants for distinct texts (null where a text is not an accepted instant or the local time
    does not exist or happens twice)."""
    f = pl.DataFrame({"t": texts})
    iso = pl.col("t").str.extract_groups(ISO_RE)
    uk = pl.col("t").str.extract_groups(UK_RE)
    parts = f.select(
        *[pl.coalesce(iso.struct.field(k), uk.struct.field(k)).alias(k) for k in ("y", "m", "d", "H", "M")],
        pl.coalesce(iso.struct.field("S"), uk.struct.field("S"), pl.lit("00")).alias("S"),
        iso.struct.field("off").alias("off"),
    )
    offsets = parts.get_column("off").drop_nulls().unique().to_list()
    minutes: dict[str, int | None] = {}
    for off in offsets:
        try:
            minutes[off] = int(parse_offset(off).total_seconds() // 60)
        except TimeParseError:
            minutes[off] = None
    wall_text = pl.concat_str(
        [
            pl.col("y"),
            pl.lit("-"),
            pl.col("m"),
            pl.lit("-"),
            pl.col("d"),
            pl.lit(" "),
            pl.col("H"),
            pl.lit(":"),
            pl.col("M"),
            pl.lit(":"),
            pl.col("S"),
        ]
    )
    wall = wall_text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    # A wall time whose date is outside the accepted range is bad input (docs/bundle.md, "Limits").
    in_range = wall.dt.date().is_between(EARLIEST_DATE, LATEST_DATE)
    frame = parts.select(
        pl.when(in_range).then(wall).otherwise(None).alias("wall"),
        pl.col("off"),
        pl.col("off")
        .replace_strict(list(minutes), list(minutes.values()), default=None, return_dtype=pl.Int64)
        .alias("minutes"),
    )
    fixed = (pl.col("wall") - pl.duration(minutes=pl.col("minutes"))).dt.replace_time_zone("UTC")
    has_offset = pl.col("off").is_not_null()
    local_rows = frame.filter(~has_offset & pl.col("wall").is_not_null())
    key = polars_zone(tz)
    if local_rows.height == 0:
        local: pl.Expr = pl.lit(None, dtype=UTC_US)
    elif key is not None:
        local = (
            pl.col("wall")
            .dt.replace_time_zone(key, ambiguous="null", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
    elif isinstance(tz, timezone):
        shift = tz.utcoffset(None)
        local = (pl.col("wall") - pl.lit(shift)).dt.replace_time_zone("UTC")
    else:  # an unusual tzinfo: fall back to the per-value parser for values without an offset
        values = [
            try_instant(t, tz) if off is None else None
            for t, off in zip(texts.to_list(), frame.get_column("off").to_list(), strict=True)
        ]
        frame = frame.with_columns(pl.Series("py", values, dtype=UTC_US))
        local = pl.col("py")
    result = frame.select(
        pl.when(has_offset).then(fixed).otherwise(local).cast(UTC_US).alias("instant")
    ).to_series()
    return result


def try_instant(text: str, tz: tzinfo) -> datetime | None:
    """`parse_instant`, or None when the text is not an accepted instant."""
    try:
        return parse_instant(text, tz)
    except TimeParseError:
        return None


def instant_reason(text: str, tz: tzinfo) -> str:
    """Why `text` is not an accepted instant in `tz`."""
    try:
        parse_instant(text, tz)
    except TimeParseError as exc:
        msg = str(exc)
        return msg if text in msg else f"cannot read {text!r}: {msg}"
    return f"cannot read {text!r} as a date and time; use {INSTANT_FORMS}"
