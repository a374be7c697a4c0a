"""Long because the pack's figures are one reading of the services for one audience: cover, risk,
completion, actions and the agencies' parts are gathered together so that every section agrees.

The assurance pack's figures for a quarter and an audience (docs/reports.md), gathered from the services
as that audience's reader (`rota.services.assurance.audience_actor`): the same numbers as the dashboard,
suppressed by the completion service for commissioners. Nothing here works a figure out from raw data;
it only picks, orders and words what the services return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.analytics.completion import MEASURES
from rota.analytics.spc import xmr
from rota.errors import InputError, Problem
from rota.reports.quarters import Quarter, months_back
from rota.services.access import COMMISSIONER, Actor
from rota.services.actions import actions_for_quarter
from rota.services.assurance import (
    AUDIENCE_LABELS,
    COVERAGE_TARGET,
    agency_roles,
    audience_actor,
    pack_audience,
)
from rota.services.completion import MEASURE_LABELS, MeasureSpc, completion_view
from rota.services.completion.view import measure_spc
from rota.services.coverage import CoverageReport, coverage_report, rule_shares
from rota.services.forecasting import CapacityForecast, capacity_forecast
from rota.services.lapses import lapse_counts
from rota.services.planning import FLAT, plan_gaps
from rota.storage import Engine
from rota.timeutil import SERVICE_TZ, day_start, utc_now, zone_name
from rota.vocab import Assurance, Variation, responder_role_label

TREND_MONTHS = 24  # the months behind each coverage rule's variation and assurance icons
LONGEST_GAPS = 8  # the longest gaps listed in Coverage
PLAN_DAYS = 28  # the planner looks at the first four weeks of the next quarter
PLAN_TIME_LIMIT_S = 6.0  # keeps the whole pack under 20 s (docs/performance.md)
RECENT_QUARTERS = 8  # the quarters on the completion charts


def pct(share: float | None) -> str:
    """`93.8%`: one decimal and a per cent sign; an en dash when there is nothing to show."""
    return "–" if share is None else f"{share * 100:.1f}%"


@dataclass(frozen=True)
class SummaryRow:
    """One line of the Summary (an IPR table row): a coverage rule or a completion measure."""

    kind: str  # "coverage" or "completion"
    measure: str
    latest: str
    target: str
    variation: str | None  # rota.vocab.Variation value
    assurance: str | None  # rota.vocab.Assurance value
    reading: str


@dataclass(frozen=True)
class CoverageRow:
    rule_id: str
    label: str
    role: str
    age_band: str
    share: float | None
    previous: float | None
    year_before: float | None
    gap_count: int
    gap_hours: float
    longest_gap_hours: float


@dataclass(frozen=True)
class PairRow:
    """A role's 0-15 cover beside its 16-17 cover, for the three quarters."""

    role: str
    role_label: str
    young: tuple[float | None, float | None, float | None]
    older: tuple[float | None, float | None, float | None]


@dataclass(frozen=True)
class Heatmap:
    role: str
    role_label: str
    days: tuple[date, ...]
    values: tuple[tuple[float | None, ...], ...]  # [day][hour]: share in gap, the worst rule
    worst: str  # words: when the role's gaps fall


@dataclass(frozen=True)
class RiskRow:
    rule_id: str
    label: str
    role: str
    age_band: str
    uncovered_hours: float
    expected: float
    low_80: int
    high_80: int
    p_any: float


@dataclass(frozen=True)
class Training:
    role: str
    role_label: str
    people: int
    competencies: tuple[str, ...]
    agency: str | None
    hours: float
    found: bool


@dataclass(frozen=True)
class Risk:
    """The next quarter's forecast (None when there is nothing to forecast from: `no_forecast` says why)
    and the capacity planner's answer over its first weeks."""

    quarter: Quarter
    expected_cases: float | None
    interval_80: tuple[int, int] | None
    meeting_a_gap: float | None
    rules: tuple[RiskRow, ...]
    plan_first: date
    plan_last: date
    plan_status: str
    demand: str
    gap_hours_before: float
    gap_hours_after: float
    fills: int | None  # extra duties for today's staff (None: not for this audience)
    fill_hours: float | None
    expected_before: float | None
    expected_after: float | None
    training: tuple[Training, ...]
    no_forecast: str | None = None


