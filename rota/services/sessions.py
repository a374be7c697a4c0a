"""Signed-in dashboard sessions, kept on the server so that they survive a page reload and end when they
should: at sign-out, after a spell of inactivity, and at the next interaction after the account is switched
off or its role, agency or password changes (the account's security stamp moved on).

A session row is named inside the server by `session_id` (never sent to the browser). For the browser, a
single-use hand-over code (valid for two minutes) is exchanged once for a random token that the server puts
in an HttpOnly cookie; only the SHA-256 of the code and of the token are stored. No Streamlit here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from rota.services.access import Actor
from rota.storage import Engine
from rota.storage import sessions as store
from rota.storage.db import write_transaction
from rota.timeutil import utc_now
from rota.vocab import SignInMethod

PASSWORD: str = SignInMethod.PASSWORD.value
OIDC: str = SignInMethod.OIDC.value
HANDOFF_TTL = timedelta(minutes=2)
# The last-seen time is written at most this often: a rerun is a read, not a write, most of the time.
TOUCH_EVERY = timedelta(seconds=30)
MAX_TOKEN_LENGTH = 128  # tokens and codes are 43 characters; anything much longer is not ours

GONE = "gone"  # signed out elsewhere, or never existed
IDLE = "idle"
CHANGED = "changed"  # account switched off, or its role, agency or password changed
CHANGED_MESSAGE = (
    "Your account was changed or switched off by an administrator, so you have been signed out. "
    "Please sign in again."
)
GONE_MESSAGE = "Your session has ended. Please sign in again."


def idle_message(idle: timedelta) -> str:
    minutes = round(idle.total_seconds() / 60)
    return f"You were signed out after {minutes} minutes without activity. Please sign in again."


class SessionEnded(Exception):
    """The session is over; `reason` is GONE, IDLE or CHANGED and `message` is for the person."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class StartedSession:
    session_id: str
    handoff_code: str | None  # to exchange for the browser's cookie; None when no cookie is wanted


@dataclass(frozen=True)
class LiveSession:
    session_id: str
    actor: Actor  # as the account stands now
    method: str
    has_cookie: bool  # the hand-over code has been exchanged for the browser's token


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_session(
    engine: Engine,
    actor: Actor,
    method: str,
    *,
    idle: timedelta,
    stamp: int | None = None,
    handoff: bool = True,
    now: datetime | None = None,
) -> StartedSession:
    """Record a session for an actor who has just proved who they are. `stamp` is the account's security
    stamp read when the password was checked (so that a change in between is not missed). Also clears
    sessions idle for longer than `idle`. Raises SessionEnded(CHANGED) if the account no longer matches."""
    now = now or utc_now()
    session_id = secrets.token_hex(16)
    code = secrets.token_urlsafe(32) if handoff else None
    with write_transaction(engine) as conn:
        account = store.account_for_session(conn, actor.username)
        if (
            account is None
            or not account.active
            or (stamp is not None and account.security_stamp != stamp)
            or (account.role, account.agency) != (actor.role, actor.agency)
        ):
            raise SessionEnded(CHANGED, CHANGED_MESSAGE)
        store.delete_idle_sessions(conn, now - idle)
        store.insert_session(
            conn,
            session_id=session_id,
            username=actor.username,
            stamp=account.security_stamp,
            method=method,
            token_hash=None,
            handoff_hash=digest(code) if code else None,
            handoff_until=now + HANDOFF_TTL if code else None,
            created_at=now,
            last_seen_at=now,
        )
    return StartedSession(session_id, code)


def check_session(
    engine: Engine,
    *,
    session_id: str | None = None,
    token: str | None = None,
    idle: timedelta,
    now: datetime | None = None,
) -> LiveSession:
    """The live session named by `session_id` (from the server's memory) or `token` (the browser's
    cookie), revalidated against its account in one query. Raises SessionEnded; an ended session's row is
    deleted."""
    now = now or utc_now()
    token_hash = digest(token) if token and len(token) <= MAX_TOKEN_LENGTH else None
    if session_id is None and token_hash is None:
        raise SessionEnded(GONE, GONE_MESSAGE)
    with engine.connect() as conn:
        row = store.session_with_account(conn, session_id=session_id, token_hash=token_hash)
    if row is None:
        raise SessionEnded(GONE, GONE_MESSAGE)
    ended = None
    if not row.active or row.security_stamp != row.stamp:
        ended = SessionEnded(CHANGED, CHANGED_MESSAGE)
    elif now - row.last_seen_at > idle:
        ended = SessionEnded(IDLE, idle_message(idle))
    if ended is not None:
        with write_transaction(engine) as conn:
            store.delete_session(conn, session_id=row.session_id)
        raise ended
    if now - row.last_seen_at >= TOUCH_EVERY:
        with write_transaction(engine) as conn:
            store.touch_session(conn, row.session_id, now)
    actor = Actor(row.username, row.role, row.agency, row.display_name)
    return LiveSession(row.session_id, actor, row.method, row.token_hash is not None)


def claim_handoff(engine: Engine, code: str, *, now: datetime | None = None) -> str | None:
    """Exchange a hand-over code for the browser's session token (once; None for an unknown, spent or
    expired code)."""
    if not code or len(code) > MAX_TOKEN_LENGTH:
        return None
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        found = store.claim_handoff(conn, digest(code), digest(token), now)
    return token if found is not None else None


def end_session(engine: Engine, *, session_id: str | None = None, token: str | None = None) -> None:
    """Sign out: the session's row goes, so neither the server's memory nor the cookie can use it again."""
    token_hash = digest(token) if token and len(token) <= MAX_TOKEN_LENGTH else None
    if session_id is None and token_hash is None:
        return
    with write_transaction(engine) as conn:
        store.delete_session(conn, session_id=session_id, token_hash=token_hash)
