"""The sign-in gate: the built-in form (Username, Password, Sign in), optional OIDC sign-in through
Streamlit's `st.login` with a group-to-role map, sign-out, and sign-out after a spell of inactivity.

OIDC is on when `.streamlit/secrets.toml` has Streamlit's `[auth]` section and a `[rota_oidc]` section:

    [rota_oidc]
    provider = "microsoft"            # the [auth.microsoft] section; leave out to use [auth] itself
    provider_label = "Microsoft"      # the button says "Sign in with Microsoft"
    username_claim = "preferred_username"   # optional; default preferred_username, email, upn, sub
    group_roles = { "<group object id>" = "cdop_manager", "<id>" = "coordinator:Vale Police" }

Everything kept in session state is a plain value (the session state must stay serialisable).

Sessions live on the server (rota/services/sessions.py): every rerun revalidates the session against its
account in one query, so switching an account off or changing its role, agency or password ends its sessions
at their next interaction. After a password sign-in the page exchanges a single-use code for an HttpOnly
cookie (dashboard/server.py), which lets a reload resume the session; sign-out deletes the session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import streamlit as st

from dashboard.components.context import USER_KEY, current_actor, engine, session_minutes, store_actor
from rota.services import sessions
from rota.services.access import Actor
from rota.services.auth import AuthError, check_sign_in, grant_for, oidc_actor

MESSAGE_KEY = "signin_message"  # a note for the next drawing of the form (expiry, signed out)
ERROR_KEY = "signin_error"  # why the last attempt was refused
USERNAME_KEY = "signin_username"
PASSWORD_KEY = "signin_password"
METHOD_PASSWORD = sessions.PASSWORD
METHOD_OIDC = sessions.OIDC
CLEAR_COOKIE_KEY = "signin_clear_cookie"  # the browser still holds a session cookie that is over
# The browser's session cookie (HttpOnly, SameSite=Strict), set and cleared by dashboard/server.py's routes.
SESSION_COOKIE = "rota_session"
SESSION_PATH = "/api/session"


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


def _expired() -> bool:
    data = st.session_state.get(USER_KEY) or {}
    last = float(data.get("last_seen", 0))
    return time.time() - last > session_minutes() * 60


def _idle() -> timedelta:
    return timedelta(minutes=session_minutes())


def sign_out(message: str | None = None) -> bool:
    """End the session (its server record too); `message` is shown above the form next time. Returns True
    when it also asked Streamlit to drop its identity cookie (`st.logout`), which sends the browser to a new
    session."""
    data = st.session_state.get(USER_KEY) or {}
    oidc = data.get("method") == METHOD_OIDC
    if data.get("session"):
        sessions.end_session(engine(), session_id=str(data["session"]))
    if data.get("method") == METHOD_PASSWORD:
        st.session_state[CLEAR_COOKIE_KEY] = True
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
    """Return the signed-in actor (revalidated against the account on every rerun), or draw the sign-in
    page and stop the script."""
    settings = oidc_settings()
    actor = _resume(settings)
    if actor is None and settings is not None and MESSAGE_KEY not in st.session_state:
        actor = _from_oidc(settings)
    if actor is None and USER_KEY not in st.session_state and MESSAGE_KEY not in st.session_state:
        actor = _from_cookie()
    if actor is not None:
        st.session_state[USER_KEY]["last_seen"] = time.time()
        return actor
    _page(settings)
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises


def _resume(settings: OidcSettings | None) -> Actor | None:
    """The actor of this browser tab's session if it is still good; otherwise sign out saying why."""
    if current_actor() is None:
        return None
    data = st.session_state[USER_KEY]
    if _expired():
        sign_out(sessions.idle_message(_idle()))
        return None
    try:
        live = sessions.check_session(engine(), session_id=str(data.get("session") or ""), idle=_idle())
    except sessions.SessionEnded as ended:
        sign_out(ended.message)
        return None
    if live.method == METHOD_OIDC and not _oidc_grant_holds(live.actor, settings):
        sign_out(sessions.CHANGED_MESSAGE)
        return None
    _remember(live.actor, live.method, live.session_id)
    if live.has_cookie:
        st.session_state[USER_KEY].pop("handoff", None)
    return live.actor


