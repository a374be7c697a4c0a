"""Dashboard fixtures: a demo database (built once, copied per test) and AppTest runs as a signed-in role."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, insert, select, update
from streamlit.testing.v1 import AppTest

from rota.services import sessions
from rota.services.access import Actor
from rota.storage.db import init_db, make_engine
from rota.storage.models import USER_ACCOUNT
from rota.timeutil import SERVICE_TZ, utc_now
from tests.demo_db import write_demo_database

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
DEMO_TODAY: date = utc_now().astimezone(SERVICE_TZ).date()
AppFactory = Callable[..., AppTest]


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_database(tmp_path_factory.mktemp("demo") / "demo.db", DEMO_TODAY)


@pytest.fixture
def demo_db_url(demo_db_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private copy of the demo database, selected through ROTA_DATABASE_URL for the app under test."""
    copy = tmp_path / "rota.db"
    shutil.copy(demo_db_file, copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("ROTA_DATABASE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def db(demo_db_url: str) -> Iterator[Engine]:
    """The test's own copy of the demo database, for checking what a page stored."""
    engine = make_engine(demo_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def signed_in(role: str, agency: str | None = None, username: str | None = None) -> dict[str, object]:
    """What the sign-in gate keeps in session state for a signed-in person: the account (created, or put to
    this role and agency, in the database ROTA_DATABASE_URL names) with a live server-side session."""
    name = username or f"test-{role}"
    actor = Actor(name, role, agency, f"Test {role}")
    engine = init_db(os.environ["ROTA_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            values = {"role": role, "agency": agency, "display_name": actor.display_name, "active": True}
            t = USER_ACCOUNT
            if conn.execute(select(t.c.username).where(t.c.username == name)).first() is None:
                conn.execute(
                    insert(t).values(
                        username=name, failed_attempts=0, created_at=utc_now(), version=1, **values
                    )
                )
            else:
                conn.execute(update(t).where(t.c.username == name).values(**values))
        started = sessions.start_session(
            engine, actor, sessions.PASSWORD, idle=timedelta(days=1), handoff=False
        )
    finally:
        engine.dispose()
    return {
        "username": name,
        "role": role,
        "agency": agency,
        "display_name": actor.display_name,
        "last_seen": time.time(),
        "method": sessions.PASSWORD,
        "session": started.session_id,
    }


@pytest.fixture
def app_as(demo_db_url: str) -> AppFactory:
    """`app_as("coordinator", "Vale Police", page="views/rota_editor_page.py")` -> an AppTest that has run."""

    def _make(
        role: str | None, agency: str | None = None, page: str | None = None, timeout: float = 30
    ) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=timeout)
        if role is not None:
            at.session_state["user"] = signed_in(role, agency)
        at.run()
        if page is not None:
            at.switch_page(page)
            at.run()
        return at

    return _make
