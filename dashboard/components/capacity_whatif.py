"""The what-if part of the Capacity & forecast page: the forms that build the changes to try (kept in
session state as plain dicts), the changes in words, and what they do. The figures come from
`rota.services.forecasting` (`scenario_totals`, `scenario_effects`); nothing is worked out here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from dashboard.components.charts import UK_DATE_INPUT, uk_date
from dashboard.components.format import cases_amount
from rota.services.forecasting import CapacityForecast, scenario_effects, scenario_totals
from rota.vocab import responder_role_label

PERIOD = "capacity_period"
SCENARIO = "capacity_scenario"  # the what-if changes being tried: a list of plain dicts (serialisable)
PREVIOUS = "capacity_scenario_previous"  # the changes before the last submission, to fall back on
FORM_ERROR = "capacity_form_error"
OTHER_HOURS = "Other hours (type them below)"
# label -> (window, as said in a sentence); None = around the clock
HOURS_PRESETS: dict[str, tuple[str | None, str]] = {
    "Nights 19:00-07:00": ("Mon-Sun 19:00-07:00", "for nights (19:00-07:00)"),
    "Evenings 17:00-23:00": ("Mon-Sun 17:00-23:00", "for evenings (17:00-23:00)"),
    "Weekends (Saturday and Sunday, all day)": ("Sat,Sun 00:00-24:00", "for weekends"),
    "Weekday office hours 09:00-17:00": ("Mon-Fri 09:00-17:00", "for weekday office hours"),
    "Around the clock": (None, "around the clock"),
}
PLURALS = {"sio": ("SIO", "SIOs"), "paediatrician": ("paediatrician", "paediatricians")}

# ---------------------------------------------------------------------------------------------- words


def noun(role: str, n: int) -> str:
    """2 -> 'SIOs', 1 -> 'paediatrician', ambulance -> 'ambulance responders'."""
    one, many = PLURALS.get(
        role,
        (
            f"{responder_role_label(role).lower()} responder",
            f"{responder_role_label(role).lower()} responders",
        ),
    )
    return one if n == 1 else many


def _hours_words(window: str | None) -> str:
    for text, words in HOURS_PRESETS.values():
        if text == window:
            return words
    return f"on {window}"


def _change_text(change: dict[str, Any]) -> str:
    """A change as people say it: 'adding 2 trained SIOs for nights (19:00-07:00) from 01/03/2027'."""
    if change["kind"] == "add":
        n = int(change["count"])
        text = f"adding {n} trained {noun(change['role'], n)} {_hours_words(change['window'])}"
        if change.get("first"):
            text += f" from {uk_date(change['first'])}"
        return text
    if change["kind"] == "train":  # from "What it would take": the planner's duties for new people
        n = int(change["count"])
        agency = f" ({change['agency']})" if change.get("agency") else ""
        return (
            f"training {n} more {noun(change['role'], n)} in {', '.join(change['competencies'])}{agency} "
            f"for the planner's {float(change['hours']):g} hours of duty"
        )
    who = change.get("who") or change["responder_id"]
    if change["kind"] == "lapse":
        return f"letting the {change['competency']} training of {who} lapse on {uk_date(change['on'])}"
    return f"removing {who} from the rota"


def sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def described(changes: Sequence[dict[str, Any]]) -> str:
    texts = [_change_text(c) for c in changes]
    if len(texts) == 1:
        return texts[0]
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def _delta(change: float) -> str | None:
    if abs(change) < 0.005:
        return "no change"
    return f"{change:+.2f}"


# ---------------------------------------------------------------------------------------------- forms


def _add_from_form(replace: bool) -> None:
    """The add form's callback (runs before the script): store the change, or why it cannot be made."""
    state = st.session_state
    preset = str(state.get("capacity_add_hours"))
    if preset == OTHER_HOURS:
        window: str | None = str(state.get("capacity_add_custom") or "").strip()
        if not window:
            state[FORM_ERROR] = "Type the hours, like Mon-Fri 17:00-09:00, or pick one of the choices."
            return
    else:
        window = HOURS_PRESETS[preset][0]
    first = state.get("capacity_add_from")
    period = state.get(PERIOD)
    if isinstance(period, tuple) and len(period) == 2:
        if first is not None and first > period[1]:
            state[FORM_ERROR] = f"Pick a start day within the period (by {uk_date(period[1])})."
            return
        if first is not None and first <= period[0]:
            first = None  # from the start: the change then holds for whatever period is picked
    change = {
        "kind": "add",
        "role": str(state.get("capacity_add_role")),
        "count": int(state.get("capacity_add_count") or 1),
        "window": window,
        "first": first,
    }
    _store([change], replace)


