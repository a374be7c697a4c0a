"""The sign-in gate through AppTest: the form of docs/dashboard.md, messages, the slow-down, expiry after
inactivity, sign-out, and OIDC sign-in (st.user claims mapped through the group map in secrets)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import streamlit as st
from argon2 import PasswordHasher
from sqlalchemy import select, update
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest

from rota.services import auth, sessions
from rota.services.access import pages_for
from rota.storage.db import init_db
from rota.storage.models import USER_SESSION
from rota.timeutil import utc_now
from tests.dashboard.conftest import APP, signed_in

PASSWORD = "correct horse battery"
OIDC_SECRETS: dict[str, Any] = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a long random test cookie secret",
        "microsoft": {
            "client_id": "rota-client",
            "client_secret": "rota-secret",
            "server_metadata_url": "http://127.0.0.1:9/v2.0/.well-known/openid-configuration",
        },
    },
    "rota_oidc": {
        "provider": "microsoft",
        "group_roles": {"g-manager": "cdop_manager", "g-police": "coordinator:Vale Police"},
    },
}


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        auth.passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.delenv("ROTA_SESSION_MINUTES", raising=False)
    auth.signin._UNKNOWN.clear()


@pytest.fixture
def accounts(demo_db_url: str) -> Iterator[str]:
    """The demo database with a coordinator account `kim` (password PASSWORD)."""
    engine = init_db(demo_db_url)
    auth.create_user(engine, None, "kim", "coordinator", PASSWORD, "Vale Police", "DS Kim O'Neil")
    engine.dispose()
    yield demo_db_url


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    return at.run()


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button(key="FormSubmitter:signin-Sign in").click()
    return at.run()


def shows_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"]


def page_titles(at: AppTest) -> set[str]:
    # AppTest has no public view of st.navigation's pages; the registry it keeps for switch_page() is it.
    return {info["page_name"] for info in at._registered_pages.values()}


def test_the_form_has_username_password_and_sign_in(accounts: str) -> None:
    at = fresh()
    assert not at.exception
    assert shows_form(at)
    assert at.text_input(key="signin_password").proto.type == TextInputProto.PASSWORD
    assert [b.label for b in at.button] == ["Sign in"]  # no OIDC button without OIDC settings
    assert not at.sidebar.button


def test_signing_in_shows_the_navigation_of_the_role(accounts: str) -> None:
    at = sign_in(fresh(), " KIM ", PASSWORD)
    assert not at.exception
    assert not shows_form(at)
    user = at.session_state["user"]
    assert (user["username"], user["role"], user["agency"], user["method"]) == (
        "kim",
        "coordinator",
        "Vale Police",
        "password",
    )
    assert "Coverage" in page_titles(at)
    assert page_titles(at) <= set(pages_for(auth.Actor("kim", "coordinator", "Vale Police")))
    assert "**DS Kim O'Neil**" in at.sidebar.markdown[0].value
    assert "Rota coordinator, Vale Police" in at.sidebar.markdown[0].value
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert at.session_state["signin_password"] == ""  # the password is not kept in the session


def test_a_wrong_password_says_so_and_keeps_the_form(accounts: str) -> None:
    at = sign_in(fresh(), "kim", "not my password")
    assert [e.value for e in at.error] == ["Wrong username or password."]
    assert shows_form(at)
    assert "user" not in at.session_state
    assert at.text_input(key="signin_password").value == ""
    assert at.text_input(key="signin_username").value == "kim"
    at = sign_in(at, "nobody", PASSWORD)
    assert [e.value for e in at.error] == ["Wrong username or password."]
    at = sign_in(at, "kim", PASSWORD)  # and the right one still works after an error
    assert not shows_form(at) and not at.error


def test_repeated_failures_slow_sign_in_down(accounts: str) -> None:
    at = fresh()
    for _ in range(5):
        at = sign_in(at, "kim", "not my password")
    assert "Try again in 30 seconds." in at.error[0].value
    at = sign_in(at, "kim", PASSWORD)
    assert at.error[0].value.startswith("Too many wrong passwords for this username: sign-in is paused.")
    assert shows_form(at)


def idle_for(user: dict[str, Any], minutes: float) -> dict[str, Any]:
    """The session as if its last interaction was `minutes` ago (in this tab and on the server)."""
    engine = init_db(os.environ["ROTA_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            update(USER_SESSION)
            .where(USER_SESSION.c.session_id == user["session"])
            .values(last_seen_at=utc_now() - timedelta(minutes=minutes))
        )
    engine.dispose()
    return {**user, "last_seen": time.time() - minutes * 60}


def live_sessions(username: str) -> list[Any]:
    engine = init_db(os.environ["ROTA_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(select(USER_SESSION).where(USER_SESSION.c.username == username)).all()
    engine.dispose()
    return list(rows)


def test_a_session_expires_after_inactivity(accounts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = idle_for(signed_in("coordinator", "Vale Police"), 31)
    at.run()
    assert shows_form(at)
    assert [i.value for i in at.info] == [
        "You were signed out after 30 minutes without activity. Please sign in again."
    ]
    assert "user" not in at.session_state
    assert live_sessions("test-coordinator") == []

    monkeypatch.setenv("ROTA_SESSION_MINUTES", "45")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = idle_for(signed_in("coordinator", "Vale Police"), 31)  # fine with 45
    at.run()
    assert not shows_form(at)
    assert at.session_state["user"]["last_seen"] > time.time() - 60  # activity moves the clock on
    (row,) = live_sessions("test-coordinator")
    assert row.last_seen_at > utc_now() - timedelta(minutes=1)  # on the server too


def test_the_server_keeps_the_idle_clock_for_every_tab(accounts: str) -> None:
    # This tab was busy a moment ago, but the session (shared with other tabs) has been idle on the server.
    at = AppTest.from_file(APP, default_timeout=30)
    user = idle_for(signed_in("coordinator", "Vale Police"), 31)
    at.session_state["user"] = {**user, "last_seen": time.time()}
    at.run()
    assert shows_form(at)
    assert "minutes without activity" in at.info[0].value


def test_a_session_the_server_does_not_know_is_refused(accounts: str) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    forged = {**signed_in("admin"), "session": "0" * 32}
    at.session_state["user"] = forged
    at.run()
    assert shows_form(at)
    assert [i.value for i in at.info] == ["Your session has ended. Please sign in again."]


def on_admin_page(at: AppTest) -> bool:
    return [t.value for t in at.title] == ["Admin"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: auth.set_active(e, None, "ada", False), id="switched-off"),
        pytest.param(lambda e: auth.set_role(e, None, "ada", "commissioner"), id="demoted"),
        pytest.param(lambda e: auth.set_role(e, None, "ada", "coordinator", "Vale Police"), id="agency"),
        pytest.param(lambda e: auth.set_password(e, None, "ada", "a brand new passphrase"), id="password"),
    ],
)
def test_an_admin_whose_account_changes_is_signed_out_at_the_next_interaction(
    accounts: str, change: Any
) -> None:
    engine = init_db(accounts)
    auth.create_user(engine, None, "ada", "admin", PASSWORD)
    auth.create_user(engine, None, "boss", "admin", PASSWORD)
    at = sign_in(fresh(), "ada", PASSWORD)
    at.switch_page("views/admin_page.py").run()
    assert on_admin_page(at)
    other = sign_in(fresh(), "ada", PASSWORD)  # a second tab of the same account
    change(engine)
    engine.dispose()
    at.run()
    assert shows_form(at)
    assert not on_admin_page(at)
    assert "user" not in at.session_state
    assert [i.value for i in at.info] == [sessions.CHANGED_MESSAGE]
    other.run()
    assert shows_form(other)
    assert live_sessions("ada") == []


def test_an_admin_change_that_leaves_rights_alone_keeps_the_session(accounts: str) -> None:
    engine = init_db(accounts)
    auth.create_user(engine, None, "ada", "admin", PASSWORD)
    at = sign_in(fresh(), "ada", PASSWORD)
    for _ in range(3):
        refused = sign_in(fresh(), "ada", "not the password")  # failures elsewhere are not a change
        assert refused.error
    auth.unlock(engine, None, "ada")
    engine.dispose()
    at.switch_page("views/admin_page.py").run()
    assert on_admin_page(at)


def test_signing_in_hands_the_browser_a_single_use_code_for_its_cookie(accounts: str) -> None:
    at = sign_in(fresh(), "kim", PASSWORD)
    code = at.session_state["user"]["handoff"]
    scripts = [h.proto.body for h in at.sidebar.get("html")]
    assert any("/api/session/set" in body and code in body for body in scripts)
    engine = init_db(accounts)
    token = sessions.claim_handoff(engine, code)
    assert token is not None and sessions.claim_handoff(engine, code) is None  # once only
    (row,) = live_sessions("kim")
    assert row.token_hash == sessions.digest(token) and row.handoff_hash is None
    engine.dispose()
    at.run()  # the exchange is seen: the code is forgotten and no longer sent
    assert "handoff" not in at.session_state["user"]
    assert not at.sidebar.get("html")


def test_signing_out(accounts: str) -> None:
    at = sign_in(fresh(), "kim", PASSWORD)
    assert len(live_sessions("kim")) == 1
    at.sidebar.button(key="signout").click()
    at.run()
    assert shows_form(at)
    assert [i.value for i in at.info] == ["You have signed out."]
    assert "user" not in at.session_state
    assert live_sessions("kim") == []  # the browser's cookie names nothing any more
    assert any("/api/session/end" in h.proto.body for h in at.get("html"))  # and is cleared


# ---------------------------------------------------------------------------------------------- OIDC


def oidc_app(user: dict[str, Any]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = {k: dict(v) for k, v in OIDC_SECRETS.items()}
    at.user = user
    return at


def test_the_oidc_button_calls_st_login_with_the_provider(
    accounts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(st, "login", lambda *args: calls.append(args))
    at = oidc_app({"is_logged_in": False}).run()
    assert shows_form(at)  # the password form stays for local accounts
    at.button(key="signin_oidc").click()
    at.run()
    assert at.button(key="signin_oidc").label == "Sign in with Microsoft"
    assert calls == [("microsoft",)]


def test_oidc_claims_sign_in_with_the_mapped_role(accounts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = {
        "is_logged_in": True,
        "provider": "microsoft",
        "preferred_username": "Sam.Manager@vale.example",
        "name": "Sam Manager",
        "groups": ["g-other", "g-manager"],
    }
    at = oidc_app(claims).run()
    assert not at.exception
    assert not shows_form(at)
    user = at.session_state["user"]
    assert (user["username"], user["role"], user["method"]) == (
        "sam.manager@vale.example",
        "cdop_manager",
        "oidc",
    )
    assert "Completion" in page_titles(at) or "Coverage" in page_titles(at)
    assert "CDOP manager" in at.sidebar.markdown[0].value
    # Signing out also signs out of Streamlit's identity cookie, or the next run would sign straight in.
    at.sidebar.button(key="signout").click()
    at.run()
    assert at.user == {"is_logged_in": False}
    assert "user" not in at.session_state
    at.run()  # the browser follows st.logout's redirect to a fresh page
    assert shows_form(at)
    assert at.button(key="signin_oidc").label == "Sign in with Microsoft"


def test_oidc_without_a_mapped_group_is_refused_with_a_way_out(accounts: str) -> None:
    claims = {"is_logged_in": True, "preferred_username": "eve@vale.example", "groups": ["g-other"]}
    at = oidc_app(claims).run()
    assert shows_form(at)
    assert "not in any group that has access" in at.error[0].value
    assert at.button(key="signin_oidc_logout").label == "Sign out of Microsoft"
    at.button(key="signin_oidc_logout").click()
    at.run()
    assert at.user == {"is_logged_in": False}


def test_an_oidc_session_expires_too(accounts: str) -> None:
    claims = {"is_logged_in": True, "preferred_username": "kim.p@vale.example", "groups": ["g-police"]}
    at = oidc_app(claims).run()
    assert at.session_state["user"]["agency"] == "Vale Police"
    user = dict(at.session_state["user"])
    user["last_seen"] = time.time() - 3600
    at.session_state["user"] = user
    at.run()
    assert shows_form(at)
    assert "minutes without activity" in at.info[0].value
    assert at.user == {"is_logged_in": False}


OIDC_MANAGER = {
    "is_logged_in": True,
    "provider": "microsoft",
    "preferred_username": "sam.manager@vale.example",
    "groups": ["g-manager"],
}


def test_an_oidc_session_ends_when_its_account_is_switched_off(accounts: str) -> None:
    at = oidc_app(dict(OIDC_MANAGER)).run()
    assert at.session_state["user"]["role"] == "cdop_manager"
    engine = init_db(accounts)
    auth.set_active(engine, None, "sam.manager@vale.example", False)
    engine.dispose()
    at.run()
    assert "user" not in at.session_state
    assert at.user == {"is_logged_in": False}  # st.logout: the identity cookie cannot sign straight back in
    assert live_sessions("sam.manager@vale.example") == []


def test_an_oidc_session_ends_when_the_group_map_no_longer_gives_its_role(accounts: str) -> None:
    at = oidc_app(dict(OIDC_MANAGER)).run()
    at.switch_page("views/admin_page.py").run()
    assert on_admin_page(at)
    secrets = {k: dict(v) for k, v in OIDC_SECRETS.items()}
    secrets["rota_oidc"]["group_roles"] = {"g-manager": "commissioner"}
    at.secrets = secrets
    at.run()
    assert not on_admin_page(at)
    assert "user" not in at.session_state
    assert at.user == {"is_logged_in": False}
