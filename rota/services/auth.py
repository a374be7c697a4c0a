"""Sign-in accounts (SPEC section 9): argon2id password hashes, a slow-down after repeated wrong passwords,
and OIDC sign-in (for example Microsoft Entra ID) mapped to access roles through identity-provider groups.

No Streamlit here: the dashboard's sign-in form and the `rota users` command both call these functions.
Every change to an account is written to the audit log (entity `user_account`, never a password hash);
sign-in bookkeeping (failed-attempt counter, last sign-in time) is not. A change to what an account may do
(switched on or off, role, agency, password) moves its security stamp on, which ends its live dashboard
sessions (rota/services/sessions.py).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rota.errors import InputError, Problem
from rota.model import UTC_US
from rota.services.access import ADMIN, COORDINATOR, ROLES, Actor, require_manage_users
from rota.storage import Connection, Engine
from rota.storage.accounts import (
    AccountExists,
    AccountRow,
    account_row,
    account_rows,
    claim_sign_in_attempt,
    count_active_with_role,
    insert_account,
    record_sign_in,
    update_account,
)
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.timeutil import utc_now

ENTITY = "user_account"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 copes with more, but a megabyte "password" is an attack, not a secret
MAX_FAILURES = 5  # consecutive wrong passwords before the slow-down starts
FIRST_LOCKOUT = timedelta(seconds=30)  # then doubling with every further failure ...
MAX_LOCKOUT = timedelta(minutes=15)  # ... up to this
WRONG_CREDENTIALS = "Wrong username or password."
DISABLED = "This account is switched off. Ask an administrator to switch it back on."
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

# The default is argon2-cffi's RFC 9106 "low memory" profile: argon2id, 64 MiB, 3 passes, 4 lanes.
# Hashes made with other parameters are upgraded at the next successful sign-in.
HASHER = PasswordHasher()


class AuthError(Exception):
    """Sign-in refused; the message is meant for the person signing in."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


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


def check_password(password: str, username: str | None = None) -> None:
    """The password policy: at least 12 characters, not the username. Raises InputError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            Problem(
                "password",
                None,
                None,
                f"a password needs at least {MIN_PASSWORD_LENGTH} characters (this one has {len(password)}); "
                "a few unrelated words make a good one",
            )
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(
            Problem("password", None, None, f"a password has at most {MAX_PASSWORD_LENGTH} characters")
        )
    if username is not None and password.strip().lower() == username.lower():
        raise InputError(Problem("password", None, None, "the password must not be the username"))


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


def lockout_window(failures: int) -> timedelta:
    """How long sign-in stays refused after `failures` consecutive wrong passwords (0 below the limit)."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    doublings = min(failures - MAX_FAILURES, 20)  # 30 s * 2**20 is far past the cap already
    window: timedelta = FIRST_LOCKOUT * 2**doublings
    return min(window, MAX_LOCKOUT)


def locked_until(failures: int, last_failed_at: datetime | None) -> datetime | None:
    """When sign-in opens again for an account with this failure record (None: it is open)."""
    window = lockout_window(failures)
    if not window or last_failed_at is None:
        return None
    return last_failed_at + window


