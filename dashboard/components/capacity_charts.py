"""The Capacity & forecast page's two charts: demand against rostered trained capacity by hour of the week,
and the expected cases meeting a gap week by week, each with a text alternative. Built from the
display-ready frames of `rota.services.forecasting`. Built as plain dicts in one go: Plotly's subplot
helpers cost more than the rest of the page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import (
    CATEGORICAL,
    nhs_layout,
)
from dashboard.components.format import cases_amount, uk_date
from rota.palette import NHS_DARK_GREY, NHS_PALE_GREY, NHS_WARM_YELLOW
from rota.services.forecasting import CapacityForecast
from rota.timeutil import zone
from rota.vocab import responder_role_label

DASH_AFTER = "dash"
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _styles(rules: pl.DataFrame) -> dict[str, tuple[str, str]]:
    """A colour and a marker per rule: 0-15 NHS blue, 16-17 orange (the pair every page uses), then the
    rest of the palette; markers make the difference without colour too."""
    out: dict[str, tuple[str, str]] = {}
    extra = 2
    for i, (rule_id, band) in enumerate(rules.select("rule_id", "age_band").iter_rows()):
        if band == "0-15" and not any(v[0] == CATEGORICAL[0] for v in out.values()):
            colour = CATEGORICAL[0]
        elif band == "16-17" and not any(v[0] == CATEGORICAL[1] for v in out.values()):
            colour = CATEGORICAL[1]
        else:
            colour = CATEGORICAL[extra % len(CATEGORICAL)]
            extra += 1
        out[rule_id] = (colour, MARKERS[i % len(MARKERS)])
    return out


def _two_panels(
    traces: list[dict[str, Any]],
    titles: tuple[str, str],
    y_titles: tuple[str, str],
    split: float,
    shapes: Sequence[dict[str, Any]] = (),
    notes: Sequence[dict[str, Any]] = (),
    x_axis: dict[str, Any] | None = None,
) -> go.Figure:
    """Two panels, one above the other, sharing the x axis: traces with `yaxis` "y" (top) or "y2"
    (bottom). Built as one figure in one go: Plotly's subplot helpers cost more than the rest of the page."""
    gap = 0.12
    top, bottom = [split + gap / 2, 1.0], [0.0, split - gap / 2]
    axis = {"gridcolor": NHS_PALE_GREY, "automargin": True, **(x_axis or {})}
    titles_at = [
        {
            "text": text,
            "x": 0.5,
            "y": domain[1],
            "xref": "paper",
            "yref": "paper",
            "xanchor": "center",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 13},
        }
        for text, domain in zip(titles, (top, bottom), strict=True)
    ]
    layout: dict[str, Any] = {
        "xaxis": {**axis, "anchor": "y", "matches": "x2", "showticklabels": False},
        "xaxis2": {**axis, "anchor": "y2"},
        "yaxis": {"domain": top, "anchor": "x", "title": {"text": y_titles[0]}, "rangemode": "tozero"},
        "yaxis2": {"domain": bottom, "anchor": "x2", "title": {"text": y_titles[1]}, "rangemode": "tozero"},
        "annotations": [*titles_at, *notes],
        "shapes": list(shapes),
        "legend": {"orientation": "h", "y": -0.12, "x": 0},
        "hovermode": "x unified",
    }
    for name in ("yaxis", "yaxis2"):
        layout[name].update(gridcolor=NHS_PALE_GREY, automargin=True)
    fig = go.Figure(data=traces, layout=layout)
    nhs_layout(fig, height=520)
    fig.layout.margin = {"l": 70, "r": 10, "t": 50, "b": 10}
    return fig


