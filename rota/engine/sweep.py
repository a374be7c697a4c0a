"""Sweep-line coverage over interval endpoints, never an expansion into hourly or per-minute rows.

For each rule the engine builds, per responder, the intervals in which that responder is *qualified*
(on a shift, every competency of the rule valid, no absence), then sweeps the interval endpoints to get
the number of distinct qualified responders as a step function of time. Gaps are the steps inside the
rule's windows where that count is below `min_count`; the hourly grid cuts the same steps at real local
hour boundaries (23 or 25 of them on clock-change days).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.model import UTC_US, Rota
from rota.rules import Rule
from rota.timeutil import SERVICE_TZ, day_start

GAP_COLUMNS = ("rule_id", "role", "age_band", "start", "end", "required", "available", "minutes")
GRID_COLUMNS = ("hour_start", "rule_id", "role", "age_band", "required", "available", "gap_minutes")

_RID = "responder_id"


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise ValueError("end must be after start")


def _lit(t: datetime) -> pl.Expr:
    return pl.lit(t).cast(UTC_US)


def _day_starts(dates: pl.Series, tz: tzinfo) -> dict[date, datetime]:
    return {d: day_start(d, tz) for d in dates.drop_nulls().unique().to_list()}


def _merge(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Union of [start, end) intervals within each key group (touching intervals merge)."""
    if df.height == 0:
        return df.select([*keys, "start", "end"])
    df = df.sort([*keys, "start"])
    prev_end = pl.col("end").cum_max().shift(1).over(keys)
    return (
        df.with_columns(
            (prev_end.is_null() | (pl.col("start") > prev_end)).cast(pl.UInt32).cum_sum().alias("_grp")
        )
        .group_by([*keys, "_grp"])
        .agg(pl.col("start").min(), pl.col("end").max())
        .drop("_grp")
    )


def _training_intervals(
    rota: Rota,
    responders: pl.DataFrame,
    competencies: Sequence[str],
    start: datetime,
    end: datetime,
    tz: tzinfo,
) -> pl.DataFrame:
    """Each needed competency's validity in UTC: from valid_from 00:00 local to the end of valid_until."""
    tr = rota.training.join(responders.select(_RID), on=_RID, how="semi").filter(
        pl.col("competency").is_in(list(competencies))
    )
    if tr.height == 0:
        return pl.DataFrame(schema={_RID: pl.String, "competency": pl.String, "start": UTC_US, "end": UTC_US})
    until_next = tr["valid_until"].drop_nulls() + timedelta(days=1)
    starts = _day_starts(pl.concat([tr["valid_from"], until_next]), tz)
    far = end + timedelta(days=1)
    tr = tr.with_columns(
        pl.col("valid_from").replace_strict(starts, return_dtype=UTC_US).alias("start"),
        (pl.col("valid_until") + timedelta(days=1))
        .replace_strict(starts, default=None, return_dtype=UTC_US)
        .fill_null(_lit(far))
        .alias("end"),
    ).filter(
        (pl.col("end") > pl.col("start")) & (pl.col("end") > _lit(start)) & (pl.col("start") < _lit(end))
    )
    return _merge(tr.select(_RID, "competency", "start", "end"), [_RID, "competency"])


