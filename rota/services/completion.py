"""Completion for people (SPEC sections 6, 8 and 9): how past Joint Agency Responses went, by period, in
and out of hours, by age band (16-17 beside the NCMD bands), against the rota's cover, why responses
were incomplete, and Making Data Count p-charts of each measure; the case-level list for the CDOP manager.

Who sees what (enforced here, not only on the page):

- admin and cdop_manager: exact counts by month, quarter or year, and the case-level list (`case_table`,
  or `completion_view(..., include_cases=True)` to have it worked out with the figures).
- commissioner: aggregates only, with small-number suppression (`rota.analytics.suppression`): counts
  from 1 to `threshold - 1` shown as "<5", cells hidden so that none of those can be worked out as "*",
  and the rate null wherever either of its counts is hidden; by quarter or year only (about three cases
  a month would leave a monthly view almost all "<5"). `case_table` refuses them.
- coordinator: refused (they read coverage only, SPEC section 9; Completion is not among their pages).

Suppression is worked out once over every period level together (quarters, years and all the stored
cases), every split (in/out of hours, age bands with 16-17 inside 15-17, covered/uncovered),
the cross-tab of fully completed responses by cover (whose "not completed" counts are published) and the
reasons: switching the period granularity, or reading two sections side by side, cannot undo it. The
numerators of different measures are not sums of one another, so they are protected measure by measure;
the denominator (cases meeting the JAR criteria) is one count shared by every measure of a period and split.
The rows go to suppression in a fixed order, so the same data is always hidden the same way. Commissioners
are not given the exact number of stored cases, nor the dates of the first and last.

Per-case flags (in hours, covered, age band) are worked out once and every split is counted from them,
with the same rules as `rota.analytics.completion.completion` (the service tests hold the two equal).

SPC (a p-chart per measure, `rota.analytics.spc.p_chart`, improvement "up"): one point per period with
cases, limits from each period's own denominator. For commissioners a point whose numerator or
denominator is hidden is left out, of the chart and of its mean and limits (a rate beside a shown
denominator gives the numerator away); `MeasureSpc.left_out` lists those periods so the page can say so.
Runs (shift, trend) are then counted over the points shown.

Settings (`rota.storage.settings.read_settings`), all optional:

- `suppression_threshold`: counts from 1 to one below it are hidden (default 5; 1 turns suppression off,
  2 is refused as "<2" would say "exactly 1"; an unusable value falls back to 5).
- `completion_target`: the target rate for every measure's assurance icon (default 0.9); per measure
  `completion_target.<measure>` (for example `completion_target.home_visit`). "0.9", "90" and "90%" all
  mean 90%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

import polars as pl

from rota.analytics.completion import (
    MEASURES,
    SPLIT_VALUES,
    covered,
    in_hours_flags,
    measures,
    ncmd_age_band,
    period_bounds,
)
from rota.analytics.reasons import REASON_CATEGORIES, with_reason_category
from rota.analytics.spc import SpcResult, p_chart
from rota.analytics.suppression import (
    DEFAULT_THRESHOLD,
    SECONDARY_MARK,
    Partition,
    RowSum,
    check_threshold,
    primary_mark,
    suppress_table,
)
from rota.errors import PermissionDenied
from rota.model import Rota
from rota.services.access import COMPLETION, Actor, can_read_case_level, pages_for, require_case_level
from rota.services.cases import audit_case_read
from rota.storage import Engine
from rota.storage.cases import load_cases
from rota.storage.rota import load_rota
from rota.storage.settings import read_settings
from rota.timeutil import SERVICE_TZ, uk_local, utc_now

BY: tuple[str, ...] = ("month", "quarter", "year")
BY_SUPPRESSED: tuple[str, ...] = ("quarter", "year")  # months are too small to publish
DEFAULT_BY = "quarter"
TOTAL = "all periods"  # the period label of every stored case together
REASON_PREFIX = "reason: "
NOT_RECORDED = REASON_CATEGORIES["not_recorded"]
DEFAULT_TARGET = 0.9

BY_LABELS: dict[str, str] = {"month": "Month", "quarter": "Quarter", "year": "Year"}
MEASURE_LABELS: dict[str, str] = {
    "jar_triggered": "JAR triggered",
    "paediatrician": "Paediatrician within 4 hours",
    "police": "Police within 4 hours",
    "home_visit": "Joint home visit within 24 hours",
    "planning_meeting": "Planning meeting by the 2nd working day",
    "ncmd_notification": "NCMD notified within 48 hours",
    "fully_completed": "Fully completed",
}
SPLIT_LABELS: dict[str, str] = {
    "all": "All cases",
    "in_hours": "In hours (Mon-Fri 09:00-17:00)",
    "out_of_hours": "Out of hours",
    "0-27d": "Under 28 days",
    "28-364d": "28-364 days",
    "0-364d": "Under 1 year (age in days not given)",
    "1-4": "1-4 years",
    "5-9": "5-9 years",
    "10-14": "10-14 years",
    "15-17": "15-17 years",
    "16-17": "16-17 years (also in 15-17)",
    "covered": "Rota covered every rule",
    "uncovered": "In a rota gap",
}
VARIATION_TEXT: dict[str, str] = {
    "common_cause": "Common cause variation",
    "special_cause_improvement": "Special cause improvement",
    "special_cause_concern": "Special cause concern",
    "special_cause_neutral": "Special cause variation",
}
ASSURANCE_TEXT: dict[str, str] = {
    "consistent_pass": "Consistently passing target",
    "consistent_fail": "Consistently failing target",
    "inconsistent": "Hit and miss against target",
}

TABLE_SCHEMA: dict[str, pl.DataType] = {
    "level": pl.String(),
    "period": pl.String(),
    "split": pl.String(),
    "measure": pl.String(),
    "numerator": pl.Int64(),
    "denominator": pl.Int64(),
    "not_met": pl.Int64(),
    "rate": pl.Float64(),
    "numerator_shown": pl.String(),
    "denominator_shown": pl.String(),
    "not_met_shown": pl.String(),
    "suppressed": pl.Boolean(),
}
SPC_POINT_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "numerator": pl.Int64(),
    "denominator": pl.Int64(),
    "rate": pl.Float64(),
    "upl": pl.Float64(),
    "lpl": pl.Float64(),
    "signal": pl.String(),
    "type": pl.String(),
}
CROSSTAB_SCHEMA: dict[str, pl.DataType] = {
    "split": pl.String(),
    "label": pl.String(),
    "completed": pl.Int64(),
    "not_completed": pl.Int64(),
    "cases": pl.Int64(),
    "share_not_completed": pl.Float64(),
    "completed_shown": pl.String(),
    "not_completed_shown": pl.String(),
    "cases_shown": pl.String(),
}
REASON_SCHEMA: dict[str, pl.DataType] = {
    "reason": pl.String(),
    "cases": pl.Int64(),
    "cases_shown": pl.String(),
}
CASE_TABLE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "notified_at": pl.Datetime("us", "UTC"),
    "notified_local": pl.String(),
    "notified_day": pl.Date(),
    "age_years": pl.Int64(),
    "age_days": pl.Int64(),
    "age_band": pl.String(),
    "jar_criteria_met": pl.Boolean(),
    "in_hours": pl.Boolean(),
    "covered": pl.Boolean(),
    **{m: pl.Boolean() for m in MEASURES},
    "category": pl.String(),
    "reason_incomplete": pl.String(),
    "reason_category": pl.String(),
}

_SPLITS = ("none", "hours", "age_band", "coverage")
_SPLIT_ORDER = {v: i for i, v in enumerate(dict.fromkeys(v for s in _SPLITS for v in SPLIT_VALUES[s]))}
_MEASURE_ORDER = {m: i for i, m in enumerate(MEASURES)}
_LEVEL_ORDER = {"month": 0, "quarter": 1, "year": 2, "total": 3}


# ---------------------------------------------------------------------------------------------- access


def can_read_completion(actor: Actor) -> bool:
    return COMPLETION in pages_for(actor)


def require_read_completion(actor: Actor) -> None:
    if not can_read_completion(actor):
        raise PermissionDenied(
            "completion figures are for the CDOP manager and commissioners; coordinators read coverage"
        )


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class CompletionSettings:
    """The suppression threshold and the target rate of each measure (see the module docstring)."""

    threshold: int = DEFAULT_THRESHOLD
    targets: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(MEASURES, DEFAULT_TARGET))

    def target(self, measure: str) -> float:
        return self.targets.get(measure, DEFAULT_TARGET)


def _rate_setting(text: str | None) -> float | None:
    if text is None:
        return None
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    if value > 1 or text.strip().endswith("%"):
        value /= 100
    return value if 0 <= value <= 1 else None


def settings_from(stored: Mapping[str, str]) -> CompletionSettings:
    """Completion settings from stored key/value settings; unusable values fall back to the defaults."""
    threshold = DEFAULT_THRESHOLD
    raw = (stored.get("suppression_threshold") or "").strip()
    if raw:
        try:
            threshold = check_threshold(int(raw))
        except ValueError:
            threshold = DEFAULT_THRESHOLD
    common = _rate_setting(stored.get("completion_target"))
    base = DEFAULT_TARGET if common is None else common
    targets = {}
    for m in MEASURES:
        own = _rate_setting(stored.get(f"completion_target.{m}"))
        targets[m] = base if own is None else own
    return CompletionSettings(threshold, targets)


def completion_settings(engine: Engine) -> CompletionSettings:
    return settings_from(read_settings(engine))


# ---------------------------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class MeasureSpc:
    """A p-chart of one measure over the periods of the view (`points`: SPC_POINT_SCHEMA, periods shown)."""

    measure: str
    label: str
    target: float
    points: pl.DataFrame
    mean: float | None
    variation_icon: str | None
    assurance_icon: str | None
    left_out: tuple[str, ...] = ()  # periods whose counts are hidden (commissioners)
    no_cases: tuple[str, ...] = ()  # periods without a case meeting the JAR criteria

    @property
    def drawn(self) -> bool:
        """Whether there are enough points (2) for a chart."""
        return self.mean is not None

    @property
    def variation_text(self) -> str | None:
        return VARIATION_TEXT.get(self.variation_icon or "")

    @property
    def assurance_text(self) -> str | None:
        return ASSURANCE_TEXT.get(self.assurance_icon or "")


@dataclass(frozen=True)
class CompletionView:
    """Everything the Completion page shows (see the module docstring for who sees what).

    - `levels`: every split of every period at every level, and all stored cases together (level
      "total", period `TOTAL`), in TABLE_SCHEMA: counts (null where hidden), the text to show for each
      (`*_shown`: the number, "<5" or "*") and the rate (null where either count is hidden or there are
      no cases). `not_met` is only filled where it is published (the cross-tab and the reasons).
    - `table`, `periods`, `spc`: the rows, periods and p-charts of the granularity `by`; `at(by)` gives
      the same view at another granularity without working anything out again.
    - `overall`: every split over all stored cases together.
    - `crosstab`: fully completed or not, by whether the rota covered every rule at notification
      (CROSSTAB_SCHEMA; rows covered, uncovered, all).
    - `reasons`: why responses were not fully completed (REASON_SCHEMA), most frequent first.
    """

    by: str
    tz_name: str
    suppressed: bool
    settings: CompletionSettings
    cases: int | None  # cases meeting the JAR criteria (None when hidden)
    cases_shown: str
    levels: pl.DataFrame
    crosstab: pl.DataFrame
    reasons: pl.DataFrame
    first_notified: datetime | None = None  # exact dates for the CDOP manager only
    last_notified: datetime | None = None
    rota_start: datetime | None = None  # the stored shifts over the cases' span
    rota_end: datetime | None = None
    stored_cases: int | None = 0  # every stored case, JAR criteria met or not (None when suppressed)
    any_stored: bool = False
    rota_starts_late: bool = False  # some cases come before the first stored shift (counted uncovered)
    case_rows: pl.DataFrame | None = None  # `case_table`, when asked for (CDOP manager and admin only)
    overall_level: str = "total"  # the window of `overall`, `crosstab`, `reasons` and `cases`
    overall_period: str = TOTAL

    def at(self, by: str) -> CompletionView:
        """The same view by another granularity (month only with exact figures)."""
        allowed = BY_SUPPRESSED if self.suppressed else BY
        if by not in allowed:
            raise ValueError(f"by must be one of {', '.join(allowed)}")
        return replace(self, by=by)

    @property
    def threshold(self) -> int:
        return self.settings.threshold

    @property
    def table(self) -> pl.DataFrame:
        return self.levels.filter(pl.col("level") == self.by)

    @property
    def periods(self) -> tuple[str, ...]:
        return tuple(self.table["period"].unique(maintain_order=True).to_list())

    @property
    def overall(self) -> pl.DataFrame:
        """Every split over `overall_period`: all stored cases (exact figures), or for commissioners the
        latest whole calendar year published (else the latest whole quarter)."""
        return self.levels.filter(
            (pl.col("level") == self.overall_level)
            & (pl.col("period") == self.overall_period)
            & ~pl.col("split").str.starts_with(REASON_PREFIX)
        )

    @property
    def overall_label(self) -> str:
        """How the page names the window of `overall`: "all stored cases", "2025", "2026-Q1"."""
        return "all stored cases" if self.overall_level == "total" else self.overall_period

    @property
    def spc(self) -> tuple[MeasureSpc, ...]:
        """One p-chart per measure at granularity `by` (none when there are no cases)."""
        table = self.table
        if table.is_empty():
            return ()
        return tuple(_spc(table, m, self.settings.target(m)) for m in MEASURES)

    @property
    def empty(self) -> bool:
        """No stored case meets the JAR criteria."""
        return self.levels.is_empty()

    @property
    def primary_mark(self) -> str:
        return primary_mark(self.threshold)

    @property
    def secondary_mark(self) -> str:
        return SECONDARY_MARK


def _rota_for(engine: Engine, cases: pl.DataFrame) -> Rota:
    bounds = period_bounds(cases)
    if bounds is None:
        return Rota()
    return load_rota(engine, bounds[0], bounds[1])


def completion_view(
    engine: Engine,
    actor: Actor,
    by: str = DEFAULT_BY,
    tz: tzinfo = SERVICE_TZ,
    *,
    include_cases: bool = False,
    now: datetime | None = None,
) -> CompletionView:
    """The completion view of the stored cases, by month, quarter or year, for this actor (commissioners:
    whole quarters and years ended by `now`, suppressed). `include_cases` also fills `case_rows` (as
    `case_table` gives them, without reading and working out everything twice): case-level data, so
    refused unless the actor may read it; hand them to people through `case_list`, which audits."""
    require_read_completion(actor)
    if include_cases:
        require_case_level(actor)
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    settings = completion_settings(engine)
    exact = can_read_case_level(actor)
    if by not in periods_for(actor, settings):
        raise PermissionDenied("monthly figures are too small to publish; choose quarter or year")
    cases = load_cases(engine)
    rota = _rota_for(engine, cases)
    return build_view(
        cases,
        rota,
        by,
        exact=exact,
        settings=settings,
        tz=tz,
        include_cases=include_cases,
        now=now,
    )


def by_label(by: str) -> str:
    """Month, Quarter, Year."""
    return BY_LABELS.get(by, by)


def periods_for(actor: Actor, settings: CompletionSettings | None = None) -> tuple[str, ...]:
    """The granularities this actor may choose: all for exact figures, quarter and year when suppressed."""
    settings = settings or CompletionSettings()
    if can_read_case_level(actor) or settings.threshold <= 1:
        return BY
    return BY_SUPPRESSED


def completion_table(
    engine: Engine, actor: Actor, by: str = DEFAULT_BY, split: str = "none", tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """SPEC section 6 columns (period, split, measure, numerator, denominator, rate) of one split, plus the
    `*_shown` texts and `suppressed`; suppressed for commissioners exactly as in `completion_view`."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {', '.join(_SPLITS)}")
    view = completion_view(engine, actor, by, tz)
    values = SPLIT_VALUES[split]
    return view.table.filter(pl.col("split").is_in(values)).select(
        "period", "split", "measure", "numerator", "denominator", "rate",
        "numerator_shown", "denominator_shown", "suppressed",
    )  # fmt: skip


