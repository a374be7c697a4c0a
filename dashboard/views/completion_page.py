"""Completion: how past Joint Agency Responses went. A Making Data Count p-chart per measure, in hours
against out of hours, age bands with 16-17 picked out, whether the incomplete responses started in the
rota's gaps, the reasons given, and (CDOP manager and administrators only) the cases themselves. Draws
only; the numbers, and the small-number suppression commissioners see, come from
`rota.services.completion`, cached by a data version that changes with every import or edit."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.charts import (
    UK_DATETIME_COLUMN,
    download_buttons,
    per_cent,
    percent,
    percent_column,
    show_chart,
    uk_date,
    uk_day,
)
from dashboard.components.completion_charts import (
    hours_figure,
    spc_badges,
    spc_figure,
    spc_points,
    spc_tables,
    split_table,
)
from dashboard.components.context import database_key, engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.feedback import failed
from dashboard.components.format import NOT_APPLICABLE, counted, labelled, period_label
from dashboard.components.inputs import one_of
from rota.analytics.completion import MEASURES
from rota.services.access import COMPLETION, Actor, can_read_case_level
from rota.services.completion import (
    DEFAULT_BY,
    MEASURE_LABELS,
    RECENT,
    SPLIT_LABELS,
    CompletionView,
    MeasureSpc,
    by_label,
    case_list,
    completion_view,
    require_read_completion,
    views_for,
)
from rota.services.coverage import data_version
from rota.timeutil import zone, zone_name

# the group's name stays in view while the measures scroll (a table wider than the page)
GROUP_PINNED = {"Group": st.column_config.TextColumn(pinned=True)}
READ_SESSION = "completion_read_session"  # one id per browser session, for the audited case reads
HIGHLIGHT = "background-color: #FFF4D6; font-weight: 600"  # warm yellow tint, dark text stays readable


# ---------------------------------------------------------------------------------------------- cached reads


class Query(NamedTuple):
    """What the view depends on, and the cache key of everything drawn from it: the database, its data
    version, the zone, and whether the reader sees exact figures with the case list (CDOP manager, admin)
    or suppressed ones (commissioners). Everyone with the same key sees the same view."""

    url: str
    version: int
    tz_name: str
    exact: bool


@st.cache_data(show_spinner="Working out completion...", max_entries=16)
def _view(q: Query, _actor: Actor) -> CompletionView:
    """The view, worked out by the service for the first reader of its kind (`_actor`, not part of the
    key: the service checks their permissions; the page checks every reader's before using the cache)."""
    return completion_view(engine(), _actor, DEFAULT_BY, zone(q.tz_name), include_cases=q.exact)


@st.cache_resource(show_spinner=False, max_entries=64)
def _spc_figure(q: Query, _actor: Actor, by: str, measure: str) -> tuple[go.Figure, str] | None:
    """The p-chart of one measure and its text alternative, kept as built (figures cost the most)."""
    spc = next(s for s in _view(q, _actor).at(by).spc if s.measure == measure)
    return spc_figure(spc) if spc.drawn else None


# ---------------------------------------------------------------------------------------------- sections


def _headline(view: CompletionView) -> None:
    tz = zone(view.tz_name)
    if view.first_notified is not None and view.last_notified is not None:
        span = (
            f"notified from {uk_date(view.first_notified.astimezone(tz).date())} "
            f"to {uk_date(view.last_notified.astimezone(tz).date())}"
        )
    else:
        span = f"notified in {view.overall_label}"
    st.caption(
        f"{view.cases_shown} cases meeting the JAR criteria, {span}. Each measure is the share of those "
        f"cases where the step was done in time. Times are local ({view.tz_name}), 24-hour clock."
    )
    if view.suppressed:
        st.info(
            f"Small numbers are hidden to protect the children and families concerned: counts from 1 to "
            f'{view.threshold - 1} are shown as "{view.primary_mark}", and "{view.secondary_mark}" marks '
            f'a count hidden so that a "{view.primary_mark}" cannot be worked out from the totals (it may '
            "be any number). Rates are not shown where either count is hidden. Figures are for whole "
            "calendar quarters and years that have ended; the summary tables are for the latest whole "
            f"year ({view.overall_label}).",
            icon=":material/visibility_off:",
        )


def _pick_by(actor: Actor, view: CompletionView) -> str:
    options = list(views_for(actor, view.settings))
    return one_of(
        "Period",
        options,
        default=RECENT,
        format_func=by_label,
        key="completion_by",
        help="Each point of the charts is one period of local notification time. Opens on the last 12 "
        "months: the last four whole calendar quarters.",
    )


def _latest(spc: MeasureSpc, view: CompletionView) -> None:
    """The latest period's rate against the target, in plain words."""
    latest = spc.latest
    if latest is None:
        return
    period, rate = latest
    kind = {"month": "month", "year": "year"}.get(view.by, "quarter")
    label = f"Latest {kind}, {period_label(period)}"
    target = f"target {percent(spc.target)}"
    if rate is None:
        why = "no cases" if period in spc.no_cases else "not shown: a count is hidden"
        st.metric(label, NOT_APPLICABLE, help=f"No rate for {period_label(period)}: {why}. The {target}.")
        return
    points = (rate - spc.target) * 100
    st.metric(
        label,
        percent(rate),
        delta=f"{points:+.1f} points against the {percent(spc.target)} target",
        delta_arrow="auto" if round(points, 1) else "off",
        help=f"{percent(rate)} of cases in {period_label(period)} against the {target} of "
        f"{spc.label.lower()}.",
    )


def _spc_section(q: Query, actor: Actor, view: CompletionView) -> None:
    st.header("Trend of each measure")
    st.caption(
        "Making Data Count p-charts: the mean (solid), process limits (dashed, wider where a period has "
        "fewer cases) and the target (dotted). Blue squares: special cause improvement; orange diamonds: "
        "special cause concern; grey circles: common cause variation."
    )
    for row in [view.spc[i : i + 2] for i in range(0, len(view.spc), 2)]:
        for box, spc in zip(st.columns(2), row, strict=False):
            with box.container(border=True):
                st.markdown(f"**{spc.label}**")
                _latest(spc, view)
                notes = []
                if spc.left_out:
                    notes.append(
                        f"{len(spc.left_out)} of {len(view.periods)} periods not shown (gaps in the line) as "
                        "a count is hidden: " + ", ".join(period_label(p) for p in spc.left_out) + "."
                    )
                if spc.no_cases:
                    notes.append("No cases in " + ", ".join(period_label(p) for p in spc.no_cases) + ".")
                if not spc.drawn:
                    st.info(
                        "Too few periods with figures to show for a chart (it needs two). " + " ".join(notes)
                    )
                    continue
                spc_badges(spc)
                made = _spc_figure(q, actor, view.by, spc.measure)
                if made is not None:
                    fig, alt = made
                    show_chart(fig, alt=alt, key=f"completion_spc_{spc.measure}")
                if notes:
                    st.caption(" ".join(notes))
    _spc_tables(view)


def _spc_tables(view: CompletionView) -> None:
    """The figures of every p-chart in one table (one grid, not one per chart: each grid costs the browser
    as much as a chart), with its downloads."""
    drawn = [spc for spc in view.spc if spc.drawn]
    if not drawn:
        return
    percent_format = percent_column()
    with st.expander("The charts as a table"):
        st.dataframe(
            spc_tables(drawn),
            hide_index=True,
            column_config={
                "Measure": st.column_config.TextColumn(pinned=True),
                "Rate": percent_format,
                "Lower limit": percent_format,
                "Upper limit": percent_format,
            },
            key="completion_spc_table",
        )
        download_buttons(spc_points(drawn), f"completion-spc-{view.by}", key="spc")


def _hours_section(view: CompletionView) -> None:
    st.header("In hours and out of hours")
    fig = hours_figure(view)
    table = split_table(view.overall, ["in_hours", "out_of_hours", "all"])
    summary = "; ".join(
        f"{m}: in hours {a}, out of hours {b}"
        for m, a, b in zip(table.columns[2:], table.row(0)[2:], table.row(1)[2:], strict=True)
    )
    show_chart(
        fig,
        alt=f"Bar chart of each measure in hours against out of hours, {view.overall_label}. {summary}.",
        key="completion_hours_chart",
    )
    st.caption(
        f"{view.overall_label[:1].upper()}{view.overall_label[1:]}. A missing bar is a rate not shown "
        "(a count is hidden, or there are no cases)."
    )
    st.dataframe(table, hide_index=True, column_config=GROUP_PINNED, key="completion_hours_table")


def _age_section(view: CompletionView) -> None:
    st.header("Age bands, with 16-17-year-olds")
    bands = ["0-27d", "28-364d", "0-364d", "1-4", "5-9", "10-14", "15-17", "16-17"]
    present = view.overall.filter(pl.col("split").is_in(bands))
    empty_infants = present.filter(
        (pl.col("split") == "0-364d") & (pl.col("denominator_shown") == "0")
    ).height
    shown_bands = [b for b in bands if not (b == "0-364d" and empty_infants)]
    table = split_table(view.overall, shown_bands)
    label_16_17 = SPLIT_LABELS["16-17"]
    styled = table.to_pandas().style.apply(
        lambda r: [HIGHLIGHT if r["Group"] == label_16_17 else "" for _ in r], axis=1
    )
    st.dataframe(styled, hide_index=True, column_config=GROUP_PINNED, key="completion_age_table")
    st.caption(
        f"{view.overall_label[:1].upper()}{view.overall_label[1:]}, by the national (NCMD) age bands. "
        "The highlighted row counts 16- and "
        "17-year-olds again, inside 15-17: the group the protocol most easily misses."
    )


def _crosstab_section(view: CompletionView) -> None:
    st.header("Were the incomplete responses in uncovered hours?")
    x = view.crosstab
    st.dataframe(
        labelled(
            x,
            {
                "When the case was notified": "label",
                "Fully completed": "completed_shown",
                "Not fully completed": "not_completed_shown",
                "Cases": "cases_shown",
                "Share not fully completed": per_cent("share_not_completed"),
            },
        ),
        hide_index=True,
        column_config={"Share not fully completed": percent_column()},
        key="completion_crosstab",
    )
    rows = {r["split"]: r for r in x.iter_rows(named=True)}
    gap, every = rows.get("uncovered"), rows.get("all")
    if gap and every and every["not_completed"] is not None and gap["not_completed"] is not None:
        share = gap["not_completed"] / every["not_completed"] if every["not_completed"] else None
        st.markdown(
            f"Of **{every['not_completed_shown']}** responses not fully completed, "
            f"**{gap['not_completed_shown']}** ({percent(share)}) started while the rota did not meet every "
            "rule for the child's age band."
        )
    tz = zone(view.tz_name)
    note = (
        "Covered: at the moment of notification every coverage rule for the child's age band had enough "
        "qualified responders on duty."
    )
    if view.rota_start is None:
        note += " No shifts are stored for the cases' dates, so every case counts as in a rota gap."
    elif view.rota_starts_late:
        note += (
            f" The stored rota starts on {uk_date(view.rota_start.astimezone(tz).date())}; cases before then "
            "count as in a rota gap."
        )
    st.caption(note)


def _reasons_section(view: CompletionView) -> None:
    st.header("Reasons responses were incomplete")
    if view.reasons.is_empty():
        st.success("Every response was fully completed.")
        return
    st.dataframe(
        view.reasons.select(pl.col("reason").alias("Reason"), pl.col("cases_shown").alias("Cases")),
        hide_index=True,
        key="completion_reasons",
    )
    st.caption(
        "The main reason recorded for each case that missed any step, by category (docs/cases.md lists "
        f"them), {view.overall_label}."
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _served_cases(
    q: Query, reader: str, session: str, only: bool, _view: CompletionView, _actor: Actor
) -> pl.DataFrame:
    """The case list as served by the service (which checks and audits the read), once per reader, session,
    data version and filter: reruns of the page show the rows already served without a new audit entry."""
    return case_list(engine(), _actor, _view, only_incomplete=only, via="case list")


def _case_section(q: Query, actor: Actor, view: CompletionView) -> None:
    st.header("Cases")
    if view.case_rows is None:
        return
    only = st.toggle("Only responses not fully completed", key="completion_cases_incomplete")
    session = st.session_state.setdefault(READ_SESSION, uuid.uuid4().hex)
    shown = _served_cases(q, actor.username, session, bool(only), view, actor)
    st.caption(
        f"{counted(shown.height, 'case')}, newest first. References are pseudonymised; "
        f"times are local ({view.tz_name}). Measures are blank for cases not meeting the JAR criteria."
    )
    table = labelled(
        shown,
        {
            "Case": "case_id",
            "Notified": pl.col("notified_at").dt.convert_time_zone(view.tz_name),
            "Age band": pl.col("age_band").replace_strict(SPLIT_LABELS, default=pl.col("age_band")),
            "Age (years)": "age_years",
            "JAR criteria met": "jar_criteria_met",
            "In hours": "in_hours",
            "Rota covered": "covered",
            **{MEASURE_LABELS[m]: m for m in MEASURES},
            "Category": "category",
            "Reason incomplete": "reason_incomplete",
        },
    )
    checks = ["JAR criteria met", "In hours", "Rota covered", *[MEASURE_LABELS[m] for m in MEASURES]]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Notified": st.column_config.DatetimeColumn(format=UK_DATETIME_COLUMN),
            **{c: st.column_config.CheckboxColumn() for c in checks},
        },
        key="completion_cases_table",
    )
    eng = engine()

    def fetch(via: str) -> pl.DataFrame:
        # runs when the file is asked for (a deferred download), not at each rerun: one audited read each
        return case_list(eng, actor, view, only_incomplete=bool(only), via=via)

    download_buttons(shown, "completion-cases", key="cases", sheet="cases", fetch=fetch)
    picked = st.selectbox(
        "See cover on the day of a case",
        shown["case_id"].to_list(),
        index=None,
        placeholder="Pick a case",
        key="completion_case_day",
    )
    if picked is not None:
        day = shown.filter(pl.col("case_id") == picked)["notified_day"][0]
        st.page_link(
            "views/coverage_page.py",
            label=f"Coverage on {uk_day(day)}",
            icon=":material/grid_on:",
            query_params={"day": day.isoformat()},
        )
        st.caption(f"Opens the Coverage page on {uk_date(day)}, hour by hour.")