def hour_of_week_figure(cf: CapacityForecast, roles: tuple[str, ...]) -> tuple[go.Figure, str]:
    how = cf.hour_of_week.filter(pl.col("role").is_in(list(roles)))
    rules = cf.rules.filter(pl.col("role").is_in(list(roles)))
    styles = _styles(rules)
    has_after = "trained_on_duty_after" in how.columns
    traces: list[dict[str, Any]] = []
    seen_bands: set[str] = set()
    for rule in rules.iter_rows(named=True):
        colour, marker = styles[rule["rule_id"]]
        label = rule["label"]
        mine = how.filter(pl.col("rule_id") == rule["rule_id"]).sort("day", "hour")
        x = mine.get_column("label").to_list()
        if rule["age_band"] not in seen_bands:
            seen_bands.add(rule["age_band"])
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column("band_cases_per_year").to_numpy(),
                    "xaxis": "x",
                    "yaxis": "y",
                    "name": f"Demand, aged {rule['age_band']}",
                    "mode": "lines",
                    "line": {"color": colour, "width": 2},
                    "legendgroup": "demand",
                    "hovertemplate": f"%{{y:.2f}} cases a year<extra>aged {rule['age_band']}</extra>",
                }
            )
        step = {"color": colour, "width": 2, "shape": "hv"}
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": mine.get_column("trained_on_duty").to_numpy(),
                "xaxis": "x2",
                "yaxis": "y2",
                "name": label,
                "mode": "lines+markers",
                "line": step,
                "marker": {"symbol": marker, "size": 5, "maxdisplayed": 28},
                "legendgroup": rule["rule_id"],
                "hovertemplate": f"%{{y:.2f}} on duty<extra>{label}</extra>",
            }
        )
        if has_after:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column("trained_on_duty_after").to_numpy(),
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "name": f"{label}, with the changes",
                    "mode": "lines",
                    "line": {**step, "dash": DASH_AFTER},
                    "legendgroup": rule["rule_id"],
                    "hovertemplate": f"%{{y:.2f}} on duty<extra>{label}, with the changes</extra>",
                }
            )
    needed = sorted(set(rules.get_column("required").to_list()))
    level = {"xref": "x2 domain", "yref": "y2"}
    shapes = [
        {
            **level,
            "type": "line",
            "x0": 0,
            "x1": 1,
            "y0": n,
            "y1": n,
            "line": {"color": NHS_DARK_GREY, "dash": "dot", "width": 1},
        }
        for n in needed
    ]
    notes = [
        {
            **level,
            "x": 0,
            "y": n,
            "text": f"{n} needed",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
        }
        for n in needed
    ]
    ticks = [f"{d} {h:02d}:00" for d in DAYS for h in (0, 12)]
    fig = _two_panels(
        traces,
        (
            "Demand: expected cases a year notified in each hour of the week",
            "Rostered capacity: trained responders on duty (mean over the period)",
        ),
        ("cases a year", "on duty"),
        0.58,
        shapes,
        notes,
        {
            "type": "category",
            "tickvals": ticks,
            "ticktext": [t if t.endswith("12:00") else t[:3] for t in ticks],
        },
    )
    peak = how.sort("band_cases_per_year", descending=True).row(0, named=True) if how.height else None
    fewest = how.filter(pl.col("trained_on_duty").is_not_null()).sort("trained_on_duty")
    thin = fewest.row(0, named=True) if fewest.height else None
    alt = (
        f"Line charts by hour of the week for {_role_list(roles)}: above, the demand "
        "(expected cases a year notified in each hour) for each age band; below, the mean number of trained "
        "responders on duty for each rule."
    )
    if peak and thin:
        alt += (
            f" Demand is highest on {peak['label']}; the fewest trained responders are on duty on "
            f"{thin['label']} ({thin['trained_on_duty']:.1f} for {thin['rule_id']})."
        )
    alt += " The numbers are in the table below the chart."
    return fig, alt


