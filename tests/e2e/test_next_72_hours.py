"""The CDOP manager's 9am question in a real browser: are we covered tonight and this weekend, for 0-15 and
16-17, and whom do I phone? The Coverage page answers it first, under `Next 72 hours`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect


def test_the_manager_sees_the_next_72_hours_with_phone_numbers_first(browser: Any, server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        page.get_by_role("textbox", name="Username").fill("manager")
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        heading = page.get_by_role("heading", name="Next 72 hours", exact=True)
        expect(heading).to_be_visible(timeout=30_000)
        # the first heading after the page title
        headings = page.get_by_role("heading").all_inner_texts()
        titles = [h.strip() for h in headings if h.strip()]
        assert titles.index("Next 72 hours") == titles.index("Coverage") + 1, titles
        # each role with 0-15 beside 16-17, covered or with its gaps
        for band in ("0-15", "16-17"):
            expect(page.get_by_text(re.compile(rf"^{band}: (Covered|\d+ gaps?)$")).first).to_be_visible()
        # who is on duty now, with a phone number from the demo's fictional range, near the top
        phone = page.get_by_text(re.compile(r"07700 900\d{3}")).first
        expect(phone).to_be_visible()
        box = phone.bounding_box()
        assert box is not None and box["y"] < 1000 * 2
    finally:
        page.close()
