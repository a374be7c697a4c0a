"""The Rota editor's "Fill a gap": this week's gaps not yet over in the roles the agency covers (rules named
in plain words), the qualified responders free for the whole of one (with 11 hours' rest either side), those
who are not and why, and a button that puts the responder the user chose (none is chosen for them) on an
on-call shift over the gap as an unsaved row of the grid, with its gap impact, stored only by Save. Layout
only; the gaps and the candidates come from `rota.services.editing`, the pending row is the page's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.context import engine
from dashboard.components.feedback import failed
from dashboard.components.format import labelled
from rota.services.access import Actor
from rota.services.editing import (
    WeekView,
    gap_candidates,
    open_gaps,
    span_text,
    to_wall,
)

FILL_NOTICE = "editor_fill_notice"  # what the last "add" put into the grid, said under its button
WHO = "editor_fill_who"
WHO_FOR = "editor_fill_who_for"  # the gap the responder was chosen for: another gap starts unchosen


def _free_table(free: pl.DataFrame, tz: tzinfo) -> pl.DataFrame:
    """The free responders for people: local times as text, rest in hours, 'a week or more' for none."""
    wall = to_wall(free, ("previous_shift_end", "next_shift_start"), tz)

    def when(column: str) -> pl.Expr:
        return pl.col(column).dt.strftime("%a %d/%m/%Y %H:%M").fill_null("none within 8 days")

    def rest(column: str) -> pl.Expr:
        return (pl.col(column).round(1).cast(pl.String) + " h").fill_null("a week or more")

    return labelled(
        wall,
        {
            "Name": "name",
            "ID": "responder_id",
            "Phone": "phone",
            "Email": "email",
            "Previous shift ended": when("previous_shift_end"),
            "Rest before": rest("rest_before_hours"),
            "Next shift starts": when("next_shift_start"),
            "Rest after": rest("rest_after_hours"),
        },
    )


def _pick_gap(actor: Actor, view: WeekView, tz: tzinfo) -> dict[str, Any] | None:
    """The gap picked (key `editor_gap`) among this week's gaps in the agency's roles that have not ended;
    None (said why) when there is none."""
    try:
        found = open_gaps(engine(), actor, view.week_start, tz)
    except Exception as exc:
        failed("find this week's gaps", exc)
        return None
    roles = set(view.responders.get_column("role").to_list())
    mine = found.filter(pl.col("role").is_in(list(roles)))
    if found.is_empty():
        st.success("No gaps left to fill this week (gaps already over are not offered).")
        return None
    if mine.is_empty():
        st.success(
            f"No gaps left this week in the roles {view.agency} covers; other agencies' gaps are on Coverage."
        )
        return None
    rows = mine.to_dicts()
    # Options are plain text (session state must pickle, so no closures as format functions).
    labels = [
        f"{g['label']}: {span_text(g['start'], g['end'], tz)} ({g['start'].astimezone(tz):%d/%m/%Y}), "
        f"{g['available']} of {g['required']} qualified"
        for g in rows
    ]
    picked = st.selectbox("Gap", labels, key="editor_gap")
    return rows[labels.index(picked) if picked in labels else 0]


def fill_gap_section(
    actor: Actor,
    view: WeekView,
    tz: tzinfo,
    grid_edited: bool,
    add: Callable[[str, datetime, datetime], None],
) -> None:
    """The section. `add(responder_id, start, end)` puts an on-call shift over the gap into the grid as an
    unsaved row (it is stored only by Save); not while the grid holds typed edits, which a new row would
    reset (`grid_edited`)."""
    st.header("Fill a gap")
    added = st.session_state.pop(FILL_NOTICE, None)
    gap = _pick_gap(actor, view, tz)
    if gap is None:
        return
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
                labelled(
                    busy,
                    {
                        "Name": "name",
                        "ID": "responder_id",
                        "Why not": "reason",
                    },
                ),
                hide_index=True,
                key="editor_not_free",
            )
    if not view.editable or free.is_empty():
        return
    # a gap already begun starts at the next minute, so a gap is known by its rule and end
    this_gap = f"{gap['rule_id']} {gap['end'].isoformat()}"
    if st.session_state.get(WHO_FOR) != this_gap:
        st.session_state[WHO] = (
            None  # nobody is chosen for the user, not even for the last gap (set, so the browser shows it)
        )
        st.session_state[WHO_FOR] = this_gap
    by_label = {f"{name} ({rid})": rid for rid, name in free.select("responder_id", "name").iter_rows()}
    chosen = st.selectbox(
        "Put on the rota for this gap",
        list(by_label),
        index=None,
        placeholder="Choose a responder",
        key=WHO,
    )
    who = by_label.get(chosen) if chosen is not None else None
    st.button(
        "Add an on-call shift over this gap to the grid",
        key="editor_fill_gap",
        icon=":material/playlist_add:",
        disabled=grid_edited or who is None,
        help="Save or discard your typed edits first." if grid_edited else "Nothing is stored until Save.",
        on_click=add,
        args=(str(who), gap["start"], gap["end"]),
    )
    if added:
        st.success(added, icon=":material/playlist_add_check:")
    if grid_edited:
        st.caption("Save or discard your typed edits first: adding a row starts the grid afresh.")
