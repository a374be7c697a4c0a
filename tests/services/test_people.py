"""Responders and training: the list, expiry bands, the cover a lapse removes, and agency-scoped edits with
audit and optimistic locking, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine, text

from rota.errors import ConflictError, InputError, PermissionDenied
from rota.model import Rota, conform
from rota.rules import make_rule
from rota.services.access import Actor
from rota.services.people import (
    ResponderFilters,
    add_training,
    coverage_removed,
    expiries_for,
    lapse_warnings,
    renew_training,
    responder_list,
    set_responder_active,
    training_expiries,
    upcoming_lapses,
    update_training,
    validity_spells,
)
from rota.storage.audit import audit_entries
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.people import responder_rows, training_rows

TODAY = date(2027, 1, 1)
POLICE = "Vale Police"
HOSPITAL = "Vale Hospitals"
AMBULANCE = "Vale Ambulance"

ADMIN = Actor("ada", "admin")
MANAGER = Actor("max", "cdop_manager")
POLICE_COORD = Actor("pat", "coordinator", POLICE)
HOSPITAL_COORD = Actor("hal", "coordinator", HOSPITAL)
COMMISSIONER = Actor("cal", "commissioner")


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)  # January: local time is UTC


def hand_rota() -> Rota:
    """S1's JAR lapses on 12/01/2027 while S1 is rostered for three 12-hour days (36 h) with no other
    qualified SIO, except S2 (JAR, no 16-17 briefing) for 12:00-15:00 on the 13th. So sio-16-17 loses 36 h
    in 3 gaps, and SIO 0-15 loses 33 h in 4 (the 13th splits around S2)."""
    responders = pl.DataFrame(
        {
            "responder_id": ["S1", "S2", "P1", "P2", "P3", "P4", "A1", "A2", "A3", "A4"],
            "name": [
                "DI Ada Testwood",
                "DS Bo Sampleford",
                "Dr Cal Mockfield",
                "Dr Dev Demoridge",
                "Dr Eden Exampleton",
                "Dr Finn Dummyley",
                "Gus Fictonworth",
                "Hana Testham",
                "Iris Sampleshaw",
                "Jo Mockwell",
            ],
            "role": ["sio", "sio"] + ["paediatrician"] * 4 + ["ambulance"] * 4,
            "agency": [POLICE, POLICE] + [HOSPITAL] * 4 + [AMBULANCE] * 4,
            "active": [True, True, True, True, True, False, True, True, True, True],
        }
    )
    rows = [
        ("S1", "jar", date(2024, 1, 12), date(2027, 1, 11)),
        ("S1", "jar-16-17", date(2025, 1, 1), None),
        ("S2", "jar", date(2025, 6, 1), date(2028, 5, 31)),
        ("P1", "jar", date(2024, 2, 1), date(2027, 1, 31)),  # lapses 01/02: 31 days
        ("P2", "jar", date(2024, 1, 31), date(2027, 1, 30)),  # lapses 31/01: 30 days
        ("P3", "jar", date(2024, 1, 12), date(2027, 1, 11)),  # renewed before it ran out: no lapse
        ("P3", "jar", date(2027, 1, 5), date(2030, 1, 4)),
        ("P4", "jar", date(2024, 1, 5), date(2027, 1, 4)),  # inactive: not warned about
        ("A1", "jar", date(2024, 4, 1), date(2027, 3, 31)),  # lapses 01/04: 90 days
        ("A2", "jar", date(2024, 4, 2), date(2027, 4, 1)),  # 91 days: beyond the horizon
        ("A3", "jar", date(2024, 1, 1), date(2026, 12, 31)),  # lapsed today: already gone
        ("A4", "jar", date(2024, 1, 2), date(2027, 1, 1)),  # valid today, lapses tomorrow
    ]
    training = pl.DataFrame(
        rows, schema=["responder_id", "competency", "valid_from", "valid_until"], orient="row"
    )
    shifts = pl.DataFrame(
        {
            "shift_id": ["x1", "x2", "x3", "x4", "x0"],
            "responder_id": ["S1", "S1", "S1", "S2", "S1"],
            "start": [
                utc(2027, 1, 12, 9),
                utc(2027, 1, 13, 9),
                utc(2027, 1, 20, 9),
                utc(2027, 1, 13, 12),
                utc(2027, 1, 10, 9),
            ],
            "end": [
                utc(2027, 1, 12, 21),
                utc(2027, 1, 13, 21),
                utc(2027, 1, 20, 21),
                utc(2027, 1, 13, 15),
                utc(2027, 1, 10, 21),
            ],
            "kind": ["oncall"] * 5,
        }
    )
    rules = (
        make_rule({"id": "sio", "role": "sio", "competencies": ["jar"], "age_band": "0-15"}),
        make_rule(
            {"id": "sio-16-17", "role": "sio", "competencies": ["jar", "jar-16-17"], "age_band": "16-17"}
        ),
        make_rule(
            {"id": "paediatrician", "role": "paediatrician", "competencies": ["jar"], "age_band": "0-15"}
        ),
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training),
        shifts=conform("shifts", shifts),
        rules=rules,
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, hand_rota(), actor="setup")
    try:
        yield eng
    finally:
        eng.dispose()


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            n: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {n}")).all()), key=repr)
            for n in ("responder", "training", "audit_log")
        }


def version_of(engine: Engine, rid: str) -> int:
    return int(responder_rows(engine).filter(pl.col("responder_id") == rid)["version"][0])


def training_of(engine: Engine, rid: str, competency: str = "jar") -> dict[str, object]:
    rows = training_rows(engine, rid).filter(pl.col("competency") == competency).sort("valid_from")
    return rows.row(-1, named=True)


# ---------------------------------------------------------------------------------------------- pure


def test_validity_spells_join_renewals_and_keep_breaks() -> None:
    t = conform(
        "training",
        pl.DataFrame(
            {
                "responder_id": ["a", "a", "a", "b"],
                "competency": ["jar"] * 4,
                "valid_from": [date(2020, 1, 1), date(2022, 12, 1), date(2026, 1, 1), date(2020, 1, 1)],
                "valid_until": [date(2022, 12, 31), date(2025, 11, 30), None, date(2020, 12, 31)],
            }
        ),
    )
    spells = validity_spells(t)
    assert spells.rows() == [
        ("a", "jar", date(2020, 1, 1), date(2025, 11, 30)),
        ("a", "jar", date(2026, 1, 1), None),
        ("b", "jar", date(2020, 1, 1), date(2020, 12, 31)),
    ]


def test_back_to_back_certificates_are_one_spell() -> None:
    t = conform(
        "training",
        pl.DataFrame(
            {
                "responder_id": ["a", "a"],
                "competency": ["jar", "jar"],
                "valid_from": [date(2020, 1, 1), date(2021, 1, 1)],
                "valid_until": [date(2020, 12, 31), date(2021, 6, 30)],
            }
        ),
    )
    assert validity_spells(t).rows() == [("a", "jar", date(2020, 1, 1), date(2021, 6, 30))]


def test_expiry_bands_on_hand_built_dates() -> None:
    lapses = upcoming_lapses(hand_rota(), TODAY)
    got = {(r, c): (str(lapse), days, band) for r, c, _, lapse, days, band in lapses.iter_rows()}
    assert got == {
        ("A4", "jar"): ("2027-01-02", 1, "within 30 days"),
        ("S1", "jar"): ("2027-01-12", 11, "within 30 days"),
        ("P2", "jar"): ("2027-01-31", 30, "within 30 days"),
        ("P1", "jar"): ("2027-02-01", 31, "31-60 days"),
        ("A1", "jar"): ("2027-04-01", 90, "61-90 days"),
    }
    assert lapses["lapse_on"].is_sorted()


def test_coverage_removed_on_a_rota_with_a_known_answer() -> None:
    rota = hand_rota()
    lapses = upcoming_lapses(rota, TODAY)
    lost = coverage_removed(rota, lapses).sort("rule_id")
    assert lost.select("responder_id", "lapse_on", "rule_id", "lost_hours", "gaps_opened").rows() == [
        ("S1", date(2027, 1, 12), "sio", 33.0, 4),
        ("S1", date(2027, 1, 12), "sio-16-17", 36.0, 3),
    ]
    assert set(lost["lapse_lost_hours"]) == {36.0}


def test_expiries_name_the_lapse_the_rules_and_the_hours() -> None:
    df = expiries_for(hand_rota(), MANAGER, TODAY)
    s1 = df.filter(pl.col("responder_id") == "S1").row(0, named=True)
    assert s1["rostered_hours"] == 36.0  # the shift on the 10th is before the lapse
    assert s1["cover_lost_hours"] == 36.0
    assert s1["gaps_opened"] == 7
    assert s1["rules_affected"] == "SIO 16-17, SIO 0-15"
    assert (
        s1["impact"]
        == "SIO 16-17 loses 36 h of cover (opens 3 gaps); SIO 0-15 loses 33 h of cover (opens 4 gaps)"
    )
    assert s1["editable"] is False  # the CDOP manager reads but does not edit the rota
    others = df.filter(pl.col("responder_id") != "S1")
    assert others["cover_lost_hours"].to_list() == [0.0] * others.height
    assert lapse_warnings(df) == [
        "If DI Ada Testwood's jar lapses on 12/01/2027, SIO 16-17 loses 36 h of cover (opens 3 gaps); "
        "SIO 0-15 loses 33 h of cover (opens 4 gaps)."
    ]


def test_a_lapse_outside_the_weeks_looked_at_removes_nothing() -> None:
    df = expiries_for(hand_rota(), ADMIN, TODAY, weeks=1)
    s1 = df.filter(pl.col("responder_id") == "S1").row(0, named=True)
    assert s1["rostered_hours"] == 24.0  # the 20th is more than a week after the lapse
    assert s1["cover_lost_hours"] == 24.0


# ---------------------------------------------------------------------------------------------- reading


def test_training_expiries_from_the_database_match_the_frames(engine: Engine) -> None:
    df = training_expiries(engine, POLICE_COORD, TODAY)
    assert df["responder_id"].to_list() == ["A4", "S1", "P2", "P1", "A1"]
    assert df.filter(pl.col("responder_id") == "S1")["cover_lost_hours"].to_list() == [36.0]
    assert dict(zip(df["responder_id"], df["editable"], strict=True)) == {
        "A4": False,
        "S1": True,
        "P2": False,
        "P1": False,
        "A1": False,
    }


def test_commissioners_are_refused_names(engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        responder_list(engine, COMMISSIONER)
    with pytest.raises(PermissionDenied):
        training_expiries(engine, COMMISSIONER, TODAY)


def test_responder_list_filters(engine: Engine) -> None:
    everyone = responder_list(engine, MANAGER, today=TODAY)
    assert everyone.height == 10
    assert everyone["name"].is_sorted()
    s1 = everyone.filter(pl.col("responder_id") == "S1").row(0, named=True)
    assert s1["competencies"] == "jar, jar-16-17"
    assert s1["next_expiry"] == date(2027, 1, 11)
    a3 = everyone.filter(pl.col("responder_id") == "A3").row(0, named=True)
    assert a3["competencies"] == ""  # lapsed yesterday

    def ids(**kw: object) -> list[str]:
        f = ResponderFilters(**kw)  # type: ignore[arg-type]
        return sorted(responder_list(engine, MANAGER, f, today=TODAY)["responder_id"])

    assert ids(role="sio") == ["S1", "S2"]
    assert ids(agency=HOSPITAL) == ["P1", "P2", "P3", "P4"]
    assert ids(active=False) == ["P4"]
    assert ids(competency="jar-16-17") == ["S1"]
    assert ids(search="MOCK") == ["A4", "P1"]
    assert ids(search="s2") == ["S2"]
    assert ids(role="ambulance", competency="jar") == ["A1", "A2", "A4"]


def test_responder_list_says_what_a_coordinator_may_edit(engine: Engine) -> None:
    df = responder_list(engine, POLICE_COORD, today=TODAY)
    assert sorted(df.filter(pl.col("editable"))["responder_id"]) == ["S1", "S2"]
    assert responder_list(engine, ADMIN, today=TODAY)["editable"].all()


# ---------------------------------------------------------------------------------------------- editing


def test_a_coordinator_renews_their_own_agencys_training_with_audit(engine: Engine) -> None:
    old = training_of(engine, "S1")
    new = renew_training(
        engine, POLICE_COORD, int(old["id"]), int(old["version"]), date(2027, 1, 10), date(2030, 1, 9)
    )
    assert new["valid_from"] == date(2027, 1, 10)
    entry = audit_entries(engine, limit=1).row(0, named=True)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "pat",
        "create",
        "training",
        "S1/jar/2027-01-10",
    )
    assert entry["before"] is None
    assert '"valid_until":"2030-01-09"' in entry["after"]
    # the lapse and its warning are gone
    assert "S1" not in training_expiries(engine, ADMIN, TODAY)["responder_id"].to_list()


def test_a_coordinator_cannot_touch_another_agency(engine: Engine) -> None:
    before = dump(engine)
    p1 = training_of(engine, "P1")
    with pytest.raises(PermissionDenied):
        renew_training(engine, POLICE_COORD, int(p1["id"]), int(p1["version"]), date(2027, 1, 20), None)
    with pytest.raises(PermissionDenied):
        add_training(engine, POLICE_COORD, "P1", "jar-16-17", date(2027, 1, 1))
    with pytest.raises(PermissionDenied):
        update_training(engine, POLICE_COORD, int(p1["id"]), int(p1["version"]), date(2027, 6, 1))
    with pytest.raises(PermissionDenied):
        set_responder_active(engine, POLICE_COORD, "P1", version_of(engine, "P1"), False)
    for reader in (MANAGER, COMMISSIONER):
        with pytest.raises(PermissionDenied):
            set_responder_active(engine, reader, "S1", version_of(engine, "S1"), False)
        with pytest.raises(PermissionDenied):
            add_training(engine, reader, "S1", "jar", date(2027, 1, 2))
    assert dump(engine) == before


def test_deactivating_a_responder_is_audited_and_version_checked(engine: Engine) -> None:
    v = version_of(engine, "P1")
    row = set_responder_active(engine, HOSPITAL_COORD, "P1", v, False)
    assert row["active"] is False and row["version"] == v + 1
    entry = audit_entries(engine, limit=1).row(0, named=True)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "hal",
        "update",
        "responder",
        "P1",
    )
    assert '"active":true' in entry["before"] and '"active":false' in entry["after"]
    # a stale page: the same (old) version again
    before = dump(engine)
    with pytest.raises(ConflictError):
        set_responder_active(engine, HOSPITAL_COORD, "P1", v, True)
    assert dump(engine) == before
    listed = responder_list(engine, ADMIN, ResponderFilters(active=False), today=TODAY)
    assert sorted(listed["responder_id"]) == ["P1", "P4"]
    # an inactive responder's lapse is no longer warned about
    assert "P1" not in training_expiries(engine, ADMIN, TODAY)["responder_id"].to_list()


def test_stale_training_edits_are_refused(engine: Engine) -> None:
    s1 = training_of(engine, "S1")
    update_training(engine, ADMIN, int(s1["id"]), int(s1["version"]), date(2027, 2, 28))
    before = dump(engine)
    with pytest.raises(ConflictError):
        update_training(engine, ADMIN, int(s1["id"]), int(s1["version"]), date(2027, 3, 31))
    with pytest.raises(ConflictError):
        renew_training(engine, ADMIN, int(s1["id"]), int(s1["version"]), date(2027, 2, 1), None)
    assert dump(engine) == before
    entry = audit_entries(engine, limit=1).row(0, named=True)
    assert entry["action"] == "update" and entry["entity_id"] == "S1/jar/2024-01-12"
    assert '"valid_until":"2027-01-11"' in entry["before"] and '"valid_until":"2027-02-28"' in entry["after"]


def test_bad_training_input_is_refused_with_a_message(engine: Engine) -> None:
    before = dump(engine)
    with pytest.raises(InputError, match="before valid from"):
        add_training(engine, ADMIN, "S2", "jar-16-17", date(2027, 1, 5), date(2027, 1, 4))
    with pytest.raises(InputError, match="already has a jar record from 12/01/2024"):
        add_training(engine, ADMIN, "S1", "jar", date(2024, 1, 12))
    with pytest.raises(InputError, match="no responder"):
        add_training(engine, ADMIN, "NOBODY", "jar", date(2027, 1, 5))
    with pytest.raises(InputError, match="competency"):
        add_training(engine, ADMIN, "S2", "  ", date(2027, 1, 5))
    s1 = training_of(engine, "S1")
    with pytest.raises(InputError, match="must start after"):
        renew_training(engine, ADMIN, int(s1["id"]), int(s1["version"]), date(2024, 1, 1), None)
    assert dump(engine) == before


def test_admin_adds_training_anywhere(engine: Engine) -> None:
    row = add_training(engine, ADMIN, "S2", " jar-16-17 ", date(2027, 1, 5))
    assert row["competency"] == "jar-16-17" and row["valid_until"] is None and row["version"] == 1
    listed = responder_list(engine, ADMIN, ResponderFilters(competency="jar-16-17"), today=date(2027, 1, 5))
    assert sorted(listed["responder_id"]) == ["S1", "S2"]
    # S2 now covers sio-16-17 from 12:00 to 15:00 on the 13th too
    s1 = training_expiries(engine, ADMIN, TODAY).filter(pl.col("responder_id") == "S1").row(0, named=True)
    assert (
        s1["impact"]
        == "SIO 0-15 loses 33 h of cover (opens 4 gaps); SIO 16-17 loses 33 h of cover (opens 4 gaps)"
    )
    assert timedelta(hours=s1["cover_lost_hours"]) == timedelta(hours=33)
