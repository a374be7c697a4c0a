"""What the charts and tiles are given, through AppTest on the demo database: axes whose labels get room
(automargin, titles standing off their ticks), legends above the plot, hour ticks on the rota timeline,
hidden periods as gaps, and the figures commissioners open on: the last 12 months by quarter against the
target on Completion, and the change since the previous period on Capacity & forecast. The browser test
tests/e2e/test_chart_layout.py checks how they are drawn."""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components.chart_layout import PER_CENT_FORMAT, category_axis, per_cent, wrap_label
from dashboard.components.charts import percent, spc_chart
from rota.services.completion import recent_quarters
from tests.dashboard.apptest_helpers import clean
from tests.dashboard.conftest import DEMO_TODAY, AppFactory


def specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) | {"alt": chart.proto.alt} for chart in at.get("plotly_chart")]


def test_the_rota_timeline_has_hour_ticks_under_day_labels(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page="views/rota_editor_page.py")
    clean(at)
    layout = specs(at)[0]["layout"]
    hours, days = layout["xaxis"], layout["xaxis2"]
    assert hours["dtick"] == 6 * 3_600_000 and hours["tickformat"] == "%H"  # 00, 06, 12, 18
    assert "24-hour" in hours["title"]["text"]
    assert days["dtick"] == 86_400_000 and days["tickformat"] == "%a %d/%m" and days["side"] == "top"
    assert layout["yaxis"]["automargin"] is True
    assert layout["legend"]["orientation"] == "h" and layout["legend"]["yref"] == "container"


def test_completion_opens_on_the_last_12_months_against_the_target(app_as: AppFactory) -> None:
    at = app_as("commissioner", page="views/completion_page.py")
    clean(at)
    assert at.segmented_control(key="completion_by").value == "recent"
    quarters = recent_quarters(DEMO_TODAY)
    latest = quarters[-1]
    q = int(latest[-1])
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    label = f"Latest quarter, {months[3 * q - 3]}-{months[3 * q - 1]} {latest[:4]}"
    tiles = [m for m in at.metric if m.label == label]
    assert len(tiles) == 7  # one a measure
    for tile in tiles:
        if tile.value != "–":  # a rate is shown: against the target, in points, one decimal
            assert re.fullmatch(r"\d{1,3}\.\d%", tile.value)
            assert re.fullmatch(r"[+-]\d+\.\d points against the 90\.0% target", tile.proto.delta)
    charts = specs(at)
    p_charts = [c for c in charts if "p-chart" in c["alt"]]
    assert p_charts
    for chart in p_charts:
        periods = chart["data"][-1]
        assert len(periods["x"]) <= len(quarters)  # the last four whole quarters at most
        assert periods["connectgaps"] is False
        layout = chart["layout"]
        assert layout["yaxis"]["automargin"] is True and layout["yaxis"]["tickformat"] == ".0%"
        # at the top of the figure, in a margin kept for it, clear of the plot and the period labels
        assert layout["legend"]["yref"] == "container" and layout["margin"]["t"] >= 60
    hours = next(c for c in charts if "in hours against out of hours" in c["alt"])
    assert hours["layout"]["legend"]["y"] > 1
    assert hours["layout"]["yaxis"]["title"]["standoff"] >= 8
    assert all("<br>" in x or len(x) <= 14 for x in hours["data"][0]["x"])  # long names wrapped


def test_capacity_shows_the_change_since_the_previous_period(app_as: AppFactory) -> None:
    at = app_as("commissioner", page="views/capacity_page.py")
    clean(at)
    tiles = {m.label: m for m in at.metric}
    for label in ("Expected JAR-eligible cases", "Expected cases meeting a gap in cover"):
        delta = tiles[label].proto.delta
        assert re.fullmatch(r"[+±-]([\d.]+|under 0\.01) against the previous 91 days", delta), delta
        assert re.search(
            r"The previous 91 days \(\d\d/\d\d/\d{4} to \d\d/\d\d/\d{4}", tiles[label].proto.help
        )


def test_the_expiry_chart_keeps_names_whole_and_never_says_none(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page="views/responders_page.py")
    clean(at)
    layout = specs(at)[0]["layout"]
    assert layout["yaxis"]["automargin"] is True and layout["xaxis"]["automargin"] is True
    assert layout["xaxis"]["title"]["standoff"] >= 8 and layout["legend"]["y"] > 1
    at.session_state["responders_tab"] = "Responders"
    at.run()
    table = at.dataframe[0].value
    assert "None" not in set(table["Next expiry"].astype(str))
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}|No expiry", v) for v in table["Next expiry"])


def test_layout_helpers() -> None:
    assert category_axis(4) == category_axis(6) and "nticks" not in category_axis(6)
    assert category_axis(21)["nticks"] == 6 and category_axis(21)["automargin"] is True
    wrapped = wrap_label("Planning meeting by the 2nd working day")
    assert wrapped == "Planning<br>meeting by the<br>2nd working<br>day"  # at most 14 a line
    assert wrap_label("JAR triggered") == "JAR triggered"
    shares = pl.DataFrame({"share": [0.9375, 0.8889, None]})
    assert shares.select(per_cent("share"))["share"].to_list() == pytest.approx([93.75, 88.89, None])
    # shown with one decimal, as format.percent writes it
    assert PER_CENT_FORMAT % 93.75 == "93.8%" and percent(0.9375) == "93.8%"
    assert PER_CENT_FORMAT % 88.89 == "88.9%" and percent(0.8889) == "88.9%"


def test_a_p_chart_keeps_hidden_periods_as_gaps_with_their_limits() -> None:
    fig = spc_chart(
        ["Q1", "Q2", "Q3"],
        [0.8, None, 0.9],
        mean=0.85,
        upper=[1.0, None, 1.0],
        lower=[0.6, None, 0.7],
        point_types=["common_cause", None, "common_cause"],
        target=0.9,
    )
    assert list(fig.layout.xaxis.categoryarray or fig.data[-1].x) == ["Q1", "Q2", "Q3"]
    for trace in (fig.data[0], fig.data[1], fig.data[-1]):
        assert trace.connectgaps is False and trace.y[1] is None
    assert fig.data[0].marker.symbol == "line-ew"  # a lone period between gaps still shows its limits
    assert list(fig.data[-1].hovertext) == ["80.0%", "–", "90.0%"]
