"""The stored assurance packs: stored whole (bytes back as given), audited without their content, listed
and handed out by role (a commissioner only the commissioners' packs, a coordinator none), and found again
by quarter, audience and agency for the scheduled job. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from rota.errors import InputError, PermissionDenied
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, SYSTEM, Actor
from rota.services.packs import COLUMNS, list_packs, pack_file, store_pack, stored_pack_exists
from rota.storage.audit import audit_entries

MANAGER = Actor("ana", CDOP_MANAGER)
ROOT = Actor("root", ADMIN)
COMMISSIONER_ACTOR = Actor("cole", COMMISSIONER)
COORDINATOR_ACTOR = Actor("cara", COORDINATOR, "Vale Police")
# A PDF-sized file with every byte value in it (NUL, high bytes): what goes in must come back.
CONTENT = b"%PDF-1.7\n" + bytes(range(256)) * 1200 + os.urandom(4096) + b"\n%%EOF\n"


def keep(engine: Engine, audience: str = "commissioner", agency: str | None = None, **kw: object) -> int:
    """A pack stored by the scheduled job; keyword arguments override the example's fields."""
    values: dict[str, object] = {
        "period": "2026-Q3",
        "audience": audience,
        "agency": agency,
        "filename": f"assurance-pack-2026-Q3-{audience}.pdf",
        "content": CONTENT,
        "now": datetime(2026, 10, 8, 6, 0, tzinfo=UTC),
        **kw,
    }
    return store_pack(engine, SYSTEM, **values)  # type: ignore[arg-type]


def test_a_stored_pack_comes_back_byte_for_byte_and_is_audited_without_content(engine: Engine) -> None:
    pack_id = keep(engine)
    assert pack_file(engine, MANAGER, pack_id) == (
        "assurance-pack-2026-Q3-commissioner.pdf",
        "application/pdf",
        CONTENT,
    )
    listed = list_packs(engine, ROOT)
    assert listed.columns == list(COLUMNS) and "content" not in listed.columns
    assert listed.row(0, named=True) == {
        "id": pack_id,
        "period": "2026-Q3",
        "audience": "commissioner",
        "agency": None,
        "created_at": datetime(2026, 10, 8, 6, 0, tzinfo=UTC),
        "created_by": "system",
        "filename": "assurance-pack-2026-Q3-commissioner.pdf",
        "media_type": "application/pdf",
        "size": len(CONTENT),
    }
    log = audit_entries(engine, entity="assurance_pack")
    entries = list(reversed(log.to_dicts()))
    assert [(e["actor"], e["action"], e["entity_id"]) for e in entries] == [
        ("system", "create", str(pack_id)),
        ("ana", "read", str(pack_id)),
    ]
    stored = json.loads(str(entries[0]["after"]))
    assert stored["sha256"] == hashlib.sha256(CONTENT).hexdigest() and stored["size"] == len(CONTENT)
    assert "content" not in stored
    assert all(len(str(e["after"])) < 1000 for e in entries)  # no file in the log


def test_who_sees_which_packs(engine: Engine) -> None:
    for_commissioners = keep(engine, "commissioner")
    for_manager = keep(engine, "manager", filename="manager.pdf")
    police = keep(engine, "commissioner", agency="Vale Police", filename="police.pdf")
    assert set(list_packs(engine, MANAGER)["id"]) == {for_commissioners, for_manager, police}
    assert set(list_packs(engine, ROOT)["id"]) == {for_commissioners, for_manager, police}
    assert set(list_packs(engine, COMMISSIONER_ACTOR)["id"]) == {for_commissioners, police}
    assert pack_file(engine, COMMISSIONER_ACTOR, police)[0] == "police.pdf"
    with pytest.raises(InputError, match=f"there is no assurance pack {for_manager}"):
        pack_file(engine, COMMISSIONER_ACTOR, for_manager)  # as if it did not exist
    with pytest.raises(PermissionDenied):
        list_packs(engine, COORDINATOR_ACTOR)
    with pytest.raises(PermissionDenied):
        pack_file(engine, COORDINATOR_ACTOR, for_commissioners)
    with pytest.raises(InputError, match="there is no assurance pack 999"):
        pack_file(engine, MANAGER, 999)


@pytest.mark.parametrize(
    "actor", [COMMISSIONER_ACTOR, COORDINATOR_ACTOR], ids=["commissioner", "coordinator"]
)
def test_only_the_manager_administrators_and_the_job_store_packs(engine: Engine, actor: Actor) -> None:
    with pytest.raises(PermissionDenied, match="store packs"):
        store_pack(
            engine,
            actor,
            period="2026-Q3",
            audience="commissioner",
            agency=None,
            filename="p.pdf",
            content=CONTENT,
        )
    assert list_packs(engine, MANAGER).height == 0
    assert (
        store_pack(
            engine, MANAGER, period="2026-Q3", audience="manager", agency=None, filename="p.pdf", content=b"x"
        )
        > 0
    )


def test_the_job_finds_a_pack_already_built(engine: Engine) -> None:
    assert not stored_pack_exists(engine, "2026-Q3", "commissioner")
    keep(engine, "commissioner", agency="Vale Police")
    assert not stored_pack_exists(engine, "2026-Q3", "commissioner")  # the partnership's pack is still to do
    assert stored_pack_exists(engine, "2026-Q3", "commissioner", "Vale Police")
    keep(engine, "commissioner")
    assert stored_pack_exists(engine, "2026-Q3", "commissioner")
    assert not stored_pack_exists(engine, "2026-Q3", "manager")
    assert not stored_pack_exists(engine, "2026-Q2", "commissioner")


def test_packs_are_listed_newest_quarter_first(engine: Engine) -> None:
    q2 = keep(engine, period="2026-Q2", now=datetime(2026, 7, 8, tzinfo=UTC))
    q3 = keep(engine, period="2026-Q3", now=datetime(2026, 10, 8, tzinfo=UTC))
    q3_again = keep(engine, period="2026-Q3", now=datetime(2026, 10, 9, tzinfo=UTC))
    assert list_packs(engine, MANAGER)["id"].to_list() == [q3_again, q3, q2]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("period", "2026-Q5", "period '2026-Q5' is not a quarter like 2026-Q3"),
        ("period", "Q3 2026", "is not a quarter"),
        ("period", "3000-Q1", "is not a quarter"),
        ("audience", "public", "audience 'public' is not one of commissioner, manager"),
        ("agency", "a" * 201, "agency is 201 characters long"),
        ("filename", "../../etc/passwd", "is not a plain file name"),
        ("filename", " ", "is not a plain file name"),
        ("media_type", "pdf please", "media type 'pdf please' is not one like application/pdf"),
        ("content", b"", "the pack's file is empty"),
    ],
)
def test_bad_packs_are_refused_and_nothing_is_stored(
    engine: Engine, field: str, value: object, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        keep(engine, **{field: value})
    assert message in str(caught.value)
    assert list_packs(engine, MANAGER).height == 0
    with pytest.raises(InputError, match="is not a quarter"):
        stored_pack_exists(engine, "2026", "manager")
