"""The Responders page's chart: training lapsing soon, one marker per responder and training on the day it
lapses, sized by the cover it would remove."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import (
    LEGEND_ABOVE,
    nhs_layout,
    uk_date,
)
from rota.palette import NHS_DARK_GREY, NHS_LIGHT_BLUE, NHS_ORANGE
from rota.services.people import BANDS, HORIZON_DAYS, IMPACT_WEEKS

# Most urgent darkest and warmest; each band also has its own marker shape, so colour is never the only cue.
BAND_STYLE: dict[str, tuple[str, str]] = {
    BANDS[0]: ("#D5281B", "diamond"),  # NHS red
    BANDS[1]: (NHS_ORANGE, "square"),
    BANDS[2]: (NHS_LIGHT_BLUE, "circle"),
}


def expiry_timeline(expiries: pl.DataFrame, today: date) -> go.Figure:
    df = expiries.with_columns(
        pl.format("{} ({})", pl.col("name").fill_null(pl.col("responder_id")), "competency").alias("who")
    )
    fig = go.Figure()
    for band in BANDS:
        part = df.filter(pl.col("band") == band)
        if part.height == 0:
            continue
        colour, symbol = BAND_STYLE[band]
        hover = [
            f"<b>{who}</b><br>{role}, {agency or 'no agency'}<br>valid until {uk_date(until)}; lapses on "
            f"{uk_date(lapse)} (in {days} days)<br>"
            f"rostered {rostered:g} h in the {IMPACT_WEEKS} weeks after; "
            + (impact if impact else "no cover lost")
            for who, role, agency, until, lapse, days, rostered, impact in part.select(
                "who",
                "role",
                "agency",
                "valid_until",
                "lapse_on",
                "days_to_lapse",
                "rostered_hours",
                "impact",
            ).iter_rows()
        ]
        sizes = [12 + min(14.0, h / 4) for h in part.get_column("cover_lost_hours").to_list()]
        fig.add_trace(
            go.Scatter(
                x=part.get_column("lapse_on").to_list(),
                y=part.get_column("who").to_list(),
                mode="markers",
                name=band,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": sizes,
                    "line": {"width": 1, "color": "#212B32"},
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
    for days in (30, 60, 90):
        fig.add_vline(
            x=(today + timedelta(days=days)).isoformat(),
            line={"color": NHS_DARK_GREY, "dash": "dot", "width": 1},
            annotation_text=f"{days} days",
            annotation_position="top",
        )
    order = df.sort("lapse_on", descending=True).get_column("who").to_list()
    # names and dates never cut: the margins grow to fit them (automargin), the axis title stands off the
    # dates, and the legend sits in a row above the plot
    fig.update_yaxes(
        categoryorder="array", categoryarray=order, title_text=None, automargin=True, ticksuffix=" "
    )
    fig.update_xaxes(
        range=[today.isoformat(), (today + timedelta(days=HORIZON_DAYS + 4)).isoformat()],
        tickformat="%d/%m/%Y",
        automargin=True,
        dtick="M1",  # a label on the first of each month: three or four, never crowded
        tick0="2000-01-01",
        title={"text": "Lapses on (the first day without the training)", "standoff": 12},
    )
    fig.update_layout(legend=LEGEND_ABOVE | {"y": 1.08, "title": {"text": "Lapses "}})
    nhs_layout(fig, height=max(300, 34 * df.height + 160))
    fig.update_layout(margin={"l": 10, "r": 20, "t": 30, "b": 10})
    return fig
