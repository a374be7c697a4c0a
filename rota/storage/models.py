"""The database tables: responders, training, shifts, absences, coverage rules, roles and the audit log.

Instants are stored in UTC (SQLModel's UTCDateTime: naive values are refused, reads come back as UTC).
Every editable row carries a `version` that goes up by one on each update, for optimistic locking.
The migration in `migrations/versions/0001_initial.py` creates exactly these tables, plus triggers that
make `audit_log` append-only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, CheckConstraint, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(UTC)


class Responder(SQLModel, table=True):
    __tablename__ = "responder"

    responder_id: str = Field(primary_key=True)
    name: str
    role: str
    agency: str | None = None
    email: str | None = None
    active: bool = True
    version: int = 1
    updated_at: datetime = Field(default_factory=_now)


class Training(SQLModel, table=True):
    """One dated competency of a responder; (responder_id, competency, valid_from) is its natural key."""

    __tablename__ = "training"
    __table_args__ = (
        UniqueConstraint("responder_id", "competency", "valid_from", name="uq_training_key"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="ck_training_dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    responder_id: str = Field(foreign_key="responder.responder_id")
    competency: str
    valid_from: date
    valid_until: date | None = None
    version: int = 1


class Shift(SQLModel, table=True):
    """A responder on duty over [start, end); the index on (responder_id, start) also serves the FK."""

    __tablename__ = "shift"
    __table_args__ = (
        Index("ix_shift_responder_start", "responder_id", "start"),
        Index("ix_shift_start_end", "start", "end"),
        CheckConstraint('"end" > start', name="ck_shift_order"),
        CheckConstraint("kind IN ('oncall', 'onsite')", name="ck_shift_kind"),
    )

    shift_id: str = Field(primary_key=True)
    responder_id: str = Field(foreign_key="responder.responder_id")
    start: datetime
    end: datetime
    kind: str = "oncall"
    version: int = 1


class Absence(SQLModel, table=True):
    """Leave, sickness or training cancelling duty over [start, end); keyed by (responder_id, start, end)."""

    __tablename__ = "absence"
    __table_args__ = (
        UniqueConstraint("responder_id", "start", "end", name="uq_absence_key"),
        Index("ix_absence_start_end", "start", "end"),
        CheckConstraint('"end" > start', name="ck_absence_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    responder_id: str = Field(foreign_key="responder.responder_id")
    start: datetime
    end: datetime
    reason: str | None = None
    version: int = 1


class CoverageRule(SQLModel, table=True):
    """A configured coverage rule; `position` keeps the order they were given in."""

    __tablename__ = "coverage_rule"
    __table_args__ = (CheckConstraint("min_count >= 1", name="ck_coverage_rule_min_count"),)

    rule_id: str = Field(primary_key=True)
    role: str
    min_count: int = 1
    competencies: list[str] = Field(default_factory=list, sa_type=JSON)
    age_band: str
    windows: list[str] = Field(default_factory=list, sa_type=JSON)
    position: int
    version: int = 1


class RoleName(SQLModel, table=True):
    """A configured role beyond the defaults (paediatrician, sio, ambulance)."""

    __tablename__ = "role"

    name: str = Field(primary_key=True)


AUDIT_ACTIONS = ("create", "update", "delete", "import")


class AuditLog(SQLModel, table=True):
    """Append-only record of every change: who, when, what, and the row before and after (JSON text)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        CheckConstraint("action IN ('create', 'update', 'delete', 'import')", name="ck_audit_log_action"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=_now)
    actor: str
    action: str
    entity: str
    entity_id: str
    before: str | None = Field(default=None, sa_type=Text)
    after: str | None = Field(default=None, sa_type=Text)


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy core table behind a model, for fast bulk statements."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


RESPONDER = table_of(Responder)
TRAINING = table_of(Training)
SHIFT = table_of(Shift)
ABSENCE = table_of(Absence)
COVERAGE_RULE = table_of(CoverageRule)
ROLE = table_of(RoleName)
AUDIT_LOG = table_of(AuditLog)


class UserAccount(SQLModel, table=True):
    """A sign-in account (SPEC section 9). Usernames are lower-case; `password_hash` (argon2id) is empty
    for accounts that sign in only through OIDC. `failed_attempts` and `last_failed_at` drive the slow-down
    after repeated wrong passwords."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="ck_user_account_lower"),
        CheckConstraint(
            "role IN ('admin', 'cdop_manager', 'coordinator', 'commissioner')", name="ck_user_account_role"
        ),
        CheckConstraint("role <> 'coordinator' OR agency IS NOT NULL", name="ck_user_account_agency"),
        CheckConstraint("failed_attempts >= 0", name="ck_user_account_failures"),
    )

    username: str = Field(primary_key=True)
    display_name: str | None = None
    role: str
    agency: str | None = None
    password_hash: str | None = None
    active: bool = True
    failed_attempts: int = 0
    last_failed_at: datetime | None = None
    last_login_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
    version: int = 1


USER_ACCOUNT = table_of(UserAccount)
