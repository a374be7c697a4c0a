"""Long because the Coverage page is one page of sections (the next 72 hours, the period's cover, the
heatmap, the gap list with its alerts, who is on duty now), each a few lines of drawing.

Coverage: first the next 72 hours (per role, 0-15 beside 16-17: covered or the gaps, and who is on duty
with a phone number); then for a period, the share of hours each rule is met (16-17 beside 0-15), a
days-by-hours heatmap, the gap list (earliest first) with the open gap alerts of the same horizon, and who
is on duty now. Draws only; the numbers come from `rota.services.coverage` and `rota.services.outlook`,
cached by period or minute and by a data version that changes with every edit."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.cache_keys import PeriodKey, period_key
from dashboard.components.charts import (
    UK_DATETIME_COLUMN,
    download_buttons,
    hours_amount,
    per_cent,
    percent,
    percent_column,
    period_range_input,
    show_chart,
    uk_datetime,
    uk_day,
    uk_time,
)
from dashboard.components.context import database_key, engine, require_page
from dashboard.components.context import tz as service_tz
from dashboard.components.coverage_charts import heatmap_figure
from dashboard.components.feedback import failed
from dashboard.components.format import counted, labelled
from dashboard.components.inputs import one_of
from dashboard.components.next72 import HEADING, draw_next_72_hours, when_text
from rota.services.access import ADMIN_PAGE, COVERAGE, Actor, can_read_forecast, can_read_people, pages_for
from rota.services.alerts import gap_banner
from rota.services.coverage import (
    DEFAULT_PERIOD_DAYS,
    CoverageReport,
    cover_now,
    coverage_report,
    data_version,
    on_now,
)
from rota.services.forecasting import nightly_outlook
from rota.services.outlook import Outlook, outlook_for_hour
from rota.timeutil import utc_now, zone, zone_name
from rota.vocab import ShiftKind, responder_role_label

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- cached reads
# Keyed by the database, a data version (max audit id: every change is audited) and the question, so an
# edit anywhere shows at once and an unchanged rota is never recomputed.


class Query(NamedTuple):
    """What a report depends on; the cache key of everything drawn from it. The report depends on the
    reader only through their access role and agency (the service's permission check), so readers of the
    same kind share it."""

    period: PeriodKey
    reader: tuple[str, str | None]


@st.cache_data(show_spinner="Working out cover...", max_entries=64)
def _report(q: Query, _actor: Actor) -> CoverageReport:
    """`_actor` (not in the key) is the first reader of the kind, whom the service checks; the page checks
    every reader before using the cache."""
    return coverage_report(engine(), _actor, q.period.first, q.period.last, zone(q.period.tz_name))


@st.cache_resource(show_spinner=False, max_entries=32)
def _heatmap(q: Query, role: str, _report_: CoverageReport) -> tuple[go.Figure, str]:
    """The heatmap of one role's rules and its text alternative. Kept as the object itself (never
    changed after it is built): building a Plotly figure costs more than the rest of the page."""
    return heatmap_figure(_report_, role)


@st.cache_data(show_spinner=False, max_entries=16, ttl=120)
def _cover_now(
    url: str, version: int, at: datetime, tz_name: str, user: tuple[str, str, str | None]
) -> pl.DataFrame:
    return cover_now(engine(), Actor(*user), at, zone(tz_name))


@st.cache_resource(show_spinner=False, max_entries=8, ttl=7200)
def _outlook_for_hour(
    url: str, version: int, hour: datetime, tz_name: str, people: bool, _actor: Actor
) -> Outlook:
    """The service's outlook of an hour (kept as built: frozen, read only), which `Outlook.clip` cuts to
    the next 72 hours at every minute of it; one for all readers who see people, one for those who see
    counts (`_actor`, not in the key, is the first reader of the kind; the service checks them, and the
    page checks every reader before using the cache)."""
    return outlook_for_hour(engine(), _actor, hour, zone(tz_name))


@st.cache_data(show_spinner=False, max_entries=16, ttl=120)
def _on_now(
    url: str, version: int, at: datetime, tz_name: str, user: tuple[str, str, str | None]
) -> pl.DataFrame:
    return on_now(engine(), Actor(*user), at, zone(tz_name))


# ---------------------------------------------------------------------------------------------- sections


def _period_picker(today: date) -> tuple[date, date]:
    default = (today, today + timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    asked = st.query_params.get("day")  # a link from another page (Completion: the day of a case)
    if asked and st.session_state.get("coverage_day_link") != asked:
        st.session_state["coverage_day_link"] = asked
        try:
            day = date.fromisoformat(asked)
        except ValueError:
            day = None
        if day is not None:
            st.session_state["coverage_period"] = (day, day)
    return period_range_input(
        default,
        "coverage_period",
        "First and last day, inclusive. Opens on today and the next 27 days (28 days).",
    )


def _headline(report: CoverageReport) -> None:
    p = report.period
    st.caption(
        f"{uk_day(p.first)} to {uk_day(p.last)}: {counted(p.days, 'day')}, "
        f"{p.hours:g} hours. Times are local ({report.tz_name}), 24-hour clock."
    )
    if report.bank_holidays.height:
        days = "; ".join(f"{uk_day(d)} {name}" for d, name in report.bank_holidays.iter_rows())
        st.markdown(f":material/event: **Bank holidays in this period:** {days}")
    if report.shift_count == 0:
        st.info(
            "No shifts are stored for this period, so no hour is covered. Import the rota on the Rota "
            "editor page (or with `rota import`) to see cover."
        )
    elif report.uncovered_tail and report.last_shift_end is not None:
        st.warning(
            f"No shifts are stored after {uk_datetime(report.last_shift_end, zone(report.tz_name))}, so the "
            "rest of the period shows as gaps until the rota for it is imported.",
            icon=":material/event_busy:",
        )


def _pairs(report: CoverageReport) -> None:
    st.header("Share of hours covered: 16-17 beside 0-15")
    rows = list(report.pairs.iter_rows(named=True))
    for role_box, row in zip(st.columns(max(1, len(rows))), rows, strict=False):
        with role_box.container(border=True):
            st.markdown(f"**{row['role_label']}**")
            # one above the other: side by side, the labels ("Paediatrician, 16-17") were cut at 1280 px
            tiles = (st.container(), st.container())
            for col, band, slot in zip(tiles, ("0-15", "16-17"), ("0_15", "16_17"), strict=True):
                rule_id, count = row[f"rule_{slot}"], row[f"gap_count_{slot}"]
                if rule_id is None:
                    col.metric(f"{row['role_label']}, {band}", "No rule")
                    continue
                delta = None
                if slot == "16_17" and row["difference_points"] is not None:
                    delta = f"{row['difference_points']:+.1f} points"
                col.metric(
                    f"{row['role_label']}, {band}",
                    percent(row[f"share_{slot}"]),
                    delta=delta,
                    help=f"Rule `{rule_id}`: the share of the period's hours with enough qualified "
                    "responders."
                    + (" The arrow gives the difference from 0-15 in percentage points." if delta else ""),
                )
                gap_hours = hours_amount(row[f"gap_hours_{slot}"])
                col.caption("No gaps" if not count else f"{counted(count, 'gap')}, {gap_hours}")
    others = report.rules.filter(~pl.col("rule_id").is_in(_paired(report)))
    if others.height:
        st.caption(
            "Other rules: "
            + "; ".join(
                f"{label} {percent(share)} covered"
                for label, share in others.select("label", "share_covered").iter_rows()
            )
            + "."
        )


def _paired(report: CoverageReport) -> list[str]:
    ids = report.pairs["rule_0_15"].to_list() + report.pairs["rule_16_17"].to_list()
    return [i for i in ids if i is not None]


def _rule_table(report: CoverageReport) -> None:
    st.header("Every rule")
    shown = labelled(
        report.rules,
        {
            "Rule": "label",
            "Needed": "required",
            "Applies": "windows",
            "Hours applying": "window_hours",
            "Covered": per_cent("share_covered"),
            "Gaps": "gap_count",
            "Hours in gap": "gap_hours",
            "Longest gap (hours)": "longest_gap_hours",
        },
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            # the rule's whole name, kept in view when the table is wider than the page
            "Rule": st.column_config.TextColumn(pinned=True),
            "Covered": percent_column("Share of hours applying", progress=True),
            "Hours applying": st.column_config.NumberColumn(format="%.1f"),
            "Hours in gap": st.column_config.NumberColumn(format="%.1f"),
            "Longest gap (hours)": st.column_config.NumberColumn(
                "Longest gap", format="%.1f", help="The longest gap, in hours"
            ),
        },
        key="coverage_rules_table",
    )
    p = report.period
    download_buttons(report.rules, f"coverage-rules-{p.first}-to-{p.last}", sheet="rules", key="rules")


def _heatmaps(q: Query, report: CoverageReport) -> None:
    st.header("Hours in gap, day by hour")
    roles = list(dict.fromkeys(report.rules["role"].to_list()))
    if not roles:
        st.info("No rules to show.")
        return
    role = one_of("Role", roles, format_func=responder_role_label, key="coverage_heatmap_role")
    fig, alt = _heatmap(q, role, report)
    show_chart(fig, alt=alt, key="coverage_heatmap")
    st.caption(
        "Blue: part or all of the hour without enough qualified responders (darker: more of it); white: "
        "covered; grey: the rule does not apply then, or the hour does not exist (the clocks go forward). "
        "On the day the clocks go back, column 01 holds both 01:00 hours (120 minutes). **BH**: England "
        "bank holiday."
    )
    with st.expander("The heatmap as a table"):
        chosen = report.rules.filter(pl.col("role") == role)
        cells = report.heatmap.filter(pl.col("rule_id").is_in(chosen["rule_id"].to_list()))
        table = cells.join(chosen.select("rule_id", "label"), on="rule_id").pivot(
            on="hour", index=["label", "day"], values="gap_minutes", sort_columns=False
        )
        table = table.rename({str(h): f"{h:02d}" for h in range(24) if str(h) in table.columns})
        st.dataframe(
            table.rename({"label": "Rule", "day": "Day"}),
            hide_index=True,
            column_config={"Day": st.column_config.DateColumn(format="ddd DD/MM/YYYY")},
            key="coverage_heatmap_table",
        )
        st.caption("Minutes in gap in each hour of the day (local time).")
        p = report.period
        download_buttons(cells, f"coverage-hours-{role}-{p.first}-to-{p.last}", sheet="hours", key="heatmap")


def _gap_list(actor: Actor, report: CoverageReport) -> None:
    st.header("Gaps")
    now = utc_now()
    _alert_banner(actor, report, now)
    found = report.gaps
    if found.is_empty():
        st.success("No gaps in this period: every rule is met at every minute.")
        return
    labels = report.rules["label"].to_list()
    picked = st.multiselect("Rules", labels, placeholder="All rules", key="coverage_gap_rules")
    if picked:
        found = found.filter(pl.col("label").is_in(picked))
    total = hours_amount(float(found["minutes"].sum()) / 60)
    ahead = found.filter(pl.col("end") > max(now, report.period.start)).height
    st.caption(
        f"{counted(found.height, 'gap')}, {total} in all, earliest first; {ahead} of them under way or still "
        "to come (what the alerts count). Click a column heading to sort."
    )
    shown = labelled(
        found,
        {
            "Rule": "label",
            "Start": pl.col("start").dt.convert_time_zone(report.tz_name),
            "End": pl.col("end").dt.convert_time_zone(report.tz_name),
            "Day": "weekday",
            "Length": "duration",
            "Minutes": "minutes",
            "Needed": "required",
            "Available": "available",
            "Bank holiday": "bank_holiday",
        },
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "Start": st.column_config.DatetimeColumn(format=UK_DATETIME_COLUMN),
            "End": st.column_config.DatetimeColumn(format=UK_DATETIME_COLUMN),
            "Minutes": st.column_config.NumberColumn(format="%.0f", help="Length in minutes, for sorting"),
        },
        key="coverage_gap_table",
    )
    p = report.period
    download_buttons(
        found.drop("start_local", "end_local"),
        f"coverage-gaps-{p.first}-to-{p.last}",
        sheet="gaps",
        key="gaps",
    )


def _now_section(actor: Actor, url: str, version: int, tz_name: str) -> None:
    now = utc_now().replace(second=0, microsecond=0)
    local = now.astimezone(zone(tz_name))
    st.header(f"On duty now: {uk_day(local.date())} {uk_time(now, zone(tz_name))}")
    user = (actor.username, actor.role, actor.agency)
    try:
        counts = _cover_now(url, version, now, tz_name, user)
    except Exception as exc:
        failed("find who is on duty now", exc)
        return
    status = (
        pl.when(~pl.col("in_window"))
        .then(pl.lit("Not required now"))
        .when(pl.col("covered"))
        .then(pl.lit("Covered"))
        .otherwise(pl.lit("GAP: not enough qualified responders"))
    )
    st.dataframe(
        counts.select(
            pl.col("label").alias("Rule"),
            pl.col("required").alias("Needed"),
            pl.col("available").alias("Qualified on duty"),
            status.alias("Now"),
        ),
        hide_index=True,
        key="coverage_now_counts",
    )
    if not can_read_people(actor):
        st.caption("Names and contact details of responders are not shown to commissioners.")
        return
    try:
        people = _on_now(url, version, now, tz_name, user)
    except Exception as exc:
        failed("find who is on duty now", exc)
        return
    roles = list(dict.fromkeys(counts["role"].to_list()))
    for role in roles:
        st.markdown(f"**{responder_role_label(role)}**")
        mine = people.filter(pl.col("role") == role)
        if mine.is_empty():
            st.warning(f"{responder_role_label(role)}: nobody is on duty now.", icon=":material/warning:")
            continue
        st.dataframe(
            mine.select(
                pl.col("name").alias("Name"),
                pl.col("agency").alias("Agency"),
                pl.col("phone").fill_null("").alias("Phone"),
                pl.concat_str(pl.lit("mailto:"), pl.col("email")).alias("Email"),
                pl.col("kind").replace({k.value: k.label for k in ShiftKind}).alias("Duty"),
                pl.col("until_local").alias("On duty until"),
                pl.col("jar").alias("JAR trained"),
                pl.col("jar_16_17").alias("16-17 briefed"),
                pl.col("counts_for").alias("Counts for"),
            ),
            hide_index=True,
            column_config={
                "Email": st.column_config.LinkColumn(display_text=r"mailto:(.*)"),
                "JAR trained": st.column_config.CheckboxColumn(),
                "16-17 briefed": st.column_config.CheckboxColumn(),
            },
            key=f"coverage_now_{role}",
        )


def _alert_banner(actor: Actor, report: CoverageReport, now: datetime) -> None:
    """The open gap alerts over the gap list's horizon (from now, or the period's start if later, to its
    end), so that the banner and the list count the same gaps. Every save brings the alerts in step
    (rota.services.gapalerts); one small query, not cached."""
    p = report.period
    if p.end <= now:
        return  # a period in the past: alerts are about gaps to come
    start = max(now, p.start)
    try:
        banner = gap_banner(engine(), actor, now=start, until=p.end)
    except Exception:
        log.exception("coverage page: the alerts banner failed")
        return
    if banner.count == 0 or banner.earliest is None:
        return
    local = zone(report.tz_name)
    horizon = (
        f"from now to the end of {uk_day(p.last)}"
        if start == now
        else f"from {uk_day(p.first)} to {uk_day(p.last)}"
    )
    when = when_text(banner.earliest, now, local)
    first = (
        f"one, **{banner.rule_label}**, is under way"
        if banner.earliest <= now
        else f"the earliest, **{banner.rule_label}**, starts {when} ({uk_datetime(banner.earliest, local)})"
    )
    manage = " Acknowledge alerts on the Admin page." if ADMIN_PAGE in pages_for(actor) else ""
    st.warning(
        f"**{counted(banner.count, 'open gap alert')}** {horizon} (the horizon of the gap list below); "
        f"{first}.{manage}",
        icon=":material/notifications_active:",
    )


def _next_72_section(actor: Actor, tz_name: str) -> None:
    now = utc_now().replace(second=0, microsecond=0)
    url = database_key()
    hour = now.astimezone(UTC).replace(minute=0)
    try:
        wide = _outlook_for_hour(url, data_version(engine()), hour, tz_name, can_read_people(actor), actor)
        outlook = wide.clip(now)
    except Exception as exc:
        st.header(HEADING, anchor="next-72-hours")
        failed("work out the next 72 hours", exc)
        return
    draw_next_72_hours(outlook, now)


def _outlook(actor: Actor, tz_name: str) -> None:
    """The nightly forecast's headline for those who read forecasts: stored by the forecast-refresh job,
    so showing it costs one query."""
    if not can_read_forecast(actor):
        return
    try:
        outlook = nightly_outlook(engine(), actor)
    except Exception:
        log.exception("coverage page: the nightly outlook failed")
        return
    if outlook is None:
        return
    local = zone(tz_name)
    low, high = outlook.interval_80
    st.caption(
        f"Outlook from the nightly forecast ({uk_datetime(outlook.created_at, local)}): from "
        f"{uk_datetime(outlook.start, local)} to {uk_datetime(outlook.end, local)} about "
        f"{outlook.expected_cases:.1f} JAR-eligible cases are expected (80% likely {low} to {high}); "
        f"{outlook.expected_cases_meeting_a_gap:.1f} of them would meet a gap in cover. "
        "Details and what-if scenarios: Capacity & forecast."
    )


# ---------------------------------------------------------------------------------------------- the page

actor = require_page(COVERAGE)
st.title("Coverage")
tz_name = zone_name(service_tz())
_next_72_section(actor, tz_name)
_outlook(actor, tz_name)
today = utc_now().astimezone(zone(tz_name)).date()
first, last = _period_picker(today)
try:
    period = period_key(first, last, tz_name)
    query = Query(period, (actor.role, actor.agency))
    report = _report(query, actor)
except Exception as exc:
    failed("work out coverage for this period", exc)
    st.stop()

_headline(report)
_pairs(report)
_rule_table(report)
_heatmaps(query, report)
_gap_list(actor, report)
_now_section(actor, period.url, period.version, tz_name)
