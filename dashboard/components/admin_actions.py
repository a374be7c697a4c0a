"""The Admin page's "Board actions" and "Assurance packs" parts: the board's actions in a table whose open
rows can be edited, with forms to add one and to close one; and the stored packs, each with a download
button. Draws only: who may do what, the checks and the audit are in `rota.services.actions` and
`rota.services.packs`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.context import engine
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import UK_DATE_COLUMN, UK_DATE_INPUT, uk_datetime
from rota.errors import ConflictError, InputError, PermissionDenied
from rota.limits import EARLIEST_DATE, LATEST_DATE, NAME_MAX, TEXT_MAX
from rota.services.access import Actor
from rota.services.actions import (
    action_versions,
    add_action,
    can_write_actions,
    close_action,
    list_actions,
    update_action,
)
from rota.services.packs import list_packs, pack_content
from rota.timeutil import zone_name
from rota.vocab import PackAudience

SNAPSHOT = "admin_actions_snapshot"  # the open actions as read when editing began (rows, versions)
EDITOR = "actions_editor"
EDITABLE = ("title", "owner_agency", "owner", "due", "notes")
Done = Callable[[str], None]


def _read_open(actor: Actor) -> dict[str, Any]:
    found = list_actions(engine(), actor, status="open")
    versions = action_versions(engine(), actor)
    rows = found.select("id", *EDITABLE).to_dicts()
    return {"rows": rows, "versions": {str(r["id"]): versions[r["id"]] for r in rows}}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _due(value: object) -> date | None:
    if hasattr(value, "date") and callable(value.date):  # a pandas or datetime timestamp from the editor
        value = value.date()
    return value if isinstance(value, date) else None


def _save_edits(actor: Actor, snapshot: dict[str, Any], edited: Any, done: Done) -> None:
    rows = edited.to_dicts() if isinstance(edited, pl.DataFrame) else edited.to_dict("records")
    before = {int(r["id"]): r for r in snapshot["rows"]}
    changed = 0
    problems: list[tuple[int, Exception]] = []
    for row in rows:
        action_id = int(row["id"])
        old = before.get(action_id)
        if old is None:
            continue
        new: dict[str, Any] = {k: _due(row[k]) if k == "due" else _text(row[k]) or "" for k in EDITABLE}
        was: dict[str, Any] = {k: old[k] if k == "due" else old[k] or "" for k in EDITABLE}
        changes = {k: v for k, v in new.items() if v != was[k] and v is not None}
        if not changes:
            continue
        try:
            update_action(engine(), actor, action_id, version=snapshot["versions"][str(action_id)], **changes)
        except (InputError, PermissionDenied, ConflictError) as exc:
            problems.append((action_id, exc))
        else:
            changed += 1
    st.session_state.pop(SNAPSHOT, None)
    st.session_state.pop(EDITOR, None)
    if problems:
        for action_id, why in problems:
            st.error(f"Action {action_id} was not changed:")
            failed("change the action", why)
        if changed:
            st.info(f"{changed} other action{'s were' if changed != 1 else ' was'} changed.")
        return
    done(f"{changed} action{'s' if changed != 1 else ''} changed." if changed else "Nothing was changed.")


def _editor(actor: Actor, done: Done) -> None:
    snapshot: dict[str, Any] | None = st.session_state.get(SNAPSHOT)
    if snapshot is None:
        snapshot = _read_open(actor)
        st.session_state[SNAPSHOT] = snapshot
    if not snapshot["rows"]:
        st.info("No open actions. Add one below, or with `rota actions add`.")
        return
    frame = pl.DataFrame(
        snapshot["rows"],
        schema={
            "id": pl.Int64(),
            "title": pl.String(),
            "owner_agency": pl.String(),
            "owner": pl.String(),
            "due": pl.Date(),
            "notes": pl.String(),
        },
        orient="row",
    )
    with st.form("actions_edit_form"):
        edited = st.data_editor(
            frame,
            key=EDITOR,
            hide_index=True,
            num_rows="fixed",
            disabled=["id"],
            column_config={
                "id": st.column_config.NumberColumn("Id", format="%d"),
                "title": st.column_config.TextColumn("Title", required=True, max_chars=NAME_MAX),
                "owner_agency": st.column_config.TextColumn(
                    "Owner agency", required=True, max_chars=NAME_MAX
                ),
                "owner": st.column_config.TextColumn("Owner", required=True, max_chars=NAME_MAX),
                "due": st.column_config.DateColumn(
                    "Due",
                    format=UK_DATE_COLUMN,
                    min_value=EARLIEST_DATE,
                    max_value=LATEST_DATE,
                    required=True,
                ),
                "notes": st.column_config.TextColumn("Notes", max_chars=TEXT_MAX),
            },
        )
        save, reload = st.columns([1, 5])
        submitted = save.form_submit_button("Save changes", type="primary")
        reloaded = reload.form_submit_button("Discard changes and reload")
    if reloaded:
        st.session_state.pop(SNAPSHOT, None)
        st.session_state.pop(EDITOR, None)
        st.rerun()
    if submitted:
        _save_edits(actor, snapshot, edited, done)


def _add_form(actor: Actor, done: Done) -> None:
    with st.form("action_add_form", clear_on_submit=True):
        st.markdown("**Add an action**")
        title = st.text_input("Title", key="action_title", max_chars=NAME_MAX)
        agency = st.text_input("Owner agency", key="action_agency", max_chars=NAME_MAX)
        owner = st.text_input("Owner (a name or a post)", key="action_owner", max_chars=NAME_MAX)
        due = st.date_input(
            "Due",
            value=None,
            min_value=EARLIEST_DATE,
            max_value=LATEST_DATE,
            format=UK_DATE_INPUT,
            key="action_due",
        )
        notes = st.text_area("Notes", key="action_notes", max_chars=TEXT_MAX)
        if st.form_submit_button("Add action", type="primary"):
            try:
                made = add_action(
                    engine(),
                    actor,
                    title=title,
                    owner_agency=agency,
                    owner=owner,
                    due=due,  # type: ignore[arg-type]  # None is refused by the service, with a message
                    notes=notes,
                )
            except (InputError, PermissionDenied) as exc:
                failed("add the action", exc)
            else:
                st.session_state.pop(SNAPSHOT, None)
                st.session_state.pop(EDITOR, None)
                done(f"Action {made} added, due {due:%d/%m/%Y}.")


def _close_form(actor: Actor, open_rows: list[dict[str, Any]], done: Done) -> None:
    with st.form("action_close_form", clear_on_submit=True):
        st.markdown("**Close an action**")
        if not open_rows:
            st.caption("No open actions.")
            st.form_submit_button("Close action", disabled=True)
            return
        # a dict's method, not a lambda: session state (which keeps format_func) must pickle
        labels = {r["id"]: f"{r['id']}: {r['title']} (due {r['due']:%d/%m/%Y})" for r in open_rows}
        chosen = st.selectbox("Action", list(labels), format_func=labels.__getitem__, key="action_close_pick")
        note = st.text_area(
            "Closing notes (blank keeps the notes it has)", key="action_close_notes", max_chars=TEXT_MAX
        )
        if st.form_submit_button("Close action") and chosen is not None:
            try:
                close_action(engine(), actor, int(chosen), notes=note.strip() or None)
            except (InputError, PermissionDenied) as exc:
                failed("close the action", exc)
            else:
                st.session_state.pop(SNAPSHOT, None)
                st.session_state.pop(EDITOR, None)
                done(f"Action {chosen} closed.")


def board_actions_section(actor: Actor, done: Done) -> None:
    """The board's actions: the open ones to edit, the closed ones to read, and forms to add and close."""
    st.header("Board actions")
    st.caption(
        "What the safeguarding partnership board asked for, who owns it and by when. The assurance pack "
        "lists the actions open at the end of its quarter and those closed during it. Every change is "
        "audited."
    )
    try:
        closed = list_actions(engine(), actor, status="closed")
    except PermissionDenied as exc:
        failed("read the board actions", exc)
        return
    writer = can_write_actions(actor)
    if writer:
        st.subheader("Open actions")
        st.caption("Edit a cell, then save. Close an action with the form below.")
        try:
            _editor(actor, done)
        except PermissionDenied as exc:
            failed("read the board actions", exc)
            return
    if closed.height:
        with st.expander(f"Closed actions ({closed.height})"):
            st.dataframe(
                closed.select(
                    pl.col("id").alias("Id"),
                    pl.col("title").alias("Title"),
                    pl.col("owner_agency").alias("Owner agency"),
                    pl.col("owner").alias("Owner"),
                    pl.col("due").alias("Due"),
                    pl.col("closed_at")
                    .dt.convert_time_zone(zone_name(service_tz()))
                    .dt.date()
                    .alias("Closed"),
                    pl.col("notes").alias("Notes"),
                ),
                hide_index=True,
                column_config={
                    "Due": st.column_config.DateColumn(format=UK_DATE_COLUMN),
                    "Closed": st.column_config.DateColumn(format=UK_DATE_COLUMN),
                },
            )
    if not writer:
        return
    snapshot: dict[str, Any] = st.session_state.get(SNAPSHOT) or {"rows": []}
    add, close = st.columns(2)
    with add:
        _add_form(actor, done)
    with close:
        _close_form(actor, snapshot["rows"], done)


