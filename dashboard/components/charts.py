"""Chart and table helpers every page shares: the NHS palette in colour-blind-safe orders and scales, a
heatmap, UK date formatting for display, and CSV/Excel download buttons with local times as text.

Colour choices: categorical series use NHS colours ordered so the first ones stay apart under the common
colour-vision deficiencies (blue against orange first); the sequential scale runs from white through NHS
light blue to NHS dark blue, lightness falling all the way, so it also reads in greyscale. Charts are
drawn with `theme=None` so these colours are exactly what people see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Literal

import numpy as np
import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.components.chart_layout import (
    LEGEND_ABOVE,
    LEGEND_ON_TOP,
    LEGEND_TOP_MARGIN,
    PERCENT_AXIS,
    VALUE_AXIS,
    category_axis,
    per_cent,
    percent_column,
    wrap_label,
)
from dashboard.components.downloads import CSV_MIME, XLSX_MIME, Download, download_row
from dashboard.components.format import (
    NOT_APPLICABLE,
    UK_DATE_COLUMN,
    UK_DATE_INPUT,
    UK_DATETIME_COLUMN,
    csv_bytes,
    for_people,
    hours_amount,
    hours_text,
    percent,
    uk_date,
    uk_datetime,
    uk_day,
    uk_time,
    xlsx_bytes,
)
from rota.timeutil import SERVICE_TZ
from rota.vocab import Variation

__all__ = [
    "CATEGORICAL",
    "NA_COLOUR",
    "NOT_APPLICABLE",
    "PAIR",
    "PLOTLY_CONFIG",
    "SEQUENTIAL",
    "UK_DATETIME_COLUMN",
    "UK_DATE_COLUMN",
    "UK_DATE_INPUT",
    "HeatmapPanel",
    "download_buttons",
    "for_people",
    "heatmap",
    "hours_amount",
    "hours_text",
    "nhs_layout",
    "per_cent",
    "percent",
    "percent_column",
    "show_chart",
    "uk_date",
    "uk_datetime",
    "uk_day",
    "uk_time",
]

# The colours live in rota/palette.py (the assurance pack draws with them too).
from rota.palette import (
    CATEGORICAL,
    NHS_BLACK,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_DARK_RED,
    NHS_LIGHT_BLUE,
    NHS_MID_GREY,
    NHS_ORANGE,
    NHS_PALE_GREY,
    NHS_PURPLE,
    NHS_TEXT,
    NHS_WHITE,
    PAIR,
)

# 0 is white; anything above 0 is at least NHS light blue (CIELAB lightness 70 against white's 100), so a
# 1-minute gap is never invisible; lightness then falls to NHS dark blue (23).
SEQUENTIAL: list[list[float | str]] = [
    [0.0, NHS_WHITE],
    [0.0001, NHS_LIGHT_BLUE],
    [0.5, NHS_BLUE],
    [1.0, NHS_DARK_BLUE],
]
NA_COLOUR = "#D8DDE0"  # NHS grey 4 (lightness 88): where the measure does not apply
PLOTLY_CONFIG: dict[str, object] = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def nhs_layout(fig: go.Figure, *, title: str | None = None, height: int | None = None) -> go.Figure:
    """Fonts, colours and margins shared by every chart."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}} if title else None,
        font={"family": "Frutiger, Arial, sans-serif", "color": NHS_TEXT, "size": 12},
        colorway=list(CATEGORICAL),
        paper_bgcolor=NHS_WHITE,
        plot_bgcolor=NHS_WHITE,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        hoverlabel={"bgcolor": NHS_WHITE, "font": {"color": NHS_TEXT}},
    )
    if height is not None:
        fig.update_layout(height=height)
    return fig


@dataclass(frozen=True)
class HeatmapPanel:
    """One panel of a heatmap: `values` rows follow the y labels, columns the x labels; NaN or None means
    the measure does not apply there. `hover` holds the full text of each cell (UK dates, 24-hour clock).
    Break a long `title` into lines with `<br>`. Numpy arrays keep large heatmaps fast (Plotly checks
    nested lists element by element)."""

    title: str
    values: np.ndarray | Sequence[Sequence[float | None]]
    hover: np.ndarray | Sequence[Sequence[str]]


