"""The router: sign-in gate, then navigation built from the signed-in user's role (docs/dashboard.md)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.components import pack_dialog, signin
from rota.services.access import (
    ADMIN_PAGE,
    CAPACITY,
    COMPLETION,
    COVERAGE,
    RESPONDERS,
    ROTA_EDITOR,
    pages_for,
)

HERE = Path(__file__).parent
VIEWS = HERE / "views"
PAGE_FILES = {
    COVERAGE: ("coverage_page.py", ":material/grid_on:", "coverage"),
    ROTA_EDITOR: ("rota_editor_page.py", ":material/edit_calendar:", "rota-editor"),
    RESPONDERS: ("responders_page.py", ":material/badge:", "responders"),
    CAPACITY: ("capacity_page.py", ":material/monitoring:", "capacity"),
    COMPLETION: ("completion_page.py", ":material/fact_check:", "completion"),
    ADMIN_PAGE: ("admin_page.py", ":material/admin_panel_settings:", "admin"),
}

# The favicon is the app's own file (sent as a data: URL): a ":material/...:" page icon would be fetched from
# an outside font host. The icons of the navigation are drawn with the font bundled in Streamlit.
st.set_page_config(page_title="CDOP rota", page_icon=HERE / "favicon.svg", layout="wide")
st.html(HERE / "style.css")  # style only: nothing is drawn

actor = signin.gate()
pages = [
    st.Page(
        VIEWS / PAGE_FILES[title][0], title=title, icon=PAGE_FILES[title][1], url_path=PAGE_FILES[title][2]
    )
    for title in pages_for(actor)
    if (VIEWS / PAGE_FILES[title][0]).exists()  # pages of later releases appear once they exist
]
navigation = st.navigation(pages)
signin.sidebar(actor)
pack_dialog.sidebar_button(actor)  # the board's pack: a dialog, not a page of the navigation
navigation.run()
