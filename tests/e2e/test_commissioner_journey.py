"""The commissioner's question in a real browser: how many deaths in the next quarter would meet no trained
responder, and how would training two more SIOs for nights change that?"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect


def test_police_commissioner_tries_two_more_sios_for_nights(browser: Any, server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        page.get_by_role("textbox", name="Username").fill("police-commissioner")
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Capacity & forecast").click()

        metric = page.get_by_test_id("stMetric").filter(has_text="Expected cases meeting a gap in cover")
        expect(metric).to_be_visible(timeout=30_000)
        assert re.search(r"\d+\.\d", metric.inner_text())  # the answer to the first half of the question

        # the form opens on the commissioner's agency's role (SIO), two responders, nights
        page.get_by_role("button", name="Try this").first.click()
        change = page.get_by_text(
            re.compile(r"would cut the expected cases meeting no trained SIO from [\d.]+ to [\d.]+")
        ).first
        expect(change).to_be_visible(timeout=30_000)
        assert "nights" in change.inner_text()
    finally:
        page.close()
