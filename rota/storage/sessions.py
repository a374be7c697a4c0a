"""The SQL of sign-in sessions (table `user_session`): insert, look up with the account in one query, touch,
claim a hand-over code, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from rota.storage.models import USER_ACCOUNT, USER_SESSION


def insert_session(conn: Connection, **values: Any) -> None:
    conn.execute(insert(USER_SESSION).values(**values))


def session_with_account(
    conn: Connection, *, session_id: str | None = None, token_hash: str | None = None
) -> Row[Any] | None:
    """The session (by its id, or by the hash of the browser's token) joined to its account: one query on
    the primary key or the unique token index."""
    s, a = USER_SESSION, USER_ACCOUNT
    stmt = select(
        s.c.session_id,
        s.c.stamp,
        s.c.method,
        s.c.token_hash,
        s.c.last_seen_at,
        a.c.username,
        a.c.role,
        a.c.agency,
        a.c.display_name,
        a.c.active,
        a.c.security_stamp,
    ).join(a, a.c.username == s.c.username)
    if session_id is not None:
        stmt = stmt.where(s.c.session_id == session_id)
    elif token_hash is not None:
        stmt = stmt.where(s.c.token_hash == token_hash)
    else:
        return None
    return cast("Row[Any] | None", conn.execute(stmt).first())


def touch_session(conn: Connection, session_id: str, now: datetime) -> None:
    s = USER_SESSION
    conn.execute(update(s).where(s.c.session_id == session_id).values(last_seen_at=now))


def claim_handoff(conn: Connection, handoff_hash: str, token_hash: str, now: datetime) -> str | None:
    """Give the session holding this unexpired hand-over code the token, and spend the code (one UPDATE, so
    a code works once even when two requests race). Returns the session id, or None."""
    s = USER_SESSION
    stmt = (
        update(s)
        .where(s.c.handoff_hash == handoff_hash, s.c.handoff_until > now, s.c.token_hash.is_(None))
        .values(token_hash=token_hash, handoff_hash=None, handoff_until=None, last_seen_at=now)
        .returning(s.c.session_id)
    )
    found = conn.execute(stmt).scalar_one_or_none()
    return str(found) if found is not None else None


def delete_session(conn: Connection, *, session_id: str | None = None, token_hash: str | None = None) -> None:
    s = USER_SESSION
    if session_id is not None:
        conn.execute(delete(s).where(s.c.session_id == session_id))
    if token_hash is not None:
        conn.execute(delete(s).where(s.c.token_hash == token_hash))


def delete_idle_sessions(conn: Connection, seen_before: datetime) -> None:
    s = USER_SESSION
    conn.execute(delete(s).where(s.c.last_seen_at < seen_before))


def account_for_session(conn: Connection, username: str) -> Row[Any] | None:
    a = USER_ACCOUNT
    stmt = select(a.c.username, a.c.role, a.c.agency, a.c.active, a.c.security_stamp).where(
        a.c.username == username
    )
    return cast("Row[Any] | None", conn.execute(stmt).first())
