"""The edited grids against the week as read: which rows were added, changed or deleted, each new or
changed row checked with the import's own rules (`rota.bundle.check_rows`, docs/bundle.md), and the
problems worded for a grid, where a time cannot carry its UTC offset. A grid's times are local wall time,
as date-times or as text typed day first ("05/12/2026 19:00", what the Rota editor's grids hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

import polars as pl

from rota.bundle import check_rows
from rota.errors import InputError, Problem
from rota.services.editing.changes import (
    ABSENCE,
    CREATE,
    DELETE,
    GRIDS,
    SHIFT,
    TABLE_NAMES,
    UPDATE,
    Change,
    GridSpec,
    change_from_stored,
    keyed,
    row_values,
)
from rota.services.editing.week import WeekView, to_wall
from rota.timeutil import SERVICE_TZ


@dataclass(frozen=True)
class Validation:
    """The changes a grid holds against the week as read, and every problem found (Problem.file is the
    grid's name, Problem.line its 1-based row)."""

    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from a pandas grid
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return str(value) in ("NaT", "nan", "None")


WALL_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
)


def _typed_wall(value: Any) -> Any:
    """A time typed as text without an offset ("05/12/2026 19:00", or ISO 8601) as naive wall time, for
    comparing with the row as read; any other value as it is (the bundle rules judge it)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    for fmt in WALL_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - wall time, judged by the bundle rules
        except ValueError:
            continue
    return value


def _wall_text(value: datetime) -> str:
    # Four-digit years whatever strftime does with year 1, so that the date-range check words the refusal.
    text = f"{value.day:02d}/{value.month:02d}/{value.year:04d} {value:%H:%M}"
    return text + f":{value:%S}" if value.second else text


def _cell_text(value: Any, wall: datetime | None, instant: datetime | None) -> str | None:
    """A grid value as the text the bundle rules read. An unchanged time keeps its stored instant (with
    its offset), so a shift in the repeated hour of a clock change stays valid while it is not edited."""
    if _is_blank(value):
        return None
    typed = _typed_wall(value)
    if isinstance(value, str) and isinstance(typed, datetime):
        # typed text: kept as typed unless it is the time as read
        if wall is not None and instant is not None and typed == wall.replace(microsecond=0):
            return instant.isoformat()
        return value.strip()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.isoformat()
        if (
            wall is not None
            and instant is not None
            and value.replace(microsecond=0) == wall.replace(microsecond=0)
        ):
            return instant.isoformat()
        return _wall_text(value)
    if isinstance(value, date):
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d} 00:00"
    return str(value).strip()


def _same(value: Any, old: Any) -> bool:
    if isinstance(old, datetime):
        value = _typed_wall(value)
    if _is_blank(value) and _is_blank(old):
        return True
    if isinstance(value, datetime) and isinstance(old, datetime):
        return value.replace(microsecond=0, tzinfo=None) == old.replace(microsecond=0, tzinfo=None)
    if isinstance(value, str) and isinstance(old, str):
        return value.strip() == old.strip()
    return bool(value == old)


def _grid_reason(reason: str, text: str | None, tz: tzinfo) -> str:
    """The import's wording, except for clock changes, where a grid cannot take a UTC offset."""
    if text is None:
        return reason
    if "does not exist in" in reason:
        return (
            f"{text} does not exist in {tz} (the clocks go forward that night); "
            "choose a time outside the skipped hour"
        )
    if "happens twice in" in reason:
        return (
            f"{text} happens twice in {tz} (the clocks go back that night) and the grid cannot tell "
            "which is meant; choose another time, or import the row with its UTC offset"
        )
    return reason


def _grid_frame(grid: Any, spec: GridSpec) -> pl.DataFrame:
    frame = grid if isinstance(grid, pl.DataFrame) else pl.from_pandas(grid)
    missing = [c for c in (spec.key, *spec.values) if c not in frame.columns]
    if missing:
        raise ValueError(f"the {TABLE_NAMES[spec.entity]} grid lacks column(s) {', '.join(missing)}")
    return frame


def _row_texts(
    row: dict[str, Any], spec: GridSpec, wall: dict[str, Any], instant: dict[str, Any]
) -> dict[str, str | None]:
    """A grid row's values as the text the bundle rules read."""
    return {
        c: _cell_text(row[c], wall.get(c), instant.get(c))
        if c in ("start", "end")
        else (None if _is_blank(row[c]) else str(row[c]).strip())
        for c in spec.values
    }


