"""CDOP completion measures (docs/cases.md) over cases with `jar_criteria_met`, by period and split.

Rules chosen here where the measures' definitions are silent:
- Elapsed-time targets compare UTC instants, so "4 hours" is 4 real hours even across a clock change;
  a step done exactly at the target is met, a blank time is not met.
- Planning meeting: working days are Monday to Friday except England bank holidays (the `holidays`
  package, GB subdivision ENG). The deadline is the end (local midnight) of the 2nd working day after
  the LOCAL calendar day of the notification, whatever that day is: notified Friday -> end of Tuesday;
  notified Saturday or Sunday -> end of Tuesday. The meeting is met when strictly before that end.
- In hours: Monday to Friday, local 09:00 inclusive to 17:00 exclusive, not an England bank holiday.
- Periods run without holes from the first to the last period holding a case; every split value of the
  split is listed in every period (denominator 0 gives a null rate).
- Coverage: a case is `covered` when every rule whose age band holds the case's age_years has at least
  min_count qualified responders at notified_at, a rule outside its windows at that instant counting as
  met; a case no rule applies to is covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

import numpy as np
import polars as pl

from rota.csvcheck import polars_zone
from rota.model import UTC_US, Rota
from rota.rules import parse_age_band
from rota.timeutil import SERVICE_TZ, day_start, is_bank_holiday, is_working_day
from rota.vocab import PARTS_OF_FULL, Measure, values_of

COLUMNS: tuple[str, ...] = ("period", "split", "measure", "numerator", "denominator", "rate")
# The measures in their declared order (rota.vocab.Measure, docs/cases.md "Measures"), as plain strings.
MEASURES: tuple[str, ...] = values_of(Measure)
BY: tuple[str, ...] = ("month", "quarter", "year")
SPLITS: tuple[str, ...] = ("none", "hours", "age_band", "coverage")
SPLIT_VALUES: dict[str, tuple[str, ...]] = {
    "none": ("all",),
    "hours": ("in_hours", "out_of_hours"),
    "age_band": ("0-27d", "28-364d", "0-364d", "1-4", "5-9", "10-14", "15-17", "16-17"),
    "coverage": ("covered", "uncovered"),
}


def _declared_hours() -> dict[Measure, timedelta]:
    return {m: timedelta(hours=m.hours) for m in Measure if m.hours is not None}


def _declared_working_days() -> dict[Measure, int]:
    return {m: m.working_days for m in Measure if m.working_days is not None}


@dataclass(frozen=True)
class Targets:
    """The time limits of the timed measures, by measure; the defaults are the measures' own
    (rota.vocab.Measure, docs/cases.md "Measures"), so a new measure needs nothing here."""

    hours: Mapping[Measure, timedelta] = field(default_factory=_declared_hours)
    working_days: Mapping[Measure, int] = field(default_factory=_declared_working_days)

    def limit(self, measure: Measure) -> timedelta:
        """The time allowed after notification for a measure timed in hours."""
        return self.hours[measure]


def nth_working_day_after(d: date, n: int) -> date:
    """The n-th working day strictly after day `d` (n >= 1)."""
    out, seen = d, 0
    while seen < n:
        out += timedelta(days=1)
        if is_working_day(out):
            seen += 1
    return out


def planning_deadline(local_day: date, working_days: int = 2, tz: tzinfo = SERVICE_TZ) -> datetime:
    """The instant (UTC) the planning-meeting target ends for a notification on `local_day`: the end of
    the `working_days`-th working day after it (exclusive)."""
    return day_start(nth_working_day_after(local_day, working_days) + timedelta(days=1), tz)


def _local(expr: pl.Expr, tz: tzinfo) -> pl.Expr:
    key = polars_zone(tz)
    if key is None:  # an unusual tzinfo: convert one value at a time
        return expr.map_elements(
            lambda t: t.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None),
            return_dtype=pl.Datetime("us"),
        )
    return expr.dt.convert_time_zone(key).dt.replace_time_zone(None)


def measures(cases: pl.DataFrame, tz: tzinfo = SERVICE_TZ, targets: Targets | None = None) -> pl.DataFrame:
    """Per case with jar_criteria_met: case_id, notified_at, age_years, age_days, the local wall time
    `local` of the notification and one boolean column per measure."""
    t = targets or Targets()
    df = cases.filter(pl.col("jar_criteria_met").fill_null(False)).with_columns(
        _local(pl.col("notified_at"), tz).alias("local")
    )
    days = df.get_column("local").dt.date().unique().to_list()
    # One deadline column per measure timed in working days: the end of its n-th working day.
    deadlines = pl.DataFrame(
        {"_day": days}
        | {f"_deadline_{m}": [planning_deadline(d, n, tz) for d in days] for m, n in t.working_days.items()},
        schema={"_day": pl.Date} | {f"_deadline_{m}": UTC_US for m in t.working_days},
    )
    n = pl.col("notified_at")

    def met(measure: Measure) -> pl.Expr:
        """Whether a case met one measure (a blank time is not met), from the measure's declaration."""
        if measure.step is None:  # read from the case's own flag
            return pl.col(measure.value)
        if measure in t.working_days:  # strictly before the end of the n-th working day
            return pl.col(measure.step) < pl.col(f"_deadline_{measure}")
        return pl.col(measure.step) <= n + pl.lit(t.limit(measure))

    df = (
        df.with_columns(pl.col("local").dt.date().alias("_day"))
        .join(deadlines, on="_day", how="left", maintain_order="left")
        .with_columns(met(m).fill_null(False).alias(f"m_{m}") for m in PARTS_OF_FULL)
    )
    fully = Measure.FULLY_COMPLETED
    df = df.with_columns(pl.all_horizontal([f"m_{m}" for m in PARTS_OF_FULL]).alias(f"m_{fully}"))
    return df.select(
        "case_id",
        "notified_at",
        "age_years",
        "age_days",
        "local",
        *[pl.col(f"m_{m}").alias(m) for m in MEASURES],
    )


