"""The sign-in gate: the built-in form (Username, Password, Sign in), optional OIDC sign-in through
Streamlit's `st.login` with a group-to-role map, sign-out, and sign-out after a spell of inactivity.

OIDC is on when `.streamlit/secrets.toml` has Streamlit's `[auth]` section and a `[rota_oidc]` section:

    [rota_oidc]
    provider = "microsoft"            # the [auth.microsoft] section; leave out to use [auth] itself
    provider_label = "Microsoft"      # the button says "Sign in with Microsoft"
    username_claim = "preferred_username"   # optional; default preferred_username, email, upn, sub
    group_roles = { "<group object id>" = "cdop_manager", "<id>" = "coordinator:Vale Police" }

Everything kept in session state is a plain value (the session state must stay serialisable).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.components.context import USER_KEY, current_actor, engine, session_minutes, store_actor
from rota.services.access import Actor
from rota.services.auth import AuthError, authenticate, oidc_actor, role_label

MESSAGE_KEY = "signin_message"  # a note for the next drawing of the form (expiry, signed out)
ERROR_KEY = "signin_error"  # why the last attempt was refused
USERNAME_KEY = "signin_username"
PASSWORD_KEY = "signin_password"
METHOD_PASSWORD = "password"
METHOD_OIDC = "oidc"


@dataclass(frozen=True)
class OidcSettings:
    provider: str | None  # None: the [auth] section itself describes the provider
    label: str
    group_roles: dict[str, str]
    username_claim: str | None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _provider_sections(auth: Mapping[str, Any]) -> list[str]:
    return [k for k, v in auth.items() if isinstance(v, Mapping) and "client_id" in v]


def oidc_settings() -> OidcSettings | None:
    """OIDC sign-in settings from the secrets, or None when OIDC is not configured."""
    try:
        auth = _plain(st.secrets.get("auth") or {})
        rota = _plain(st.secrets.get("rota_oidc") or {})
    except Exception:  # no secrets file at all (Streamlit raises its own FileNotFoundError subclass)
        return None
    group_roles = rota.get("group_roles") or {}
    if not auth or not group_roles:
        return None
    provider = rota.get("provider") or next(iter(_provider_sections(auth)), None)
    label = rota.get("provider_label") or (
        "Microsoft" if provider == "microsoft" else (provider or "single sign-on").replace("-", " ").title()
    )
    return OidcSettings(
        provider=provider,
        label=str(label),
        group_roles={str(k): str(v) for k, v in group_roles.items()},
        username_claim=rota.get("username_claim") or None,
    )


def _method() -> str | None:
    data = st.session_state.get(USER_KEY) or {}
    return data.get("method")


def _expired() -> bool:
    data = st.session_state.get(USER_KEY) or {}
    last = float(data.get("last_seen", 0))
    return time.time() - last > session_minutes() * 60


def sign_out(message: str | None = None) -> bool:
    """Forget the signed-in actor; `message` is shown above the form next time. Returns True when it also
    asked Streamlit to drop its identity cookie (`st.logout`), which sends the browser to a new session."""
    oidc = _method() == METHOD_OIDC
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(ERROR_KEY, None)
    if message:
        st.session_state[MESSAGE_KEY] = message
    if oidc and st.user.get("is_logged_in"):
        # Otherwise the identity cookie would sign the browser straight back in.
        st.logout()
        return True
    return False


def gate() -> Actor:
    """Return the signed-in actor, or draw the sign-in page and stop the script."""
    actor = current_actor()
    if actor is not None and _expired():
        sign_out(
            f"You were signed out after {session_minutes()} minutes without activity. Please sign in again."
        )
        actor = None
    settings = oidc_settings()
    if actor is None and settings is not None:
        actor = _from_oidc(settings)
    if actor is not None:
        st.session_state[USER_KEY]["last_seen"] = time.time()
        return actor
    _page(settings)
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises


def _remember(actor: Actor, method: str) -> None:
    store_actor(actor)
    st.session_state[USER_KEY]["method"] = method
    st.session_state.pop(ERROR_KEY, None)
    st.session_state.pop(MESSAGE_KEY, None)


def _from_oidc(settings: OidcSettings) -> Actor | None:
    """The actor for the identity Streamlit holds after `st.login`, mapped through the group map."""
    if not st.user.get("is_logged_in"):
        return None
    try:
        actor = oidc_actor(
            engine(), st.user.to_dict(), settings.group_roles, username_claim=settings.username_claim
        )
    except AuthError as exc:
        st.session_state[ERROR_KEY] = exc.message
        return None
    _remember(actor, METHOD_OIDC)
    return actor


def _submit() -> None:
    """The form's callback: runs before the script, so a success shows the pages at once."""
    username = str(st.session_state.get(USERNAME_KEY) or "")
    password = str(st.session_state.get(PASSWORD_KEY) or "")
    st.session_state[PASSWORD_KEY] = ""  # never kept, right or wrong
    try:
        actor = authenticate(engine(), username, password)
    except AuthError as exc:
        st.session_state[ERROR_KEY] = exc.message
        return
    st.session_state.pop(USERNAME_KEY, None)
    _remember(actor, METHOD_PASSWORD)


def _page(settings: OidcSettings | None) -> None:
    st.title("CDOP rota")
    st.caption("Joint Agency Response cover for unexpected child deaths")
    note = st.session_state.pop(MESSAGE_KEY, None)
    if note:
        st.info(note)
    error = st.session_state.get(ERROR_KEY)
    if error:
        st.error(error)
    if settings is not None:
        if st.user.get("is_logged_in"):
            # Signed in at the identity provider but refused here: let them switch account.
            if st.button(f"Sign out of {settings.label}", key="signin_oidc_logout"):
                st.session_state.pop(ERROR_KEY, None)
                st.logout()
        elif st.button(f"Sign in with {settings.label}", key="signin_oidc", type="primary"):
            st.session_state.pop(ERROR_KEY, None)
            if settings.provider:
                st.login(settings.provider)
            else:
                st.login()
        st.caption("Or sign in with a username and password:")
    with st.form("signin", enter_to_submit=True):
        st.text_input("Username", key=USERNAME_KEY, autocomplete="username")
        st.text_input("Password", key=PASSWORD_KEY, type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="secondary" if settings else "primary", on_click=_submit)
    st.caption(f"You are signed out after {session_minutes()} minutes without activity.")


def sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.markdown(f"**{actor.label}**  \n{role_label(actor)}")
        if st.button("Sign out", key="signout"):
            if sign_out("You have signed out."):
                # A rerun would drop st.logout's redirect before the browser follows it.
                st.stop()
            st.rerun()
