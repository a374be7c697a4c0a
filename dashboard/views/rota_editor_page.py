"""Rota editor: one agency's week as a timeline and as editable grids, checked as you type with the import's
rules, the gap impact before saving, saving with conflict detection, import with a preview, exports, and
the qualified responders free to fill a gap. Draws only; every rule lives in `rota.services.editing`.

Stable keys for tests: week `editor_week`, agency `editor_agency` (administrator and CDOP manager), grids
`shift_grid` and `absence_grid`, buttons `editor_save`, `editor_discard`, `editor_keep_mine`,
`editor_take_theirs`, `editor_fill_gap`, `editor_import`; uploader `editor_upload`.

Over 450 lines: one workflow on one week, whose sections (week, grids, saving with conflicts, gap impact,
filling a gap, import, export) share the edits held in session state (`editor_base`, the grids, the import
preview); each section is layout over `rota.services.editing`, and the timeline is drawn in
`dashboard.components.rota_timeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta, tzinfo
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.charts import (
    UK_DATE_INPUT,
    show_chart,
)
from dashboard.components.context import engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.rota_timeline import KIND_LABELS, week_timeline
from rota.errors import ConflictError, Problem
from rota.services.access import ADMIN, COORDINATOR, ROTA_EDITOR, Actor
from rota.services.calendar import shifts_calendar
from rota.services.editing import (
    CREATE,
    SHIFT,
    Change,
    EditConflict,
    ImportPreview,
    Validation,
    WeekView,
    agencies_for,
    apply_changes,
    apply_import,
    conflict_table,
    describe_change,
    editor_frames,
    export_name,
    gap_candidates,
    gap_impact,
    preview_import,
    rebase,
    save_changes,
    shift_row,
    span_text,
    to_wall,
    validate_changes,
    week_csv,
    week_gaps,
    week_is_stale,
    week_monday,
    week_rota,
    week_workbook,
)
from rota.timeutil import utc_now

UK_DATETIME_EDIT = "DD/MM/YYYY HH:mm"
COLUMN_LABELS = {
    "responder_id": "Responder",
    "start": "Start",
    "end": "End",
    "kind": "Kind",
    "reason": "Reason",
}
BASE = "editor_base"
CONFLICTS = "editor_conflicts"
NOTICE = "editor_notice"
PREVIEW = "editor_preview"
GRIDS = ("shift_grid", "absence_grid")
GENERATION = "editor_generation"


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
    for key in GRIDS:
        st.session_state.pop(key, None)


def _has_edits() -> bool:
    for key in GRIDS:
        state = st.session_state.get(key)
        if isinstance(state, dict) and any(
            state.get(k) for k in ("edited_rows", "added_rows", "deleted_rows")
        ):
            return True
    return False


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


# ---------------------------------------------------------------------------------------------- grids


def _grids(view: WeekView, tz: tzinfo) -> tuple[Any, Any]:
    shifts, absences = editor_frames(view, tz)
    # A hidden column that changes on every reload: an editor whose data changes starts afresh, so a
    # reload (after saving or discarding) never re-applies old edits to new rows.
    loaded = pl.lit(st.session_state.get(GENERATION, 0), dtype=pl.Int64).alias("loaded")
    shifts, absences = shifts.with_columns(loaded), absences.with_columns(loaded)
    names = view.names()
    ids = view.responders.filter(pl.col("active").fill_null(True)).get_column("responder_id").to_list()
    for frame in (shifts, absences):  # rows of responders who have since left stay readable
        ids += [r for r in frame.get_column("responder_id").unique(maintain_order=True) if r not in ids]
    who = st.column_config.SelectboxColumn(
        "Responder",
        options=ids,
        format_func=lambda rid: f"{names.get(str(rid), rid)} ({rid})",
        required=True,
        width="medium",
    )
    start = st.column_config.DatetimeColumn("Start", format=UK_DATETIME_EDIT, step=60, required=True)
    end = st.column_config.DatetimeColumn("End", format=UK_DATETIME_EDIT, step=60, required=True)
    if not view.editable:
        shown = {"responder_id": who, "start": start, "end": end}
        st.markdown("**Shifts**")
        st.dataframe(
            shifts.drop("shift_id", "loaded"), hide_index=True, column_config=shown, key="shift_table"
        )
        st.markdown("**Absences**")
        st.dataframe(
            absences.drop("absence_id", "loaded"), hide_index=True, column_config=shown, key="absence_table"
        )
        return None, None
    st.markdown("**Shifts**")
    st.caption(
        "Times are local wall-clock times (24-hour). Add a row at the bottom; select rows and press Delete "
        "to remove them. Nothing is stored until you save."
    )
    edited_shifts = st.data_editor(
        shifts,
        key="shift_grid",
        num_rows="dynamic",
        hide_index=True,
        column_order=("responder_id", "start", "end", "kind"),
        column_config={
            "responder_id": who,
            "start": start,
            "end": end,
            "kind": st.column_config.SelectboxColumn(
                "Kind",
                options=list(KIND_LABELS),
                format_func=lambda k: KIND_LABELS.get(str(k), k),
                default="oncall",
            ),
        },
        alt=f"Shifts of {view.agency} in the week starting {view.week_start:%d/%m/%Y}",
    )
    st.markdown("**Absences** (leave, sickness, training)")
    edited_absences = st.data_editor(
        absences,
        key="absence_grid",
        num_rows="dynamic",
        hide_index=True,
        column_order=("responder_id", "start", "end", "reason"),
        column_config={
            "responder_id": who,
            "start": start,
            "end": end,
            "reason": st.column_config.TextColumn("Reason", max_chars=200, help="For example annual leave"),
        },
        alt=f"Absences of {view.agency} in the week starting {view.week_start:%d/%m/%Y}",
    )
    return edited_shifts, edited_absences


def _problem_table(problems: Sequence[Problem], grids: dict[str, Any], names: dict[str, str]) -> None:
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
                    f"{when:%d/%m/%Y %H:%M}" if when else "",
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


def _conflicts(actor: Actor, view: WeekView, checked: Validation, tz: tzinfo) -> None:
    conflicts = st.session_state.get(CONFLICTS)
    if not conflicts:
        return
    n = len(conflicts)
    st.error(
        f"Nothing was saved: {n} row{'s' if n != 1 else ''} changed since you opened this week. Your "
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


def _impact(actor: Actor, view: WeekView, checked: Validation, tz: tzinfo) -> None:
    st.subheader("Gap impact")
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


# ---------------------------------------------------------------------------------------------- fill a gap


def _free_table(free: pl.DataFrame, tz: tzinfo) -> pl.DataFrame:
    """The free responders for people: local times as text, rest in hours, 'a week or more' for none."""
    wall = to_wall(free, ("previous_shift_end", "next_shift_start"), tz)

    def when(column: str) -> pl.Expr:
        return pl.col(column).dt.strftime("%a %d/%m/%Y %H:%M").fill_null("none within 8 days")

    def rest(column: str) -> pl.Expr:
        return (pl.col(column).round(1).cast(pl.String) + " h").fill_null("a week or more")

    return wall.select(
        pl.col("name").alias("Name"),
        pl.col("responder_id").alias("ID"),
        pl.col("email").alias("Email"),
        when("previous_shift_end").alias("Previous shift ended"),
        rest("rest_before_hours").alias("Rest before"),
        when("next_shift_start").alias("Next shift starts"),
        rest("rest_after_hours").alias("Rest after"),
    )


def _fill_gap(actor: Actor, view: WeekView, checked: Validation, tz: tzinfo) -> None:
    st.subheader("Fill a gap")
    try:
        found = week_gaps(engine(), actor, view.week_start, tz)
    except Exception as exc:
        failed("find this week's gaps", exc)
        return
    roles = set(view.responders.get_column("role").to_list())
    mine = found.filter(pl.col("role").is_in(list(roles)))
    if found.is_empty():
        st.success("No gaps this week.")
        return
    if mine.is_empty():
        st.success(
            f"No gaps this week in the roles {view.agency} covers; other agencies' gaps are on Coverage."
        )
        return
    rows = mine.to_dicts()
    # Options are plain text (session state must pickle, so no closures as format functions).
    labels = [
        f"{g['rule_id']}: {span_text(g['start'], g['end'], tz)} ({g['start'].astimezone(tz):%d/%m/%Y}), "
        f"{g['available']} of {g['required']} qualified"
        for g in rows
    ]
    picked = st.selectbox("Gap", labels, key="editor_gap")
    gap = rows[labels.index(picked) if picked in labels else 0]
    try:
        people = gap_candidates(
            engine(), actor, gap["rule_id"], (gap["start"], gap["end"]), tz=tz, agency=view.agency
        )
    except Exception as exc:
        failed("find free responders", exc)
        return
    free = people.filter(pl.col("free"))
    if free.is_empty():
        st.warning(
            "Nobody in this agency is qualified and free for the whole gap with 11 hours' rest either side."
        )
    else:
        st.caption(
            "Qualified for the rule through the whole gap, not on leave, not on duty, and with at least 11 "
            "hours' rest after their previous shift and before their next."
        )
        st.dataframe(_free_table(free, tz), hide_index=True, key="editor_free")
    busy = people.filter(~pl.col("free"))
    if not busy.is_empty():
        with st.expander(f"Not free ({busy.height}), and why"):
            st.dataframe(
                busy.select(
                    pl.col("name").alias("Name"),
                    pl.col("responder_id").alias("ID"),
                    pl.col("reason").alias("Why not"),
                ),
                hide_index=True,
                key="editor_not_free",
            )
    if view.editable and not free.is_empty():
        by_label = {f"{name} ({rid})": rid for rid, name in free.select("responder_id", "name").iter_rows()}
        chosen = st.selectbox("Put on the rota for this gap", list(by_label), key="editor_fill_who")
        who = by_label.get(chosen) if chosen is not None else None
        pending = bool(checked.changes) or not checked.ok
        if st.button(
            "Add an on-call shift over this gap",
            key="editor_fill_gap",
            disabled=pending or who is None,
            help="Save or discard your grid edits first." if pending else None,
        ):
            _save(actor, [Change(SHIFT, CREATE, after=shift_row(str(who), gap["start"], gap["end"]))])


# ---------------------------------------------------------------------------------------------- import


def _import(actor: Actor, view: WeekView | None, tz: tzinfo) -> None:
    st.subheader("Import")
    st.caption(
        "A bundle folder zipped (.zip), a workbook (.xlsx) with sheets responders, training, shifts and "
        "absences, or one CSV file. Every row is checked first; nothing is stored unless every row is right."
    )
    left, right = st.columns([3, 2])
    upload = left.file_uploader(
        "Rota file",
        type=["zip", "xlsx", "csv"],
        key="editor_upload",
        help="The bundle format is in the README.",
    )
    kind = right.selectbox(
        "A CSV file holds",
        ["from its name", "shifts", "absences", "responders", "training"],
        key="editor_upload_kind",
    )
    replace = right.checkbox(
        "Replace stored shifts and absences over the file's time span",
        key="editor_upload_replace",
        help="First removes the stored shifts and absences of the file's responders between the file's "
        "earliest start and latest end.",
    )
    if upload is None:
        return
    token = (upload.file_id, kind)
    held = st.session_state.get(PREVIEW)
    if held is None or held["token"] != token:
        try:
            with st.spinner("Checking every row..."):
                preview = preview_import(
                    engine(),
                    actor,
                    upload.name,
                    upload.getvalue(),
                    tz,
                    None if kind == "from its name" else kind,
                )
        except Exception as exc:
            failed("read the file", exc, where=True)
            return
        st.session_state[PREVIEW] = {"token": token, "preview": preview}
    else:
        preview = held["preview"]
    _preview(preview, tz)
    if st.button("Import", key="editor_import", type="primary", disabled=not preview.ok):
        bar = st.progress(0.0, text="Starting the import")
        try:
            summary = apply_import(
                engine(), actor, preview, replace_span=replace, progress=lambda f, m: bar.progress(f, text=m)
            )
        except Exception as exc:
            bar.empty()
            failed("import the file", exc, where=True)
            return
        st.session_state.pop(PREVIEW, None)
        st.session_state[NOTICE] = f"Imported {preview.source}: {summary}."
        _reload()
        st.rerun()


def _preview(preview: ImportPreview, tz: tzinfo) -> None:
    if preview.counts:
        st.markdown(
            f"**{preview.source}:** " + ", ".join(f"{n:,} {what}" for what, n in preview.counts.items())
        )
    if preview.problems:
        n = len(preview.problems)
        st.error(
            f"{n} problem{'s' if n != 1 else ''}: fix {'them' if n != 1 else 'it'} and upload again. "
            "Nothing was stored."
        )
        st.dataframe(
            pl.DataFrame(
                [
                    {"File": p.file, "Line": p.line, "Column": p.column, "Problem": p.reason}
                    for p in preview.problems
                ],
                schema={"File": pl.String, "Line": pl.Int64, "Column": pl.String, "Problem": pl.String},
            ),
            hide_index=True,
            key="editor_import_problems",
        )
    for kind in preview.kinds:
        frame = preview.frame(kind)
        if frame is None or frame.is_empty():
            continue
        instants = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        st.markdown(
            f"**{kind.capitalize()}** ({frame.height:,} rows"
            + (", first 200 shown)" if frame.height > 200 else ")")
        )
        st.dataframe(
            to_wall(frame.head(200), instants, tz),
            hide_index=True,
            column_config={c: st.column_config.DatetimeColumn(format=UK_DATETIME_EDIT) for c in instants},
            key=f"editor_import_{kind}",
        )


# ---------------------------------------------------------------------------------------------- export


def _export(view: WeekView, tz: tzinfo) -> None:
    st.subheader("Export this week")
    st.caption(
        "CSV and Excel use the bundle format with local times and their UTC offset, so they import back "
        "unchanged. The calendar has one event per shift with a stable identifier, so importing it again "
        "updates events instead of doubling them."
    )
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Shifts (CSV)",
            lambda: week_csv(view, "shift", tz),
            file_name=export_name(view, "shifts", "csv"),
            mime="text/csv",
            key="editor_export_shifts",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "Absences (CSV)",
            lambda: week_csv(view, "absence", tz),
            file_name=export_name(view, "absences", "csv"),
            mime="text/csv",
            key="editor_export_absences",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "Week (Excel)",
            lambda: week_workbook(view, tz),
            file_name=export_name(view, "week", "xlsx"),
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="editor_export_xlsx",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "Calendar (iCalendar)",
            lambda: shifts_calendar(view.shifts, view.responders, tz, name=f"JAR rota: {view.agency}"),
            file_name=export_name(view, "shifts", "ics"),
            mime="text/calendar",
            key="editor_export_ics",
            icon=":material/calendar_month:",
            on_click="ignore",
        )


# ---------------------------------------------------------------------------------------------- the page

actor = require_page(ROTA_EDITOR)
st.title("Rota editor")
tz = service_tz()
notice = st.session_state.pop(NOTICE, None)
if notice:
    st.success(notice, icon=":material/check_circle:")
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
    st.subheader("Shifts and absences")
    edited_shifts, edited_absences = _grids(view, tz)
    try:
        checked = (
            validate_changes(view, edited_shifts, edited_absences, tz) if view.editable else Validation()
        )
    except Exception as exc:
        failed("check your edits", exc)
        checked = Validation((), (Problem("Shifts", None, None, "the grids could not be read; reload"),))
    if checked.problems:
        n = len(checked.problems)
        st.error(f"{n} problem{'s' if n != 1 else ''} to fix before saving:", icon=":material/error:")
        frames = {
            "Shifts": edited_shifts if isinstance(edited_shifts, pl.DataFrame) else None,
            "Absences": edited_absences if isinstance(edited_absences, pl.DataFrame) else None,
        }
        _problem_table(checked.problems, frames, view.names())
    with timeline_slot:
        st.subheader("Timeline")
        if checked.ok and checked.changes:
            now_shifts, now_absences = apply_changes(view.shifts, view.absences, checked.changes)
            _timeline(view, now_shifts, now_absences, tz, edited=True)
        else:
            _timeline(view, view.shifts, view.absences, tz, edited=False)
    if view.editable:
        _impact(actor, view, checked, tz)
        with st.container(horizontal=True, gap="small"):
            if st.button(
                "Save",
                key="editor_save",
                type="primary",
                icon=":material/save:",
                disabled=not checked.changes or not checked.ok,
            ):
                _save(actor, checked.changes)
            if st.button(
                "Discard changes", key="editor_discard", disabled=not checked.changes and checked.ok
            ):
                _reload()
                st.rerun()
        _conflicts(actor, view, checked, tz)
    _fill_gap(actor, view, checked, tz)
    _export(view, tz)
if actor.role in (ADMIN, COORDINATOR):
    _import(actor, view, tz)
