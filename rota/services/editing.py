"""Editing one agency's week of the rota: the week view, grid edits checked by the import rules, the gap
impact of an edit, saving with optimistic locking and audit, imports with a preview, exports, and the
qualified responders who are free to fill a gap.

Permissions are checked here (SPEC section 9): a coordinator changes only their own agency's rows, the
CDOP manager reads every agency but changes nothing, a commissioner sees no named responders.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from rota.bundle import (
    check_rows,
    write_workbook,
)
from rota.engine import gaps
from rota.engine.sweep import qualified_intervals
from rota.errors import ConflictError, InputError, PermissionDenied, Problem
from rota.limits import DATE_RANGE_TEXT, EARLIEST_DATE, LATEST_DATE, TextClass, check_text
from rota.model import Rota, conform
from rota.output import to_csv
from rota.rules import Rule
from rota.services.access import (
    ADMIN,
    COORDINATOR,
    Actor,
    can_edit_agency,
    require_edit_agency,
    require_read_people,
)
from rota.services.imports import ImportPreview, ImportResult, preview_upload
from rota.services.imports import apply_import as store_import
from rota.storage import Engine
from rota.storage.audit import data_version, record_audit
from rota.storage.db import write_transaction
from rota.storage.people import agency_names, responder_agencies, responders_frame
from rota.storage.rota import load_rota
from rota.storage.versioned import (
    RowRefused,
    delete_versioned,
    insert_versioned,
    new_shift_id,
    update_versioned,
    versioned_rows,
)
from rota.timeutil import SERVICE_TZ, day_start, uk_local

SHIFT = "shift"
ABSENCE = "absence"
CREATE, UPDATE, DELETE = "create", "update", "delete"
MIN_REST = timedelta(hours=11)

# The editable grids: key column, value columns, the bundle kind whose rules apply, the name in messages.
SHIFT_GRID_COLUMNS = ("shift_id", "responder_id", "start", "end", "kind")
ABSENCE_GRID_COLUMNS = ("absence_id", "responder_id", "start", "end", "reason")
TABLE_NAMES = {SHIFT: "Shifts", ABSENCE: "Absences"}


@dataclass(frozen=True)
class _Grid:
    entity: str
    kind: str  # the bundle kind
    key: str  # the grid's key column
    pk: str  # the stored frame's key column
    values: tuple[str, ...]


_GRIDS = {
    SHIFT: _Grid(SHIFT, "shifts", "shift_id", "shift_id", ("responder_id", "start", "end", "kind")),
    ABSENCE: _Grid(ABSENCE, "absences", "absence_id", "id", ("responder_id", "start", "end", "reason")),
}

RESPONDER_COLUMNS: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "name": pl.String(),
    "role": pl.String(),
    "agency": pl.String(),
    "email": pl.String(),
    "active": pl.Boolean(),
}


# ------------------------------------------------------------------------------------------------ the week


def week_monday(d: date) -> date:
    """The Monday of the week holding `d` (weeks start on Monday)."""
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class WeekView:
    """One agency's responders, and its shifts and absences overlapping one local week, as read (with
    the versions that saving checks). Instants are UTC."""

    agency: str
    week_start: date
    start: datetime
    end: datetime
    responders: pl.DataFrame  # responder_id, name, role, agency, email, active
    shifts: pl.DataFrame  # shift_id, responder_id, start, end, kind, version
    absences: pl.DataFrame  # id, responder_id, start, end, reason, version
    editable: bool
    data_version: int = 0  # the stored data's version when read (see `week_is_stale`)

    def names(self) -> dict[str, str]:
        return dict(self.responders.select("responder_id", "name").iter_rows())


def agencies_for(engine: Engine, actor: Actor) -> list[str]:
    """The agencies whose week the actor may open: a coordinator's own, or every stored agency."""
    require_read_people(actor)
    if actor.role == COORDINATOR:
        return [actor.agency] if actor.agency else []
    return agency_names(engine)


