"""Rota problems that are not gaps (rota.engine.conflicts), on small hand-built rotas whose answers are worked
out by hand, around both 2026 clock changes (Europe/London)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from rota.engine.conflicts import CONFLICT_COLUMNS, conflicts
from rota.model import Rota
from rota.rules import Rule

LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")


def at(text: str) -> datetime:
    """A local wall time in London (never in a clock-change hour here)."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


def rota(
    shifts: list[tuple[str, str, str]],
    absences: list[tuple[str, str]] = (),  # type: ignore[assignment]
    training: list[tuple[str, date, date | None]] | None = None,
    rules: tuple[Rule, ...] = (),
) -> Rota:
    trained = training if training is not None else [("jar", date(2020, 1, 1), None)]
    return Rota(
        responders=pl.DataFrame(
            {"responder_id": ["S1"], "name": ["DI Test"], "role": ["sio"], "agency": ["Vale Police"]}
        ),
        training=pl.DataFrame(
            {
                "responder_id": ["S1"] * len(trained),
                "competency": [c for c, _, _ in trained],
                "valid_from": [a for _, a, _ in trained],
                "valid_until": [b for _, _, b in trained],
            },
            schema={
                "responder_id": pl.String,
                "competency": pl.String,
                "valid_from": pl.Date,
                "valid_until": pl.Date,
            },
        ),
        shifts=pl.DataFrame(
            {
                "shift_id": [s for s, _, _ in shifts],
                "responder_id": ["S1"] * len(shifts),
                "start": [at(a) for _, a, _ in shifts],
                "end": [at(b) for _, _, b in shifts],
            }
        ),
        absences=pl.DataFrame(
            {
                "responder_id": ["S1"] * len(absences),
                "start": [at(a) for a, _ in absences],
                "end": [at(b) for _, b in absences],
            },
            schema={
                "responder_id": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
            },
        ),
        rules=rules,
    )


def found(
    r: Rota, start: str = "2026-01-01 00:00", end: str = "2027-01-01 00:00"
) -> list[tuple[object, ...]]:
    frame = conflicts(r, at(start), at(end), LONDON)
    assert frame.columns == list(CONFLICT_COLUMNS)
    return [(k, s, e) for k, _, s, e, _ in frame.iter_rows()]


def test_a_shift_during_the_responders_own_absence_is_reported_over_the_overlap() -> None:
    r = rota(
        [("X1", "2026-06-01 08:00", "2026-06-01 18:00")],
        absences=[("2026-06-01 12:00", "2026-06-03 00:00")],
    )
    assert found(r) == [("shift_during_absence", at("2026-06-01 12:00"), at("2026-06-01 18:00"))]
    detail = conflicts(r, at("2026-06-01 00:00"), at("2026-06-02 00:00"), LONDON)["detail"][0]
    assert detail.startswith("shift X1 while absent 01/06/2026 12:00 BST")


def test_overlapping_shifts_are_one_problem_and_shifts_that_meet_are_none() -> None:
    r = rota(
        [
            ("X1", "2026-06-01 08:00", "2026-06-01 18:00"),
            ("X2", "2026-06-01 17:00", "2026-06-01 20:00"),
            ("X3", "2026-06-01 20:00", "2026-06-02 08:00"),  # meets X2: one duty, no rest problem
        ]
    )
    assert found(r) == [("overlapping_shifts", at("2026-06-01 17:00"), at("2026-06-01 18:00"))]


def test_rest_is_counted_in_real_hours_across_both_clock_changes() -> None:
    # Spring, 29/03/2026: 00:00 GMT to 11:00 BST is 11 hours of wall clock but 10 real hours.
    spring = rota(
        [("X1", "2026-03-28 12:00", "2026-03-29 00:00"), ("X2", "2026-03-29 11:00", "2026-03-29 20:00")]
    )
    assert found(spring) == [("short_rest", at("2026-03-29 00:00"), at("2026-03-29 11:00"))]
    frame = conflicts(spring, at("2026-03-28 00:00"), at("2026-03-30 00:00"), LONDON)
    assert frame["detail"][0] == "10h 00m rest between duties (at least 11h 00m)"
    # Autumn, 25/10/2026: 00:00 BST to 10:00 GMT is 10 hours of wall clock but 11 real hours: enough.
    autumn = rota(
        [("X1", "2026-10-24 12:00", "2026-10-25 00:00"), ("X2", "2026-10-25 10:00", "2026-10-25 20:00")]
    )
    assert found(autumn) == []
    # and 30 minutes less is too little
    short = rota(
        [("X1", "2026-10-24 12:00", "2026-10-25 00:30"), ("X2", "2026-10-25 10:00", "2026-10-25 20:00")]
    )
    assert [k for k, _, _ in found(short)] == ["short_rest"]


