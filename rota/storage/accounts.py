"""Sign-in accounts as stored (`user_account`): the queries behind rota.services.auth (docs/security.md).

The rules (who may change what, the slow-down after wrong passwords, auditing) live in the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, literal, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from rota.storage.models import USER_ACCOUNT

AccountRow = Row[Any]


class AccountExists(Exception):
    """The username was taken by someone else between the check and the insert."""


def account_row(conn: Connection, username: str) -> AccountRow | None:
    """The stored account row (every column), or None."""
    t = USER_ACCOUNT
    return conn.execute(select(t).where(t.c.username == username)).first()


def account_rows(engine: Engine) -> list[AccountRow]:
    """Every stored account row, by username."""
    t = USER_ACCOUNT
    with engine.connect() as conn:
        return list(conn.execute(select(t).order_by(t.c.username)).all())


def insert_account(conn: Connection, values: Mapping[str, Any]) -> None:
    """Insert one account row; AccountExists when the username is taken."""
    try:
        conn.execute(insert(USER_ACCOUNT).values(**values))
    except IntegrityError as exc:
        raise AccountExists(str(values.get("username"))) from exc


def count_active_with_role(conn: Connection, role: str, *, excluding: str) -> int:
    """How many switched-on accounts other than `excluding` have `role`."""
    t = USER_ACCOUNT
    stmt = (
        select(func.count())
        .select_from(t)
        .where(t.c.role == role, t.c.active.is_(True), t.c.username != excluding)
    )
    return int(conn.execute(stmt).scalar_one())


def update_account(conn: Connection, username: str, *, revoke: bool = False, **values: Any) -> None:
    """Change an account row (version + 1). `revoke`: the security stamp moves on too, which ends the
    account's live sessions at their next interaction."""
    t = USER_ACCOUNT
    if revoke:
        values["security_stamp"] = t.c.security_stamp + 1
    conn.execute(update(t).where(t.c.username == username).values(version=t.c.version + 1, **values))


def record_sign_in(conn: Connection, username: str, **values: Any) -> None:
    """Sign-in bookkeeping (counters, last sign-in, an upgraded hash): not a change of the account, so the
    version stays."""
    t = USER_ACCOUNT
    conn.execute(update(t).where(t.c.username == username).values(**values))


def claim_sign_in_attempt(
    conn: Connection,
    username: str,
    now: datetime,
    *,
    free_failures: int,
    open_from: Sequence[tuple[int, datetime]],
    otherwise_open_from: datetime,
) -> AccountRow | None:
    """One conditional UPDATE ... RETURNING that counts one more failure for `username` unless sign-in is
    paused now, so concurrent attempts cannot all pass the check. Sign-in is open with fewer than
    `free_failures` failures, or when the last failure is not after the instant `open_from` gives for the
    stored count (`otherwise_open_from` for counts not listed). None: no such account, or paused."""
    t = USER_ACCOUNT
    stamp_type = t.c.last_failed_at.type
    opens = [(t.c.failed_attempts == n, literal(at, stamp_type)) for n, at in open_from]
    opens_at = case(*opens, else_=literal(otherwise_open_from, stamp_type))
    stmt = (
        update(t)
        .where(
            t.c.username == username,
            or_(
                t.c.failed_attempts < free_failures,
                t.c.last_failed_at.is_(None),
                t.c.last_failed_at <= opens_at,
            ),
        )
        .values(failed_attempts=t.c.failed_attempts + 1, last_failed_at=now)
        .returning(
            t.c.username,
            t.c.role,
            t.c.agency,
            t.c.display_name,
            t.c.password_hash,
            t.c.active,
            t.c.failed_attempts,
            t.c.security_stamp,
        )
    )
    return conn.execute(stmt).first()
