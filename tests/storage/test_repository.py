"""Loading and importing the rota, and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from rota.errors import InputError
from rota.model import Rota, conform
from rota.rules import DEFAULT_ROLES, make_rule
from rota.storage.audit import audit_entries, record_audit
from rota.storage.db import write_transaction
from rota.storage.imports import import_rota
from rota.storage.models import ABSENCE, AUDIT_LOG, RESPONDER, SHIFT, Shift
from rota.storage.people import stored_responders
from rota.storage.rota import load_rota, reset_rota
from tests.storage.conftest import sample_rota, utc


def by_key(rota: Rota) -> dict[str, pl.DataFrame]:
    return {
        "responders": rota.responders.sort("responder_id"),
        "training": rota.training.sort("responder_id", "competency", "valid_from"),
        "shifts": rota.shifts.sort("shift_id"),
        "absences": rota.absences.sort("responder_id", "start"),
    }


def table_dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, for 'the database is exactly as before' checks."""
    names = ["responder", "training", "shift", "absence", "coverage_rule", "role", "audit_log"]
    with engine.connect() as conn:
        return {
            n: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {n}")).all()), key=repr) for n in names
        }


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AUDIT_LOG)).scalar_one())


# ------------------------------------------------------------------------------------------- round trip


def test_import_then_load_round_trips_the_frames_exactly(engine: Engine) -> None:
    rota = sample_rota()
    summary = import_rota(engine, rota, actor="tester")
    assert summary["responders"].created == 4
    assert summary["training"].created == 5
    assert summary["shifts"].created == 5
    assert summary["absences"].created == 2
    assert summary["rules"].created == 2
    assert summary["roles"].created == 1
    loaded = load_rota(engine)
    for kind, frame in by_key(loaded).items():
        assert_frame_equal(frame, by_key(rota)[kind])
    assert loaded.rules == rota.rules
    assert loaded.roles == (*DEFAULT_ROLES, "nurse")


