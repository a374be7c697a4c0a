"""Small hand-built rotas for the planner's tests."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from rota.model import Rota, conform
from rota.rules import make_rule
from rota.timeutil import SERVICE_TZ, localize

NIGHTS = make_rule(
    {"id": "nights", "role": "sio", "competencies": ["jar"], "age_band": "0-17", "windows": ["20:00-08:00"]}
)


def at(text: str) -> datetime:
    """A UK local wall time 'dd/mm/yyyy HH:MM' as a UTC instant."""
    return localize(datetime.strptime(text, "%d/%m/%Y %H:%M"), SERVICE_TZ)  # noqa: DTZ007 (a wall time)


def rota(
    people: list[str],
    *,
    rules: tuple = (NIGHTS,),
    shifts: list[tuple[str, datetime, datetime]] = (),  # type: ignore[assignment]
    absences: list[tuple[str, datetime, datetime]] = (),  # type: ignore[assignment]
    training: list[tuple[str, str, date, date | None]] | None = None,
    role: str = "sio",
) -> Rota:
    if training is None:
        training = [(p, "jar", date(2020, 1, 1), None) for p in people]
    return Rota(
        responders=conform(
            "responders",
            pl.DataFrame(
                {
                    "responder_id": people,
                    "name": people,
                    "role": [role] * len(people),
                    "active": [True] * len(people),
                }
            ),
        ),
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": [t[0] for t in training],
                    "competency": [t[1] for t in training],
                    "valid_from": [t[2] for t in training],
                    "valid_until": [t[3] for t in training],
                },
                schema={
                    "responder_id": pl.String,
                    "competency": pl.String,
                    "valid_from": pl.Date,
                    "valid_until": pl.Date,
                },
            ),
        ),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [f"s{i}" for i in range(len(shifts))],
                    "responder_id": [s[0] for s in shifts],
                    "start": [s[1] for s in shifts],
                    "end": [s[2] for s in shifts],
                },
                schema={
                    "shift_id": pl.String,
                    "responder_id": pl.String,
                    "start": pl.Datetime("us", "UTC"),
                    "end": pl.Datetime("us", "UTC"),
                },
            ),
        ),
        absences=conform(
            "absences",
            pl.DataFrame(
                {
                    "responder_id": [s[0] for s in absences],
                    "start": [s[1] for s in absences],
                    "end": [s[2] for s in absences],
                },
                schema={
                    "responder_id": pl.String,
                    "start": pl.Datetime("us", "UTC"),
                    "end": pl.Datetime("us", "UTC"),
                },
            ),
        ),
        rules=tuple(rules),
    )


def flat(band: str, hour: datetime) -> float:
    """One expected case an hour, every hour and age band: expected cases = gap hours."""
    return 1.0
