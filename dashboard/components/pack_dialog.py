"""The board's assurance pack on the dashboard: an "Assurance pack" button in the sidebar, for the roles that
may build one (`rota.services.assurance.can_build_pack`), opens a dialog to choose the quarter, the audience
(only where the role has a choice) and the agency, build the pack once as PDF and HTML, preview the HTML and
download either (docs/dashboard.md, "Assurance pack"). The navigation is left as it is: the pack is not a
page.

A pack takes about 15 seconds to build on the demo, so the built files are kept in the session, keyed by the
database, its data version, the reader and the choices: reopening the dialog, or choosing a pack built
before, shows it at once; any stored change makes a new one.
"""

from __future__ import annotations

import time
from functools import partial
from typing import NamedTuple

import streamlit as st

from dashboard.components.context import database_key, engine, tz
from dashboard.components.downloads import Download, download_row
from dashboard.components.feedback import failed
from rota.reports import FORMATS, build_both
from rota.reports.quarters import Quarter, last_complete
from rota.services.access import COMMISSIONER, Actor
from rota.services.assurance import AUDIENCE_LABELS, MANAGER, agency_roles, audiences_for, can_build_pack
from rota.services.coverage import data_version
from rota.timeutil import to_local, utc_now

TITLE = "Assurance pack"
QUARTERS_SHOWN = 8  # the last eight complete quarters: two years for the board to look back on
KEPT = 4  # built packs kept per session (a pack's PDF and HTML are a few hundred KB each)
CACHE = "assurance_pack_built"
BUILD_WORDS = "Building the pack: about 15 seconds"
PREVIEW_HEIGHT = 700
AUDIENCE_CHOICES = {
    MANAGER: "CDOP manager (exact figures)",
    COMMISSIONER: "Commissioners and the board (suppressed)",
}
ALL_AGENCIES = "All agencies"


class PackKey(NamedTuple):
    url: str
    version: int
    username: str
    role: str
    quarter: str
    audience: str
    agency: str | None


class Built(NamedTuple):
    """A built pack as the session keeps it: plain values only (session state is serialisable)."""

    title: str  # `2026-Q3 (July to September 2026), commissioners and the board (suppressed)`
    pdf: bytes
    pdf_name: str
    html: bytes
    html_name: str
    seconds: float
    at: str  # local time, 24-hour clock


def recent_quarters(count: int = QUARTERS_SHOWN) -> list[Quarter]:
    """The last `count` complete quarters (local dates), newest first."""
    q = last_complete(utc_now().astimezone(tz()).date())
    out = [q]
    while len(out) < count:
        q = q.previous
        out.append(q)
    return out


def quarter_label(q: Quarter) -> str:
    """`2026-Q3 (July to September 2026)`."""
    return f"{q.label} ({q.words})"


def sidebar_button(actor: Actor) -> None:
    """The sidebar's "Assurance pack" button, for the roles that may build a pack; it opens the dialog."""
    if not can_build_pack(actor):
        return
    with st.sidebar:
        opened = st.button(
            TITLE, key="assurance_pack_open", icon=":material/summarize:", help="The board's quarterly pack"
        )
    if opened:
        pack_dialog(actor)


@st.dialog(TITLE, width="large")
def pack_dialog(actor: Actor) -> None:
    pack_choices(actor)


def pack_choices(actor: Actor) -> None:
    """The dialog's content: the choices, the Build pack button, then the preview and the downloads."""
    quarter = st.selectbox("Quarter", recent_quarters(), format_func=quarter_label, key="pack_quarter")
    if quarter is None:
        return
    audiences = audiences_for(actor)
    if len(audiences) > 1:
        audience = str(
            st.radio("Audience", audiences, format_func=AUDIENCE_CHOICES.__getitem__, key="pack_audience")
        )
    else:
        audience = audiences[0]
        st.caption(
            f"The pack for {AUDIENCE_LABELS[audience]}: small numbers are suppressed and there is no "
            "case-level data."
        )
    try:
        agencies = list(agency_roles(engine(), actor))
    except Exception as exc:
        failed("read the agencies", exc)
        return
    picked = st.selectbox("Agency", [ALL_AGENCIES, *agencies], key="pack_agency")
    agency = None if picked in (None, ALL_AGENCIES) else str(picked)
    key = PackKey(
        database_key(), data_version(engine()), actor.username, actor.role, quarter.label, audience, agency
    )
    kept: dict[PackKey, Built] = st.session_state.setdefault(CACHE, {})
    built = kept.get(key)
    if built is None:
        slot = st.empty()  # the button, then the progress, then nothing once built
        with slot.container():
            clicked = st.button("Build pack", type="primary", key="pack_build")
            st.caption("The pack is built from the stored data when you ask: it takes about 15 seconds.")
        if not clicked:
            return
        with slot.container():
            built = _build(actor, quarter, audience, agency)
        if built is None:
            return
        slot.empty()
        kept[key] = built
        for old in list(kept)[:-KEPT]:
            del kept[old]
    _show(built)


def _build(actor: Actor, quarter: Quarter, audience: str, agency: str | None) -> Built | None:
    with st.status(BUILD_WORDS, expanded=False) as status:
        started = time.monotonic()
        try:
            pdf, html = build_both(engine(), actor, period=quarter, audience=audience, agency=agency, tz=tz())
        except Exception as exc:
            status.update(label="The pack could not be built", state="error", expanded=True)
            failed("build the assurance pack", exc)
            return None
        seconds = time.monotonic() - started
        status.update(label=f"Built in {seconds:.0f} seconds", state="complete")
    title = f"{quarter_label(pdf.quarter)}, {AUDIENCE_CHOICES[pdf.audience].lower()}"
    if agency is not None:
        title += f", {agency}"
    at = f"{to_local(utc_now(), tz()):%H:%M}"
    return Built(title, pdf.content, pdf.filename, html.content, html.filename, seconds, at)


def _show(built: Built) -> None:
    st.markdown(f"**{built.title}**")
    st.caption(
        f"Built at {built.at} in {built.seconds:.0f} seconds; kept while you are signed in, until the data "
        "changes."
    )
    pdf, html = partial(bytes, built.pdf), partial(bytes, built.html)
    download_row(
        [
            Download("Download PDF", pdf, built.pdf_name, FORMATS["pdf"], "pack_pdf"),
            Download("Download HTML", html, built.html_name, FORMATS["html"], "pack_html"),
        ]
    )
    st.iframe(built.html.decode("utf-8"), height=PREVIEW_HEIGHT, alt="Preview of the assurance pack")
