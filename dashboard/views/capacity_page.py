"""Capacity & forecast: how many JAR-eligible deaths to expect in a period, how many would meet a gap in
trained cover (rule by rule, 16-17 beside 0-15), demand against rostered trained capacity, and what-if
changes ("two more SIOs trained for nights"). Draws only; the numbers come from
`rota.services.forecasting`, cached by a data version that changes with every stored change."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.charts import (
    CATEGORICAL,
    NHS_DARK_GREY,
    NHS_PALE_GREY,
    NHS_WARM_YELLOW,
    UK_DATE_INPUT,
    download_buttons,
    nhs_layout,
    period_range_input,
    show_chart,
    uk_date,
    uk_datetime,
    uk_day,
)
from dashboard.components.context import database_key, engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import cases_amount, chance, count_range
from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder, Scenario
from rota.errors import InputError, PermissionDenied
from rota.services.access import CAPACITY, Actor, can_read_case_level, can_read_people
from rota.services.coverage import data_version, role_label, zone_name
from rota.services.forecasting import CapacityForecast, capacity_forecast, default_forecast_period
from rota.services.people import ResponderFilters, responder_list
from rota.timeutil import utc_now, zone

PERIOD = "capacity_period"
SCENARIO = "capacity_scenario"  # the what-if changes being tried: a list of plain dicts (serialisable)
PREVIOUS = "capacity_scenario_previous"  # the changes before the last submission, to fall back on
FORM_ERROR = "capacity_form_error"
ALL_PARTNERS = "capacity_all_partners"
CHART_ROLE = "capacity_chart_role"

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
DASH_AFTER = "dash"
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ScenarioKey = tuple[tuple[Any, ...], ...]


# ---------------------------------------------------------------------------------------------- cached reads
# Keyed by the database, a data version (max audit id: every change is audited), the period, what the
# answer depends on about the user (role: which scenarios are allowed; agency: the agency's roles) and the
# what-if changes. The actor itself is passed unhashed (leading underscore) so the service still checks it.


class Query(NamedTuple):
    url: str
    version: int
    first: date
    last: date
    tz_name: str
    access: tuple[str, str | None]
    scenario: ScenarioKey


def _scenarios(key: ScenarioKey) -> tuple[Scenario, ...]:
    out: list[Scenario] = []
    for kind, *args in key:
        if kind == "add":
            out.append(AddResponders(*args))
        elif kind == "lapse":
            out.append(LapseTraining(*args))
        else:
            out.append(RemoveResponder(*args))
    return tuple(out)


@st.cache_data(show_spinner="Forecasting demand and cover...", max_entries=16)
def _forecast(q: Query, _actor: Actor) -> CapacityForecast:
    # with changes to try, reuse the (cached) forecast without them: only the changed rota is assessed
    base = _forecast(q._replace(scenario=()), _actor) if q.scenario else None
    return capacity_forecast(
        engine(), _actor, q.first, q.last, zone(q.tz_name), scenarios=_scenarios(q.scenario), base=base
    )


@st.cache_resource(show_spinner=False, max_entries=32)
def _charts(q: Query, _actor: Actor, roles: tuple[str, ...]) -> tuple[go.Figure, str, go.Figure, str]:
    """Both charts for the chosen roles and their text alternatives. Kept as the objects themselves (never
    changed after they are built): building a Plotly figure costs more than the rest of the page."""
    cf = _forecast(q, _actor)
    hour_fig, hour_alt = _hour_of_week_figure(cf, roles)
    week_fig, week_alt = _weekly_figure(cf, roles)
    return hour_fig, hour_alt, week_fig, week_alt


@st.cache_data(show_spinner=False, max_entries=8)
def _responders(url: str, version: int, access: tuple[str, str | None], _actor: Actor) -> pl.DataFrame:
    """Active responders for the what-if pickers (names: the service refuses commissioners)."""
    return responder_list(engine(), _actor, ResponderFilters(active=True))


# ---------------------------------------------------------------------------------------------- words


def _noun(role: str, n: int) -> str:
    """2 -> 'SIOs', 1 -> 'paediatrician', ambulance -> 'ambulance responders'."""
    one, many = PLURALS.get(
        role, (f"{role_label(role).lower()} responder", f"{role_label(role).lower()} responders")
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
        text = f"adding {n} trained {_noun(change['role'], n)} {_hours_words(change['window'])}"
        if change.get("first"):
            text += f" from {uk_date(change['first'])}"
        return text
    who = change.get("who") or change["responder_id"]
    if change["kind"] == "lapse":
        return f"letting the {change['competency']} training of {who} lapse on {uk_date(change['on'])}"
    return f"removing {who} from the rota"


def _key(changes: Sequence[dict[str, Any]]) -> ScenarioKey:
    out: list[tuple[Any, ...]] = []
    for c in changes:
        if c["kind"] == "add":
            out.append(("add", c["role"], int(c["count"]), c["window"], c.get("first"), None))
        elif c["kind"] == "lapse":
            out.append(("lapse", c["responder_id"], c["competency"], c["on"]))
        else:
            out.append(("remove", c["responder_id"]))
    return tuple(out)


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------- period


def _use_published(first: date, last: date) -> None:
    st.session_state[PERIOD] = (first, last)


def _period_picker(today: date) -> tuple[date, date]:
    default = default_forecast_period(today, service_tz())
    return period_range_input(
        (default.first, default.last),
        PERIOD,
        "First and last day, inclusive. Opens on the next quarter: today and the 90 days after it.",
    )


# ---------------------------------------------------------------------------------------------- headline


def _unrostered_warning(cf: CapacityForecast) -> None:
    since = cf.unrostered_from
    if since is None:
        return
    tz = zone(cf.tz_name)
    p = cf.period
    share = cf.expected_cases_unrostered
    if since <= p.start:
        st.warning(
            "No shifts are stored for this period, so every hour counts as uncovered and every expected "
            "case would meet a gap. Import the rota on the Rota editor page to see the real risk.",
            icon=":material/event_busy:",
        )
        return
    st.warning(
        f"The rota is not yet published for the whole period: no shifts are stored after "
        f"{uk_datetime(since, tz)}, so from then to {uk_day(p.last)} every hour counts as uncovered. "
        f"About {cases_amount(share)} of the {cases_amount(cf.expected_cases)} expected cases fall in "
        "that stretch; the figures below include them.",
        icon=":material/event_busy:",
    )
    published_last = since.astimezone(tz).date() - timedelta(days=1)
    if published_last >= p.first:
        st.button(
            f"Forecast only the published rota ({uk_date(p.first)} to {uk_date(published_last)})",
            key="capacity_published_only",
            on_click=_use_published,
            args=(p.first, published_last),
            icon=":material/date_range:",
        )


def _band_rows(cf: CapacityForecast) -> dict[str, dict[str, Any]]:
    return {r["age_band"]: r for r in cf.forecast.bands.iter_rows(named=True)}


def _headline(cf: CapacityForecast) -> None:
    p = cf.period
    st.caption(
        f"{uk_day(p.first)} to {uk_day(p.last)}: {p.days} day{'s' if p.days != 1 else ''}. "
        f"Times are local ({cf.tz_name}), 24-hour clock."
    )
    _unrostered_warning(cf)
    low, high = cf.interval_80
    meeting = cf.expected_cases_meeting_a_gap
    whole, gap = st.columns(2)
    with whole.container(border=True):
        st.metric(
            "Expected JAR-eligible cases",
            cases_amount(cf.expected_cases),
            help="Unexpected deaths of children aged 0-17 that need a Joint Agency Response, expected in "
            "the period from the demand model.",
        )
        st.caption(f"80% likely: {count_range(low, high)} cases.")
    with gap.container(border=True):
        st.metric(
            "Expected cases meeting a gap in cover",
            cases_amount(meeting),
            help="Cases expected to be notified while at least one rule for the child's age is not met "
            "(fewer trained responders on duty than the rule needs). A case is counted once even when "
            "several rules are in gap.",
        )
        st.caption(f"Chance of at least one: {chance(_p_any(meeting))}.")
    st.markdown("**By age band: 16-17 beside 0-15**")
    bands = _band_rows(cf)
    for col, band in zip(st.columns(max(1, len(bands))), _ordered_bands(bands), strict=False):
        row = bands[band]
        with col.container(border=True):
            st.markdown(f"**Aged {band}**")
            left, right = st.columns(2)
            left.metric(f"Expected cases, {band}", cases_amount(row["expected_cases"]))
            left.caption(f"80% likely: {count_range(row['low_80'], row['high_80'])}.")
            right.metric(f"Meeting a gap, {band}", cases_amount(row["expected_uncovered_cases"]))
            right.caption(f"Chance of at least one: {chance(row['p_any_uncovered'])}.")


def _ordered_bands(bands: dict[str, Any]) -> list[str]:
    return sorted(bands, key=lambda b: int(b.split("-")[0]))


def _p_any(expected: float) -> float:
    return 1 - math.exp(-expected)


# ---------------------------------------------------------------------------------------------- what if


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


def _lapse_from_form(replace: bool, names: dict[str, str]) -> None:
    s = st.session_state
    rid = s.get("capacity_lapse_who")
    if not rid:
        s[FORM_ERROR] = "Pick a responder."
        return
    change = {
        "kind": "lapse",
        "responder_id": str(rid),
        "who": names.get(str(rid)),
        "competency": str(s.get("capacity_lapse_competency")),
        "on": s.get("capacity_lapse_on"),
    }
    _store([change], replace)


def _remove_from_form(replace: bool, names: dict[str, str]) -> None:
    s = st.session_state
    rid = s.get("capacity_remove_who")
    if not rid:
        s[FORM_ERROR] = "Pick a responder."
        return
    _store([{"kind": "remove", "responder_id": str(rid), "who": names.get(str(rid))}], replace)


def _store(changes: list[dict[str, Any]], replace: bool) -> None:
    current = list(st.session_state.get(SCENARIO) or [])
    st.session_state[PREVIOUS] = current
    st.session_state[SCENARIO] = changes if replace else current + changes
    st.session_state.pop(FORM_ERROR, None)


def _clear_scenario() -> None:
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


def _add_form(roles: list[str], default_role: str | None, first: date) -> None:
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
            format_func=role_label,
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


def _people_forms(people: pl.DataFrame, first: date) -> None:
    names = {
        rid: f"{name} ({role_label(role)}, {agency or 'no agency'})"
        for rid, name, role, agency in people.select("responder_id", "name", "role", "agency").iter_rows()
    }
    ids = list(names)
    plain = dict(people.select("responder_id", "name").iter_rows())
    competencies = sorted(
        {c for text in people.get_column("competencies").to_list() for c in (text or "").split(", ") if c}
    ) or ["jar"]
    lapse, remove = st.columns(2)
    with lapse, st.form("capacity_lapse_form", border=True):
        st.markdown("**Let a responder's training lapse**")
        st.selectbox(
            "Responder",
            ids,
            format_func=names.__getitem__,
            index=None,
            placeholder="Pick a responder",
            key="capacity_lapse_who",
        )
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
        st.selectbox(
            "Responder",
            ids,
            format_func=names.__getitem__,
            index=None,
            placeholder="Pick a responder",
            key="capacity_remove_who",
        )
        _submit_buttons("remove", _remove_from_form, (plain,))


def _scenario_section(
    actor: Actor, cf: CapacityForecast | None, roles: list[str], default_role: str | None, q: Query
) -> None:
    st.subheader("What if...?")
    st.caption(
        "Try a change to the rota and see what it does to the risk. Nothing is stored: the rota itself "
        "stays as it is."
    )
    error = st.session_state.pop(FORM_ERROR, None)
    if error:
        st.error(error)
    if can_read_people(actor):
        add_tab, people_tab = st.tabs(["Add trained responders", "Lapsed training or a responder leaving"])
        with add_tab:
            _add_form(roles, default_role, q.first)
        with people_tab:
            try:
                people = _responders(q.url, q.version, q.access, actor)
            except (PermissionDenied, InputError) as exc:
                failed("list the responders", exc)
            else:
                if people.is_empty():
                    st.info("No active responders are stored.")
                else:
                    _people_forms(people, q.first)
    else:
        _add_form(roles, default_role, q.first)
    changes: list[dict[str, Any]] = list(st.session_state.get(SCENARIO) or [])
    if not changes or cf is None or cf.scenario is None:
        return
    _scenario_result(cf, changes)


def _described(changes: Sequence[dict[str, Any]]) -> str:
    texts = [_change_text(c) for c in changes]
    if len(texts) == 1:
        return texts[0]
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def _scenario_result(cf: CapacityForecast, changes: list[dict[str, Any]]) -> None:
    if cf.scenario is None:
        return
    with st.container(border=True):
        st.markdown(f"**Changes being tried:** {_sentence_start(_described(changes))}.")
        for line, better in _change_sentences(cf, changes):
            if better:
                st.success(line, icon=":material/trending_down:")
            else:
                st.info(line, icon=":material/info:")
        before, after = cf.forecast, cf.scenario.changed
        overall = st.columns(1 + before.bands.height)
        overall[0].metric(
            "Meeting a gap in cover, with the changes",
            cases_amount(after.expected_cases_meeting_a_gap),
            delta=_delta(after.expected_cases_meeting_a_gap - before.expected_cases_meeting_a_gap),
            delta_color="inverse",
            help="All ages, any rule for the child's age. The arrow shows the change from the rota as it is.",
        )
        after_bands = {r["age_band"]: r for r in after.bands.iter_rows(named=True)}
        before_bands = _band_rows(cf)
        for col, band in zip(overall[1:], _ordered_bands(before_bands), strict=False):
            b, a = before_bands[band], after_bands[band]
            col.metric(
                f"Meeting a gap, {band}, with the changes",
                cases_amount(a["expected_uncovered_cases"]),
                delta=_delta(a["expected_uncovered_cases"] - b["expected_uncovered_cases"]),
                delta_color="inverse",
            )
        st.caption(
            "These count a case once if it meets a gap in any rule for the child's age, so adding responders "
            "of one role helps only in the hours when the other roles are covered (and not at all in weeks "
            "with no rota stored)."
        )
        st.button("Clear the changes", on_click=_clear_scenario, key="capacity_clear", icon=":material/undo:")


def _delta(change: float) -> str | None:
    if abs(change) < 0.005:
        return "no change"
    return f"{change:+.2f}"


def _change_sentences(cf: CapacityForecast, changes: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The headline of a scenario per role it moves: 'Adding 2 trained SIOs on nights would cut the expected
    cases meeting no trained SIO from 2.3 to 1.1 (0-15: 1.9 to 0.9; 16-17: 0.40 to 0.20).'"""
    rules = cf.rules.with_columns(
        (pl.col("expected_uncovered_cases_after") - pl.col("expected_uncovered_cases")).alias("_change")
    )
    moved = rules.filter(pl.col("_change").abs() > 1e-6)
    what = _sentence_start(_described(changes))
    if moved.is_empty():
        return [(f"{what} would not change the expected cases meeting a gap for any rule.", False)]
    out: list[tuple[str, bool]] = []
    for role in dict.fromkeys(moved.get_column("role").to_list()):
        mine = moved.filter(pl.col("role") == role)
        before = float(mine.get_column("expected_uncovered_cases").sum())
        after = float(mine.get_column("expected_uncovered_cases_after").sum())
        lost = (
            "no trained " + _noun(role, 1)
            if bool((mine["required"] == 1).all())
            else f"a gap in {role_label(role)} cover"
        )
        verb = "cut" if after < before else "raise"
        parts = "; ".join(
            f"{r['label']}: {cases_amount(r['expected_uncovered_cases'])} to "
            f"{cases_amount(r['expected_uncovered_cases_after'])}"
            for r in mine.iter_rows(named=True)
        )
        if _disjoint(mine.get_column("age_band").to_list()):
            text = (
                f"{what} would {verb} the expected cases meeting {lost} from {cases_amount(before)} to "
                f"{cases_amount(after)} ({parts})."
            )
        else:  # the rules' age bands overlap: a sum would count a case twice
            text = f"{what} would {verb} the expected cases meeting {lost}: {parts}."
        out.append((text, after < before))
    return out


