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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.model import Rota, conform
from rota.rules import make_rule
from rota.services.access import Actor
from rota.services.outlook import Outlook, RoleOutlook, build_outlook, next_72_hours, touches_night
from rota.storage.db import init_db
from rota.storage.imports import import_rota
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
