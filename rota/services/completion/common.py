"""The completion service's words, table shapes and settings (docs/cases.md "Completion" and "Settings"):
granularities, labels, the schemas of what the page gets, who may read the figures, and the targets and
suppression threshold read from the stored settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from rota.analytics.completion import (
    MEASURES,
    SPLIT_VALUES,
)
from rota.analytics.reasons import REASON_CATEGORIES
from rota.analytics.suppression import (
    DEFAULT_THRESHOLD,
    check_threshold,
)
from rota.errors import PermissionDenied
from rota.services.access import COMPLETION, Actor, can_read_case_level, pages_for
from rota.storage import Engine
from rota.storage.settings import read_settings
from rota.vocab import DEFAULT_TARGET, Assurance, Measure, Variation

BY: tuple[str, ...] = ("month", "quarter", "year")
BY_SUPPRESSED: tuple[str, ...] = ("quarter", "year")  # months are too small to publish
DEFAULT_BY = "quarter"
# The page's first view: the last four whole calendar quarters (a rolling 12 months), by quarter. A way of
# looking at the quarterly rows, not a level of its own: it publishes nothing the quarters do not.
RECENT = "recent"
RECENT_QUARTERS = 4
TOTAL = "all periods"  # the period label of every stored case together
REASON_PREFIX = "reason: "
NOT_RECORDED = REASON_CATEGORIES["not_recorded"]

BY_LABELS: dict[str, str] = {
    RECENT: "Last 12 months, by quarter",
    "month": "Month",
    "quarter": "Quarter",
    "year": "Year",
}
# Words for people, from the declarations of rota.vocab (docs/cases.md "Measures", docs/methods.md
# "Making Data Count words").
MEASURE_LABELS: dict[str, str] = {m.value: m.label for m in Measure}
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
VARIATION_TEXT: dict[str, str] = {v.value: v.label for v in Variation}
ASSURANCE_TEXT: dict[str, str] = {a.value: a.label for a in Assurance}

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

SPLITS = ("none", "hours", "age_band", "coverage")
SPLIT_ORDER = {v: i for i, v in enumerate(dict.fromkeys(v for s in SPLITS for v in SPLIT_VALUES[s]))}
MEASURE_ORDER = {m: i for i, m in enumerate(MEASURES)}
LEVEL_ORDER = {"month": 0, "quarter": 1, "year": 2, "total": 3}


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


def by_label(by: str) -> str:
    """Month, Quarter, Year."""
    return BY_LABELS.get(by, by)


def periods_for(actor: Actor, settings: CompletionSettings | None = None) -> tuple[str, ...]:
    """The granularities this actor may choose: all for exact figures, quarter and year when suppressed."""
    settings = settings or CompletionSettings()
    if can_read_case_level(actor) or settings.threshold <= 1:
        return BY
    return BY_SUPPRESSED


def views_for(actor: Actor, settings: CompletionSettings | None = None) -> tuple[str, ...]:
    """What the page offers, first the one it opens on: the last 12 months by quarter, then the
    granularities this actor may choose (`periods_for`)."""
    return (RECENT, *periods_for(actor, settings))


def recent_quarters(today: date) -> tuple[str, ...]:
    """The last four whole calendar quarters before the one `today` is in, oldest first:
    04/12/2026 -> 2025-Q4, 2026-Q1, 2026-Q2, 2026-Q3."""
    index = today.year * 4 + (today.month - 1) // 3  # this quarter, counted from year 0
    return tuple(f"{q // 4:04d}-Q{q % 4 + 1}" for q in range(index - RECENT_QUARTERS, index))


def period_labels(month: str) -> tuple[str, str, str]:
    year, m = month.split("-")
    return f"{year}-Q{(int(m) - 1) // 3 + 1}", year, TOTAL
