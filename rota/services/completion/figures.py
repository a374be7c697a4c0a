"""Working out the view from frames: counts of every measure, split and period at every level, the reasons
for incomplete responses, the cross-tab by cover, and suppression for commissioners (see the package
docstring for the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

import polars as pl

from rota.analytics.completion import (
    MEASURES,
    SPLIT_VALUES,
)
from rota.analytics.reasons import REASON_CATEGORIES, with_reason_category
from rota.analytics.suppression import (
    Partition,
    RowSum,
    suppress_table,
)
from rota.model import Rota
from rota.services.completion.cases import case_rows, per_case_flags
from rota.services.completion.common import (
    BY,
    BY_SUPPRESSED,
    CROSSTAB_SCHEMA,
    DEFAULT_BY,
    LEVEL_ORDER,
    MEASURE_ORDER,
    NOT_RECORDED,
    REASON_PREFIX,
    REASON_SCHEMA,
    SPLIT_LABELS,
    SPLIT_ORDER,
    TABLE_SCHEMA,
    TOTAL,
    CompletionSettings,
    period_labels,
    recent_quarters,
)
from rota.services.completion.view import CompletionView
from rota.timeutil import SERVICE_TZ, utc_now, zone_name
from rota.vocab import Measure

_FULLY: str = Measure.FULLY_COMPLETED.value
_JAR: str = Measure.JAR_TRIGGERED.value  # every case meeting the JAR criteria counts in its denominator


def _monthly(per_case: pl.DataFrame) -> pl.DataFrame:
    """What `rota.analytics.completion.completion(cases, "month", split)` gives for every split at once
    (period, split, measure, numerator, denominator), from the per-case frame, so that coverage is worked
    out once for the page. The service tests hold the two to the same figures."""

    def labelled(expr: pl.Expr) -> pl.Expr:
        return expr.alias("split")

    assigned = pl.concat(
        [
            per_case.with_columns(labelled(pl.lit("all"))),
            per_case.with_columns(
                labelled(
                    pl.when(pl.col("in_hours")).then(pl.lit("in_hours")).otherwise(pl.lit("out_of_hours"))
                )
            ),
            per_case.with_columns(labelled(pl.col("age_band"))),
            per_case.filter(pl.col("age_years").is_in([16, 17])).with_columns(labelled(pl.lit("16-17"))),
            per_case.with_columns(
                labelled(pl.when(pl.col("covered")).then(pl.lit("covered")).otherwise(pl.lit("uncovered")))
            ),
        ]
    )
    counts = assigned.group_by("_month", "split").agg(
        pl.len().cast(pl.Int64).alias("denominator"),
        *[pl.col(x).cast(pl.Int64).sum().alias(x) for x in MEASURES],
    )
    first: int = per_case["_month"].min()  # type: ignore[assignment]
    last: int = per_case["_month"].max()  # type: ignore[assignment]
    values = list(SPLIT_ORDER)
    grid = pl.DataFrame(
        {
            "_month": [p for p in range(first, last + 1) for _ in values],
            "split": [v for _ in range(first, last + 1) for v in values],
        },
        schema={"_month": pl.Int64, "split": pl.String},
    )
    labels = {p: f"{p // 12:04d}-{p % 12 + 1:02d}" for p in range(first, last + 1)}
    return (
        grid.join(counts, on=["_month", "split"], how="left")
        .fill_null(0)
        .unpivot(
            index=["_month", "split", "denominator"],
            on=list(MEASURES),
            variable_name="measure",
            value_name="numerator",
        )
        .select(
            pl.col("_month").replace_strict(labels, return_dtype=pl.String).alias("period"),
            "split",
            "measure",
            pl.col("numerator").cast(pl.Int64),
            pl.col("denominator").cast(pl.Int64),
        )
    )


def _all_levels(per_case: pl.DataFrame) -> pl.DataFrame:
    """Numerator and denominator of every measure, split and period at every level (months upwards)."""
    monthly = _monthly(per_case)
    labels = {m: period_labels(m) for m in monthly["period"].unique().to_list()}
    frames = [monthly.with_columns(pl.lit("month").alias("level"))]
    for i, level in enumerate(("quarter", "year", "total")):
        mapped = monthly.with_columns(
            pl.col("period").replace_strict({m: v[i] for m, v in labels.items()}, return_dtype=pl.String)
        )
        frames.append(
            mapped.group_by("period", "split", "measure")
            .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
            .with_columns(pl.lit(level).alias("level"))
        )
    out = pl.concat(
        [f.select("level", "period", "split", "measure", "numerator", "denominator") for f in frames]
    )
    return out.with_columns(
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("rate"),
        pl.lit(None, dtype=pl.Int64).alias("not_met"),
    )


def _reasons(cases: pl.DataFrame, per_case: pl.DataFrame) -> pl.DataFrame:
    """Responses not fully completed by reason category (never the free text), per period at every level."""
    wanted = [c for c in ("case_id", "reason_incomplete", "reason_category") if c in cases.columns]
    given = cases.select(wanted) if cases.height else None
    incomplete = per_case.filter(~pl.col(_FULLY)).select("case_id", "_month")
    if given is not None:
        incomplete = incomplete.join(given, on="case_id", how="left")
        codes = with_reason_category(incomplete).get_column("reason_category")
    else:
        codes = pl.Series([], dtype=pl.String)
    monthly = (
        incomplete.with_columns(
            codes.replace_strict(dict(REASON_CATEGORIES), return_dtype=pl.String).alias("reason"),
            pl.format(
                "{}-{}",
                (pl.col("_month") // 12).cast(pl.String).str.zfill(4),
                (pl.col("_month") % 12 + 1).cast(pl.String).str.zfill(2),
            ).alias("month"),
        )
        .group_by("month", "reason")
        .agg(pl.len().cast(pl.Int64).alias("not_met"))
    )
    labels = {m: period_labels(m) for m in monthly["month"].unique().to_list()}
    frames = []
    for i, level in enumerate(("month", "quarter", "year", "total")):
        mapped = monthly.with_columns(
            (
                pl.col("month")
                if level == "month"
                else pl.col("month").replace_strict(
                    {m: v[i - 1] for m, v in labels.items()}, return_dtype=pl.String
                )
            ).alias("period")
        )
        frames.append(
            mapped.group_by("period", "reason")
            .agg(pl.col("not_met").sum())
            .with_columns(pl.lit(level).alias("level"))
        )
    reasons = pl.concat(frames) if frames else pl.DataFrame()
    return reasons.select(
        "level",
        "period",
        (pl.lit(REASON_PREFIX) + pl.col("reason")).alias("split"),
        pl.lit(_FULLY).alias("measure"),
        pl.lit(None, dtype=pl.Int64).alias("numerator"),
        pl.lit(None, dtype=pl.Int64).alias("denominator"),
        pl.lit(None, dtype=pl.Float64).alias("rate"),
        "not_met",
    )


def _partitions(periods: Sequence[str], reasons: Sequence[str]) -> list[Partition]:
    parent: dict[str, str] = {}
    for p in periods:
        if len(p) == 7 and p[4] == "-" and p[5] != "Q":  # a month
            parent[p] = period_labels(p)[0]
        elif "-Q" in p:
            parent[p] = p[:4]
        elif p != TOTAL:
            parent[p] = TOTAL
    ages = [v for v in SPLIT_VALUES["age_band"] if v != "16-17"]
    return [
        Partition("period", parent),
        Partition.of("split", "all", SPLIT_VALUES["hours"]),
        Partition.of("split", "all", ages),
        Partition.of("split", "all", SPLIT_VALUES["coverage"]),
        Partition.of("split", "15-17", ["16-17"], complete=False),
        Partition.of("split", "all", reasons),
    ]


def _shown(df: pl.DataFrame, counts: Sequence[str]) -> pl.DataFrame:
    """Exact counts as text, nothing hidden (the CDOP manager's view)."""
    return df.with_columns(
        *[pl.col(c).cast(pl.String).alias(f"{c}_shown") for c in counts],
        pl.lit(False).alias("suppressed"),
    )


def build_view(
    cases: pl.DataFrame,
    rota: Rota,
    by: str = DEFAULT_BY,
    *,
    exact: bool,
    settings: CompletionSettings | None = None,
    tz: tzinfo = SERVICE_TZ,
    include_cases: bool = False,
    now: datetime | None = None,
) -> CompletionView:
    """The view from frames (no database, no permission check: callers have done both). `exact` gives
    the exact counts (CDOP manager); otherwise small numbers are suppressed (commissioners) and only
    whole calendar quarters and years that have ended by `now` (default: the present) are published.
    `include_cases` fills `case_rows` (only with `exact`)."""
    if include_cases and not exact:
        raise ValueError("case-level rows go with exact figures only")
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    settings = settings or CompletionSettings()
    tz_name = zone_name(tz)
    now = now or utc_now()
    recent = recent_quarters(now.astimezone(tz).date())
    suppressed = not exact and settings.threshold > 1
    if suppressed and by not in BY_SUPPRESSED:
        raise ValueError("suppressed figures come by quarter or year only")
    per_case = per_case_flags(cases, rota, tz)
    if per_case.height == 0:
        return _empty_view(
            by,
            tz_name,
            suppressed,
            settings,
            cases.height > 0,
            stored_cases=None if suppressed else cases.height,
            case_rows=case_rows(cases, per_case, tz) if include_cases else None,
        )

    full = _all_levels(per_case)
    crosstab_rows = (pl.col("measure") == _FULLY) & pl.col("split").is_in(["all", "covered", "uncovered"])
    full = full.with_columns(
        pl.when(crosstab_rows)
        .then(pl.col("denominator") - pl.col("numerator"))
        .otherwise(None)
        .alias("not_met")
    )
    reasons = _reasons(cases, per_case)
    full = pl.concat([full, reasons.select(full.columns)])
    if suppressed:
        # Commissioners: whole calendar quarters and years that have ended, nothing else (no months, no
        # running total, no quarter or year still under way), so no two windows they can read differ by
        # less than a whole quarter whose own count is published under the same suppression.
        full = full.filter(pl.col("level").is_in(list(BY_SUPPRESSED)) & _ended(now, tz))
        if full.is_empty():
            return _empty_view(by, tz_name, suppressed, settings, cases.height > 0)
    counts = ("numerator", "denominator", "not_met")
    # A fixed row order: the cells suppression hides depend on it, and two renders of the same data must
    # hide the same cells (otherwise comparing them would give hidden counts away).
    full = (
        full.with_columns(
            pl.col("level").replace_strict(LEVEL_ORDER, return_dtype=pl.Int64).alias("_l"),
            pl.col("split")
            .replace_strict(SPLIT_ORDER, default=len(SPLIT_ORDER), return_dtype=pl.Int64)
            .alias("_s"),
            pl.col("measure").replace_strict(MEASURE_ORDER, return_dtype=pl.Int64).alias("_m"),
        )
        .sort("_l", "period", "_s", "split", "_m")
        .drop("_l", "_s", "_m")
    )
    if suppressed:
        full = suppress_table(
            full,
            ["period", "split", "measure"],
            counts,
            _partitions(full["period"].unique(maintain_order=True).to_list(), reasons["split"].to_list()),
            row_sums=[RowSum("denominator", ("numerator", "not_met"))],
            at_most=[("numerator", "denominator")],
            threshold=settings.threshold,
            cell_keys={"denominator": ("period", "split")},
            rates={"rate": ("numerator", "denominator")},
        )
    else:
        full = _shown(full, counts)
    full = full.select(list(TABLE_SCHEMA))

    overall_level, overall_period = _overall_of(full, suppressed)
    overall_rows = full.filter((pl.col("level") == overall_level) & (pl.col("period") == overall_period))
    everyone = overall_rows.filter((pl.col("split") == "all") & (pl.col("measure") == _JAR)).row(
        0, named=True
    )
    times = per_case.get_column("notified_at")
    return CompletionView(
        by=by,
        tz_name=tz_name,
        suppressed=suppressed,
        settings=settings,
        cases=everyone["denominator"],
        cases_shown=everyone["denominator_shown"],
        levels=full,
        crosstab=_crosstab(overall_rows),
        reasons=_reason_table(overall_rows),
        overall_level=overall_level,
        overall_period=overall_period,
        recent=recent,
        first_notified=None if suppressed else times.min(),  # type: ignore[arg-type]
        last_notified=None if suppressed else times.max(),  # type: ignore[arg-type]
        rota_start=rota.shifts["start"].min() if rota.shifts.height else None,  # type: ignore[arg-type]
        rota_end=rota.shifts["end"].max() if rota.shifts.height else None,  # type: ignore[arg-type]
        stored_cases=None if suppressed else cases.height,
        any_stored=True,
        rota_starts_late=_starts_late(rota, times),
        case_rows=case_rows(cases, per_case, tz) if include_cases else None,
    )


def _overall_of(full: pl.DataFrame, suppressed: bool) -> tuple[str, str]:
    """The window of the headline, the splits, the cross-tab and the reasons: every stored case (exact
    figures), or for commissioners the latest whole year published, else the latest whole quarter."""
    if not suppressed:
        return "total", TOTAL
    for level in ("year", "quarter"):
        periods = full.filter(pl.col("level") == level).get_column("period")
        if periods.len():
            return level, str(periods.max())
    raise ValueError("no published period")  # callers return the empty view first


def _ended(now: datetime, tz: tzinfo) -> pl.Expr:
    """Whether a quarter ("2026-Q3") or year ("2026") period had ended by `now` (local calendar)."""
    today = now.astimezone(tz).date()
    this_quarter = f"{today.year:04d}-Q{(today.month - 1) // 3 + 1}"
    return (
        pl.when(pl.col("level") == "quarter")
        .then(pl.col("period") < this_quarter)
        .otherwise(pl.col("period") < f"{today.year:04d}")
    )


def _empty_view(
    by: str,
    tz_name: str,
    suppressed: bool,
    settings: CompletionSettings,
    stored: bool,
    *,
    stored_cases: int | None = None,
    case_rows: pl.DataFrame | None = None,
) -> CompletionView:
    return CompletionView(
        by=by,
        tz_name=tz_name,
        suppressed=suppressed,
        settings=settings,
        cases=0,
        cases_shown="0",
        levels=pl.DataFrame(schema=TABLE_SCHEMA),
        crosstab=pl.DataFrame(schema=CROSSTAB_SCHEMA),
        reasons=pl.DataFrame(schema=REASON_SCHEMA),
        stored_cases=stored_cases,
        any_stored=stored,
        case_rows=case_rows,
    )


def _starts_late(rota: Rota, times: pl.Series) -> bool:
    """Whether the first stored shift starts after the first case (earlier cases count as uncovered)."""
    if rota.shifts.height == 0:
        return False
    return bool(rota.shifts.select(pl.col("start").min()).item() > times.min())


def _crosstab(full: pl.DataFrame) -> pl.DataFrame:
    rows = full.filter((pl.col("measure") == _FULLY) & pl.col("split").is_in(["covered", "uncovered", "all"]))
    order = {"covered": 0, "uncovered": 1, "all": 2}
    return (
        rows.with_columns(pl.col("split").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("_o")
        .select(
            "split",
            pl.col("split").replace_strict(SPLIT_LABELS, return_dtype=pl.String).alias("label"),
            pl.col("numerator").alias("completed"),
            pl.col("not_met").alias("not_completed"),
            pl.col("denominator").alias("cases"),
            pl.when(pl.col("denominator") > 0)
            .then(pl.col("not_met") / pl.col("denominator"))
            .otherwise(None)
            .cast(pl.Float64)
            .alias("share_not_completed"),
            pl.col("numerator_shown").alias("completed_shown"),
            pl.col("not_met_shown").alias("not_completed_shown"),
            pl.col("denominator_shown").alias("cases_shown"),
        )
    )


def _reason_table(full: pl.DataFrame) -> pl.DataFrame:
    rows = full.filter(pl.col("split").str.starts_with(REASON_PREFIX))
    return (
        rows.select(
            pl.col("split").str.strip_prefix(REASON_PREFIX).alias("reason"),
            pl.col("not_met").alias("cases"),
            pl.col("not_met_shown").alias("cases_shown"),
        )
        .sort(
            pl.col("reason") == NOT_RECORDED,
            pl.col("cases").fill_null(-1),
            "reason",
            descending=[False, True, False],
        )
        .cast(REASON_SCHEMA)  # type: ignore[arg-type]
    )
