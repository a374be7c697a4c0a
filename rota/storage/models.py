"""The database tables: responders, training, shifts, absences, coverage rules, roles, the audit log,
sign-in accounts, CDOP cases and product settings.

Instants are stored in UTC (SQLModel's UTCDateTime: naive values are refused, reads come back as UTC).
Every editable row carries a `version` that goes up by one on each update, for optimistic locking.
The migrations in `migrations/versions/` create exactly these tables (0001: the rota and the audit log, with
triggers that make `audit_log` append-only; 0002: accounts; 0003: cases and settings; 0004: alerts and job
runs; 0005: sign-in sessions and the accounts' security stamp; 0008: the board's actions and the stored
assurance packs).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Index, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rota.model import ABSENCES as ABSENCES_RECORD
from rota.model import TRAINING as TRAINING_RECORD
from rota.vocab import (
    DEFAULT_SHIFT_KIND,
    AccountRole,
    ActionStatus,
    AlertKind,
    AuditAction,
    JobStatus,
    PackAudience,
    ShiftKind,
    SignInMethod,
    values_of,
)


def _now() -> datetime:
    return datetime.now(UTC)


def one_of(column: str, words: type[StrEnum], name: str) -> CheckConstraint:
    """A check constraint holding `column` to the stored strings of a vocabulary (rota.vocab), written
    exactly as the migrations wrote it: "kind IN ('oncall', 'onsite')"."""
    listed = ", ".join(f"'{value}'" for value in values_of(words))
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class Responder(SQLModel, table=True):
    __tablename__ = "responder"

    responder_id: str = Field(primary_key=True)
    name: str
    role: str
    agency: str | None = None
    email: str | None = None
    phone: str | None = None
    active: bool = True
    version: int = 1
    updated_at: datetime = Field(default_factory=_now)


class Training(SQLModel, table=True):
    """One dated competency of a responder; (responder_id, competency, valid_from) is its natural key."""

    __tablename__ = "training"
    __table_args__ = (
        UniqueConstraint(*TRAINING_RECORD.key, name="uq_training_key"),
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
        one_of("kind", ShiftKind, "ck_shift_kind"),
    )

    shift_id: str = Field(primary_key=True)
    responder_id: str = Field(foreign_key="responder.responder_id")
    start: datetime
    end: datetime
    kind: str = DEFAULT_SHIFT_KIND.value
    version: int = 1


class Absence(SQLModel, table=True):
    """Leave, sickness or training cancelling duty over [start, end); keyed by (responder_id, start, end)."""

    __tablename__ = "absence"
    __table_args__ = (
        UniqueConstraint(*ABSENCES_RECORD.key, name="uq_absence_key"),
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


AUDIT_ACTIONS: tuple[str, ...] = values_of(AuditAction)


class AuditLog(SQLModel, table=True):
    """Append-only record of every change: who, when, what, and the row before and after (JSON text)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
        one_of("action", AuditAction, "ck_audit_log_action"),
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
    """A sign-in account (docs/security.md, "Roles"). Usernames are lower-case; `password_hash` (argon2id)
    is empty for accounts that sign in only through OIDC. `failed_attempts` and `last_failed_at` drive the
    slow-down after repeated wrong passwords. `security_stamp` goes up whenever the account is switched on
    or off or its role, agency or password changes; a sign-in session made under another stamp is over."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="ck_user_account_lower"),
        one_of("role", AccountRole, "ck_user_account_role"),
        CheckConstraint(
            f"role <> '{AccountRole.COORDINATOR.value}' OR agency IS NOT NULL", name="ck_user_account_agency"
        ),
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
    security_stamp: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})


USER_ACCOUNT = table_of(UserAccount)


class UserSession(SQLModel, table=True):
    """One signed-in dashboard session. `session_id` is the row's name inside the server (never sent to the
    browser); the browser holds a random token in an HttpOnly cookie, of which only the SHA-256 is stored
    (`token_hash`), set once a single-use hand-over code (`handoff_hash`, valid until `handoff_until`) is
    exchanged for it. `stamp` is the account's security stamp when the session began."""

    __tablename__ = "user_session"
    __table_args__ = (
        Index("ix_user_session_username", "username"),
        Index("ix_user_session_last_seen_at", "last_seen_at"),
        one_of("method", SignInMethod, "ck_user_session_method"),
    )

    session_id: str = Field(primary_key=True)
    username: str = Field(foreign_key="user_account.username", ondelete="CASCADE")
    stamp: int
    method: str
    token_hash: str | None = Field(default=None, unique=True)
    handoff_hash: str | None = Field(default=None, unique=True)
    handoff_until: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
    last_seen_at: datetime = Field(default_factory=_now)


USER_SESSION = table_of(UserSession)


