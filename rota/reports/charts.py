"""The assurance pack's charts as SVG documents (str): a Making Data Count p-chart, a days-by-hours gap
heatmap and a coverage trend, each sized for the text width of an A4 portrait page (170 mm).

Pure: no database, no services. Matplotlib is imported inside the functions, so that `rota` commands that
never draw do not pay for it, and figures are made with `matplotlib.figure.Figure` rather than pyplot, so
nothing is left in pyplot's figure list and no backend is chosen for the process. Text stays text
(`svg.fonttype` "none", DejaVu Sans), and the output is the same bytes for the same input (fixed
`svg.hashsalt`, no date in the metadata). Colours are NHS identity and Making Data Count colours; every
series or point kind differs in marker or line style as well as hue, and the heatmap's scale runs in
lightness only, so nothing depends on telling hues apart. Empty inputs raise ValueError: the caller writes a
sentence instead of a chart.
"""

from __future__ import annotations

import base64
import io
import math
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["coverage_trend_svg", "heatmap_svg", "spc_svg", "svg_data_uri"]

from rota.palette import (
    CATEGORICAL,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_LIGHT_BLUE,
    NHS_MID_GREY,
    NHS_PALE_GREY,
    NHS_TEXT,
)

# Making Data Count: special cause improvement, concern, neutral; common cause; target.
MDC_IMPROVEMENT = "#41B6E6"
MDC_CONCERN = "#ED8B00"
MDC_NEUTRAL = "#490092"
MDC_COMMON = "#A6A6A6"
TARGET_RED = "#DA291C"

MM = 1 / 25.4  # inches per millimetre
WIDTH_MM = 170.0  # A4 portrait, 20 mm margins
FONT_SIZE = 8.0  # points, printed at 1:1 in the pack
TITLE_SIZE = 9.5

# point kind -> (label, colour, marker): shape and colour both tell the kind
SPC_KINDS: dict[str, tuple[str, str, str]] = {
    "common_cause": ("Common cause variation", MDC_COMMON, "o"),
    "special_cause_improvement": ("Special cause improvement", MDC_IMPROVEMENT, "s"),
    "special_cause_concern": ("Special cause concern", MDC_CONCERN, "D"),
    "special_cause_neutral": ("Special cause variation", MDC_NEUTRAL, "^"),
}
SPC_COLUMNS = ("period", "rate", "upl", "lpl", "type")
# Series colours in order (the dashboard's), each with its own marker and dash pattern.
SERIES_COLOURS = CATEGORICAL
SERIES_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
SERIES_DASHES = ("-", "--", ":", "-.")
# Heatmap: 0 is white; anything above 0 is at least NHS light blue, then darker to NHS dark blue (lightness
# falls throughout). Where the rule does not apply: pale grey, hatched.
HEAT_STOPS = ((0.0, "#FFFFFF"), (0.0001, NHS_LIGHT_BLUE), (0.5, NHS_BLUE), (1.0, NHS_DARK_BLUE))
HEAT_LABEL = "share of the hour in gap"
NOT_APPLICABLE_LABEL = "Rule does not apply"

# rcParams are process-wide: one chart at a time (the dashboard serves several sessions on threads).
_DRAWING = threading.Lock()