def _disjoint(bands: Sequence[str]) -> bool:
    spans = sorted(tuple(int(x) for x in b.split("-")) for b in bands)
    return all(a[1] < b[0] for a, b in itertools.pairwise(spans))


# ---------------------------------------------------------------------------------------------- rule table


def _rule_table(cf: CapacityForecast, rules: pl.DataFrame, mark_agency: bool) -> None:
    st.subheader("Rule by rule")
    after = "expected_uncovered_cases_after" in rules.columns
    changed = " with the changes"

    def p_any(col: str) -> pl.Expr:
        return ((1 - (-pl.col(col)).exp()) * 100).round(0)

    columns = [pl.col("label").alias("Rule")]
    if mark_agency:
        columns.append(pl.col("role").is_in(list(cf.agency_roles)).alias("Your agency"))
    columns.append(pl.col("uncovered_hours").round(1).alias("Hours in gap"))
    if after:
        columns.append(pl.col("uncovered_hours_after").round(1).alias(f"Hours in gap,{changed}"))
    columns.append(pl.col("expected_uncovered_cases").round(2).alias("Expected cases meeting the gap"))
    if after:
        columns += [
            pl.col("expected_uncovered_cases_after")
            .round(2)
            .alias(f"Expected cases meeting the gap,{changed}"),
            (pl.col("expected_uncovered_cases_after") - pl.col("expected_uncovered_cases"))
            .round(2)
            .alias("Change"),
        ]
    columns += [
        pl.format("{} to {}", "uncovered_low_80", "uncovered_high_80").alias("80% likely range"),
        p_any("expected_uncovered_cases").alias("Chance of at least one"),
    ]
    if after:
        columns.append(p_any("expected_uncovered_cases_after").alias(f"Chance of at least one,{changed}"))
    columns.append(pl.col("expected_lost_cases").round(2).alias("Expected cases with no free responder"))
    if after:
        columns.append(pl.col("expected_lost_cases_after").round(2).alias(f"No free responder,{changed}"))
    table = rules.select(columns)
    percent = st.column_config.NumberColumn(
        format="%d%%", help="The chance that at least one case meets this rule's gaps"
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Rule": st.column_config.TextColumn(width="medium"),
            f"Hours in gap,{changed}": st.column_config.NumberColumn(format="%.1f"),
            f"Expected cases meeting the gap,{changed}": st.column_config.NumberColumn(format="%.2f"),
            f"No free responder,{changed}": st.column_config.NumberColumn(format="%.2f"),
            "Hours in gap": st.column_config.NumberColumn(
                format="%.1f",
                help="Hours in the period with fewer trained responders on duty than the rule needs",
            ),
            "Expected cases meeting the gap": st.column_config.NumberColumn(
                format="%.2f", help="Cases of the rule's age band expected while the rule is in gap"
            ),
            "Change": st.column_config.NumberColumn(
                format="%+.2f", help="Expected cases meeting the gap: with the changes minus as it is"
            ),
            "80% likely range": st.column_config.TextColumn(
                help="The number of cases meeting the gap is 80% likely to be in this range"
            ),
            "Chance of at least one": percent,
            f"Chance of at least one,{changed}": percent,
            "Expected cases with no free responder": st.column_config.NumberColumn(
                format="%.2f",
                help="Cases meeting a gap, plus cases arriving while every trained responder on duty is "
                "already busy with an earlier case (Erlang-B, mean commitment "
                f"{cf.settings.commitment_hours:g} hours a case)",
            ),
        },
        key="capacity_rules_table",
    )
    p = cf.period
    download_buttons(
        table.with_columns(rules.get_column("rule_id").alias("Rule id")),
        f"capacity-rules-{p.first}-to-{p.last}",
        sheet="rules",
        key="capacity-rules",
    )


