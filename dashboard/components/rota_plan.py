"""Long because "Plan the gaps" is one section: its inputs, the cached answer, the summary, the timeline, the
table of proposed shifts and the accepting of them into the grid share the same answer and week.

The Rota editor's "Plan the gaps": the capacity planner (docs/planner.md) run for the editor's agency
over a period of at most 28 days (default the editor's week), on a button and never on page load, its
answer kept in session state for those inputs so that a rerun does not solve again; the proposal as a
summary, a timeline and a table whose rows the user takes (none is taken for them), and "Accept all" or
"Accept selected", which put the fills of the week shown into the shift grid as unsaved on-call rows, as
"Fill a gap" does: the gap impact and Save then apply as to any row. The planner stores nothing.

Layout only: who may plan what (a coordinator their own agency), the demand and the solving are
`rota.services.planning.plan_gaps`; the pending rows are the page's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, cast

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.charts import (
    nhs_layout,
    show_chart,
)
from dashboard.components.context import database_key, engine
from dashboard.components.feedback import failed
from dashboard.components.format import UK_DATE_INPUT, cases_amount, counted, hours_amount, percent
from rota.palette import NHS_BLUE, NHS_PALE_GREY
from rota.planner import PlanLimits
from rota.services.access import COORDINATOR, Actor
from rota.services.editing import WeekView, rule_labels, to_wall
from rota.services.people import data_version
from rota.services.planning import FLAT, plan_gaps
from rota.timeutil import day_start, utc_now
from rota.vocab import responder_role_label

MAX_DAYS = 28  # longer periods are for `rota plan`: the page waits for the answer
DEFAULT_SECONDS = 20
PERIOD = "editor_plan_period"
PERIOD_FOR = "editor_plan_period_for"  # the week the period was last set for
SECONDS = "editor_plan_seconds"
ANSWERS = "editor_plan_answers"  # inputs -> the answer as shown (plain values: session state pickles)
TAKE = "editor_plan_take"  # the proposal's table: only its "take" column is editable
NOTICE = "editor_plan_notice"
KEPT = 4  # answers kept in session state
STATUS_WORDS = {
    "optimal": "The best plan: proved best on every aim.",
    "feasible": "A good plan found in the time allowed, not proven best.",
    "no_solution": (
        "No plan found in the time allowed. Try a shorter period or a longer time limit, or `rota plan`, "
        "which may run for longer."
    ),
}

Fill = tuple[str, datetime, datetime]  # responder_id, start, end (aware)


def _period(view: WeekView) -> tuple[date, date] | None:
    """The period picked (key `editor_plan_period`, inclusive days): the editor's week unless another was
    picked that still holds the week shown. None (said why) until both ends are picked."""
    held, sunday = st.session_state.get(PERIOD), view.week_start + timedelta(days=6)
    holds_week = (
        isinstance(held, tuple) and len(held) == 2 and held[0] <= view.week_start and sunday <= held[1]
    )
    if held is None or (st.session_state.get(PERIOD_FOR) != view.week_start and not holds_week):
        st.session_state[PERIOD] = (view.week_start, sunday)
    st.session_state[PERIOD_FOR] = view.week_start
    picked = st.date_input(
        "Period",
        format=UK_DATE_INPUT,
        key=PERIOD,
        help=f"From the first day's 00:00 to the end of the last day, local time; at most {MAX_DAYS} days. "
        "A period already begun is planned from the next whole hour.",
    )
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the last day of the period as well.")
        return None
    first, last = picked
    return first, last


def _start(first: date, tz: tzinfo) -> datetime:
    """The period's first instant not yet over: its first midnight, or the next whole hour."""
    now = utc_now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    return max(day_start(first, tz), hour if hour == now else hour + timedelta(hours=1))


def _run(
    actor: Actor, view: WeekView, start: datetime, end: datetime, seconds: int, tz: tzinfo
) -> dict[str, Any]:
    """Solve, and keep what the section shows as plain values."""
    answer = plan_gaps(
        engine(),
        actor,
        start,
        end,
        agency=None if actor.role == COORDINATOR else view.agency,  # a coordinator's is their own
        time_limit_s=seconds,
        tz=tz,
    )
    p, labels = answer.plan, rule_labels(engine())
    roles = set(view.responders.get_column("role").to_list())
    flat = answer.demand == FLAT
    return {
        "status": p.status,
        "start": answer.start,
        "end": answer.end,
        "agency": answer.agency,
        "flat": flat,
        "gap_hours": (_hours(p.gaps_before), _hours(p.gaps_after)),
        "expected": (p.expected_uncovered_before, p.expected_uncovered_after),
        "relative_gap": p.relative_gap,
        "shows_people": answer.shows_people,
        "fills": [
            {
                "responder_id": f.responder_id,
                "start": f.start,
                "end": f.end,
                "hours": f.hours,
                "closes": ", ".join(labels.get(r, r) for r in f.closes),
                "expected": None if flat else f.expected,
            }
            for f in sorted(p.fills, key=lambda f: (f.start, f.responder_id))
        ],
        "training": [
            f"{counted(n.people, 'more ' + responder_role_label(n.role) + ' responder')}"
            f"{' of ' + n.agency if n.agency else ''} "
            f"trained in {', '.join(n.competencies)} ({n.hours:g} hours of duty)"
            for n in p.training_needed
            if n.role in roles  # the roles the agency covers: its responders train for no other
        ],
        "version": data_version(engine()),
    }


