"""Long because the page draws many sections from one forecast: the headline against the previous period,
what it would take (dashboard/components/capacity_takes.py), the what-if forms, the rule table, both charts
with their tables, and the method in words.

Capacity & forecast: how many JAR-eligible deaths to expect in a period, how many would meet a gap in
trained cover (rule by rule, 16-17 beside 0-15), demand against rostered trained capacity, and what-if
changes ("two more SIOs trained for nights"). Draws only; the numbers come from
`rota.services.forecasting`, cached by a data version that changes with every stored change."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components import capacity_takes
from dashboard.components import capacity_whatif as what_if
from dashboard.components.cache_keys import PeriodKey, period_key
from dashboard.components.capacity_charts import hour_of_week_figure, weekly_figure
from dashboard.components.charts import (
    download_buttons,
    period_range_input,
    show_chart,
    uk_date,
    uk_datetime,
    uk_day,
)
from dashboard.components.context import engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import cases_amount, chance, count_range, counted, labelled
from dashboard.components.inputs import one_of
from rota.errors import InputError, PermissionDenied
from rota.services.access import CAPACITY, Actor, can_read_case_level, can_read_people
from rota.services.forecasting import (
    WITH_CHANGES,
    CapacityForecast,
    PeriodChange,
    ScenarioKey,
    bands_by_age,
    capacity_forecast,
    chance_of_any,
    change_since_previous,
    default_forecast_period,
    hour_of_week_table,
    rule_table,
    scenario_key,
    scenarios_from,
    weekly_table,
)
from rota.services.people import ResponderFilters, responder_list
from rota.timeutil import utc_now, zone, zone_name
from rota.vocab import responder_role_label

ALL_PARTNERS = "capacity_all_partners"
CHART_ROLE = "capacity_chart_role"


# ---------------------------------------------------------------------------------------------- cached reads
# Keyed by the database, a data version (max audit id: every change is audited), the period, what the
# answer depends on about the user (role: which scenarios are allowed; agency: the agency's roles) and the
# what-if changes. The actor itself is passed unhashed (leading underscore) so the service still checks it.


class Query(NamedTuple):
    period: PeriodKey
    access: tuple[str, str | None]
    scenario: ScenarioKey


@st.cache_data(show_spinner="Forecasting demand and cover...", max_entries=16)
def _forecast(q: Query, _actor: Actor) -> CapacityForecast:
    # with changes to try, reuse the (cached) forecast without them: only the changed rota is assessed
    base = _forecast(q._replace(scenario=()), _actor) if q.scenario else None
    return capacity_forecast(
        engine(),
        _actor,
        q.period.first,
        q.period.last,
        zone(q.period.tz_name),
        scenarios=scenarios_from(q.scenario),
        base=base,
    )


@st.cache_data(show_spinner="Comparing with the previous period...", max_entries=16)
def _change(q: Query, _actor: Actor) -> PeriodChange | None:
    """This period (as the rota stands) against the previous period of as many days; None when the
    service cannot work it out (for example a previous period out of the accepted dates)."""
    base = q._replace(scenario=())
    try:
        return change_since_previous(engine(), _actor, _forecast(base, _actor), zone(q.period.tz_name))
    except (InputError, ValueError):
        return None


@st.cache_resource(show_spinner=False, max_entries=32)
def _charts(q: Query, _actor: Actor, roles: tuple[str, ...]) -> tuple[go.Figure, str, go.Figure, str]:
    """Both charts for the chosen roles and their text alternatives. Kept as the objects themselves (never
    changed after they are built): building a Plotly figure costs more than the rest of the page."""
    cf = _forecast(q, _actor)
    hour_fig, hour_alt = hour_of_week_figure(cf, roles)
    week_fig, week_alt = weekly_figure(cf, roles)
    return hour_fig, hour_alt, week_fig, week_alt


@st.cache_data(show_spinner=False, max_entries=8)
def _responders(url: str, version: int, access: tuple[str, str | None], _actor: Actor) -> pl.DataFrame:
    """Active responders for the what-if pickers (names: the service refuses commissioners)."""
    return responder_list(engine(), _actor, ResponderFilters(active=True))


# ---------------------------------------------------------------------------------------------- period


def _use_published(first: date, last: date) -> None:
    st.session_state[what_if.PERIOD] = (first, last)


def _period_picker(today: date) -> tuple[date, date]:
    default = default_forecast_period(today, service_tz())
    return period_range_input(
        (default.first, default.last),
        what_if.PERIOD,
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


def _delta(change: float | None, days: int) -> str | None:
    """A change in expected cases for a metric's delta: "+0.27 against the previous 91 days"."""
    if change is None:
        return None
    sign = "+" if change > 0 else "-" if change < 0 else "±"
    return f"{sign}{cases_amount(abs(change))} against the previous {counted(days, 'day')}"


