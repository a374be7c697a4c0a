"""The engine against the brute-force minute oracle on random small rotas around clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rota.engine import coverage, gaps
from rota.model import Rota, conform
from rota.rules import Rule, parse_window
from rota.timeutil import SERVICE_TZ
from tests.engine.oracle import minute_table, oracle_gaps, oracle_grid

# Both clock-change Sundays of 2026 and 2027, plus an ordinary week for contrast.
BASE_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31), date(2026, 6, 17)]
WINDOWS = [
    "Mon-Fri 09:00-17:00",
    "Sat-Sun 22:00-06:00",
    "Sun 00:30-02:30",
    "01:00-02:00",
    "Sat,Sun 00:00-24:00",
    "17:00-09:00",
]
ROLES = ["sio", "ambulance"]


@st.composite
def small_rotas(draw: st.DrawFn) -> tuple[Rota, datetime, datetime]:
    base = draw(st.sampled_from(BASE_DAYS))
    midnight = datetime(base.year, base.month, base.day, tzinfo=UTC)
    start = midnight - timedelta(hours=draw(st.integers(0, 20)))
    end = midnight + timedelta(hours=draw(st.integers(4, 30)), minutes=draw(st.sampled_from([0, 30])))

    def instant() -> datetime:
        return midnight + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))

    n = draw(st.integers(1, 4))
    responders, training, shifts, absences = [], [], [], []
    for i in range(n):
        rid = f"R{i}"
        responders.append(
            {
                "responder_id": rid,
                "name": f"Test {i}",
                "role": draw(st.sampled_from(ROLES)),
                "active": draw(st.sampled_from([True, True, True, False])),
            }
        )
        for comp in ("jar", "jar-16-17"):
            for _ in range(draw(st.integers(0, 2))):
                valid_from = base + timedelta(days=draw(st.integers(-3, 2)))
                until = draw(st.one_of(st.none(), st.integers(0, 3)))
                training.append(
                    {
                        "responder_id": rid,
                        "competency": comp,
                        "valid_from": valid_from,
                        "valid_until": None if until is None else valid_from + timedelta(days=until),
                    }
                )
        for k in range(draw(st.integers(0, 4))):
            s = instant()
            shifts.append(
                {
                    "shift_id": f"{rid}-{k}",
                    "responder_id": rid,
                    "start": s,
                    "end": s + timedelta(minutes=draw(st.integers(1, 30 * 60))),
                }
            )
        for _ in range(draw(st.integers(0, 2))):
            s = instant()
            absences.append(
                {"responder_id": rid, "start": s, "end": s + timedelta(minutes=draw(st.integers(1, 12 * 60)))}
            )
    rules = [
        Rule("sio", "sio", 1, ("jar",), "0-15"),
        Rule("sio-16-17", "sio", 1, ("jar", "jar-16-17"), "16-17"),
        Rule(
            "amb-windowed",
            "ambulance",
            draw(st.integers(1, 2)),
            ("jar",),
            "0-17",
            tuple(parse_window(w) for w in draw(st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=2))),
        ),
    ]
    rules.append(Rule("amb-anyone", "ambulance", 1, (), "0-17"))  # no competency asked
    rota = Rota(
        conform("responders", pl.DataFrame(responders)),
        conform(
            "training",
            pl.DataFrame(
                training,
                schema={
                    "responder_id": pl.String,
                    "competency": pl.String,
                    "valid_from": pl.Date,
                    "valid_until": pl.Date,
                },
            ),
        ),
        conform(
            "shifts",
            pl.DataFrame(
                shifts,
                schema={
                    "shift_id": pl.String,
                    "responder_id": pl.String,
                    "start": pl.Datetime("us", "UTC"),
                    "end": pl.Datetime("us", "UTC"),
                },
            ),
        ),
        conform(
            "absences",
            pl.DataFrame(
                absences,
                schema={
                    "responder_id": pl.String,
                    "start": pl.Datetime("us", "UTC"),
                    "end": pl.Datetime("us", "UTC"),
                },
            ),
        ),
        tuple(rules),
    )
    return rota, start, end


PROFILE = settings(suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(small_rotas())
def test_gaps_match_the_minute_oracle(case: tuple[Rota, datetime, datetime]) -> None:
    rota, start, end = case
    table = minute_table(rota, start, end, SERVICE_TZ)
    expected = [(g.rule_id, g.start, g.end, g.available) for g in oracle_gaps(table)]
    got = gaps(rota, start, end, SERVICE_TZ)
    actual = [(r["rule_id"], r["start"], r["end"], r["available"]) for r in got.iter_rows(named=True)]
    assert sorted(actual) == sorted(expected)
    minutes = {r["rule_id"]: 0.0 for r in got.iter_rows(named=True)}
    for r in got.iter_rows(named=True):
        minutes[r["rule_id"]] += r["minutes"]
    for rule_id, total in minutes.items():
        assert total == sum(
            1
            for row in table.iter_rows(named=True)
            if row["rule_id"] == rule_id and row["in_window"] and row["available"] < row["required"]
        )


@PROFILE
@given(small_rotas())
def test_hourly_grid_matches_the_minute_oracle(case: tuple[Rota, datetime, datetime]) -> None:
    rota, start, end = case
    expected = oracle_grid(minute_table(rota, start, end, SERVICE_TZ), SERVICE_TZ)
    got = coverage(rota, start, end, SERVICE_TZ)
    actual = {
        (r["rule_id"], r["hour_start"]): (r["required"], r["available"], float(r["gap_minutes"]))
        for r in got.iter_rows(named=True)
    }
    assert actual == expected
    assert got.height == len(expected)