def _zone(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)


def _labels(month: str) -> tuple[str, str, str]:
    year, m = month.split("-")
    return f"{year}-Q{(int(m) - 1) // 3 + 1}", year, TOTAL


def _per_case(cases: pl.DataFrame, rota: Rota, tz: tzinfo) -> pl.DataFrame:
    """Per case meeting the JAR criteria: the measures (`rota.analytics.completion.measures`), whether it
    was notified in hours and while the rota covered it, its NCMD age band and its month (an index)."""
    m = measures(cases, tz)
    return m.with_columns(
        pl.Series("in_hours", in_hours_flags(m), dtype=pl.Boolean),
        covered(m, rota, tz).alias("covered"),
        ncmd_age_band().alias("age_band"),
        (pl.col("local").dt.year().cast(pl.Int64) * 12 + pl.col("local").dt.month().cast(pl.Int64) - 1).alias(
            "_month"
        ),
    )


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
    values = list(_SPLIT_ORDER)
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
    labels = {m: _labels(m) for m in monthly["period"].unique().to_list()}
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
    incomplete = per_case.filter(~pl.col("fully_completed")).select("case_id", "_month")
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
    labels = {m: _labels(m) for m in monthly["month"].unique().to_list()}
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
        pl.lit("fully_completed").alias("measure"),
        pl.lit(None, dtype=pl.Int64).alias("numerator"),
        pl.lit(None, dtype=pl.Int64).alias("denominator"),
        pl.lit(None, dtype=pl.Float64).alias("rate"),
        "not_met",
    )