@dataclass(frozen=True)
class MeasureRow:
    measure: str
    label: str
    rate: float | None
    numerator: str  # as published: a number, "<5" or "*"
    denominator: str
    target: float
    spc: MeasureSpc

    @property
    def latest(self) -> str:
        """The quarter's rate as the pack writes it: `84.6%`, "no cases", or "not published" (hidden)."""
        if self.rate is not None:
            return pct(self.rate)
        return "no cases" if self.denominator == "0" else "not published"

    @property
    def rates(self) -> dict[str, float | None]:
        """The p-chart's rate by quarter (null where hidden or without cases)."""
        return dict(self.spc.series.select("period", "rate").iter_rows())


@dataclass(frozen=True)
class SplitRow:
    label: str
    numerator: str
    denominator: str
    rate: float | None


@dataclass(frozen=True)
class Completion:
    suppressed: bool
    threshold: int
    cases: str  # cases meeting the JAR criteria in the quarter, as published
    measures: tuple[MeasureRow, ...]
    by_cover: tuple[SplitRow, ...]  # fully completed in the quarter, by whether the rota covered the hour
    crosstab: pl.DataFrame  # CROSSTAB_SCHEMA over `crosstab_window`
    crosstab_window: str
    periods: tuple[str, ...]


@dataclass(frozen=True)
class ActionRow:
    title: str
    owner_agency: str
    owner: str
    due: date
    status: str
    notes: str
    closed_on: date | None


@dataclass(frozen=True)
class LapseRow:
    role_label: str
    competency: str
    people: int
    cover_lost_hours: float


@dataclass(frozen=True)
class AgencySection:
    agency: str
    roles: tuple[str, ...]
    role_labels: str
    coverage: tuple[CoverageRow, ...]
    risk: tuple[RiskRow, ...]
    training: tuple[Training, ...]
    lapses: tuple[LapseRow, ...]
    actions: tuple[ActionRow, ...]


