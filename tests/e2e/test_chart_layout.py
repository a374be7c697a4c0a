"""Every chart reads well at 1280 and 1920 px wide: each page with charts, as the CDOP manager (every
page) and as a commissioner (suppressed figures), in a real browser. Each Plotly chart is screenshot (into
the test's folder, and also into $ROTA_SHOTS_DIR when set, to look at), and every tick label, legend
entry and axis title must lie inside its figure, no two tick labels of one axis may overlap, no axis title
may sit on tick labels, and the legend may cover neither labels nor the plot. One server, one browser, one
tab per role."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect

WIDTHS = (1280, 1920)
PAGES: dict[str, tuple[str, ...]] = {
    "manager": ("Coverage", "Rota editor", "Responders", "Capacity & forecast", "Completion"),
    "commissioner": ("Capacity & forecast", "Completion"),
}
PATHS = {  # the page's address (the first page, Coverage, is at "/")
    "Coverage": "",
    "Rota editor": "rota-editor",
    "Responders": "responders",
    "Capacity & forecast": "capacity",
    "Completion": "completion",
}

# For each chart on the page: the boxes (left, top, right, bottom) of the figure, of every text that must
# lie inside it, of the tick labels grouped by axis, and of the axis titles.
MEASURE = """
() => [...document.querySelectorAll('.js-plotly-plot')].map((plot) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (el.textContent || '').trim() !== ''
      && getComputedStyle(el).display !== 'none' && getComputedStyle(el).opacity !== '0';
  };
  const texts = (sel) => [...plot.querySelectorAll(sel)].filter(shown);
  const named = (sel) => texts(sel).map((el) => [el.textContent.trim(), box(el)]);
  const axes = {};
  for (const layer of plot.querySelectorAll('.xaxislayer-above')) {
    const key = 'x' + Object.keys(axes).length;
    axes[key] = [...layer.querySelectorAll('.xtick text')].filter(shown)
      .map((el) => [el.textContent.trim(), box(el)]);
  }
  const titles = [...plot.querySelectorAll('g')]
    .filter((g) => /^g-[xy]\\d*title$/.test(g.getAttribute('class') || ''))
    .flatMap((g) => [...g.querySelectorAll('text')].filter(shown))
    .map((el) => [el.textContent.trim(), box(el)]);
  const legend = [...plot.querySelectorAll('.legend .bg')].map(box);
  const plots = [...plot.querySelectorAll('.draglayer .nsewdrag')].map(box);
  return {
    legend: legend,
    plots: plots,
    figure: box(plot),
    inside: [
      ...named('.xtick text'), ...named('.ytick text'), ...named('.legendtext'), ...titles,
      ...named('.annotation-text'), ...named('.gtitle'),
    ],
    ticks: [...named('.xtick text'), ...named('.ytick text')],
    xaxes: axes,
    titles: titles,
  };
})
"""
# Views of a page to draw as well as the one it opens on: Completion over every quarter and every month,
# where the period labels are most crowded (months for the CDOP manager only).
VIEWS: dict[str, tuple[str, ...]] = {"Completion": ("Quarter", "Month")}
DRAWN = "() => [...document.querySelectorAll('.js-plotly-plot')].every((p) => p.querySelector('.main-svg'))"
SLACK = 1.0  # px: rounding of boxes


def _overlap(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > SLACK and min(a[3], b[3]) - max(a[1], b[1]) > SLACK


def _problems(chart: dict[str, Any]) -> list[str]:
    left, top, right, bottom = chart["figure"]
    found = []
    for text, (a, b, c, d) in chart["inside"]:
        if a < left - SLACK or b < top - SLACK or c > right + SLACK or d > bottom + SLACK:
            found.append(f"{text!r} sticks out of the figure")
    for axis, ticks in chart["xaxes"].items():
        for i, (one, box) in enumerate(ticks):
            for other, box2 in ticks[i + 1 :]:
                if _overlap(box, box2):
                    found.append(f"tick labels {one!r} and {other!r} of {axis} overlap")
    for title, box in chart["titles"]:
        for tick, box2 in chart["ticks"]:
            if _overlap(box, box2):
                found.append(f"axis title {title!r} sits on tick label {tick!r}")
    for legend in chart["legend"]:
        for text, box in chart["ticks"] + chart["titles"]:
            if _overlap(legend, box):
                found.append(f"the legend covers the label {text!r}")
        if any(_overlap(legend, area) for area in chart["plots"]):
            found.append("the legend covers the plot")
    return found


def _shots_dirs(tmp_path: Path) -> list[Path]:
    dirs = [tmp_path]
    extra = os.environ.get("ROTA_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        dirs.append(Path(extra))
    return dirs


def _settle(page: Any) -> None:
    """Wait until the script has finished and every chart is drawn with its axes, the same charts for a
    second (Streamlit may swap a chart's element while it redraws the page)."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
    seen = -1
    for _ in range(30):
        page.wait_for_function(DRAWN, timeout=30_000)
        count = page.locator(".js-plotly-plot").count()
        if count == seen:
            break
        seen = count
        page.wait_for_timeout(1000)  # also Plotly's own relayout after a resize


def _open(page: Any, title: str) -> None:
    """Open a page from the navigation (again if a click came while the last page was still running)."""
    address = re.compile(f"/{PATHS[title]}$")
    for _ in range(3):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        try:
            expect(page).to_have_url(address, timeout=10_000)
            return
        except AssertionError:
            continue
    expect(page).to_have_url(address, timeout=10_000)


def test_every_chart_fits_its_figure(browser: Any, server: str, tmp_path: Path) -> None:
    dirs = _shots_dirs(tmp_path)
    problems: list[str] = []
    charts_seen = 0
    for user, titles in PAGES.items():
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 1000})
        try:
            page.goto(server)
            page.get_by_role("textbox", name="Username").fill(user)
            page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("stSidebarNav")).to_be_visible(timeout=30_000)
            for title in titles:
                _open(page, title)
                views = [""] + [v for v in VIEWS.get(title, ()) if user == "manager" or v != "Month"]
                for view in views:
                    if view:
                        picker = page.get_by_role("radiogroup", name="Period")
                        picker.get_by_role("radio", name=view, exact=True).click()
                    expect(page.locator(".js-plotly-plot").first).to_be_attached(timeout=60_000)
                    for width in WIDTHS:
                        page.set_viewport_size({"width": width, "height": 1000})
                        _settle(page)
                        charts = page.locator(".js-plotly-plot")
                        count = charts.count()
                        assert count, f"no chart on {title} {view} for {user}"
                        charts_seen += count
                        slug = (PATHS[title] or "coverage") + (f"-{view.lower()}" if view else "")
                        for i in range(count):
                            chart = charts.nth(i)
                            chart.scroll_into_view_if_needed()
                            shot = chart.screenshot()
                            for d in dirs:
                                (d / f"{user}-{slug}-{width}-{i}.png").write_bytes(shot)
                        page.evaluate("() => window.scrollTo(0, 0)")
                        for i, chart in enumerate(page.evaluate(MEASURE)):
                            where = f"{user}, {title} {view}, {width} px, chart {i}"
                            problems += [f"{where}: {p}" for p in _problems(chart)]
        finally:
            page.close()
    assert charts_seen >= 2 * (1 + 1 + 1 + 2 + 2) + 2 * (2 + 2)
    assert not problems, "\n".join(problems)
