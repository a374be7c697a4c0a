"""The assurance pack's SVG charts: valid SVG with its text as text, one marker or cell per value drawn, gaps
for missing values, the same bytes for the same input (in another process too), clear errors for empty or
malformed input, no figure left open, and quick enough for a pack with many charts."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import polars as pl
import pytest

from rota.reports.charts import coverage_trend_svg, heatmap_svg, spc_svg, svg_data_uri
from tests.reports.pdfcheck import pdf_pages_text

SVG_NS = "{http://www.w3.org/2000/svg}"
PERIODS = [f"{year}-Q{q}" for year in (2023, 2024, 2025) for q in (1, 2, 3, 4)]
DAYS = [date(2025, 10, 1) + timedelta(days=d) for d in range(92)]


def spc_points() -> pl.DataFrame:
    kinds = ["common_cause"] * 12
    kinds[3] = "special_cause_improvement"
    kinds[7] = "special_cause_concern"
    kinds[10] = "special_cause_neutral"
    kinds[11] = None  # no kind given: drawn as common cause
    rates: list[float | None] = [0.70 + 0.02 * i for i in range(12)]
    rates[5] = None  # a hidden period: a gap in the line
    kinds[5] = None
    return pl.DataFrame(
        {
            "period": PERIODS,
            "rate": rates,
            "upl": [0.95 - 0.005 * i for i in range(12)],
            "lpl": [0.55 + 0.005 * i for i in range(12)],
            "type": kinds,
        },
        schema={
            "period": pl.String,
            "rate": pl.Float64,
            "upl": pl.Float64,
            "lpl": pl.Float64,
            "type": pl.String,
        },
    )


def quarter_values() -> list[list[float | None]]:
    """92 days by 24 hours: nights do not apply at weekends; a gap in every 5th hour, of varying share."""
    values: list[list[float | None]] = []
    for d, day in enumerate(DAYS):
        row: list[float | None] = []
        for hour in range(24):
            if day.weekday() >= 5 and (hour < 8 or hour >= 20):
                row.append(None)
            elif (d * 24 + hour) % 5 == 0:
                row.append(((d + hour) % 4 + 1) / 4)
            else:
                row.append(0.0)
        values.append(row)
    return values


def trend_series() -> dict[str, list[tuple[str, float | None]]]:
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    return {
        "Paediatrician 0-15": [(m, 0.9 + 0.005 * i) for i, m in enumerate(months)],
        "Paediatrician 16-17": [(m, None if i == 4 else 0.6 + 0.01 * i) for i, m in enumerate(months)],
        "Police SIO": [(m, 0.8) for m in months[6:]],  # a series that starts later
    }


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG_NS}g") if g.get("id") == gid]
    assert len(found) == 1, f"one group {gid} expected, found {len(found)}"
    return found[0]


def uses(root: ET.Element, gid: str) -> int:
    """Markers drawn by the artist with this gid (matplotlib draws each marker as a <use>)."""
    return len(list(group(root, gid).iter(f"{SVG_NS}use")))


def line_runs(root: ET.Element, gid: str) -> list[int]:
    """The points of each unbroken run of a line (a gap starts a new subpath with M)."""
    path = group(root, gid).find(f"{SVG_NS}path")  # the line itself; its markers are <use>s of a <defs>
    assert path is not None
    return [part.count(" L ") + 1 for part in (path.get("d") or "").split("M ")[1:]]


def test_spc_chart() -> None:
    root = parse(spc_svg(spc_points(), mean=0.8, target=0.9, title="Joint agency response within 24 hours"))
    assert root.tag == f"{SVG_NS}svg"
    assert float((root.get("width") or "").removesuffix("pt")) == pytest.approx(170 / 25.4 * 72)  # 170 mm
    words = texts(root)
    assert "Joint agency response within 24 hours" in words
    assert {"0%", "20%", "100%"} <= set(words)
    assert set(PERIODS) <= set(words)
    assert {"Mean", "Target 90.0%", "Process limits", "Special cause concern"} <= set(words)
    # 11 values: one marker each, by kind (the unkinded point at 2025-Q4 as common cause: 8 in all)
    assert uses(root, "spc-points-common_cause") == 8
    assert uses(root, "spc-points-special_cause_improvement") == 1
    assert uses(root, "spc-points-special_cause_concern") == 1
    assert uses(root, "spc-points-special_cause_neutral") == 1
    assert line_runs(root, "spc-line") == [5, 6]  # broken at the hidden 2024-Q2
    group(root, "spc-mean")
    group(root, "spc-target")
    group(root, "spc-upl")
    group(root, "spc-lpl")


def test_spc_chart_without_target_or_kinds() -> None:
    points = spc_points().with_columns(pl.lit(None, dtype=pl.String).alias("type"))
    root = parse(spc_svg(points, mean=0.8, target=None, title="No target"))
    assert not [g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "spc-target"]
    assert not any(w.startswith("Target") for w in texts(root))
    assert uses(root, "spc-points-common_cause") == 11


def test_spc_chart_of_hidden_periods_only() -> None:
    points = spc_points().with_columns(pl.lit(None, dtype=pl.Float64).alias("rate"))
    root = parse(spc_svg(points, mean=0.8, target=None, title="All hidden"))
    assert "All hidden" in texts(root)
    assert not [g for g in root.iter(f"{SVG_NS}g") if (g.get("id") or "").startswith("spc-points-")]


def test_spc_input_errors() -> None:
    with pytest.raises(ValueError, match="no SPC points"):
        spc_svg(spc_points().head(0), mean=0.5, target=None, title="Empty")
    with pytest.raises(ValueError, match="missing lpl"):
        spc_svg(spc_points().drop("lpl"), mean=0.5, target=None, title="No limits")
    with pytest.raises(ValueError, match="unknown SPC point type special_cause_good"):
        spc_svg(
            spc_points().with_columns(pl.lit("special_cause_good").alias("type")),
            mean=0.5,
            target=None,
            title="Bad kind",
        )
    with pytest.raises(ValueError, match="not a proportion"):
        spc_svg(spc_points().with_columns(pl.col("rate") * 100), mean=0.5, target=None, title="Per cent")


def test_heatmap_a_quarter() -> None:
    values = quarter_values()
    root = parse(heatmap_svg(DAYS, values, title="Paediatrician 0-15 gaps, Oct-Dec 2025"))
    words = texts(root)
    assert "Paediatrician 0-15 gaps, Oct-Dec 2025" in words
    assert "share of the hour in gap" in words
    assert "Rule does not apply" in words
    assert {f"{h:02d}" for h in range(24)} <= set(words)
    # day labels thinned to a week apart, starting with the first day
    day_labels = [w for w in words if len(w) == 5 and w[2] == "/"]
    assert day_labels == [f"{DAYS[r]:%d/%m}" for r in range(0, 92, 7)]
    # one cell per hour with a gap; covered hours are the white ground
    gap_cells = sum(1 for row in values for v in row if v)
    assert len(list(group(root, "heatmap-gaps").iter(f"{SVG_NS}path"))) == gap_cells
    # one hatched box per run of hours where the rule does not apply: two a weekend day
    runs = [g for g in root.iter(f"{SVG_NS}g") if (g.get("id") or "").startswith("heatmap-na-")]
    weekend_days = sum(1 for day in DAYS if day.weekday() >= 5)
    assert len(runs) == 2 * weekend_days
    assert any(p.tag == f"{SVG_NS}pattern" for p in root.iter())  # the hatching


def test_heatmap_short_period_labels_every_day_and_all_covered() -> None:
    days = DAYS[:7]
    root = parse(heatmap_svg(days, [[0.0] * 24 for _ in days], title="A covered week"))
    assert [w for w in texts(root) if len(w) == 5 and w[2] == "/"] == [f"{d:%d/%m}" for d in days]
    assert not list(group(root, "heatmap-gaps").iter(f"{SVG_NS}path"))
    assert "Rule does not apply" not in texts(root)


def test_heatmap_input_errors() -> None:
    with pytest.raises(ValueError, match="no days"):
        heatmap_svg([], [], title="Empty")
    with pytest.raises(ValueError, match="2 days but 1 rows"):
        heatmap_svg(DAYS[:2], [[0.0] * 24], title="Short")
    with pytest.raises(ValueError, match=r"row 2 \(02/10/2025\) has 23 hours"):
        heatmap_svg(DAYS[:2], [[0.0] * 24, [0.0] * 23], title="Clock change")
    with pytest.raises(ValueError, match=r"1\.5 on 01/10/2025 at 03:00 is not a share"):
        heatmap_svg(DAYS[:1], [[0.0, 0.0, 0.0, 1.5] + [0.0] * 20], title="Too much")


def test_coverage_trend() -> None:
    root = parse(coverage_trend_svg(trend_series(), title="Share of hours covered", target=0.95))
    words = texts(root)
    assert "Share of hours covered" in words
    assert {"Paediatrician 0-15", "Paediatrician 16-17", "Police SIO", "Target 95.0%"} <= set(words)
    assert {f"2025-{m:02d}" for m in range(1, 13)} <= set(words)
    # one marker per value (the legend's own markers are drawn apart)
    assert [uses(root, f"trend-series-{i}") for i in range(3)] == [12, 11, 6]
    assert line_runs(root, "trend-series-1") == [4, 7]  # the gap in May
    # each line its own marker shape and dash pattern, not only its own colour
    shapes, dashes = set(), set()
    for i in range(3):
        g = group(root, f"trend-series-{i}")
        line = g.find(f"{SVG_NS}path")
        marker = g.find(f"{SVG_NS}defs/{SVG_NS}path")
        assert line is not None and marker is not None
        style = dict(item.split(": ") for item in (line.get("style") or "").split("; "))
        dashes.add(style.get("stroke-dasharray", "solid"))
        shapes.add(marker.get("d"))
    assert len(shapes) == 3
    assert len(dashes) == 3


def test_coverage_trend_errors() -> None:
    with pytest.raises(ValueError, match="no coverage series"):
        coverage_trend_svg({}, title="Empty")
    with pytest.raises(ValueError, match="no coverage series"):
        coverage_trend_svg({"Paediatrician 0-15": []}, title="Empty")


def draw_all() -> list[str]:
    return [
        spc_svg(spc_points(), mean=0.8, target=0.9, title="SPC"),
        heatmap_svg(DAYS, quarter_values(), title="Heatmap"),
        coverage_trend_svg(trend_series(), title="Trend", target=0.95),
    ]


def test_same_input_same_bytes_and_no_figure_left_open() -> None:
    import matplotlib.pyplot as plt

    first = draw_all()
    assert draw_all() == first
    assert plt.get_fignums() == []
    for svg in first:
        assert "<dc:date>" not in svg


def test_same_bytes_in_another_process() -> None:
    script = (
        "import sys; from tests.reports.test_charts import draw_all; "
        "sys.stdout.buffer.write('\\x00'.join(draw_all()).encode())"
    )
    other = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True).stdout
    assert other.decode().split("\x00") == draw_all()


def test_matplotlib_is_imported_only_to_draw() -> None:
    script = (
        "import sys, rota.reports.charts; assert 'matplotlib' not in sys.modules; "
        "rota.reports.charts.coverage_trend_svg({'a': [('2026-01', 0.5)]}, title='t'); "
        "assert 'matplotlib' in sys.modules; assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_data_uri() -> None:
    svg = coverage_trend_svg({"a": [("2026-01", 0.5)]}, title="Tiny")
    uri = svg_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == svg


def test_weasyprint_keeps_the_charts_text() -> None:
    weasyprint = pytest.importorskip("weasyprint")
    images = "".join(f'<img alt="chart" style="width: 170mm" src="{svg_data_uri(s)}">' for s in draw_all())
    html = f"<style>@page {{ size: A4; margin: 20mm }}</style>{images}"
    text = "\n".join(pdf_pages_text(weasyprint.HTML(string=html).write_pdf()))
    for words in ("SPC", "Heatmap", "Trend", "Special cause concern", "share of the hour in gap", "01/10"):
        assert words in text


def test_fast_enough() -> None:
    draw_all()  # matplotlib imported, fonts cached
    values = quarter_values()
    start = time.perf_counter()
    heatmap_svg(DAYS, values, title="Heatmap")
    assert time.perf_counter() - start < 2.0  # about 0.25 s on the CI machine's size; slack for a busy one
