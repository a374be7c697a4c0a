"""The next 72 hours (rota/services/outlook.py) on small hand-built rotas, every time worked out by hand.

Spring: from Sat 28/03/2026 09:00 GMT to Tue 31/03/2026 10:00 BST (72 real hours; the clocks go forward
at 01:00 GMT on Sunday 29/03).

- P1 (paediatrician, jar): Sat 09:00 GMT to Mon 09:00 BST (47 real hours).
- S1 (sio, jar and jar-16-17): Sat 09:00 GMT to Sun 09:00 BST (23 real hours); Mon 12:00-13:00 BST.
- S2 (sio, jar only, no phone): Sun 09:00 BST to Tue 10:00 BST.

Rules: `paed` (jar, 0-17), `sio` (jar, 0-15), `sio-16-17` (jar + jar-16-17, 16-17), `sio-16-17-day`
(two of them, 16-17, Mon-Fri 09:00-17:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.model import Rota, conform
from rota.rules import make_rule
from rota.services.access import Actor
from rota.services.outlook import (
    Outlook,
    RoleOutlook,
    build_outlook,
    next_72_hours,
    outlook_for_hour,
    touches_night,
)
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, parse_instant

MANAGER = Actor("manager", "cdop_manager")
COORDINATOR = Actor("coord", "coordinator", agency="Vale Police")
COMMISSIONER = Actor("icb", "commissioner")

PAED = make_rule({"id": "paed", "role": "paediatrician", "competencies": ["jar"], "age_band": "0-17"})
SIO_RULES = (
    make_rule({"id": "sio", "role": "sio", "competencies": ["jar"], "age_band": "0-15"}),
    make_rule({"id": "sio-16-17", "role": "sio", "competencies": ["jar", "jar-16-17"], "age_band": "16-17"}),
    make_rule(
        {
            "id": "sio-16-17-day",
            "role": "sio",
            "min_count": 2,
            "competencies": ["jar", "jar-16-17"],
            "age_band": "16-17",
            "windows": ["Mon-Fri 09:00-17:00"],
        }
    ),
)


def t(text: str) -> datetime:
    return parse_instant(text, SERVICE_TZ)


def make_rota(shifts: list[tuple[str, str, str]], rules: tuple[object, ...] = (PAED, *SIO_RULES)) -> Rota:
    responders = pl.DataFrame(
        {
            "responder_id": ["P1", "S1", "S2"],
            "name": ["Dr Ada Testwood", "DI Bo Mockford", "DS Cal Sampleton"],
            "role": ["paediatrician", "sio", "sio"],
            "agency": ["Vale NHS Trust", "Vale Police", "Vale Police"],
            "email": ["ada@example.org", None, None],
            "phone": ["07700 900111", "07700 900222", None],
            "active": [True, True, True],
        }
    )
    training = pl.DataFrame(
        {
            "responder_id": ["P1", "S1", "S1", "S2"],
            "competency": ["jar", "jar", "jar-16-17", "jar"],
            "valid_from": [date(2025, 1, 1)] * 4,
            "valid_until": [None] * 4,
        }
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [f"sh{i}" for i in range(len(shifts))],
                    "responder_id": [s[0] for s in shifts],
                    "start": [t(s[1]) for s in shifts],
                    "end": [t(s[2]) for s in shifts],
                    "kind": ["oncall"] * len(shifts),
                }
            ),
        ),
        rules=tuple(rules),  # type: ignore[arg-type]
    )


SPRING = [
    ("P1", "2026-03-28T09:00+00:00", "2026-03-30T09:00+01:00"),
    ("S1", "2026-03-28T09:00+00:00", "2026-03-29T09:00+01:00"),
    ("S1", "2026-03-30T12:00+01:00", "2026-03-30T13:00+01:00"),
    ("S2", "2026-03-29T09:00+01:00", "2026-03-31T10:00+01:00"),
]
SPRING_AT = t("2026-03-28T09:00+00:00")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = init_db(f"sqlite:///{tmp_path / 'rota.db'}")
    import_rota(eng, make_rota(SPRING), actor="test", source="test")
    try:
        yield eng
    finally:
        eng.dispose()


def role(outlook: Outlook, name: str) -> RoleOutlook:
    found = [r for r in outlook.roles if r.role == name]
    assert len(found) == 1
    return found[0]


def test_the_window_is_72_real_hours_across_the_spring_clock_change(engine: Engine) -> None:
    out = next_72_hours(engine, MANAGER, SPRING_AT)
    assert out.end - out.start == timedelta(hours=72)
    assert out.end.astimezone(SERVICE_TZ).hour == 10  # 09:00 GMT + 72 h = 10:00 BST
    assert [r.role for r in out.roles] == ["paediatrician", "sio"]
    assert [r.role_label for r in out.roles] == ["Paediatrician", "SIO"]


def test_a_0_17_rule_leaves_both_bands_with_the_same_gap_marked_night(engine: Engine) -> None:
    paed = role(next_72_hours(engine, MANAGER, SPRING_AT), "paediatrician")
    assert [b.band for b in paed.bands] == ["0-15", "16-17"]
    for band in paed.bands:
        assert band.rule_ids == ("paed",) and not band.covered
        (gap,) = band.gaps
        assert (gap.start, gap.end) == (t("2026-03-30T09:00+01:00"), t("2026-03-31T10:00+01:00"))
        assert gap.hours == 25
        assert gap.rules == ("Paediatrician 0-17",)
        assert (gap.night, gap.weekend, gap.bank_holiday) == (True, False, None)
        assert gap.markers == ("night",)


def test_sio_0_15_is_covered_and_16_17_gaps_merge_across_rules_and_splits(engine: Engine) -> None:
    sio = role(next_72_hours(engine, MANAGER, SPRING_AT), "sio")
    young, older = sio.bands
    assert young.rule_ids == ("sio",) and young.covered and young.gaps == ()
    assert older.rule_ids == ("sio-16-17", "sio-16-17-day") and not older.covered
    # sio-16-17 is short from Sun 09:00 BST except Mon 12:00-13:00 BST; sio-16-17-day (two needed) all
    # of Mon 09:00-17:00 BST, split where one is on duty: the union is one gap, earliest first.
    (gap,) = older.gaps
    assert (gap.start, gap.end) == (t("2026-03-29T09:00+01:00"), t("2026-03-31T10:00+01:00"))
    assert gap.rules == (
        "SIO 16-17",
        "SIO 16-17, Mon-Fri 09:00-17:00, 2 needed",
    )
    assert gap.markers == ("night", "weekend")


def test_who_is_on_duty_with_phone_and_the_bands_they_count_for(engine: Engine) -> None:
    out = next_72_hours(engine, COORDINATOR, SPRING_AT)
    assert out.people_shown
    sio = role(out, "sio")
    assert sio.on_duty_count == 2
    rows = [(d.responder_id, d.phone, d.start, d.end - d.start, d.counts_for) for d in sio.duties]
    assert rows == [
        ("S1", "07700 900222", t("2026-03-28T09:00+00:00"), timedelta(hours=23), ("0-15", "16-17")),
        ("S2", None, t("2026-03-29T09:00+01:00"), timedelta(hours=49), ("0-15",)),
        ("S1", "07700 900222", t("2026-03-30T12:00+01:00"), timedelta(hours=1), ("0-15", "16-17")),
    ]
    (paed,) = role(out, "paediatrician").duties
    assert (paed.name, paed.phone, paed.agency) == ("Dr Ada Testwood", "07700 900111", "Vale NHS Trust")
    assert paed.end - paed.start == timedelta(hours=47)


def test_a_commissioner_gets_counts_of_people_on_duty_but_no_names_or_phones(engine: Engine) -> None:
    out = next_72_hours(engine, COMMISSIONER, SPRING_AT)
    assert not out.people_shown
    assert [(r.role, r.on_duty_count, r.duties) for r in out.roles] == [
        ("paediatrician", 1, ()),
        ("sio", 2, ()),
    ]
    assert "07700" not in repr(out) and "Testwood" not in repr(out)
    # the gaps are the same as a manager's
    assert out.gap_count == next_72_hours(engine, MANAGER, SPRING_AT).gap_count == 3


def test_the_instant_must_be_aware(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_72_hours(engine, MANAGER, datetime(2026, 3, 28, 9))  # noqa: DTZ001 - the point of the test


def test_across_the_autumn_clock_change_a_day_has_25_hours() -> None:
    rota = make_rota([("P1", "2026-10-24T12:00+01:00", "2026-10-25T12:00+00:00")], rules=(PAED,))
    at = t("2026-10-24T12:00+01:00")
    out = build_outlook(rota, at, at + timedelta(hours=72), SERVICE_TZ, people=True)
    paed = role(out, "paediatrician")
    (duty,) = paed.duties
    assert duty.end - duty.start == timedelta(hours=25)
    (gap,) = paed.bands[0].gaps
    assert (gap.start, gap.end) == (t("2026-10-25T12:00+00:00"), t("2026-10-27T11:00+00:00"))
    assert gap.end.astimezone(SERVICE_TZ).hour == 11  # 12:00 BST + 72 h = 11:00 GMT
    assert gap.markers == ("night", "weekend")


def test_bank_holidays_are_named_and_weekend_ones_give_way_to_their_substitute_day() -> None:
    rota = make_rota([], rules=(PAED,))
    at = t("2026-12-24T12:00+00:00")  # Thu; Christmas Day is Fri 25/12, Boxing Day Sat 26/12
    (gap,) = (
        role(build_outlook(rota, at, at + timedelta(hours=72), SERVICE_TZ, people=True), "paediatrician")
        .bands[1]
        .gaps
    )
    assert (gap.start, gap.end) == (at, at + timedelta(hours=72))
    assert gap.bank_holiday == "Christmas Day"
    assert gap.markers == ("night", "weekend", "bank holiday (Christmas Day)")
    at = t("2026-12-28T09:00+00:00")  # Mon: Boxing Day's substitute
    (gap,) = (
        role(build_outlook(rota, at, at + timedelta(hours=8), SERVICE_TZ, people=True), "paediatrician")
        .bands[0]
        .gaps
    )
    assert (
        gap.bank_holiday is not None and "Boxing Day" in gap.bank_holiday and "substitute" in gap.bank_holiday
    )
    assert (gap.night, gap.weekend) == (False, False)


@pytest.mark.parametrize(
    ("start", "end", "night"),
    [
        ("2026-03-30T09:00+01:00", "2026-03-30T17:00+01:00", False),
        ("2026-03-30T17:00+01:00", "2026-03-30T18:00+01:00", False),
        ("2026-03-30T17:30+01:00", "2026-03-30T18:30+01:00", True),
        ("2026-03-31T07:00+01:00", "2026-03-31T08:00+01:00", True),
        ("2026-03-31T08:00+01:00", "2026-03-31T09:00+01:00", False),
        ("2026-03-29T01:30+00:00", "2026-03-29T03:30+01:00", True),  # the hour that does not exist
    ],
)
def test_night_is_18_00_to_08_00_local(start: str, end: str, night: bool) -> None:
    assert touches_night(t(start), t(end), SERVICE_TZ) is night
    assert touches_night(t(start).astimezone(UTC), t(end).astimezone(UTC), SERVICE_TZ) is night


AUTUMN = [
    ("P1", "2026-10-24T12:00+01:00", "2026-10-25T12:00+00:00"),
    ("S1", "2026-10-24T18:00+01:00", "2026-10-25T01:30+00:00"),  # ends in the second 01:00 hour
    ("S1", "2026-10-26T08:00+00:00", "2026-10-26T08:25+00:00"),
    ("S2", "2026-10-25T09:00+00:00", "2026-10-27T09:45+00:00"),
]


@pytest.mark.parametrize(
    ("shifts", "hour"),
    [(SPRING, "2026-03-28T08:00+00:00"), (AUTUMN, "2026-10-24T09:00+01:00")],
    ids=["spring", "autumn"],
)
@pytest.mark.parametrize("actor", [MANAGER, COMMISSIONER], ids=["manager", "commissioner"])
def test_the_outlook_of_an_hour_clipped_to_any_minute_is_the_outlook_built_for_that_minute(
    tmp_path: Path, shifts: list[tuple[str, str, str]], hour: str, actor: Actor
) -> None:
    """What the Coverage page caches for an hour (`outlook_for_hour`), cut to a minute, equals the outlook
    built for exactly that minute's 72 hours: gaps cut at both ends with their night / weekend marks for
    the part left, the shifts that overlap, the bands they count for and the people on duty; across both
    clock changes, and with a 16-17 briefing that lapses inside the window."""
    rota = make_rota(shifts)
    lapse = t(hour).astimezone(SERVICE_TZ).date() + timedelta(days=2)
    rota = replace(
        rota,
        training=rota.training.with_columns(
            pl.when(pl.col("competency") == "jar-16-17")
            .then(pl.lit(lapse))
            .otherwise(None)
            .alias("valid_until")
        ),
    )
    eng = init_db(f"sqlite:///{tmp_path / 'rota.db'}")
    try:
        import_rota(eng, rota, actor="test", source="test")
        wide = outlook_for_hour(eng, actor, t(hour) + timedelta(minutes=5))
        assert wide.start == t(hour) and wide.end - wide.start == timedelta(hours=73)
        for minute in (0, 1, 25, 30, 59):
            at = t(hour) + timedelta(minutes=minute)
            exact = build_outlook(
                load_rota(eng, at, at + timedelta(hours=72)),
                at,
                at + timedelta(hours=72),
                SERVICE_TZ,
                people=actor is MANAGER,
            )
            clipped = wide.clip(at)
            assert clipped == exact, minute
            assert [[d.counts_for for d in r.duties] for r in clipped.roles] == [
                [d.counts_for for d in r.duties] for r in exact.roles
            ]
            assert next_72_hours(eng, actor, at) == exact
    finally:
        eng.dispose()
    # a window outside the outlook's own is refused, not guessed
    with pytest.raises(ValueError, match="inside"):
        wide.clip(t(hour) + timedelta(hours=2))


def test_clipping_works_out_marks_and_bands_again_for_the_part_left() -> None:
    """Clipped from a wider outlook: a gap from 07:00 (night) cut at 08:30 touches no night any more,
    and a shift whose 16-17 briefing starts only after the window counts for 0-15 alone."""
    rota = make_rota(
        [
            ("P1", "2026-03-30T09:00+01:00", "2026-03-31T09:00+01:00"),
            ("S1", "2026-04-02T08:00+01:00", "2026-04-03T08:00+01:00"),
        ]
    )
    rota = replace(
        rota,
        training=rota.training.with_columns(
            pl.when(pl.col("competency") == "jar-16-17")
            .then(pl.lit(date(2026, 4, 3)))
            .otherwise(pl.col("valid_from"))
            .alias("valid_from")
        ),
    )
    at = t("2026-03-30T08:30+01:00")  # a Monday
    wide = build_outlook(
        rota, t("2026-03-30T07:00+01:00"), t("2026-04-03T12:00+01:00"), SERVICE_TZ, people=True
    )
    clipped = wide.clip(at)
    exact = build_outlook(rota, at, at + timedelta(hours=72), SERVICE_TZ, people=True)
    assert clipped == exact
    first = role(clipped, "paediatrician").bands[0].gaps[0]
    assert (first.start, first.end, first.markers) == (at, t("2026-03-30T09:00+01:00"), ())
    assert role(wide, "paediatrician").bands[0].gaps[0].markers == ("night",)
    (s1,) = role(clipped, "sio").duties
    assert s1.counts_for == ("0-15",)
    assert role(wide, "sio").duties[0].counts_for == ("0-15", "16-17")


def test_leave_during_a_shift_is_marked_whole_or_in_part_and_only_whole_leave_is_not_on_duty() -> None:
    rota = make_rota(SPRING)
    absences = pl.DataFrame(
        {
            "responder_id": ["P1", "S2"],
            "start": [t("2026-03-28T00:00+00:00"), t("2026-03-30T09:00+01:00")],
            "end": [t("2026-03-31T00:00+01:00"), t("2026-03-30T17:00+01:00")],
            "reason": ["annual leave", "training"],
        }
    )
    rota = replace(rota, absences=conform("absences", absences))
    out = build_outlook(rota, SPRING_AT, SPRING_AT + timedelta(hours=72), SERVICE_TZ, people=True)
    (paed,) = role(out, "paediatrician").duties
    assert (paed.absent, paed.partly_absent) == (True, False)  # leave over the whole shift
    s2 = next(d for d in role(out, "sio").duties if d.responder_id == "S2")
    assert (s2.absent, s2.partly_absent) == (False, True)  # a training day inside a 49-hour shift
    assert role(out, "paediatrician").on_duty_count == 0
    assert role(out, "sio").on_duty_count == 2
