"""The assurance pack's HTML in Debian's Chromium: no serious or critical axe-core finding (WCAG 2.2 A/AA),
on the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from rota.reports.figures import gather
from rota.reports.quarters import Quarter
from rota.reports.render import render_html
from rota.services.access import Actor
from rota.services.demo import load_demo
from rota.storage import Engine
from rota.storage.db import init_db
from rota.timeutil import SERVICE_TZ, day_start
from tests.reports.pdfcheck import axe_serious

pytest.importorskip("axe_playwright_python.sync_playwright")

TODAY = date(2026, 12, 4)
NOW = day_start(TODAY, SERVICE_TZ) + timedelta(hours=12)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = init_db(f"sqlite:///{tmp_path_factory.mktemp('pack-axe') / 'demo.db'}")
    load_demo(engine, TODAY, seed=7, tz=SERVICE_TZ, password="a demo password!")
    yield engine
    engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_pack_html_has_no_serious_finding(engine: Engine, page: Any, tmp_path: Path) -> None:
    """The commissioners' pack (the manager's has the same elements, with exact counts and the number of
    extra duties in one sentence)."""
    figures = gather(engine, Actor("board", "commissioner"), Quarter(2026, 3), now=NOW, plan_time_limit_s=1.0)
    html = tmp_path / "pack.html"
    html.write_text(render_html(figures), encoding="utf-8")
    assert axe_serious(page, html) == []
    # and it drew: the sections and the charts are there
    assert page.get_by_role("heading", name="Risk next quarter", exact=True).count() == 1
    assert page.locator("img[alt^='Heatmap']").count() == 3