def _headline(cf: CapacityForecast, change: PeriodChange | None) -> None:
    p = cf.period
    st.caption(
        f"{uk_day(p.first)} to {uk_day(p.last)}: {counted(p.days, 'day')}. "
        f"Times are local ({cf.tz_name}), 24-hour clock."
    )
    _unrostered_warning(cf)
    low, high = cf.interval_80
    meeting = cf.expected_cases_meeting_a_gap
    whole, gap = st.columns(2)
    before = (
        f" The previous {counted(p.days, 'day')} ({uk_date(change.previous.first)} to "
        f"{uk_date(change.previous.last)}, the same demand model and the rota stored for them): "
        if change is not None
        else ""
    )
    with whole.container(border=True):
        st.metric(
            "Expected JAR-eligible cases",
            cases_amount(cf.expected_cases),
            delta=_delta(change.expected_cases_change if change else None, p.days),
            delta_color="off",  # more or fewer deaths expected is neither good nor bad news about cover
            help="Unexpected deaths of children aged 0-17 that need a Joint Agency Response, expected in "
            "the period from the demand model."
            + (f"{before}{cases_amount(change.expected_cases)}." if change else ""),
        )
        st.caption(f"80% likely: {count_range(low, high)} cases.")
    with gap.container(border=True):
        st.metric(
            "Expected cases meeting a gap in cover",
            cases_amount(meeting),
            delta=_delta(change.meeting_a_gap_change if change else None, p.days),
            delta_color="inverse",  # fewer is better
            help="Cases expected to be notified while at least one rule for the child's age is not met "
            "(fewer trained responders on duty than the rule needs). A case is counted once even when "
            "several rules are in gap."
            + (f"{before}{cases_amount(change.expected_cases_meeting_a_gap)}." if change else ""),
        )
        st.caption(f"Chance of at least one: {chance(chance_of_any(meeting))}.")
    st.markdown("**By age band: 16-17 beside 0-15**")
    bands = bands_by_age(cf.forecast)
    for col, (band, row) in zip(st.columns(max(1, len(bands))), bands.items(), strict=False):
        with col.container(border=True):
            st.markdown(f"**Aged {band}**")
            left, right = st.columns(2)
            left.metric(f"Expected cases, {band}", cases_amount(row["expected_cases"]))
            left.caption(f"80% likely: {count_range(row['low_80'], row['high_80'])}.")
            right.metric(f"Meeting a gap, {band}", cases_amount(row["expected_uncovered_cases"]))
            right.caption(f"Chance of at least one: {chance(row['p_any_uncovered'])}.")


# ---------------------------------------------------------------------------------------------- what if


def _scenario_section(
    actor: Actor, cf: CapacityForecast | None, roles: list[str], default_role: str | None, q: Query
) -> None:
    st.header("What if...?")
    st.caption(
        "Try a change to the rota and see what it does to the risk. Nothing is stored: the rota itself "
        "stays as it is."
    )
    error = st.session_state.pop(what_if.FORM_ERROR, None)
    if error:
        st.error(error)
    if can_read_people(actor):
        add_tab, people_tab = st.tabs(["Add trained responders", "Lapsed training or a responder leaving"])
        with add_tab:
            what_if.add_form(roles, default_role, q.period.first)
        with people_tab:
            try:
                people = _responders(q.period.url, q.period.version, q.access, actor)
            except (PermissionDenied, InputError) as exc:
                failed("list the responders", exc)
            else:
                if people.is_empty():
                    st.info("No active responders are stored.")
                else:
                    what_if.people_forms(people, q.period.first)
    else:
        what_if.add_form(roles, default_role, q.period.first)
    changes: list[dict[str, Any]] = list(st.session_state.get(what_if.SCENARIO) or [])
    if not changes or cf is None or cf.scenario is None:
        return
    what_if.scenario_result(cf, changes)


# ---------------------------------------------------------------------------------------------- rule table