def _picked_responder(key: str) -> str | None:
    """The responder picked in the form's `key` box, or None with the form's error set."""
    rid = st.session_state.get(key)
    if not rid:
        st.session_state[FORM_ERROR] = "Pick a responder."
        return None
    return str(rid)


def _lapse_from_form(replace: bool, names: dict[str, str]) -> None:
    rid = _picked_responder("capacity_lapse_who")
    if rid is None:
        return
    s = st.session_state
    change = {
        "kind": "lapse",
        "responder_id": rid,
        "who": names.get(rid),
        "competency": str(s.get("capacity_lapse_competency")),
        "on": s.get("capacity_lapse_on"),
    }
    _store([change], replace)


def _remove_from_form(replace: bool, names: dict[str, str]) -> None:
    rid = _picked_responder("capacity_remove_who")
    if rid is not None:
        _store([{"kind": "remove", "responder_id": rid, "who": names.get(rid)}], replace)


def _store(changes: list[dict[str, Any]], replace: bool) -> None:
    current = list(st.session_state.get(SCENARIO) or [])
    st.session_state[PREVIOUS] = current
    st.session_state[SCENARIO] = changes if replace else current + changes
    st.session_state.pop(FORM_ERROR, None)


def add_changes(changes: list[dict[str, Any]]) -> None:
    """Add `changes` to those being tried, each once (a button's callback)."""
    current = list(st.session_state.get(SCENARIO) or [])
    _store([c for c in changes if c not in current], replace=False)


def clear_scenario() -> None:
    st.session_state[SCENARIO] = []
    st.session_state[PREVIOUS] = []
    st.session_state.pop(FORM_ERROR, None)


def _submit_buttons(form: str, on_click: Any, args: tuple[Any, ...] = ()) -> None:
    has_changes = bool(st.session_state.get(SCENARIO))
    with st.container(horizontal=True, gap="small"):
        st.form_submit_button(
            "Try this", type="primary", on_click=on_click, args=(True, *args), key=f"capacity_{form}_try"
        )
        if has_changes:
            st.form_submit_button(
                "Add to the changes being tried",
                on_click=on_click,
                args=(False, *args),
                key=f"capacity_{form}_add",
            )


def add_form(roles: list[str], default_role: str | None, first: date) -> None:
    with st.form("capacity_add_form", border=True):
        st.markdown("**Add trained responders**")
        st.caption(
            "Extra responders of a role, trained for every rule of that role (0-15 and 16-17), on duty on "
            "the hours you choose."
        )
        role_col, count_col = st.columns([2, 1])
        role_col.selectbox(
            "Role",
            roles,
            index=roles.index(default_role) if default_role in roles else 0,
            format_func=responder_role_label,
            key="capacity_add_role",
        )
        count_col.number_input(
            "How many", min_value=1, max_value=10, value=2, step=1, key="capacity_add_count"
        )
        hours_col, from_col = st.columns([2, 1])
        hours_col.selectbox("Hours", [*HOURS_PRESETS, OTHER_HOURS], key="capacity_add_hours")
        from_col.date_input(
            "From",
            value=first,
            format=UK_DATE_INPUT,
            key="capacity_add_from",
            help="The day the extra responders start (for example when their training is done).",
        )
        st.text_input(
            "Other hours",
            key="capacity_add_custom",
            placeholder="Mon-Fri 17:00-09:00",
            help="Used when Hours is 'Other hours': days and times like Mon-Fri 17:00-09:00 or "
            "Sat,Sun 00:00-24:00 (a time range past midnight runs into the next day).",
        )
        _submit_buttons("add", _add_from_form)


def _responder_box(names: dict[str, str], key: str) -> None:
    """The responder to change, picked by name (opens empty: the form asks for one)."""
    st.selectbox(
        "Responder",
        list(names),
        format_func=names.__getitem__,
        index=None,
        placeholder="Pick a responder",
        key=key,
    )