def qualified_intervals(
    rota: Rota, rule: Rule, start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """Per responder, the maximal intervals within [start, end) in which they count for `rule`.

    Columns: responder_id, start, end. Intervals of one responder never overlap, so a responder with
    overlapping shifts is counted once.
    """
    _check_range(start, end)
    lo, hi = _lit(start), _lit(end)
    responders = rota.responders.filter(
        (pl.col("role") == rule.role) & pl.col("active").fill_null(True)
    ).select(_RID)
    window = (pl.col("end") > lo) & (pl.col("start") < hi)
    shifts = rota.shifts.join(responders, on=_RID, how="semi").filter(window)
    absences = rota.absences.join(responders, on=_RID, how="semi").filter(window)
    training = _training_intervals(rota, responders, rule.competencies, start, end, tz)
    need = len(rule.competencies)

    def events(df: pl.DataFrame, column: str) -> pl.DataFrame:
        zero = {c: pl.lit(0, pl.Int32).alias(c) for c in ("ds", "da", "dc")}
        opened = {**zero, column: pl.lit(1, pl.Int32).alias(column)}
        closed = {**zero, column: pl.lit(-1, pl.Int32).alias(column)}
        return pl.concat(
            [
                df.select(_RID, pl.col("start").alias("t"), *opened.values()),
                df.select(_RID, pl.col("end").alias("t"), *closed.values()),
            ]
        )

    ev = pl.concat([events(shifts, "ds"), events(absences, "da"), events(training, "dc")])
    state = (
        ev.group_by(_RID, "t")
        .agg(pl.col("ds", "da", "dc").sum())
        .sort(_RID, "t")
        .with_columns(
            pl.col("ds").cum_sum().over(_RID).alias("s"),
            pl.col("da").cum_sum().over(_RID).alias("a"),
            pl.col("dc").cum_sum().over(_RID).alias("c"),
            pl.col("t").shift(-1).over(_RID).alias("next"),
        )
        .filter((pl.col("s") > 0) & (pl.col("a") == 0) & (pl.col("c") == need) & pl.col("next").is_not_null())
        .select(
            _RID,
            pl.max_horizontal("t", lo).alias("start"),
            pl.min_horizontal("next", hi).alias("end"),
        )
        .filter(pl.col("end") > pl.col("start"))
    )
    return _merge(state, [_RID]).sort(_RID, "start")


def _rule_frame(rules: Sequence[Rule]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rule_id": [r.id for r in rules],
            "role": [r.role for r in rules],
            "age_band": [r.age_band for r in rules],
            "required": [r.min_count for r in rules],
            "_order": list(range(len(rules))),
        },
        schema={
            "rule_id": pl.String,
            "role": pl.String,
            "age_band": pl.String,
            "required": pl.Int64,
            "_order": pl.Int64,
        },
    )


def qualified_timeline(
    rota: Rota,
    start: datetime,
    end: datetime,
    tz: tzinfo = SERVICE_TZ,
    rules: Sequence[Rule] | None = None,
    cuts: Sequence[datetime] = (),
) -> pl.DataFrame:
    """The step function of every rule over [start, end): one row per constant piece.

    Columns: rule_id, start, end, available (distinct qualified responders), in_window (bool), plus the
    rule's role, age_band and required. Pieces are also cut at each instant in `cuts`.
    """
    _check_range(start, end)
    rules = list(rules) if rules is not None else rota.effective_rules()
    profiles: dict[tuple[str, tuple[str, ...]], pl.DataFrame] = {}
    parts: list[pl.DataFrame] = []
    cut_frame = pl.DataFrame({"t": list(cuts)}, schema={"t": UTC_US}).filter(
        (pl.col("t") > _lit(start)) & (pl.col("t") < _lit(end))
    )
    for rule in rules:
        key = (rule.role, tuple(sorted(rule.competencies)))
        if key not in profiles:
            profiles[key] = qualified_intervals(rota, rule, start, end, tz)
        q = profiles[key]
        windows = rule.window_intervals(start, end, tz)
        win = pl.DataFrame(
            {"start": [a for a, _ in windows], "end": [b for _, b in windows]},
            schema={"start": UTC_US, "end": UTC_US},
        )
        zero = pl.lit(0, pl.Int32)
        one = pl.lit(1, pl.Int32)
        ev = pl.concat(
            [
                q.select(pl.col("start").alias("t"), one.alias("dn"), zero.alias("dw")),
                q.select(pl.col("end").alias("t"), (-one).alias("dn"), zero.alias("dw")),
                win.select(pl.col("start").alias("t"), zero.alias("dn"), one.alias("dw")),
                win.select(pl.col("end").alias("t"), zero.alias("dn"), (-one).alias("dw")),
                pl.DataFrame({"t": [start, end]}, schema={"t": UTC_US}).with_columns(
                    zero.alias("dn"), zero.alias("dw")
                ),
                cut_frame.with_columns(zero.alias("dn"), zero.alias("dw")),
            ]
        )
        parts.append(
            ev.group_by("t")
            .agg(pl.col("dn", "dw").sum())
            .sort("t")
            .select(
                pl.lit(rule.id).alias("rule_id"),
                pl.col("t").alias("start"),
                pl.col("t").shift(-1).alias("end"),
                pl.col("dn").cum_sum().cast(pl.Int64).alias("available"),
                (pl.col("dw").cum_sum() > 0).alias("in_window"),
            )
            .filter(pl.col("end").is_not_null())
        )
    timeline = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(
            schema={
                "rule_id": pl.String,
                "start": UTC_US,
                "end": UTC_US,
                "available": pl.Int64,
                "in_window": pl.Boolean,
            }
        )
    )
    return timeline.join(_rule_frame(rules), on="rule_id", how="left")


