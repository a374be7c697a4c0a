"""Rota editor: one agency's week as a timeline and as editable grids, checked as you type with the import's
rules, the gap impact before saving, saving with conflict detection, import with a preview, exports, the
qualified responders free to fill a gap, and the capacity planner's proposal ("Plan the gaps"). Draws only;
every rule lives in `rota.services.editing` (and the planner's in `rota.services.planning`).

Stable keys for tests: week `editor_week`, agency `editor_agency` (administrator and CDOP manager), grids
`shift_grid` and `absence_grid`, buttons `editor_save`, `editor_discard`, `editor_keep_mine`,
`editor_take_theirs`, `editor_fill_gap`, `editor_import`; uploader `editor_upload`; selects `editor_gap`,
`editor_fill_who`; "Plan the gaps" (`dashboard.components.rota_plan`): period `editor_plan_period`, time
limit `editor_plan_seconds`, buttons `editor_plan_run`, `editor_plan_accept_all`,
`editor_plan_accept_selected`, the proposal `editor_plan_take`.

The sections share the edits held in session state (`editor_base`, the grids, and `editor_pending`, the
shifts added from "Fill a gap" or taken from "Plan the gaps", rows of the grid until saved): the page keeps
the week, the warnings, saving with conflicts and the gap impact, and says what happened next to the button
pressed; the grids, filling a gap, planning the gaps, and the import and export are laid out in
`dashboard.components.rota_grids`, `rota_gaps`, `rota_plan` and `rota_files`, the timeline in
`rota_timeline`. Only Save (or an import) stores anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.charts import UK_DATE_INPUT, show_chart
from dashboard.components.context import engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import counted
from dashboard.components.rota_files import export_section, import_section
from dashboard.components.rota_gaps import FILL_NOTICE, WHO, fill_gap_section
from dashboard.components.rota_grids import problem_table, week_grids
from dashboard.components.rota_plan import plan_gaps_section
from dashboard.components.rota_timeline import week_timeline
from rota.errors import ConflictError, Problem
from rota.services.access import ADMIN, COORDINATOR, ROTA_EDITOR, Actor
from rota.services.editing import (
    Change,
    EditConflict,
    Validation,
    WeekView,
    agencies_for,
    apply_changes,
    conflict_table,
    describe_change,
    edit_conflicts,
    gap_impact,
    rebase,
    save_changes,
    validate_changes,
    week_is_stale,
    week_monday,
    week_rota,
)
from rota.timeutil import utc_now
from rota.vocab import ShiftKind

BASE = "editor_base"
CONFLICTS = "editor_conflicts"
NOTICE = "editor_notice"
GRIDS = ("shift_grid", "absence_grid")
GENERATION = "editor_generation"
PENDING = "editor_pending"
IMPORT_NOTICE = "editor_import_notice"


# ---------------------------------------------------------------------------------------------- the week


def _shift_week(days: int) -> None:
    st.session_state["editor_week"] = week_monday(st.session_state["editor_week"]) + timedelta(days=days)


def _snap_to_monday() -> None:
    picked = st.session_state.get("editor_week")
    if isinstance(picked, date):
        st.session_state["editor_week"] = week_monday(picked)


def _pick(actor: Actor, tz: tzinfo) -> tuple[str | None, date]:
    try:
        agencies = agencies_for(engine(), actor)
    except Exception as exc:
        failed("list the agencies", exc)
        st.stop()
    if "editor_week" not in st.session_state:
        st.session_state["editor_week"] = week_monday(utc_now().astimezone(tz).date())
    left, mid, right = st.columns([3, 2, 3], vertical_alignment="bottom")
    agency: str | None
    if actor.role == COORDINATOR:
        agency = actor.agency
        left.markdown(f"**Agency:** {agency}")
    elif agencies:
        agency = left.selectbox("Agency", agencies, key="editor_agency")
    else:
        agency = None
        left.info("No responders with an agency are stored yet: import a rota below.")
    picked = mid.date_input(
        "Week starting",
        format=UK_DATE_INPUT,
        key="editor_week",
        on_change=_snap_to_monday,
        help="Weeks run from Monday 00:00 to the next Monday 00:00, local time; any day picks its week.",
    )
    with right.container(horizontal=True, gap="small"):
        st.button(
            "Previous week",
            icon=":material/chevron_left:",
            on_click=_shift_week,
            args=(-7,),
            key="editor_prev_week",
        )
        st.button(
            "Next week",
            icon=":material/chevron_right:",
            on_click=_shift_week,
            args=(7,),
            key="editor_next_week",
        )
    day = picked if isinstance(picked, date) else week_monday(utc_now().astimezone(tz).date())
    return agency, week_monday(day)


def _reload() -> None:
    """Read the week afresh on the next run; the grids then start again from the stored rows."""
    st.session_state.pop(BASE, None)
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    st.session_state.pop(CONFLICTS, None)
    st.session_state.pop(PENDING, None)
    for key in GRIDS:
        st.session_state.pop(key, None)


def _pending(agency: str, monday: date) -> list[dict[str, Any]]:
    """The shifts added from "Fill a gap" to this agency's week and not saved yet (local wall times)."""
    held = st.session_state.get(PENDING)
    if isinstance(held, dict) and held.get("agency") == agency and held.get("week") == monday:
        return list(held["rows"])
    return []


