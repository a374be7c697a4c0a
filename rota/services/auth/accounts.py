"""Managing sign-in accounts (docs/security.md): adding them, resetting passwords, switching them on and
off, changing roles, lifting the slow-down, listing them.

Every change to an account is written to the audit log (entity `user_account`, never a password hash).
A change to what an account may do (switched on or off, role, agency, password) moves its security stamp
on, which ends its live dashboard sessions (rota/services/sessions.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from rota.errors import InputError, Problem
from rota.model import UTC_US
from rota.services.access import ADMIN, COORDINATOR, ROLES, Actor, require_manage_users
from rota.services.auth.lockout import locked_until
from rota.services.auth.passwords import check_password, hash_password
from rota.storage import Connection, Engine
from rota.storage.accounts import (
    AccountExists,
    AccountRow,
    account_row,
    account_rows,
    count_active_with_role,
    insert_account,
    update_account,
)
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.timeutil import utc_now
from rota.vocab import AuditAction, SignInMethod

ENTITY = "user_account"
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@+\-]{0,253}")
USERS_SCHEMA: dict[str, pl.DataType] = {
    "username": pl.String(),
    "display_name": pl.String(),
    "role": pl.String(),
    "agency": pl.String(),
    "active": pl.Boolean(),
    "sign_in": pl.String(),
    "last_login_at": UTC_US,
    "failed_attempts": pl.Int64(),
    "locked_until": UTC_US,
    "created_at": UTC_US,
}


# ---------------------------------------------------------------------------------------------- checks


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed and lower-case. Raises InputError if it cannot be one."""
    name = (username or "").strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise InputError(
            Problem(
                "username",
                None,
                None,
                f"{username!r} is not a usable username: use letters, digits and . _ @ + - "
                "(starting with a letter or digit, at most 254 characters)",
            )
        )
    return name


def check_role(role: str, agency: str | None) -> tuple[str, str | None]:
    """A known access role and its agency (trimmed; required for a coordinator). Raises InputError."""
    role = (role or "").strip()
    agency = agency.strip() if agency and agency.strip() else None
    if role not in ROLES:
        raise InputError(Problem("role", None, None, f"unknown role {role!r}; use one of {', '.join(ROLES)}"))
    if role == COORDINATOR and agency is None:
        raise InputError(
            Problem("agency", None, None, "a coordinator belongs to one agency: give the agency's name")
        )
    return role, agency


# ---------------------------------------------------------------------------------------------- rows


