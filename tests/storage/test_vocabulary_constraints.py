"""The migrated database holds the words of rota.vocab in its check constraints (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from sqlalchemy import Engine, inspect

from rota.vocab import values_of
from tests.test_vocab import CONSTRAINTS, quoted


def test_migrated_check_constraints_hold_the_vocabulary(engine: Engine) -> None:
    inspector = inspect(engine)
    for table, name, words in CONSTRAINTS:
        found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        assert name in found, (table.name, name)
        # PostgreSQL rewrites the text ('oncall'::character varying); the words are what matter
        assert quoted(re.sub(r"::[\w ]+", "", found[name])) == set(values_of(words)), name