def _put_pending(shifts: Sequence[tuple[str, datetime, datetime]]) -> list[dict[str, Any]]:
    """Put on-call shifts (responder, aware start and end) into the grid as unsaved rows; the new ones."""
    held = st.session_state.get(BASE)
    if held is None:
        return []
    tz = service_tz()
    rows = _pending(held["agency"], held["week"])
    new = []
    for responder_id, start, end in shifts:
        row = {
            "responder_id": responder_id,
            "start": start.astimezone(tz).replace(tzinfo=None),
            "end": end.astimezone(tz).replace(tzinfo=None),
            "kind": ShiftKind.ONCALL.value,
        }
        if row not in rows:
            rows.append(row)
            new.append(row)
    st.session_state[PENDING] = {"agency": held["agency"], "week": held["week"], "rows": rows}
    return new


def _add_planned(shifts: Sequence[tuple[str, datetime, datetime]]) -> int:
    """The fills taken from "Plan the gaps" into the grid (a button's callback); how many were new."""
    return len(_put_pending(shifts))


def _add_pending(responder_id: str, start: datetime, end: datetime) -> None:
    """Put an on-call shift over a gap into the grid as an unsaved row (a button's callback, so the grid
    shows it in the very run that follows the click)."""
    held = st.session_state.get(BASE)
    if held is None:
        return
    _put_pending([(responder_id, start, end)])
    tz = service_tz()
    row = {"start": start.astimezone(tz).replace(tzinfo=None), "end": end.astimezone(tz).replace(tzinfo=None)}
    st.session_state[WHO] = None  # the next gap filled starts with nobody chosen
    name = held["view"].names().get(responder_id, responder_id)
    st.session_state[FILL_NOTICE] = (
        f"Added to the grid: an on-call shift for {name}, {row['start']:%d/%m/%Y %H:%M} to "
        f"{row['end']:%d/%m/%Y %H:%M}. Nothing is stored until you save."
    )


def _typed_edits() -> bool:
    """Whether the grids hold edits typed in them (not the rows added from "Fill a gap")."""
    for key in GRIDS:
        state = st.session_state.get(key)
        if isinstance(state, dict) and any(
            state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows")
        ):
            return True
    return False


def _has_edits() -> bool:
    return _typed_edits() or bool(st.session_state.get(PENDING))


