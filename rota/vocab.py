"""The product's words, declared once: shift kinds, account roles, alert kinds, audit actions, job and
sign-in words, board actions' states and assurance packs' audiences, the completion measures (with their
labels and targets) and the Making Data Count words.

Each is a `StrEnum` whose values are exactly the strings stored in the database and written in files and
JSON, so a member compares equal to its stored string and no data changes. The database's check
constraints, the polars schemas and the pages' labels are all made from these declarations;
docs/bundle.md ("Columns and words"), docs/cases.md ("Measures") and docs/methods.md ("Making Data Count
words") list them for people.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class Labelled(StrEnum):
    """A vocabulary whose every word carries its `label` for people: members are ("value", "label")."""

    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class ShiftKind(Labelled):
    """How a responder is on duty (docs/bundle.md, "Columns and words"): on call, or on site."""

    ONCALL = ("oncall", "on call")
    ONSITE = ("onsite", "on site")


DEFAULT_SHIFT_KIND = ShiftKind.ONCALL  # a blank kind in a file or grid


class AccountRole(Labelled):
    """The access role of a sign-in account (docs/security.md, "Roles"); not a responder's role."""

    ADMIN = ("admin", "Administrator")
    CDOP_MANAGER = ("cdop_manager", "CDOP manager")
    COORDINATOR = ("coordinator", "Rota coordinator")
    COMMISSIONER = ("commissioner", "Commissioner")


ACCOUNT_ROLE_LABELS: dict[str, str] = {r.value: r.label for r in AccountRole}


def account_role_label(role: str) -> str:
    """For people: 'Rota coordinator' for `coordinator` (an unknown value is shown as it is)."""
    return ACCOUNT_ROLE_LABELS.get(role, role)


# The responder roles every rota knows; a rota's rules.toml may add more (docs/bundle.md, "rules.toml").
# Labels for people; a configured role without one is shown as its name in sentence case.
RESPONDER_ROLE_LABELS: dict[str, str] = {
    "paediatrician": "Paediatrician",
    "sio": "SIO",
    "ambulance": "Ambulance",
}


def responder_role_label(role: str) -> str:
    """For people: 'SIO' for `sio`, 'Social worker' for a configured `social_worker`."""
    return RESPONDER_ROLE_LABELS.get(role, role.replace("_", " ").replace("-", " ").capitalize())


class ConflictKind(Labelled):
    """A rota problem that is not a gap (`rota conflicts`, docs/commands.md), in the order they are listed."""

    SHIFT_DURING_ABSENCE = ("shift_during_absence", "shift during own absence")
    OVERLAPPING_SHIFTS = ("overlapping_shifts", "overlapping shifts")
    SHORT_REST = ("short_rest", "less than the minimum rest between duties")
    LAPSED_COMPETENCY = ("lapsed_competency", "on duty with a lapsed competency")


class AlertKind(StrEnum):
    """What a scheduled job warns about: a gap in cover, or a competency about to lapse."""

    GAP = "gap"
    TRAINING_EXPIRY = "training_expiry"


class AuditAction(StrEnum):
    """What an audit log entry records (docs/security.md): a change, an import, or a read of case data."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    IMPORT = "import"
    READ = "read"


class JobStatus(StrEnum):
    """How a run of a scheduled job went."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class SignInMethod(StrEnum):
    """How a dashboard session was signed in."""

    PASSWORD = "password"
    OIDC = "oidc"


class ActionStatus(Labelled):
    """Where a board action stands (docs/commands.md, `rota actions`): open until someone closes it."""

    OPEN = ("open", "Open")
    CLOSED = ("closed", "Closed")


class PackAudience(Labelled):
    """Whom an assurance pack is written for: the commissioners (suppressed figures only) or the CDOP
    manager (exact figures)."""

    COMMISSIONER = ("commissioner", "Commissioners")
    MANAGER = ("manager", "CDOP manager")


# ---------------------------------------------------------------------------------------------- measures

DEFAULT_TARGET = 0.9  # the target rate of every measure unless configured (docs/cases.md, "Settings")


