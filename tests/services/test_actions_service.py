"""The board's actions: who may add, change, close and read them, the audit entry of every change, the
input limits, and the quarter's list as it stood at the quarter's end (local days, across the clock
change). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from rota.errors import ConflictError, InputError, PermissionDenied
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, Actor
from rota.services.actions import (
    COLUMNS,
    action_versions,
    actions_for_quarter,
    add_action,
    close_action,
    list_actions,
    update_action,
)
from rota.storage.audit import audit_entries

MANAGER = Actor("ana", CDOP_MANAGER, display_name="Ana Manager")
ROOT = Actor("root", ADMIN)
COMMISSIONER_ACTOR = Actor("cole", COMMISSIONER)
COORDINATOR_ACTOR = Actor("cara", COORDINATOR, "Vale Police")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def add(engine: Engine, title: str = "Recruit two SIOs for nights", **kw: object) -> int:
    """An action added by the CDOP manager; keyword arguments override the example's fields."""
    values: dict[str, object] = {
        "title": title,
        "owner_agency": "Vale Police",
        "owner": "Head of Public Protection",
        "due": date(2027, 3, 31),
        **kw,
    }
    return add_action(engine, MANAGER, **values)  # type: ignore[arg-type]


def board_log(engine: Engine) -> list[dict[str, object]]:
    log = audit_entries(engine, entity="board_action")
    return list(reversed(log.to_dicts()))  # oldest first


def test_add_list_update_close_and_each_change_is_audited(engine: Engine) -> None:
    first = add_action(
        engine,
        MANAGER,
        title="  Recruit two SIOs for nights ",
        owner_agency="Vale Police",
        owner="Head of Public Protection",
        due=date(2027, 3, 31),
        notes="=SUM(A1)",  # stored as written; only CSV output guards it
        now=utc(2026, 12, 1, 9),
    )
    second = add_action(
        engine,
        ROOT,
        title="Renew JAR training for paediatricians",
        owner_agency="Vale NHS Trust",
        owner="Named doctor",
        due=date(2027, 1, 15),
    )
    listed = list_actions(engine, COMMISSIONER_ACTOR)
    assert listed.columns == list(COLUMNS)
    assert listed["id"].to_list() == [second, first]  # both open, sooner due first
    assert listed.row(1, named=True) == {
        "id": first,
        "title": "Recruit two SIOs for nights",
        "owner_agency": "Vale Police",
        "owner": "Head of Public Protection",
        "due": date(2027, 3, 31),
        "status": "open",
        "notes": "=SUM(A1)",
        "created_at": utc(2026, 12, 1, 9),
        "closed_at": None,
    }

    assert update_action(engine, MANAGER, first, owner="DCI Kim", due=date(2027, 4, 30)) is True
    assert update_action(engine, MANAGER, first, owner="DCI Kim") is False  # nothing differs: not written
    close_action(engine, ROOT, second, notes="All four renewed", now=utc(2026, 12, 3, 16, 30))

    assert list_actions(engine, MANAGER, status="open")["id"].to_list() == [first]
    closed = list_actions(engine, MANAGER, status="closed").row(0, named=True)
    assert (closed["id"], closed["status"], closed["notes"]) == (second, "closed", "All four renewed")
    assert closed["closed_at"] == utc(2026, 12, 3, 16, 30)
    assert list_actions(engine, MANAGER, agency="Vale NHS Trust")["id"].to_list() == [second]

    log = board_log(engine)
    assert [(e["actor"], e["action"], e["entity_id"]) for e in log] == [
        ("ana", "create", str(first)),
        ("root", "create", str(second)),
        ("ana", "update", str(first)),
        ("root", "update", str(second)),
    ]
    assert log[0]["before"] is None
    created = json.loads(str(log[0]["after"]))
    assert created["title"] == "Recruit two SIOs for nights" and created["status"] == "open"
    assert created["due"] == "2027-03-31"
    before, after = json.loads(str(log[2]["before"])), json.loads(str(log[2]["after"]))
    assert (before["owner"], after["owner"]) == ("Head of Public Protection", "DCI Kim")
    assert (before["due"], after["due"]) == ("2027-03-31", "2027-04-30")
    shut = json.loads(str(log[3]["after"]))
    assert (shut["status"], shut["closed_by"], shut["closed_at"]) == (
        "closed",
        "root",
        "2026-12-03T16:30:00+00:00",
    )
    assert json.loads(str(log[3]["before"]))["status"] == "open"


