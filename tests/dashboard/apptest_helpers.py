"""Helpers the page tests share: no traceback or error after a run, a button by its label, an Admin tab."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def clean(at: AppTest) -> None:
    """No traceback and no error message on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def open_tab(at: AppTest, name: str) -> AppTest:
    """The Admin page with its tab `name` chosen (the page keeps the choice in session state)."""
    at.session_state["admin_tab"] = name
    return at.run()