def _hours(found: pl.DataFrame) -> float:
    return float(sum((b - a).total_seconds() for a, b in found.select("start", "end").iter_rows())) / 3600


def _summary(made: dict[str, Any]) -> None:
    lines = [f"**{STATUS_WORDS.get(made['status'], made['status'])}**"]
    before, after = made["gap_hours"]
    lines.append(
        f"Gap time in the period, every rule: {hours_amount(before)} before, {hours_amount(after)} after "
        "the fills."
    )
    if made["flat"]:
        lines.append("No cases to learn from, so every gap hour weighed the same.")
    else:
        b, a = made["expected"]
        lines.append(
            f"Expected cases meeting a gap, every rule: {cases_amount(b)} before, {cases_amount(a)} after."
        )
    if made["status"] == "feasible":
        gap = made["relative_gap"]
        if gap:
            lines.append(
                f"Not proven best: within {percent(gap)} of the solver's bound on the cases covered."
            )
        else:
            lines.append(
                "Not proven best: no plan covers more expected cases, but one with fewer fills or a fairer "
                "share of the hours may exist."
            )
    st.markdown("\n".join(f"- {line}" for line in lines))
    if made["training"]:
        st.markdown(
            "**Training needed to close the rest:**\n" + "\n".join(f"- {t}." for t in made["training"])
        )


def _timeline(made: dict[str, Any], names: dict[str, str], tz: tzinfo) -> None:
    """The fills as bars, one row per responder, local time; the table below holds the same."""
    lo, hi = (made[k].astimezone(tz).replace(tzinfo=None) for k in ("start", "end"))
    fig = go.Figure()
    order: list[str] = []
    ys, xs, bases, hover = [], [], [], []
    for f in made["fills"]:
        who = f"{names.get(f['responder_id'], f['responder_id'])} ({f['responder_id']})"
        if who not in order:
            order.append(who)
        a, b = (f[k].astimezone(tz).replace(tzinfo=None) for k in ("start", "end"))
        ys.append(who)
        bases.append(a)
        xs.append((b - a).total_seconds() * 1000)
        hover.append(
            f"{who}<br>on call {a:%a %d/%m/%Y %H:%M} to {b:%a %d/%m/%Y %H:%M}<br>closes {f['closes']}"
        )
    fig.add_trace(
        go.Bar(
            y=ys, x=xs, base=bases, orientation="h", name="Proposed on call", marker={"color": NHS_BLUE},
            hovertext=hover, hoverinfo="text",
        )
    )  # fmt: skip
    fig.update_layout(
        xaxis={
            "type": "date",
            "range": [lo, hi],
            "tickformat": "%a %d/%m",
            "ticks": "outside",
            "showgrid": True,
            "gridcolor": NHS_PALE_GREY,
            "automargin": True,
            "fixedrange": True,
            "title": {"text": "Day (local time)", "standoff": 8},
        },
        showlegend=False,
        bargap=0.35,
    )
    fig.update_yaxes(
        type="category", categoryarray=order, autorange="reversed", automargin=True, fixedrange=True
    )
    nhs_layout(fig, height=max(200, 26 * len(order) + 110))
    show_chart(
        fig,
        alt=(
            f"Timeline of the {counted(len(made['fills']), 'proposed on-call shift')} for "
            f"{counted(len(order), 'responder')} from {lo:%d/%m/%Y %H:%M} to {hi:%d/%m/%Y %H:%M}, local "
            "time. The same shifts are in the table below."
        ),
        key="editor_plan_timeline",
    )


def _placed(
    view: WeekView, pending: Sequence[dict[str, Any]], tz: tzinfo
) -> set[tuple[str, datetime, datetime]]:
    """The shifts already in the grid (stored or pending), as responder and local wall times."""
    stored = to_wall(view.shifts, ("start", "end"), tz).select("responder_id", "start", "end").iter_rows()
    return {(r, a.replace(microsecond=0), b.replace(microsecond=0)) for r, a, b in stored} | {
        (p["responder_id"], p["start"], p["end"]) for p in pending
    }


