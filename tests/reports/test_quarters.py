"""Quarters as the pack names them, and the day the `assurance-pack` job builds one: the fifth working day
after the quarter ends (weekends and England bank holidays are not working days)."""

from __future__ import annotations

from datetime import date

import pytest

from rota.errors import InputError
from rota.reports.quarters import Quarter, last_complete, months_back, pack_day


def test_a_quarter_and_its_neighbours() -> None:
    q = Quarter.parse("2026-Q3")
    assert (q.first, q.last, q.label, q.words) == (
        date(2026, 7, 1), date(2026, 9, 30), "2026-Q3", "July to September 2026",
    )  # fmt: skip
    assert (q.previous.label, q.next.label, q.year_before.label) == ("2026-Q2", "2026-Q4", "2025-Q3")
    assert Quarter.parse("2027-q1").previous == Quarter(2026, 4)
    assert Quarter(2026, 4).last == date(2026, 12, 31) and Quarter(2026, 4).next == Quarter(2027, 1)
    assert Quarter(2024, 1).months[1] == ("2024-02", date(2024, 2, 1), date(2024, 2, 29))
    assert Quarter.of(date(2026, 12, 4)) == Quarter(2026, 4)


@pytest.mark.parametrize(
    "text", ["2026-Q0", "2026-Q5", "2026Q1", "26-Q1", "2026-03", "", "0000-Q1", "2100-Q1"]
)
def test_what_is_not_a_quarter(text: str) -> None:
    with pytest.raises(InputError):
        Quarter.parse(text)


def test_the_last_complete_quarter() -> None:
    assert last_complete(date(2026, 12, 4)) == Quarter(2026, 3)
    assert last_complete(date(2026, 1, 1)) == Quarter(2025, 4)
    assert last_complete(date(2026, 3, 31)) == Quarter(2025, 4)


def test_months_back_cross_years() -> None:
    months = months_back(Quarter(2026, 1), 5)
    assert [m[0] for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert (
        len(months_back(Quarter(2026, 3), 24)) == 24 and months_back(Quarter(2026, 3), 24)[-1][0] == "2026-09"
    )


@pytest.mark.parametrize(
    ("quarter", "day"),
    [
        # Tue 31/03/2026 ends Q1; Good Friday 03/04 and Easter Monday 06/04 are bank holidays:
        # Wed 01, Thu 02, Tue 07, Wed 08, Thu 09
        (Quarter(2026, 1), date(2026, 4, 9)),
        # Tue 30/06/2026: Wed 01 .. Tue 07/07
        (Quarter(2026, 2), date(2026, 7, 7)),
        # Wed 30/09/2026: Thu 01, Fri 02, Mon 05, Tue 06, Wed 07
        (Quarter(2026, 3), date(2026, 10, 7)),
        # Thu 31/12/2026: 01/01/2027 is a bank holiday; Mon 04, Tue 05, Wed 06, Thu 07, Fri 08
        (Quarter(2026, 4), date(2027, 1, 8)),
        # Wed 31/03/2027: Good Friday 26/03 and Easter Monday 29/03 are before; Thu 01 .. Wed 07/04
        (Quarter(2027, 1), date(2027, 4, 7)),
    ],
)
def test_the_fifth_working_day_after_the_quarter(quarter: Quarter, day: date) -> None:
    assert pack_day(quarter) == day
