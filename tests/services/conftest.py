"""The services' tests: an empty database (an SQLite file, and PostgreSQL where it is set up) for each test
that asks for `engine`. A module that needs data in it defines its own `engine`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rota.storage import Engine
from rota.storage.db import init_db


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    try:
        yield eng
    finally:
        eng.dispose()
