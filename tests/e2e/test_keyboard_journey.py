"""A coordinator's journey with the keyboard only, in a real browser: sign in, reach the Rota editor, fill a
gap with a free qualified responder, see the row and its gap impact before anything is stored, save, and find
the gap gone from the list. No mouse: focus moves with Tab (and Shift+Tab), choices with the arrow keys, and
buttons are pressed with Enter."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.test_coordinator_journey import after_run, app_idle

expect = pytest.importorskip("playwright.sync_api").expect
MAX_TABS = 250


def focused(target: Any) -> bool:
    return bool(target.evaluate("e => e === document.activeElement || e.contains(document.activeElement)"))


def tab_to(page: Any, target: Any, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab with `back`) until `target` has the focus, as a keyboard user would."""
    expect(target).to_be_visible(timeout=30_000)
    for _ in range(MAX_TABS):
        if focused(target):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{MAX_TABS} presses of Tab did not reach {target}")


def press(page: Any, key: str) -> None:
    """Press a key that runs the app, then wait for the run to end."""
    page.keyboard.press(key)
    after_run(page)


def test_coordinator_fills_a_gap_and_saves_with_the_keyboard_only(browser: Any, server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        tab_to(page, page.get_by_role("textbox", name="Username"))
        page.keyboard.type("police-coordinator")
        tab_to(page, page.get_by_label("Password", exact=True))
        page.keyboard.type(DEMO_PASSWORD)
        press(page, "Enter")  # the sign-in form submits on Enter

        editor_link = page.get_by_role("link", name="Rota editor")
        tab_to(page, editor_link)
        press(page, "Enter")
        expect(page.get_by_role("heading", name="Rota editor", exact=True)).to_be_visible(timeout=30_000)
        app_idle(page)

        # on to the first week with a gap that someone in the agency is free to fill
        who = page.locator(".st-key-editor_fill_who")
        next_week = page.locator(".st-key-editor_next_week button")
        for _ in range(8):
            if who.count():
                break
            tab_to(page, next_week)
            press(page, "Enter")
        expect(who).to_be_visible(timeout=30_000)
        gap_box = page.locator(".st-key-editor_gap")
        filled = gap_box.get_by_role("combobox").input_value()
        assert re.match(r"^SIO \d+-\d+: ", filled), filled  # rules in plain words
        add = page.get_by_role("button", name=re.compile("^Add an on-call shift over this gap"))
        expect(add).to_be_disabled()  # nobody is chosen for the user
        responder = who.get_by_role("combobox")
        expect(responder).to_have_value("")
        expect(responder).to_have_attribute("placeholder", "Choose a responder")

        tab_to(page, responder)
        page.keyboard.press("ArrowDown")  # opens the list on its first responder
        option = page.get_by_role("option").first
        expect(option).to_be_visible(timeout=10_000)
        chosen = option.inner_text().strip()
        press(page, "Enter")
        expect(responder).to_have_value(chosen)
        expect(add).to_be_enabled(timeout=30_000)

        tab_to(page, add)
        press(page, "Enter")
        expect(page.get_by_text("Nothing is stored until you save.", exact=False).first).to_be_visible(
            timeout=30_000
        )
        # the row is in the grid with its gap impact; nothing stored yet
        impact = page.get_by_text(re.compile(r"^(Closes|Shortens|Eases) the gap .* for SIO")).first
        expect(impact).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile(r"adds a shift for "))).to_be_visible()

        save = page.locator(".st-key-editor_save button")
        expect(save).to_be_enabled(timeout=30_000)
        tab_to(page, save)
        press(page, "Enter")
        expect(page.get_by_text("Saved: 1 added.")).to_be_visible(timeout=30_000)
        app_idle(page)
        # the gap filled has left the list
        expect(page.get_by_text("No unsaved changes.")).to_be_visible(timeout=30_000)
        if gap_box.count():
            tab_to(page, gap_box.get_by_role("combobox"), back=True)
            page.keyboard.press("ArrowDown")
            expect(page.get_by_role("option").first).to_be_visible(timeout=10_000)
            offered = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
            page.keyboard.press("Escape")
            assert offered and filled not in offered, (filled, offered)
    finally:
        page.close()