class Measure(StrEnum):
    """A completion measure (docs/cases.md, "Measures"), in the order tables and charts list them.

    `label` is for people; `step` is the case column timing the step (None for the two measures read
    from flags); `hours` is the time allowed after notification and `working_days` the planning meeting's
    deadline in working days; `in_full` says whether the step counts towards "fully completed", the last
    measure, which is met when every such step is.
    """

    label: str
    step: str | None
    hours: int | None
    working_days: int | None
    in_full: bool

    def __new__(cls, value: str, label: str, extra: dict[str, Any] | None = None) -> Measure:
        extra = extra or {}
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.step = extra.get("step")
        member.hours = extra.get("hours")
        member.working_days = extra.get("working_days")
        member.in_full = extra.get("in_full", True)
        return member

    JAR_TRIGGERED = ("jar_triggered", "JAR triggered")
    PAEDIATRICIAN = (
        "paediatrician",
        "Paediatrician within 4 hours",
        {"step": "paediatrician_at", "hours": 4},
    )
    POLICE = ("police", "Police within 4 hours", {"step": "police_at", "hours": 4})
    HOME_VISIT = ("home_visit", "Joint home visit within 24 hours", {"step": "home_visit_at", "hours": 24})
    PLANNING_MEETING = (
        "planning_meeting",
        "Planning meeting by the 2nd working day",
        {"step": "planning_meeting_at", "working_days": 2},
    )
    NCMD_NOTIFICATION = (
        "ncmd_notification",
        "NCMD notified within 48 hours",
        {"step": "ncmd_notified_at", "hours": 48},
    )
    FULLY_COMPLETED = ("fully_completed", "Fully completed", {"in_full": False})

    @property
    def target(self) -> float:
        """The default target rate of the measure's assurance icon (a setting may change it)."""
        return DEFAULT_TARGET


MEASURES: tuple[Measure, ...] = tuple(Measure)
# The measures that make up "fully completed" (every measure but itself), by declaration, not position.
PARTS_OF_FULL: tuple[Measure, ...] = tuple(m for m in Measure if m.in_full)


# ---------------------------------------------------------------------------------------------- SPC words


class Improvement(StrEnum):
    """Which direction of a measure is better (docs/methods.md, "Making Data Count words")."""

    UP = "up"
    DOWN = "down"
    NEUTRAL = "neutral"


class SpcSignal(StrEnum):
    """Why a point is special cause, in the order a point's first signal is chosen; `upward` says which
    way it points and `label` words it for people."""

    upward: bool
    label: str

    def __new__(cls, value: str, upward: bool, label: str) -> SpcSignal:
        member = str.__new__(cls, value)
        member._value_ = value
        member.upward = upward
        member.label = label
        return member

    ABOVE_UPL = ("above_upl", True, "above the upper limit")
    BELOW_LPL = ("below_lpl", False, "below the lower limit")
    TREND_UP = ("trend_up", True, "rising trend")
    TREND_DOWN = ("trend_down", False, "falling trend")
    TWO_OF_THREE_ABOVE = ("two_of_three_above", True, "two of three near the upper limit")
    TWO_OF_THREE_BELOW = ("two_of_three_below", False, "two of three near the lower limit")
    SHIFT_ABOVE = ("shift_above", True, "run above the mean")
    SHIFT_BELOW = ("shift_below", False, "run below the mean")


class Variation(Labelled):
    """The kind of a point, and of the latest point (the variation icon), with its words for people."""

    COMMON_CAUSE = ("common_cause", "Common cause variation")
    IMPROVEMENT = ("special_cause_improvement", "Special cause improvement")
    CONCERN = ("special_cause_concern", "Special cause concern")
    NEUTRAL = ("special_cause_neutral", "Special cause variation")


class Assurance(Labelled):
    """Whether the process will meet its target (the assurance icon), with its words for people."""

    PASS = ("consistent_pass", "Consistently passing target")
    FAIL = ("consistent_fail", "Consistently failing target")
    HIT_AND_MISS = ("inconsistent", "Hit and miss against target")


def values_of(words: type[StrEnum]) -> tuple[str, ...]:
    """The stored strings of a vocabulary, in declaration order."""
    return tuple(member.value for member in words)