def week_rota(
    engine: Engine, actor: Actor, week_start: date, tz: tzinfo = SERVICE_TZ, agency: str | None = None
) -> WeekView:
    """The agency's week starting on the Monday of `week_start` (local time).

    A coordinator sees their own agency only; the administrator and the CDOP manager pick one (default:
    the first). `editable` says whether the actor may change it (the CDOP manager reads only).
    """
    require_read_people(actor)
    if actor.role == COORDINATOR:
        if agency is not None and agency != actor.agency:
            raise PermissionDenied(
                f"{actor.label} coordinates {actor.agency} and cannot open {agency}'s rota"
            )
        agency = actor.agency
    if agency is None:
        names = agency_names(engine)
        if not names:
            raise InputError("no responders with an agency are stored yet; import a rota first")
        agency = names[0]
    monday = week_monday(week_start)
    start, end = day_start(monday, tz), day_start(monday + timedelta(days=7), tz)
    version = data_version(engine)  # read first: a change made while reading makes the view stale
    with engine.connect() as conn:
        responders = responders_frame(conn, RESPONDER_COLUMNS, agency=agency)
        ids = responders.get_column("responder_id").to_list()
        shifts = versioned_rows(conn, SHIFT, responder_ids=ids, start=start, end=end)
        absences = versioned_rows(conn, ABSENCE, responder_ids=ids, start=start, end=end)
    return WeekView(
        agency=agency,
        week_start=monday,
        start=start,
        end=end,
        responders=responders,
        shifts=shifts,
        absences=absences,
        editable=can_edit_agency(actor, agency),
        data_version=version,
    )


def week_is_stale(engine: Engine, view: WeekView) -> bool:
    """Whether anything was stored since the view was read (every change is audited)."""
    return data_version(engine) != view.data_version


def _zone_key(tz: tzinfo) -> str | None:
    if isinstance(tz, ZoneInfo):
        return tz.key
    return "UTC" if tz is UTC else None


