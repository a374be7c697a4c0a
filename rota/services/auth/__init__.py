"""Sign-in accounts (docs/security.md): argon2id password hashes, a slow-down after repeated wrong
passwords, and OIDC sign-in (for example Microsoft Entra ID) mapped to access roles through
identity-provider groups.

No Streamlit here: the dashboard's sign-in form and the `rota users` command both call these functions.
The package re-exports what callers use; the parts are `passwords` (policy and hashing), `lockout` (the
slow-down), `accounts` (managing accounts, audited), `signin` (username and password) and `oidc`.
"""

from __future__ import annotations

from rota.services.access import Actor
from rota.services.auth.accounts import (
    ENTITY,
    USERNAME_PATTERN,
    USERS_SCHEMA,
    check_role,
    create_user,
    ensure_user,
    list_users,
    normalise_username,
    role_label,
    set_active,
    set_password,
    set_role,
    unlock,
)
from rota.services.auth.lockout import FIRST_LOCKOUT, MAX_FAILURES, MAX_LOCKOUT, locked_until, lockout_window
from rota.services.auth.oidc import (
    GROUP_CLAIMS,
    USERNAME_CLAIMS,
    Grant,
    grant_for,
    oidc_actor,
    parse_group_map,
)
from rota.services.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password,
    hash_password,
    verify_password,
)
from rota.services.auth.signin import DISABLED, WRONG_CREDENTIALS, AuthError, authenticate, check_sign_in

__all__ = [
    "DISABLED",
    "ENTITY",
    "FIRST_LOCKOUT",
    "GROUP_CLAIMS",
    "MAX_FAILURES",
    "MAX_LOCKOUT",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "USERNAME_CLAIMS",
    "USERNAME_PATTERN",
    "USERS_SCHEMA",
    "WRONG_CREDENTIALS",
    "Actor",
    "AuthError",
    "Grant",
    "authenticate",
    "check_password",
    "check_role",
    "check_sign_in",
    "create_user",
    "ensure_user",
    "grant_for",
    "hash_password",
    "list_users",
    "locked_until",
    "lockout_window",
    "normalise_username",
    "oidc_actor",
    "parse_group_map",
    "role_label",
    "set_active",
    "set_password",
    "set_role",
    "unlock",
    "verify_password",
]
