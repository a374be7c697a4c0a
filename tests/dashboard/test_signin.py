"""The sign-in gate through AppTest: the form of SPEC section 8, messages, the slow-down, expiry after
inactivity, sign-out, and OIDC sign-in (st.user claims mapped through the group map in secrets)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from argon2 import PasswordHasher
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest

from rota.services import auth
from rota.services.access import pages_for
from rota.storage.db import init_db
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
    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.delenv("ROTA_SESSION_MINUTES", raising=False)
    auth._UNKNOWN.clear()


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


def test_a_session_expires_after_inactivity(accounts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    stale = signed_in("coordinator", "Vale Police")
    stale["last_seen"] = time.time() - 31 * 60
    at.session_state["user"] = stale
    at.run()
    assert shows_form(at)
    assert [i.value for i in at.info] == [
        "You were signed out after 30 minutes without activity. Please sign in again."
    ]
    assert "user" not in at.session_state

    monkeypatch.setenv("ROTA_SESSION_MINUTES", "45")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = stale  # 31 minutes idle is fine with 45
    at.run()
    assert not shows_form(at)
    assert at.session_state["user"]["last_seen"] > time.time() - 60  # activity moves the clock on


def test_signing_out(accounts: str) -> None:
    at = sign_in(fresh(), "kim", PASSWORD)
    at.sidebar.button(key="signout").click()
    at.run()
    assert shows_form(at)
    assert [i.value for i in at.info] == ["You have signed out."]
    assert "user" not in at.session_state


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
