"""The sign-in form (Username, Password, Sign in), session expiry after inactivity, and sign-out."""

from __future__ import annotations

import time

import streamlit as st

from dashboard.components.context import USER_KEY, current_actor, engine, session_minutes, store_actor
from rota.services.access import ROLE_LABELS, Actor
from rota.services.auth import AuthError, authenticate


def _expired() -> bool:
    data = st.session_state.get(USER_KEY) or {}
    last = float(data.get("last_seen", 0))
    return time.time() - last > session_minutes() * 60


def sign_out(message: str | None = None) -> None:
    st.session_state.pop(USER_KEY, None)
    if message:
        st.session_state["signin_message"] = message


def gate() -> Actor:
    """Return the signed-in actor, or draw the sign-in form and stop the script."""
    actor = current_actor()
    if actor is not None and _expired():
        sign_out(f"You were signed out after {session_minutes()} minutes without activity.")
        actor = None
    if actor is not None:
        st.session_state[USER_KEY]["last_seen"] = time.time()
        return actor
    _form()
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises


def _form() -> None:
    st.title("CDOP rota")
    st.caption("Joint Agency Response cover for unexpected child deaths")
    note = st.session_state.pop("signin_message", None)
    if note:
        st.info(note)
    with st.form("signin", clear_on_submit=False):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = authenticate(engine(), username.strip(), password)
        except AuthError as exc:
            st.error(str(exc))
            return
        store_actor(actor)
        st.rerun()


def sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.markdown(
            f"**{actor.label}**  \n{ROLE_LABELS[actor.role]}" + (f", {actor.agency}" if actor.agency else "")
        )
        if st.button("Sign out", key="signout"):
            sign_out("You have signed out.")
            st.rerun()
