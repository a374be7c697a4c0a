"""Worked examples of docs/engine.md, each one a behaviour a CDOP manager would check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from rota.engine import coverage, gaps, hour_starts
from rota.model import Rota, conform
from rota.rules import Rule, parse_window
from rota.timeutil import SERVICE_TZ, parse_instant

SIO = Rule("sio", "sio", 1, ("jar",), "0-15")


def t(text: str) -> datetime:
    return parse_instant(text, SERVICE_TZ)


def rota(
    shifts: list[tuple[str, str, str]],
    training: list[tuple[str, str, date, date | None]] | None = None,
    absences: list[tuple[str, str, str]] | None = None,
    active: dict[str, bool] | None = None,
) -> Rota:
    ids = sorted({s[0] for s in shifts} | set(active or {}))
    training = training if training is not None else [(i, "jar", date(2020, 1, 1), None) for i in ids]
    return Rota(
        conform(
            "responders",
            pl.DataFrame(
                {
                    "responder_id": ids,
                    "name": ids,
                    "role": ["sio"] * len(ids),
                    "active": [(active or {}).get(i, True) for i in ids],
                }
            ),
        ),
        conform(
            "training",
            pl.DataFrame(
                training, schema=["responder_id", "competency", "valid_from", "valid_until"], orient="row"
            ),
        ),
        conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [f"x{i}" for i in range(len(shifts))],
                    "responder_id": [s[0] for s in shifts],
                    "start": [t(s[1]) for s in shifts],
                    "end": [t(s[2]) for s in shifts],
                }
            ),
        ),
        conform(
            "absences",
            pl.DataFrame(
                {
                    "responder_id": [a[0] for a in absences or []],
                    "start": [t(a[1]) for a in absences or []],
                    "end": [t(a[2]) for a in absences or []],
                },
                schema={
                    "responder_id": pl.String,
                    "start": pl.Datetime("us", "UTC"),
                    "end": pl.Datetime("us", "UTC"),
                },
            ),
        ),
        (SIO,),
    )


def spans(df: pl.DataFrame) -> list[tuple[str, str, int]]:
    return [
        (
            r["start"].astimezone(SERVICE_TZ).strftime("%d %H:%M"),
            r["end"].astimezone(SERVICE_TZ).strftime("%d %H:%M"),
            r["available"],
        )
        for r in df.iter_rows(named=True)
    ]


def test_a_30_minute_hole_between_shifts_is_a_gap() -> None:
    r = rota([("a", "2026-06-01 08:00", "2026-06-01 12:00"), ("b", "2026-06-01 12:30", "2026-06-01 20:00")])
    assert spans(gaps(r, t("2026-06-01 08:00"), t("2026-06-01 20:00"))) == [("01 12:00", "01 12:30", 0)]


def test_overlapping_shifts_of_one_responder_count_once() -> None:
    r = rota([("a", "2026-06-01 08:00", "2026-06-01 14:00"), ("a", "2026-06-01 12:00", "2026-06-01 20:00")])
    r = Rota(r.responders, r.training, r.shifts, r.absences, (Rule("sio", "sio", 2, ("jar",), "0-15"),))
    # one person all day, never two: one gap, not split at the overlap
    assert spans(gaps(r, t("2026-06-01 08:00"), t("2026-06-01 20:00"))) == [("01 08:00", "01 20:00", 1)]


def test_training_that_expires_mid_shift_ends_cover_at_local_midnight() -> None:
    r = rota(
        [("a", "2026-06-01 20:00", "2026-06-02 08:00")],
        training=[("a", "jar", date(2020, 1, 1), date(2026, 6, 1))],
    )
    assert spans(gaps(r, t("2026-06-01 20:00"), t("2026-06-02 08:00"))) == [("02 00:00", "02 08:00", 0)]


def test_training_that_starts_mid_shift_begins_cover_at_local_midnight() -> None:
    r = rota(
        [("a", "2026-10-24 20:00", "2026-10-25 08:00")],
        training=[("a", "jar", date(2026, 10, 25), None)],
    )
    assert spans(gaps(r, t("2026-10-24 20:00"), t("2026-10-25 08:00"))) == [("24 20:00", "25 00:00", 0)]


def test_absence_inside_and_across_shifts_cancels_duty() -> None:
    r = rota(
        [("a", "2026-06-01 08:00", "2026-06-01 20:00"), ("a", "2026-06-02 08:00", "2026-06-02 20:00")],
        absences=[
            ("a", "2026-06-01 10:00", "2026-06-01 11:00"),
            ("a", "2026-06-01 19:00", "2026-06-02 09:00"),
        ],
    )
    got = spans(gaps(r, t("2026-06-01 08:00"), t("2026-06-02 20:00")))
    assert got == [("01 10:00", "01 11:00", 0), ("01 19:00", "02 09:00", 0)]


def test_inactive_responders_do_not_count() -> None:
    r = rota([("a", "2026-06-01 08:00", "2026-06-01 20:00")], active={"a": False})
    assert spans(gaps(r, t("2026-06-01 08:00"), t("2026-06-01 20:00"))) == [("01 08:00", "01 20:00", 0)]


def test_gaps_split_where_the_count_changes() -> None:
    r = rota([("a", "2026-06-01 10:00", "2026-06-01 12:00")])
    r = Rota(r.responders, r.training, r.shifts, r.absences, (Rule("sio", "sio", 2, ("jar",), "0-15"),))
    got = spans(gaps(r, t("2026-06-01 08:00"), t("2026-06-01 14:00")))
    assert got == [("01 08:00", "01 10:00", 0), ("01 10:00", "01 12:00", 1), ("01 12:00", "01 14:00", 0)]


def test_windows_follow_the_wall_clock_across_both_clock_changes() -> None:
    nights = Rule("sio-nights", "sio", 1, ("jar",), "0-15", (parse_window("Sat 22:00-06:00"),))
    empty = rota([], active={"a": True})
    for saturday, hours in ((date(2026, 3, 28), 7), (date(2026, 10, 24), 9)):
        start = datetime(saturday.year, saturday.month, saturday.day, tzinfo=UTC)
        found = gaps(empty, start, t(f"{saturday:%Y-%m}-{saturday.day + 2} 00:00"), rules=[nights])
        assert found["minutes"].to_list() == [hours * 60]
        assert found["start"][0].astimezone(SERVICE_TZ).strftime("%H:%M") == "22:00"
        assert found["end"][0].astimezone(SERVICE_TZ).strftime("%H:%M") == "06:00"


def test_real_local_hours_on_clock_change_days() -> None:
    assert len(hour_starts(t("2026-03-29 00:00"), t("2026-03-30 00:00"))) == 23
    assert len(hour_starts(t("2026-10-25 00:00"), t("2026-10-26 00:00"))) == 25
    assert len(hour_starts(t("2027-03-28 00:00"), t("2027-03-29 00:00"))) == 23
    assert len(hour_starts(t("2027-10-31 00:00"), t("2027-11-01 00:00"))) == 25
    assert len(hour_starts(t("2026-06-01 00:00"), t("2026-06-02 00:00"))) == 24


def test_hourly_grid_takes_the_minimum_over_the_hour() -> None:
    r = rota([("a", "2026-06-01 08:00", "2026-06-01 10:20"), ("b", "2026-06-01 09:00", "2026-06-01 12:00")])
    grid = coverage(r, t("2026-06-01 08:00"), t("2026-06-01 12:00"))
    rows = [(x["available"], x["gap_minutes"]) for x in grid.iter_rows(named=True)]
    assert rows == [(1, 0.0), (2, 0.0), (1, 0.0), (1, 0.0)]
    empty = coverage(rota([], active={"a": True}), t("2026-06-01 08:00"), t("2026-06-01 09:30"))
    assert [(x["available"], x["gap_minutes"]) for x in empty.iter_rows(named=True)] == [(0, 60.0), (0, 30.0)]