def _rule_table(cf: CapacityForecast, rules: pl.DataFrame, mark_agency: bool) -> None:
    st.header("Rule by rule")
    changed = WITH_CHANGES
    table = rule_table(cf, rules, mark_agency)
    percent = st.column_config.NumberColumn(
        format="%d%%", help="The chance that at least one case meets this rule's gaps"
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            # the rule's whole name (sized to fit), kept in view while the other columns scroll; short
            # headings, the whole meaning in each column's help, so that the last column is not cut off
            "Rule": st.column_config.TextColumn(pinned=True),
            f"Hours in gap,{changed}": st.column_config.NumberColumn(format="%.1f"),
            f"Expected cases meeting the gap,{changed}": st.column_config.NumberColumn(format="%.2f"),
            f"No free responder,{changed}": st.column_config.NumberColumn(format="%.2f"),
            "Hours in gap": st.column_config.NumberColumn(
                format="%.1f",
                help="Hours in the period with fewer trained responders on duty than the rule needs",
            ),
            "Expected cases meeting the gap": st.column_config.NumberColumn(
                "Cases meeting the gap",
                format="%.2f",
                help="Expected cases of the rule's age band notified while the rule is in gap",
            ),
            "Change": st.column_config.NumberColumn(
                format="%+.2f", help="Expected cases meeting the gap: with the changes minus as it is"
            ),
            "80% likely range": st.column_config.TextColumn(
                "80% range", help="The number of cases meeting the gap is 80% likely to be in this range"
            ),
            "Chance of at least one": percent,
            f"Chance of at least one,{changed}": percent,
            "Expected cases with no free responder": st.column_config.NumberColumn(
                "No free responder",
                format="%.2f",
                help="Expected cases meeting a gap, plus cases arriving while every trained responder on "
                "duty is already busy with an earlier case (Erlang-B, mean commitment "
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


def _charts_section(
    q: Query, actor: Actor, cf: CapacityForecast, roles: list[str], default_role: str | None
) -> None:
    st.header("Demand against rostered trained capacity")
    role = one_of("Role", roles, default=default_role, format_func=responder_role_label, key=CHART_ROLE)
    hour_fig, hour_alt, week_fig, week_alt = _charts(q, actor, (role,))
    show_chart(hour_fig, alt=hour_alt, key="capacity_hour_chart")
    st.caption(
        "Hours of the week in local time. Solid lines: the rota as stored; dashed: with the changes being "
        "tried. Responders on duty are the mean over the period's weeks, counting only those trained for the "
        "rule; weeks with no rota stored count as none on duty."
    )
    p = cf.period
    with st.expander("The hour-of-week chart as a table"):
        table = hour_of_week_table(cf, role)
        st.dataframe(table, hide_index=True, key="capacity_hour_table")
        download_buttons(
            table, f"capacity-hour-of-week-{role}-{p.first}-to-{p.last}", sheet="hours", key="capacity-hours"
        )
    show_chart(week_fig, alt=week_alt, key="capacity_week_chart")
    st.caption(
        "Weeks start on Monday; the first and last weeks may be part weeks. Shaded: no rota stored yet."
    )
    with st.expander("The weekly chart as a table"):
        table = weekly_table(cf, role)
        st.dataframe(
            table,
            hide_index=True,
            column_config={"Week from": st.column_config.DateColumn(format="ddd DD/MM/YYYY")},
            key="capacity_week_table",
        )
        download_buttons(
            table, f"capacity-weekly-{role}-{p.first}-to-{p.last}", sheet="weeks", key="capacity-weeks"
        )


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

**What it would take.** The capacity planner proposes extra duties for the people already in the rota,
within the working-time limits and riskiest hours first, then finds the fewest more trained people, on
duties of their own, that would close the gaps left. Its figures weigh each rule's gaps separately.

The full method, its assumptions and its checks (back-tests of the intervals) are in `docs/methods.md` in
the project's repository.
""",
            unsafe_allow_html=True,
        )
        history = pl.DataFrame(cf.history)
        if history.height:
            # display-ready from the service: commissioners never get the count of cases (docs/methods.md)
            st.dataframe(
                labelled(
                    history,
                    {
                        "Age band": "age_band",
                        "Cases in the history": "cases_in_history_shown",
                        "Years of history": "history_years",
                        "Fitted cases a year": "fitted_cases_per_year",
                        "National rate, cases a year": "prior_cases_per_year",
                    },
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
first, last = _period_picker(today)
access = (actor.role, actor.agency)
changes: list[dict[str, Any]] = list(st.session_state.get(what_if.SCENARIO) or [])
try:
    base_query = Query(period_key(first, last, tz_name), access, ())
    base = _forecast(base_query, actor)
except Exception as exc:
    failed("work out the forecast for this period", exc)
    st.stop()

query, cf = base_query, base
if changes:
    # A change the service refuses (unknown hours, a training the responder does not hold, outside the
    # period) is reported and dropped: fall back to the changes tried before it, else to none.
    kept: list[dict[str, Any]] = []
    for attempt in (changes, list(st.session_state.get(what_if.PREVIOUS) or [])):
        if not attempt:
            continue
        try:
            cf = _forecast(base_query._replace(scenario=scenario_key(attempt)), actor)
        except (InputError, PermissionDenied) as exc:
            if attempt is changes:
                failed("try the changes", exc)
            continue
        query, kept = base_query._replace(scenario=scenario_key(attempt)), attempt
        break
    if kept is not changes:
        st.session_state[what_if.SCENARIO] = kept
        st.session_state[what_if.PREVIOUS] = []
        what = "the changes tried before it" if kept else "the rota as it is"
        st.caption(f"That change was not applied; the figures are for {what}.")

_headline(cf, _change(base_query, actor))

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
        st.caption(
            f"Showing the rules of {actor.agency}: "
            f"{', '.join(responder_role_label(r) for r in agency_roles)}."
        )
shown_roles = roles if show_all else agency_roles
default_role = agency_roles[0] if agency_roles else (roles[0] if roles else None)

# keyed on the period, the data version and who asks (role and agency: what the answer shows)
capacity_takes.section(actor, (*base_query.period, *access), first, last, tz_name)
_scenario_section(actor, cf, roles, default_role, query)
_rule_table(
    cf, cf.rules.filter(pl.col("role").is_in(shown_roles)), mark_agency=bool(agency_roles) and show_all
)
if shown_roles:
    _charts_section(query, actor, cf, shown_roles, default_role)
_method(cf, actor)
