"""The Rota editor's grids: one agency's week of shifts and of absences, editable where the role may change
them (read-only tables otherwise), times typed as UK text ("05/12/2026 19:00"), and the table of what in the
grids must be fixed before saving. Layout only; the rows come from `rota.services.editing.editor_frames`
and are checked by its `validate_changes`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, cast

import polars as pl
import streamlit as st

from dashboard.components.rota_timeline import KIND_LABELS
from rota.errors import Problem
from rota.services.editing import WeekView, editor_frames
from rota.vocab import DEFAULT_SHIFT_KIND

UK_DATETIME_EDIT = "DD/MM/YYYY HH:mm"
UK_WALL = "%d/%m/%Y %H:%M"  # the grids' times as text (rota.bundle reads this and ISO 8601 alike)
COLUMN_LABELS = {
    "responder_id": "Responder",
    "start": "Start",
    "end": "End",
    "kind": "Kind",
    "reason": "Reason",
}


def _responder_ids(view: WeekView, frames: Sequence[pl.DataFrame]) -> list[str]:
    """The active responders, then those who have since left but still have rows this week (kept readable)."""
    ids: list[str] = (
        view.responders.filter(pl.col("active").fill_null(True)).get_column("responder_id").to_list()
    )
    for frame in frames:
        ids += [r for r in frame.get_column("responder_id").unique(maintain_order=True) if r not in ids]
    return ids


def _typed_time(label: str) -> Any:
    return st.column_config.TextColumn(
        label,
        required=True,
        max_chars=19,
        help="Local date and time, day first, 24-hour clock: 05/12/2026 19:00",
    )


def _edit_grid(frame: pl.DataFrame, key: str, columns: dict[str, Any], alt: str) -> pl.DataFrame:
    """An editable grid of `frame` showing `columns` (name to column config) in that order; rows may be
    added and deleted. Returns the edited rows as a polars frame."""
    # Streamlit edits a polars frame and returns one, but its stubs type `data` as pandas-like only.
    editor = cast(Callable[..., pl.DataFrame], st.data_editor)
    return editor(
        frame,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        column_order=tuple(columns),
        column_config=columns,
        alt=alt,
    )


def week_grids(
    view: WeekView, tz: tzinfo, generation: int, pending: Sequence[Mapping[str, Any]] = ()
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The week's shifts and absences as grids (keys `shift_grid`, `absence_grid`) when the view is
    editable, returning the edited frames; as tables (and None, None) when it is read only. `pending`
    holds shifts added from "Fill a gap" and not saved yet (responder_id, local wall start and end,
    kind): they are rows of the shift grid without an id, new rows like those typed in.

    `generation` changes on every reload: it goes in a hidden column, and an editor whose data changes
    starts afresh, so a reload (after saving or discarding) never re-applies old edits to new rows."""
    shifts, absences = editor_frames(view, tz)
    if pending and view.editable:
        added = pl.DataFrame([dict(r) for r in pending]).with_columns(shift_id=pl.lit(None, pl.String))
        shifts = pl.concat([shifts, added.select(shifts.columns).cast(shifts.schema)])
    loaded = pl.lit(generation, dtype=pl.Int64).alias("loaded")
    shifts, absences = shifts.with_columns(loaded), absences.with_columns(loaded)
    names = view.names()
    who = st.column_config.SelectboxColumn(
        "Responder",
        options=_responder_ids(view, (shifts, absences)),
        format_func=lambda rid: f"{names.get(str(rid), rid)} ({rid})",
        required=True,
        width="medium",
    )
    start = st.column_config.DatetimeColumn("Start", format=UK_DATETIME_EDIT, step=60, required=True)
    end = st.column_config.DatetimeColumn("End", format=UK_DATETIME_EDIT, step=60, required=True)
    times = {"responder_id": who, "start": start, "end": end}
    if not view.editable:
        st.markdown("**Shifts**")
        st.dataframe(
            shifts.drop("shift_id", "loaded"), hide_index=True, column_config=times, key="shift_table"
        )
        st.markdown("**Absences**")
        st.dataframe(
            absences.drop("absence_id", "loaded"), hide_index=True, column_config=times, key="absence_table"
        )
        return None, None
    # Typed as text in UK order: a browser's own date-time picker follows the browser's locale (US order
    # and a 12-hour clock in many), whatever the column's display format says.
    as_text = [pl.col(c).dt.strftime(UK_WALL) for c in ("start", "end")]
    shifts, absences = shifts.with_columns(as_text), absences.with_columns(as_text)
    typed = {"start": _typed_time("Start"), "end": _typed_time("End")}
    times |= typed
    week = f"of {view.agency} in the week starting {view.week_start:%d/%m/%Y}"
    st.markdown("**Shifts**")
    st.caption(
        "Times are local wall-clock times, typed day first with a 24-hour clock: 05/12/2026 19:00. Add a row "
        "at the bottom; select rows and press Delete to remove them. Nothing is stored until you save."
    )
    kind = st.column_config.SelectboxColumn(
        "Kind",
        options=list(KIND_LABELS),
        format_func=lambda k: KIND_LABELS.get(str(k), str(k)),
        default=DEFAULT_SHIFT_KIND.value,
    )
    edited_shifts = _edit_grid(shifts, "shift_grid", times | {"kind": kind}, f"Shifts {week}")
    st.markdown("**Absences** (leave, sickness, training)")
    reason = st.column_config.TextColumn("Reason", max_chars=200, help="For example annual leave")
    edited_absences = _edit_grid(absences, "absence_grid", times | {"reason": reason}, f"Absences {week}")
    return edited_shifts, edited_absences


def problem_table(
    problems: Sequence[Problem], grids: dict[str, pl.DataFrame | None], names: dict[str, str]
) -> None:
    """The problems in the grids, each with the responder and start of its row so it can be found."""
    rows = []
    for p in problems:
        context = ""
        frame = grids.get(p.file)
        if frame is not None and p.line is not None and 0 < p.line <= len(frame):
            row = frame.row(p.line - 1, named=True)
            rid = row.get("responder_id")
            when = row.get("start")
            context = " ".join(
                x
                for x in (
                    names.get(str(rid), str(rid)) if rid else "",
                    f"{when:%d/%m/%Y %H:%M}" if isinstance(when, datetime) else str(when or ""),
                )
                if x
            )
        rows.append(
            {
                "Grid": p.file,
                "Row": p.line,
                "Row holds": context,
                "Column": COLUMN_LABELS.get(p.column or "", p.column),
                "Problem": p.reason,
            }
        )
    st.dataframe(pl.DataFrame(rows), hide_index=True, key="editor_problems")
