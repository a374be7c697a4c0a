"""WCAG 2.2 AA in a real browser: axe-core (axe-playwright-python, which ships axe-core's script) on the
sign-in page and on every page each role can open, after Streamlit has drawn it in full. No finding of
impact serious or critical may remain, nor any heading-order finding (docs/dashboard.md, "Accessibility")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browsing import (
    ACCOUNTS,
    AGENCY_COMMISSIONER,
    VIEWPORT,
    open_page,
    open_sign_in,
    pages_of,
    settled,
    sign_in,
)

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe-core's tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
ALWAYS_CHECKED = {"heading-order"}  # "moderate" for axe, but a skipped level misleads a screen-reader user
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "rules": {"heading-order": {"enabled": True}}}


def findings(page: Any, where: str) -> list[str]:
    """The blocking findings of axe on the page as drawn now, one readable line per element."""
    results = axe_module.Axe().run(page, options=OPTIONS).response
    lines = []
    for v in results["violations"]:
        if v["impact"] not in BLOCKING_IMPACTS and v["id"] not in ALWAYS_CHECKED:
            continue
        for node in v["nodes"]:
            element = " ".join(node.get("html", "").split())[:160]
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"{where}: {v['id']} ({v['impact']}), {v['help']}: {element} -- {summary}")
    return lines


def page_findings(page: Any, where: str) -> list[str]:
    """Findings on the page as opened, then with each of its other tabs chosen (a tab's content may be drawn
    only once it is chosen)."""
    lines = findings(page, where)
    tabs = page.get_by_role("tab")
    for i in range(1, tabs.count()):
        tab = tabs.nth(i)
        name = tab.inner_text()
        tab.click()
        settled(page)
        lines += findings(page, f"{where}, tab {name}")
    return lines


def report(lines: list[str]) -> str:
    return f"{len(lines)} accessibility finding(s):\n" + "\n".join(lines)


def test_sign_in_page(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        open_sign_in(page, server)
        lines = findings(page, "sign-in")
        assert not lines, report(lines)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("role", "username"),
    [*ACCOUNTS.items(), ("commissioner", AGENCY_COMMISSIONER)],
    ids=[*ACCOUNTS.values(), AGENCY_COMMISSIONER],
)
def test_every_page_of_a_role(browser: Any, server: str, role: str, username: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        sign_in(page, server, username)
        lines: list[str] = []
        for title in pages_of(role):
            if title != "Coverage":
                open_page(page, title)
            lines += page_findings(page, f"{username} on {title}")
        assert not lines, report(list(dict.fromkeys(lines)))
    finally:
        context.close()