def _period_index(by: str) -> pl.Expr:
    y, m = pl.col("local").dt.year().cast(pl.Int64), pl.col("local").dt.month().cast(pl.Int64)
    if by == "month":
        return y * 12 + m - 1
    if by == "quarter":
        return y * 4 + (m - 1) // 3
    return y


def _period_label(index: int, by: str) -> str:
    if by == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if by == "quarter":
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    return f"{index:04d}"


def in_hours_flags(df: pl.DataFrame) -> pl.Series:
    local = df.get_column("local")
    days = local.dt.date()
    holiday = days.map_elements(is_bank_holiday, return_dtype=pl.Boolean) if days.len() else days.is_null()
    minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    return (local.dt.weekday() <= 5) & (minutes >= 9 * 60) & (minutes < 17 * 60) & ~holiday


def ncmd_age_band() -> pl.Expr:
    y, d = pl.col("age_years"), pl.col("age_days")
    return (
        pl.when(y == 0)
        .then(
            pl.when(d.is_null())
            .then(pl.lit("0-364d"))
            .when(d < 28)
            .then(pl.lit("0-27d"))
            .otherwise(pl.lit("28-364d"))
        )
        .when(y <= 4)
        .then(pl.lit("1-4"))
        .when(y <= 9)
        .then(pl.lit("5-9"))
        .when(y <= 14)
        .then(pl.lit("10-14"))
        .otherwise(pl.lit("15-17"))
    )


def _holding_an_instant(frame: pl.DataFrame, times: np.ndarray) -> pl.DataFrame:
    """The rows of a shifts or absences frame whose [start, end) holds at least one of the sorted `times`."""
    if frame.height == 0 or times.size == 0:
        return frame.head(0)
    start = frame.get_column("start").dt.epoch("us").to_numpy()
    end = frame.get_column("end").dt.epoch("us").to_numpy()
    first = np.searchsorted(times, start, side="left")  # the first case at or after the start
    inside = first < times.size
    inside[inside] = times[first[inside]] < end[inside]
    return frame.filter(pl.Series(inside))


def _around(rota: Rota, instants: pl.Series) -> Rota:
    """The rota cut down to the shifts and absences that hold a case's notification instant: who was
    qualified at those instants depends on nothing else, and five years of shifts shrink to a few hundred."""
    times = np.sort(instants.drop_nulls().dt.epoch("us").to_numpy())
    return replace(
        rota,
        shifts=_holding_an_instant(rota.shifts, times),
        absences=_holding_an_instant(rota.absences, times),
    )