def weekly_figure(cf: CapacityForecast, roles: tuple[str, ...]) -> tuple[go.Figure, str]:
    weekly = cf.weekly.filter(pl.col("role").is_in(list(roles)))
    rules = cf.rules.filter(pl.col("role").is_in(list(roles)))
    styles = _styles(rules)
    has_after = "expected_uncovered_cases_after" in weekly.columns
    demand = cf.weekly.select("week_start", "expected_cases").unique("week_start").sort("week_start")
    weeks = demand.get_column("week_start").to_list()
    week = "Week from %{x|%a %d/%m/%Y}: "
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": weeks,
            "y": demand.get_column("expected_cases").to_numpy(),
            "xaxis": "x",
            "yaxis": "y",
            "name": "Expected cases, all ages",
            "marker": {"color": NHS_PALE_GREY, "line": {"color": NHS_DARK_GREY, "width": 1}},
            "hovertemplate": week + "%{y:.2f} cases expected<extra></extra>",
        }
    ]
    for rule in rules.iter_rows(named=True):
        colour, marker = styles[rule["rule_id"]]
        label = rule["label"]
        mine = weekly.filter(pl.col("rule_id") == rule["rule_id"]).sort("week_start")
        x = mine.get_column("week_start").to_list()
        line = {"color": colour, "width": 2}
        panels = [
            ("y", "expected_uncovered_cases", "%{y:.2f} cases meeting the gap"),
            ("y2", "uncovered_hours", "%{y:.1f} hours in gap"),
        ]
        for axis, column, what in panels:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column(column).to_numpy(),
                    "xaxis": "x" if axis == "y" else "x2",
                    "yaxis": axis,
                    "name": label,
                    "mode": "lines+markers",
                    "line": line,
                    "marker": {"symbol": marker, "size": 7},
                    "legendgroup": rule["rule_id"],
                    "showlegend": axis == "y",
                    "hovertemplate": f"{week}{what}<extra>{label}</extra>",
                }
            )
            if has_after:
                traces.append(
                    {
                        "type": "scatter",
                        "x": x,
                        "y": mine.get_column(f"{column}_after").to_numpy(),
                        "xaxis": "x" if axis == "y" else "x2",
                        "yaxis": axis,
                        "name": f"{label}, with the changes",
                        "mode": "lines",
                        "line": {**line, "dash": DASH_AFTER},
                        "legendgroup": rule["rule_id"],
                        "showlegend": axis == "y",
                        "hovertemplate": f"{week}{what}<extra>{label}, with the changes</extra>",
                    }
                )
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    since = cf.unrostered_from
    if since is not None and weeks:
        # the weeks with no rota stored: shaded in both panels, named once
        x0, x1 = since.astimezone(zone(cf.tz_name)).date(), max(weeks) + timedelta(days=3)
        for x_ref, y_ref in (("x", "y domain"), ("x2", "y2 domain")):
            shapes.append(
                {
                    "type": "rect",
                    "xref": x_ref,
                    "yref": y_ref,
                    "x0": x0,
                    "x1": x1,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": NHS_WARM_YELLOW,
                    "opacity": 0.18,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        notes.append(
            {
                "xref": "x",
                "yref": "y domain",
                "x": x0,
                "y": 1,
                "text": "No rota stored yet",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
            }
        )
    fig = _two_panels(
        traces,
        ("Expected cases each week, and those meeting a gap in each rule", "Hours in gap each week"),
        ("cases", "hours"),
        0.45,
        shapes,
        notes,
        {"tickformat": "%d/%m/%Y"},
    )
    fig.layout.barmode = "overlay"
    total = float(demand.get_column("expected_cases").sum()) if demand.height else 0.0
    alt = (
        f"Charts by week from {uk_date(weeks[0]) if weeks else '-'}: bars show the expected cases each week "
        f"(all ages, {cases_amount(total)} in all); lines show, for each rule of "
        f"{_role_list(roles)}, the expected cases meeting a gap and the hours in gap. "
        "The numbers are in the table below the chart."
    )
    return fig, alt


def _role_list(roles: Sequence[str]) -> str:
    """The responder roles for people: 'Paediatrician, SIO'."""
    return ", ".join(responder_role_label(r) for r in roles)
