"""The safeguarding partnership board's quarterly assurance pack (docs/reports.md): its figures gathered
from the services for one audience (`figures`), written into one template as HTML, and as an A4 PDF
(`render`). Every entry point (`rota pack`, the dashboard, the `assurance-pack` job) calls `build_pack`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from rota.errors import InputError, Problem
from rota.reports.figures import PackFigures, gather
from rota.reports.quarters import Quarter, last_complete
from rota.services.access import Actor
from rota.storage import Engine
from rota.timeutil import SERVICE_TZ, utc_now

FORMATS: dict[str, str] = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Pack:
    """A built pack: `content` in `fmt` (pdf or html), with its figures and the name to save it under."""

    quarter: Quarter
    audience: str
    agency: str | None
    fmt: str
    content: bytes
    figures: PackFigures

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    @property
    def filename(self) -> str:
        agency = f"-{_slug(self.agency)}" if self.agency else ""
        return f"jar-assurance-pack-{self.quarter.label}-{self.audience}{agency}.{self.fmt}"


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")[:40]


def default_quarter(now: datetime | None = None, tz: tzinfo = SERVICE_TZ) -> Quarter:
    """The last complete quarter (local dates)."""
    today: date = (now or utc_now()).astimezone(tz).date()
    return last_complete(today)


def build_pack(
    engine: Engine,
    actor: Actor,
    *,
    period: str | Quarter | None = None,
    audience: str | None = None,
    agency: str | None = None,
    fmt: str = "pdf",
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
    plan_time_limit_s: float | None = None,
) -> Pack:
    """The pack of `period` (`YYYY-Qn`; default the last complete quarter) for `audience` (default the
    actor's own: see rota.services.assurance), as PDF or HTML. A quarter that has not ended is refused:
    the pack reports whole quarters."""
    if fmt not in FORMATS:
        raise InputError(Problem("format", None, None, f"write the pack as {' or '.join(FORMATS)}"))
    figures = _gather(engine, actor, period, audience, agency, tz, now, plan_time_limit_s)
    return render_pack(figures, agency, fmt)


def build_both(
    engine: Engine,
    actor: Actor,
    *,
    period: str | Quarter | None = None,
    audience: str | None = None,
    agency: str | None = None,
    tz: tzinfo = SERVICE_TZ,
    now: datetime | None = None,
    plan_time_limit_s: float | None = None,
) -> tuple[Pack, Pack]:
    """The same pack as PDF and as HTML from one gathering of its figures and one HTML (the dashboard
    offers both)."""
    from rota.reports.render import render_html

    figures = _gather(engine, actor, period, audience, agency, tz, now, plan_time_limit_s)
    html = render_html(figures)
    return render_pack(figures, agency, "pdf", html), render_pack(figures, agency, "html", html)


def render_pack(figures: PackFigures, agency: str | None, fmt: str, html: str | None = None) -> Pack:
    """Gathered `figures` written as a pack in `fmt` (pdf or html); `html`: their HTML when already made."""
    from rota.reports.render import render_html, render_pdf

    html = html if html is not None else render_html(figures)
    content = render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
    return Pack(figures.quarter, figures.audience, agency, fmt, content, figures)


def _gather(
    engine: Engine,
    actor: Actor,
    period: str | Quarter | None,
    audience: str | None,
    agency: str | None,
    tz: tzinfo,
    now: datetime | None,
    plan_time_limit_s: float | None,
) -> PackFigures:
    now = now or utc_now()
    quarter = (
        period
        if isinstance(period, Quarter)
        else (Quarter.parse(period) if period is not None else default_quarter(now, tz))
    )
    if quarter.last >= now.astimezone(tz).date():
        raise InputError(
            Problem("period", None, None, f"{quarter.label} has not ended yet: choose a quarter that has")
        )
    return gather(engine, actor, quarter, audience, agency, tz, now, plan_time_limit_s=plan_time_limit_s)
