"""The Rota editor's "Fill a gap": this week's gaps in the roles the agency covers, the qualified responders
free for the whole of one (with 11 hours' rest either side), those who are not and why, and a button that
puts one of them on an on-call shift over the gap. Layout only; the gaps and the candidates come from
`rota.services.editing`, and saving goes through the page's own save (conflicts and notices stay there)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.context import engine
from dashboard.components.feedback import failed
from dashboard.components.format import labelled
from rota.services.access import Actor
from rota.services.editing import (
    CREATE,
    SHIFT,
    Change,
    Validation,
    WeekView,
    gap_candidates,
    shift_row,
    span_text,
    to_wall,
    week_gaps,
)


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
            "Email": "email",
            "Previous shift ended": when("previous_shift_end"),
            "Rest before": rest("rest_before_hours"),
            "Next shift starts": when("next_shift_start"),
            "Rest after": rest("rest_after_hours"),
        },
    )


def _pick_gap(actor: Actor, view: WeekView, tz: tzinfo) -> dict[str, Any] | None:
    """The gap picked (key `editor_gap`) among this week's gaps in the agency's roles; None (said why)
    when there is none."""
    try:
        found = week_gaps(engine(), actor, view.week_start, tz)
    except Exception as exc:
        failed("find this week's gaps", exc)
        return None
    roles = set(view.responders.get_column("role").to_list())
    mine = found.filter(pl.col("role").is_in(list(roles)))
    if found.is_empty():
        st.success("No gaps this week.")
        return None
    if mine.is_empty():
        st.success(
            f"No gaps this week in the roles {view.agency} covers; other agencies' gaps are on Coverage."
        )
        return None
    rows = mine.to_dicts()
    # Options are plain text (session state must pickle, so no closures as format functions).
    labels = [
        f"{g['rule_id']}: {span_text(g['start'], g['end'], tz)} ({g['start'].astimezone(tz):%d/%m/%Y}), "
        f"{g['available']} of {g['required']} qualified"
        for g in rows
    ]
    picked = st.selectbox("Gap", labels, key="editor_gap")
    return rows[labels.index(picked) if picked in labels else 0]


def fill_gap_section(
    actor: Actor,
    view: WeekView,
    checked: Validation,
    tz: tzinfo,
    save: Callable[[Sequence[Change]], None],
) -> None:
    """The section; `save` stores the new shift (disabled while the grids hold unsaved edits)."""
    st.header("Fill a gap")
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
            save([Change(SHIFT, CREATE, after=shift_row(str(who), gap["start"], gap["end"]))])