def _notes(made: dict[str, Any], view: WeekView, pending: Sequence[dict[str, Any]], tz: tzinfo) -> list[str]:
    """Per fill, why it cannot be taken here ("" when it can)."""
    placed = _placed(view, pending, tz)
    notes = []
    for f in made["fills"]:
        wall = (f["responder_id"], *(f[k].astimezone(tz).replace(tzinfo=None) for k in ("start", "end")))
        monday = f["start"].astimezone(tz).date()
        monday -= timedelta(days=monday.weekday())
        if wall in placed:
            notes.append("In the grid")
        elif not view.start <= f["start"] < view.end:
            notes.append(f"Week of {monday:%d/%m/%Y}: open that week to take it")
        else:
            notes.append("")
    return notes


def _chance(expected: float | None) -> str:
    """A fill's expected cases with the chance of at least one, for people: "0.0034 (0.3%)"; the dash with
    no forecast."""
    if expected is None:
        return cases_amount(None)
    if expected <= 0:
        return "0"
    if expected < 0.001:
        return "under 0.001 (under 0.1%)"
    chance = 1 - math.exp(-expected)
    return f"{expected:.2g} ({'under 0.1%' if chance < 0.001 else f'{chance:.1%}'})"


def _table(made: dict[str, Any], names: dict[str, str], notes: list[str], tz: tzinfo, editable: bool) -> None:
    fills = made["fills"]
    frame = pl.DataFrame(
        {
            "take": [False] * len(fills),
            "name": [names.get(f["responder_id"], f["responder_id"]) for f in fills],
            "from": [f"{f['start'].astimezone(tz):%a %d/%m/%Y %H:%M}" for f in fills],
            "to": [f"{f['end'].astimezone(tz):%a %d/%m/%Y %H:%M}" for f in fills],
            "hours": [round(f["hours"], 2) for f in fills],
            "closes": [f["closes"] for f in fills],
            "expected": [_chance(f["expected"]) for f in fills],
            "note": notes,
        }
    )
    columns: dict[str, Any] = {
        "take": st.column_config.CheckboxColumn("Take", help="Tick the shifts to put into the grid"),
        "name": st.column_config.TextColumn("Responder"),
        "from": st.column_config.TextColumn("From"),
        "to": st.column_config.TextColumn("To"),
        "hours": st.column_config.NumberColumn("Hours", format="%.2f"),
        "closes": st.column_config.TextColumn("Closes gaps in", help="The rules whose gap it closes"),
        "expected": st.column_config.TextColumn(
            "Expected cases",
            help="Expected deaths needing this cover notified in the gap time it closes (the forecast's), "
            "and in brackets the chance of at least one",
        ),
        "note": st.column_config.TextColumn("Note", width="medium"),
    }
    if not editable:
        st.dataframe(frame.drop("take"), hide_index=True, column_config=columns, key="editor_plan_table")
        return
    editor = cast(Callable[..., pl.DataFrame], st.data_editor)  # its stubs type `data` as pandas-like only
    editor(
        frame,
        key=TAKE,
        hide_index=True,
        num_rows="fixed",
        disabled=[c for c in frame.columns if c != "take"],
        column_config=columns,
    )


def _taken() -> set[int]:
    state = st.session_state.get(TAKE)
    edited = state.get("edited_rows", {}) if isinstance(state, dict) else {}
    return {int(i) for i, row in edited.items() if isinstance(row, dict) and row.get("take")}


def _accept(
    fills: list[Fill], notes: list[str], only_taken: bool, add: Callable[[Sequence[Fill]], int]
) -> None:
    """A button's callback: the fills taken (or all) that fit the week shown go into the grid."""
    rows = _taken() if only_taken else set(range(len(fills)))
    chosen = [fills[i] for i in sorted(rows) if i < len(fills) and not notes[i]]
    left = len([i for i in rows if i < len(fills) and notes[i].startswith("Week of")])
    if not chosen:
        st.session_state[NOTICE] = (
            "info",
            "Nothing added: tick shifts of this week that are not in the grid yet.",
        )
        return
    added = add(chosen)
    text = f"Added to the grid: {counted(added, 'on-call shift')}. Nothing is stored until you save."
    if left:
        text += (
            f" {counted(left, 'shift')} in other weeks stay in the proposal: open their week to take them."
        )
    st.session_state[NOTICE] = ("success", text)
    st.session_state.pop(TAKE, None)  # the next choice starts with nothing ticked


