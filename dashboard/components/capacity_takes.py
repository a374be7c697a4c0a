"""The "What it would take" part of the Capacity & forecast page: on request (never on opening the page, the
planner takes up to about 20 seconds), the capacity planner's answer for the first 7, 14 or 28 days of the
period, kept in session state for those days and that data; per role, the people to train, in a table and
in words, each with a button trying it among the what-if changes. The figures come from
`rota.services.what_it_takes`; nothing is worked out here."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date

import polars as pl
import streamlit as st

from dashboard.components import capacity_whatif as what_if
from dashboard.components.charts import uk_date
from dashboard.components.context import engine
from dashboard.components.feedback import failed
from dashboard.components.format import cases_amount, counted
from dashboard.components.inputs import one_of
from rota.services.access import Actor
from rota.services.what_it_takes import (
    DAY_CHOICES,
    PLAN_DAYS,
    TIME_LIMIT_S,
    TrainingNeed,
    WhatItTakes,
    what_it_would_take,
)
from rota.timeutil import zone
from rota.vocab import responder_role_label

TAKE = "capacity_take"  # {"key": the period, data version, who asks and the days, "answer": WhatItTakes}
DAYS = "capacity_take_days"


def _first_days(days: str) -> str:
    return f"First {days} days"


def need_sentence(need: TrainingNeed) -> str:
    """'2 more SIOs trained in jar, jar-16-17 (Vale Police) would close the gaps ...'."""
    agency = f" ({need.agency})" if need.agency else ""
    return (
        f"{need.people} more {what_if.noun(need.role, need.people)} trained in {', '.join(need.competencies)}"
        f"{agency} would close the gaps the planner cannot fill with today's staff, on duty for "
        f"{counted(round(need.hours), 'hour')} between them."
    )


def _table(needs: list[TrainingNeed]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Role": [responder_role_label(n.role) for n in needs],
            "People": [n.people for n in needs],
            "Training": [", ".join(n.competencies) for n in needs],
            "Agency": [n.agency or "" for n in needs],
            "Hours of duty": [n.hours for n in needs],
        }
    )


def _figures(answer: WhatItTakes) -> None:
    if answer.fills is not None:
        hours = f" ({answer.fill_hours:g} hours)" if answer.fills else ""
        st.markdown(
            f"**Extra duties for today's staff:** {answer.fills}{hours}, within the working-time limits."
        )
    if answer.expected_before is not None and answer.expected_after is not None:
        st.markdown(
            f"**Expected cases meeting a gap in these days:** {cases_amount(answer.expected_before)} now, "
            f"{cases_amount(answer.expected_after)} with those extra duties."
        )
        st.caption(
            "Each rule's gaps counted, summed over the rules, with the planner's demand for these days; the "
            "headline above counts a case once over the whole period."
        )
    else:
        st.markdown(
            f"**Hours in gap in these days, summed over the rules:** {answer.gap_hours_before:g} now, "
            f"{answer.gap_hours_after:g} with those extra duties (no cases to weigh the hours by)."
        )


def _answer(answer: WhatItTakes) -> None:
    days = (answer.last - answer.first).days + 1
    st.caption(f"Planned for {uk_date(answer.first)} to {uk_date(answer.last)} ({counted(days, 'day')}).")
    if answer.gap_hours_before == 0:
        st.success("No gaps in cover in these days: nothing more is needed.", icon=":material/check_circle:")
        return
    if answer.status == "no_solution":
        st.warning(
            f"The planner found no answer within {TIME_LIMIT_S:g} seconds for {counted(days, 'day')}. "
            "Plan fewer days and work it out again.",
            icon=":material/timer_off:",
        )
        return
    _figures(answer)
    if answer.status != "optimal":
        st.caption(
            "The planner ran out of time before proving this the best answer: it is the best found in "
            f"{TIME_LIMIT_S:g} seconds."
        )
    if not answer.gaps_left:
        st.success(
            "Today's staff could close every gap in these days with those extra duties: nobody more needs "
            "training.",
            icon=":material/check_circle:",
        )
        return
    found = [n for n in answer.needs if n.found]
    late = [responder_role_label(n.role) for n in answer.needs if not n.found]
    if late or not answer.needs:
        st.info(
            "The planner ran out of time before working out the training needed"
            + (f" for these roles: {', '.join(late)}" if late else "")
            + ". Plan fewer days for an answer.",
            icon=":material/info:",
        )
    if not found:
        return
    st.markdown("**Training needed**")
    st.dataframe(
        _table(found),
        hide_index=True,
        column_config={"Hours of duty": st.column_config.NumberColumn(format="%.1f")},
        key="capacity_take_table",
    )
    for i, need in enumerate(found):
        with st.container(border=True):
            st.markdown(need_sentence(need))
            st.button(
                "Try it",
                key=f"capacity_take_try_{i}",
                on_click=what_if.add_changes,
                args=([need.change],),
                help="Add these people, on the planner's duties for them, to the changes being tried below.",
                icon=":material/science:",
            )
    st.caption(
        "Trying it adds the new people, on the planner's duties for them, to the changes being tried below; "
        "the extra duties for today's staff are not among those changes, so the gaps they would close still "
        "count there."
    )
    if len(found) > 1:
        st.button(
            "Try them all",
            key="capacity_take_try_all",
            on_click=what_if.add_changes,
            args=([n.change for n in found],),
            icon=":material/science:",
        )


def section(actor: Actor, key: tuple[Hashable, ...], first: date, last: date, tz_name: str) -> None:
    """The section for the page's period `first` to `last`; `key` names that period and the data."""
    st.header("What it would take")
    st.caption(
        "The capacity planner proposes extra duties for the people already in the rota, within the "
        "working-time limits, riskiest hours first; then it works out how many more people would need "
        "training to close the gaps that are left. Nothing is stored."
    )
    choices = [str(d) for d in DAY_CHOICES]
    days = int(
        one_of(
            "Days to plan",
            choices,
            key=DAYS,
            default=str(PLAN_DAYS),
            format_func=_first_days,
            help="From the start of the period, or today if the period has started. The planner takes "
            "longer the more days it plans: on a much larger region than the demo, plan fewer days.",
        )
    )
    key = (*key, days)
    stored = st.session_state.get(TAKE)
    answer: WhatItTakes | None = stored["answer"] if stored and stored["key"] == key else None
    if st.button(
        "Work out what it would take",
        key="capacity_take_run",
        icon=":material/calculate:",
        help=f"Runs the capacity planner; it takes up to about {TIME_LIMIT_S:g} seconds.",
    ):
        with st.spinner(f"Planning the gaps (up to about {TIME_LIMIT_S:g} seconds)..."):
            try:
                answer = what_it_would_take(engine(), actor, first, last, zone(tz_name), days=days)
            except Exception as exc:  # refused, bad input, or unexpected: said, and the page carries on
                failed("work out what it would take", exc)
                return
        st.session_state[TAKE] = {"key": key, "answer": answer}
    if answer is not None:
        _answer(answer)
