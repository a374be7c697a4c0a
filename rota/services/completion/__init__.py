"""Completion for people (docs/cases.md, docs/dashboard.md, docs/security.md): how past Joint Agency
Responses went, by period, in and out of hours, by age band (16-17 beside the NCMD bands), against the
rota's cover, why responses were incomplete, and Making Data Count p-charts of each measure; the
case-level list for the CDOP manager.

Who sees what (enforced here, not only on the page):

- admin and cdop_manager: exact counts by month, quarter or year, and the case-level list (`case_table`,
  or `completion_view(..., include_cases=True)` to have it worked out with the figures).
- commissioner: aggregates only, with small-number suppression (`rota.analytics.suppression`): counts
  from 1 to `threshold - 1` shown as "<5", cells hidden so that none of those can be worked out as "*",
  and the rate null wherever either of its counts is hidden; by quarter or year only (about three cases
  a month would leave a monthly view almost all "<5"). `case_table` refuses them.
- coordinator: refused (they read coverage only, docs/security.md "Roles"; Completion is not among
  their pages).

Suppression is worked out once over every period level together (quarters, years and all the stored
cases), every split (in/out of hours, age bands with 16-17 inside 15-17, covered/uncovered),
the cross-tab of fully completed responses by cover (whose "not completed" counts are published) and the
reasons: switching the period granularity, or reading two sections side by side, cannot undo it. The
numerators of different measures are not sums of one another, so they are protected measure by measure;
the denominator (cases meeting the JAR criteria) is one count shared by every measure of a period and split.
The rows go to suppression in a fixed order, so the same data is always hidden the same way. Commissioners
are not given the exact number of stored cases, nor the dates of the first and last.

The page opens on `RECENT`, the last 12 months by quarter: the quarterly rows of the last four whole
calendar quarters before `now` (`recent_quarters`), a way of looking at rows already published, never a
window of its own. `MeasureSpc.series` gives each p-chart on every period of the view, with nulls where a
period's rate is not shown, so a chart keeps the period on its axis as a gap; `MeasureSpc.latest` is the
latest period and its rate, for the page's "latest quarter against the target".

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

from datetime import datetime, tzinfo

import polars as pl

from rota.analytics.completion import SPLIT_VALUES, period_bounds
from rota.errors import PermissionDenied
from rota.model import Rota
from rota.services.access import Actor, can_read_case_level, require_case_level
from rota.services.cases import audit_case_read
from rota.services.completion.cases import build_case_table
from rota.services.completion.common import (
    ASSURANCE_TEXT,
    BY,
    BY_LABELS,
    BY_SUPPRESSED,
    CASE_TABLE_SCHEMA,
    DEFAULT_BY,
    MEASURE_LABELS,
    RECENT,
    SPLIT_LABELS,
    SPLITS,
    TOTAL,
    VARIATION_TEXT,
    CompletionSettings,
    by_label,
    can_read_completion,
    completion_settings,
    periods_for,
    recent_quarters,
    require_read_completion,
    settings_from,
    views_for,
)
from rota.services.completion.figures import build_view
from rota.services.completion.view import CompletionView, MeasureSpc
from rota.storage import Engine
from rota.storage.cases import load_cases
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ
from rota.vocab import DEFAULT_TARGET, Measure


def rota_for(engine: Engine, cases: pl.DataFrame) -> Rota:
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
    rota = rota_for(engine, cases)
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


def completion_table(
    engine: Engine, actor: Actor, by: str = DEFAULT_BY, split: str = "none", tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """The `rota completion` columns (period, split, measure, numerator, denominator, rate) of one split,
    plus the `*_shown` texts and `suppressed`; suppressed for commissioners exactly as in
    `completion_view`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    view = completion_view(engine, actor, by, tz)
    values = SPLIT_VALUES[split]
    return view.table.filter(pl.col("split").is_in(values)).select(
        "period", "split", "measure", "numerator", "denominator", "rate",
        "numerator_shown", "denominator_shown", "suppressed",
    )  # fmt: skip


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
        rows = build_case_table(cases, rota_for(engine, cases), tz)
    if only_incomplete:
        fully = pl.col(Measure.FULLY_COMPLETED.value)
        rows = rows.filter(fully.not_() | fully.is_null())
    audit_case_read(
        engine, actor, via, rows.height, filter="responses not fully completed" if only_incomplete else None
    )
    return rows


__all__ = [
    "ASSURANCE_TEXT",
    "BY",
    "BY_LABELS",
    "BY_SUPPRESSED",
    "CASE_TABLE_SCHEMA",
    "DEFAULT_BY",
    "DEFAULT_TARGET",
    "MEASURE_LABELS",
    "RECENT",
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
    "recent_quarters",
    "require_read_completion",
    "settings_from",
    "views_for",
]