@pytest.mark.parametrize(
    "actor", [COMMISSIONER_ACTOR, COORDINATOR_ACTOR], ids=["commissioner", "coordinator"]
)
def test_only_the_manager_and_administrators_write(engine: Engine, actor: Actor) -> None:
    existing = add(engine)
    with pytest.raises(PermissionDenied, match="only the CDOP manager and administrators"):
        add_action(engine, actor, title="T", owner_agency="A", owner="O", due=date(2027, 1, 1))
    with pytest.raises(PermissionDenied):
        update_action(engine, actor, existing, title="Changed")
    with pytest.raises(PermissionDenied):
        close_action(engine, actor, existing)
    still = list_actions(engine, MANAGER)
    assert still["title"].to_list() == ["Recruit two SIOs for nights"]
    assert still["status"].to_list() == ["open"]
    assert len(board_log(engine)) == 1  # the manager's create only


def test_coordinators_do_not_read_the_actions(engine: Engine) -> None:
    add(engine)
    with pytest.raises(PermissionDenied, match="CDOP manager, administrators and commissioners"):
        list_actions(engine, COORDINATOR_ACTOR)
    with pytest.raises(PermissionDenied):
        actions_for_quarter(engine, COORDINATOR_ACTOR, date(2026, 10, 1), date(2026, 12, 31))
    assert list_actions(engine, COMMISSIONER_ACTOR).height == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "   ", "title is blank"),
        ("title", "x" * 201, "title is 201 characters long; a name may be at most 200 characters"),
        ("owner_agency", "", "owner agency is blank"),
        ("owner", "o" * 201, "owner is 201 characters long"),
        ("owner", "Line\nbreak", "owner holds a control character (a line feed)"),
        ("notes", "n" * 501, "notes is 501 characters long; free text may be at most 500 characters"),
        (
            "due",
            date(1899, 12, 31),
            "due date 1899-12-31 is outside the accepted dates (1900-01-01 to 2100-12-31)",
        ),
        ("due", date(2101, 1, 1), "due date 2101-01-01 is outside the accepted dates"),
        ("due", "2027-01-01", "due date '2027-01-01' is not a date"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    engine: Engine, field: str, value: object, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        add(engine, **{field: value})
    assert message in str(caught.value)
    assert str(caught.value).startswith("board action: ")
    assert list_actions(engine, MANAGER).height == 0
    assert board_log(engine) == []


def test_the_limits_themselves_are_accepted(engine: Engine) -> None:
    action_id = add(
        engine,
        title="t" * 200,
        owner_agency="a" * 200,
        owner="o" * 200,
        notes="n" * 500,
        due=date(2100, 12, 31),
    )
    row = list_actions(engine, MANAGER).row(0, named=True)
    assert (row["id"], len(row["title"]), len(row["notes"]), row["due"]) == (
        action_id,
        200,
        500,
        date(2100, 12, 31),
    )


def test_closing_an_unknown_or_closed_action_and_changing_a_closed_one_are_refused(engine: Engine) -> None:
    action_id = add(engine)
    with pytest.raises(InputError, match="there is no board action 999"):
        close_action(engine, MANAGER, 999)
    close_action(engine, MANAGER, action_id, now=utc(2026, 12, 2, 10))
    with pytest.raises(InputError, match=f"board action {action_id} was closed on 02/12/2026"):
        close_action(engine, MANAGER, action_id)
    with pytest.raises(InputError, match="cannot be changed"):
        update_action(engine, MANAGER, action_id, title="Reopened?")
    with pytest.raises(InputError, match="notes is 501 characters"):
        update_action(engine, MANAGER, action_id, notes="n" * 501)
    assert [e["action"] for e in board_log(engine)] == ["create", "update"]


def test_an_edit_of_an_action_changed_since_it_was_read_is_refused(engine: Engine) -> None:
    action_id = add(engine)
    read = action_versions(engine, MANAGER)[action_id]
    assert update_action(engine, ROOT, action_id, notes="Interviews booked", version=read)
    with pytest.raises(ConflictError, match="changed by someone else"):
        update_action(engine, MANAGER, action_id, title="Recruit three SIOs", version=read)
    assert list_actions(engine, MANAGER)["title"].to_list() == ["Recruit two SIOs for nights"]


def test_a_bad_status_filter_is_refused(engine: Engine) -> None:
    with pytest.raises(InputError, match="status 'done' is not one of open, closed"):
        list_actions(engine, MANAGER, status="done")


def test_the_quarter_lists_open_at_its_end_and_closed_within_it_by_local_days(engine: Engine) -> None:
    """Q1 2026 ends at 1 April 00:00 BST (31 March 23:00 UTC), after the clock went forward on 29 March;
    Q2 begins then. An action closed at 23:30 UTC on 31 March was closed in Q2, locally 1 April 00:30."""

    def made(title: str, created: datetime, closed: datetime | None = None) -> int:
        action_id = add(engine, title, now=created, due=date(2026, 6, 30))
        if closed is not None:
            close_action(engine, MANAGER, action_id, now=closed)
        return action_id

    old_closed = made("closed in Q4 2025", utc(2025, 11, 1), utc(2025, 12, 31, 23, 59))
    q1_local_last_minute = made("closed 31/03 23:30 BST", utc(2026, 1, 5), utc(2026, 3, 31, 22, 30))
    q2_local_first_minute = made("closed 01/04 00:30 BST", utc(2026, 1, 5), utc(2026, 3, 31, 23, 30))
    still_open = made("still open", utc(2025, 12, 1))
    made_in_q2 = made("made 01/04 00:10 BST", utc(2026, 3, 31, 23, 10))
    made_in_q1 = made("made 31/03 23:50 BST", utc(2026, 3, 31, 22, 50))
    jan_first = made("closed 01/01 00:00 GMT", utc(2025, 12, 1), utc(2026, 1, 1, 0, 0))

    q1 = actions_for_quarter(engine, COMMISSIONER_ACTOR, date(2026, 1, 1), date(2026, 3, 31))
    assert q1.columns == list(COLUMNS)
    by_id = {r["id"]: r for r in q1.to_dicts()}
    assert set(by_id) == {q1_local_last_minute, q2_local_first_minute, still_open, made_in_q1, jan_first}
    assert old_closed not in by_id and made_in_q2 not in by_id
    # closed after the quarter: shown as it stood at the end of 31 March, open and without a closing time
    assert (by_id[q2_local_first_minute]["status"], by_id[q2_local_first_minute]["closed_at"]) == (
        "open",
        None,
    )
    assert by_id[q1_local_last_minute]["status"] == "closed"
    assert by_id[jan_first]["status"] == "closed"
    assert q1["status"].to_list() == ["open"] * 3 + ["closed"] * 2  # open ones first

    q2 = actions_for_quarter(engine, MANAGER, date(2026, 4, 1), date(2026, 6, 30))
    by_id = {r["id"]: r for r in q2.to_dicts()}
    assert set(by_id) == {q2_local_first_minute, still_open, made_in_q2, made_in_q1}
    assert by_id[q2_local_first_minute]["status"] == "closed"
    assert by_id[q2_local_first_minute]["closed_at"] == utc(2026, 3, 31, 23, 30)

    # the autumn change (25 October 2026) inside Q4 moves nothing at its bounds: 1 October is BST
    autumn = made("closed 30/09 23:30 UTC = 01/10 00:30 BST", utc(2026, 7, 1), utc(2026, 9, 30, 23, 30))
    q3 = actions_for_quarter(engine, MANAGER, date(2026, 7, 1), date(2026, 9, 30))
    q4 = actions_for_quarter(engine, MANAGER, date(2026, 10, 1), date(2026, 12, 31))
    assert q3.filter(q3["id"] == autumn)["status"].to_list() == ["open"]
    assert q4.filter(q4["id"] == autumn)["status"].to_list() == ["closed"]


def test_the_quarter_list_of_one_agency(engine: Engine) -> None:
    police = add(engine, owner_agency="Vale Police", now=utc(2026, 1, 2))
    add(engine, owner_agency="Vale NHS Trust", now=utc(2026, 1, 2))
    found = actions_for_quarter(engine, MANAGER, date(2026, 1, 1), date(2026, 3, 31), agency="Vale Police")
    assert found["id"].to_list() == [police]
    with pytest.raises(InputError, match=r"ends .* before it starts"):
        actions_for_quarter(engine, MANAGER, date(2026, 3, 31), date(2026, 1, 1))
