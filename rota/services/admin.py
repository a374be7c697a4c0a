"""Administration: the coverage rules (listed and saved with per-rule validation), the audit log with
filters, and sign-in accounts (through `rota.services.auth`). No Streamlit here."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

import polars as pl

from rota.errors import InputError, Problem
from rota.rules import Rule, RuleError, default_rules, make_rule
from rota.services import auth
from rota.services.access import (
    Actor,
    require_edit_rules,
    require_manage_users,
    require_read_audit,
)
from rota.services.gapalerts import reconcile_gap_alerts
from rota.storage import Engine
from rota.storage.audit import audit_facets, search_audit
from rota.storage.models import AUDIT_ACTIONS
from rota.storage.people import held_competencies
from rota.storage.rules import replace_rules, rule_versions, stored_rules
from rota.timeutil import SERVICE_TZ, day_end, day_start

RULE_COLUMNS = ("rule_id", "role", "min_count", "competencies", "age_band", "windows")
RULES_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "role": pl.String(),
    "min_count": pl.Int64(),
    "competencies": pl.String(),
    "age_band": pl.String(),
    "windows": pl.String(),
    "version": pl.Int64(),
}
AUDIT_LIMIT = 500
AUDIT_ACTION_CHOICES: tuple[str, ...] = AUDIT_ACTIONS  # what the audit log can be filtered by
MAX_AUDIT_LIMIT = 100_000
_LIST_SPLIT = re.compile(r"[;\n]")
_BLANK_KEYS = ("version", "configured")


# ---------------------------------------------------------------------------------------------- rules


def _rule_row(rule: Rule, version: int | None) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "role": rule.role,
        "min_count": rule.min_count,
        "competencies": ", ".join(rule.competencies),
        "age_band": rule.age_band,
        "windows": "; ".join(w.text for w in rule.windows),
        "version": version,
    }


def rules_frame(rules: Sequence[Rule], versions: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Rules as an editable table: competencies comma-separated, windows separated by ';' (blank = always)."""
    versions = versions or {}
    return pl.DataFrame([_rule_row(r, versions.get(r.id)) for r in rules], schema=RULES_SCHEMA, orient="row")


@dataclass(frozen=True)
class RuleSet:
    """The rules in force: `configured` False means none are stored and the defaults apply. `versions`
    (rule_id -> version, empty for the defaults) goes back to `save_rules` to detect a clash."""

    rules: pl.DataFrame
    configured: bool
    versions: dict[str, int] = field(default_factory=dict)
    roles: tuple[str, ...] = ()


def list_rules(engine: Engine, actor: Actor) -> RuleSet:
    """The coverage rules in force, in order, with their versions and the known roles.

    Every role may read them: they are neither personal nor case-level, and Coverage shows them by id.
    """
    del actor
    rules, roles = stored_rules(engine)
    versions = rule_versions(engine)
    in_force = list(rules) if rules else default_rules()
    return RuleSet(rules_frame(in_force, versions), bool(rules), versions, roles)


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _listish(value: object, sep: re.Pattern[str]) -> object:
    if isinstance(value, str):
        return [part.strip() for part in sep.split(value) if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if not _blank(v)]
    return value


def _whole(value: object) -> object:
    """A count typed into a table may arrive as 2.0 or '2'."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _rule_table(row: Mapping[str, object]) -> dict[str, object]:
    """A row of the rules table in make_rule's terms: blanks dropped (defaults apply), lists split."""
    table: dict[str, object] = {}
    for key, value in row.items():
        if key in _BLANK_KEYS or _blank(value):
            continue
        name = "id" if key == "rule_id" else key
        if name == "competencies":
            value = _listish(value, re.compile(","))
        elif name == "windows":
            value = _listish(value, _LIST_SPLIT)
        elif name == "min_count":
            value = _whole(value)
        elif isinstance(value, str):
            value = value.strip()
        table[name] = value
    return table


_FIELD_WORDS = (
    ("min_count", "min_count"),
    ("competencies", "competencies"),
    ("age band", "age_band"),
    ("age_band", "age_band"),
    ("role", "role"),
    ("id must", "rule_id"),
    ("unknown key", None),
)


def _field_of(message: str) -> str | None:
    """Which column a RuleError is about, from its wording (anything else comes from a window)."""
    for word, column in _FIELD_WORDS:
        if word in message:
            return column
    return "windows"


