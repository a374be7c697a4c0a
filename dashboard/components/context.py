"""What every page needs: the database engine, the service time zone, and the signed-in actor."""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

import streamlit as st

from rota.config import load_settings
from rota.services.access import Actor, pages_for
from rota.storage import Engine
from rota.storage.db import database_url, init_db

USER_KEY = "user"


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return init_db(url)


def database_key() -> str:
    """The database URL: part of the key of every cached read, so two databases never share answers."""
    return database_url()


def engine() -> Engine:
    """One engine per database URL and server process (migrated to the newest schema on first use)."""
    return _engine(database_url())


def tz() -> tzinfo:
    """The service time zone (env ROTA_TZ, default Europe/London)."""
    return load_settings().tz


def session_minutes() -> int:
    """Minutes of inactivity after which a session signs out (env ROTA_SESSION_MINUTES, default 30)."""
    return load_settings().session_minutes


def store_actor(actor: Actor) -> None:
    st.session_state[USER_KEY] = {
        "username": actor.username,
        "role": actor.role,
        "agency": actor.agency,
        "display_name": actor.display_name,
        "last_seen": time.time(),
    }


def current_actor() -> Actor | None:
    """The signed-in actor, or None. Session state holds plain values only (serialisable)."""
    data: dict[str, Any] | None = st.session_state.get(USER_KEY)
    if not data:
        return None
    try:
        return Actor(data["username"], data["role"], data.get("agency"), data.get("display_name"))
    except (KeyError, ValueError):
        st.session_state.pop(USER_KEY, None)
        return None


def require_page(title: str) -> Actor:
    """Stop the page unless someone is signed in and their role may see it."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in.")
        st.stop()
    if title not in pages_for(actor):
        st.error(f"Your role cannot open {title}.")
        st.stop()
    return actor
