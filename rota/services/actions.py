"""The safeguarding partnership board's actions (`rota actions`, the Admin page, the assurance pack's
Actions section): adding, changing and closing them (the CDOP manager and administrators, audited) and
listing them (those two and the commissioners). Imports no Streamlit.

An action has a title, an owner agency, an owner (a person's name or post), a due date, notes and a status,
open until someone closes it. The checks are the limits of every input (docs/security.md, "Input limits"):
names (title, owner agency, owner) at most 200 characters, notes 500, due dates within 1900..2100.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

import polars as pl

from rota.errors import ConflictError, InputError, PermissionDenied, Problem
from rota.limits import DATE_RANGE_TEXT, date_in_range, text_reason
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, Actor
from rota.storage import Connection, Engine
from rota.storage import actions as store
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.timeutil import SERVICE_TZ, day_end, day_start, utc_now
from rota.vocab import ActionStatus, AuditAction

ENTITY = "board_action"
WHAT = "board action"  # how a problem names the record
OPEN = ActionStatus.OPEN.value
CLOSED = ActionStatus.CLOSED.value
STATUSES: tuple[str, ...] = (OPEN, CLOSED)
COLUMNS = ("id", "title", "owner_agency", "owner", "due", "status", "notes", "created_at", "closed_at")
# What the audit log keeps of an action, before and after a change.
AUDITED = ("title", "owner_agency", "owner", "due", "status", "notes", "closed_at", "closed_by")


def can_write_actions(actor: Actor) -> bool:
    return actor.role in (ADMIN, CDOP_MANAGER)


def can_read_actions(actor: Actor) -> bool:
    return actor.role in (ADMIN, CDOP_MANAGER, COMMISSIONER)


def require_write_actions(actor: Actor) -> None:
    if not can_write_actions(actor):
        raise PermissionDenied("only the CDOP manager and administrators add, change or close board actions")


def require_read_actions(actor: Actor) -> None:
    if not can_read_actions(actor):
        raise PermissionDenied(
            "the board's actions are for the CDOP manager, administrators and commissioners"
        )


# ---------------------------------------------------------------------------------------------- checks


def _problem(reason: str) -> InputError:
    return InputError(Problem(WHAT, None, None, reason))


def _name(label: str, value: object) -> str:
    """A required name (title, owner agency, owner): trimmed, not blank, at most 200 characters."""
    if not isinstance(value, str) or not value.strip():
        raise _problem(f"{label} is blank: give the action's {label}")
    text = value.strip()
    why = text_reason(label, text, "name")
    if why:
        raise _problem(why)
    return text


def _notes(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _problem("notes are not text")
    text = value.strip()
    why = text_reason("notes", text, "text")
    if why:
        raise _problem(why)
    return text


def _due(value: object) -> date:
    if value is None:
        raise _problem("due date is blank: give one like 31/03/2027")
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _problem(f"due date {value!r} is not a date; give one like 31/03/2027")
    if not date_in_range(value):
        raise _problem(
            f"due date {value.isoformat()} is outside the accepted dates ({DATE_RANGE_TEXT}); check the year"
        )
    return value


def _image(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in AUDITED}


def _audit(
    conn: Connection,
    actor: Actor,
    action: AuditAction,
    action_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    image = None if before is None else _image(before)
    record_audit(conn, actor.username, action.value, ENTITY, str(action_id), image, _image(after))


def _open_action(conn: Connection, action_id: int, verb: str) -> dict[str, Any]:
    found = store.action_for_update(conn, action_id)
    if found is None:
        raise _problem(f"there is no board action {action_id}")
    if found["status"] != OPEN:
        closed = found["closed_at"]
        when = f" on {closed.astimezone(SERVICE_TZ):%d/%m/%Y}" if isinstance(closed, datetime) else ""
        raise _problem(f"board action {action_id} was closed{when}, so it cannot be {verb}")
    return found


# ---------------------------------------------------------------------------------------------- writing


def add_action(
    engine: Engine,
    actor: Actor,
    *,
    title: str,
    owner_agency: str,
    owner: str,
    due: date,
    notes: str = "",
    now: datetime | None = None,
) -> int:
    """Store a new open action (audited as a create); its id."""
    require_write_actions(actor)
    values = {
        "title": _name("title", title),
        "owner_agency": _name("owner agency", owner_agency),
        "owner": _name("owner", owner),
        "due": _due(due),
        "notes": _notes(notes),
        "created_at": now or utc_now(),
        "created_by": actor.username,
    }
    with write_transaction(engine) as conn:
        action_id = store.insert_action(conn, values)
        after = {**values, "status": OPEN, "closed_at": None, "closed_by": None}
        _audit(conn, actor, AuditAction.CREATE, action_id, None, after)
    return action_id


def update_action(
    engine: Engine,
    actor: Actor,
    action_id: int,
    *,
    title: str | None = None,
    owner_agency: str | None = None,
    owner: str | None = None,
    due: date | None = None,
    notes: str | None = None,
    version: int | None = None,
) -> bool:
    """Change the title, owner agency, owner, due date or notes of an open action (those given; audited
    as an update). `version`, when given, is the version read: a change made since is refused
    (ConflictError). False when nothing differed, so nothing was written."""
    require_write_actions(actor)
    given: dict[str, Any] = {}
    if title is not None:
        given["title"] = _name("title", title)
    if owner_agency is not None:
        given["owner_agency"] = _name("owner agency", owner_agency)
    if owner is not None:
        given["owner"] = _name("owner", owner)
    if due is not None:
        given["due"] = _due(due)
    if notes is not None:
        given["notes"] = _notes(notes)
    with write_transaction(engine) as conn:
        before = _open_action(conn, action_id, "changed")
        if version is not None and before["version"] != version:
            raise _changed(action_id)
        changes = {k: v for k, v in given.items() if before[k] != v}
        if not changes:
            return False
        if not store.update_action(conn, action_id, before["version"], changes):
            raise _changed(action_id)
        after = {**before, **changes}
        _audit(conn, actor, AuditAction.UPDATE, action_id, before, after)
    return True


def _changed(action_id: int) -> ConflictError:
    return ConflictError(
        f"board action {action_id} was changed by someone else since you opened it; reload to see the "
        "change, then make yours again"
    )


def close_action(
    engine: Engine, actor: Actor, action_id: int, *, notes: str | None = None, now: datetime | None = None
) -> None:
    """Close an open action (audited as an update), with new notes when given (they replace the old)."""
    require_write_actions(actor)
    changes: dict[str, Any] = {
        "status": CLOSED,
        "closed_at": now or utc_now(),
        "closed_by": actor.username,
    }
    if notes is not None:
        changes["notes"] = _notes(notes)
    with write_transaction(engine) as conn:
        before = _open_action(conn, action_id, "closed again")
        if not store.update_action(conn, action_id, before["version"], changes):
            raise _changed(action_id)
        after = {**before, **changes}
        _audit(conn, actor, AuditAction.UPDATE, action_id, before, after)


# ---------------------------------------------------------------------------------------------- reading


def _agency(agency: str | None) -> str | None:
    return agency.strip() or None if isinstance(agency, str) else None


def list_actions(
    engine: Engine, actor: Actor, *, status: str | None = None, agency: str | None = None
) -> pl.DataFrame:
    """The actions (COLUMNS: id, title, owner_agency, owner, due, status, notes, created_at, closed_at),
    open ones first, each by due date; only one status (open, closed) or one owner agency when given.
    Add `version` with `action_versions` when an edit needs it."""
    require_read_actions(actor)
    if status is not None and status not in STATUSES:
        raise _problem(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return store.select_actions(engine, status=status, agency=_agency(agency)).select(COLUMNS)


def action_versions(engine: Engine, actor: Actor) -> dict[int, int]:
    """Each action's version (id -> version), for an edit made through `update_action(version=...)`."""
    require_read_actions(actor)
    found = store.select_actions(engine)
    return dict(zip(found["id"].to_list(), found["version"].to_list(), strict=True))


def actions_for_quarter(
    engine: Engine,
    actor: Actor,
    first: date,
    last: date,
    agency: str | None = None,
    *,
    tz: tzinfo = SERVICE_TZ,
) -> pl.DataFrame:
    """The actions of a quarter (or any run of local days `first`..`last`, inclusive) as they stood at its
    end, for the assurance pack: those open at the end of `last` (made before then and closed later or not
    at all: status open, no closing time), then those closed between the start of `first` and the end of
    `last`. Days are local (Europe/London), so a quarter's bounds follow the clock. Columns as
    `list_actions`; one owner agency only when given."""
    require_read_actions(actor)
    if last < first:
        raise _problem(f"the period ends ({last:%d/%m/%Y}) before it starts ({first:%d/%m/%Y})")
    for d in (first, last):
        if not date_in_range(d):
            raise _problem(f"{d.isoformat()} is outside the accepted dates ({DATE_RANGE_TEXT})")
    start, end = day_start(first, tz), day_end(last, tz)
    return store.select_actions_between(engine, start, end, _agency(agency)).select(COLUMNS)
