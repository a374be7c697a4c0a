"""A signed-in session survives a page reload (through an HttpOnly, SameSite=Strict cookie the page cannot
read), and after signing out a reload shows the sign-in form again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect


def session_cookie(context: Any) -> dict[str, Any] | None:
    return next((c for c in context.cookies() if c["name"] == "rota_session"), None)


def test_reload_keeps_the_session_and_sign_out_ends_it(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(server)
        page.get_by_role("textbox", name="Username").fill("manager")
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_visible(timeout=30_000)
        deadline = time.monotonic() + 15
        while session_cookie(context) is None and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        cookie = session_cookie(context)
        assert cookie is not None, "the page did not exchange its code for the session cookie"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert "rota_session" not in page.evaluate("document.cookie")  # out of the page's reach
        assert cookie["value"] not in page.url

        page.reload()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("textbox", name="Username")).to_have_count(0)

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=30_000)
        page.reload()
        expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    finally:
        context.close()