class CaseRecord(SQLModel, table=True):
    """One pseudonymised CDOP case (docs/cases.md): the columns of the case record `rota.model.CASES`,
    plus `version` and `updated_at`. A blank step time means the step was not done. Nothing identifies
    a child: no name, NHS number, date of birth or address is ever stored."""

    __tablename__ = "case_record"
    __table_args__ = (
        Index("ix_case_record_notified_at", "notified_at"),
        CheckConstraint("age_years BETWEEN 0 AND 17", name="ck_case_record_age_years"),
        CheckConstraint(
            "age_days IS NULL OR (age_years = 0 AND age_days BETWEEN 0 AND 364)",
            name="ck_case_record_age_days",
        ),
    )

    case_id: str = Field(primary_key=True)
    notified_at: datetime
    age_years: int
    age_days: int | None = None
    jar_criteria_met: bool
    jar_triggered: bool
    paediatrician_at: datetime | None = None
    police_at: datetime | None = None
    home_visit_at: datetime | None = None
    planning_meeting_at: datetime | None = None
    ncmd_notified_at: datetime | None = None
    category: str | None = None
    reason_incomplete: str | None = Field(default=None, sa_type=Text)
    reason_category: str | None = None  # a code of rota.analytics.reasons, derived at import
    version: int = 1
    updated_at: datetime = Field(default_factory=_now)


class Setting(SQLModel, table=True):
    """A product setting by name (for example `child_population`), as text."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=_now)


CASE_RECORD = table_of(CaseRecord)
SETTING = table_of(Setting)


# ---------------------------------------------------------------------------------- scheduled jobs (0004)
# APScheduler keeps its own job store table (`JOBSTORE_TABLE`), created by APScheduler itself and kept out
# of SQLModel.metadata; the Alembic environment ignores it, so autogenerate never proposes to drop it.
JOBSTORE_TABLE = "apscheduler_jobs"
ALERT_KINDS: tuple[str, ...] = values_of(AlertKind)
JOB_STATUSES: tuple[str, ...] = values_of(JobStatus)


class Alert(SQLModel, table=True):
    """A warning found by a scheduled job: a gap in cover in the coming 30 days (`kind` gap: rule, start,
    end, required, available) or a competency about to lapse (`kind` training_expiry: responder,
    competency, valid_until, agency). No children's data is ever part of an alert.

    `key` identifies what the alert is about (gap: rule_id|start|end; training: responder|competency|
    valid_until) and is unique among open alerts. `open_end` means the gap runs on past `end`, the edge of
    the look-ahead when it was last scanned. `emailed_at` / `posted_at` record delivery per channel (NULL:
    not yet, retried at the next scan). An alert is resolved when its gap closes or passes, or the training
    is renewed or lapses (`resolution`)."""

    __tablename__ = "alert"
    __table_args__ = (
        Index(
            "uq_alert_open_key",
            "key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alert_kind_resolved", "kind", "resolved_at"),
        one_of("kind", AlertKind, "ck_alert_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    key: str
    rule_id: str | None = None
    role: str | None = None
    age_band: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    open_end: bool = False
    required: int | None = None
    available: int | None = None
    responder_id: str | None = None
    competency: str | None = None
    valid_until: date | None = None
    agency: str | None = None
    message: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=_now)
    emailed_at: datetime | None = None
    posted_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


class JobRun(SQLModel, table=True):
    """One run of a scheduled job (by the scheduler or `rota jobs run`): when, and how it went."""

    __tablename__ = "job_run"
    __table_args__ = (
        Index("ix_job_run_job_started", "job", "started_at"),
        one_of("status", JobStatus, "ck_job_run_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = JobStatus.RUNNING.value
    message: str | None = Field(default=None, sa_type=Text)


class ForecastSnapshot(SQLModel, table=True):
    """The nightly forecast (`rota forecast` JSON for the next 91 days), kept for the dashboard."""

    __tablename__ = "forecast_snapshot"
    __table_args__ = (Index("ix_forecast_snapshot_created_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    start: datetime
    end: datetime
    payload: str = Field(sa_type=Text)


ALERT = table_of(Alert)
JOB_RUN = table_of(JobRun)
FORECAST_SNAPSHOT = table_of(ForecastSnapshot)


# ------------------------------------------------------------------------- board actions and packs (0008)


class BoardAction(SQLModel, table=True):
    """An action the safeguarding partnership board asked for (`rota actions`): who owns it and by when.
    It stays `open` until closed; `closed_at` and `closed_by` say when and by whom. No children's data."""

    __tablename__ = "board_action"
    __table_args__ = (
        Index("ix_board_action_status_due", "status", "due"),
        one_of("status", ActionStatus, "ck_board_action_status"),
        CheckConstraint(
            f"status = '{ActionStatus.OPEN.value}' OR closed_at IS NOT NULL", name="ck_board_action_closed"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    owner_agency: str = Field(max_length=200)
    owner: str = Field(max_length=200)
    due: date
    status: str = ActionStatus.OPEN.value
    notes: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=_now)
    created_by: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    version: int = 1


class AssurancePack(SQLModel, table=True):
    """A built assurance pack (a PDF, usually), kept so that the Admin page lists past packs. `period` is
    the quarter (`2026-Q3`), `agency` the one agency it was written for, if any; `sha256` is the content's
    hex digest."""

    __tablename__ = "assurance_pack"
    __table_args__ = (
        Index("ix_assurance_pack_period_audience", "period", "audience"),
        one_of("audience", PackAudience, "ck_assurance_pack_audience"),
        CheckConstraint("size >= 0", name="ck_assurance_pack_size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7)
    audience: str
    agency: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=_now)
    created_by: str
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes


BOARD_ACTION = table_of(BoardAction)
ASSURANCE_PACK = table_of(AssurancePack)
