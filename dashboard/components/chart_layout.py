"""Layouts that keep a chart's labels whole at any width from 1280 px, and percentages in tables as
everywhere else (one decimal, format.percent): shared by every chart (dashboard.components.charts
re-exports them)."""

from __future__ import annotations

import polars as pl
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

GRID = "#E8EDEE"  # NHS pale grey, as charts.NHS_PALE_GREY

# Axes and legends that keep every label inside the figure at any width: margins grow to fit the tick
# labels and titles (automargin), axis titles stand off their ticks, percentages have the product's one
# decimal where they are not whole (format.percent), and legends run in a row above the plot.
PERCENT_TICKS = ".0%"  # whole per cents on an axis from 0 to 100% (ticks every 20%: 0%, 20%, ... 100%)
PERCENT_AXIS: dict[str, object] = {
    "tickformat": PERCENT_TICKS,
    "hoverformat": ".1%",
    "automargin": True,
    "fixedrange": True,
    "gridcolor": GRID,
    "zeroline": False,
}
VALUE_AXIS: dict[str, object] = {"automargin": True, "fixedrange": True, "gridcolor": GRID}
LEGEND_ABOVE: dict[str, object] = {
    "orientation": "h",
    "yanchor": "bottom",
    "y": 1.02,
    "xanchor": "left",
    "x": 0,
    "font": {"size": 11},
}
# The same row pinned to the top of the figure, for small charts whose legend may take two rows: the top
# margin (`LEGEND_TOP_MARGIN`) keeps the plot clear of it at any width from 1280 px.
LEGEND_ON_TOP: dict[str, object] = LEGEND_ABOVE | {"yref": "container", "yanchor": "top", "y": 0.99}
LEGEND_TOP_MARGIN = 60
MAX_CATEGORY_TICKS = 6  # at most this many period labels on a half-width chart; the rest every k-th


def category_axis(n: int, *, max_ticks: int = MAX_CATEGORY_TICKS) -> dict[str, object]:
    """A category x axis of `n` periods whose labels never overlap: every period keeps its place, but
    beyond `max_ticks` only every k-th is labelled (the tick angle is left to Plotly, which turns the
    labels if they would still touch)."""
    axis: dict[str, object] = {
        "type": "category",
        "automargin": True,
        "fixedrange": True,
        "ticks": "outside",
        "ticklen": 4,
    }
    if n > max_ticks:
        axis["nticks"] = max_ticks
    return axis


def wrap_label(text: str, width: int = 14) -> str:
    """A long category label broken into lines of at most about `width` characters with <br>, so that
    labels side by side on an axis never run into one another."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


# Percentages in tables as everywhere else (format.percent): one decimal, 93.8%. Streamlit's printf formats
# show the value as it is, so the column holds per cents (the share times 100: `per_cent`).
PER_CENT_FORMAT = "%.1f%%"


def per_cent(column: str | pl.Expr) -> pl.Expr:
    """A share (0.9375) as per cents (93.75) for a `percent_column`, which shows it as 93.8%."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr * 100


def percent_column(help: str | None = None, *, progress: bool = False) -> ColumnConfig:
    """A table column of per cents (`per_cent`) shown with one decimal, as a bar from 0 to 100% when
    `progress`."""
    if progress:
        return st.column_config.ProgressColumn(
            min_value=0.0, max_value=100.0, format=PER_CENT_FORMAT, help=help
        )
    return st.column_config.NumberColumn(format=PER_CENT_FORMAT, help=help)
