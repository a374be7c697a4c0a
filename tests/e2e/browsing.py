"""Signing in and opening pages in the browser tests, each page waited for until Streamlit has finished
drawing it (no script run going on, no spinner, the page's title shown, every chart drawn)."""

from __future__ import annotations

from typing import Any

import pytest

from rota.services.access import PAGES_BY_ROLE
from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect

# The demo accounts (README, "Demo accounts"): one of each role, and a commissioner with an agency.
ACCOUNTS = {
    "admin": "admin",
    "cdop_manager": "manager",
    "coordinator": "police-coordinator",
    "commissioner": "commissioner",
}
AGENCY_COMMISSIONER = "police-commissioner"
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT = 30_000


def pages_of(role: str) -> tuple[str, ...]:
    return PAGES_BY_ROLE[role]


def settled(page: Any) -> None:
    """Wait until Streamlit is idle: no script run, no spinner, no chart still being drawn."""
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=TIMEOUT)
    expect(page.get_by_test_id("stSpinner")).to_have_count(0, timeout=TIMEOUT)
    undrawn = page.locator("[data-testid='stPlotlyChart']:not(:has(.main-svg))")
    expect(undrawn).to_have_count(0, timeout=TIMEOUT)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT)


def open_sign_in(page: Any, base: str) -> None:
    page.goto(base)
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=TIMEOUT)
    settled(page)


def sign_in(page: Any, base: str, username: str) -> None:
    """Sign in with the demo password; the router opens on Coverage."""
    open_sign_in(page, base)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=TIMEOUT)
    shown(page, "Coverage")


def shown(page: Any, title: str) -> None:
    """Wait for the page titled `title` to be drawn in full."""
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible(timeout=TIMEOUT)
    settled(page)


def open_page(page: Any, title: str) -> None:
    """Open a page through the sidebar's navigation, as a person would."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    shown(page, title)