def heatmap(
    panels: Sequence[HeatmapPanel],
    *,
    x: Sequence[str],
    y: Sequence[str],
    colorbar_title: str,
    zmin: float = 0.0,
    zmax: float = 1.0,
    tickformat: str = ".0%",
    x_title: str | None = None,
    row_height: int | None = None,
) -> go.Figure:
    """Side-by-side heatmaps sharing one y axis (for example days) and one colour bar.

    Values run on the sequential scale, zero white; cells where the measure does not apply are pale grey.
    Both differ in lightness from every non-zero value, so nothing depends on telling hues apart."""
    n = max(1, len(panels))
    fig = make_subplots(
        rows=1,
        cols=n,
        shared_yaxes=True,
        horizontal_spacing=0.02 if n > 1 else None,
        subplot_titles=[p.title for p in panels],
    )
    xs, ys = list(x), list(y)
    for i, panel in enumerate(panels, start=1):
        z = np.array(panel.values, dtype=float)  # None -> NaN
        missing = np.isnan(z)
        if missing.any():
            # drawn first, under the main trace, whose empty cells let the grey through; the hover text
            # comes from the main trace (hoverongaps), so it is sent once
            fig.add_trace(
                go.Heatmap(
                    z=np.where(missing, 1.0, np.nan),
                    x=xs,
                    y=ys,
                    colorscale=[[0.0, NA_COLOUR], [1.0, NA_COLOUR]],
                    showscale=False,
                    hoverinfo="skip",
                    xgap=1,
                    ygap=1,
                    name=f"{panel.title}: does not apply",
                ),
                row=1,
                col=i,
            )
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=xs,
                y=ys,
                hovertext=np.asarray(panel.hover, dtype=object),
                hoverinfo="text",
                hoverongaps=True,
                colorscale=SEQUENTIAL,
                zmin=zmin,
                zmax=zmax,
                xgap=1,
                ygap=1,
                showscale=i == 1,
                colorbar={
                    "title": {"text": colorbar_title, "side": "right"},
                    "tickformat": tickformat,
                    "len": 320,
                    "lenmode": "pixels",
                    "y": 1,
                    "yanchor": "top",
                },
                name=panel.title,
            ),
            row=1,
            col=i,
        )
    fig.update_xaxes(type="category", side="top", tickangle=0, ticks="", fixedrange=True, title_text=x_title)
    fig.update_yaxes(type="category", autorange="reversed", ticks="", fixedrange=True, automargin=True)
    # Panel titles (lines split with <br>) sit above the hour labels of the top axis.
    lines = max((p.title.count("<br>") + 1 for p in panels), default=1)
    fig.update_annotations(yshift=22, yanchor="bottom", font={"size": 13})
    if row_height is None:
        row_height = 16 if len(y) <= 62 else 8
    top = 40 + 18 * lines
    nhs_layout(fig, height=max(260, row_height * len(y) + top + 20))
    fig.update_layout(margin={"l": 10, "r": 10, "t": top, "b": 10})
    return fig


def show_chart(fig: go.Figure, *, alt: str, key: str | None = None) -> None:
    """Draw a Plotly chart in the NHS colours (not the Streamlit theme) with a text alternative."""
    st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, key=key, alt=alt)


def download_buttons(
    df: pl.DataFrame,
    name: str,
    *,
    tz: tzinfo = SERVICE_TZ,
    key: str | None = None,
    sheet: str | None = None,
    fetch: Callable[[str], pl.DataFrame] | None = None,
) -> None:
    """ "Download CSV" and "Download Excel" buttons for `df`, files `<name>.csv` and `<name>.xlsx`.

    Instants are written as local text (25/10/2026 01:30 GMT), dates as dd/mm/yyyy. The files are made
    only when someone clicks, so the buttons cost the page nothing. `fetch`, when given, is called on
    click instead of using `df` ("download csv" or "download excel"): a service call that checks and
    audits the read of case-level data each time a file is served, never at a rerun."""
    key = key or f"download-{name}"
    data = df  # captured by the callables below, which run on click

    def rows(via: str) -> pl.DataFrame:
        return data if fetch is None else fetch(via)

    def as_csv() -> bytes:
        return csv_bytes(rows("download csv"), tz)

    def as_xlsx() -> bytes:
        return xlsx_bytes(rows("download excel"), tz, sheet or name)

    download_row(
        [
            Download("Download CSV", as_csv, f"{name}.csv", CSV_MIME, f"{key}-csv"),
            Download("Download Excel", as_xlsx, f"{name}.xlsx", XLSX_MIME, f"{key}-xlsx"),
        ]
    )


# ---------------------------------------------------------------------------------------------- SPC
# Making Data Count styles for the kind of each point (rota.vocab.Variation; docs/methods.md "Making Data
# Count words"): improvement blue, concern orange, common cause grey, neither purple, each kind with its own
# marker shape so that nothing depends on colour alone, and the badge colour and icon of the page (badge
# colours out of those st.badge accepts: its `color` is a Literal).
BadgeColour = Literal["blue", "orange", "violet", "gray"]


@dataclass(frozen=True)
class SpcStyle:
    colour: str
    symbol: str
    badge: BadgeColour
    icon: str


SPC_STYLES: dict[str, SpcStyle] = {
    Variation.COMMON_CAUSE: SpcStyle(NHS_MID_GREY, "circle", "gray", ":material/horizontal_rule:"),
    Variation.IMPROVEMENT: SpcStyle(NHS_BLUE, "square", "blue", ":material/trending_up:"),
    Variation.CONCERN: SpcStyle(NHS_ORANGE, "diamond", "orange", ":material/trending_down:"),
    Variation.NEUTRAL: SpcStyle(NHS_PURPLE, "triangle-up", "violet", ":material/swap_vert:"),
}
SPC_TYPE_LABELS: dict[str, str] = {v.value: v.label for v in Variation}


