"""Who may do what (docs/security.md, "Roles"), enforced in the services, not only by hiding pages.

Every service function that reads or changes data takes an `Actor` and calls one of the `require_*` checks
below before it touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from rota.errors import PermissionDenied
from rota.vocab import AccountRole, account_role_label, values_of

# The account roles (rota.vocab.AccountRole, docs/security.md "Roles"), as the plain strings stored.
ADMIN: str = AccountRole.ADMIN.value
CDOP_MANAGER: str = AccountRole.CDOP_MANAGER.value
COORDINATOR: str = AccountRole.COORDINATOR.value
COMMISSIONER: str = AccountRole.COMMISSIONER.value
ROLES: tuple[str, ...] = values_of(AccountRole)

# Page titles exactly as docs/dashboard.md names them, and who sees each.
COVERAGE = "Coverage"
ROTA_EDITOR = "Rota editor"
RESPONDERS = "Responders & training"
CAPACITY = "Capacity & forecast"
COMPLETION = "Completion"
ADMIN_PAGE = "Admin"
PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    ADMIN: (COVERAGE, ROTA_EDITOR, RESPONDERS, CAPACITY, COMPLETION, ADMIN_PAGE),
    CDOP_MANAGER: (COVERAGE, ROTA_EDITOR, RESPONDERS, CAPACITY, COMPLETION, ADMIN_PAGE),
    COORDINATOR: (COVERAGE, ROTA_EDITOR, RESPONDERS),
    COMMISSIONER: (COVERAGE, CAPACITY, COMPLETION),
}


@dataclass(frozen=True)
class Actor:
    """The signed-in person: username, access role and, for a coordinator or commissioner, their agency."""

    username: str
    role: str
    agency: str | None = None
    display_name: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown access role {self.role!r}")
        if self.role == COORDINATOR and not self.agency:
            raise ValueError("a coordinator belongs to one agency")

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @property
    def account_label(self) -> str:
        """The account role and agency for headers and lists, like 'Rota coordinator, Vale Police'."""
        return account_role_label(self.role) + (f", {self.agency}" if self.agency else "")


SYSTEM = Actor("system", ADMIN, display_name="Scheduled job")


def pages_for(actor: Actor) -> tuple[str, ...]:
    return PAGES_BY_ROLE[actor.role]


def can_read_people(actor: Actor) -> bool:
    """Names and contact details of responders: not for commissioners (aggregates only)."""
    return actor.role != COMMISSIONER


def can_read_case_level(actor: Actor) -> bool:
    return actor.role in (ADMIN, CDOP_MANAGER)


def can_edit_agency(actor: Actor, agency: str | None) -> bool:
    """Responders, training, shifts and absences: admin everywhere, a coordinator only in their agency."""
    if actor.role == ADMIN:
        return True
    return actor.role == COORDINATOR and agency is not None and agency == actor.agency


def require_read_people(actor: Actor) -> None:
    if not can_read_people(actor):
        raise PermissionDenied("commissioners see aggregate figures only, not named responders")


def require_case_level(actor: Actor) -> None:
    if not can_read_case_level(actor):
        raise PermissionDenied("case-level data is for the CDOP manager and administrators only")


def can_import_cases(actor: Actor) -> bool:
    """Loading CDOP case data (cases.csv): the CDOP manager and administrators."""
    return actor.role in (ADMIN, CDOP_MANAGER)


def require_import_cases(actor: Actor) -> None:
    if not can_import_cases(actor):
        raise PermissionDenied("only the CDOP manager and administrators import case data")


def require_edit_agency(actor: Actor, agency: str | None) -> None:
    if not can_edit_agency(actor, agency):
        if actor.role == COORDINATOR:
            raise PermissionDenied(
                f"{actor.label} coordinates {actor.agency} and cannot change {agency or 'unassigned'} records"
            )
        raise PermissionDenied(f"the {account_role_label(actor.role)} role cannot change the rota")


def require_edit_rules(actor: Actor) -> None:
    if actor.role not in (ADMIN, CDOP_MANAGER):
        raise PermissionDenied("only the CDOP manager and administrators change coverage rules")


def require_change_settings(actor: Actor) -> None:
    """The product settings (child population, targets, suppression threshold)."""
    if actor.role not in (ADMIN, CDOP_MANAGER):
        raise PermissionDenied("only the CDOP manager and administrators change the product settings")


def require_manage_users(actor: Actor) -> None:
    if actor.role != ADMIN:
        raise PermissionDenied("only administrators manage accounts")


def can_read_forecast(actor: Actor) -> bool:
    """Capacity and forecast figures (aggregates): everyone but coordinators, who read coverage only."""
    return actor.role in (ADMIN, CDOP_MANAGER, COMMISSIONER)


def require_read_forecast(actor: Actor) -> None:
    if not can_read_forecast(actor):
        raise PermissionDenied("capacity and forecast figures are for the CDOP manager and commissioners")


def require_read_audit(actor: Actor) -> None:
    if actor.role not in (ADMIN, CDOP_MANAGER):
        raise PermissionDenied("the audit log is for the CDOP manager and administrators")
