"""The Completion page's first view, the last 12 months by quarter, and periods hidden from commissioners
kept on the axis as gaps: cases in five quarters across two years, the middle one too small to publish."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dashboard.components.completion_charts import spc_figure
from rota.analytics.cases import parse_cases
from rota.model import Rota
from rota.services.completion import RECENT, build_view, recent_quarters
from rota.vocab import Measure
from tests.services.test_completion_service import HEADER, _row

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)  # in 2026-Q4: the last whole quarters are 2025-Q4 to 2026-Q3
# cases in one month of each quarter, the case references lettered by quarter (A: 2025-Q3 ... E: 2026-Q3)
SIZES = {"2025-08": 6, "2025-11": 6, "2026-02": 3, "2026-05": 6, "2026-08": 7}
ROWS = [
    _row(f"{letter}-{i}", f"{month}-{10 + i:02d} 21:00", 5, full=True)
    for letter, (month, n) in zip("ABCDE", SIZES.items(), strict=True)
    for i in range(n)
]
CASES = parse_cases(("\n".join([HEADER, *ROWS]) + "\n").encode())
RECENT_FOUR = ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")


@pytest.mark.parametrize(
    ("today", "quarters"),
    [
        (date(2026, 12, 4), RECENT_FOUR),
        (date(2027, 1, 1), ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")),
        (date(2026, 3, 31), ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")),
    ],
)
def test_the_last_four_whole_quarters(today: date, quarters: tuple[str, ...]) -> None:
    assert recent_quarters(today) == quarters


@pytest.mark.parametrize("exact", [True, False])
def test_the_view_opens_on_the_last_12_months_by_quarter(exact: bool) -> None:
    view = build_view(CASES, Rota(), exact=exact, now=NOW)
    recent = view.at(RECENT)
    assert recent.periods == RECENT_FOUR  # 2025-Q3 is older than 12 months
    assert set(recent.table["level"].to_list()) == {"quarter"}
    assert view.at("quarter").periods == ("2025-Q3", *RECENT_FOUR)
    jar = next(s for s in recent.spc if s.measure == Measure.JAR_TRIGGERED.value)
    assert jar.latest == ("2026-Q3", 1.0)  # every case triggered a JAR


def test_a_hidden_quarter_is_a_gap_not_a_join() -> None:
    view = build_view(CASES, Rota(), exact=False, now=NOW).at("quarter")
    spc = next(s for s in view.spc if s.measure == Measure.JAR_TRIGGERED.value)
    assert "2026-Q1" in spc.left_out  # three cases: "<5"
    series = spc.series
    assert series["period"].to_list() == ["2025-Q3", *RECENT_FOUR]
    rates = dict(zip(series["period"].to_list(), series["rate"].to_list(), strict=True))
    assert rates["2026-Q1"] is None and rates["2025-Q4"] == rates["2026-Q2"] == 1.0
    fig, alt = spc_figure(spc)
    periods = fig.data[-1]
    assert [x.replace("<br>", " ") for x in periods.x] == [
        "Jul-Sep 2025",
        "Oct-Dec 2025",
        "Jan-Mar 2026",
        "Apr-Jun 2026",
        "Jul-Sep 2026",
    ]
    assert periods.y[2] is None and periods.connectgaps is False
    limits = fig.data[0]
    assert limits.y[2] is None and limits.connectgaps is False
    assert "1 without a rate shown, left as gaps" in alt
    # the exact view has the quarter, so nothing to leave out
    exact = build_view(CASES, Rota(), exact=True, now=NOW).at("quarter")
    assert all(r is not None for r in exact.spc[0].series["rate"].to_list())


def test_the_latest_quarter_hidden_has_no_rate() -> None:
    after_q1 = datetime(2026, 4, 2, tzinfo=UTC)  # 2026-Q1 (three cases) is the latest whole quarter
    view = build_view(CASES, Rota(), exact=False, now=after_q1)
    spc = next(s for s in view.at(RECENT).spc if s.measure == Measure.JAR_TRIGGERED.value)
    assert spc.periods == ("2025-Q3", "2025-Q4", "2026-Q1")  # 2025-Q2, the first of the four, had no case
    assert spc.latest == ("2026-Q1", None)
