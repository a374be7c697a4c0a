"""Signing in with a username and password (docs/security.md).

Sign-in bookkeeping (the failed-attempt counter, the last sign-in time, an upgraded hash) is not a change
of the account, so it is not audited and does not move the security stamp on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from rota.errors import InputError
from rota.services.access import Actor
from rota.services.auth.accounts import normalise_username
from rota.services.auth.lockout import (
    MAX_FAILURES,
    MAX_LOCKOUT,
    UnknownNameFailures,
    locked_until,
    reopen_instants,
    slow_down_message,
)
from rota.services.auth.passwords import hash_password, needs_rehash, verify_password
from rota.storage import Connection, Engine
from rota.storage.accounts import AccountRow, account_row, claim_sign_in_attempt, record_sign_in
from rota.storage.db import write_transaction
from rota.timeutil import utc_now

WRONG_CREDENTIALS = "Wrong username or password."
DISABLED = "This account is switched off. Ask an administrator to switch it back on."


class AuthError(Exception):
    """Sign-in refused; the message is meant for the person signing in."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


_UNKNOWN = UnknownNameFailures()


def authenticate(engine: Engine, username: str, password: str, *, now: datetime | None = None) -> Actor:
    """The actor for a username and password, or AuthError with a message for the person (see
    `check_sign_in`)."""
    return check_sign_in(engine, username, password, now=now)[0]


def check_sign_in(
    engine: Engine, username: str, password: str, *, now: datetime | None = None
) -> tuple[Actor, int]:
    """The actor for a username and password and the account's security stamp at that moment, or AuthError
    with a message for the person.

    Unknown usernames, wrong passwords and switched-off accounts get the same message and take the same
    time (a hash is always checked). Each attempt is claimed in the database before its password is
    checked, by one conditional UPDATE that counts it as a failure unless sign-in is paused: so however
    many attempts arrive at once, at most MAX_FAILURES passwords are checked before the pause (30 s,
    doubling with each further failure, at most 15 min), and none while it lasts. A success clears the
    count; a hash with outdated parameters is upgraded.
    """
    now = now or utc_now()
    if not (username or "").strip() or not password:
        raise AuthError("Enter your username and password.")
    try:
        name = normalise_username(username)
    except InputError:
        name = None
    claimed = None
    if name is not None:
        with write_transaction(engine) as conn:
            claimed = _claim_attempt(conn, name, now)
    if claimed is None:
        row = None
        if name is not None:
            with engine.connect() as conn:
                row = account_row(conn, name)
        if row is None:
            _refuse_unknown(name or username.strip().lower(), password, now)
        until = locked_until(row.failed_attempts, row.last_failed_at) or now
        raise AuthError(slow_down_message(until, now))
    right = verify_password(claimed.password_hash, password)
    if not (right and claimed.active):  # a switched-off account answers exactly as a wrong password
        raise AuthError(_failure_message(claimed.failed_attempts, now))
    values: dict[str, Any] = {"failed_attempts": 0, "last_failed_at": None, "last_login_at": now}
    assert claimed.password_hash is not None  # verify_password is False without one
    if needs_rehash(claimed.password_hash):
        values["password_hash"] = hash_password(password)
    with write_transaction(engine) as conn:
        record_sign_in(conn, claimed.username, **values)
    return _actor_of(claimed), int(claimed.security_stamp)


def _actor_of(row: AccountRow) -> Actor:
    return Actor(row.username, row.role, row.agency, row.display_name)


def _claim_attempt(conn: Connection, name: str, now: datetime) -> AccountRow | None:
    """Count one more failure for `name` unless sign-in is paused now (the pause is worked out from the
    stored count in the database, so concurrent attempts cannot all pass the check)."""
    return claim_sign_in_attempt(
        conn,
        name,
        now,
        free_failures=MAX_FAILURES,
        open_from=reopen_instants(now),
        otherwise_open_from=now - MAX_LOCKOUT,
    )


def _failure_message(failures: int, now: datetime) -> str:
    until = locked_until(failures, now)
    if until is None:
        return WRONG_CREDENTIALS
    return f"{WRONG_CREDENTIALS} {slow_down_message(until, now)}"


def _refuse_unknown(name: str, password: str, now: datetime) -> NoReturn:
    failures = _UNKNOWN.claim(name, now)
    if failures is None:
        count, last = _UNKNOWN.get(name)
        raise AuthError(slow_down_message(locked_until(count, last) or now, now))
    verify_password(None, password)
    raise AuthError(_failure_message(failures, now))