def spc_style(kind: str | None) -> SpcStyle:
    """The style of a point kind (an unknown or missing kind is drawn as common cause)."""
    return SPC_STYLES.get(kind or "", SPC_STYLES[Variation.COMMON_CAUSE])


def nhs_layout_dict(*, title: str | None = None, height: int | None = None) -> dict[str, object]:
    """The layout `nhs_layout` applies, as a plain dict: building a figure in one go from dicts is several
    times faster than updating it step by step, which matters on pages with many charts."""
    layout: dict[str, object] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}} if title else None,
        "font": {"family": "Frutiger, Arial, sans-serif", "color": NHS_TEXT, "size": 12},
        "colorway": list(CATEGORICAL),
        "paper_bgcolor": NHS_WHITE,
        "plot_bgcolor": NHS_WHITE,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "hoverlabel": {"bgcolor": NHS_WHITE, "font": {"color": NHS_TEXT}},
    }
    if height is not None:
        layout["height"] = height
    return layout


def spc_chart(
    x: Sequence[str],
    values: Sequence[float | None],
    *,
    mean: float,
    upper: Sequence[float | None],
    lower: Sequence[float | None],
    point_types: Sequence[str | None],
    target: float | None = None,
    hover: Sequence[str] | None = None,
    proportion: bool = True,
    title: str | None = None,
    height: int = 300,
) -> go.Figure:
    """A Making Data Count chart: the series, its mean, the process limits (per point, so a p-chart's
    limits step with each denominator) and an optional target, each point coloured and shaped by its
    kind (`SPC_STYLES`). `proportion` shows the y axis as percentages from 0 to 100%. A period whose value
    is None (hidden, or no cases) keeps its place on the axis and shows as a gap: lines are never joined
    across it."""
    xs = list(x)
    limit_line = {"color": NHS_DARK_GREY, "width": 1, "dash": "dash", "shape": "hvh"}
    # a short dash at each period as well, so a period between two gaps still shows its limits
    limit_mark = {"symbol": "line-ew", "size": 12, "line": {"color": NHS_DARK_GREY, "width": 1}}
    traces: list[dict[str, object]] = [
        {
            "type": "scatter", "x": xs, "y": list(upper), "mode": "lines+markers", "line": limit_line,
            "marker": limit_mark,
            "name": "Process limits", "legendgroup": "limits", "hoverinfo": "skip", "connectgaps": False,
        },
        {
            "type": "scatter", "x": xs, "y": list(lower), "mode": "lines+markers", "line": limit_line,
            "marker": limit_mark,
            "name": "Lower limit", "legendgroup": "limits", "showlegend": False, "hoverinfo": "skip",
            "connectgaps": False,
        },
        {
            "type": "scatter", "x": xs, "y": [mean] * len(xs), "mode": "lines",
            "line": {"color": NHS_BLACK, "width": 1.5}, "name": "Mean", "hoverinfo": "skip",
        },
    ]  # fmt: skip
    if target is not None:
        traces.append(
            {
                "type": "scatter",
                "x": xs,
                "y": [target] * len(xs),
                "mode": "lines",
                "line": {"color": NHS_DARK_RED, "width": 1.5, "dash": "dot"},
                "name": "Target",
                "hoverinfo": "skip",
            }
        )
    texts = (
        list(hover)
        if hover is not None
        else [NOT_APPLICABLE if v is None else percent(v) if proportion else f"{v:g}" for v in values]
    )
    traces.append(
        {
            "type": "scatter",
            "x": xs,
            "y": list(values),
            "mode": "lines+markers",
            "connectgaps": False,
            "line": {"color": NHS_PALE_GREY, "width": 2},
            "marker": {
                "color": [spc_style(t).colour for t in point_types],
                "symbol": [spc_style(t).symbol for t in point_types],
                "size": 9,
                "line": {"color": NHS_WHITE, "width": 1},
            },
            "name": "Periods",
            "hovertext": texts,
            "hoverinfo": "text",
        }
    )
    layout = nhs_layout_dict(title=title, height=height)
    layout |= {
        "xaxis": category_axis(len(xs)),
        "yaxis": {**PERCENT_AXIS, "range": [-0.02, 1.02]} if proportion else {**VALUE_AXIS},
        "legend": LEGEND_ON_TOP,
        "hovermode": "closest",
    }
    layout["margin"] = {"l": 10, "r": 10, "t": LEGEND_TOP_MARGIN + (30 if title else 0), "b": 10}
    return go.Figure(data=traces, layout=layout)


__all__ += [
    "LEGEND_ABOVE",
    "PERCENT_AXIS",
    "SPC_STYLES",
    "SPC_TYPE_LABELS",
    "VALUE_AXIS",
    "SpcStyle",
    "category_axis",
    "nhs_layout_dict",
    "spc_chart",
    "spc_style",
    "wrap_label",
]


def period_range_input(default: tuple[date, date], key: str, help_text: str) -> tuple[date, date]:
    """A "Period" date-range picker (UK format); stops the page with a hint until both days are picked."""
    picked = st.date_input("Period", value=default, format=UK_DATE_INPUT, key=key, help=help_text)
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the last day of the period as well.")
        st.stop()
    first, last = picked
    return first, last