def _downloads(view: CompletionView) -> None:
    with st.expander("Download the completion table"):
        st.caption(
            "Every split of every period at this granularity: period, split, measure, numerator, "
            "denominator and rate"
            + (
                ", with hidden counts blank and their marks in the *_shown columns."
                if view.suppressed
                else "."
            )
        )
        download_buttons(
            view.table.drop("level", "not_met", "not_met_shown"), f"completion-{view.by}", key="table"
        )


# ---------------------------------------------------------------------------------------------- the page

actor = require_page(COMPLETION)
st.title("Completion")
tz_name = zone_name(service_tz())
url = database_key()
try:
    version = data_version(engine())
    require_read_completion(actor)  # every reader, not only the one the cached view was made for
    query = Query(url, version, tz_name, can_read_case_level(actor))
    view = _view(query, actor)
except Exception as exc:
    failed("work out completion", exc)
    st.stop()

if view.empty:
    if view.any_stored:
        st.info("None of the stored cases meets the JAR criteria, so there is nothing to measure.")
    else:
        st.info("No cases stored yet: import cases.csv with `rota import`.", icon=":material/upload_file:")
    st.stop()

_headline(view)
view = view.at(_pick_by(actor, view))
_spc_section(query, actor, view)
_hours_section(view)
_age_section(view)
_crosstab_section(view)
_reasons_section(view)
_downloads(view)
if can_read_case_level(actor):
    _case_section(query, actor, view)
