"""Saving edits as one unit of work: every change audited (before and after), optimistic locking on each
row's version, and the conflicts, when someone else got there first, shown side by side and rebased on
request ("keep my version").

Permissions: only an administrator or a coordinator changes a rota, a coordinator only their own
agency's rows (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.errors import ConflictError, InputError, Problem
from rota.limits import DATE_RANGE_TEXT, EARLIEST_DATE, LATEST_DATE, check_text
from rota.services.access import ADMIN, COORDINATOR, Actor, require_edit_agency
from rota.services.editing.changes import (
    ABSENCE,
    CREATE,
    GRIDS,
    SHIFT,
    TABLE_NAMES,
    UPDATE,
    Change,
    keyed,
    row_values,
)
from rota.services.gapalerts import reconcile_gap_alerts
from rota.storage import Connection, Engine
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.storage.people import responder_agencies
from rota.storage.versioned import (
    RowRefused,
    delete_versioned,
    insert_versioned,
    new_shift_id,
    update_versioned,
    versioned_rows,
)
from rota.timeutil import SERVICE_TZ, uk_local

Rows = dict[str, dict[Any, dict[str, Any]]]  # entity -> key -> stored row (with its version)


@dataclass(frozen=True)
class Conflict:
    """A row someone else changed or deleted since it was read: the user's version beside the stored one."""

    entity: str
    key: str | int
    row: int | None
    action: str  # what the user tried
    yours_version: int
    yours: Mapping[str, Any] | None  # the row wanted (None = delete)
    read: Mapping[str, Any] | None  # the row as the user read it
    current_version: int | None  # None = deleted meanwhile
    current: Mapping[str, Any] | None


class EditConflict(ConflictError):
    """Saving stopped because rows changed since they were read; nothing was saved."""

    def __init__(self, conflicts: Sequence[Conflict]) -> None:
        self.conflicts: list[Conflict] = list(conflicts)
        n = len(self.conflicts)
        super().__init__(
            f"{n} row{'s' if n != 1 else ''} changed since you read {'them' if n != 1 else 'it'}; "
            "nothing was saved"
        )


@dataclass(frozen=True)
class SaveResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    new_keys: Mapping[int, str | int] = field(default_factory=dict)  # grid row -> new key

    def __str__(self) -> str:
        parts = [
            f"{n} {what}"
            for what, n in (("added", self.created), ("changed", self.updated), ("deleted", self.deleted))
            if n
        ]
        return "Saved: " + ", ".join(parts) + "." if parts else "Nothing to save."


def require_can_edit(actor: Actor) -> None:
    """Stop anyone who may change no agency's rota (the CDOP manager, a commissioner)."""
    if actor.role not in (ADMIN, COORDINATOR):
        require_edit_agency(actor, None)


def _audit_row(entity: str, key: str | int | None, row: Mapping[str, Any]) -> dict[str, Any]:
    values = row_values(entity, row)
    return {"shift_id": key, **values} if entity == SHIFT else values


def _audit_id(entity: str, key: str | int | None, row: Mapping[str, Any]) -> str:
    if entity == SHIFT:
        return str(key)
    stamp = [
        row["start"].astimezone(UTC).isoformat(timespec="seconds"),
        row["end"].astimezone(UTC).isoformat(timespec="seconds"),
    ]
    return "/".join([str(row["responder_id"]), *stamp])


def _conflict(change: Change, current: Mapping[str, Any] | None) -> Conflict:
    assert change.key is not None and change.version is not None
    return Conflict(
        entity=change.entity,
        key=change.key,
        row=change.row,
        action=change.action,
        yours_version=change.version,
        yours=change.after,
        read=change.before,
        current_version=None if current is None else int(current["version"]),
        current=None if current is None else row_values(change.entity, current),
    )


def _current_rows(conn: Connection, changes: Sequence[Change]) -> Rows:
    """The stored rows the changes touch, as they are inside the transaction."""
    current: Rows = {}
    for entity in (SHIFT, ABSENCE):
        keys = [c.key for c in changes if c.entity == entity and c.key is not None]
        current[entity] = keyed(versioned_rows(conn, entity, keys=keys), GRIDS[entity].pk) if keys else {}
    return current