def plan_gaps_section(
    actor: Actor,
    view: WeekView,
    tz: tzinfo,
    pending: Sequence[dict[str, Any]],
    grid_edited: bool,
    add: Callable[[Sequence[Fill]], int],
) -> None:
    """The section. `pending` are the grid's unsaved rows from this section or "Fill a gap"; `add(fills)`
    puts on-call shifts into the grid as unsaved rows and says how many were new; not while the grid holds
    typed edits, which new rows would reset (`grid_edited`)."""
    st.header("Plan the gaps")
    lim = PlanLimits()
    st.caption(
        f"The capacity planner proposes extra on-call shifts for {view.agency}'s responders that close the "
        f"gaps with the most expected cases first, keeping {lim.rest_hours:g} hours' rest, at most "
        f"{lim.max_weekly_hours:g} hours a week, {lim.max_consecutive_nights} nights in a row and "
        f"{lim.max_shift_hours:g} hours a shift. Nothing is stored: take the shifts you want into the grid, "
        "then save."
    )
    if actor.role != COORDINATOR:
        st.caption(f"For {view.agency}: choose another agency at the top of the page.")
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        period = _period(view)
    seconds = int(
        right.number_input(
            "Time limit (seconds)",
            min_value=5,
            max_value=60,
            value=DEFAULT_SECONDS,
            step=5,
            key=SECONDS,
            help="How long the solver may search; the answer says whether it proved its plan best.",
        )
    )
    if period is None:
        return
    first, last = period
    days = (last - first).days + 1
    start, end = _start(first, tz), day_start(last + timedelta(days=1), tz)
    key = (database_key(), view.agency, first, last, seconds)
    answers: dict[Any, dict[str, Any]] = st.session_state.setdefault(ANSWERS, {})
    problem = (
        f"Plan at most {MAX_DAYS} days at a time here (this period has {days}); `rota plan` takes up to 92."
        if days > MAX_DAYS
        else ("This period is over: pick days to come." if end <= start else None)
    )
    if problem:
        st.info(problem)
    run = st.button(
        "Plan the gaps",
        key="editor_plan_run",
        icon=":material/auto_awesome:",
        disabled=problem is not None,
        help=f"Solves for up to {seconds} seconds; nothing is stored.",
    )
    if run:
        with st.spinner(f"Planning: this can take up to about {seconds} seconds..."):
            try:
                answers.pop(key, None)  # the newest answer last: the oldest go first
                answers[key] = _run(actor, view, start, end, seconds, tz)
            except Exception as exc:
                failed("plan the gaps", exc)
                return
        while len(answers) > KEPT:
            answers.pop(next(iter(answers)))
        st.session_state.pop(TAKE, None)  # a new proposal starts with nothing ticked
    made = answers.get(key)
    if made is None:
        return
    _proposal(view, tz, made, pending, grid_edited, add)


def _proposal(
    view: WeekView,
    tz: tzinfo,
    made: dict[str, Any],
    pending: Sequence[dict[str, Any]],
    grid_edited: bool,
    add: Callable[[Sequence[Fill]], int],
) -> None:
    st.caption(
        f"Plan for {made['agency'] or view.agency} from {made['start'].astimezone(tz):%d/%m/%Y %H:%M} to "
        f"{made['end'].astimezone(tz):%d/%m/%Y %H:%M}, local time, 24-hour clock."
    )
    if made["version"] != data_version(engine()):
        st.info(
            "The rota has changed since this plan was made (perhaps by your own save): plan again to be sure."
        )
    _summary(made)
    if not made["shows_people"]:
        return
    if not made["fills"]:
        st.info("No extra on-call shift for this agency's responders closes a gap within the limits.")
        return
    names = view.names()
    _timeline(made, names, tz)
    notes = _notes(made, view, pending, tz)
    _table(made, names, notes, tz, view.editable)
    if not view.editable:
        return
    fills: list[Fill] = [(f["responder_id"], f["start"], f["end"]) for f in made["fills"]]
    shown = st.session_state.pop(NOTICE, None)
    help_text = "Save or discard your typed edits first." if grid_edited else "Nothing is stored until Save."
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Accept all",
            key="editor_plan_accept_all",
            icon=":material/done_all:",
            disabled=grid_edited or all(notes),
            help=help_text,
            on_click=_accept,
            args=(fills, notes, False, add),
        )
        st.button(
            "Accept selected",
            key="editor_plan_accept_selected",
            icon=":material/playlist_add:",
            disabled=grid_edited,
            help=help_text,
            on_click=_accept,
            args=(fills, notes, True, add),
        )
    if isinstance(shown, tuple):
        (st.success if shown[0] == "success" else st.info)(shown[1])
    if grid_edited:
        st.caption("Save or discard your typed edits first: adding rows starts the grid afresh.")