def public_fields(row: AccountRow | Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an account that the audit log and lists may show (never the hash)."""
    data = row if isinstance(row, Mapping) else row._mapping
    return {
        "username": data["username"],
        "display_name": data["display_name"],
        "role": data["role"],
        "agency": data["agency"],
        "active": data["active"],
        "sign_in": (SignInMethod.PASSWORD if data["password_hash"] else SignInMethod.OIDC).value,
    }


def granted_fields(
    display_name: str | None, role: str, agency: str | None, password_hash: str | None
) -> dict[str, Any]:
    """What an account holds when it is made, or put back by `ensure_user`: these fields, switched on and
    with no failed attempts."""
    return {
        "display_name": display_name,
        "role": role,
        "agency": agency,
        "password_hash": password_hash,
        "active": True,
        "failed_attempts": 0,
    }


def add_account_row(
    conn: Connection,
    who: str,
    name: str,
    granted: Mapping[str, Any],
    now: datetime,
    *,
    signed_in: bool = False,
) -> None:
    """Insert a new account with the `granted_fields`, and audit it as made by `who`. `signed_in`: it is
    made by signing in (OIDC), so `now` is its last sign-in too. AccountExists when the username is
    taken."""
    values = {
        "username": name,
        **granted,
        "last_login_at": now if signed_in else None,
        "created_at": now,
        "version": 1,
    }
    insert_account(conn, values)
    record_audit(conn, who, AuditAction.CREATE.value, ENTITY, name, None, public_fields(values))


def _who(actor: Actor | None, by: str | None) -> str:
    """The name written to the audit log: the signed-in actor, else `by` (command line, demo), else system."""
    if actor is not None:
        return actor.username
    return (by or "").strip() or "system"


def _allowed(actor: Actor | None) -> None:
    """None is the command line or the system itself (whoever can run it owns the database anyway)."""
    if actor is not None:
        require_manage_users(actor)


def _require_row(conn: Connection, username: str) -> AccountRow:
    row = account_row(conn, username)
    if row is None:
        raise InputError(Problem("username", None, None, f"there is no account named {username!r}"))
    return row


def _other_active_admins(conn: Connection, username: str) -> int:
    return count_active_with_role(conn, ADMIN, excluding=username)


# ---------------------------------------------------------------------------------------------- accounts


def create_user(
    engine: Engine,
    actor: Actor | None,
    username: str,
    role: str,
    password: str,
    agency: str | None = None,
    display_name: str | None = None,
    *,
    by: str | None = None,
) -> Actor:
    """Add a password account. `actor` None is the command line (audited as `by`); otherwise an admin.

    Raises PermissionDenied for a non-admin, InputError for a bad username, role, agency or password, or a
    username already taken.
    """
    _allowed(actor)
    name, role, agency, password_hash = _checked(username, role, agency, password)
    display = display_name.strip() if display_name and display_name.strip() else None
    granted = granted_fields(display, role, agency, password_hash)
    try:
        with write_transaction(engine) as conn:
            if account_row(conn, name) is not None:
                raise InputError(_taken(name))
            add_account_row(conn, _who(actor, by), name, granted, utc_now())
    except AccountExists as exc:  # created by someone else between the check and the insert
        raise InputError(_taken(name)) from exc
    return Actor(name, role, agency, display)


def _checked(username: str, role: str, agency: str | None, password: str) -> tuple[str, str, str | None, str]:
    """A new account's username, role and agency as stored, and its password's hash; InputError when one
    of them is not acceptable."""
    name = normalise_username(username)
    role, agency = check_role(role, agency)
    check_password(password, name)
    return name, role, agency, hash_password(password)


def _taken(name: str) -> Problem:
    return Problem(
        "username", None, None, f"an account named {name!r} already exists (`rota users passwd` resets it)"
    )


def ensure_user(
    engine: Engine,
    username: str,
    role: str,
    password: str,
    agency: str | None = None,
    display_name: str | None = None,
    *,
    by: str = "system",
) -> bool:
    """Create the account, or put an existing one back to exactly this role, agency, name and password,
    switched on and with no failed attempts (used by `rota demo`). Returns True when it was created."""
    name, role, agency, password_hash = _checked(username, role, agency, password)
    granted = granted_fields(display_name, role, agency, password_hash)
    with write_transaction(engine) as conn:
        old = account_row(conn, name)
        if old is None:
            add_account_row(conn, by, name, granted, utc_now())
            return True
        new = {**granted, "last_failed_at": None}
        update_account(conn, name, revoke=True, **new)
        before = {**public_fields(old), "password": "(previous)"}
        after = {**public_fields({**old._mapping, **new}), "password": "(reset)"}
        _audit_change(conn, by, name, before, after)
        return False


def set_password(
    engine: Engine, actor: Actor | None, username: str, password: str, *, by: str | None = None
) -> None:
    """Give an account a new password (admins, or the command line); this also lifts any slow-down."""
    _allowed(actor)
    name = normalise_username(username)
    check_password(password, name)
    password_hash = hash_password(password)
    with write_transaction(engine) as conn:
        old = _require_row(conn, name)
        update_account(
            conn, name, revoke=True, password_hash=password_hash, failed_attempts=0, last_failed_at=None
        )
        had = "(set)" if old.password_hash else "(none: OIDC only)"
        _audit_change(conn, _who(actor, by), name, {"password": had}, {"password": "(changed)"})


def set_active(
    engine: Engine, actor: Actor | None, username: str, active: bool, *, by: str | None = None
) -> None:
    """Switch an account on or off. Nobody switches off their own account or the last active admin."""
    _allowed(actor)
    name = normalise_username(username)
    with write_transaction(engine) as conn:
        old = _require_row(conn, name)
        if bool(old.active) == active:
            return
        if not active:
            if actor is not None and actor.username == name:
                raise InputError(Problem("username", None, None, "you cannot switch off your own account"))
            if old.role == ADMIN and not _other_active_admins(conn, name):
                raise InputError(Problem("username", None, None, f"{name} is the last active administrator"))
        update_account(conn, name, revoke=True, active=active)
        after = {**public_fields(old), "active": active}
        _audit_change(conn, _who(actor, by), name, public_fields(old), after)


def set_role(
    engine: Engine,
    actor: Actor | None,
    username: str,
    role: str,
    agency: str | None = None,
    *,
    by: str | None = None,
) -> None:
    """Change an account's role (and agency). The last active admin keeps the admin role."""
    _allowed(actor)
    name = normalise_username(username)
    role, agency = check_role(role, agency)
    with write_transaction(engine) as conn:
        old = _require_row(conn, name)
        if old.role == role and old.agency == agency:
            return
        if old.role == ADMIN and role != ADMIN and old.active and not _other_active_admins(conn, name):
            raise InputError(Problem("role", None, None, f"{name} is the last active administrator"))
        update_account(conn, name, revoke=True, role=role, agency=agency)
        after = {**public_fields(old), "role": role, "agency": agency}
        _audit_change(conn, _who(actor, by), name, public_fields(old), after)


def unlock(engine: Engine, actor: Actor | None, username: str, *, by: str | None = None) -> None:
    """Lift the slow-down after wrong passwords now."""
    _allowed(actor)
    name = normalise_username(username)
    with write_transaction(engine) as conn:
        old = _require_row(conn, name)
        if not old.failed_attempts:
            return
        update_account(conn, name, failed_attempts=0, last_failed_at=None)
        _audit_change(
            conn, _who(actor, by), name, {"failed_attempts": old.failed_attempts}, {"failed_attempts": 0}
        )


def list_users(engine: Engine, actor: Actor | None = None, *, now: datetime | None = None) -> pl.DataFrame:
    """Every account (never the hashes), by username; `locked_until` is set while sign-in is paused."""
    _allowed(actor)
    now = now or utc_now()
    records = []
    for r in account_rows(engine):
        until = locked_until(r.failed_attempts, r.last_failed_at)
        records.append(
            {
                **public_fields(r),
                "last_login_at": r.last_login_at,
                "failed_attempts": r.failed_attempts,
                "locked_until": until if until is not None and until > now else None,
                "created_at": r.created_at,
            }
        )
    return pl.DataFrame(records, schema=USERS_SCHEMA, orient="row")


def _audit_change(
    conn: Connection, who: str, name: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """An account change in the audit log, in the changing transaction (only what changed, never a hash)."""
    record_audit(conn, who, AuditAction.UPDATE.value, ENTITY, name, before, after)
