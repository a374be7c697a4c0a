"""The CDOP manager builds the board's assurance pack in a real browser: the sidebar's "Assurance pack" button
opens the dialog, Build pack shows its progress, then the pack's HTML preview (with its Summary heading) and
the two downloads; the PDF downloaded is a PDF; axe finds nothing serious in the open dialog (with the pack's
HTML in its frame) nor in the downloaded HTML opened alone; and the pack kept in the session is shown again
without building."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browsing import ACCOUNTS, VIEWPORT, sign_in
from tests.e2e.test_accessibility import findings, report
from tests.reports.pdfcheck import axe_serious

expect = pytest.importorskip("playwright.sync_api").expect
BUILD_TIMEOUT = 120_000  # about 15 s on the demo; the machine may be busy


def test_the_manager_builds_previews_and_downloads_the_pack(
    browser: Any, server: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    try:
        sign_in(page, server, ACCOUNTS["cdop_manager"])
        page.get_by_test_id("stSidebar").get_by_role("button", name="Assurance pack").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Assurance pack").first).to_be_visible(timeout=30_000)
        expect(dialog.get_by_role("radiogroup")).to_contain_text("CDOP manager (exact figures)")
        dialog.get_by_role("radio", name="Commissioners and the board (suppressed)").check(force=True)
        dialog.get_by_role("button", name="Build pack").click()
        expect(dialog.get_by_text("Building the pack: about 15 seconds")).to_be_visible(timeout=30_000)

        summary = dialog.frame_locator("iframe").get_by_role("heading", name="Summary", exact=True)
        expect(summary).to_be_visible(timeout=BUILD_TIMEOUT)
        expect(dialog.get_by_text(re.compile(r"^Built at \d\d:\d\d in \d+ seconds"))).to_be_visible()
        expect(dialog.get_by_role("button", name="Build pack")).to_have_count(0)
        with page.expect_download() as downloading:
            dialog.get_by_role("button", name="Download PDF").click()
        download = downloading.value
        assert download.suggested_filename.endswith("-commissioner.pdf")
        with open(download.path(), "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"
        expect(dialog.get_by_role("button", name="Download HTML")).to_be_visible()
        found = findings(page, "the Assurance pack dialog")
        assert not found, report(found)
        # the pack's HTML file itself, opened on its own: no serious or critical axe-core finding
        with page.expect_download() as downloading:
            dialog.get_by_role("button", name="Download HTML").click()
        assert downloading.value.suggested_filename.endswith("-commissioner.html")
        html = tmp_path / downloading.value.suggested_filename
        downloading.value.save_as(html)
        assert html.read_bytes().startswith(b"<!DOCTYPE html>")
        alone = browser.new_page()
        try:
            assert axe_serious(alone, html) == []
            expect(alone.get_by_role("heading", name="Risk next quarter", exact=True)).to_have_count(1)
            expect(alone.locator("img[alt^='Heatmap']")).to_have_count(3)
        finally:
            alone.close()

        # closed and opened again: the pack kept in the session is shown at once, not built again
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_have_count(0)
        page.get_by_test_id("stSidebar").get_by_role("button", name="Assurance pack").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("radio", name="Commissioners and the board (suppressed)").check(force=True)
        summary = dialog.frame_locator("iframe").get_by_role("heading", name="Summary", exact=True)
        expect(summary).to_be_visible(timeout=30_000)
        expect(dialog.get_by_role("button", name="Build pack")).to_have_count(0)
    finally:
        page.close()
