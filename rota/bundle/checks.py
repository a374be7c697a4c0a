"""Checking a raw table's values and turning it into the canonical frame of its kind: required values,
lengths, roles, booleans, shift kinds, references, dates and instants, then duplicate keys and order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import polars as pl

from rota.bundle.common import (
    COLUMNS,
    MAX_SHIFT,
    CheckContext,
    RawTable,
)
from rota.csvcheck import (
    LINE,
    TRUE_WORDS,
    Problems,
    blank_reason,
    date_lookup,
    date_reason,
    instant_lookup,
    instant_reason,
    typed_lookup,
)
from rota.errors import Problem
from rota.limits import ID_MAX, bad_text_mask, excerpt, text_reason
from rota.model import RECORDS, Column, conform
from rota.vocab import DEFAULT_SHIFT_KIND, ShiftKind, values_of

_SHIFT_KINDS: tuple[str, ...] = values_of(ShiftKind)  # docs/bundle.md "Columns and words"
# The records whose natural key (rota.model) spans columns: the column a repeat is reported in, and why.
_KEY_PROBLEMS: dict[str, tuple[str, Callable[[tuple[Any, ...], int], str]]] = {
    "training": (
        "valid_from",
        lambda k, first: (
            f"{k[0]}'s {k[1]} training from {k[2]} is already on line {first}; "
            "give each certificate once (a renewal starts on a later valid_from)"
        ),
    ),
    "absences": (
        "start",
        lambda k, first: (
            f"{k[0]}'s absence from {k[1]} to {k[2]} is already on line {first}; give each absence once"
        ),
    ),
}


def validate(raw: RawTable, ctx: CheckContext, problems: Problems) -> pl.DataFrame:
    """Turn a raw String frame into the canonical frame of its kind, recording every bad value."""
    kind, file = raw.kind, raw.file
    spec = COLUMNS[kind]
    df = raw.frame
    missing = [c.name for c in spec if c.name not in df.columns]
    if missing:
        df = df.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    lines = df.get_column(LINE)

    def report(mask: pl.Series, column: str, reason: Callable[[str | None], str]) -> None:
        if not mask.any():
            return
        bad = df.filter(mask).select(LINE, column)
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
            out = _words(values, {r.lower(): r for r in ctx.roles}, pl.String)
            report(
                values.is_not_null() & out.is_null(),
                c.name,
                lambda v: f"unknown role {v!r}; the known roles are {', '.join(ctx.roles)}",
            )
            typed[c.name] = out
        elif c.type == "bool":
            out = _words(values, TRUE_WORDS, pl.Boolean)
            report(
                values.is_not_null() & out.is_null(),
                c.name,
                lambda v: f"{v!r} is not true or false (yes/no and 1/0 are accepted too; blank = true)",
            )
            typed[c.name] = out.fill_null(True)
        elif c.type == "kind":
            kinds = pl.Series(_SHIFT_KINDS).implode()
            if not (values.is_in(kinds) | values.is_null()).all():
                values = values.str.to_lowercase().str.replace_all(r"[\s_\-]", "")
                report(
                    values.is_not_null() & ~values.is_in(kinds),
                    c.name,
                    lambda v: (
                        f"kind must be {' or '.join(_SHIFT_KINDS)} (blank = {DEFAULT_SHIFT_KIND}), not {v!r}"
                    ),
                )
            typed[c.name] = values.fill_null(DEFAULT_SHIFT_KIND.value)
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
    result = pl.DataFrame([typed[c.name].alias(c.name) for c in spec]).with_columns(lines.alias(LINE))

    _cross_checks(kind, result, df, file, problems)
    return conform(kind, result.drop(LINE))


def _words(values: pl.Series, words: Mapping[str, object], dtype: type[pl.DataType]) -> pl.Series:
    """`values` read case-blind as one of `words` (lower-case text -> value); null where it is none."""
    return values.str.to_lowercase().replace_strict(
        list(words), list(words.values()), default=None, return_dtype=dtype
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _limit_reason(col: Column, value: str | None) -> str:
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
        for value, line in out.filter(values.is_not_null()).select(column, LINE).iter_rows():
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
        for row in keyed.select(LINE, *columns, *texts).iter_rows():
            line, key, shown = row[0], row[1 : 1 + len(columns)], row[1 + len(columns) :]
            if key in firsts:
                problems.add(Problem(file, line, column, reason(shown, firsts[key])))
            else:
                firsts[key] = line

    key = RECORDS[kind].key
    if kind in _KEY_PROBLEMS:
        column, reason = _KEY_PROBLEMS[kind]
        duplicate_keys(list(key), column, reason)
    elif len(key) == 1:
        duplicates(key[0])

    def report(rows: pl.DataFrame, column: str, why: Callable[[tuple[Any, ...]], str]) -> None:
        """One problem in `column` per row of `rows` (its line first, then the values `why` words)."""
        problems.report_rows(rows, lambda r: Problem(file, int(str(r[0])), column, why(r)))

    if kind == "training":
        bad = out.filter(pl.col("valid_until") < pl.col("valid_from"))
        report(
            bad.select(LINE, "valid_from", "valid_until"),
            "valid_until",
            lambda r: f"valid_until {r[2]} is before valid_from {r[1]}",
        )
    if kind in ("shifts", "absences"):
        what = "shift" if kind == "shifts" else "absence"
        both = out.hstack(raw.select(pl.col("start").alias("start_text"), pl.col("end").alias("end_text")))
        bad = both.filter(pl.col("end") <= pl.col("start"))
        report(
            bad.select(LINE, "start_text", "end_text"),
            "end",
            lambda r: f"end {r[2]} is not after start {r[1]}; a {what} must end after it starts",
        )
        if kind == "shifts":
            long = both.filter(pl.col("end") - pl.col("start") > MAX_SHIFT)
            report(
                long.select(LINE, "start", "end"),
                "end",
                lambda r: f"the shift lasts {_duration_text(r[2] - r[1])}; a shift may last at most 7 days",
            )


def _duration_text(d: timedelta) -> str:
    hours, rest = divmod(int(d.total_seconds()) // 60, 60)
    days, hours = divmod(hours, 24)
    out = f"{days} days {hours} h"
    return out + (f" {rest} min" if rest else "")
