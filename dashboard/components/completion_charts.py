"""The Completion page's charts and the tables beside them: the p-chart of a measure with its text
alternative and table, the in-hours bar chart, and a split's measures as a table for people."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.charts import (
    LEGEND_ABOVE,
    PAIR,
    PERCENT_AXIS,
    SPC_TYPE_LABELS,
    BadgeColour,
    nhs_layout_dict,
    per_cent,
    percent,
    spc_chart,
    spc_style,
    wrap_label,
)
from dashboard.components.format import met_of, period_label
from rota.analytics.completion import MEASURES
from rota.services.completion import MEASURE_LABELS, SPLIT_LABELS, CompletionView, MeasureSpc
from rota.vocab import Assurance, Measure, SpcSignal, Variation

# The signals in words (rota.vocab.SpcSignal; docs/methods.md "Making Data Count words").
SIGNAL_TEXT: dict[str, str] = {signal.value: signal.label for signal in SpcSignal}


def axis_label(label: str) -> str:
    """A period's label on two lines for a narrow axis: "Jan-Mar 2026" -> "Jan-Mar<br>2026"."""
    return "<br>".join(label.rsplit(" ", 1))


def spc_figure(spc: MeasureSpc) -> tuple[go.Figure, str]:
    """The p-chart on every period of the view: a period whose counts are hidden, or without cases, is a
    gap on its axis (nothing drawn, nothing joined across it)."""
    pts = spc.series
    labels = [period_label(p) for p in pts["period"].to_list()]
    hover = [
        f"<b>{label}</b><br>"
        + (
            f"{n} of {d} ({percent(r)})" + (f"<br>{SIGNAL_TEXT.get(s, s)}" if s else "")
            if r is not None
            else ("no cases" if p in spc.no_cases else "not shown: a count is hidden")
        )
        for label, p, n, d, r, s in zip(
            labels,
            pts["period"].to_list(),
            pts["numerator"].to_list(),
            pts["denominator"].to_list(),
            pts["rate"].to_list(),
            pts["signal"].to_list(),
            strict=True,
        )
    ]
    fig = spc_chart(
        [axis_label(label) for label in labels],
        pts["rate"].to_list(),
        mean=spc.mean or 0.0,
        upper=pts["upl"].to_list(),
        lower=pts["lpl"].to_list(),
        point_types=pts["type"].to_list(),
        target=spc.target,
        hover=hover,
    )
    shown = spc.points
    special = shown.filter(pl.col("type") != Variation.COMMON_CAUSE.value)["period"].to_list()
    gaps = len(spc.periods) - shown.height
    alt = (
        f"p-chart of {spc.label.lower()} by period, {len(labels)} periods from {labels[0]} to {labels[-1]}"
        + (f" ({gaps} without a rate shown, left as gaps)" if gaps else "")
        + f": mean {percent(spc.mean)}, target {percent(spc.target)}, latest {percent(shown['rate'][-1])}. "
        f"{spc.variation_text}; {spc.assurance_text or 'no target'}. "
        + (
            f"Special cause in {', '.join(period_label(p) for p in special)}. "
            if special
            else "No special cause. "
        )
        + "The numbers are in the table below the charts."
    )
    return fig, alt


def spc_tables(spcs: Sequence[MeasureSpc]) -> pl.DataFrame:
    """The points of several p-charts in one table for people, a Measure column first."""
    return pl.concat([spc_table(spc).select(pl.lit(spc.label).alias("Measure"), pl.all()) for spc in spcs])


def spc_points(spcs: Sequence[MeasureSpc]) -> pl.DataFrame:
    """The points of several p-charts as stored, a measure column first (for the downloads)."""
    return pl.concat(
        [spc.points.select(pl.lit(spc.measure).alias("measure"), pl.all()) for spc in spcs],
        how="diagonal_relaxed",
    )


def spc_table(spc: MeasureSpc) -> pl.DataFrame:
    return spc.points.select(
        pl.col("period").map_elements(period_label, return_dtype=pl.String).alias("Period"),
        pl.col("numerator").alias("Met"),
        pl.col("denominator").alias("Cases"),
        per_cent("rate").alias("Rate"),
        per_cent("lpl").alias("Lower limit"),
        per_cent("upl").alias("Upper limit"),
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
        for s, d in rows.filter(pl.col("measure") == Measure.JAR_TRIGGERED.value)
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


def hours_figure(view: CompletionView) -> go.Figure:
    """Each measure in hours beside out of hours, as bars (a rate not shown leaves its bar out)."""
    rows = view.overall.filter(pl.col("split").is_in(["in_hours", "out_of_hours"]))
    traces: list[dict[str, object]] = []
    for (split, name), colour in zip(
        (("in_hours", "In hours (Mon-Fri 09:00-17:00)"), ("out_of_hours", "Out of hours")), PAIR, strict=True
    ):
        mine = rows.filter(pl.col("split") == split)
        rates = dict(mine.select("measure", "rate").iter_rows())
        texts = dict(mine.select("measure", "numerator_shown").iter_rows())
        dens = dict(mine.select("measure", "denominator_shown").iter_rows())
        traces.append(
            {
                "type": "bar",
                "x": [wrap_label(MEASURE_LABELS[m]) for m in MEASURES],
                "y": [rates.get(m) for m in MEASURES],
                "name": name,
                "marker": {"color": colour},
                "hovertext": [f"{name}: {met_of(texts.get(m), dens.get(m), rates.get(m))}" for m in MEASURES],
                "hoverinfo": "text",
            }
        )
    layout = nhs_layout_dict(height=380) | {
        "barmode": "group",
        "legend": LEGEND_ABOVE,
        "xaxis": {"type": "category", "tickangle": 0, "automargin": True, "fixedrange": True},
        "yaxis": {**PERCENT_AXIS, "range": [0, 1], "title": {"text": "Share in time", "standoff": 10}},
    }
    fig = go.Figure(data=traces, layout=layout)
    return fig


# Badge colours of the assurance icon (rota.vocab.Assurance); the variation icon's come with its chart style
# (dashboard.components.charts.SPC_STYLES).
ASSURANCE_COLOURS: dict[str, BadgeColour] = {
    Assurance.PASS: "blue",
    Assurance.FAIL: "orange",
    Assurance.HIT_AND_MISS: "gray",
}


def spc_badges(spc: MeasureSpc) -> None:
    """The variation and assurance icons of a measure as badges."""
    with st.container(horizontal=True, gap="small"):
        if spc.variation_icon:
            st.badge(
                spc.variation_text or spc.variation_icon,
                color=spc_style(spc.variation_icon).badge,
                icon=spc_style(spc.variation_icon).icon,
                help="Variation: what the latest period shows (Making Data Count).",
            )
        if spc.assurance_icon:
            st.badge(
                spc.assurance_text or spc.assurance_icon,
                color=ASSURANCE_COLOURS.get(spc.assurance_icon, "gray"),
                icon=":material/flag:",
                help="Assurance: whether the process limits lie above or below the target of "
                f"{percent(spc.target)}.",
            )
