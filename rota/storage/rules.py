"""Coverage rules and roles in the database: read in order, replaced as a whole, audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from rota.errors import InputError, Problem
from rota.rules import DEFAULT_ROLES, Rule, RuleError, make_rule
from rota.storage.audit import AuditBuffer, to_audit_json
from rota.storage.changes import KindCounts
from rota.storage.db import write_transaction
from rota.storage.frames import connected
from rota.storage.models import COVERAGE_RULE, ROLE
from rota.timeutil import utc_now
from rota.vocab import AuditAction


def rules_from_rows(rows: Sequence[Any]) -> tuple[Rule, ...]:
    out = []
    for r in rows:
        try:
            out.append(
                make_rule(
                    {
                        "id": r.rule_id,
                        "role": r.role,
                        "min_count": r.min_count,
                        "competencies": list(r.competencies or []),
                        "age_band": r.age_band,
                        "windows": list(r.windows or []),
                    }
                )
            )
        except RuleError as exc:  # only possible if someone edited the table by hand
            raise InputError(
                Problem("coverage_rule", None, r.rule_id, f"stored rule is unusable: {exc}")
            ) from exc
    return tuple(out)


def _rule_row(rule: Rule, position: int) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "role": rule.role,
        "min_count": rule.min_count,
        "competencies": list(rule.competencies),
        "age_band": rule.age_band,
        "windows": [w.text for w in rule.windows],
        "position": position,
    }


def import_rules(conn: Connection, rules: Sequence[Rule], audit: AuditBuffer, counts: KindCounts) -> None:
    """Replace the stored rules with `rules`, in their order."""
    ids = [r.id for r in rules]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise InputError(
            [Problem("rules", None, "id", f"rule id {d!r} appears more than once") for d in dups]
        )
    fields = ["rule_id", "role", "min_count", "competencies", "age_band", "windows", "position"]
    stored = {
        r.rule_id: {
            f: (list(getattr(r, f)) if f in ("competencies", "windows") else getattr(r, f)) for f in fields
        }
        for r in conn.execute(select(COVERAGE_RULE)).all()
    }
    wanted = {r.id: _rule_row(r, i) for i, r in enumerate(rules)}
    for rid in [rid for rid in stored if rid not in wanted]:
        conn.execute(delete(COVERAGE_RULE).where(COVERAGE_RULE.c.rule_id == rid))
        audit.add_one("coverage_rule", AuditAction.DELETE.value, rid, to_audit_json(stored[rid]), None)
        counts.deleted += 1
    for rid, row in wanted.items():
        old = stored.get(rid)
        if old is None:
            conn.execute(insert(COVERAGE_RULE).values(version=1, **row))
            audit.add_one("coverage_rule", AuditAction.CREATE.value, rid, None, to_audit_json(row))
            counts.created += 1
        elif old != row:
            values = {k: v for k, v in row.items() if k != "rule_id"}
            conn.execute(
                update(COVERAGE_RULE)
                .where(COVERAGE_RULE.c.rule_id == rid)
                .values(version=COVERAGE_RULE.c.version + 1, **values)
            )
            audit.add_one(
                "coverage_rule", AuditAction.UPDATE.value, rid, to_audit_json(old), to_audit_json(row)
            )
            counts.updated += 1
        else:
            counts.unchanged += 1


def rule_versions(engine: Engine) -> dict[str, int]:
    """rule_id -> version of every stored coverage rule (empty: the default rules are in force)."""
    with engine.connect() as conn:
        rows = conn.execute(select(COVERAGE_RULE.c.rule_id, COVERAGE_RULE.c.version)).all()
    return {str(rid): int(version) for rid, version in rows}


def replace_rules(
    engine: Engine,
    rules: Sequence[Rule],
    *,
    actor: str,
    expected_versions: Mapping[str, int] | None = None,
) -> KindCounts:
    """Store `rules` (in their order) in place of the stored ones, auditing each rule created, changed or
    removed. With `expected_versions` (rule_id -> version as read), raise ConflictError and store nothing
    when the stored rules are no longer exactly those."""
    from rota.errors import ConflictError

    if not actor or not actor.strip():
        raise ValueError("replace_rules needs the actor (who is changing the rules) for the audit log")
    counts = KindCounts()
    audit = AuditBuffer()
    with write_transaction(engine) as conn:
        if expected_versions is not None:
            rows = conn.execute(select(COVERAGE_RULE.c.rule_id, COVERAGE_RULE.c.version)).all()
            stored = {str(rid): int(version) for rid, version in rows}
            if stored != dict(expected_versions):
                raise ConflictError(
                    "the coverage rules were changed by someone else since you opened them; "
                    "reload the page to see their change, then edit again"
                )
        import_rules(conn, rules, audit, counts)
        audit.write(conn, actor.strip(), utc_now())
    return counts


def stored_rules(source: Engine | Connection) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The stored coverage rules in order (empty: the defaults apply) and the roles (defaults first);
    from an engine, or inside a caller's transaction."""
    with connected(source) as conn:
        rule_rows = conn.execute(select(COVERAGE_RULE).order_by(COVERAGE_RULE.c.position)).all()
        extra_roles = conn.execute(select(ROLE.c.name).order_by(ROLE.c.name)).scalars().all()
    roles = DEFAULT_ROLES + tuple(r for r in extra_roles if r not in DEFAULT_ROLES)
    return rules_from_rows(rule_rows), roles
