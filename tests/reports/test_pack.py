"""The assurance pack on the demo: its figures are the services' for the same quarter (read back from the
PDF's text and the HTML), the commissioner pack holds no small count and nothing case-level or personal,
every page is A4, drawn, tagged, with its fonts embedded, and the sections are headed as SPEC 14 says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from rota.errors import InputError, PermissionDenied
from rota.reports import build_pack
from rota.reports.figures import PackFigures, gather, pct
from rota.reports.quarters import Quarter
from rota.reports.render import render_html, render_pdf
from rota.services.access import Actor
from rota.services.actions import add_action, close_action
from rota.services.completion import completion_view
from rota.services.coverage import coverage_report, rule_shares
from rota.services.demo import load_demo
from rota.services.forecasting import capacity_forecast
from rota.storage import Engine
from rota.storage.cases import load_cases
from rota.storage.db import init_db
from rota.storage.people import stored_responders
from rota.timeutil import SERVICE_TZ, day_start
from tests.reports.pdfcheck import (
    blank_pages,
    is_tagged,
    page_sizes_mm,
    pdf_pages_text,
    pdf_to_pngs,
    unembedded_fonts,
)

TODAY = date(2026, 12, 4)
NOW = day_start(TODAY, SERVICE_TZ) + timedelta(hours=12)
QUARTER = Quarter(2026, 3)
MANAGER = Actor("manager", "cdop_manager", display_name="CDOP manager")
COMMISSIONER = Actor("board", "commissioner", display_name="Board commissioner")
PLAN_S = 1.0  # the planner's time limit here: its answer is checked in tests/planner, not here
SECTIONS = ["Summary", "Coverage", "Risk next quarter", "Completion", "Actions"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("pack") / "demo.db"
    engine = init_db(f"sqlite:///{path}")
    load_demo(engine, TODAY, seed=7, tz=SERVICE_TZ, password="a demo password!")
    _board_actions(engine)
    yield engine
    engine.dispose()


def _board_actions(engine: Engine) -> None:
    """One action open at the end of 2026-Q3, one closed during it, one made after it."""
    in_q3 = day_start(date(2026, 8, 3), SERVICE_TZ)
    common = {"owner": "Head of safeguarding", "due": date(2026, 9, 30)}
    add_action(engine, MANAGER, title="Brief SIOs on 16-17", owner_agency="Vale Police", now=in_q3, **common)
    done = add_action(
        engine, MANAGER, title="Second paediatrician nights", owner_agency="Vale Hospitals NHS Trust",
        now=in_q3, **common,
    )  # fmt: skip
    close_action(engine, MANAGER, done, notes="Rota agreed", now=in_q3 + timedelta(days=20))
    add_action(
        engine, MANAGER, title="Made after the quarter", owner_agency="Vale Police",
        now=day_start(date(2026, 10, 5), SERVICE_TZ), **common,
    )  # fmt: skip


@pytest.fixture(scope="module")
def manager(engine: Engine) -> PackFigures:
    return gather(engine, MANAGER, QUARTER, now=NOW, plan_time_limit_s=PLAN_S)


@pytest.fixture(scope="module")
def commissioner(engine: Engine) -> PackFigures:
    return gather(engine, COMMISSIONER, QUARTER, now=NOW, plan_time_limit_s=PLAN_S)


@pytest.fixture(scope="module")
def manager_pdf(manager: PackFigures) -> bytes:
    return render_pdf(render_html(manager))


@pytest.fixture(scope="module")
def commissioner_html(commissioner: PackFigures) -> str:
    return render_html(commissioner)


@pytest.fixture(scope="module")
def commissioner_pdf(commissioner_html: str) -> bytes:
    return render_pdf(commissioner_html)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


class _Rows(HTMLParser):
    """Each table row of an HTML document as a list of its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(_flat("".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(html: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


# ------------------------------------------------------------------------------------------- figures


def test_cover_is_the_coverage_service_for_the_quarter_the_one_before_and_a_year_before(
    engine: Engine, manager: PackFigures, manager_pdf: bytes
) -> None:
    report = coverage_report(engine, MANAGER, QUARTER.first, QUARTER.last)
    earlier = rule_shares(
        engine, MANAGER, [(q.label, q.first, q.last) for q in (QUARTER.previous, QUARTER.year_before)]
    )
    expected = {r["rule_id"]: r["share_covered"] for r in report.rules.iter_rows(named=True)}
    assert {r.rule_id: r.share for r in manager.coverage} == expected
    for row in manager.coverage:
        before = earlier.filter(pl.col("rule_id") == row.rule_id)
        assert row.previous == before.filter(pl.col("period") == "2026-Q2")["share_covered"].item()
        assert row.year_before == before.filter(pl.col("period") == "2025-Q3")["share_covered"].item()
    # the same figures, written `93.8%`, in the PDF: each rule's line of the Coverage table
    text = _flat(" ".join(pdf_pages_text(manager_pdf)))
    for row in manager.coverage:
        line = f"{row.label} {pct(row.share)} {pct(row.previous)} {pct(row.year_before)} {row.gap_count}"
        assert _flat(line) in text, line
    assert all(re.fullmatch(r"\d{1,3}\.\d%", pct(r.share)) for r in manager.coverage)


def test_sixteen_and_seventeen_year_olds_sit_beside_0_15(manager: PackFigures) -> None:
    by_id = {r.rule_id: r for r in manager.coverage}
    roles = {p.role for p in manager.pairs}
    assert roles == {"paediatrician", "sio", "ambulance"}
    for p in manager.pairs:
        young, older = by_id[p.role], by_id[f"{p.role}-16-17"]
        assert p.young == (young.share, young.previous, young.year_before)
        assert p.older == (older.share, older.previous, older.year_before)


def test_risk_next_quarter_is_the_forecast_of_the_next_quarter(
    engine: Engine, commissioner: PackFigures, commissioner_pdf: bytes
) -> None:
    nxt = QUARTER.next
    cf = capacity_forecast(engine, COMMISSIONER, nxt.first, nxt.last, now=NOW)
    assert commissioner.risk.quarter == nxt
    assert commissioner.risk.meeting_a_gap == pytest.approx(cf.expected_cases_meeting_a_gap)
    assert commissioner.risk.expected_cases == pytest.approx(cf.expected_cases)
    assert commissioner.risk.interval_80 == cf.interval_80
    text = _flat(" ".join(pdf_pages_text(commissioner_pdf)))
    assert f"{cf.expected_cases_meeting_a_gap:.1f} of them are expected to meet a gap" in text
    # the planner's answer is there, without the fills (which name responders) for commissioners
    assert commissioner.risk.fills is None
    assert commissioner.risk.plan_first == nxt.first
    assert commissioner.risk.gap_hours_before >= commissioner.risk.gap_hours_after


def test_completion_is_the_completion_service_for_the_quarter(
    engine: Engine, commissioner: PackFigures, commissioner_html: str
) -> None:
    view = completion_view(engine, COMMISSIONER, "quarter", now=day_start(QUARTER.next.first))
    rows = view.table.filter((pl.col("period") == QUARTER.label) & (pl.col("split") == "all"))
    by_measure = {r["measure"]: r for r in rows.iter_rows(named=True)}
    assert len(commissioner.completion.measures) == 7
    html_rows = {r[0]: r for r in _rows(commissioner_html) if len(r) == 6}
    for m in commissioner.completion.measures:
        service = by_measure[m.measure]
        assert (m.numerator, m.denominator) == (service["numerator_shown"], service["denominator_shown"])
        assert m.rate == service["rate"]
        shown = html_rows[m.label]
        assert shown[2] == f"{service['numerator_shown']} / {service['denominator_shown']}"
        assert shown[1] == (pct(service["rate"]) if service["rate"] is not None else "not published")
    # the variation and assurance icons of the latest quarter are the p-chart's
    latest = {m.measure: m.spc for m in commissioner.completion.measures}
    assert all(s.periods[-1] == QUARTER.label for s in latest.values())


def test_the_summary_has_a_line_per_rule_and_measure_with_a_reading(manager: PackFigures) -> None:
    kinds = [r.kind for r in manager.summary]
    assert kinds.count("coverage") == len(manager.coverage)
    assert kinds.count("completion") == 7
    sio = next(r for r in manager.summary if r.measure == "SIO 16-17")
    cover = next(r for r in manager.coverage if r.rule_id == "sio-16-17")
    risk = next(r for r in manager.risk.rules if r.rule_id == "sio-16-17")
    way = "up" if cover.share > cover.previous else "down"  # type: ignore[operator]
    assert sio.reading == (
        f"SIO 16-17: {pct(cover.share)} covered, {way} from {pct(cover.previous)}; "
        f"{risk.expected:.1f} cases expected to meet a gap next quarter"
    )
    assert sio.variation is not None and sio.assurance is not None


# ------------------------------------------------------------------------------------------- audiences


def test_the_commissioner_pack_has_no_small_count(commissioner: PackFigures) -> None:
    threshold = commissioner.completion.threshold
    c = commissioner.completion
    assert c.suppressed
    shown = [c.cases]
    shown += [t for m in c.measures for t in (m.numerator, m.denominator)]
    shown += [t for s in c.by_cover for t in (s.numerator, s.denominator)]
    for col in ("completed_shown", "not_completed_shown", "cases_shown"):
        shown += c.crosstab.get_column(col).to_list()
    shown += [
        str(v)
        for m in c.measures
        for col in ("numerator", "denominator")
        for v in m.spc.points[col].to_list()
    ]
    for text in shown:
        assert text in (f"<{threshold}", "*") or (
            text.isdigit() and (int(text) == 0 or int(text) >= threshold)
        )
    assert any(t == f"<{threshold}" for t in shown)  # the demo has small numbers to hide


def test_the_commissioner_pack_names_no_case_and_no_responder(
    engine: Engine, commissioner_html: str, commissioner_pdf: bytes
) -> None:
    text = commissioner_html + " ".join(pdf_pages_text(commissioner_pdf))
    case_ids = load_cases(engine).get_column("case_id").to_list()
    assert case_ids and not [c for c in case_ids if c in text]
    with engine.connect() as conn:
        names = [n for (n,) in conn.exec_driver_sql("SELECT name FROM responder").fetchall()]
    assert names and not [n for n in names if n in text]
    ids = stored_responders(engine).get_column("responder_id").to_list()
    assert not [i for i in ids if re.search(rf"\b{re.escape(i)}\b", text)]


def test_who_may_build_which_pack(engine: Engine) -> None:
    coordinator = Actor("c", "coordinator", "Vale Police")
    with pytest.raises(PermissionDenied):
        gather(engine, coordinator, QUARTER, now=NOW)
    with pytest.raises(PermissionDenied, match="commissioner pack"):
        gather(engine, COMMISSIONER, QUARTER, "manager", now=NOW)
    with pytest.raises(InputError, match="agency"):
        gather(engine, MANAGER, QUARTER, agency="Nobody's Trust", now=NOW)
    with pytest.raises(InputError, match="has not ended"):
        build_pack(engine, MANAGER, period="2026-Q4", now=NOW)
    with pytest.raises(InputError, match="not a quarter"):
        build_pack(engine, MANAGER, period="2026-13", now=NOW)


# ------------------------------------------------------------------------------------------- the PDF


def test_the_sections_are_headed_as_the_spec_says(manager: PackFigures, manager_pdf: bytes) -> None:
    # the PDF's bookmarks: the title (h1), and under it one per section (h2), in order
    outline = PdfReader(BytesIO(manager_pdf)).outline
    assert len(outline) == 2 and isinstance(outline[1], list)
    assert str(outline[0].title).startswith("Joint Agency Response assurance pack")  # type: ignore[union-attr]
    sections = [str(item.title) for item in outline[1] if not isinstance(item, list)]
    agencies = sorted(a.agency for a in manager.agencies)
    assert sections == SECTIONS + agencies
    # in the HTML, the same headings as h2, in that order
    html = render_html(manager)
    h2 = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert h2 == SECTIONS + agencies


def test_every_page_is_a4_drawn_tagged_with_fonts_embedded(
    manager_pdf: bytes, commissioner_pdf: bytes, tmp_path: Path
) -> None:
    for data in (manager_pdf, commissioner_pdf):
        sizes = page_sizes_mm(data)
        assert len(sizes) >= 8
        assert set(sizes) == {(210.0, 297.0)}
        assert unembedded_fonts(data) == []
        assert blank_pages(data) == []
        assert is_tagged(data)
        texts = pdf_pages_text(data)
        assert all(f"Page {i} of {len(texts)}" in t for i, t in enumerate(texts, start=1))
    pngs = pdf_to_pngs(manager_pdf, tmp_path, dpi=40)
    assert len(pngs) == len(page_sizes_mm(manager_pdf))


def test_the_summary_is_one_page(manager_pdf: bytes) -> None:
    pages = pdf_pages_text(manager_pdf)
    assert "Fully completed" in pages[0] and "Summary" in pages[0]
    assert "Coverage" not in pages[0].split("Summary", 1)[1].split("Cover: variation")[0].split("\n")[0]
    assert pages[1].lstrip().startswith("Coverage")


def test_build_pack_writes_html_for_one_agency(engine: Engine) -> None:
    pack = build_pack(
        engine, COMMISSIONER, period=QUARTER, agency="Vale Police", fmt="html", now=NOW, plan_time_limit_s=1.0
    )
    assert pack.audience == "commissioner" and pack.media_type.startswith("text/html")
    assert pack.filename == "jar-assurance-pack-2026-Q3-commissioner-vale-police.html"
    assert pack.content.startswith(b"<!DOCTYPE html>")
    assert b"http://" not in pack.content and b"https://" not in pack.content  # loads nothing from anywhere
    # every partnership-wide section, then Vale Police's only: its role's rules and risk
    assert [a.agency for a in pack.figures.agencies] == ["Vale Police"]
    section = pack.figures.agencies[0]
    assert {r.role for r in section.coverage} == {"sio"} and all(r.role == "sio" for r in section.risk)
    h2 = re.findall(r"<h2[^>]*>([^<]+)</h2>", pack.content.decode())
    assert h2 == [*SECTIONS, "Vale Police"]


def test_dates_are_uk_and_times_local(manager: PackFigures) -> None:
    html = render_html(manager)
    assert "04/12/2026 12:00 GMT" in html
    assert re.search(r"\d{2}/\d{2}/2026 \d{2}:\d{2} BST", html)  # the longest gaps of a summer quarter
    assert manager.built_at == NOW and isinstance(manager.built_at, datetime)


def test_the_pack_lists_open_actions_and_those_closed_in_the_quarter(commissioner: PackFigures) -> None:
    by_title = {a.title: a for a in commissioner.actions}
    assert set(by_title) == {"Brief SIOs on 16-17", "Second paediatrician nights"}  # not the later one
    assert by_title["Brief SIOs on 16-17"].status == "open"
    assert by_title["Second paediatrician nights"].closed_on == date(2026, 8, 23)
    police = next(a for a in commissioner.agencies if a.agency == "Vale Police")
    assert [a.title for a in police.actions] == ["Brief SIOs on 16-17"]
    rows = _rows(render_html(commissioner))
    kept_row = ["Brief SIOs on 16-17", "Vale Police", "Head of safeguarding", "30/09/2026"]
    kept_row += ["Open, overdue", ""]
    assert kept_row in rows
    assert any(r[0] == "Second paediatrician nights" and r[4] == "Closed 23/08/2026" for r in rows)