def _wait_text(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _slow_down_message(until: datetime, now: datetime) -> str:
    return (
        "Too many wrong passwords for this username: sign-in is paused. "
        f"Try again in {_wait_text(until - now)}."
    )


# ---------------------------------------------------------------------------------------------- hashing


_DUMMY_HASHES: dict[tuple[int, int, int, str], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the current parameters to verify against when the username is unknown, so that an
    unknown username takes as long to refuse as a wrong password."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.type.name)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("not the password of anyone at all")
    return _DUMMY_HASHES[key]


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _verify(stored_hash: str | None, password: str) -> bool:
    hasher = HASHER
    if stored_hash is None:  # an OIDC-only account: spend the same time, then refuse
        stored_hash, expected = _dummy_hash(hasher), False
    else:
        expected = True
    try:
        hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return expected


class _UnknownNameFailures:
    """Failure counts for usernames that have no account, kept in memory (bounded), so that the slow-down
    does not tell an attacker which usernames exist."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> tuple[int, datetime | None]:
        with self._lock:
            count, last = self._seen.get(name, (0, None))
            return count, last

    def claim(self, name: str, now: datetime) -> int | None:
        """Count one more failure unless sign-in for `name` is paused (then None), as one step, like the
        database's claim for real accounts."""
        with self._lock:
            count, last = self._seen.get(name, (0, None))
            until = locked_until(count, last)
            if until is not None and now < until:
                return None
            self._seen.pop(name, None)
            self._seen[name] = (count + 1, now)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return count + 1

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


_UNKNOWN = _UnknownNameFailures()


# ---------------------------------------------------------------------------------------------- rows


def _public(row: AccountRow | Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an account that the audit log and lists may show (never the hash)."""
    data = row if isinstance(row, Mapping) else row._mapping
    return {
        "username": data["username"],
        "display_name": data["display_name"],
        "role": data["role"],
        "agency": data["agency"],
        "active": data["active"],
        "sign_in": "password" if data["password_hash"] else "oidc",
    }


def _actor_of(row: AccountRow) -> Actor:
    return Actor(row.username, row.role, row.agency, row.display_name)


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
    name = normalise_username(username)
    role, agency = check_role(role, agency)
    check_password(password, name)
    display = display_name.strip() if display_name and display_name.strip() else None
    password_hash = hash_password(password)
    now = utc_now()
    values = {
        "username": name,
        "display_name": display,
        "role": role,
        "agency": agency,
        "password_hash": password_hash,
        "active": True,
        "failed_attempts": 0,
        "created_at": now,
        "version": 1,
    }
    try:
        with write_transaction(engine) as conn:
            if account_row(conn, name) is not None:
                raise InputError(_taken(name))
            insert_account(conn, values)
            record_audit(conn, _who(actor, by), "create", ENTITY, name, None, _public(values))
    except AccountExists as exc:  # created by someone else between the check and the insert
        raise InputError(_taken(name)) from exc
    return Actor(name, role, agency, display)


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
    name = normalise_username(username)
    role, agency = check_role(role, agency)
    check_password(password, name)
    password_hash = hash_password(password)
    with write_transaction(engine) as conn:
        old = account_row(conn, name)
        if old is None:
            values = {
                "username": name,
                "display_name": display_name,
                "role": role,
                "agency": agency,
                "password_hash": password_hash,
                "active": True,
                "failed_attempts": 0,
                "created_at": utc_now(),
                "version": 1,
            }
            insert_account(conn, values)
            record_audit(conn, by, "create", ENTITY, name, None, _public(values))
            return True
        new = {
            "display_name": display_name,
            "role": role,
            "agency": agency,
            "password_hash": password_hash,
            "active": True,
            "failed_attempts": 0,
            "last_failed_at": None,
        }
        update_account(conn, name, revoke=True, **new)
        before = {**_public(old), "password": "(previous)"}
        after = {**_public({**old._mapping, **new}), "password": "(reset)"}
        record_audit(conn, by, "update", ENTITY, name, before, after)
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
        record_audit(
            conn, _who(actor, by), "update", ENTITY, name, {"password": had}, {"password": "(changed)"}
        )


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
        after = {**_public(old), "active": active}
        record_audit(conn, _who(actor, by), "update", ENTITY, name, _public(old), after)


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
        after = {**_public(old), "role": role, "agency": agency}
        record_audit(conn, _who(actor, by), "update", ENTITY, name, _public(old), after)


def unlock(engine: Engine, actor: Actor | None, username: str, *, by: str | None = None) -> None:
    """Lift the slow-down after wrong passwords now."""
    _allowed(actor)
    name = normalise_username(username)
    with write_transaction(engine) as conn:
        old = _require_row(conn, name)
        if not old.failed_attempts:
            return
        update_account(conn, name, failed_attempts=0, last_failed_at=None)
        record_audit(
            conn,
            _who(actor, by),
            "update",
            ENTITY,
            name,
            {"failed_attempts": old.failed_attempts},
            {"failed_attempts": 0},
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
                **_public(r),
                "last_login_at": r.last_login_at,
                "failed_attempts": r.failed_attempts,
                "locked_until": until if until is not None and until > now else None,
                "created_at": r.created_at,
            }
        )
    return pl.DataFrame(records, schema=USERS_SCHEMA, orient="row")


# ---------------------------------------------------------------------------------------------- sign-in


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
        raise AuthError(_slow_down_message(until, now))
    right = _verify(claimed.password_hash, password)
    if not (right and claimed.active):  # a switched-off account answers exactly as a wrong password
        raise AuthError(_failure_message(claimed.failed_attempts, now))
    values: dict[str, Any] = {"failed_attempts": 0, "last_failed_at": None, "last_login_at": now}
    assert claimed.password_hash is not None  # _verify is False without one
    if HASHER.check_needs_rehash(claimed.password_hash):
        values["password_hash"] = hash_password(password)
    with write_transaction(engine) as conn:
        record_sign_in(conn, claimed.username, **values)
    return _actor_of(claimed), int(claimed.security_stamp)


def _claim_attempt(conn: Connection, name: str, now: datetime) -> AccountRow | None:
    """Count one more failure for `name` unless sign-in is paused now (the pause is worked out from the
    stored count in the database, so concurrent attempts cannot all pass the check)."""
    opens: list[tuple[int, datetime]] = []
    failures = MAX_FAILURES
    while lockout_window(failures) < MAX_LOCKOUT:
        opens.append((failures, now - lockout_window(failures)))
        failures += 1
    return claim_sign_in_attempt(
        conn, name, now, free_failures=MAX_FAILURES, open_from=opens, otherwise_open_from=now - MAX_LOCKOUT
    )


def _failure_message(failures: int, now: datetime) -> str:
    until = locked_until(failures, now)
    if until is None:
        return WRONG_CREDENTIALS
    return f"{WRONG_CREDENTIALS} {_slow_down_message(until, now)}"


def _refuse_unknown(name: str, password: str, now: datetime) -> NoReturn:
    failures = _UNKNOWN.claim(name, now)
    if failures is None:
        count, last = _UNKNOWN.get(name)
        raise AuthError(_slow_down_message(locked_until(count, last) or now, now))
    _verify(None, password)
    raise AuthError(_failure_message(failures, now))


# ---------------------------------------------------------------------------------------------- OIDC

USERNAME_CLAIMS = ("preferred_username", "email", "upn", "sub")
GROUP_CLAIMS = ("groups", "roles")
_ROLE_RANK = {role: i for i, role in enumerate(ROLES)}  # ROLES lists the most powerful first


@dataclass(frozen=True)
class Grant:
    """What membership of one identity-provider group gives: an access role and, for a coordinator, the
    agency."""

    role: str
    agency: str | None = None


def parse_group_map(raw: Mapping[str, Any]) -> dict[str, Grant]:
    """`{"<group id or app role>": "cdop_manager", "<id>": "coordinator:Vale Police", ...}` -> grants.

    Raises AuthError naming the bad entry (a misconfigured map must not let anyone in by accident).
    """
    grants: dict[str, Grant] = {}
    for group, value in raw.items():
        text = str(value).strip()
        role, _, agency = text.partition(":")
        role, agency = role.strip(), agency.strip()
        if role not in ROLES or (role == COORDINATOR) != bool(agency):
            raise AuthError(
                f"Single sign-on is misconfigured: group {group!r} maps to {text!r}; use one of "
                f"{', '.join(r for r in ROLES if r != COORDINATOR)} or 'coordinator:<agency>'. "
                "Ask an administrator to fix [rota_oidc] group_roles."
            )
        grants[str(group)] = Grant(role, agency or None)
    return grants


def _claim_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (Mapping, bytes)):
        return [str(v) for v in value]
    return []


def _oidc_username(claims: Mapping[str, Any], username_claim: str | None) -> str:
    names = (username_claim,) if username_claim else USERNAME_CLAIMS
    for claim in names:
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            try:
                return normalise_username(value)
            except InputError:
                continue
    raise AuthError(
        "The identity provider did not say who you are (no usable "
        f"{' or '.join(names)} claim). Ask an administrator to check the single sign-on settings."
    )


def grant_for(claims: Mapping[str, Any], group_map: Mapping[str, Any]) -> Grant:
    """The most powerful grant among the token's groups (or app roles). AuthError when none maps, or when
    the top grant is ambiguous (coordinator of two agencies)."""
    grants = parse_group_map(group_map)
    held = {g for claim in GROUP_CLAIMS for g in _claim_list(claims.get(claim))}
    mapped = {grants[g] for g in held if g in grants}
    if not mapped:
        overage = "hasgroups" in claims or "groups" in (claims.get("_claim_names") or {})
        hint = (
            " Your account is in too many groups for the sign-in token to list them: ask an administrator "
            "to have the identity provider send only the groups assigned to this application."
            if overage
            else " Ask an administrator to add you to one of the groups that give access."
        )
        raise AuthError("Your account is not in any group that has access to the CDOP rota." + hint)
    best = min(_ROLE_RANK[g.role] for g in mapped)
    top = sorted((g for g in mapped if _ROLE_RANK[g.role] == best), key=lambda g: g.agency or "")
    if len(top) > 1:
        agencies = ", ".join(g.agency or "" for g in top)
        raise AuthError(
            f"Your groups make you a coordinator of more than one agency ({agencies}); a coordinator "
            "belongs to one. Ask an administrator to fix your group membership."
        )
    return top[0]


def oidc_actor(
    engine: Engine,
    claims: Mapping[str, Any],
    group_map: Mapping[str, Any],
    *,
    username_claim: str | None = None,
    now: datetime | None = None,
) -> Actor:
    """The actor for an identity token's claims (as `st.user` holds them after `st.login`).

    The role comes from the `groups` claim (group object ids, as Entra ID sends them) or the `roles` claim
    (app roles) through `group_map`; the username from `username_claim`, else the first of
    preferred_username, email, upn, sub. An account row without a password is created or brought up to
    date (audited). Refused: no mapped group, an account switched off by an administrator, and a username
    that belongs to a password account (so that a directory entry cannot take over a local account).
    """
    now = now or utc_now()
    name = _oidc_username(claims, username_claim)
    grant = grant_for(claims, group_map)
    raw_name = claims.get("name")
    display = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else None
    wanted = {"display_name": display, "role": grant.role, "agency": grant.agency}
    try:
        with write_transaction(engine) as conn:
            old = account_row(conn, name)
            if old is None:
                values = {
                    "username": name,
                    **wanted,
                    "password_hash": None,
                    "active": True,
                    "failed_attempts": 0,
                    "last_login_at": now,
                    "created_at": now,
                    "version": 1,
                }
                insert_account(conn, values)
                record_audit(conn, "oidc", "create", ENTITY, name, None, _public(values))
            else:
                if old.password_hash is not None:
                    raise AuthError(
                        f"{name} is an account with a password here: sign in with your username and "
                        "password, or ask an administrator."
                    )
                if not old.active:
                    raise AuthError(DISABLED)
                changed = {k: v for k, v in wanted.items() if old._mapping[k] != v}
                if changed:
                    revoke = "role" in changed or "agency" in changed
                    update_account(conn, name, revoke=revoke, last_login_at=now, **changed)
                    after = _public({**old._mapping, **changed})
                    record_audit(conn, "oidc", "update", ENTITY, name, _public(old), after)
                else:
                    record_sign_in(conn, name, last_login_at=now)
    except AccountExists as exc:  # the same person signing in twice at once: the other one won
        raise AuthError("Sign-in clashed with another one for the same account; please try again.") from exc
    return Actor(name, grant.role, grant.agency, display)
