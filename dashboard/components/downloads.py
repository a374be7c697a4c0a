"""A row of download buttons: every file a page offers is made only when someone clicks (`on_click="ignore"`
keeps the click from rerunning the page), so offering files costs a page nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import streamlit as st

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ICS_MIME = "text/calendar"


class Download(NamedTuple):
    """One button: its label, the file it serves (made on click), and the button's stable key."""

    label: str
    data: Callable[[], bytes | str]
    file_name: str
    mime: str
    key: str
    icon: str = ":material/download:"


def download_row(downloads: Sequence[Download]) -> None:
    """The buttons side by side, in the order given."""
    with st.container(horizontal=True, gap="small"):
        for d in downloads:
            st.download_button(
                d.label,
                d.data,
                file_name=d.file_name,
                mime=d.mime,
                key=d.key,
                icon=d.icon,
                on_click="ignore",
            )
