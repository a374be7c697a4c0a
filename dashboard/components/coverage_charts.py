"""The Coverage page's heatmap: each local day by hour of the day, one panel per rule of a role, with the
hover text of every cell and a text alternative."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import HeatmapPanel, heatmap, hours_amount, percent, uk_day
from rota.services.coverage import CoverageReport
from rota.vocab import responder_role_label


def heatmap_figure(report: CoverageReport, role: str) -> tuple[go.Figure, str]:
    chosen = report.rules.filter(pl.col("role") == role)
    holidays = set(report.bank_holidays["day"].to_list())
    days = pl.date_range(report.period.first, report.period.last, interval="1d", eager=True).to_list()
    cells = report.heatmap.filter(pl.col("rule_id").is_in(chosen["rule_id"].to_list()))
    first_rule = cells.filter(pl.col("rule_id") == chosen["rule_id"][0])
    day_hours = dict(first_rule.group_by("day").agg(pl.col("real_minutes").sum() // 60).iter_rows())

    def day_label(d: date) -> str:
        label = uk_day(d)
        if day_hours.get(d, 24) != 24:
            label += f" ({day_hours[d]} h)"
        return f"<b>{label} BH</b>" if d in holidays else label

    texts = _cell_texts(cells, chosen, report.bank_holidays)
    panels: list[HeatmapPanel] = []
    for rule in chosen.iter_rows(named=True):
        grid = texts.filter(pl.col("rule_id") == rule["rule_id"]).sort("day", "hour")
        shape = (len(days), 24)
        values = grid["share_in_gap"].to_numpy().astype(float).reshape(shape)
        hover = grid["text"].to_numpy().reshape(shape)
        title = "<br>".join([*rule["label"].split(", ", 1), f"{percent(rule['share_covered'])} covered"])
        panels.append(HeatmapPanel(title, values, hover))
    fig = heatmap(
        panels,
        x=[f"{h:02d}" for h in range(24)],
        y=[day_label(d) for d in days],
        colorbar_title="Share of the hour in gap",
    )
    summary = "; ".join(
        f"{r['label']}: {percent(r['share_covered'])} covered, {r['gap_count']} gaps, "
        f"{hours_amount(r['gap_hours'])} in gap"
        for r in chosen.iter_rows(named=True)
    )
    alt = (
        f"Heatmap of each local day by hour of the day, {responder_role_label(role)}. {summary}. "
        "The numbers are in the table below the chart."
    )
    return fig, alt


def _cell_texts(cells: pl.DataFrame, rules: pl.DataFrame, holidays: pl.DataFrame) -> pl.DataFrame:
    """The hover text of every heatmap cell, built column-wise (a year is 26,000 cells a role)."""
    days = cells.select(pl.col("day").unique())
    day_text = days.with_columns(
        pl.col("day").map_elements(uk_day, return_dtype=pl.String).alias("day_text")
    ).join(holidays, left_on="day", right_on="day", how="left")
    spans = pl.DataFrame(
        {"hour": list(range(24)), "span": [_hour_span(h) for h in range(24)]},
        schema={"hour": pl.Int8, "span": pl.String},
    )
    gap = pl.col("gap_minutes")
    gap_text = (
        pl.when(gap == gap.round(0))
        .then(gap.cast(pl.Int64).cast(pl.String))
        .otherwise(gap.round(1).cast(pl.String))
    )
    head = pl.concat_str(
        pl.lit("<b>"),
        pl.col("label"),
        pl.lit("</b><br>"),
        pl.col("day_text"),
        pl.lit(" "),
        pl.col("span"),
        pl.when(pl.col("name").is_not_null())
        .then(pl.concat_str(pl.lit(" ("), pl.col("name"), pl.lit(")")))
        .otherwise(pl.lit("")),
    )
    body = (
        pl.when(pl.col("real_minutes") == 0)
        .then(pl.col("clock_change"))
        .when(~pl.col("in_window"))
        .then(pl.lit("outside the rule's hours"))
        .otherwise(
            pl.concat_str(
                gap_text,
                pl.lit(" of "),
                pl.col("real_minutes").cast(pl.String),
                pl.lit(" minutes in gap"),
                pl.when(pl.col("clock_change") != "")
                .then(pl.concat_str(pl.lit("<br>"), pl.col("clock_change")))
                .otherwise(pl.lit("")),
            )
        )
    )
    return (
        cells.join(rules.select("rule_id", "label"), on="rule_id")
        .join(day_text, on="day", how="left")
        .join(spans, on="hour", how="left")
        .with_columns(pl.concat_str(head, pl.lit("<br>"), body).alias("text"))
    )


def _hour_span(hour: int) -> str:
    return f"{hour:02d}:00-{hour + 1:02d}:00"