# ---------------------------------------------------------------------------------------------- charts


def _styles(rules: pl.DataFrame) -> dict[str, tuple[str, str]]:
    """A colour and a marker per rule: 0-15 NHS blue, 16-17 orange (the pair every page uses), then the
    rest of the palette; markers make the difference without colour too."""
    out: dict[str, tuple[str, str]] = {}
    extra = 2
    for i, (rule_id, band) in enumerate(rules.select("rule_id", "age_band").iter_rows()):
        if band == "0-15" and not any(v[0] == CATEGORICAL[0] for v in out.values()):
            colour = CATEGORICAL[0]
        elif band == "16-17" and not any(v[0] == CATEGORICAL[1] for v in out.values()):
            colour = CATEGORICAL[1]
        else:
            colour = CATEGORICAL[extra % len(CATEGORICAL)]
            extra += 1
        out[rule_id] = (colour, MARKERS[i % len(MARKERS)])
    return out


def _two_panels(
    traces: list[dict[str, Any]],
    titles: tuple[str, str],
    y_titles: tuple[str, str],
    split: float,
    shapes: Sequence[dict[str, Any]] = (),
    notes: Sequence[dict[str, Any]] = (),
    x_axis: dict[str, Any] | None = None,
) -> go.Figure:
    """Two panels, one above the other, sharing the x axis: traces with `yaxis` "y" (top) or "y2"
    (bottom). Built as one figure in one go: Plotly's subplot helpers cost more than the rest of the page."""
    gap = 0.12
    top, bottom = [split + gap / 2, 1.0], [0.0, split - gap / 2]
    axis = {"gridcolor": NHS_PALE_GREY, "automargin": True, **(x_axis or {})}
    titles_at = [
        {
            "text": text,
            "x": 0.5,
            "y": domain[1],
            "xref": "paper",
            "yref": "paper",
            "xanchor": "center",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 13},
        }
        for text, domain in zip(titles, (top, bottom), strict=True)
    ]
    layout = {
        "xaxis": {**axis, "anchor": "y", "matches": "x2", "showticklabels": False},
        "xaxis2": {**axis, "anchor": "y2"},
        "yaxis": {"domain": top, "anchor": "x", "title": {"text": y_titles[0]}, "rangemode": "tozero"},
        "yaxis2": {"domain": bottom, "anchor": "x2", "title": {"text": y_titles[1]}, "rangemode": "tozero"},
        "annotations": [*titles_at, *notes],
        "shapes": list(shapes),
        "legend": {"orientation": "h", "y": -0.12, "x": 0},
        "hovermode": "x unified",
    }
    for name in ("yaxis", "yaxis2"):
        layout[name].update(gridcolor=NHS_PALE_GREY, automargin=True)
    fig = go.Figure(data=traces, layout=layout)
    nhs_layout(fig, height=520)
    fig.layout.margin = {"l": 70, "r": 10, "t": 50, "b": 10}
    return fig


