"""The "Assurance pack" button and dialog (dashboard/components/pack_dialog.py): the button is in the sidebar
for the roles that may build a pack, never a page of the navigation; the dialog offers the last eight complete
quarters, the audience only where the role has a choice, and the agencies; building gives the HTML preview and
the PDF and HTML downloads, kept in the session so that the dialog shows them again without building.

AppTest opens the dialog from the sidebar, but reruns the whole script where a browser reruns only the
dialog (a fragment), so the building is tested on the dialog's content drawn by itself (`pack_choices`), and
tests/e2e/test_pack_dialog_browser.py builds one in a real browser."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rota.reports.quarters import last_complete
from rota.services.access import PAGES_BY_ROLE, Actor
from rota.services.assurance import can_build_pack
from rota.timeutil import SERVICE_TZ, utc_now
from tests.dashboard.conftest import AppFactory, signed_in

OPEN = "assurance_pack_open"
CACHE = "assurance_pack_built"


@pytest.fixture(autouse=True)
def quick_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner inside each pack gets 1 s here: its answer is tested in tests/planner, not here."""
    monkeypatch.setattr("rota.reports.figures.PLAN_TIME_LIMIT_S", 1.0)


def _sidebar_buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.sidebar.button]


def test_the_button_is_for_the_roles_that_build_packs(app_as: AppFactory) -> None:
    """Not for a coordinator; the CDOP manager and a commissioner open it in the next test (administrators
    have the manager's rights: `can_build_pack`)."""
    assert all(can_build_pack(Actor("x", role)) for role in ("admin", "cdop_manager", "commissioner"))
    assert not can_build_pack(Actor("x", "coordinator", "Vale Police"))
    for role in PAGES_BY_ROLE:
        assert "Assurance pack" not in PAGES_BY_ROLE[role]  # a dialog, not a page of the navigation
    coordinator = app_as("coordinator", "Vale Police")
    assert not coordinator.exception
    assert "Assurance pack" not in _sidebar_buttons(coordinator)
    assert [b for b in coordinator.button if b.key == OPEN] == []


def test_the_manager_chooses_the_audience_and_the_commissioner_does_not(app_as: AppFactory) -> None:
    latest = last_complete(utc_now().astimezone(SERVICE_TZ).date())
    manager = app_as("cdop_manager")
    assert "Assurance pack" in _sidebar_buttons(manager)
    manager.sidebar.button(key=OPEN).click().run()
    assert not manager.exception
    quarter = manager.selectbox(key="pack_quarter")
    assert len(quarter.options) == 8
    assert quarter.options[0] == f"{latest.label} ({latest.words})"  # the default: the last complete quarter
    assert quarter.value == latest
    assert [r.options for r in manager.radio if r.key == "pack_audience"] == [
        ["CDOP manager (exact figures)", "Commissioners and the board (suppressed)"]
    ]
    agencies = manager.selectbox(key="pack_agency")
    assert agencies.options[0] == "All agencies" and len(agencies.options) > 1
    assert [b.label for b in manager.button if b.key == "pack_build"] == ["Build pack"]

    commissioner = app_as("commissioner", "Vale Police")
    assert "Assurance pack" in _sidebar_buttons(commissioner)
    commissioner.sidebar.button(key=OPEN).click().run()
    assert not commissioner.exception
    assert [r for r in commissioner.radio if r.key == "pack_audience"] == []
    assert any("small numbers are suppressed" in c.value for c in commissioner.caption)
    assert [b.label for b in commissioner.button if b.key == "pack_build"] == ["Build pack"]


def _dialog_content() -> None:
    """The dialog's content as the signed-in person's (the session state holds the account)."""
    from dashboard.components.context import current_actor
    from dashboard.components.pack_dialog import pack_choices

    actor = current_actor()
    assert actor is not None
    pack_choices(actor)


def test_building_gives_the_preview_and_both_downloads_once(demo_db_url: str) -> None:
    at = AppTest.from_function(_dialog_content, default_timeout=120)
    at.session_state["user"] = signed_in("commissioner")
    at.run()
    assert not at.exception
    assert [d for d in at.get("download_button")] == []
    at.button(key="pack_build").click().run()
    assert not at.exception and not at.error
    downloads = {d.proto.label: d.proto for d in at.get("download_button")}
    assert list(downloads) == ["Download PDF", "Download HTML"]
    (built,) = at.session_state[CACHE].values()
    assert built.pdf.startswith(b"%PDF-")
    assert built.pdf_name.endswith("-commissioner.pdf") and built.html_name.endswith("-commissioner.html")
    html = built.html.decode("utf-8")
    assert ">Summary</h2>" in html and html.lstrip().lower().startswith("<!doctype html")
    assert "Commissioners and the board (suppressed)".lower() in built.title
    frames = at.get("iframe")
    assert len(frames) == 1 and ">Summary</h2>" in frames[0].proto.srcdoc

    # drawn again (the dialog reopened): shown from the session, no Build pack button, nothing rebuilt
    at.run()
    assert [b for b in at.button if b.key == "pack_build"] == []
    assert len(at.get("download_button")) == 2
    (again,) = at.session_state[CACHE].values()
    assert again == built  # the same files and build time: not built a second time
