"""tests/reports/pdfcheck.axe_serious in Debian's Chromium (here with the other browser tests, which run in a
pass of their own): no finding on a small accessible page, and the finding for an image without alt text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports.pdfcheck import axe_serious

pytest.importorskip("axe_playwright_python.sync_playwright")

GOOD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Assurance pack</title></head>
<body><main>
<h1>Assurance pack</h1>
<h2>Coverage</h2>
<p>Paediatrician 0-15: 93.8% of hours covered.</p>
<img src="data:image/svg+xml;base64,{svg}" alt="Share of hours covered by month">
</main></body></html>"""
SVG = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCIvPg=="


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_an_accessible_page_has_no_finding(page: Any, tmp_path: Path) -> None:
    html = tmp_path / "good.html"
    html.write_text(GOOD.format(svg=SVG), encoding="utf-8")
    assert axe_serious(page, html) == []


def test_an_image_without_alt_text_is_found(page: Any, tmp_path: Path) -> None:
    html = tmp_path / "bad.html"
    without_alt = GOOD.format(svg=SVG).replace(' alt="Share of hours covered by month"', "")
    html.write_text(without_alt, encoding="utf-8")
    findings = axe_serious(page, html)
    assert findings == ["image-alt: Images must have alternative text (1 node)"]


def test_a_skipped_heading_level_is_found(page: Any, tmp_path: Path) -> None:
    html = tmp_path / "skipped.html"
    html.write_text(GOOD.format(svg=SVG).replace("h2>", "h4>"), encoding="utf-8")
    assert [f.split(":")[0] for f in axe_serious(page, html)] == ["heading-order"]