def _hour_of_week_figure(cf: CapacityForecast, roles: tuple[str, ...]) -> tuple[go.Figure, str]:
    how = cf.hour_of_week.filter(pl.col("role").is_in(list(roles)))
    rules = cf.rules.filter(pl.col("role").is_in(list(roles)))
    styles = _styles(rules)
    has_after = "trained_on_duty_after" in how.columns
    traces: list[dict[str, Any]] = []
    seen_bands: set[str] = set()
    for rule in rules.iter_rows(named=True):
        colour, marker = styles[rule["rule_id"]]
        label = rule["label"]
        mine = how.filter(pl.col("rule_id") == rule["rule_id"]).sort("day", "hour")
        x = mine.get_column("label").to_list()
        if rule["age_band"] not in seen_bands:
            seen_bands.add(rule["age_band"])
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column("band_cases_per_year").to_numpy(),
                    "xaxis": "x",
                    "yaxis": "y",
                    "name": f"Demand, aged {rule['age_band']}",
                    "mode": "lines",
                    "line": {"color": colour, "width": 2},
                    "legendgroup": "demand",
                    "hovertemplate": f"%{{y:.2f}} cases a year<extra>aged {rule['age_band']}</extra>",
                }
            )
        step = {"color": colour, "width": 2, "shape": "hv"}
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": mine.get_column("trained_on_duty").to_numpy(),
                "xaxis": "x2",
                "yaxis": "y2",
                "name": label,
                "mode": "lines+markers",
                "line": step,
                "marker": {"symbol": marker, "size": 5, "maxdisplayed": 28},
                "legendgroup": rule["rule_id"],
                "hovertemplate": f"%{{y:.2f}} on duty<extra>{label}</extra>",
            }
        )
        if has_after:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column("trained_on_duty_after").to_numpy(),
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "name": f"{label}, with the changes",
                    "mode": "lines",
                    "line": {**step, "dash": DASH_AFTER},
                    "legendgroup": rule["rule_id"],
                    "hovertemplate": f"%{{y:.2f}} on duty<extra>{label}, with the changes</extra>",
                }
            )
    needed = sorted(set(rules.get_column("required").to_list()))
    level = {"xref": "x2 domain", "yref": "y2"}
    shapes = [
        {
            **level,
            "type": "line",
            "x0": 0,
            "x1": 1,
            "y0": n,
            "y1": n,
            "line": {"color": NHS_DARK_GREY, "dash": "dot", "width": 1},
        }
        for n in needed
    ]
    notes = [
        {
            **level,
            "x": 0,
            "y": n,
            "text": f"{n} needed",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
        }
        for n in needed
    ]
    ticks = [f"{d} {h:02d}:00" for d in DAYS for h in (0, 12)]
    fig = _two_panels(
        traces,
        (
            "Demand: expected cases a year notified in each hour of the week",
            "Rostered capacity: trained responders on duty (mean over the period)",
        ),
        ("cases a year", "on duty"),
        0.58,
        shapes,
        notes,
        {
            "type": "category",
            "tickvals": ticks,
            "ticktext": [t if t.endswith("12:00") else t[:3] for t in ticks],
        },
    )
    peak = how.sort("band_cases_per_year", descending=True).row(0, named=True) if how.height else None
    fewest = how.filter(pl.col("trained_on_duty").is_not_null()).sort("trained_on_duty")
    thin = fewest.row(0, named=True) if fewest.height else None
    alt = (
        f"Line charts by hour of the week for {', '.join(role_label(r) for r in roles)}: above, the demand "
        "(expected cases a year notified in each hour) for each age band; below, the mean number of trained "
        "responders on duty for each rule."
    )
    if peak and thin:
        alt += (
            f" Demand is highest on {peak['label']}; the fewest trained responders are on duty on "
            f"{thin['label']} ({thin['trained_on_duty']:.1f} for {thin['rule_id']})."
        )
    alt += " The numbers are in the table below the chart."
    return fig, alt


