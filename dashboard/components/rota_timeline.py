"""The Rota editor's week timeline: one row per responder with a shift or an absence in the week, on-call
and on-site shifts and absences as bars in local time (the unsaved edits included when given)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import (
    nhs_layout,
)
from rota.palette import NHS_BLUE, NHS_DARK_GREY, NHS_ORANGE, NHS_PALE_GREY
from rota.services.editing import WeekView, to_wall
from rota.timeutil import uk_local
from rota.vocab import ShiftKind

# The shift kinds for people, in the legend and the grid's options: "On call", "On site" (rota.vocab).
KIND_LABELS = {k.value: k.label.capitalize() for k in ShiftKind}
HOUR_TICK_MS = 6 * 3_600_000  # a tick every six hours
_KIND_COLOURS = {ShiftKind.ONCALL.value: NHS_BLUE, ShiftKind.ONSITE.value: NHS_ORANGE}


def week_timeline(
    view: WeekView, shifts: pl.DataFrame, absences: pl.DataFrame, tz: tzinfo
) -> tuple[go.Figure, int] | None:
    """The timeline and how many responders it shows; None when nobody has a shift or an absence."""
    names = view.names()
    active = set(shifts.get_column("responder_id")) | set(absences.get_column("responder_id"))
    order = [rid for rid in view.responders.get_column("responder_id").to_list() if rid in active]
    if not order:
        return None
    labels = {rid: f"{names.get(rid, rid)} ({rid})" for rid in order}
    lo = view.start.astimezone(tz).replace(tzinfo=None)
    hi = view.end.astimezone(tz).replace(tzinfo=None)
    fig = go.Figure()

    def bars(frame: pl.DataFrame, name: str, marker: dict[str, Any], what: str) -> None:
        if frame.is_empty():
            return
        wall = to_wall(frame, ("start", "end"), tz)
        ys, xs, bases, hover = [], [], [], []
        for row, real in zip(wall.iter_rows(named=True), frame.iter_rows(named=True), strict=True):
            a, b = max(row["start"], lo), min(row["end"], hi)
            if b <= a:
                continue
            ys.append(labels[row["responder_id"]])
            bases.append(a)
            xs.append((b - a).total_seconds() * 1000)
            extra = (
                KIND_LABELS.get(real.get("kind") or "", "") if what == "shift" else real.get("reason") or ""
            )
            hover.append(
                f"{labels[row['responder_id']]}<br>{what}{': ' + extra if extra else ''}<br>"
                f"{uk_local(real['start'], tz)} to {uk_local(real['end'], tz)}"
            )
        fig.add_trace(
            go.Bar(
                y=ys,
                x=xs,
                base=bases,
                orientation="h",
                name=name,
                marker=marker,
                hovertext=hover,
                hoverinfo="text",
            )
        )

    for kind, label in KIND_LABELS.items():
        bars(shifts.filter(pl.col("kind") == kind), label, {"color": _KIND_COLOURS[kind]}, "shift")
    bars(
        absences,
        "Absence",
        {
            "color": NHS_PALE_GREY,
            "line": {"color": NHS_DARK_GREY, "width": 1},
            "pattern": {"shape": "/", "fgcolor": NHS_DARK_GREY, "solidity": 0.3},
        },
        "absence",
    )
    first_row = labels[order[0]]
    # an invisible point on the day axis (on top), so Plotly draws it; hours run along the bottom
    fig.add_trace(
        go.Scatter(
            x=[lo, hi], y=[first_row, first_row], xaxis="x2", mode="markers", marker={"opacity": 0},
            showlegend=False, hoverinfo="skip",
        )
    )  # fmt: skip
    fig.update_layout(
        xaxis={
            "type": "date",
            "range": [lo, hi],
            "tick0": lo,
            "dtick": HOUR_TICK_MS,
            "tickformat": "%H",  # 24-hour clock: 00, 06, 12, 18
            "ticks": "outside",
            "showgrid": True,
            "gridcolor": NHS_PALE_GREY,
            "automargin": True,
            "title": {"text": "Hour of the day (24-hour clock, local time)", "standoff": 8},
        },
        xaxis2={
            "type": "date",
            "overlaying": "x",
            "matches": "x",
            "side": "top",
            "tick0": lo,
            "dtick": 86_400_000,
            "tickformat": "%a %d/%m",
            "ticklabelmode": "period",  # each day's name sits in the middle of its day
            "showgrid": True,
            "gridcolor": NHS_DARK_GREY,
            "gridwidth": 1,
            "automargin": True,
        },
    )
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=[labels[r] for r in order],
        autorange="reversed",
        automargin=True,
    )
    fig.update_layout(
        barmode="overlay",
        # above the day labels, at the top of the figure, so it never covers a label
        legend={"orientation": "h", "yref": "container", "yanchor": "top", "y": 1, "x": 0},
        bargap=0.35,
    )
    nhs_layout(fig, height=max(260, 26 * len(order) + 150))
    fig.update_layout(margin={"l": 10, "r": 20, "t": 64, "b": 10})
    return fig, len(order)