def to_wall(frame: pl.DataFrame, columns: Iterable[str], tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Instant columns as naive local wall time (what a person reads on a clock in `tz`)."""
    key = _zone_key(tz)
    exprs = []
    for c in columns:
        if key is not None:
            exprs.append(pl.col(c).dt.convert_time_zone(key).dt.replace_time_zone(None))
        else:
            exprs.append(
                pl.col(c).map_elements(
                    lambda t: t.astimezone(tz).replace(tzinfo=None),
                    return_dtype=pl.Datetime("us"),
                    skip_nulls=True,
                )
            )
    return frame.with_columns(exprs)


def editor_frames(view: WeekView, tz: tzinfo = SERVICE_TZ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The shifts and absences grids: key, responder_id, start and end as local wall time, kind/reason.

    The key (shift_id, absence_id) is blank for a row added in the grid.
    """
    shifts = to_wall(view.shifts, ("start", "end"), tz).select(SHIFT_GRID_COLUMNS)
    absences = to_wall(view.absences, ("start", "end"), tz).select(
        pl.col("id").alias("absence_id"), *ABSENCE_GRID_COLUMNS[1:]
    )
    return shifts, absences


# ------------------------------------------------------------------------------------------------ changes


@dataclass(frozen=True)
class Change:
    """One row to add, change or delete. `version` is the version the row was read at; `before` is the
    row as read and `after` the row wanted (responder_id, start, end and kind or reason; UTC instants);
    `row` is its 1-based row in the grid, for messages."""

    entity: str
    action: str
    key: str | int | None = None
    version: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        if self.entity not in _GRIDS:
            raise ValueError(f"a change is to a shift or an absence, not {self.entity!r}")
        if self.action not in (CREATE, UPDATE, DELETE):
            raise ValueError(f"unknown action {self.action!r}")
        if self.action != CREATE and (self.key is None or self.version is None or self.before is None):
            raise ValueError(f"to {self.action} a row give its key, the version read and the row as read")
        if self.action != DELETE and self.after is None:
            raise ValueError(f"to {self.action} a row give the row wanted (after)")

    @property
    def responders(self) -> list[str]:
        return [str(r["responder_id"]) for r in (self.before, self.after) if r is not None]

    def span(self) -> tuple[datetime, datetime]:
        rows = [r for r in (self.before, self.after) if r is not None]
        return min(r["start"] for r in rows), max(r["end"] for r in rows)


def shift_row(responder_id: str, start: datetime, end: datetime, kind: str = "oncall") -> dict[str, Any]:
    return {"responder_id": responder_id, "start": start, "end": end, "kind": kind}


def absence_row(
    responder_id: str, start: datetime, end: datetime, reason: str | None = None
) -> dict[str, Any]:
    return {"responder_id": responder_id, "start": start, "end": end, "reason": reason}


def _values(entity: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row.get(c) for c in _GRIDS[entity].values}


def change_from_stored(
    entity: str, action: str, stored: Mapping[str, Any], after: Mapping[str, Any] | None = None
) -> Change:
    """A change to a row as read (from `WeekView.shifts` or `.absences`, with its key and version)."""
    grid = _GRIDS[entity]
    return Change(
        entity,
        action,
        key=stored[grid.pk],
        version=int(stored["version"]),
        before=_values(entity, stored),
        after=None if after is None else _values(entity, after),
    )


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


def _wall_text(value: datetime) -> str:
    # Four-digit years whatever strftime does with year 1, so that the date-range check words the refusal.
    text = f"{value.day:02d}/{value.month:02d}/{value.year:04d} {value:%H:%M}"
    return text + f":{value:%S}" if value.second else text


def _cell_text(value: Any, wall: datetime | None, instant: datetime | None) -> str | None:
    """A grid value as the text the bundle rules read. An unchanged time keeps its stored instant (with
    its offset), so a shift in the repeated hour of a clock change stays valid while it is not edited."""
    if _is_blank(value):
        return None
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


def _keyed(frame: pl.DataFrame, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def _grid_frame(grid: Any, spec: _Grid) -> pl.DataFrame:
    frame = grid if isinstance(grid, pl.DataFrame) else pl.from_pandas(grid)
    missing = [c for c in (spec.key, *spec.values) if c not in frame.columns]
    if missing:
        raise ValueError(f"the {TABLE_NAMES[spec.entity]} grid lacks column(s) {', '.join(missing)}")
    return frame


def _grid_changes(view: WeekView, spec: _Grid, grid: Any, tz: tzinfo) -> tuple[list[Change], list[Problem]]:
    name = TABLE_NAMES[spec.entity]
    stored = view.shifts if spec.entity == SHIFT else view.absences
    walls = _keyed(to_wall(stored, ("start", "end"), tz), spec.pk)
    instants = _keyed(stored, spec.pk)
    frame = _grid_frame(grid, spec)
    seen: set[Any] = set()
    pending: list[tuple[int, Any, str]] = []  # row, key, action
    texts: list[dict[str, str | None]] = []
    for i, row in enumerate(frame.iter_rows(named=True), start=1):
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
        texts.append(
            {
                c: _cell_text(row[c], wall.get(c), instant.get(c))
                if c in ("start", "end")
                else (None if _is_blank(row[c]) else str(row[c]).strip())
                for c in spec.values
            }
        )
    changes = [
        change_from_stored(spec.entity, DELETE, row) for key, row in instants.items() if key not in seen
    ]
    problems: list[Problem] = []
    if pending:
        rows = pl.DataFrame(texts, schema={c: pl.String() for c in spec.values}, orient="row")
        lines = [i for i, _, _ in pending]
        try:
            parsed = check_rows(
                rows,
                spec.kind,
                name=name,
                lines=lines,
                tz=tz,
                known_responders=view.responders,
                ref_source=f"not a responder of {view.agency}",
            )
        except InputError as exc:
            by_line = dict(zip(lines, texts, strict=True))
            for p in exc.problems:
                text = by_line.get(p.line or 0, {}).get(p.column or "")
                problems.append(replace(p, reason=_grid_reason(p.reason, text, tz)))
        else:
            for (i, key, action), after in zip(pending, parsed.iter_rows(named=True), strict=True):
                if action == CREATE:
                    changes.append(Change(spec.entity, CREATE, after=_values(spec.entity, after), row=i))
                else:
                    changes.append(
                        replace(change_from_stored(spec.entity, UPDATE, instants[key], after), row=i)
                    )
    return changes, problems


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
        found, wrong = _grid_changes(view, _GRIDS[entity], grid, tz)
        changes += found
        problems += wrong
    problems += _absence_duplicates(view, changes)
    order = {DELETE: 0, UPDATE: 1, CREATE: 2}
    changes.sort(key=lambda c: (c.entity != SHIFT, order[c.action], c.row or 0))
    problems.sort(key=lambda p: (p.file != TABLE_NAMES[SHIFT], p.line or 0, p.column or ""))
    return Validation(tuple(changes), tuple(problems))


def apply_changes(
    shifts: pl.DataFrame, absences: pl.DataFrame, changes: Sequence[Change]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shifts and absences (canonical frames) as they will be once `changes` are saved; new shifts get
    a provisional id `new-<row>`."""
    shifts, absences = conform("shifts", shifts), conform("absences", absences)
    gone = [c.key for c in changes if c.entity == SHIFT and c.action != CREATE]
    if gone:
        shifts = shifts.filter(~pl.col("shift_id").is_in(pl.Series(gone, dtype=pl.String).implode()))
    gone_abs = [c.before for c in changes if c.entity == ABSENCE and c.before is not None]
    if gone_abs:
        keys = conform("absences", pl.DataFrame(gone_abs)).select("responder_id", "start", "end")
        absences = absences.join(keys, on=["responder_id", "start", "end"], how="anti", nulls_equal=True)
    new_shifts = [
        {"shift_id": str(c.key) if c.key is not None else f"new-{c.row or i}", **c.after}
        for i, c in enumerate(changes, start=1)
        if c.entity == SHIFT and c.after is not None
    ]
    new_abs = [dict(c.after) for c in changes if c.entity == ABSENCE and c.after is not None]
    if new_shifts:
        shifts = pl.concat([shifts, conform("shifts", pl.DataFrame(new_shifts))])
    if new_abs:
        absences = pl.concat([absences, conform("absences", pl.DataFrame(new_abs))])
    return shifts.sort("start", "responder_id"), absences.sort("start", "responder_id")


def describe_change(change: Change, names: Mapping[str, str], tz: tzinfo = SERVICE_TZ) -> str:
    """One line for people: 'adds a shift for Dr Ada Testwood, 28/03/2026 20:00 GMT to ...'."""
    what = "shift" if change.entity == SHIFT else "absence"
    row = change.after if change.after is not None else change.before
    assert row is not None
    who = names.get(str(row["responder_id"]), str(row["responder_id"]))
    when = f"{uk_local(row['start'], tz)} to {uk_local(row['end'], tz)}"
    verb = {CREATE: "adds", UPDATE: "changes", DELETE: "deletes"}[change.action]
    return f"{verb} a {what} for {who}, {when}"


# ------------------------------------------------------------------------------------------------ gaps


def week_gaps(engine: Engine, actor: Actor, week_start: date, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Every rule's gaps in the local week starting on the Monday of `week_start` (engine columns)."""
    require_read_people(actor)
    monday = week_monday(week_start)
    start, end = day_start(monday, tz), day_start(monday + timedelta(days=7), tz)
    return gaps(load_rota(engine, start, end), start, end, tz)


@dataclass(frozen=True)
class GapImpact:
    """What saving some changes does to the gaps: one sentence per effect, e.g. "opens a gap Sat
    02:00-08:00 for sio-16-17 (28/03/2026)"; `effects` in a frame (rule_id, effect, before_start,
    before_end, after_start, after_end, minutes_change); the gaps around the change before and after."""

    sentences: tuple[str, ...]
    effects: pl.DataFrame
    before: pl.DataFrame
    after: pl.DataFrame


EFFECT_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "age_band": pl.String(),
    "effect": pl.String(),
    "before_start": pl.Datetime("us", "UTC"),
    "before_end": pl.Datetime("us", "UTC"),
    "after_start": pl.Datetime("us", "UTC"),
    "after_end": pl.Datetime("us", "UTC"),
    "minutes_change": pl.Float64(),
    "sentence": pl.String(),
}
_MARGIN = timedelta(days=2)  # gaps are computed this far beyond the changed span, so whole gaps show

Interval = tuple[datetime, datetime]


def _merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _total(intervals: Iterable[Interval]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta(0))


def _intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out = []
    for a, b in xs:
        for c, d in ys:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                out.append((lo, hi))
    return out


def span_text(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """'Sat 02:00-08:00', 'Sat 22:00-Sun 06:00', 'Sat 18:00-24:00' in local time."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if b.date() == a.date():
        return f"{a:%a %H:%M}-{b:%H:%M}"
    if b.date() == a.date() + timedelta(days=1) and (b.hour, b.minute, b.second) == (0, 0, 0):
        return f"{a:%a %H:%M}-24:00"
    return f"{a:%a %H:%M}-{b:%a %H:%M}"


def _spans_text(intervals: Sequence[Interval], tz: tzinfo) -> str:
    return " and ".join(span_text(a, b, tz) for a, b in intervals)


def _effects_for_rule(
    rule: Rule, before: pl.DataFrame, after: pl.DataFrame, tz: tzinfo
) -> list[dict[str, Any]]:
    def pieces(df: pl.DataFrame) -> list[tuple[datetime, datetime, int]]:
        return list(df.filter(pl.col("rule_id") == rule.id).select("start", "end", "available").iter_rows())

    b_pieces, a_pieces = pieces(before), pieces(after)
    bs = _merge_intervals((s, e) for s, e, _ in b_pieces)
    as_ = _merge_intervals((s, e) for s, e, _ in a_pieces)
    # Clusters: gaps of before and after that overlap each other belong to one story.
    tagged = sorted([(s, e, "b") for s, e in bs] + [(s, e, "a") for s, e in as_])
    clusters: list[list[tuple[datetime, datetime, str]]] = []
    reach: datetime | None = None
    for s, e, tag in tagged:
        if reach is not None and s < reach:
            clusters[-1].append((s, e, tag))
            reach = max(reach, e)
        else:
            clusters.append([(s, e, tag)])
            reach = e
    out = []
    for cluster in clusters:
        cb = [(s, e) for s, e, t in cluster if t == "b"]
        ca = [(s, e) for s, e, t in cluster if t == "a"]
        delta = (_total(ca) - _total(cb)).total_seconds() / 60
        first = (cb or ca)[0][0].astimezone(tz)
        when = f" ({first:%d/%m/%Y})"
        if not cb:
            effect, sentence = "opens", f"opens a gap {_spans_text(ca, tz)} for {rule.id}{when}"
        elif not ca:
            effect, sentence = "closes", f"closes the gap {_spans_text(cb, tz)} for {rule.id}{when}"
        elif ca == cb:

            def low(ps: list[tuple[datetime, datetime, int]], span: list[Interval] = cb) -> int:
                return min((n for s, e, n in ps if _intersect([(s, e)], span)), default=0)

            was, now = low(b_pieces), low(a_pieces)
            if was == now:
                continue
            effect = "deepens" if now < was else "eases"
            sentence = (
                f"{effect} the gap {_spans_text(cb, tz)} for {rule.id}: {now} of {rule.min_count} "
                f"qualified, was {was}{when}"
            )
        else:
            common = _total(_intersect(ca, cb))
            if common == _total(ca):
                effect = "shortens"
            elif common == _total(cb):
                effect = "lengthens"
            else:
                effect = "moves"
            sentence = f"{effect} the gap {_spans_text(cb, tz)} for {rule.id} to {_spans_text(ca, tz)}{when}"
        out.append(
            {
                "rule_id": rule.id,
                "age_band": rule.age_band,
                "effect": effect,
                "before_start": cb[0][0] if cb else None,
                "before_end": cb[-1][1] if cb else None,
                "after_start": ca[0][0] if ca else None,
                "after_end": ca[-1][1] if ca else None,
                "minutes_change": delta,
                "sentence": sentence,
            }
        )
    return out


def gap_impact(engine: Engine, actor: Actor, changes: Sequence[Change], tz: tzinfo = SERVICE_TZ) -> GapImpact:
    """Gaps before and after `changes` around the time they touch, for every rule, and what differs."""
    require_read_people(actor)
    if not changes:
        none = gaps(Rota(), datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC), tz)
        return GapImpact((), pl.DataFrame(schema=EFFECT_SCHEMA), none, none)
    spans = [c.span() for c in changes]
    lo = min(a for a, _ in spans) - _MARGIN
    hi = max(b for _, b in spans) + _MARGIN
    rota = load_rota(engine, lo, hi)
    shifts, absences = apply_changes(rota.shifts, rota.absences, changes)
    edited = replace(rota, shifts=shifts, absences=absences)
    before, after = gaps(rota, lo, hi, tz), gaps(edited, lo, hi, tz)
    effects: list[dict[str, Any]] = []
    for rule in rota.effective_rules():
        effects += _effects_for_rule(rule, before, after, tz)
    frame = pl.DataFrame(effects, schema=EFFECT_SCHEMA, orient="row")
    return GapImpact(tuple(frame.get_column("sentence").to_list()), frame, before, after)


# ------------------------------------------------------------------------------------------------ saving


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
    values = _values(entity, row)
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
        current=None if current is None else _values(change.entity, current),
    )


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
    created = updated = deleted = 0
    new_keys: dict[int, str | int] = {}
    try:
        with write_transaction(engine) as conn:
            current: dict[str, dict[Any, dict[str, Any]]] = {}
            for entity in (SHIFT, ABSENCE):
                keys = [c.key for c in changes if c.entity == entity and c.key is not None]
                rows = versioned_rows(conn, entity, keys=keys) if keys else None
                current[entity] = {} if rows is None else _keyed(rows, _GRIDS[entity].pk)
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
            conflicts = []
            for c in changes:
                if c.action == CREATE:
                    continue
                now = current[c.entity].get(c.key)
                if now is None or int(now["version"]) != c.version:
                    conflicts.append(_conflict(c, now))
            if conflicts:
                raise EditConflict(conflicts)
            for c in changes:
                if c.action == CREATE:
                    assert c.after is not None
                    values = _values(c.entity, c.after)
                    if c.entity == SHIFT:
                        key: Any = str(c.key) if c.key is not None else new_shift_id()
                        insert_versioned(conn, SHIFT, {"shift_id": key, **values})
                    else:
                        key = insert_versioned(conn, ABSENCE, values)
                    if c.row is not None:
                        new_keys[c.row] = key
                    record_audit(
                        conn,
                        actor.username,
                        CREATE,
                        c.entity,
                        _audit_id(c.entity, key, values),
                        None,
                        _audit_row(c.entity, key, values),
                    )
                    created += 1
                    continue
                assert c.version is not None
                stored = current[c.entity][c.key]
                if c.action == UPDATE:
                    assert c.after is not None
                    values = _values(c.entity, c.after)
                    done = update_versioned(conn, c.entity, c.key, c.version, values)
                    after_row: dict[str, Any] | None = _audit_row(c.entity, c.key, values)
                    updated += done
                else:
                    done = delete_versioned(conn, c.entity, c.key, c.version)
                    after_row = None
                    deleted += done
                if not done:  # changed between our read and our write (another server's transaction)
                    now_rows = versioned_rows(conn, c.entity, keys=[c.key])
                    raise EditConflict(
                        [_conflict(c, next(iter(_keyed(now_rows, _GRIDS[c.entity].pk).values()), None))]
                    )
                record_audit(
                    conn,
                    actor.username,
                    c.action,
                    c.entity,
                    _audit_id(c.entity, c.key, stored),
                    _audit_row(c.entity, c.key, stored),
                    after_row,
                )
    except RowRefused as exc:
        raise InputError(_integrity_reason(exc.detail)) from exc
    return SaveResult(created, updated, deleted, new_keys)


_CHANGE_LIMITS: dict[str, TextClass] = {"responder_id": "id", "kind": "id", "reason": "text"}


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
        for column, cls in _CHANGE_LIMITS.items():
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


# ------------------------------------------------------------------------------------ free responders


AVAILABILITY_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "name": pl.String(),
    "agency": pl.String(),
    "email": pl.String(),
    "free": pl.Boolean(),
    "reason": pl.String(),
    "previous_shift_end": pl.Datetime("us", "UTC"),
    "next_shift_start": pl.Datetime("us", "UTC"),
    "rest_before_hours": pl.Float64(),
    "rest_after_hours": pl.Float64(),
}


def _rule(rota: Rota, rule_id: str) -> Rule:
    for rule in rota.effective_rules():
        if rule.id == rule_id:
            return rule
    known = ", ".join(r.id for r in rota.effective_rules())
    raise InputError(f"unknown rule {rule_id!r}; the rules are {known}")


def gap_candidates(
    engine: Engine,
    actor: Actor,
    rule_id: str,
    gap_start: datetime,
    gap_end: datetime,
    tz: tzinfo = SERVICE_TZ,
    agency: str | None = None,
) -> pl.DataFrame:
    """Every active responder of the rule's role (of `agency`, if given), whether they are free to cover
    [gap_start, gap_end) and if not why: training through the gap, not absent, not on duty, and at least
    11 hours' rest after their previous shift and before their next one. Free ones first."""
    require_read_people(actor)
    if gap_start.tzinfo is None or gap_end.tzinfo is None or gap_end <= gap_start:
        raise InputError("a gap needs an aware start and a later end")
    reach = timedelta(days=8)
    rota = load_rota(engine, gap_start - reach, gap_end + reach)
    rule = _rule(rota, rule_id)
    people = rota.responders.filter((pl.col("role") == rule.role) & pl.col("active").fill_null(True))
    if agency is not None:
        people = people.filter(pl.col("agency") == agency)
    ids = people.get_column("responder_id")
    # Trained through the gap: the engine's own test, on a make-believe shift over the gap.
    probe = Rota(
        responders=people,
        training=rota.training,
        shifts=pl.DataFrame({"shift_id": ids, "responder_id": ids}).with_columns(
            pl.lit(gap_start).alias("start"), pl.lit(gap_end).alias("end"), pl.lit("oncall").alias("kind")
        ),
    ).conformed()
    q = qualified_intervals(probe, rule, gap_start, gap_end, tz)
    need = (gap_end - gap_start).total_seconds()
    trained = set(
        q.group_by("responder_id")
        .agg((pl.col("end") - pl.col("start")).dt.total_seconds().sum().alias("s"))
        .filter(pl.col("s") >= need)
        .get_column("responder_id")
        .to_list()
    )
    lo, hi = pl.lit(gap_start).cast(pl.Datetime("us", "UTC")), pl.lit(gap_end).cast(pl.Datetime("us", "UTC"))
    mine = rota.shifts.join(people.select("responder_id"), on="responder_id", how="semi")
    prev = (
        mine.filter(pl.col("end") <= lo)
        .group_by("responder_id")
        .agg(pl.col("end").max().alias("previous_shift_end"))
    )
    nxt = (
        mine.filter(pl.col("start") >= hi)
        .group_by("responder_id")
        .agg(pl.col("start").min().alias("next_shift_start"))
    )
    on_duty = mine.filter((pl.col("start") < hi) & (pl.col("end") > lo))
    away = rota.absences.filter((pl.col("start") < hi) & (pl.col("end") > lo))
    duty = dict(on_duty.group_by("responder_id").agg(pl.col("start").min()).iter_rows())
    leave = dict(away.group_by("responder_id").agg(pl.col("reason").first()).iter_rows())
    frame = (
        people.select("responder_id", "name", "agency", "email")
        .join(prev, on="responder_id", how="left")
        .join(nxt, on="responder_id", how="left")
        .with_columns(
            ((lo - pl.col("previous_shift_end")).dt.total_seconds() / 3600).alias("rest_before_hours"),
            ((pl.col("next_shift_start") - hi).dt.total_seconds() / 3600).alias("rest_after_hours"),
        )
    )
    comps = ", ".join(rule.competencies)
    min_hours = MIN_REST.total_seconds() / 3600
    reasons = []
    for row in frame.iter_rows(named=True):
        rid = row["responder_id"]
        why: str | None = None
        if rid not in trained:
            why = f"not trained ({comps}) through the whole gap"
        elif rid in leave:
            why = f"absent ({leave[rid] or 'leave'}) during the gap"
        elif rid in duty:
            why = "already on duty during the gap"
        elif row["rest_before_hours"] is not None and row["rest_before_hours"] < min_hours:
            why = (
                f"only {row['rest_before_hours']:.1f} h rest after the shift ending "
                f"{uk_local(row['previous_shift_end'], tz)} (needs {min_hours:.0f} h)"
            )
        elif row["rest_after_hours"] is not None and row["rest_after_hours"] < min_hours:
            why = (
                f"only {row['rest_after_hours']:.1f} h rest before the shift starting "
                f"{uk_local(row['next_shift_start'], tz)} (needs {min_hours:.0f} h)"
            )
        reasons.append(why)
    frame = frame.with_columns(
        pl.Series("reason", reasons, dtype=pl.String()),
    ).with_columns(pl.col("reason").is_null().alias("free"))
    return frame.select(list(AVAILABILITY_SCHEMA)).sort(["free", "name"], descending=[True, False])


def free_qualified(
    engine: Engine,
    actor: Actor,
    rule_id: str,
    gap_start: datetime,
    gap_end: datetime,
    tz: tzinfo = SERVICE_TZ,
    agency: str | None = None,
) -> pl.DataFrame:
    """The responders who could fill the gap: of the rule's role, active, holding the rule's
    competencies through the gap, not absent, not on duty, with at least 11 hours' rest after their
    previous shift ends and before their next one starts. Columns: responder_id, name, agency, email,
    previous_shift_end, next_shift_start, rest_before_hours, rest_after_hours (nulls when no shift is
    within 8 days)."""
    found = gap_candidates(engine, actor, rule_id, gap_start, gap_end, tz, agency)
    return found.filter(pl.col("free")).drop("free", "reason")


# ------------------------------------------------------------------------------------------------ import


def preview_import(
    engine: Engine, actor: Actor, filename: str, data: bytes, tz: tzinfo = SERVICE_TZ, kind: str | None = None
) -> ImportPreview:
    """Read an uploaded bundle (.zip of the bundle folder), workbook (.xlsx) or one CSV (`kind`, else from
    its name) through the import service (rota/services/imports.py) with the actor's permissions; nothing
    is stored."""
    require_can_edit(actor)
    return preview_upload(engine, actor, filename, data, tz, kind)


def apply_import(
    engine: Engine,
    actor: Actor,
    preview: ImportPreview,
    *,
    replace_span: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> ImportResult:
    """Store a checked preview, all or nothing, audited under the actor's name."""
    require_can_edit(actor)
    return store_import(engine, actor, preview, replace=replace_span, via="upload", progress=progress)


# ------------------------------------------------------------------------------------------------ export


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "agency"


def export_name(view: WeekView, what: str, suffix: str) -> str:
    return f"rota-{_slug(view.agency)}-{view.week_start:%Y-%m-%d}-{what}.{suffix}"


def week_csv(view: WeekView, entity: str = SHIFT, tz: tzinfo = SERVICE_TZ) -> bytes:
    """The week's shifts (or absences) as bundle CSV (shifts.csv / absences.csv): local times with
    their offset, so the file imports back unchanged."""
    kind = "shifts" if entity == SHIFT else "absences"
    frame = conform(kind, view.shifts if entity == SHIFT else view.absences)
    return to_csv(frame, tz).encode("utf-8")


def week_workbook(view: WeekView, tz: tzinfo = SERVICE_TZ) -> bytes:
    """The week as an .xlsx workbook of the bundle's sheets (the agency's responders, the week's shifts
    and absences; times as local text with offset, so it imports back unchanged)."""
    rota = Rota(responders=view.responders, shifts=view.shifts, absences=view.absences)
    with tempfile.TemporaryDirectory(prefix="rota-export-") as tmp:
        path = Path(tmp) / "week.xlsx"
        write_workbook(rota, path, tz)
        return path.read_bytes()
