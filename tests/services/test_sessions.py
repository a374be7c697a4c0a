"""Server-side dashboard sessions: revalidated against the account's security stamp, idle expiry, the
single-use hand-over code for the browser's cookie (only hashes stored), and sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from rota.services import auth, sessions
from rota.services.access import ADMIN, COMMISSIONER, Actor
from rota.services.sessions import SessionEnded
from rota.storage.db import init_db
from rota.storage.models import USER_SESSION

PASSWORD = "correct horse battery"
T0 = datetime.fromisoformat("2026-11-25T09:00:00+00:00")
IDLE = timedelta(minutes=30)


@pytest.fixture
def engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(
        auth.passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    eng = init_db(db_url)
    auth.create_user(eng, None, "ada", ADMIN, PASSWORD, display_name="Ada")
    auth.create_user(eng, None, "boss", ADMIN, PASSWORD)
    try:
        yield eng
    finally:
        eng.dispose()


def start(engine: Engine, now: datetime = T0) -> sessions.StartedSession:
    actor, stamp = auth.check_sign_in(engine, "ada", PASSWORD, now=now)
    return sessions.start_session(engine, actor, sessions.PASSWORD, idle=IDLE, stamp=stamp, now=now)


def ended(call: object) -> str:
    with pytest.raises(SessionEnded) as info:
        call()  # type: ignore[operator]
    return info.value.reason


def rows(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(conn.execute(select(USER_SESSION)).all())


def test_a_session_is_revalidated_and_gives_the_account_as_it_stands(engine: Engine) -> None:
    started = start(engine)
    live = sessions.check_session(engine, session_id=started.session_id, idle=IDLE, now=T0)
    assert live.actor == Actor("ada", ADMIN, None, "Ada")
    assert (live.method, live.has_cookie) == ("password", False)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: auth.set_active(e, None, "ada", False),
        lambda e: auth.set_role(e, None, "ada", COMMISSIONER),
        lambda e: auth.set_password(e, None, "ada", "another long passphrase"),
        lambda e: auth.ensure_user(e, "ada", ADMIN, "another long passphrase"),
    ],
    ids=["switched-off", "role", "password", "reset"],
)
def test_a_change_to_the_account_ends_its_sessions(engine: Engine, change: object) -> None:
    started = start(engine)
    token = sessions.claim_handoff(engine, started.handoff_code or "", now=T0)
    change(engine)  # type: ignore[operator]
    assert ended(lambda: sessions.check_session(engine, token=token, idle=IDLE, now=T0)) == sessions.CHANGED
    assert rows(engine) == []  # and the row is gone


def test_switching_back_on_does_not_bring_old_sessions_back(engine: Engine) -> None:
    started = start(engine)
    auth.set_active(engine, None, "ada", False)
    auth.set_active(engine, None, "ada", True)
    assert (
        ended(lambda: sessions.check_session(engine, session_id=started.session_id, idle=IDLE)) == "changed"
    )


def test_a_change_between_the_password_check_and_the_session_is_caught(engine: Engine) -> None:
    actor, stamp = auth.check_sign_in(engine, "ada", PASSWORD, now=T0)
    auth.set_password(engine, None, "ada", "another long passphrase")
    with pytest.raises(SessionEnded):
        sessions.start_session(engine, actor, sessions.PASSWORD, idle=IDLE, stamp=stamp, now=T0)


def test_an_idle_session_ends_and_activity_keeps_it(engine: Engine) -> None:
    started = start(engine)
    sid = started.session_id
    sessions.check_session(engine, session_id=sid, idle=IDLE, now=T0 + timedelta(minutes=29))
    sessions.check_session(engine, session_id=sid, idle=IDLE, now=T0 + timedelta(minutes=58))
    late = T0 + timedelta(minutes=89)
    assert ended(lambda: sessions.check_session(engine, session_id=sid, idle=IDLE, now=late)) == "idle"


def test_the_hand_over_code_works_once_and_only_hashes_are_stored(engine: Engine) -> None:
    started = start(engine)
    code = started.handoff_code
    assert code is not None
    assert sessions.claim_handoff(engine, "not the code", now=T0) is None
    with ThreadPoolExecutor(max_workers=8) as pool:  # the same code sent eight times at once
        tokens = [t for t in pool.map(lambda _: sessions.claim_handoff(engine, code, now=T0), range(8)) if t]
    assert len(tokens) == 1
    (row,) = rows(engine)
    assert row.token_hash == sessions.digest(tokens[0]) and tokens[0] not in str(tuple(row))
    assert row.handoff_hash is None and code not in str(tuple(row))
    live = sessions.check_session(engine, token=tokens[0], idle=IDLE, now=T0)
    assert live.session_id == started.session_id and live.has_cookie


def test_an_expired_hand_over_code_is_refused(engine: Engine) -> None:
    code = start(engine).handoff_code or ""
    assert sessions.claim_handoff(engine, code, now=T0 + sessions.HANDOFF_TTL) is None


def test_signing_out_ends_the_session_for_the_cookie_too(engine: Engine) -> None:
    started = start(engine)
    token = sessions.claim_handoff(engine, started.handoff_code or "", now=T0)
    sessions.end_session(engine, session_id=started.session_id)
    assert ended(lambda: sessions.check_session(engine, token=token, idle=IDLE, now=T0)) == "gone"
    other = start(engine)
    other_token = sessions.claim_handoff(engine, other.handoff_code or "", now=T0)
    sessions.end_session(engine, token=other_token)
    assert rows(engine) == []


def test_unknown_or_absurd_tokens_name_no_session(engine: Engine) -> None:
    start(engine)
    for token in ("", "x" * 10_000, "nothing"):
        assert ended(lambda token=token: sessions.check_session(engine, token=token, idle=IDLE)) == "gone"
