"""The pack's one template (templates/pack.html.j2) written as HTML, and that HTML drawn by WeasyPrint as an
A4 PDF/UA-1 document: tagged, fonts embedded, page numbers in the footer (docs/reports.md "Rendering").

Charts are SVG (rota.reports.charts) inside `<img>` elements with their alternative text, each followed by a
table of the same figures, so the HTML file carries everything in itself and loads nothing from anywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from rota.reports import charts
from rota.reports.figures import ASSURANCE_LETTERS, TREND_MONTHS, VARIATION_LETTERS, PackFigures, pct
from rota.services.completion.common import ASSURANCE_TEXT, VARIATION_TEXT
from rota.timeutil import zone
from rota.vocab import Assurance, Variation

TEMPLATES = Path(__file__).parent / "templates"
VARIATION_SHORT = {
    Variation.COMMON_CAUSE.value: "Common cause",
    Variation.IMPROVEMENT.value: "Improvement",
    Variation.CONCERN.value: "Concern",
    Variation.NEUTRAL.value: "Special cause",
}
ASSURANCE_SHORT = {
    Assurance.PASS.value: "Passing",
    Assurance.FAIL.value: "Failing",
    Assurance.HIT_AND_MISS.value: "Hit and miss",
}
PDF_VARIANT = "pdf/ua-1"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    env.filters["uk_date"] = _uk_date
    env.filters["hours"] = _hours
    env.filters["num"] = _num
    env.globals["VARIATION_TEXT"] = VARIATION_TEXT
    env.globals["ASSURANCE_TEXT"] = ASSURANCE_TEXT
    env.globals["VARIATION_LETTERS"] = VARIATION_LETTERS
    env.globals["ASSURANCE_LETTERS"] = ASSURANCE_LETTERS
    env.globals["TREND_MONTHS"] = TREND_MONTHS
    env.globals["VARIATION_SHORT"] = VARIATION_SHORT
    env.globals["ASSURANCE_SHORT"] = ASSURANCE_SHORT
    return env


def _uk_date(d: date | datetime | None) -> str:
    return "" if d is None else f"{d:%d/%m/%Y}"


def _hours(h: float | None) -> str:
    if h is None:
        return "–"
    return f"{h:,.0f} h" if h >= 10 else f"{h:.1f} h"


def _num(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _charts(figures: PackFigures) -> dict[str, Any]:
    """The pack's charts as data: URIs, keyed as the template uses them."""
    out: dict[str, Any] = {"heatmaps": {}, "spc": {}, "trend": None}
    for h in figures.heatmaps:
        svg = charts.heatmap_svg(
            h.days, h.values, title=f"{h.role_label}: share of each hour in gap, {figures.quarter.label}"
        )
        out["heatmaps"][h.role] = charts.svg_data_uri(svg)
    if figures.trend:
        svg = charts.coverage_trend_svg(
            dict(figures.trend), title="Share of hours covered, by month", target=None
        )
        out["trend"] = charts.svg_data_uri(svg)
    for m in figures.completion.measures:
        if m.spc.drawn and m.spc.mean is not None:
            svg = charts.spc_svg(
                m.spc.series, mean=m.spc.mean, target=m.target, title=f"{m.label}, by quarter"
            )
            out["spc"][m.measure] = charts.svg_data_uri(svg)
    return out


def render_html(figures: PackFigures) -> str:
    """The pack as one self-contained HTML document."""
    template = _environment().get_template("pack.html.j2")
    built_local = figures.built_at.astimezone(zone(figures.tz_name))
    return template.render(
        f=figures,
        charts=_charts(figures),
        built=f"{built_local:%d/%m/%Y %H:%M %Z}",
        css=(TEMPLATES / "pack.css").read_text(encoding="utf-8"),
    )


def render_pdf(html: str) -> bytes:
    """`html` (from `render_html`) as an A4 PDF/UA-1 document."""
    import weasyprint  # Pango and its fonts load here, only when a PDF is asked for

    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    data = document.write_pdf(pdf_variant=PDF_VARIANT)
    assert data is not None  # without a target, write_pdf returns the bytes
    return bytes(data)
