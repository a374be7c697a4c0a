"""Calendar quarters as the board reads them (`2026-Q3`: July to September 2026, local dates), and the day
the scheduled `assurance-pack` job builds a quarter's pack: the fifth working day after it ends (weekends
and England bank holidays are not working days)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from rota.analytics.completion import nth_working_day_after
from rota.errors import InputError, Problem

PACK_WORKING_DAY = 5  # the pack is built on the fifth working day after the quarter ends
FIRST_YEAR, LAST_YEAR = 1900, 2100  # docs/security.md "Input limits"
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`YYYY-Qn`; InputError naming the value otherwise."""
        m = _QUARTER.match(text.strip())
        if m is None:
            raise InputError(Problem("period", None, None, f"{text[:20]!r} is not a quarter like 2026-Q3"))
        year = int(m.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR - 1:
            raise InputError(
                Problem("period", None, None, f"the year {year} is outside {FIRST_YEAR}..{LAST_YEAR - 1}")
            )
        return cls(year, int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last(self) -> date:
        return self.next.first - timedelta(days=1)

    @property
    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    @property
    def year_before(self) -> Quarter:
        return Quarter(self.year - 1, self.number)

    @property
    def words(self) -> str:
        """`July to September 2026`."""
        return f"{_MONTHS[3 * self.number - 3]} to {_MONTHS[3 * self.number - 1]} {self.year}"

    @property
    def months(self) -> tuple[tuple[str, date, date], ...]:
        """The quarter's three months: label (`2026-07`), first and last day."""
        out = []
        for m in range(3 * self.number - 2, 3 * self.number + 1):
            first = date(self.year, m, 1)
            nxt = date(self.year + 1, 1, 1) if m == 12 else date(self.year, m + 1, 1)
            out.append((f"{self.year}-{m:02d}", first, nxt - timedelta(days=1)))
        return tuple(out)

    def __str__(self) -> str:
        return self.label


def last_complete(today: date) -> Quarter:
    """The last quarter that has ended before `today`."""
    return Quarter.of(today).previous


def pack_day(quarter: Quarter) -> date:
    """The day the scheduled job builds `quarter`'s pack: the fifth working day after it ends."""
    return nth_working_day_after(quarter.last, PACK_WORKING_DAY)


def months_back(quarter: Quarter, count: int) -> tuple[tuple[str, date, date], ...]:
    """The `count` months up to the end of `quarter`, oldest first (labels `2026-07`)."""
    q, months = quarter, list[tuple[str, date, date]]()
    while len(months) < count:
        months[:0] = q.months
        q = q.previous
    return tuple(months[-count:])