def _weekly_figure(cf: CapacityForecast, roles: tuple[str, ...]) -> tuple[go.Figure, str]:
    weekly = cf.weekly.filter(pl.col("role").is_in(list(roles)))
    rules = cf.rules.filter(pl.col("role").is_in(list(roles)))
    styles = _styles(rules)
    has_after = "expected_uncovered_cases_after" in weekly.columns
    demand = cf.weekly.select("week_start", "expected_cases").unique("week_start").sort("week_start")
    weeks = demand.get_column("week_start").to_list()
    week = "Week from %{x|%a %d/%m/%Y}: "
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": weeks,
            "y": demand.get_column("expected_cases").to_numpy(),
            "xaxis": "x",
            "yaxis": "y",
            "name": "Expected cases, all ages",
            "marker": {"color": NHS_PALE_GREY, "line": {"color": NHS_DARK_GREY, "width": 1}},
            "hovertemplate": week + "%{y:.2f} cases expected<extra></extra>",
        }
    ]
    for rule in rules.iter_rows(named=True):
        colour, marker = styles[rule["rule_id"]]
        label = rule["label"]
        mine = weekly.filter(pl.col("rule_id") == rule["rule_id"]).sort("week_start")
        x = mine.get_column("week_start").to_list()
        line = {"color": colour, "width": 2}
        panels = [
            ("y", "expected_uncovered_cases", "%{y:.2f} cases meeting the gap"),
            ("y2", "uncovered_hours", "%{y:.1f} hours in gap"),
        ]
        for axis, column, what in panels:
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": mine.get_column(column).to_numpy(),
                    "xaxis": "x" if axis == "y" else "x2",
                    "yaxis": axis,
                    "name": label,
                    "mode": "lines+markers",
                    "line": line,
                    "marker": {"symbol": marker, "size": 7},
                    "legendgroup": rule["rule_id"],
                    "showlegend": axis == "y",
                    "hovertemplate": f"{week}{what}<extra>{label}</extra>",
                }
            )
            if has_after:
                traces.append(
                    {
                        "type": "scatter",
                        "x": x,
                        "y": mine.get_column(f"{column}_after").to_numpy(),
                        "xaxis": "x" if axis == "y" else "x2",
                        "yaxis": axis,
                        "name": f"{label}, with the changes",
                        "mode": "lines",
                        "line": {**line, "dash": DASH_AFTER},
                        "legendgroup": rule["rule_id"],
                        "showlegend": axis == "y",
                        "hovertemplate": f"{week}{what}<extra>{label}, with the changes</extra>",
                    }
                )
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    since = cf.unrostered_from
    if since is not None and weeks:
        # the weeks with no rota stored: shaded in both panels, named once
        x0, x1 = since.astimezone(zone(cf.tz_name)).date(), max(weeks) + timedelta(days=3)
        for x_ref, y_ref in (("x", "y domain"), ("x2", "y2 domain")):
            shapes.append(
                {
                    "type": "rect",
                    "xref": x_ref,
                    "yref": y_ref,
                    "x0": x0,
                    "x1": x1,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": NHS_WARM_YELLOW,
                    "opacity": 0.18,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        notes.append(
            {
                "xref": "x",
                "yref": "y domain",
                "x": x0,
                "y": 1,
                "text": "No rota stored yet",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
            }
        )
    fig = _two_panels(
        traces,
        ("Expected cases each week, and those meeting a gap in each rule", "Hours in gap each week"),
        ("cases", "hours"),
        0.45,
        shapes,
        notes,
        {"tickformat": "%d/%m/%Y"},
    )
    fig.layout.barmode = "overlay"
    total = float(demand.get_column("expected_cases").sum()) if demand.height else 0.0
    alt = (
        f"Charts by week from {uk_date(weeks[0]) if weeks else '-'}: bars show the expected cases each week "
        f"(all ages, {cases_amount(total)} in all); lines show, for each rule of "
        f"{', '.join(role_label(r) for r in roles)}, the expected cases meeting a gap and the hours in gap. "
        "The numbers are in the table below the chart."
    )
    return fig, alt


def _charts_section(
    q: Query, actor: Actor, cf: CapacityForecast, roles: list[str], default_role: str | None
) -> None:
    st.subheader("Demand against rostered trained capacity")
    role = st.segmented_control(
        "Role",
        roles,
        default=default_role if default_role in roles else roles[0],
        format_func=role_label,
        required=True,
        key=CHART_ROLE,
    )
    role = role if role in roles else roles[0]
    hour_fig, hour_alt, week_fig, week_alt = _charts(q, actor, (role,))
    show_chart(hour_fig, alt=hour_alt, key="capacity_hour_chart")
    st.caption(
        "Hours of the week in local time. Solid lines: the rota as stored; dashed: with the changes being "
        "tried. Responders on duty are the mean over the period's weeks, counting only those trained for the "
        "rule; weeks with no rota stored count as none on duty."
    )
    p = cf.period
    with st.expander("The hour-of-week chart as a table"):
        table = _hour_table(cf, role)
        st.dataframe(table, hide_index=True, key="capacity_hour_table")
        download_buttons(
            table, f"capacity-hour-of-week-{role}-{p.first}-to-{p.last}", sheet="hours", key="capacity-hours"
        )
    show_chart(week_fig, alt=week_alt, key="capacity_week_chart")
    st.caption(
        "Weeks start on Monday; the first and last weeks may be part weeks. Shaded: no rota stored yet."
    )
    with st.expander("The weekly chart as a table"):
        table = _week_table(cf, role)
        st.dataframe(
            table,
            hide_index=True,
            column_config={"Week from": st.column_config.DateColumn(format="ddd DD/MM/YYYY")},
            key="capacity_week_table",
        )
        download_buttons(
            table, f"capacity-weekly-{role}-{p.first}-to-{p.last}", sheet="weeks", key="capacity-weeks"
        )


def _hour_table(cf: CapacityForecast, role: str) -> pl.DataFrame:
    """One row per hour of the week: the demand of each age band and the trained responders on duty for
    each rule of `role` (and with the changes)."""
    how = cf.hour_of_week.filter(pl.col("role") == role)
    rules = cf.rules.filter(pl.col("role") == role)
    keys = ["day", "hour"]
    out = how.select(*keys, pl.col("label").alias("Hour of the week")).unique(keys)
    bands: set[str] = set()
    for rule in rules.iter_rows(named=True):
        mine = how.filter(pl.col("rule_id") == rule["rule_id"])
        cols = [pl.col("trained_on_duty").round(2).alias(f"{rule['label']}: trained on duty")]
        if "trained_on_duty_after" in mine.columns:
            cols.append(
                pl.col("trained_on_duty_after").round(2).alias(f"{rule['label']}: on duty with the changes")
            )
        if rule["age_band"] not in bands:
            bands.add(rule["age_band"])
            cols.insert(
                0,
                pl.col("band_cases_per_year")
                .round(3)
                .alias(f"Demand aged {rule['age_band']} (cases a year)"),
            )
        out = out.join(mine.select(*keys, *cols), on=keys, how="left")
    return out.sort(keys).drop(keys)


def _week_table(cf: CapacityForecast, role: str) -> pl.DataFrame:
    weekly = cf.weekly.filter(pl.col("role") == role)
    labels = dict(cf.rules.select("rule_id", "label").iter_rows())
    cols = [
        pl.col("week_start").alias("Week from"),
        pl.col("rule_id").replace_strict(labels, default=pl.col("rule_id")).alias("Rule"),
        pl.col("expected_cases").round(3).alias("Expected cases, all ages"),
        pl.col("uncovered_hours").round(1).alias("Hours in gap"),
        pl.col("expected_uncovered_cases").round(3).alias("Expected cases meeting the gap"),
    ]
    if "expected_uncovered_cases_after" in weekly.columns:
        cols += [
            pl.col("uncovered_hours_after").round(1).alias("Hours in gap, with the changes"),
            pl.col("expected_uncovered_cases_after")
            .round(3)
            .alias("Expected cases meeting the gap, with the changes"),
        ]
    return weekly.sort("week_start", "_order").select(cols)


# ---------------------------------------------------------------------------------------------- method


def _method(cf: CapacityForecast, actor: Actor) -> None:
    with st.expander("How these numbers are worked out"):
        population = cf.settings.child_population
        scaled = f", scaled to a child population of {population:,}" if population else ""
        st.markdown(
            f"""
**Demand.** The expected number of JAR-eligible cases (unexpected deaths needing a Joint Agency Response)
in each hour comes from a statistical model fitted to the area's past cases, separately for each age band.
It allows for the month of the year, the day of the week and the hour of the day, and pulls each of these
towards the average when there are few cases, so a handful of deaths does not make a pattern. Where the
area has little history, it leans on national rates (about 30 child deaths per 100,000 children a year,
about 30% of them sudden and unexpected){scaled}.
The 80% range is where the count is 80% likely to fall, allowing for chance and for what the model does
not know.

**Expected cases meeting a gap.** For each rule, the demand of its age band added up over the hours when
fewer trained responders are on duty than the rule needs. For the headline, a case counts once if any
rule for the child's age is in gap.

**Chance of at least one.** Cases arrive at random, so the chance that at least one meets a gap is
1 - e<sup>-x</sup> where x is the expected number: 0.7 expected gives about a 50% chance.

**Cases with no free responder.** A case also goes without a response when every trained responder on
duty is already busy with an earlier case. This uses the Erlang-B formula (a standard queueing result)
with each case taking a responder for {cf.settings.commitment_hours:g} hours on average, and the demand of
all ages, because every case needs each role.

**What if.** The same demand against the rota with your changes; nothing is stored.

The full method, its assumptions and its checks (back-tests of the intervals) are in `docs/methods.md` in
the project's repository.
""",
            unsafe_allow_html=True,
        )
        history = pl.DataFrame(cf.history)
        if history.height:
            # display-ready from the service: commissioners never get the count of cases (docs/methods.md)
            st.dataframe(
                history.select(
                    pl.col("age_band").alias("Age band"),
                    pl.col("cases_in_history_shown").alias("Cases in the history"),
                    pl.col("history_years").alias("Years of history"),
                    pl.col("fitted_cases_per_year").alias("Fitted cases a year"),
                    pl.col("prior_cases_per_year").alias("National rate, cases a year"),
                ),
                hide_index=True,
                key="capacity_model_table",
            )
            st.caption(
                "The model learns from whole calendar quarters of past cases, up to the start of the quarter "
                "the forecast starts in."
                + (
                    ""
                    if can_read_case_level(actor)
                    else " The number of past cases is not shown here: counts of cases are published on "
                    "the Completion page, by whole quarter or year, with small numbers hidden."
                )
            )


# ---------------------------------------------------------------------------------------------- the page

actor = require_page(CAPACITY)
st.title("Capacity & forecast")
tz = service_tz()
tz_name = zone_name(tz)
today = utc_now().astimezone(tz).date()
url = database_key()
first, last = _period_picker(today)
access = (actor.role, actor.agency)
changes: list[dict[str, Any]] = list(st.session_state.get(SCENARIO) or [])
try:
    version = data_version(engine())
    base_query = Query(url, version, first, last, tz_name, access, ())
    base = _forecast(base_query, actor)
except Exception as exc:
    failed("work out the forecast for this period", exc)
    st.stop()

query, cf = base_query, base
if changes:
    # A change the service refuses (unknown hours, a training the responder does not hold, outside the
    # period) is reported and dropped: fall back to the changes tried before it, else to none.
    kept: list[dict[str, Any]] = []
    for attempt in (changes, list(st.session_state.get(PREVIOUS) or [])):
        if not attempt:
            continue
        try:
            cf = _forecast(base_query._replace(scenario=_key(attempt)), actor)
        except (InputError, PermissionDenied) as exc:
            if attempt is changes:
                failed("try the changes", exc)
            continue
        query, kept = base_query._replace(scenario=_key(attempt)), attempt
        break
    if kept is not changes:
        st.session_state[SCENARIO] = kept
        st.session_state[PREVIOUS] = []
        what = "the changes tried before it" if kept else "the rota as it is"
        st.caption(f"That change was not applied; the figures are for {what}.")

_headline(cf)

roles = list(dict.fromkeys(cf.rules.get_column("role").to_list()))
agency_roles = [r for r in cf.agency_roles if r in roles]
show_all = True
if agency_roles:
    show_all = st.toggle(
        "Show all partners",
        value=False,
        key=ALL_PARTNERS,
        help=f"Off: only the rules {actor.agency} provides responders for. On: every partner's rules.",
    )
    if not show_all:
        st.caption(f"Showing the rules of {actor.agency}: {', '.join(role_label(r) for r in agency_roles)}.")
shown_roles = roles if show_all else agency_roles
default_role = agency_roles[0] if agency_roles else (roles[0] if roles else None)

_scenario_section(actor, cf, roles, default_role, query)
_rule_table(
    cf, cf.rules.filter(pl.col("role").is_in(shown_roles)), mark_agency=bool(agency_roles) and show_all
)
if shown_roles:
    _charts_section(query, actor, cf, shown_roles, default_role)
_method(cf, actor)