def _check_agencies(conn: Connection, actor: Actor, changes: Sequence[Change], current: Rows) -> None:
    """Every responder named, before or after, must be stored and of an agency the actor may change."""
    named = {r for c in changes for r in c.responders}
    named |= {
        str(row["responder_id"])
        for c in changes
        if c.key is not None and (row := current[c.entity].get(c.key)) is not None
    }
    agencies = responder_agencies(conn, sorted(named))
    unknown = sorted(named - set(agencies))
    if unknown:
        raise InputError(f"unknown responder(s) {', '.join(unknown)}; nothing was saved")
    for rid in sorted(named):
        require_edit_agency(actor, agencies[rid])


def _create(conn: Connection, actor: Actor, c: Change) -> str | int:
    """Insert a new row (audited); its key."""
    assert c.after is not None
    values = row_values(c.entity, c.after)
    if c.entity == SHIFT:
        key: str | int = str(c.key) if c.key is not None else new_shift_id()
        insert_versioned(conn, SHIFT, {"shift_id": key, **values})
    else:
        key = insert_versioned(conn, ABSENCE, values)
    audit_id = _audit_id(c.entity, key, values)
    record_audit(conn, actor.username, CREATE, c.entity, audit_id, None, _audit_row(c.entity, key, values))
    return key


def _update_or_delete(conn: Connection, actor: Actor, c: Change, stored: Mapping[str, Any]) -> int:
    """Change or delete a row at the version read (audited); 1 when done. EditConflict when the row moved
    on between our read and our write (another server's transaction)."""
    assert c.version is not None
    after_row: dict[str, Any] | None = None
    if c.action == UPDATE:
        assert c.after is not None
        values = row_values(c.entity, c.after)
        done = update_versioned(conn, c.entity, c.key, c.version, values)
        after_row = _audit_row(c.entity, c.key, values)
    else:
        done = delete_versioned(conn, c.entity, c.key, c.version)
    if not done:
        now_rows = versioned_rows(conn, c.entity, keys=[c.key])
        raise EditConflict([_conflict(c, next(iter(keyed(now_rows, GRIDS[c.entity].pk).values()), None))])
    before_row = _audit_row(c.entity, c.key, stored)
    audit_id = _audit_id(c.entity, c.key, stored)
    record_audit(conn, actor.username, c.action, c.entity, audit_id, before_row, after_row)
    return int(done)


def save_changes(engine: Engine, actor: Actor, changes: Sequence[Change]) -> SaveResult:
    """Save `changes` in one transaction, each audited (before and after), or nothing at all.

    Every row changed or deleted, and every responder named, must belong to an agency the actor may
    change (else PermissionDenied). Each update and delete carries the version it was read at and is
    made with `WHERE key = ? AND version = ?`: if any row has moved on (or gone), everything is rolled
    back and EditConflict (a ConflictError) lists each such row with the user's and the stored version.
    """
    require_can_edit(actor)
    if not changes:
        return SaveResult()
    _check_limits(changes)
    counts = {CREATE: 0, UPDATE: 0}
    deleted = 0
    new_keys: dict[int, str | int] = {}
    try:
        with write_transaction(engine) as conn:
            current = _current_rows(conn, changes)
            _check_agencies(conn, actor, changes, current)
            conflicts = [
                _conflict(c, now)
                for c in changes
                if c.action != CREATE
                and ((now := current[c.entity].get(c.key)) is None or int(now["version"]) != c.version)
            ]
            if conflicts:
                raise EditConflict(conflicts)
            for c in changes:
                if c.action == CREATE:
                    key = _create(conn, actor, c)
                    if c.row is not None:
                        new_keys[c.row] = key
                    counts[CREATE] += 1
                elif c.action == UPDATE:
                    counts[UPDATE] += _update_or_delete(conn, actor, c, current[c.entity][c.key])
                else:
                    deleted += _update_or_delete(conn, actor, c, current[c.entity][c.key])
    except RowRefused as exc:
        raise InputError(_integrity_reason(exc.detail)) from exc
    reconcile_gap_alerts(engine)
    return SaveResult(counts[CREATE], counts[UPDATE], deleted, new_keys)


