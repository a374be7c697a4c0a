"""What the Completion page is given: the `CompletionView` of every period, split and measure, and one
Making Data Count p-chart per measure (`MeasureSpc`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from rota.analytics.completion import (
    MEASURES,
)
from rota.analytics.spc import SpcResult, p_chart
from rota.analytics.suppression import (
    SECONDARY_MARK,
    primary_mark,
)
from rota.services.completion.common import (
    ASSURANCE_TEXT,
    BY,
    BY_SUPPRESSED,
    MEASURE_LABELS,
    REASON_PREFIX,
    RECENT,
    SPC_POINT_SCHEMA,
    TOTAL,
    VARIATION_TEXT,
    CompletionSettings,
)


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
    periods: tuple[str, ...] = ()  # every period of the view in order, those left out included

    @property
    def series(self) -> pl.DataFrame:
        """`points` on every period of the view (SPC_POINT_SCHEMA), in order: a period left out (a count
        hidden) or without cases has nulls, so a chart shows it as a gap on its axis instead of joining
        its neighbours across it."""
        every = pl.DataFrame({"period": list(self.periods)}, schema={"period": pl.String()})
        return every.join(self.points, on="period", how="left", maintain_order="left")

    @property
    def latest(self) -> tuple[str, float | None] | None:
        """The latest period of the view and its rate (None when hidden or without cases); None when
        the view has no period."""
        if not self.periods:
            return None
        last = self.periods[-1]
        rates = dict(self.points.select("period", "rate").iter_rows())
        return last, rates.get(last)

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
    recent: tuple[str, ...] = ()  # the last four whole quarters (`RECENT`), oldest first

    def at(self, by: str) -> CompletionView:
        """The same view by another granularity (month only with exact figures), or `RECENT`: the last
        four whole calendar quarters."""
        allowed = (RECENT, *(BY_SUPPRESSED if self.suppressed else BY))
        if by not in allowed:
            raise ValueError(f"by must be one of {', '.join(allowed)}")
        return replace(self, by=by)

    @property
    def threshold(self) -> int:
        return self.settings.threshold

    @property
    def level(self) -> str:
        """The period level the view's rows come from ("quarter" for `RECENT`)."""
        return "quarter" if self.by == RECENT else self.by

    @property
    def table(self) -> pl.DataFrame:
        rows = self.levels.filter(pl.col("level") == self.level)
        if self.by == RECENT:
            rows = rows.filter(pl.col("period").is_in(list(self.recent)))
        return rows

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
        return tuple(measure_spc(table, m, self.settings.target(m)) for m in MEASURES)

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


def measure_spc(table: pl.DataFrame, measure: str, target: float) -> MeasureSpc:
    rows = table.filter((pl.col("split") == "all") & (pl.col("measure") == measure))
    periods = tuple(rows["period"].to_list())
    no_cases = rows.filter(pl.col("denominator") == 0)["period"].to_list()
    hidden = rows.filter(pl.col("numerator").is_null() | pl.col("denominator").is_null())["period"].to_list()
    shown = rows.filter(pl.col("numerator").is_not_null() & (pl.col("denominator") > 0))
    label = MEASURE_LABELS.get(measure, measure)
    if shown.height < 2:
        return MeasureSpc(
            measure, label, target, pl.DataFrame(schema=SPC_POINT_SCHEMA), None, None, None,
            tuple(hidden), tuple(no_cases), periods,
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
        periods,
    )