def people_forms(people: pl.DataFrame, first: date) -> None:
    names = {
        rid: f"{name} ({responder_role_label(role)}, {agency or 'no agency'})"
        for rid, name, role, agency in people.select("responder_id", "name", "role", "agency").iter_rows()
    }
    plain = dict(people.select("responder_id", "name").iter_rows())
    competencies = sorted(
        {c for text in people.get_column("competencies").to_list() for c in (text or "").split(", ") if c}
    ) or ["jar"]
    lapse, remove = st.columns(2)
    with lapse, st.form("capacity_lapse_form", border=True):
        st.markdown("**Let a responder's training lapse**")
        _responder_box(names, "capacity_lapse_who")
        comp_col, on_col = st.columns(2)
        comp_col.selectbox(
            "Training",
            competencies,
            index=competencies.index("jar") if "jar" in competencies else 0,
            key="capacity_lapse_competency",
        )
        on_col.date_input("Lapses on", value=first, format=UK_DATE_INPUT, key="capacity_lapse_on")
        _submit_buttons("lapse", _lapse_from_form, (plain,))
    with remove, st.form("capacity_remove_form", border=True):
        st.markdown("**Remove a responder**")
        st.caption("As if they left or were off for the whole period.")
        _responder_box(names, "capacity_remove_who")
        _submit_buttons("remove", _remove_from_form, (plain,))


# ---------------------------------------------------------------------------------------------- result


def scenario_result(cf: CapacityForecast, changes: list[dict[str, Any]]) -> None:
    """The changes being tried, what they do per role, and the expected cases meeting a gap with them."""
    if cf.scenario is None:
        return
    with st.container(border=True):
        st.markdown(f"**Changes being tried:** {sentence_start(described(changes))}.")
        for line, better in _change_sentences(cf, changes):
            if better:
                st.success(line, icon=":material/trending_down:")
            else:
                st.info(line, icon=":material/info:")
        totals = scenario_totals(cf)
        overall = st.columns(len(totals))
        for col, total in zip(overall, totals, strict=True):
            if total.age_band is None:
                col.metric(
                    "Meeting a gap, with the changes",  # short enough not to be cut beside its help
                    cases_amount(total.after),
                    delta=_delta(total.change),
                    delta_color="inverse",
                    help="All ages, any rule for the child's age. The arrow shows the change from the rota "
                    "as it is.",
                )
            else:
                col.metric(
                    f"Meeting a gap, {total.age_band}, with the changes",
                    cases_amount(total.after),
                    delta=_delta(total.change),
                    delta_color="inverse",
                )
        st.caption(
            "These count a case once if it meets a gap in any rule for the child's age, so adding responders "
            "of one role helps only in the hours when the other roles are covered (and not at all in weeks "
            "with no rota stored)."
        )
        st.button("Clear the changes", on_click=clear_scenario, key="capacity_clear", icon=":material/undo:")


def _change_sentences(cf: CapacityForecast, changes: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The headline of a scenario per role it moves: 'Adding 2 trained SIOs on nights would cut the expected
    cases meeting no trained SIO from 2.3 to 1.1 (0-15: 1.9 to 0.9; 16-17: 0.40 to 0.20).'"""
    what = sentence_start(described(changes))
    effects = scenario_effects(cf)
    if not effects:
        return [(f"{what} would not change the expected cases meeting a gap for any rule.", False)]
    out: list[tuple[str, bool]] = []
    for effect in effects:
        lost = (
            "no trained " + noun(effect.role, 1)
            if effect.one_needed
            else f"a gap in {responder_role_label(effect.role)} cover"
        )
        verb = "cut" if effect.better else "raise"
        parts = "; ".join(
            f"{r['label']}: {cases_amount(r['expected_uncovered_cases'])} to "
            f"{cases_amount(r['expected_uncovered_cases_after'])}"
            for r in effect.rules
        )
        if effect.disjoint:
            text = (
                f"{what} would {verb} the expected cases meeting {lost} from "
                f"{cases_amount(effect.before)} to {cases_amount(effect.after)} ({parts})."
            )
        else:  # the rules' age bands overlap: a sum would count a case twice
            text = f"{what} would {verb} the expected cases meeting {lost}: {parts}."
        out.append((text, effect.better))
    return out
