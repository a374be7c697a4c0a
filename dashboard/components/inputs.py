"""Inputs several pages share: one required choice out of a few, shown as a segmented control."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st


def one_of(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    default: str | None = None,
    format_func: Callable[[str], str] = str,
    help: str | None = None,
) -> str:
    """The option picked (`options` must not be empty). Opens on `default` when it is one of them, else on
    the first; the answer is always one of `options`, even when session state holds one no longer offered."""
    picked = st.segmented_control(
        label,
        options,
        default=default if default in options else options[0],
        format_func=format_func,
        required=True,
        key=key,
        help=help,
    )
    return picked if picked is not None and picked in options else options[0]