def test_duty_after_a_competency_lapsed_is_reported_from_the_end_of_its_last_day() -> None:
    r = rota(
        [("X1", "2026-10-24 20:00", "2026-10-25 08:00")],
        training=[("jar", date(2020, 1, 1), date(2026, 10, 24))],
    )
    # valid to the end of 24/10 (local midnight, still BST), so the lapse starts at 25/10 00:00 BST
    assert found(r) == [("lapsed_competency", at("2026-10-25 00:00"), at("2026-10-25 08:00"))]
    detail = conflicts(r, at("2026-10-24 00:00"), at("2026-10-26 00:00"), LONDON)["detail"][0]
    assert detail == "jar valid only until 24/10/2026; shift X1 serves sio, sio-16-17"


def test_a_competency_never_held_or_not_yet_valid_is_not_a_lapse() -> None:
    # S1 never held jar-16-17 (the sio-16-17 rule): the gaps show that, not a lapse
    never = rota([("X1", "2026-06-01 08:00", "2026-06-01 18:00")])
    assert found(never) == []
    future = rota(
        [("X1", "2026-06-01 08:00", "2026-06-01 18:00")], training=[("jar", date(2026, 7, 1), None)]
    )
    assert found(future) == []
    renewed = rota(
        [("X1", "2026-06-01 08:00", "2026-06-03 08:00")],
        training=[("jar", date(2020, 1, 1), date(2026, 6, 1)), ("jar", date(2026, 6, 2), None)],
    )
    assert found(renewed) == []  # renewed the next day: no hole


def test_only_the_rules_of_the_responders_role_count() -> None:
    rules = (
        Rule("paed-extra", "paediatrician", competencies=("jar", "resus")),
        Rule("sio", "sio", competencies=("jar",)),
    )
    r = rota(
        [("X1", "2026-06-01 08:00", "2026-06-01 18:00")],
        training=[("jar", date(2020, 1, 1), None), ("resus", date(2020, 1, 1), date(2025, 1, 1))],
        rules=rules,
    )
    assert found(r) == []  # resus serves a paediatrician's rule only


def test_a_problem_touching_the_range_is_listed_whole_and_others_not_at_all() -> None:
    r = rota(
        [
            ("X1", "2026-06-01 08:00", "2026-06-01 18:00"),
            ("X2", "2026-06-01 17:00", "2026-06-01 20:00"),
            ("X3", "2026-06-10 08:00", "2026-06-10 18:00"),
            ("X4", "2026-06-10 17:00", "2026-06-10 20:00"),
        ]
    )
    assert found(r, "2026-06-01 17:30", "2026-06-02 00:00") == [
        ("overlapping_shifts", at("2026-06-01 17:00"), at("2026-06-01 18:00"))
    ]
    assert found(r, "2026-06-01 18:00", "2026-06-10 17:00") == []
    assert len(found(r)) == 2
    assert found(r) == sorted(found(r), key=lambda row: row[1])  # type: ignore[arg-type,return-value]


def test_an_empty_rota_has_no_problems() -> None:
    frame = conflicts(Rota(), at("2026-06-01 00:00"), at("2026-06-02 00:00"), LONDON)
    assert frame.height == 0 and frame.columns == list(CONFLICT_COLUMNS)


def test_the_minimum_rest_is_a_parameter() -> None:
    r = rota([("X1", "2026-06-01 08:00", "2026-06-01 18:00"), ("X2", "2026-06-02 03:00", "2026-06-02 08:00")])
    assert found(r) == [("short_rest", at("2026-06-01 18:00"), at("2026-06-02 03:00"))]
    eight = conflicts(r, at("2026-06-01 00:00"), at("2026-06-03 00:00"), LONDON, min_rest=timedelta(hours=8))
    assert eight.height == 0
