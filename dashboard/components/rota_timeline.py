"""The Rota editor's week timeline: one row per responder with a shift or an absence in the week, on-call
and on-site shifts and absences as bars in local time (the unsaved edits included when given)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import NHS_BLUE, NHS_DARK_GREY, NHS_ORANGE, NHS_PALE_GREY, nhs_layout
from rota.services.editing import WeekView, to_wall
from rota.timeutil import uk_local
from rota.vocab import ShiftKind

# The shift kinds for people, in the legend and the grid's options: "On call", "On site" (rota.vocab).
KIND_LABELS = {k.value: k.label.capitalize() for k in ShiftKind}
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
    fig.update_xaxes(
        type="date",
        range=[lo, hi],
        tick0=lo,
        dtick=86_400_000,
        tickformat="%a %d/%m",
        ticklabelmode="period",  # each day's name sits in the middle of its day
        showgrid=True,
        side="top",
    )
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=[labels[r] for r in order],
        autorange="reversed",
        automargin=True,
    )
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.05}, bargap=0.35)
    nhs_layout(fig, height=max(220, 26 * len(order) + 110))
    return fig, len(order)