def _checked(
    view: WeekView,
    spec: GridSpec,
    pending: list[tuple[int, Any, str]],
    texts: list[dict[str, str | None]],
    tz: tzinfo,
) -> tuple[list[Change], list[Problem]]:
    """The pending rows (grid row, key, action) checked by the import's rules: their changes, or the
    problems found."""
    instants = keyed(view.shifts if spec.entity == SHIFT else view.absences, spec.pk)
    rows = pl.DataFrame(texts, schema={c: pl.String() for c in spec.values}, orient="row")
    lines = [i for i, _, _ in pending]
    try:
        parsed = check_rows(
            rows,
            spec.kind,
            name=TABLE_NAMES[spec.entity],
            lines=lines,
            tz=tz,
            known_responders=view.responders,
            ref_source=f"not a responder of {view.agency}",
        )
    except InputError as exc:
        by_line = dict(zip(lines, texts, strict=True))
        return [], [
            replace(p, reason=_grid_reason(p.reason, by_line.get(p.line or 0, {}).get(p.column or ""), tz))
            for p in exc.problems
        ]
    changes = []
    for (i, key, action), after in zip(pending, parsed.iter_rows(named=True), strict=True):
        if action == CREATE:
            changes.append(Change(spec.entity, CREATE, after=row_values(spec.entity, after), row=i))
        else:
            changes.append(replace(change_from_stored(spec.entity, UPDATE, instants[key], after), row=i))
    return changes, []


def _grid_changes(
    view: WeekView, spec: GridSpec, grid: Any, tz: tzinfo
) -> tuple[list[Change], list[Problem]]:
    stored = view.shifts if spec.entity == SHIFT else view.absences
    walls = keyed(to_wall(stored, ("start", "end"), tz), spec.pk)
    instants = keyed(stored, spec.pk)
    seen: set[Any] = set()
    pending: list[tuple[int, Any, str]] = []  # row, key, action
    texts: list[dict[str, str | None]] = []
    for i, row in enumerate(_grid_frame(grid, spec).iter_rows(named=True), start=1):
        key = row[spec.key]
        if _is_blank(key):
            key = None
        elif spec.entity == ABSENCE:
            key = int(key)
        if key is not None and key in instants:
            seen.add(key)
            wall, instant = walls[key], instants[key]
            if all(_same(row[c], wall[c]) for c in spec.values):
                continue
            action = UPDATE
        else:
            if all(_is_blank(row[c]) for c in spec.values):
                continue  # a row added in the grid and not filled in yet
            key, wall, instant, action = None, {}, {}, CREATE
        pending.append((i, key, action))
        texts.append(_row_texts(row, spec, wall, instant))
    deleted = [
        change_from_stored(spec.entity, DELETE, row) for key, row in instants.items() if key not in seen
    ]
    if not pending:
        return deleted, []
    changed, problems = _checked(view, spec, pending, texts, tz)
    return deleted + changed, problems


def _absence_duplicates(view: WeekView, changes: Sequence[Change]) -> list[Problem]:
    """Two absences of one responder with the same start and end (the database's key) are refused."""
    touched = {c.key for c in changes if c.entity == ABSENCE and c.key is not None}
    seen: dict[tuple[Any, ...], int | None] = {
        (r["responder_id"], r["start"], r["end"]): None
        for r in view.absences.iter_rows(named=True)
        if r["id"] not in touched
    }
    problems = []
    for c in changes:
        if c.entity != ABSENCE or c.after is None:
            continue
        k = (c.after["responder_id"], c.after["start"], c.after["end"])
        if k in seen:
            where = f"row {seen[k]}" if seen[k] is not None else "another row"
            problems.append(
                Problem(TABLE_NAMES[ABSENCE], c.row, "start", f"the same absence is already in {where}")
            )
        else:
            seen[k] = c.row
    return problems


def validate_changes(
    view: WeekView,
    shifts_grid: Any = None,
    absences_grid: Any = None,
    tz: tzinfo = SERVICE_TZ,
) -> Validation:
    """Compare edited grids (as from `editor_frames`, polars or pandas) with the week as read.

    Rows whose values differ are updates, rows without a key are new (blank ones are ignored), stored rows
    missing from the grid are deletions. New and changed rows are checked with the import's rules
    (`rota.bundle.check_rows`): start and end are local wall time; a time the clocks skip or repeat is
    refused; the end must follow the start; a shift lasts at most 7 days; the responder must be one of
    the agency's.
    """
    changes: list[Change] = []
    problems: list[Problem] = []
    for entity, grid in ((SHIFT, shifts_grid), (ABSENCE, absences_grid)):
        if grid is None:
            continue
        found, wrong = _grid_changes(view, GRIDS[entity], grid, tz)
        changes += found
        problems += wrong
    problems += _absence_duplicates(view, changes)
    order = {DELETE: 0, UPDATE: 1, CREATE: 2}
    changes.sort(key=lambda c: (c.entity != SHIFT, order[c.action], c.row or 0))
    problems.sort(key=lambda p: (p.file != TABLE_NAMES[SHIFT], p.line or 0, p.column or ""))
    return Validation(tuple(changes), tuple(problems))
