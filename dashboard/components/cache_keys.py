"""What the pages' cached reads over a period are keyed by: the database, a data version (the newest audit
id: every stored change is audited, so an edit anywhere shows at once and an unchanged rota is never
worked out again), the period and the service zone. A page adds what its answer depends on about the
reader."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from dashboard.components.context import database_key, engine
from rota.services.coverage import data_version


class PeriodKey(NamedTuple):
    url: str
    version: int
    first: date
    last: date
    tz_name: str


def period_key(first: date, last: date, tz_name: str) -> PeriodKey:
    """The key of a read from `first` to `last` (inclusive) of the database as it is now."""
    return PeriodKey(database_key(), data_version(engine()), first, last, tz_name)
