"""Single sign-on through OIDC (for example Microsoft Entra ID; docs/security.md): the identity token's
groups or app roles give the access role, through a map an administrator configures.

An account signed in this way has no password; its row is created or brought up to date (audited as
`oidc`) at each sign-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rota.errors import InputError
from rota.services.access import COORDINATOR, ROLES, Actor
from rota.services.auth.accounts import (
    ENTITY,
    add_account_row,
    granted_fields,
    normalise_username,
    public_fields,
)
from rota.services.auth.signin import DISABLED, AuthError
from rota.storage import Engine
from rota.storage.accounts import AccountExists, account_row, record_sign_in, update_account
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.timeutil import utc_now
from rota.vocab import AuditAction

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
                granted = granted_fields(display, grant.role, grant.agency, None)
                add_account_row(conn, "oidc", name, granted, now, signed_in=True)
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
                    after = public_fields({**old._mapping, **changed})
                    record_audit(
                        conn, "oidc", AuditAction.UPDATE.value, ENTITY, name, public_fields(old), after
                    )
                else:
                    record_sign_in(conn, name, last_login_at=now)
    except AccountExists as exc:  # the same person signing in twice at once: the other one won
        raise AuthError("Sign-in clashed with another one for the same account; please try again.") from exc
    return Actor(name, grant.role, grant.agency, display)
