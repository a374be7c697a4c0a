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
from typing import NamedTuple

import polars as pl

from rota.csvcheck import polars_zone
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
    """Union of [start, end) intervals within each key group (touching intervals merge).

    The result keeps the sort order (keys, start)."""
    if df.height == 0:
        return df.select([*keys, "start", "end"])
    df = df.sort([*keys, "start"])
    prev_end = pl.col("end").cum_max().shift(1).over(keys)
    return (
        df.with_columns(
            (prev_end.is_null() | (pl.col("start") > prev_end)).cast(pl.UInt32).cum_sum().alias("_grp")
        )
        .group_by("_grp", maintain_order=True)
        .agg(pl.col(keys).first(), pl.col("start").min(), pl.col("end").max())
        .drop("_grp")
    )


def _local_midnights(dates: pl.Expr, zone: str) -> pl.Expr:
    """00:00 local (in the zone polars knows as `zone`) on each date as a UTC instant, vectorised (null
    where midnight does not exist)."""
    return (
        dates.cast(pl.Datetime("us"))
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
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
    far = end + timedelta(days=1)
    until_next = pl.col("valid_until") + timedelta(days=1)
    zone = polars_zone(tz)
    if zone is not None:
        tr = tr.with_columns(
            _local_midnights(pl.col("valid_from"), zone).alias("start"),
            _local_midnights(until_next, zone).alias("end"),
        )
        missing = tr.filter(
            pl.col("start").is_null() | (pl.col("end").is_null() & pl.col("valid_until").is_not_null())
        )
    else:
        missing = tr
    if missing.height:  # a midnight that does not exist (or an unnamed zone): the exact Python rule
        starts = _day_starts(
            pl.concat([tr["valid_from"], tr["valid_until"].drop_nulls() + timedelta(days=1)]), tz
        )
        tr = tr.with_columns(
            pl.col("valid_from").replace_strict(starts, return_dtype=UTC_US).alias("start"),
            until_next.replace_strict(starts, default=None, return_dtype=UTC_US).alias("end"),
        )
    tr = tr.with_columns(pl.col("end").fill_null(_lit(far))).filter(
        (pl.col("end") > pl.col("start")) & (pl.col("end") > _lit(start)) & (pl.col("start") < _lit(end))
    )
    return _merge(tr.select(_RID, "competency", "start", "end"), [_RID, "competency"])


class _Prepared(NamedTuple):
    """What every rule of one engine call shares, computed once: integer responder codes, each
    (responder, role)'s on-duty-and-not-absent intervals, and training validity."""

    codes: pl.DataFrame  # _rc, responder_id, role: active responders, codes in (responder_id, role) order
    duty: pl.DataFrame  # _rc, role, start, end: maximal, unclipped
    training: pl.DataFrame  # _rc, competency, start, end: merged per competency


def _by_code_then_time(ev: pl.DataFrame) -> pl.DataFrame:
    """Sort events by (_rc, t). One sort on a packed Int64 key (code in the high bits, microseconds since
    the earliest event in the low bits) is faster than a two-key sort or two single-key sorts; the order
    of events within one instant does not matter to the running sums."""
    if ev.height == 0:
        return ev
    micros = pl.col("t").dt.epoch("us")
    first, last, top = ev.select(micros.min().alias("a"), micros.max().alias("b"), pl.col("_rc").max()).row(0)
    span_bits = max(1, int(last - first).bit_length())
    if span_bits + int(top).bit_length() > 62:  # would not fit: two stable single-key sorts
        return ev.sort("t").sort("_rc", maintain_order=True)
    return ev.sort(pl.col("_rc").cast(pl.Int64) * (1 << span_bits) + (micros - first))


def _runs(ev: pl.DataFrame, on: pl.Expr) -> pl.DataFrame:
    """Maximal intervals per `_rc` where `on` holds, `on` being a test of running sums of the event deltas.

    `ev` holds `_rc`, `t` and delta columns; the deltas of every `_rc` sum to zero, so running sums over
    the whole sorted frame equal running sums per `_rc`."""
    ev = _by_code_then_time(ev)
    rc, t, q = pl.col("_rc"), pl.col("t"), pl.col("q")
    last_of_instant = (t != t.shift(-1)) | (rc != rc.shift(-1)) | t.shift(-1).is_null()
    steps = ev.with_columns(on.alias("q")).filter(last_of_instant)
    changes = steps.filter((q != q.shift(1)) | (rc != rc.shift(1)) | q.shift(1).is_null()).filter(
        q | (rc == rc.shift(1))
    )
    return changes.with_columns(t.shift(-1).alias("end")).filter(q).select("_rc", t.alias("start"), "end")


def _prepare(
    rota: Rota, competencies: Sequence[str], start: datetime, end: datetime, tz: tzinfo
) -> _Prepared:
    lo, hi = _lit(start), _lit(end)
    codes = (
        rota.responders.filter(pl.col("active").fill_null(True))
        .select(_RID, "role")
        .unique()
        .sort(_RID, "role")
        .with_row_index("_rc")
    )
    window = (pl.col("end") > lo) & (pl.col("start") < hi)
    one, zero = pl.lit(1, pl.Int32), pl.lit(0, pl.Int32)
    parts = []
    for frame, col, other in ((rota.shifts, "ds", "da"), (rota.absences, "da", "ds")):
        f = frame.select(_RID, "start", "end").filter(window).join(codes.select(_RID, "_rc"), on=_RID)
        parts.append(f.select("_rc", pl.col("start").alias("t"), one.alias(col), zero.alias(other)))
        parts.append(f.select("_rc", pl.col("end").alias("t"), (-one).alias(col), zero.alias(other)))
    duty = _runs(
        pl.concat(parts, how="diagonal"), (pl.col("ds").cum_sum() > 0) & (pl.col("da").cum_sum() == 0)
    )
    duty = duty.with_columns(codes.get_column("role").gather(duty.get_column("_rc")).alias("role"))
    training = (
        _training_intervals(rota, codes.select(_RID).unique(), competencies, start, end, tz)
        .join(codes.select(_RID, "_rc"), on=_RID)
        .select("_rc", "competency", "start", "end")
    )
    return _Prepared(codes, duty, training)


def _qualified(prep: _Prepared, rule: Rule, start: datetime, end: datetime) -> pl.DataFrame:
    """Columns _rc, start, end, in no particular order: maximal intervals clipped to [start, end)."""
    comps = list(dict.fromkeys(rule.competencies))
    lo, hi = _lit(start), _lit(end)
    duty = prep.duty.filter(pl.col("role") == rule.role)
    if not comps:  # a rule that asks for no competency: everyone of the role on duty counts
        return duty.select(
            "_rc", pl.max_horizontal("start", lo).alias("start"), pl.min_horizontal("end", hi).alias("end")
        ).filter(pl.col("end") > pl.col("start"))
    tr = prep.training.filter(pl.col("competency").is_in(comps))
    one = pl.lit(1, pl.Int32)
    ev = pl.concat(
        [
            tr.select("_rc", pl.col("start").alias("t"), one.alias("dc")),
            tr.select("_rc", pl.col("end").alias("t"), (-one).alias("dc")),
        ]
    )
    competent = _runs(ev, pl.col("dc").cum_sum() == len(comps))
    # both sides are disjoint and maximal per _rc, so their pairwise overlaps are too
    return (
        duty.join(competent, on="_rc", suffix="_c")
        .select(
            "_rc",
            pl.max_horizontal("start", "start_c", lo).alias("start"),
            pl.min_horizontal("end", "end_c", hi).alias("end"),
        )
        .filter(pl.col("end") > pl.col("start"))
    )


def qualified_intervals(
    rota: Rota, rule: Rule, start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """Per responder, the maximal intervals within [start, end) in which they count for `rule`.

    Columns: responder_id, start, end. Intervals of one responder never overlap, so a responder with
    overlapping shifts is counted once.
    """
    _check_range(start, end)
    prep = _prepare(rota, rule.competencies, start, end, tz)
    q = _qualified(prep, rule, start, end).sort("start").sort("_rc", maintain_order=True)
    ids = prep.codes.get_column(_RID)
    return q.select(ids.gather(q.get_column("_rc")).alias(_RID), "start", "end")


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
    prep = _prepare(rota, sorted({c for r in rules for c in r.competencies}), start, end, tz)
    parts: list[pl.DataFrame] = []
    cut_frame = pl.DataFrame({"t": list(cuts)}, schema={"t": UTC_US}).filter(
        (pl.col("t") > _lit(start)) & (pl.col("t") < _lit(end))
    )
    for rule in rules:
        key = (rule.role, tuple(sorted(rule.competencies)))
        if key not in profiles:
            profiles[key] = _qualified(prep, rule, start, end)
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
