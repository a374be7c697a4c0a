"""The coordinator's main journey in a real browser: sign in, change a shift in the grid, see the gap impact,
save, and find the Coverage page's gap list changed."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import DEMO_PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect
GAP_CAPTION = re.compile(r"^\d+ gaps?, .* in all")
UK = "%d/%m/%Y %H:%M"  # the grid's times, as typed
ROW_HEIGHT = 35  # the data grid's header and rows
END_COLUMN_X = 648  # the End column's offset in the shift grid at a 1400-pixel-wide window


def gap_caption(page: Any) -> str:
    caption = page.get_by_text(GAP_CAPTION).first
    expect(caption).to_be_visible(timeout=30_000)
    return str(caption.inner_text())


def app_idle(page: Any) -> None:
    """Wait until no script run is going on (Streamlit marks its app `data-test-script-state`) and no element
    of an earlier run is left (`data-stale`), twice in a row a moment apart: an edit made during a rerun can
    be undone by that rerun, and `st.rerun()` (after saving) runs the script twice with an idle moment
    between."""
    running = page.locator("[data-testid='stApp'][data-test-script-state='running']")
    stale = page.locator("[data-stale='true']")
    for _ in range(20):
        expect(running).to_have_count(0, timeout=30_000)
        expect(stale).to_have_count(0, timeout=30_000)
        page.wait_for_timeout(250)
        if running.count() == 0 and stale.count() == 0:
            return
    raise AssertionError("the app did not settle")


def after_run(page: Any) -> None:
    """Wait for the run an action starts, then for its end: a check made before the run begins would see the
    page as it was (the run may also be over before we look, so its start is waited for briefly)."""
    running = page.locator("[data-testid='stApp'][data-test-script-state='running']")
    with contextlib.suppress(AssertionError):  # already over
        expect(running).to_have_count(1, timeout=2_000)
    app_idle(page)


def settled_box(page: Any, grid: Any) -> dict[str, float]:
    """The grid's box once the rerun has settled: while Streamlit reruns, a stale copy of the grid can sit
    beside the new one, or the element read a moment ago can be replaced; wait for one grid, and read again
    if it was swapped under us."""
    error = pytest.importorskip("playwright.sync_api").Error
    for _ in range(5):
        app_idle(page)
        expect(grid).to_have_count(1, timeout=30_000)
        try:
            grid.scroll_into_view_if_needed(timeout=5_000)
            box = grid.bounding_box(timeout=5_000)
        except error:
            page.wait_for_timeout(500)
            continue
        if box is not None:
            return dict(box)
    raise AssertionError("the shift grid did not settle")


def test_coordinator_changes_a_shift_and_the_gap_list_changes(browser: Any, server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        page.get_by_role("textbox", name="Username").fill("police-coordinator")
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        before = gap_caption(page)

        page.get_by_role("link", name="Rota editor").click()
        week = page.locator(".st-key-editor_week input")
        expect(week).to_be_visible(timeout=30_000)
        app_idle(page)
        this_week = week.input_value()
        page.locator(".st-key-editor_next_week button").click()
        # wait for next week's grid, not this week's still on screen
        expect(week).not_to_have_value(this_week, timeout=30_000)
        after_run(page)
        grid = page.locator(".st-key-shift_grid[data-stale='false']")
        expect(grid.get_by_test_id("glide-cell-1-0")).to_be_attached(timeout=30_000)
        # the first on-call night that starts in the week (a single SIO covers it)
        row, start = next(
            (i, grid.get_by_test_id(f"glide-cell-2-{i}").inner_text())
            for i in range(1, 10)
            if grid.get_by_test_id(f"glide-cell-4-{i}").inner_text() == "oncall"
        )
        # the grid holds local wall time as text, day first with a 24-hour clock
        new_end = datetime.strptime(start, UK) + timedelta(hours=5)  # noqa: DTZ007

        box = settled_box(page, grid)
        page.mouse.dblclick(box["x"] + END_COLUMN_X, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT // 2)
        page.get_by_test_id("portal").locator("textarea, input").first.fill(new_end.strftime(UK))
        page.keyboard.press("Enter")
        expect(grid.get_by_test_id(f"glide-cell-3-{row}")).to_have_text(new_end.strftime(UK))
        after_run(page)

        impact = page.get_by_text(re.compile(r"^Opens a gap .* for SIO")).first
        expect(impact).to_be_visible(timeout=30_000)
        assert new_end.strftime("%H:%M") in impact.inner_text()

        app_idle(page)
        page.locator(".st-key-editor_save button").click()
        expect(page.get_by_text("Saved: 1 changed.")).to_be_visible(timeout=30_000)
        after_run(page)

        page.get_by_role("link", name="Coverage").click()
        after = gap_caption(page)
        count = lambda text: int(text.split(" ", 1)[0])  # noqa: E731
        assert count(after) > count(before), (before, after)
    finally:
        page.close()
