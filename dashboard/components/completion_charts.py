"""The Completion page's charts and the tables beside them: the p-chart of a measure with its text
alternative and table, the in-hours bar chart, and a split's measures as a table for people."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import (
    SPC_TYPE_LABELS,
    percent,
    spc_chart,
)
from dashboard.components.format import met_of, period_label
from rota.analytics.completion import MEASURES
from rota.services.completion import (
    MEASURE_LABELS,
    SPLIT_LABELS,
    MeasureSpc,
)

SIGNAL_TEXT = {
    "above_upl": "above the upper limit",
    "below_lpl": "below the lower limit",
    "trend_up": "rising trend",
    "trend_down": "falling trend",
    "two_of_three_above": "two of three near the upper limit",
    "two_of_three_below": "two of three near the lower limit",
    "shift_above": "run above the mean",
    "shift_below": "run below the mean",
}


SIGNAL_TEXT = {
    "above_upl": "above the upper limit",
    "below_lpl": "below the lower limit",
    "trend_up": "rising trend",
    "trend_down": "falling trend",
    "two_of_three_above": "two of three near the upper limit",
    "two_of_three_below": "two of three near the lower limit",
    "shift_above": "run above the mean",
    "shift_below": "run below the mean",
}


def spc_figure(spc: MeasureSpc) -> tuple[go.Figure, str]:
    pts = spc.points
    labels = [period_label(p) for p in pts["period"].to_list()]
    hover = [
        f"<b>{label}</b><br>{n} of {d} ({percent(r)})" + (f"<br>{SIGNAL_TEXT.get(s, s)}" if s else "")
        for label, n, d, r, s in zip(
            labels,
            pts["numerator"].to_list(),
            pts["denominator"].to_list(),
            pts["rate"].to_list(),
            pts["signal"].to_list(),
            strict=True,
        )
    ]
    fig = spc_chart(
        labels,
        pts["rate"].to_list(),
        mean=spc.mean or 0.0,
        upper=pts["upl"].to_list(),
        lower=pts["lpl"].to_list(),
        point_types=pts["type"].to_list(),
        target=spc.target,
        hover=hover,
    )
    special = pts.filter(pl.col("type") != "common_cause")["period"].to_list()
    alt = (
        f"p-chart of {spc.label.lower()} by period, {pts.height} periods from {labels[0]} to {labels[-1]}: "
        f"mean {percent(spc.mean)}, target {percent(spc.target, 0)}, latest {percent(pts['rate'][-1])}. "
        f"{spc.variation_text}; {spc.assurance_text or 'no target'}. "
        + (
            f"Special cause in {', '.join(period_label(p) for p in special)}. "
            if special
            else "No special cause. "
        )
        + "The numbers are in the table below the chart."
    )
    return fig, alt


def spc_table(spc: MeasureSpc) -> pl.DataFrame:
    return spc.points.select(
        pl.col("period").map_elements(period_label, return_dtype=pl.String).alias("Period"),
        pl.col("numerator").alias("Met"),
        pl.col("denominator").alias("Cases"),
        pl.col("rate").alias("Rate"),
        pl.col("lpl").alias("Lower limit"),
        pl.col("upl").alias("Upper limit"),
        pl.col("type").replace_strict(SPC_TYPE_LABELS, default=None, return_dtype=pl.String).alias("Kind"),
        pl.col("signal").replace_strict(SIGNAL_TEXT, default=None, return_dtype=pl.String).alias("Signal"),
    )


def _cells(rows: pl.DataFrame) -> dict[tuple[str, str], str]:
    """(split, measure) -> "7 of 10 (70.0%)" for people, from the counts as shown."""
    return {
        (s, m): met_of(n, d, r)
        for s, m, n, d, r in rows.select(
            "split", "measure", "numerator_shown", "denominator_shown", "rate"
        ).iter_rows()
    }


def split_table(rows: pl.DataFrame, splits: list[str]) -> pl.DataFrame:
    cells = _cells(rows)
    cases = {
        s: d
        for s, d in rows.filter(pl.col("measure") == MEASURES[0])
        .select("split", "denominator_shown")
        .iter_rows()
    }
    return pl.DataFrame(
        {
            "Group": [SPLIT_LABELS.get(s, s) for s in splits],
            "Cases": [cases.get(s) for s in splits],
            **{MEASURE_LABELS[m]: [cells.get((s, m)) for s in splits] for m in MEASURES},
        }
    )