def _base(actor: Actor, agency: str, monday: date, tz: tzinfo) -> WeekView:
    """The week as read when editing began: kept while editing, so the versions saved against are the
    ones the user saw, and the grids' edits stay aligned with their rows."""
    held = st.session_state.get(BASE)
    if held is not None and held["agency"] == agency and held["week"] == monday:
        view: WeekView = held["view"]
        if _has_edits() or st.session_state.get(CONFLICTS) or not week_is_stale(engine(), view):
            return view
        # nothing edited here and something stored meanwhile: show the rows as they are now
        st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    view = week_rota(engine(), actor, monday, tz, agency)
    st.session_state[BASE] = {"agency": agency, "week": monday, "view": view}
    st.session_state.pop(CONFLICTS, None)
    if not _pending(agency, monday):
        st.session_state.pop(PENDING, None)  # rows added to another week are dropped with it
    return view


# ---------------------------------------------------------------------------------------------- timeline


def _timeline(view: WeekView, shifts: pl.DataFrame, absences: pl.DataFrame, tz: tzinfo, edited: bool) -> None:
    made = week_timeline(view, shifts, absences, tz)
    if made is None:
        st.info("Nobody in this agency has a shift or an absence this week.")
        return
    fig, responders = made
    show_chart(
        fig,
        alt=(
            f"Timeline of {responders} responders of {view.agency} for the week starting "
            f"{view.week_start:%d/%m/%Y}: on-call shifts blue, on-site orange, absences hatched grey"
            + (" (with your unsaved changes)." if edited else ".")
            + " The same rows are in the grids below."
        ),
        key="editor_timeline",
    )
    if edited:
        st.caption("The timeline shows your unsaved changes.")


# ---------------------------------------------------------------------------------------------- saving


def _save(actor: Actor, changes: Sequence[Change]) -> None:
    try:
        result = save_changes(engine(), actor, changes)
    except EditConflict as exc:
        st.session_state[CONFLICTS] = exc.conflicts
        return
    except ConflictError as exc:  # pragma: no cover - save_changes raises EditConflict
        st.error(str(exc))
        return
    except Exception as exc:
        failed("save", exc)
        return
    st.session_state[NOTICE] = str(result)
    _reload()
    st.rerun()


def _imported(notice: str) -> None:
    """After an import: say what was stored, and read the week afresh."""
    st.session_state[IMPORT_NOTICE] = notice
    _reload()
    st.rerun()


def _conflicts(actor: Actor, view: WeekView, checked: Validation, tz: tzinfo) -> None:
    conflicts = st.session_state.get(CONFLICTS)
    if not conflicts:
        return
    n = len(conflicts)
    st.error(
        f"Nothing was saved: {counted(n, 'row')} changed since you opened this week. Your "
        "edits are kept below. Compare the two versions, then keep yours or take the current one.",
        icon=":material/sync_problem:",
    )
    st.dataframe(conflict_table(conflicts, view.names(), tz), hide_index=True, key="editor_conflict_table")
    left, right = st.columns(2)
    if left.button("Keep my version", key="editor_keep_mine", type="primary", disabled=not checked.ok):
        _save(actor, rebase(checked.changes, conflicts))
    if right.button("Take the current version (drop my edits)", key="editor_take_theirs"):
        _reload()
        st.rerun()


def _warnings(actor: Actor, checked: Validation, tz: tzinfo) -> None:
    """What the unsaved rows would leave wrong besides gaps (own leave, overlapping shifts, short rest, a
    lapsed competency): warnings, shown as you type; saving is not stopped by them."""
    if not checked.ok or not checked.changes:
        return
    try:
        found = edit_conflicts(engine(), actor, checked.changes, tz)
    except Exception as exc:
        failed("check your edits for leave, overlaps, rest and training", exc)
        return
    if found.is_empty():
        return
    st.warning(
        "**Check before saving** (saving is not stopped by these):\n"
        + "\n".join(f"- {w}." for w in found.get_column("warning").to_list()),
        icon=":material/warning:",
    )