def _oidc_grant_holds(actor: Actor, settings: OidcSettings | None) -> bool:
    """The identity Streamlit holds still maps, through today's group map, to the session's role."""
    if settings is None or not st.user.get("is_logged_in"):
        return False
    try:
        grant = grant_for(st.user.to_dict(), settings.group_roles)
    except AuthError:
        return False
    return (grant.role, grant.agency) == (actor.role, actor.agency)


def _from_cookie() -> Actor | None:
    """A reload: the session named by the browser's cookie, if it is still good."""
    token = st.context.cookies.get(SESSION_COOKIE)
    if not isinstance(token, str) or not token:
        return None
    try:
        live = sessions.check_session(engine(), token=token, idle=_idle())
    except sessions.SessionEnded as ended:
        st.session_state[CLEAR_COOKIE_KEY] = True
        if ended.reason != sessions.GONE:
            st.session_state[MESSAGE_KEY] = ended.message
        return None
    if live.method != METHOD_PASSWORD:
        return None
    _remember(live.actor, live.method, live.session_id)
    return live.actor


def _remember(actor: Actor, method: str, session_id: str, handoff: str | None = None) -> None:
    previous = st.session_state.get(USER_KEY) or {}
    store_actor(actor)
    data = st.session_state[USER_KEY]
    data["method"] = method
    data["session"] = session_id
    if handoff or previous.get("handoff"):
        data["handoff"] = handoff or previous["handoff"]
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
        started = sessions.start_session(engine(), actor, METHOD_OIDC, idle=_idle(), handoff=False)
    except AuthError as exc:
        st.session_state[ERROR_KEY] = exc.message
        return None
    except sessions.SessionEnded as ended:
        st.session_state[ERROR_KEY] = ended.message
        return None
    _remember(actor, METHOD_OIDC, started.session_id)
    return actor


def _submit() -> None:
    """The form's callback: runs before the script, so a success shows the pages at once."""
    username = str(st.session_state.get(USERNAME_KEY) or "")
    password = str(st.session_state.get(PASSWORD_KEY) or "")
    st.session_state[PASSWORD_KEY] = ""  # never kept, right or wrong
    try:
        actor, stamp = check_sign_in(engine(), username, password)
        started = sessions.start_session(engine(), actor, METHOD_PASSWORD, idle=_idle(), stamp=stamp)
    except AuthError as exc:
        st.session_state[ERROR_KEY] = exc.message
        return
    except sessions.SessionEnded as ended:
        st.session_state[ERROR_KEY] = ended.message
        return
    st.session_state.pop(USERNAME_KEY, None)
    st.session_state.pop(CLEAR_COOKIE_KEY, None)
    _remember(actor, METHOD_PASSWORD, started.session_id, started.handoff_code)


def _session_script(action: str, code: str = "") -> None:
    """Ask the browser to call the session route (same origin): `set` exchanges the single-use code for the
    HttpOnly cookie, `end` clears the cookie. The cookie itself is never visible to the page."""
    path = f"{SESSION_PATH}/{action}"  # dashboard/server.py mounts the routes at the root, as st.App does
    st.html(
        "<script>fetch("
        + json.dumps(path)
        + ', {method: "POST", credentials: "same-origin", cache: "no-store", body: '
        + json.dumps(code)
        + "});</script>",
        unsafe_allow_javascript=True,
    )


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
    if st.session_state.pop(CLEAR_COOKIE_KEY, None):
        _session_script("end")
    with st.form("signin", enter_to_submit=True):
        st.text_input("Username", key=USERNAME_KEY, autocomplete="username")
        st.text_input("Password", key=PASSWORD_KEY, type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="secondary" if settings else "primary", on_click=_submit)
    st.caption(f"You are signed out after {session_minutes()} minutes without activity.")


def sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.markdown(f"**{actor.label}**  \n{actor.account_label}")
        code = (st.session_state.get(USER_KEY) or {}).get("handoff")
        if code:  # until the browser has exchanged it for its cookie (then _resume forgets it)
            _session_script("set", str(code))
        if st.button("Sign out", key="signout"):
            if sign_out("You have signed out."):
                # A rerun would drop st.logout's redirect before the browser follows it.
                st.stop()
            st.rerun()