def covered(cases: pl.DataFrame, rota: Rota, tz: tzinfo = SERVICE_TZ) -> pl.Series:
    """Per case (in order), whether every rule for its age met its min_count at notified_at."""
    from rota.engine import qualified_timeline

    if cases.height == 0:
        return pl.Series("covered", [], dtype=pl.Boolean)
    rules = rota.effective_rules()
    lo: datetime = cases.get_column("notified_at").min()  # type: ignore[assignment]
    hi: datetime = cases.get_column("notified_at").max()  # type: ignore[assignment]
    rota = _around(rota, cases.get_column("notified_at"))
    timeline = qualified_timeline(rota, lo, hi + timedelta(seconds=1), tz, rules).select(
        "rule_id", "start", "available", "in_window", "required"
    )
    bands = pl.DataFrame(
        {
            "rule_id": [r.id for r in rules],
            "_lo": [parse_age_band(r.age_band)[0] for r in rules],
            "_hi": [parse_age_band(r.age_band)[1] for r in rules],
        },
        schema={"rule_id": pl.String, "_lo": pl.Int64, "_hi": pl.Int64},
    )
    keyed = cases.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"), "notified_at", "age_years")
    pairs = (
        keyed.join(bands, how="cross")
        .filter(pl.col("age_years").is_between(pl.col("_lo"), pl.col("_hi")))
        .sort("notified_at")
    )
    met = (
        pairs.join_asof(
            timeline.sort("rule_id", "start"),
            left_on="notified_at",
            right_on="start",
            by="rule_id",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns((~pl.col("in_window") | (pl.col("available") >= pl.col("required"))).alias("_ok"))
        .group_by("_i")
        .agg(pl.col("_ok").all())
    )
    return (
        keyed.join(met, on="_i", how="left", maintain_order="left")
        .select(pl.col("_ok").fill_null(True).alias("covered"))
        .to_series()
    )


def completion(
    cases: pl.DataFrame,
    by: str = "month",
    split: str = "none",
    rota: Rota | None = None,
    tz: tzinfo = SERVICE_TZ,
    targets: Targets | None = None,
) -> pl.DataFrame:
    """Completion measures: columns period, split, measure, numerator, denominator, rate (null when the
    denominator is 0), ordered by period, split value and measure."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    if split == "coverage" and rota is None:
        raise ValueError("the coverage split needs a rota")
    m = measures(cases, tz, targets).with_columns(_period_index(by).alias("_p"))
    if split == "none":
        m = m.with_columns(pl.lit("all").alias("split"))
    elif split == "hours":
        flag = in_hours_flags(m)
        m = m.with_columns(
            pl.when(flag).then(pl.lit("in_hours")).otherwise(pl.lit("out_of_hours")).alias("split")
        )
    elif split == "age_band":
        m = m.with_columns(ncmd_age_band().alias("split"))
        m = pl.concat(
            [m, m.filter(pl.col("age_years").is_in([16, 17])).with_columns(pl.lit("16-17").alias("split"))]
        )
    else:
        assert rota is not None
        flag = covered(m, rota, tz)
        m = m.with_columns(
            pl.when(flag).then(pl.lit("covered")).otherwise(pl.lit("uncovered")).alias("split")
        )

    empty = pl.DataFrame(
        schema={
            "period": pl.String,
            "split": pl.String,
            "measure": pl.String,
            "numerator": pl.Int64,
            "denominator": pl.Int64,
            "rate": pl.Float64,
        }
    )
    if m.height == 0:
        return empty
    first: int = m.get_column("_p").min()  # type: ignore[assignment]
    last: int = m.get_column("_p").max()  # type: ignore[assignment]
    values = SPLIT_VALUES[split]
    grid = pl.DataFrame(
        {
            "_p": [p for p in range(first, last + 1) for _ in values],
            "split": [v for _ in range(first, last + 1) for v in values],
            "_s": [i for _ in range(first, last + 1) for i in range(len(values))],
        },
        schema={"_p": pl.Int64, "split": pl.String, "_s": pl.Int64},
    )
    counts = m.group_by("_p", "split").agg(
        pl.len().cast(pl.Int64).alias("denominator"),
        *[pl.col(x).cast(pl.Int64).sum().alias(x) for x in MEASURES],
    )
    wide = grid.join(counts, on=["_p", "split"], how="left").fill_null(0)
    long = wide.unpivot(
        index=["_p", "_s", "split", "denominator"], on=list(MEASURES), variable_name="measure"
    )
    order = pl.DataFrame({"measure": list(MEASURES), "_m": list(range(len(MEASURES)))})
    labels = {p: _period_label(p, by) for p in range(first, last + 1)}
    out = (
        long.join(order, on="measure", how="left")
        .sort("_p", "_s", "_m")
        .select(
            pl.col("_p").replace_strict(labels, return_dtype=pl.String).alias("period"),
            "split",
            "measure",
            pl.col("value").cast(pl.Int64).alias("numerator"),
            pl.col("denominator").cast(pl.Int64),
            pl.when(pl.col("denominator") > 0)
            .then(pl.col("value") / pl.col("denominator"))
            .otherwise(None)
            .cast(pl.Float64)
            .alias("rate"),
        )
    )
    return pl.concat([empty, out])


def period_bounds(cases: pl.DataFrame) -> tuple[datetime, datetime] | None:
    """The first and last notification instants (for loading just enough of a stored rota)."""
    times = cases.get_column("notified_at").drop_nulls()
    if times.len() == 0:
        return None
    lo: datetime = times.min()  # type: ignore[assignment]
    hi: datetime = times.max()  # type: ignore[assignment]
    return lo, hi + timedelta(seconds=1)


__all__: Sequence[str] = (
    "BY",
    "COLUMNS",
    "MEASURES",
    "SPLITS",
    "Targets",
    "completion",
    "covered",
    "measures",
    "planning_deadline",
)
