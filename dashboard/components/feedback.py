"""Messages for people when something could not be done: what is wrong and what to do, never a traceback.
One helper for every page, so the same kind of failure reads the same everywhere."""

from __future__ import annotations

import logging

import streamlit as st

from rota.errors import ConflictError, InputError, PermissionDenied
from rota.rules import RuleError

log = logging.getLogger(__name__)

MAX_SHOWN = 10  # problems shown one under another; the rest are counted


def sentence(text: str) -> str:
    """'the period has 401 days' -> 'The period has 401 days.'"""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def failed(what: str, exc: Exception, *, where: bool = False) -> None:
    """Say why `what` could not be done ("work out the forecast", "save the rules").

    Bad input shows one message per problem (with `where`, the file or form, row and column too, for
    inputs that have rows); a refusal or a conflict says why; anything unexpected goes to the server log
    and the person is told only that it failed."""
    if isinstance(exc, InputError):
        for problem in exc.problems[:MAX_SHOWN]:
            st.error(str(problem) if where else sentence(problem.reason))
        if exc.total > MAX_SHOWN:
            st.error(f"... and {exc.total - MAX_SHOWN:,} more problems.")
    elif isinstance(exc, (PermissionDenied, ConflictError, RuleError)):
        st.error(sentence(str(exc)))
    else:
        log.exception("could not %s", what)
        st.error(f"Sorry, could not {what}. The details are in the server log.")
