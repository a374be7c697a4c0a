"""Passwords (docs/security.md): the policy a new password must meet, and its argon2id hash.

Only this module touches the hasher, so that tests (and a slower or faster deployment) swap `HASHER` in
one place.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rota.errors import InputError, Problem

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 copes with more, but a megabyte "password" is an attack, not a secret

# The default is argon2-cffi's RFC 9106 "low memory" profile: argon2id, 64 MiB, 3 passes, 4 lanes.
# Hashes made with other parameters are upgraded at the next successful sign-in.
HASHER = PasswordHasher()


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


_DUMMY_HASHES: dict[tuple[int, int, int, str], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the current parameters to verify against when the username is unknown, so that an
    unknown username takes as long to refuse as a wrong password."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.type.name)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("not the password of anyone at all")
    return _DUMMY_HASHES[key]


def hash_password(password: str) -> str:
    """The argon2id hash stored for `password` (with the current parameters)."""
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash`. None (an account without a password, or no account at
    all) spends the same time on a dummy hash, then says no."""
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


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with other parameters than the current ones (it is then made again)."""
    return HASHER.check_needs_rehash(stored_hash)
