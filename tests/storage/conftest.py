"""Storage fixtures: every test runs on an SQLite file and, when ROTA_TEST_POSTGRES_URL is set, on PostgreSQL.

PostgreSQL gets a private database per test session (created from the given URL, dropped at the end) and a
fresh `public` schema per test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from rota.model import Rota, conform
from rota.rules import make_rule


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def sample_rota() -> Rota:
    """A small rota whose instants sit on both 2026 clock changes (29 March and 25 October)."""
    responders = pl.DataFrame(
        {
            "responder_id": ["P1", "P2", "S1", "A1"],
            "name": ["Dr Ada Lovelace", "Dr Émile Ñúñez", "DS Kim O'Neil", 'Pat "Quote" O\\Lee\tTab'],
            "role": ["paediatrician", "paediatrician", "sio", "ambulance"],
            "agency": ["NHS Trust", "NHS Trust", "Police", None],
            "email": ["ada@example.org", None, "kim@example.org", None],
            "phone": ["07700 900001", None, "+44 (0)1632 960002", None],
            "active": [True, True, False, True],
        }
    )
    training = pl.DataFrame(
        {
            "responder_id": ["P1", "P1", "P2", "S1", "A1"],
            "competency": ["jar", "jar-16-17", "jar", "jar", "jar"],
            "valid_from": [
                date(2025, 1, 1),
                date(2025, 6, 1),
                date(2024, 3, 31),
                date(2026, 3, 29),
                date(2020, 1, 1),
            ],
            "valid_until": [date(2027, 12, 31), None, date(2026, 10, 25), None, date(2026, 3, 28)],
        }
    )
    shifts = pl.DataFrame(
        {
            "shift_id": ["s-spring-1", "s-spring-2", "s-autumn-1", "s-autumn-2", "s-plain"],
            "responder_id": ["P1", "S1", "P2", "A1", "P1"],
            # 29 March: 00:59:59Z is 00:59:59 GMT, 01:00Z is 02:00 BST. 25 October: 00:30Z is 01:30 BST,
            # 01:30Z is 01:30 GMT (the repeated hour).
            "start": [
                utc(2026, 3, 28, 21),
                utc(2026, 3, 29, 1),
                utc(2026, 10, 24, 23, 30),
                utc(2026, 10, 25, 1, 30),
                utc(2026, 6, 1, 8, 0, 0),
            ],
            "end": [
                utc(2026, 3, 29, 0, 59, 59),
                utc(2026, 3, 29, 9),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 9),
                utc(2026, 6, 1, 17, 30, 15),
            ],
            "kind": ["oncall", "onsite", "oncall", "oncall", "onsite"],
        }
    )
    absences = pl.DataFrame(
        {
            "responder_id": ["P1", "S1"],
            "start": [utc(2026, 3, 29, 0, 30), utc(2026, 10, 25, 0, 30)],
            "end": [utc(2026, 3, 29, 1, 30), utc(2026, 10, 25, 1, 30)],
            "reason": ["leave", None],
        }
    )
    rules = (
        make_rule(
            {
                "id": "sio-day",
                "role": "sio",
                "min_count": 2,
                "competencies": ["jar"],
                "age_band": "0-15",
                "windows": ["Mon-Fri 09:00-17:00", "Sat,Sun 22:00-06:00"],
            }
        ),
        make_rule(
            {
                "id": "paed-1617",
                "role": "paediatrician",
                "competencies": ["jar", "jar-16-17"],
                "age_band": "16-17",
            }
        ),
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training),
        shifts=conform("shifts", shifts),
        absences=conform("absences", absences),
        rules=rules,
        roles=("paediatrician", "sio", "ambulance", "nurse"),
    )