@dataclass(frozen=True)
class PackFigures:
    quarter: Quarter
    audience: str
    audience_label: str
    built_at: datetime
    built_by: str
    tz_name: str
    summary: tuple[SummaryRow, ...]
    coverage: tuple[CoverageRow, ...]
    pairs: tuple[PairRow, ...]
    longest_gaps: pl.DataFrame  # GAP_LIST_COLUMNS of the quarter's longest gaps
    gap_count: int
    heatmaps: tuple[Heatmap, ...]
    trend: dict[str, tuple[tuple[str, float | None], ...]]  # rule label -> (month, share)
    risk: Risk
    completion: Completion
    actions: tuple[ActionRow, ...]
    agencies: tuple[AgencySection, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def suppressed(self) -> bool:
        return self.audience == COMMISSIONER


# ------------------------------------------------------------------------------------------- gather


def gather(
    engine: Engine,
    actor: Actor,
    quarter: Quarter,
    audience: str | None = None,
    agency: str | None = None,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
    *,
    plan_time_limit_s: float | None = None,
) -> PackFigures:
    """The figures of `quarter`'s pack for `audience` (default: `actor`'s own), with one agency section
    per agency, or only `agency`'s. The capacity planner inside has `plan_time_limit_s` (default
    PLAN_TIME_LIMIT_S, read when called)."""
    audience = pack_audience(actor, audience)
    reader = audience_actor(actor, audience)
    now = now or utc_now()
    roles_of = agency_roles(engine, reader)
    if agency is not None and agency not in roles_of:
        raise InputError(Problem("agency", None, None, f"no responder belongs to the agency {agency!r}"))
    report = coverage_report(engine, reader, quarter.first, quarter.last, tz)
    coverage = _coverage_rows(engine, reader, quarter, report, tz)
    trend_frame = rule_shares(engine, reader, months_back(quarter, TREND_MONTHS), tz)
    limit = PLAN_TIME_LIMIT_S if plan_time_limit_s is None else plan_time_limit_s
    risk = _risk(engine, reader, quarter.next, tz, now, limit)
    completion = _completion(engine, reader, quarter, tz)
    actions = _actions(engine, reader, quarter, None)
    lapses = lapse_counts(engine, reader, quarter.next.first, quarter.next.last, tz)
    chosen = {agency: roles_of[agency]} if agency is not None else roles_of
    return PackFigures(
        quarter=quarter,
        audience=audience,
        audience_label=AUDIENCE_LABELS[audience],
        built_at=now,
        built_by=actor.label,
        tz_name=zone_name(tz),
        summary=_summary(coverage, trend_frame, risk, completion, quarter),
        coverage=coverage,
        pairs=_pairs(report, coverage),
        longest_gaps=report.gaps.sort("minutes", descending=True).head(LONGEST_GAPS),
        gap_count=report.gap_count,
        heatmaps=_heatmaps(report),
        trend=_trend(trend_frame),
        risk=risk,
        completion=completion,
        actions=actions,
        agencies=tuple(
            _agency(name, roles, coverage, risk, lapses, actions) for name, roles in chosen.items()
        ),
    )


def _coverage_rows(
    engine: Engine, reader: Actor, quarter: Quarter, report: CoverageReport, tz: tzinfo
) -> tuple[CoverageRow, ...]:
    earlier = rule_shares(
        engine,
        reader,
        [(q.label, q.first, q.last) for q in (quarter.previous, quarter.year_before)],
        tz,
    )
    shares = {(r["period"], r["rule_id"]): r["share_covered"] for r in earlier.iter_rows(named=True)}
    return tuple(
        CoverageRow(
            rule_id=r["rule_id"],
            label=r["label"],
            role=r["role"],
            age_band=r["age_band"],
            share=r["share_covered"],
            previous=shares.get((quarter.previous.label, r["rule_id"])),
            year_before=shares.get((quarter.year_before.label, r["rule_id"])),
            gap_count=r["gap_count"],
            gap_hours=r["gap_hours"],
            longest_gap_hours=r["longest_gap_hours"],
        )
        for r in report.rules.iter_rows(named=True)
    )


def _pairs(report: CoverageReport, rows: tuple[CoverageRow, ...]) -> tuple[PairRow, ...]:
    by_id = {r.rule_id: r for r in rows}
    out = []
    for p in report.pairs.iter_rows(named=True):
        young, older = by_id.get(p["rule_0_15"] or ""), by_id.get(p["rule_16_17"] or "")
        out.append(
            PairRow(
                role=p["role"],
                role_label=p["role_label"],
                young=(young.share, young.previous, young.year_before) if young else (None, None, None),
                older=(older.share, older.previous, older.year_before) if older else (None, None, None),
            )
        )
    return tuple(out)


def _heatmaps(report: CoverageReport) -> tuple[Heatmap, ...]:
    """Per role, the days-by-hours share in gap of the role's worst rule in each hour."""
    roles = report.rules.select("rule_id", "role")
    cells = (
        report.heatmap.join(roles, on="rule_id")
        .group_by("role", "day", "hour")
        .agg(
            pl.when(pl.col("in_window") & (pl.col("real_minutes") > 0))
            .then(pl.col("share_in_gap"))
            .max()
            .alias("share")
        )
    )
    days = tuple(report.period.first + timedelta(days=i) for i in range(report.period.days))
    out = []
    for role in roles.get_column("role").unique(maintain_order=True).to_list():
        mine = cells.filter(pl.col("role") == role)
        lookup = {(d, h): s for d, h, s in mine.select("day", "hour", "share").iter_rows()}
        values = tuple(tuple(lookup.get((d, h)) for h in range(24)) for d in days)
        by_hour = mine.group_by("hour").agg(pl.col("share").fill_null(0.0).mean().alias("mean")).sort("mean")
        worst = by_hour.filter(pl.col("mean") > 0).tail(3).sort("hour").get_column("hour").to_list()
        hours = [f"{h:02d}:00" for h in worst]
        words = (
            "in gap most often in the hours from "
            + ", ".join(hours[:-1])
            + " and " * (len(hours) > 1)
            + hours[-1]
            if hours
            else "no hour in gap this quarter"
        )
        out.append(Heatmap(role, responder_role_label(role), days, values, words))
    return tuple(out)


def _trend(frame: pl.DataFrame) -> dict[str, tuple[tuple[str, float | None], ...]]:
    out: dict[str, tuple[tuple[str, float | None], ...]] = {}
    for (label,), group in frame.group_by("label", maintain_order=True):
        out[str(label)] = tuple(group.select("period", "share_covered").iter_rows())
    return out


def _risk(
    engine: Engine, reader: Actor, quarter: Quarter, tz: tzinfo, now: datetime, time_limit_s: float
) -> Risk:
    cf: CapacityForecast | None = None
    no_forecast: str | None = None
    try:
        cf = capacity_forecast(engine, reader, quarter.first, quarter.last, tz, now=now)
    except InputError as exc:  # no cases to learn from and no child population for the prior
        no_forecast = exc.message()
    rules = (
        ()
        if cf is None
        else tuple(
            RiskRow(
                rule_id=r["rule_id"],
                label=r["label"],
                role=r["role"],
                age_band=r["age_band"],
                uncovered_hours=float(r["uncovered_hours"]),
                expected=float(r["expected_uncovered_cases"]),
                low_80=int(r["uncovered_low_80"]),
                high_80=int(r["uncovered_high_80"]),
                p_any=float(r["p_any_uncovered"]),
            )
            for r in cf.rules.iter_rows(named=True)
        )
    )
    plan_last = min(quarter.last, quarter.first + timedelta(days=PLAN_DAYS - 1))
    answer = plan_gaps(
        engine,
        reader,
        day_start(quarter.first, tz),
        day_start(plan_last + timedelta(days=1), tz),
        time_limit_s=time_limit_s,
        tz=tz,
        now=now,
    )
    p = answer.plan
    flat = answer.demand == FLAT
    return Risk(
        quarter=quarter,
        expected_cases=None if cf is None else cf.expected_cases,
        interval_80=None if cf is None else cf.interval_80,
        meeting_a_gap=None if cf is None else cf.expected_cases_meeting_a_gap,
        rules=rules,
        plan_first=quarter.first,
        plan_last=plan_last,
        plan_status=p.status,
        demand=answer.demand,
        gap_hours_before=_gap_hours(p.gaps_before),
        gap_hours_after=_gap_hours(p.gaps_after),
        fills=len(p.fills) if answer.shows_people else None,
        fill_hours=round(sum(f.hours for f in p.fills), 1) if answer.shows_people else None,
        expected_before=None if flat else p.expected_uncovered_before,
        expected_after=None if flat else p.expected_uncovered_after,
        training=tuple(
            Training(
                role=n.role,
                role_label=responder_role_label(n.role),
                people=n.people,
                competencies=n.competencies,
                agency=n.agency,
                hours=n.hours,
                found=n.closes_all and bool(n.duties),
            )
            for n in p.training_needed
        ),
        no_forecast=no_forecast,
    )


def _gap_hours(gaps: pl.DataFrame) -> float:
    if gaps.height == 0:
        return 0.0
    return float(gaps.select((pl.col("end") - pl.col("start")).dt.total_seconds().sum()).item()) / 3600


def _completion(engine: Engine, reader: Actor, quarter: Quarter, tz: tzinfo) -> Completion:
    end = day_start(quarter.next.first, tz)
    view = completion_view(engine, reader, "quarter", tz, now=end)
    table = view.table.filter(pl.col("period") <= quarter.label)
    periods = tuple(p for p in view.periods if p <= quarter.label)[-RECENT_QUARTERS:]
    table = table.filter(pl.col("period").is_in(list(periods)))
    row_of = {
        (r["split"], r["measure"]): r
        for r in table.filter(pl.col("period") == quarter.label).iter_rows(named=True)
    }
    measures = []
    for m in MEASURES:
        target = view.settings.target(m)
        r = row_of.get(("all", m), {})
        measures.append(
            MeasureRow(
                measure=m,
                label=MEASURE_LABELS.get(m, m),
                rate=r.get("rate"),
                numerator=r.get("numerator_shown") or "0",
                denominator=r.get("denominator_shown") or "0",
                target=target,
                spc=measure_spc(table, m, target),
            )
        )
    by_cover = tuple(
        SplitRow(
            label={"covered": "Every rule covered", "uncovered": "Some rule in gap"}[split],
            numerator=(row_of.get((split, "fully_completed")) or {}).get("numerator_shown") or "0",
            denominator=(row_of.get((split, "fully_completed")) or {}).get("denominator_shown") or "0",
            rate=(row_of.get((split, "fully_completed")) or {}).get("rate"),
        )
        for split in ("covered", "uncovered")
    )
    cases = (row_of.get(("all", "jar_triggered")) or {}).get("denominator_shown") or "0"
    return Completion(
        suppressed=view.suppressed,
        threshold=view.threshold,
        cases=cases,
        measures=tuple(measures),
        by_cover=by_cover,
        crosstab=view.crosstab,
        crosstab_window=view.overall_label,
        periods=periods,
    )


def _actions(engine: Engine, reader: Actor, quarter: Quarter, agency: str | None) -> tuple[ActionRow, ...]:
    frame = actions_for_quarter(engine, reader, quarter.first, quarter.last, agency)
    return tuple(
        ActionRow(
            title=r["title"],
            owner_agency=r["owner_agency"] or "",
            owner=r["owner"] or "",
            due=r["due"],
            status=r["status"],
            notes=r["notes"] or "",
            closed_on=r["closed_at"].astimezone(SERVICE_TZ).date() if r["closed_at"] else None,
        )
        for r in frame.iter_rows(named=True)
    )


def _agency(
    name: str,
    roles: tuple[str, ...],
    coverage: tuple[CoverageRow, ...],
    risk: Risk,
    lapses: pl.DataFrame,
    actions: tuple[ActionRow, ...],
) -> AgencySection:
    mine = lapses.filter(pl.col("agency") == name)
    return AgencySection(
        agency=name,
        roles=roles,
        role_labels=", ".join(responder_role_label(r) for r in roles),
        coverage=tuple(r for r in coverage if r.role in roles),
        risk=tuple(r for r in risk.rules if r.role in roles),
        training=tuple(t for t in risk.training if t.role in roles and t.agency in (None, name)),
        lapses=tuple(
            LapseRow(responder_role_label(r["role"]), r["competency"], r["people"], r["cover_lost_hours"])
            for r in mine.iter_rows(named=True)
        ),
        actions=tuple(a for a in actions if a.owner_agency == name),
    )


# ------------------------------------------------------------------------------------------- summary


def _direction(now_share: float | None, before: float | None) -> str:
    if now_share is None:
        return "no hours in the rule's windows"
    if before is None:
        return f"{pct(now_share)} covered"
    if round(now_share * 1000) == round(before * 1000):
        return f"{pct(now_share)} covered, the same as the quarter before"
    way = "up" if now_share > before else "down"
    return f"{pct(now_share)} covered, {way} from {pct(before)}"


def _icons(values: list[float], target: float) -> tuple[str | None, str | None]:
    """The Making Data Count icons of a monthly series (XmR, improvement up): the latest point's variation
    and the assurance against `target`; none with fewer than two points."""
    if len(values) < 2:
        return None, None
    result = xmr(values, "up", target=target)
    return result.points[-1].type, result.assurance_icon


def _summary(
    coverage: tuple[CoverageRow, ...],
    trend: pl.DataFrame,
    risk: Risk,
    completion: Completion,
    quarter: Quarter,
) -> tuple[SummaryRow, ...]:
    expected = {r.rule_id: r.expected for r in risk.rules}
    rows = []
    for c in coverage:
        series = (
            trend.filter((pl.col("rule_id") == c.rule_id) & pl.col("share_covered").is_not_null())
            .get_column("share_covered")
            .to_list()
        )
        variation, assurance = _icons(series, COVERAGE_TARGET)
        reading = f"{c.label}: {_direction(c.share, c.previous)}"
        if c.rule_id in expected:
            reading += f"; {expected[c.rule_id]:.1f} cases expected to meet a gap next quarter"
        rows.append(
            SummaryRow("coverage", c.label, pct(c.share), pct(COVERAGE_TARGET), variation, assurance, reading)
        )
    for m in completion.measures:
        latest = m.latest
        spc = m.spc
        words = spc.variation_text.lower() if spc.variation_text else "too few quarters for a chart"
        reading = f"{m.label}: {latest} in {quarter.label} ({m.numerator} of {m.denominator})"
        if m.rate is None:
            reading = f"{m.label}: {m.numerator} of {m.denominator} in {quarter.label}"
        reading += f"; {words}"
        if spc.assurance_text:
            reading += f", {spc.assurance_text.lower()}"
        rows.append(
            SummaryRow(
                "completion", m.label, latest, pct(m.target), spc.variation_icon, spc.assurance_icon, reading
            )
        )
    return tuple(rows)


VARIATION_LETTERS = {
    Variation.COMMON_CAUSE.value: "~",
    Variation.IMPROVEMENT.value: "↑",
    Variation.CONCERN.value: "↓",
    Variation.NEUTRAL.value: "!",
}
ASSURANCE_LETTERS = {
    Assurance.PASS.value: "P",
    Assurance.FAIL.value: "F",
    Assurance.HIT_AND_MISS.value: "?",
}