def _strip_rule_prefix(message: str, rule_id: object) -> str:
    prefix = f"rule {rule_id}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def validate_rules(
    rows: Sequence[Mapping[str, object]], known_roles: Sequence[str]
) -> tuple[list[Rule], list[Problem]]:
    """Build rules from table rows, collecting every problem: each reads like
    `row 2 (sio-day), column windows: 'Mon-Fry' is not a day ...`. Wholly blank rows are skipped."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        table = _rule_table(row)
        if not table:
            continue
        rid = table.get("id")
        where = f"row {n}" + (f" ({rid})" if isinstance(rid, str) and rid else "")
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(where, None, "rule_id", "every rule needs an id, like sio-16-17"))
            continue
        if rid in first_row:
            problems.append(
                Problem(where, None, "rule_id", f"the id {rid!r} is already used by row {first_row[rid]}")
            )
            continue
        first_row[rid] = n
        try:
            rules.append(make_rule(table, tuple(known_roles)))
        except RuleError as exc:
            message = _strip_rule_prefix(str(exc), rid)
            problems.append(Problem(where, None, _field_of(message), message))
    if not problems and not rules:
        problems.append(
            Problem("rules", None, None, "keep at least one rule: with none, nobody would be required")
        )
    return rules, problems


@dataclass(frozen=True)
class RulesSaved:
    created: int
    updated: int
    deleted: int
    unchanged: int
    warnings: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted

    def __str__(self) -> str:
        done = (("added", self.created), ("changed", self.updated), ("removed", self.deleted))
        parts = [f"{n} {what}" for what, n in done if n]
        return f"Rules saved: {', '.join(parts)}." if parts else "No rule changed."


def _unheld_competencies(rules: Sequence[Rule], held: Sequence[str]) -> list[str]:
    out = []
    for rule in rules:
        missing = [c for c in rule.competencies if c not in held]
        if missing:
            out.append(
                f"{rule.id}: nobody holds {', '.join(missing)}, so this rule will be in gap at all times "
                "(check the spelling)"
            )
    return out


def save_rules(
    engine: Engine,
    actor: Actor,
    rows: Sequence[Mapping[str, object]],
    expected_versions: Mapping[str, int] | None = None,
) -> RulesSaved:
    """Validate the rules table and store it in place of the rules in force (CDOP manager or admin).

    Rows have the columns of `list_rules` (rule_id or id, role, min_count, competencies comma-separated or
    a list, age_band, windows separated by ';' or a list). Every bad row is reported at once in one
    InputError and nothing is stored; with `expected_versions` (from `list_rules`), ConflictError when
    someone else changed the rules meanwhile. Each rule added, changed or removed is audited.
    """
    require_edit_rules(actor)
    _, roles = stored_rules(engine)
    rules, problems = validate_rules(rows, roles)
    if problems:
        raise InputError(problems)
    counts = replace_rules(engine, rules, actor=actor.username, expected_versions=expected_versions)
    reconcile_gap_alerts(engine)
    return RulesSaved(
        counts.created,
        counts.updated,
        counts.deleted,
        counts.unchanged,
        tuple(_unheld_competencies(rules, held_competencies(engine))),
    )


# ---------------------------------------------------------------------------------------------- audit


@dataclass(frozen=True)
class AuditFilters:
    """Narrow the audit log; None = any. Dates are local calendar days, both inclusive."""

    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    entity_id: str | None = None  # contains, any case
    since: date | None = None
    until: date | None = None


def audit_log(
    engine: Engine,
    actor: Actor,
    filters: AuditFilters | None = None,
    limit: int = AUDIT_LIMIT,
    tz: tzinfo = SERVICE_TZ,
) -> pl.DataFrame:
    """Audit entries matching `filters`, newest first, at most `limit` (CDOP manager and admin).

    Columns: id, at (UTC), actor, action, entity, entity_id, before, after (JSON text).
    """
    require_read_audit(actor)
    f = filters or AuditFilters()
    if f.action is not None and f.action not in AUDIT_ACTIONS:
        raise InputError(
            Problem("action", None, None, f"unknown action {f.action!r}; use {', '.join(AUDIT_ACTIONS)}")
        )
    if f.since is not None and f.until is not None and f.until < f.since:
        raise InputError(
            Problem(
                "dates",
                None,
                None,
                f"the end date {f.until:%d/%m/%Y} is before the start date {f.since:%d/%m/%Y}",
            )
        )
    if not 1 <= limit <= MAX_AUDIT_LIMIT:
        raise InputError(Problem("limit", None, None, f"show between 1 and {MAX_AUDIT_LIMIT:,} entries"))
    return search_audit(
        engine,
        actor=f.actor or None,
        entity=f.entity or None,
        action=f.action or None,
        entity_id=(f.entity_id or "").strip() or None,
        since=day_start(f.since, tz) if f.since is not None else None,
        until=day_end(f.until, tz) if f.until is not None else None,
        limit=limit,
    )


def audit_choices(engine: Engine, actor: Actor) -> dict[str, list[str]]:
    """The actors, entities and actions that occur in the audit log, for filter menus."""
    require_read_audit(actor)
    return audit_facets(engine)


# ---------------------------------------------------------------------------------------------- accounts


def list_accounts(engine: Engine, actor: Actor) -> pl.DataFrame:
    """Every sign-in account (never a password hash): admins only."""
    require_manage_users(actor)
    return auth.list_users(engine, actor)


def add_account(
    engine: Engine,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    agency: str | None = None,
    display_name: str | None = None,
) -> Actor:
    """Create a password account (admins only; audited by `rota.services.auth`)."""
    require_manage_users(actor)
    return auth.create_user(engine, actor, username, role, password, agency, display_name)


def set_account_active(engine: Engine, actor: Actor, username: str, active: bool) -> None:
    """Switch an account off or back on (admins only; nobody switches off themselves or the last admin)."""
    require_manage_users(actor)
    auth.set_active(engine, actor, username, active)