def _impact(actor: Actor, view: WeekView, checked: Validation, tz: tzinfo) -> None:
    st.header("Gap impact")
    if not checked.changes and checked.ok:
        st.caption("No unsaved changes.")
        return
    if not checked.ok:
        st.info("Fix the problems above to see what your changes do to the gaps.")
        return
    names = view.names()
    with st.container(border=True):
        st.markdown("**Your unsaved changes**")
        st.markdown("\n".join(f"- {describe_change(c, names, tz)}" for c in checked.changes))
        try:
            impact = gap_impact(engine(), actor, checked.changes, tz)
        except Exception as exc:
            failed("work out the gap impact", exc)
            return
        if not impact.sentences:
            st.success("No gap opens, closes or changes.", icon=":material/check_circle:")
        for effect, sentence in impact.effects.select("effect", "sentence").iter_rows():
            text = sentence[:1].upper() + sentence[1:]
            if effect in ("opens", "lengthens", "deepens", "moves"):
                st.warning(text, icon=":material/warning:")
            else:
                st.success(text, icon=":material/check_circle:")


# ---------------------------------------------------------------------------------------------- the page

actor = require_page(ROTA_EDITOR)
st.title("Rota editor")
tz = service_tz()
notice = st.session_state.pop(NOTICE, None)
agency, monday = _pick(actor, tz)
view: WeekView | None = None
if agency is not None:
    try:
        view = _base(actor, agency, monday, tz)
    except Exception as exc:
        failed("open this week", exc)
if view is not None:
    sunday = monday + timedelta(days=6)
    st.caption(
        f"{view.agency}: Monday {monday:%d/%m/%Y} to Sunday {sunday:%d/%m/%Y}. Times are local ({tz}), "
        "24-hour clock."
    )
    if not view.editable:
        st.info(
            "Read only: your role sees every agency's rota but changes none of it.",
            icon=":material/visibility:",
        )
    timeline_slot = st.container()
    st.header("Shifts and absences")
    edited_shifts, edited_absences = week_grids(
        view, tz, st.session_state.get(GENERATION, 0), _pending(view.agency, view.week_start)
    )
    try:
        checked = (
            validate_changes(view, edited_shifts, edited_absences, tz) if view.editable else Validation()
        )
    except Exception as exc:
        failed("check your edits", exc)
        checked = Validation((), (Problem("Shifts", None, None, "the grids could not be read; reload"),))
    if checked.problems:
        n = len(checked.problems)
        st.error(f"{counted(n, 'problem')} to fix before saving:", icon=":material/error:")
        problem_table(checked.problems, {"Shifts": edited_shifts, "Absences": edited_absences}, view.names())
    if view.editable:
        _warnings(actor, checked, tz)
    with timeline_slot:
        st.header("Timeline")
        if checked.ok and checked.changes:
            now_shifts, now_absences = apply_changes(view.shifts, view.absences, checked.changes)
            _timeline(view, now_shifts, now_absences, tz, edited=True)
        else:
            _timeline(view, view.shifts, view.absences, tz, edited=False)
    fill_gap_section(actor, view, tz, _typed_edits(), _add_pending)
    plan_gaps_section(actor, view, tz, _pending(view.agency, view.week_start), _typed_edits(), _add_planned)
    if view.editable:
        _impact(actor, view, checked, tz)
        with st.container(horizontal=True, gap="small"):
            save = st.button(
                "Save",
                key="editor_save",
                type="primary",
                icon=":material/save:",
                disabled=not checked.changes or not checked.ok,
            )
            st.button(
                "Discard changes",
                key="editor_discard",
                disabled=not checked.changes and checked.ok,
                on_click=_reload,
            )
        # what saving did, or why it did not, right under the buttons
        if notice:
            st.success(notice, icon=":material/check_circle:")
        if save:
            _save(actor, checked.changes)
        _conflicts(actor, view, checked, tz)
    export_section(view, tz)
if actor.role in (ADMIN, COORDINATOR):
    import_section(actor, tz, _imported, st.session_state.pop(IMPORT_NOTICE, None))