def _check_limits(changes: Sequence[Change]) -> None:
    """The input limits (docs/bundle.md, "Limits") once more on the rows about to be stored, whoever made
    them: grid edits are checked by `validate_changes`, but fills and other callers build changes too."""
    problems: list[Problem] = []
    # Local dates are checked when the rows are read; in UTC a day either side is within the limits.
    lo = datetime.combine(EARLIEST_DATE - timedelta(days=1), datetime.min.time(), UTC)
    hi = datetime.combine(LATEST_DATE + timedelta(days=2), datetime.min.time(), UTC)
    for c in changes:
        if c.after is None:
            continue
        name = TABLE_NAMES[c.entity]
        for column in ("start", "end"):
            t = c.after.get(column)
            if not isinstance(t, datetime) or t.tzinfo is None or not lo <= t < hi:
                problems.append(
                    Problem(
                        name,
                        c.row,
                        column,
                        f"{t} is not a time within the accepted dates ({DATE_RANGE_TEXT})",
                    )
                )
        for column, cls in GRIDS[c.entity].text_limits.items():
            value = c.after.get(column)
            why = check_text(column, value, cls) if isinstance(value, str | None) else f"{column} is not text"
            if why:
                problems.append(Problem(name, c.row, column, why))
    if problems:
        raise InputError(problems)


def _integrity_reason(detail: str) -> str:
    low = detail.lower()
    if "unique" in low or "duplicate" in low:
        why = "an absence with the same responder, start and end is already stored"
    elif "check" in low:
        why = "a value is out of range (an end not after its start, or an unknown shift kind)"
    elif "foreign key" in low:
        why = "a row names a responder who is not stored"
    else:
        why = "a row breaks a database rule"
    return f"the database refused the change, so nothing was saved: {why}"


def rebase(changes: Sequence[Change], conflicts: Sequence[Conflict]) -> tuple[Change, ...]:
    """The user's changes made again on top of the rows as they are now ("keep my version").

    A conflicting row takes its current version, and the fields the user changed (yours differs from what
    they read) are laid over the current row, so the other person's edits to other fields survive. A row
    deleted meanwhile is added afresh if the user changed it, and dropped if the user deleted it too.
    """
    by_key: dict[tuple[str, str | int | None], Conflict] = {(c.entity, c.key): c for c in conflicts}
    out = []
    for c in changes:
        hit = by_key.get((c.entity, c.key))
        if hit is None:
            out.append(c)
        elif hit.current is None:
            if c.after is not None:
                out.append(
                    Change(
                        c.entity, CREATE, key=c.key if c.entity == SHIFT else None, after=c.after, row=c.row
                    )
                )
        else:
            assert hit.current_version is not None
            after = c.after
            if after is not None and c.before is not None:
                after = {k: (v if v != c.before.get(k) else hit.current.get(k, v)) for k, v in after.items()}
            out.append(replace(c, version=hit.current_version, before=hit.current, after=after))
    return tuple(out)


def conflict_table(
    conflicts: Sequence[Conflict], names: Mapping[str, str], tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """The conflicting rows side by side: row, what, your version, the current version (text)."""

    def text(entity: str, row: Mapping[str, Any] | None, deleted: str) -> str:
        if row is None:
            return deleted
        who = names.get(str(row["responder_id"]), str(row["responder_id"]))
        extra = row.get("kind") if entity == SHIFT else (row.get("reason") or "")
        parts = [who, f"{uk_local(row['start'], tz)} to {uk_local(row['end'], tz)}"]
        return " · ".join([*parts, extra] if extra else parts)

    return pl.DataFrame(
        {
            "row": [c.row for c in conflicts],
            "what": [TABLE_NAMES[c.entity][:-1].lower() for c in conflicts],
            "you read": [f"{text(c.entity, c.read, '')} (v{c.yours_version})" for c in conflicts],
            "your version": [text(c.entity, c.yours, "deleted by you") for c in conflicts],
            "current version": [
                text(c.entity, c.current, "deleted by someone else")
                + ("" if c.current_version is None else f" (v{c.current_version})")
                for c in conflicts
            ],
        },
        schema={
            "row": pl.Int64(),
            "what": pl.String(),
            "you read": pl.String(),
            "your version": pl.String(),
            "current version": pl.String(),
        },
    )