def svg_data_uri(svg: str) -> str:
    """The SVG as a `data:image/svg+xml;base64,...` URI, for an <img> with alt text in the pack's HTML."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def spc_svg(points: pl.DataFrame, *, mean: float, target: float | None, title: str) -> str:
    """A Making Data Count p-chart: the rates per period joined by a line (a null rate is a gap), each point
    coloured and shaped by its kind, the mean, the process limits (per point: dashed grey steps), and the
    target as a red dashed line. The y axis is per cent from 0 to 100."""
    missing = [c for c in SPC_COLUMNS if c not in points.columns]
    if missing:
        needed = ", ".join(SPC_COLUMNS)
        raise ValueError(f"SPC points need the columns {needed}; missing {', '.join(missing)}")
    if points.height == 0:
        raise ValueError("no SPC points to chart: write that the measure has no periods instead")
    periods = [str(p) for p in points["period"].to_list()]
    rates = _floats(points["rate"].to_list(), "rate")
    upl = _floats(points["upl"].to_list(), "upl")
    lpl = _floats(points["lpl"].to_list(), "lpl")
    kinds: list[str | None] = points["type"].to_list()
    unknown = sorted({k for k in kinds if k is not None and k not in SPC_KINDS})
    if unknown:
        known = ", ".join(SPC_KINDS)
        raise ValueError(f"unknown SPC point type {', '.join(unknown)}; expected one of {known}")
    n = len(periods)
    xs = list(range(n))
    with _DRAWING, _rc():
        fig = _figure(80)
        ax = fig.add_subplot()
        # each period's limits span its whole slot, from half a step before it to half a step after
        edges = [i - 0.5 for i in range(n + 1)]
        for limits, name in ((upl, "upl"), (lpl, "lpl")):
            ax.step(
                edges,
                [*limits, limits[-1]],
                where="post",
                color=NHS_MID_GREY,
                linestyle="--",
                linewidth=0.9,
                label="Process limits" if name == "upl" else None,
                gid=f"spc-{name}",
            )
        ax.axhline(mean, color=NHS_DARK_GREY, linewidth=1.1, label="Mean", gid="spc-mean")
        if target is not None:
            _target_line(ax, target, "spc-target")
        ax.plot(xs, rates, color=MDC_COMMON, linewidth=1.2, gid="spc-line")
        for kind, (label, colour, marker) in SPC_KINDS.items():
            at = [i for i in xs if not math.isnan(rates[i]) and (kinds[i] or "common_cause") == kind]
            if at:
                ax.plot(
                    at,
                    [rates[i] for i in at],
                    linestyle="none",
                    marker=marker,
                    markersize=6,
                    markerfacecolor=colour,
                    markeredgecolor="white",
                    markeredgewidth=0.6,
                    label=label,
                    gid=f"spc-points-{kind}",
                    zorder=3,
                )
        _percent_axis(ax)
        _period_axis(ax, periods)
        ax.set_title(title, loc="left", fontsize=TITLE_SIZE, fontweight="bold")
        _legend_below(fig, ax)
        return _svg(fig)


def heatmap_svg(days: Sequence[date], values: Sequence[Sequence[float | None]], *, title: str) -> str:
    """Days (rows, dd/mm, top to bottom) by hours 0-23 (columns): each cell the share of the hour in gap,
    white when covered and darker the more of the hour is uncovered; None (the rule does not apply then) is
    pale grey and hatched. One cell is drawn per hour with a gap, so an all-covered quarter is small."""
    if not days:
        raise ValueError("no days to chart: write that the quarter has no days with a rule instead")
    if len(values) != len(days):
        raise ValueError(f"heatmap: {len(days)} days but {len(values)} rows of values")
    cells: list[tuple[int, int, float]] = []  # (row, hour, share > 0)
    not_applicable: list[tuple[int, int, int]] = []  # (row, first hour, hours): runs of None
    for row, shares in enumerate(values):
        when = f"{days[row]:%d/%m/%Y}"
        if len(shares) != 24:
            raise ValueError(f"heatmap: row {row + 1} ({when}) has {len(shares)} hours, not 24")
        start: int | None = None
        for hour, value in enumerate([*shares, 0.0]):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                start = hour if start is None else start
                continue
            if start is not None:
                not_applicable.append((row, start, hour - start))
                start = None
            if hour < 24:
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"heatmap: {value!r} on {when} at {hour:02d}:00 is not a share (0..1)")
                if value > 0:
                    cells.append((row, hour, float(value)))
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import PercentFormatter

    n = len(days)
    with _DRAWING, _rc():
        fig = _figure(120)
        ax = fig.add_subplot()
        cmap = LinearSegmentedColormap.from_list("rota-gap", list(HEAT_STOPS))
        gaps = PolyCollection(
            [[(h, r), (h + 1, r), (h + 1, r + 1), (h, r + 1)] for r, h, _ in cells],
            array=[share for _, _, share in cells],
            cmap=cmap,
            norm=Normalize(0.0, 1.0),
            edgecolors="none",
            gid="heatmap-gaps",
        )
        for row, first, length in not_applicable:
            ax.add_patch(
                Rectangle(
                    (first, row),
                    length,
                    1,
                    facecolor=NHS_PALE_GREY,
                    edgecolor=NHS_MID_GREY,
                    linewidth=0,
                    hatch="////",
                    gid=f"heatmap-na-{row}-{first}",
                )
            )
        ax.add_collection(gaps)
        ax.set_xlim(0, 24)
        ax.set_ylim(n, 0)
        ax.set_xticks([h + 0.5 for h in range(24)], [f"{h:02d}" for h in range(24)])
        ax.set_xlabel("Hour starting (24-hour clock)")
        step = 1 if n <= 31 else 7 * math.ceil(n / (7 * 16))  # a week apart: the same weekday
        rows = list(range(0, n, step))
        ax.set_yticks([r + 0.5 for r in rows], [f"{days[r]:%d/%m}" for r in rows])
        ax.tick_params(length=2)
        ax.set_title(title, loc="left", fontsize=TITLE_SIZE, fontweight="bold")
        bar = fig.colorbar(gaps, ax=ax, fraction=0.05, pad=0.02, format=PercentFormatter(1.0, decimals=0))
        bar.set_label(HEAT_LABEL)
        bar.set_ticks([0.0, 0.25, 0.5, 0.75, 1.0])
        bar.outline.set_linewidth(0.4)
        handles = [Patch(facecolor="white", edgecolor=NHS_MID_GREY, linewidth=0.5, label="Covered (no gap)")]
        if not_applicable:
            handles.append(
                Patch(
                    facecolor=NHS_PALE_GREY,
                    edgecolor=NHS_MID_GREY,
                    linewidth=0.5,
                    hatch="////",
                    label=NOT_APPLICABLE_LABEL,
                )
            )
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        return _svg(fig)


def coverage_trend_svg(
    series: dict[str, Sequence[tuple[str, float | None]]], *, title: str, target: float | None = None
) -> str:
    """One line per label of the share of hours covered by period, in per cent (a None share is a gap); each
    line with its own colour, marker and dash pattern, the legend below. Periods are the union of the series'
    labels in text order (YYYY-MM and YYYY-Qn labels sort in time order)."""
    if not series or not any(series.values()):
        raise ValueError("no coverage series to chart: write that there is nothing to compare instead")
    periods = sorted({str(period) for points in series.values() for period, _ in points})
    at = {period: i for i, period in enumerate(periods)}
    with _DRAWING, _rc():
        fig = _figure(85)
        ax = fig.add_subplot()
        if target is not None:
            _target_line(ax, target, "trend-target")
        for i, (label, points) in enumerate(series.items()):
            ys = [math.nan] * len(periods)
            for period, share in points:
                ys[at[str(period)]] = math.nan if share is None else float(share)
            ax.plot(
                range(len(periods)),
                ys,
                color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                marker=SERIES_MARKERS[i % len(SERIES_MARKERS)],
                linestyle=SERIES_DASHES[i % len(SERIES_DASHES)],
                linewidth=1.4,
                markersize=5,
                markeredgecolor="white",
                markeredgewidth=0.5,
                label=label,
                gid=f"trend-series-{i}",
            )
        _percent_axis(ax)
        _period_axis(ax, periods)
        ax.set_title(title, loc="left", fontsize=TITLE_SIZE, fontweight="bold")
        _legend_below(fig, ax)
        return _svg(fig)


def _rc() -> AbstractContextManager[None]:
    import matplotlib

    return matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "rota-assurance-pack",
            "font.family": "DejaVu Sans",
            "font.size": FONT_SIZE,
            "text.color": NHS_TEXT,
            "axes.labelcolor": NHS_TEXT,
            "axes.edgecolor": NHS_DARK_GREY,
            "axes.linewidth": 0.6,
            "xtick.color": NHS_DARK_GREY,
            "ytick.color": NHS_DARK_GREY,
            "xtick.labelcolor": NHS_TEXT,
            "ytick.labelcolor": NHS_TEXT,
            "xtick.labelsize": FONT_SIZE,
            "ytick.labelsize": FONT_SIZE,
            "legend.fontsize": FONT_SIZE,
            "legend.frameon": False,
            "hatch.linewidth": 0.5,
            "hatch.color": NHS_MID_GREY,
        }
    )


def _figure(height_mm: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_MM * MM, height_mm * MM), layout="constrained")


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _floats(values: list[float | None], column: str) -> list[float]:
    out = []
    for v in values:
        if v is not None and not 0.0 <= v <= 1.0 and not math.isnan(v):
            raise ValueError(f"SPC {column} {v!r} is not a proportion (0..1)")
        out.append(math.nan if v is None else float(v))
    return out


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _target_line(ax: Axes, target: float, gid: str) -> None:
    """The target as a red dashed line across the chart, in the legend as `Target 90.0%`."""
    ax.axhline(
        target, color=TARGET_RED, linestyle="--", linewidth=1.1, label=f"Target {_pct(target)}", gid=gid
    )


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(-0.02, 1.02)
    ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", color=NHS_PALE_GREY, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(length=2)


def _period_axis(ax: Axes, periods: list[str]) -> None:
    """Every period labelled, rotated when they would not fit side by side; thinned past 40."""
    n = len(periods)
    step = max(1, math.ceil(n / 40))
    shown = list(range(0, n, step))
    ax.set_xlim(-0.5, n - 0.5)
    crowded = sum(len(periods[i]) + 2 for i in shown) > 95
    ax.set_xticks(
        shown,
        [periods[i] for i in shown],
        rotation=45 if crowded else 0,
        ha="right" if crowded else "center",
        rotation_mode="anchor",
    )


def _legend_below(fig: Figure, ax: Axes) -> None:
    """As many columns as the longest label lets fit across the page (matplotlib does not wrap a legend)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        column_pt = max(len(label) for label in labels) * 0.6 * FONT_SIZE + 40  # handle, gap, text
        across = max(1, min(len(handles), int(WIDTH_MM / 25.4 * 72 // column_pt)))
        fig.legend(handles, labels, loc="outside lower center", ncols=across)