def test_instants_on_clock_change_days_come_back_as_the_same_utc_instants(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    shifts = load_rota(engine).shifts
    assert shifts.schema["start"] == pl.Datetime("us", "UTC")
    got = dict(zip(shifts["shift_id"], shifts["end"], strict=True))
    assert got["s-spring-1"] == datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)
    assert got["s-autumn-1"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    starts = dict(zip(shifts["shift_id"], shifts["start"], strict=True))
    assert starts["s-autumn-2"] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT, not 01:30 BST


def test_load_with_a_range_keeps_only_overlapping_shifts_and_absences(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    rota = load_rota(engine, utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1))
    assert rota.shifts["shift_id"].to_list() == ["s-spring-1"]  # s-spring-2 starts exactly at the end
    assert rota.absences["responder_id"].to_list() == ["P1"]
    assert rota.responders.height == 4 and rota.training.height == 5
    assert load_rota(engine, start=utc(2026, 10, 25, 9)).shifts.height == 0
    assert load_rota(engine, end=utc(2026, 3, 29, 1)).shifts.height == 1


def test_an_empty_database_loads_as_an_empty_rota_with_default_rules(engine: Engine) -> None:
    rota = load_rota(engine)
    assert rota.rules == () and rota.roles == DEFAULT_ROLES
    for kind, frame in by_key(rota).items():
        assert frame.height == 0, kind
        assert frame.schema == Rota().conformed().__getattribute__(kind).schema
    assert [r.id for r in rota.effective_rules()][:2] == ["paediatrician", "paediatrician-16-17"]


def test_stored_rules_keep_their_order_and_are_replaced_by_a_new_set(engine: Engine) -> None:
    rota = sample_rota()
    import_rota(engine, rota, actor="tester")
    new_rules = (
        make_rule(
            {
                "id": "paed-1617",
                "role": "paediatrician",
                "min_count": 2,
                "competencies": ["jar"],
                "age_band": "16-17",
            }
        ),
        make_rule({"id": "amb", "role": "ambulance", "age_band": "0-17", "windows": ["17:00-09:00"]}),
    )
    summary = import_rota(engine, Rota(rules=new_rules), actor="tester")
    assert (summary["rules"].created, summary["rules"].updated, summary["rules"].deleted) == (1, 1, 1)
    assert load_rota(engine).rules == new_rules
    # A rota without rules leaves the stored ones alone.
    assert import_rota(engine, Rota(), actor="tester").changes == 0
    assert load_rota(engine).rules == new_rules


def test_stored_responders_for_the_bundle_reader(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    known = stored_responders(engine)
    assert known.columns == ["responder_id", "role", "agency", "active"]
    assert known.row(by_predicate=pl.col("responder_id") == "S1") == ("S1", "sio", "Police", False)


# ------------------------------------------------------------------------------------------- upserts


def test_upsert_updates_changed_rows_and_counts_them(engine: Engine) -> None:
    rota = sample_rota()
    import_rota(engine, rota, actor="tester")
    edited = replace(
        rota,
        responders=rota.responders.with_columns(
            pl.when(pl.col("responder_id") == "P2")
            .then(pl.lit("p2@example.org"))
            .otherwise("email")
            .alias("email")
        ),
        training=rota.training.with_columns(
            pl.when(pl.col("responder_id") == "A1")
            .then(date(2027, 3, 28))
            .otherwise("valid_until")
            .alias("valid_until")
        ),
        shifts=pl.concat(
            [
                rota.shifts.with_columns(
                    pl.when(pl.col("shift_id") == "s-plain")
                    .then(pl.lit("oncall"))
                    .otherwise("kind")
                    .alias("kind")
                ),
                conform(
                    "shifts",
                    pl.DataFrame(
                        {
                            "shift_id": [None, "  "],
                            "responder_id": ["P2", "P2"],
                            "start": [utc(2026, 7, 1, 8), utc(2026, 7, 2, 8)],
                            "end": [utc(2026, 7, 1, 20), utc(2026, 7, 2, 20)],
                        }
                    ),
                ),
            ]
        ),
        absences=rota.absences.with_columns(pl.lit("sick").alias("reason")),
    )
    summary = import_rota(engine, edited, actor="editor")
    assert (summary["responders"].updated, summary["responders"].unchanged) == (1, 3)
    assert (summary["training"].updated, summary["training"].unchanged) == (1, 4)
    assert (summary["shifts"].created, summary["shifts"].updated, summary["shifts"].unchanged) == (2, 1, 4)
    assert (summary["absences"].updated, summary["absences"].unchanged) == (2, 0)
    assert "shifts: 2 created, 1 updated" in str(summary)

    loaded = load_rota(engine)
    new = loaded.shifts.filter(pl.col("responder_id") == "P2", pl.col("start").dt.month() == 7)
    assert new.height == 2 and new["shift_id"].n_unique() == 2
    assert all(len(s) == 32 and int(s, 16) >= 0 for s in new["shift_id"])
    assert new["kind"].to_list() == ["oncall", "oncall"]  # the default kind
    assert loaded.absences["reason"].to_list() == ["sick", "sick"]

    with engine.connect() as conn:
        versions = dict(conn.execute(select(RESPONDER.c.responder_id, RESPONDER.c.version)).all())
        assert versions == {"P1": 1, "P2": 2, "S1": 1, "A1": 1}
        assert conn.execute(select(SHIFT.c.version).where(SHIFT.c.shift_id == "s-plain")).scalar() == 2

    entries = audit_entries(engine, actor="editor")
    changes = entries.filter(pl.col("entity") != "rota")
    assert sorted(changes["action"].unique()) == ["create", "update"]
    assert changes.height == 1 + 1 + 3 + 2  # responders, training, shifts (2 new + 1), absences
    p2 = changes.filter(pl.col("entity") == "responder").row(0, named=True)
    assert p2["entity_id"] == "P2"
    assert json.loads(p2["before"])["email"] is None
    assert json.loads(p2["after"])["email"] == "p2@example.org"
    plain = changes.filter(pl.col("entity_id") == "s-plain").row(0, named=True)
    assert json.loads(plain["before"]) == {
        "shift_id": "s-plain",
        "responder_id": "P1",
        "start": "2026-06-01T08:00:00+00:00",
        "end": "2026-06-01T17:30:15+00:00",
        "kind": "onsite",
    }
    assert json.loads(plain["after"])["kind"] == "oncall"
    training = changes.filter(pl.col("entity") == "training").row(0, named=True)
    assert training["entity_id"] == "A1/jar/2020-01-01"
    summary_row = entries.filter(pl.col("entity") == "rota").row(0, named=True)
    assert summary_row["action"] == "import"
    assert json.loads(summary_row["after"])["summary"]["shifts"]["created"] == 2


def test_importing_the_same_rota_again_changes_nothing_and_writes_no_audit(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    before = table_dump(engine)
    summary = import_rota(engine, sample_rota(), actor="tester")
    assert summary.changes == 0
    assert str(summary) == "nothing changed"
    assert summary["shifts"].unchanged == 5 and summary["responders"].unchanged == 4
    assert table_dump(engine) == before  # not even version or updated_at moved, no audit rows
    # Also after a load: what comes out goes back in unchanged.
    assert import_rota(engine, load_rota(engine), actor="tester").changes == 0


def test_every_created_row_is_audited_once(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    entries = audit_entries(engine, limit=None)
    assert entries.schema["at"] == pl.Datetime("us", "UTC")
    counts = dict(entries.group_by("entity").len().iter_rows())
    assert counts == {
        "responder": 4,
        "training": 5,
        "shift": 5,
        "absence": 2,
        "coverage_rule": 2,
        "role": 1,
        "rota": 1,
    }
    assert set(entries["actor"]) == {"tester"}
    assert entries.filter(pl.col("entity") != "rota")["before"].null_count() == entries.height - 1
    assert audit_entries(engine, limit=3).height == 3
    assert audit_entries(engine, entity="absence").height == 2
    assert audit_entries(engine, actor="nobody").height == 0
    absence_ids = set(audit_entries(engine, entity="absence")["entity_id"])
    assert "P1/2026-03-29T00:30:00+00:00/2026-03-29T01:30:00+00:00" in absence_ids


def test_kinds_limit_what_is_imported(engine: Engine) -> None:
    rota = sample_rota()
    summary = import_rota(engine, rota, actor="tester", kinds={"responders"})
    assert summary["responders"].created == 4 and summary.changes == 4
    loaded = load_rota(engine)
    assert loaded.shifts.height == 0 and loaded.rules == () and loaded.roles == DEFAULT_ROLES
    summary = import_rota(engine, rota, actor="tester", kinds={"shifts"})
    assert summary.changes == 5 and load_rota(engine).shifts.height == 5
    with pytest.raises(InputError, match="unknown kind"):
        import_rota(engine, rota, actor="tester", kinds={"cases"})


# ------------------------------------------------------------------------------------------- replace


def test_replace_removes_stored_shifts_and_absences_of_the_files_responders_in_its_span(
    engine: Engine,
) -> None:
    base = sample_rota()
    extra = conform(
        "shifts",
        pl.DataFrame(
            {
                "shift_id": ["p1-before", "p1-inside", "p1-after", "p2-inside"],
                "responder_id": ["P1", "P1", "P1", "P2"],
                "start": [utc(2026, 5, 1, 8), utc(2026, 6, 3, 8), utc(2026, 8, 1, 8), utc(2026, 6, 3, 8)],
                "end": [utc(2026, 5, 1, 20), utc(2026, 6, 3, 20), utc(2026, 8, 1, 20), utc(2026, 6, 3, 20)],
            }
        ),
    )
    import_rota(engine, replace(base, shifts=pl.concat([base.shifts, extra])), actor="tester")
    # The new file: P1 only, 1 June 00:00 to 1 July 00:00, one shift kept by id, one id-less shift.
    file = Rota(
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": ["s-plain", None],
                    "responder_id": ["P1", "P1"],
                    "start": [utc(2026, 6, 1, 0), utc(2026, 6, 10, 8)],
                    "end": [utc(2026, 6, 1, 12), utc(2026, 7, 1, 0)],
                }
            ),
        ),
        absences=conform(
            "absences",
            pl.DataFrame(
                {
                    "responder_id": ["P1"],
                    "start": [utc(2026, 6, 20)],
                    "end": [utc(2026, 6, 21)],
                    "reason": ["leave"],
                }
            ),
        ),
    )
    summary = import_rota(engine, file, actor="replacer", replace=True)
    assert (summary["shifts"].created, summary["shifts"].updated, summary["shifts"].deleted) == (1, 1, 1)
    assert (summary["absences"].created, summary["absences"].deleted) == (1, 0)
    ids = set(load_rota(engine).shifts["shift_id"])
    assert "p1-inside" not in ids  # P1, inside the span, not in the file: removed
    assert {"p1-before", "p1-after", "p2-inside", "s-plain", "s-spring-1"} <= ids  # outside span or not P1
    deleted = audit_entries(engine, actor="replacer").filter(pl.col("action") == "delete")
    assert deleted["entity_id"].to_list() == ["p1-inside"]
    assert json.loads(deleted["before"][0])["start"] == "2026-06-03T08:00:00+00:00"
    assert deleted["after"][0] is None


def test_replace_with_the_same_id_less_file_keeps_ids_and_changes_nothing(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    stored = load_rota(engine)
    id_less = Rota(
        shifts=stored.shifts.with_columns(pl.lit(None, pl.String()).alias("shift_id")),
        absences=stored.absences,
    )
    summary = import_rota(engine, id_less, actor="tester", replace=True)
    assert summary.changes == 0
    assert_frame_equal(load_rota(engine).shifts, stored.shifts)


def test_replace_removes_absences_in_the_span_that_the_file_no_longer_has(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    file = Rota(
        absences=conform(
            "absences",
            pl.DataFrame(
                {
                    "responder_id": ["P1"],
                    "start": [utc(2026, 3, 29, 0)],
                    "end": [utc(2026, 3, 29, 1)],
                }
            ),
        )
    )  # its span [00:00, 01:00) holds the start (00:30) of P1's stored absence
    summary = import_rota(engine, file, actor="tester", replace=True)
    assert (summary["absences"].created, summary["absences"].deleted) == (1, 1)
    assert summary["shifts"].deleted == 0  # P1's shift starts before the file's span
    absences = load_rota(engine).absences
    assert absences.sort("responder_id")["end"].to_list() == [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1, 30)]


# ------------------------------------------------------------------------------------------- atomicity


def test_a_row_the_database_refuses_leaves_everything_as_it_was(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    before = table_dump(engine)
    rota = sample_rota()
    n = 1_000
    starts = [utc(2027, 1, 1) + timedelta(hours=i) for i in range(n)]
    shifts = conform(
        "shifts",
        pl.DataFrame(
            {
                "shift_id": [f"bulk-{i}" for i in range(n)],
                "responder_id": ["P1"] * n,
                "start": starts,
                # The very last row ends before it starts (forced past the bundle reader's checks).
                "end": [s + timedelta(hours=1) for s in starts[:-1]] + [starts[-1] - timedelta(minutes=1)],
            }
        ),
    )
    bad = replace(
        rota,
        responders=rota.responders.with_columns(pl.lit("Renamed").alias("name")),
        shifts=pl.concat([rota.shifts, shifts]),
    )
    with pytest.raises(InputError, match="nothing was stored") as err:
        import_rota(engine, bad, actor="tester")
    assert "end not after its start" in str(err.value)
    assert table_dump(engine) == before


def test_a_shift_for_an_unknown_responder_is_refused_and_nothing_is_stored(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    before = table_dump(engine)
    rota = sample_rota()
    ghost = conform(
        "shifts",
        pl.DataFrame(
            {
                "shift_id": ["ghost"],
                "responder_id": ["NOBODY"],
                "start": [utc(2026, 9, 1)],
                "end": [utc(2026, 9, 2)],
            }
        ),
    )
    with pytest.raises(InputError, match="unknown responder 'NOBODY'"):
        import_rota(engine, replace(rota, shifts=pl.concat([rota.shifts, ghost])), actor="tester")
    assert table_dump(engine) == before


def test_duplicate_keys_in_the_import_are_refused(engine: Engine) -> None:
    rota = sample_rota()
    doubled = replace(
        rota,
        shifts=pl.concat([rota.shifts, rota.shifts.head(1)]),
        training=pl.concat([rota.training, rota.training.tail(1)]),
    )
    with pytest.raises(InputError) as err:
        import_rota(engine, doubled, actor="tester")
    text_ = str(err.value)
    assert "shift_id=s-spring-1 appears more than once" in text_
    assert "responder_id=A1, competency=jar, valid_from=2020-01-01 appears more than once" in text_
    assert table_dump(engine)["responder"] == []


def test_the_database_itself_enforces_foreign_keys(engine: Engine) -> None:
    with pytest.raises(DBAPIError), write_transaction(engine) as conn:
        conn.execute(
            insert(SHIFT).values(
                shift_id="x",
                responder_id="NOBODY",
                start=utc(2026, 1, 1),
                end=utc(2026, 1, 2),
                kind="oncall",
                version=1,
            )
        )


def test_import_needs_an_actor(engine: Engine) -> None:
    with pytest.raises(ValueError, match="actor"):
        import_rota(engine, sample_rota(), actor=" ")


# ------------------------------------------------------------------------------------------- audit log


def test_the_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    n = audit_count(engine)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)"))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    assert audit_count(engine) == n
    assert set(audit_entries(engine, limit=None)["actor"]) == {"tester"}


def test_record_audit_with_a_connection_and_with_a_session(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        record_audit(
            conn,
            "alice",
            "update",
            "shift",
            "s1",
            {"kind": "oncall", "start": utc(2026, 3, 29, 1)},
            {"kind": "onsite", "start": utc(2026, 3, 29, 1)},
        )
    with Session(engine) as session:
        record_audit(
            session,
            "bob",
            "delete",
            "training",
            "P1/jar/2025-01-01",
            {"valid_until": date(2027, 12, 31)},
            None,
        )
        session.commit()
    rows = audit_entries(engine)
    assert rows["actor"].to_list() == ["bob", "alice"]
    assert json.loads(rows["before"][1]) == {"kind": "oncall", "start": "2026-03-29T01:00:00+00:00"}
    assert json.loads(rows["before"][0]) == {"valid_until": "2027-12-31"}
    assert rows["after"][0] is None
    with pytest.raises(ValueError, match="audit action"), write_transaction(engine) as conn:
        record_audit(conn, "x", "edit", "shift", "s1", None, None)


def test_reset_removes_the_rota_and_audits_every_row(engine: Engine) -> None:
    import_rota(engine, sample_rota(), actor="tester")
    n = audit_count(engine)
    summary = reset_rota(engine, actor="demo")
    assert summary["shifts"].deleted == 5 and summary["responders"].deleted == 4
    assert summary["rules"].deleted == 2 and summary["roles"].deleted == 1
    loaded = load_rota(engine)
    assert loaded.responders.height == 0 and loaded.rules == () and loaded.roles == DEFAULT_ROLES
    assert audit_count(engine) == n + 4 + 5 + 5 + 2 + 2 + 1 + 1
    assert reset_rota(engine, actor="demo").changes == 0


# ------------------------------------------------------------------------------------------- storage format


def test_bulk_writes_store_instants_exactly_as_the_orm_does(engine: Engine) -> None:
    """The fast path formats instants itself; comparisons with ORM-bound values must still be right."""
    import_rota(engine, sample_rota(), actor="tester")
    with Session(engine) as session:
        session.add(
            Shift(
                shift_id="orm",
                responder_id="P1",
                start=utc(2026, 10, 25, 1, 30),
                end=datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
            )
        )
        session.commit()
        got = session.get(Shift, "s-autumn-2")
        assert got is not None and got.start == utc(2026, 10, 25, 1, 30) and got.start.tzinfo is not None
    with engine.connect() as conn:
        raw: dict[str, str] = dict(
            conn.execute(text("SELECT shift_id, CAST(start AS TEXT) FROM shift")).all()
        )
        assert raw["orm"] == raw["s-autumn-2"]
        same = conn.execute(
            select(SHIFT.c.shift_id).where(SHIFT.c.start == utc(2026, 10, 25, 1, 30))
        ).scalars()
        assert sorted(same) == ["orm", "s-autumn-2"]
        later = conn.execute(
            select(func.count()).select_from(ABSENCE).where(ABSENCE.c.end > utc(2026, 3, 29, 1))
        )
        assert later.scalar() == 2


def test_a_large_import_uses_chunked_lookups_correctly(engine: Engine) -> None:
    rota = sample_rota()
    import_rota(engine, rota, actor="tester")
    n = 12_345  # more than two chunks of keys
    starts = [utc(2027, 1, 1) + timedelta(minutes=30 * i) for i in range(n)]
    shifts = conform(
        "shifts",
        pl.DataFrame(
            {
                "shift_id": [f"k{i:05d}" for i in range(n)],
                "responder_id": ["P1", "P2", "S1"] * (n // 3),
                "start": starts,
                "end": [s + timedelta(hours=8) for s in starts],
            }
        ),
    )
    assert import_rota(engine, Rota(shifts=shifts), actor="bulk")["shifts"].created == n
    again = import_rota(
        engine,
        Rota(
            shifts=shifts.with_columns(
                pl.when(pl.col("shift_id") == "k12000").then(pl.lit("onsite")).otherwise("kind").alias("kind")
            )
        ),
        actor="bulk",
    )
    assert (again["shifts"].updated, again["shifts"].unchanged) == (1, n - 1)
    assert audit_entries(engine, actor="bulk", limit=None).height == n + 1 + 2