# ---------------------------------------------------------------------------------------------- packs


AUDIENCE_LABELS: dict[str, str] = {a.value: a.label for a in PackAudience}


def packs_section(actor: Actor) -> None:
    """The stored assurance packs, newest quarter first, each with a download button."""
    st.header("Assurance packs")
    st.caption(
        "The packs built for the safeguarding partnership board, kept as they were sent. The assurance-pack "
        "job builds the last quarter's on the fifth working day after it ends."
    )
    try:
        packs = list_packs(engine(), actor)
    except PermissionDenied as exc:
        failed("list the assurance packs", exc)
        return
    if packs.height == 0:
        st.info("No assurance packs are stored yet.")
        return
    tz = service_tz()
    widths = [1, 2, 2, 3, 2, 1, 2]
    head = st.columns(widths)
    for col, label in zip(head, ["Quarter", "Audience", "Agency", "Built at", "By", "Size", ""], strict=True):
        col.markdown(f"**{label}**" if label else "")
    for r in packs.iter_rows(named=True):
        cells = st.columns(widths)
        cells[0].write(r["period"])
        cells[1].write(AUDIENCE_LABELS.get(r["audience"], r["audience"]))
        cells[2].write(r["agency"] or "Whole partnership")
        cells[3].write(uk_datetime(r["created_at"], tz))
        cells[4].write(r["created_by"])
        cells[5].write(f"{max(1, round(r['size'] / 1024)):,} KB")
        cells[6].download_button(
            "Download",
            # read (and the download audited) only when the button is pressed, not on every rerun
            data=partial(pack_content, engine(), actor, int(r["id"])),
            file_name=r["filename"],
            mime=r["media_type"],
            key=f"pack_download_{r['id']}",
            on_click="ignore",
            help=f"{r['filename']} ({r['size']:,} bytes)",
        )