def _minutes(expr: pl.Expr) -> pl.Expr:
    """Whole minutes where exact; durations are kept to the second otherwise."""
    return expr.dt.total_seconds() / 60


def gaps(
    rota: Rota, start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ, rules: Sequence[Rule] | None = None
) -> pl.DataFrame:
    """Maximal intervals inside [start, end) and each rule's windows where fewer than `min_count`
    qualified responders are available, split where the count changes. Ordered by rule, then time."""
    tl = qualified_timeline(rota, start, end, tz, rules)
    tl = tl.with_columns((pl.col("in_window") & (pl.col("available") < pl.col("required"))).alias("_gap"))
    # consecutive pieces of one rule are contiguous: a new gap starts where the previous piece was not in
    # gap or had another count
    new_gap = ~(
        pl.col("_gap").shift(1).over("rule_id").fill_null(False)
        & (pl.col("available").shift(1).over("rule_id") == pl.col("available")).fill_null(False)
    )
    out = (
        tl.sort("_order", "start")
        .with_columns((new_gap & pl.col("_gap")).cast(pl.UInt32).cum_sum().over("rule_id").alias("_id"))
        .filter(pl.col("_gap"))
        .group_by("rule_id", "_id")
        .agg(
            pl.col("role", "age_band", "required", "available", "_order").first(),
            pl.col("start").min(),
            pl.col("end").max(),
        )
        .sort("_order", "start")
        .with_columns(_minutes(pl.col("end") - pl.col("start")).alias("minutes"))
    )
    return out.select(GAP_COLUMNS)


def hour_starts(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> list[datetime]:
    """The real local hours touching [start, end), as UTC instants: 23 or 25 a day on clock-change days."""
    _check_range(start, end)
    local = start.astimezone(tz)
    first = local.replace(minute=0, second=0, microsecond=0)
    t = first.astimezone(start.tzinfo)
    out: list[datetime] = []
    while t < end:
        out.append(t)
        t = t + timedelta(hours=1)
    return out


def coverage(
    rota: Rota, start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ, rules: Sequence[Rule] | None = None
) -> pl.DataFrame:
    """The hourly grid: one row per real local hour touching [start, end) and per rule.

    `available` is the minimum qualified count over the hour (within the range), `required` the rule's
    min_count when any of the hour is inside the rule's windows (else 0), `gap_minutes` the minutes of
    the hour in gap.
    """
    hours = hour_starts(start, end, tz)
    tl = qualified_timeline(rota, start, end, tz, rules, cuts=hours)
    hour_frame = pl.DataFrame({"hour_start": hours}, schema={"hour_start": UTC_US})
    gap_seconds = (
        pl.when(pl.col("in_window") & (pl.col("available") < pl.col("required")))
        .then((pl.col("end") - pl.col("start")).dt.total_seconds())
        .otherwise(0)
    )
    grid = (
        tl.sort("start")
        .join_asof(hour_frame, left_on="start", right_on="hour_start", strategy="backward")
        .group_by("rule_id", "hour_start")
        .agg(
            pl.col("role", "age_band", "_order").first(),
            pl.when(pl.col("in_window").any())
            .then(pl.col("required").first())
            .otherwise(0)
            .alias("required"),
            pl.col("available").min(),
            (gap_seconds.sum() / 60).alias("gap_minutes"),
        )
        .sort("hour_start", "_order")
    )
    return grid.select(GRID_COLUMNS)