def _partitions(periods: Sequence[str], reasons: Sequence[str]) -> list[Partition]:
    parent: dict[str, str] = {}
    for p in periods:
        if len(p) == 7 and p[4] == "-" and p[5] != "Q":  # a month
            parent[p] = _labels(p)[0]
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
    tz_name = _zone(tz)
    suppressed = not exact and settings.threshold > 1
    if suppressed and by not in BY_SUPPRESSED:
        raise ValueError("suppressed figures come by quarter or year only")
    per_case = _per_case(cases, rota, tz)
    if per_case.height == 0:
        return _empty_view(
            by,
            tz_name,
            suppressed,
            settings,
            cases.height > 0,
            stored_cases=None if suppressed else cases.height,
            case_rows=_case_rows(cases, per_case, tz) if include_cases else None,
        )

    full = _all_levels(per_case)
    crosstab_rows = (pl.col("measure") == "fully_completed") & pl.col("split").is_in(
        ["all", "covered", "uncovered"]
    )
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
        full = full.filter(pl.col("level").is_in(list(BY_SUPPRESSED)) & _ended(now or utc_now(), tz))
        if full.is_empty():
            return _empty_view(by, tz_name, suppressed, settings, cases.height > 0)
    counts = ("numerator", "denominator", "not_met")
    # A fixed row order: the cells suppression hides depend on it, and two renders of the same data must
    # hide the same cells (otherwise comparing them would give hidden counts away).
    full = (
        full.with_columns(
            pl.col("level").replace_strict(_LEVEL_ORDER, return_dtype=pl.Int64).alias("_l"),
            pl.col("split")
            .replace_strict(_SPLIT_ORDER, default=len(_SPLIT_ORDER), return_dtype=pl.Int64)
            .alias("_s"),
            pl.col("measure").replace_strict(_MEASURE_ORDER, return_dtype=pl.Int64).alias("_m"),
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
    everyone = overall_rows.filter((pl.col("split") == "all") & (pl.col("measure") == "jar_triggered")).row(
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
        first_notified=None if suppressed else times.min(),  # type: ignore[arg-type]
        last_notified=None if suppressed else times.max(),  # type: ignore[arg-type]
        rota_start=rota.shifts["start"].min() if rota.shifts.height else None,  # type: ignore[arg-type]
        rota_end=rota.shifts["end"].max() if rota.shifts.height else None,  # type: ignore[arg-type]
        stored_cases=None if suppressed else cases.height,
        any_stored=True,
        rota_starts_late=_starts_late(rota, times),
        case_rows=_case_rows(cases, per_case, tz) if include_cases else None,
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


def _spc(table: pl.DataFrame, measure: str, target: float) -> MeasureSpc:
    rows = table.filter((pl.col("split") == "all") & (pl.col("measure") == measure))
    no_cases = rows.filter(pl.col("denominator") == 0)["period"].to_list()
    hidden = rows.filter(pl.col("numerator").is_null() | pl.col("denominator").is_null())["period"].to_list()
    shown = rows.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    label = MEASURE_LABELS.get(measure, measure)
    if shown.height < 2:
        return MeasureSpc(
            measure, label, target, pl.DataFrame(schema=SPC_POINT_SCHEMA), None, None, None,
            tuple(hidden), tuple(no_cases),
        )  # fmt: skip
    nums = shown["numerator"].to_list()
    dens = shown["denominator"].to_list()
    result: SpcResult = p_chart(nums, dens, improvement="up", target=target)
    points = pl.DataFrame(
        {
            "period": shown["period"],
            "numerator": nums,
            "denominator": dens,
            "rate": [p.value for p in result.points],
            "upl": [p.upl for p in result.points],
            "lpl": [p.lpl for p in result.points],
            "signal": [p.signal for p in result.points],
            "type": [p.type for p in result.points],
        },
        schema=SPC_POINT_SCHEMA,
    )
    return MeasureSpc(
        measure,
        label,
        target,
        points,
        result.mean,
        result.variation_icon,
        result.assurance_icon,
        tuple(hidden),
        tuple(no_cases),
    )


def _crosstab(full: pl.DataFrame) -> pl.DataFrame:
    rows = full.filter(
        (pl.col("measure") == "fully_completed") & pl.col("split").is_in(["covered", "uncovered", "all"])
    )
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


# ---------------------------------------------------------------------------------------------- case level


def case_table(engine: Engine, actor: Actor, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Every stored case with how its response went (CASE_TABLE_SCHEMA), newest first: case-level data,
    for the CDOP manager and administrators only. Measures are null for cases not meeting the JAR criteria.
    The read is audited (see `case_list`)."""
    return case_list(engine, actor, tz=tz)


def case_list(
    engine: Engine,
    actor: Actor,
    view: CompletionView | None = None,
    *,
    only_incomplete: bool = False,
    via: str = "case list",
    tz: tzinfo = SERVICE_TZ,
) -> pl.DataFrame:
    """The case-level list as served to a person (CASE_TABLE_SCHEMA), newest first: from `view` when it
    was worked out with its cases (`completion_view(..., include_cases=True)`), else from storage;
    `only_incomplete` keeps the responses not fully completed. For the CDOP manager and administrators
    only (PermissionDenied, nothing read, for anyone else). Every call writes one audit entry (action
    "read", entity "cases": `via`, the filter and the number of rows; no case data)."""
    require_case_level(actor)
    if view is not None and view.case_rows is not None:
        rows = view.case_rows
    else:
        cases = load_cases(engine)
        rows = build_case_table(cases, _rota_for(engine, cases), tz)
    if only_incomplete:
        rows = rows.filter(pl.col("fully_completed").not_() | pl.col("fully_completed").is_null())
    audit_case_read(
        engine, actor, via, rows.height, filter="responses not fully completed" if only_incomplete else None
    )
    return rows


def build_case_table(cases: pl.DataFrame, rota: Rota, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """`case_table` from frames (no database, no permission check)."""
    return _case_rows(cases, _per_case(cases, rota, tz), tz)


def _case_rows(cases: pl.DataFrame, per_case: pl.DataFrame, tz: tzinfo) -> pl.DataFrame:
    if cases.height == 0:
        return pl.DataFrame(schema=CASE_TABLE_SCHEMA)
    cases = with_reason_category(cases)
    zone = _zone(tz)
    flags = per_case.select("case_id", "in_hours", "covered", *MEASURES)
    local = pl.col("notified_at").dt.convert_time_zone(zone)
    out = (
        cases.join(flags, on="case_id", how="left")
        .with_columns(
            pl.col("notified_at")
            .map_elements(lambda t: uk_local(t, tz), return_dtype=pl.String)
            .alias("notified_local"),
            local.dt.date().alias("notified_day"),
            ncmd_age_band().alias("age_band"),
        )
        .sort("notified_at", "case_id", descending=True)
    )
    return out.select(list(CASE_TABLE_SCHEMA)).cast(CASE_TABLE_SCHEMA)  # type: ignore[arg-type]


__all__ = [
    "ASSURANCE_TEXT",
    "BY",
    "BY_LABELS",
    "BY_SUPPRESSED",
    "DEFAULT_BY",
    "DEFAULT_TARGET",
    "MEASURE_LABELS",
    "SPLIT_LABELS",
    "TOTAL",
    "VARIATION_TEXT",
    "CompletionSettings",
    "CompletionView",
    "MeasureSpc",
    "build_case_table",
    "build_view",
    "by_label",
    "can_read_completion",
    "case_list",
    "case_table",
    "completion_settings",
    "completion_table",
    "completion_view",
    "periods_for",
    "require_read_completion",
    "settings_from",
]
