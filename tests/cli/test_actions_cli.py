"""`rota actions add|list|close`: the board's actions from the command line, audited under the --actor name,
in table, CSV (formulas guarded) and JSON; bad input exits 2 with a message and no traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from rota.services.access import ADMIN, Actor
from rota.services.actions import list_actions
from rota.storage.audit import audit_entries
from rota.storage.db import init_db, make_engine

Run = Callable[..., tuple[int, str, str]]
READER = Actor("test", ADMIN)
ADD = ("add", "T", "--owner-agency", "A", "--owner", "O")


@pytest.fixture
def db(db_url: str) -> str:
    """A migrated database (an SQLite file, and PostgreSQL too when ROTA_TEST_POSTGRES_URL is set)."""
    init_db(db_url).dispose()
    return db_url


def test_add_list_and_close(db: str, run: Run) -> None:
    code, out, err = run(
        "--db", db, "actions", "add", "=Recruit two SIOs for nights",
        "--owner-agency", "Vale Police", "--owner", "DCI Kim", "--due", "31/03/2027",
        "--notes", "Night cover 19:00-07:00", "--actor", "ana",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == "Board action 1 added, due 31/03/2027.\n"
    code, out, err = run(
        "--db", db, "actions", "add", "Renew JAR training", "--owner-agency", "Vale NHS Trust",
        "--owner", "Named doctor", "--due", "2027-01-15", "--format", "json", "--actor", "bo",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"id": 2, "status": "open"}

    code, out, _ = run("--db", db, "actions", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["id", "title", "owner", "agency", "owner", "due", "status", "closed", "notes"]
    assert lines[2].split()[:2] == ["2", "Renew"] and "15/01/2027" in lines[2]  # sooner due first, UK dates
    assert "31/03/2027" in lines[3] and "=Recruit two SIOs for nights" in lines[3]

    code, out, err = run("--db", db, "actions", "close", "2", "--notes", "All renewed", "--actor", "root")
    assert (code, out, err) == (0, "Board action 2 closed.\n", "")

    code, out, _ = run("--db", db, "actions", "list", "--format", "json")
    assert [a["id"] for a in json.loads(out)] == [1]  # open ones by default
    code, out, _ = run("--db", db, "actions", "list", "--status", "all", "--format", "json")
    rows = json.loads(out)
    assert [(a["id"], a["status"]) for a in rows] == [(1, "open"), (2, "closed")]
    assert rows[0]["title"] == "=Recruit two SIOs for nights"  # JSON as stored
    assert rows[0]["due"] == "2027-03-31" and rows[1]["closed_at"] is not None
    assert set(rows[0]) == {
        "id",
        "title",
        "owner_agency",
        "owner",
        "due",
        "status",
        "notes",
        "created_at",
        "closed_at",
    }
    code, out, _ = run("--db", db, "actions", "list", "--status", "closed", "--agency", "Vale NHS Trust")
    assert "All renewed" in out and "Recruit" not in out
    code, out, _ = run("--db", db, "actions", "list", "--status", "closed", "--agency", "Vale Police")
    assert out == "No closed board actions for Vale Police.\n"

    code, out, _ = run("--db", db, "actions", "list", "--status", "all", "--format", "csv")
    assert code == 0
    csv_lines = out.splitlines()
    assert csv_lines[0] == "id,title,owner_agency,owner,due,status,notes,created_at,closed_at"
    assert csv_lines[1].startswith("1,'=Recruit two SIOs for nights,Vale Police,DCI Kim,2027-03-31,open,")

    engine = make_engine(db)
    log = audit_entries(engine, entity="board_action")
    stored = list_actions(engine, READER, status="closed")
    engine.dispose()
    assert list(zip(log["actor"], log["action"], log["entity_id"], strict=True)) == [
        ("root", "update", "2"),
        ("bo", "create", "2"),
        ("ana", "create", "1"),
    ]  # newest first
    assert stored["notes"].to_list() == ["All renewed"] and stored["due"].to_list() == [date(2027, 1, 15)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((*ADD, "--due", "31/02/2027"), "--due: '31/02/2027' is not a real date"),
        ((*ADD, "--due", "next week"), "cannot read 'next week' as a date; use YYYY-MM-DD or DD/MM/YYYY"),
        ((*ADD, "--due", "2101-01-01"), "outside the accepted dates"),
        ((*ADD, "--due", "2027-01-01", "--notes", "n" * 501), "notes is 501 characters long"),
        (("add", "x" * 201, *ADD[2:], "--due", "2027-01-01"), "title is 201 characters long; a name"),
        (("add", " ", *ADD[2:], "--due", "2027-01-01"), "title is blank"),
        (("add", "T", "--owner", "O", "--due", "2027-01-01"), "arguments are required: --owner-agency"),
        (("close", "99"), "there is no board action 99"),
        (("close", "abc"), "argument ID: invalid int value: 'abc'"),
        (("list", "--status", "done"), "argument --status: invalid choice: 'done'"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_without_a_traceback(
    db: str, run: Run, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run("--db", db, "actions", *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
    engine = make_engine(db)
    assert list_actions(engine, READER, status=None).height == 0
    engine.dispose()


def test_closing_twice_exits_2(db: str, run: Run) -> None:
    run("--db", db, "actions", "add", "T", "--owner-agency", "A", "--owner", "O", "--due", "2027-01-01")
    assert run("--db", db, "actions", "close", "1")[0] == 0
    code, _, err = run("--db", db, "actions", "close", "1")
    assert code == 2 and "Traceback" not in err
    assert "board action 1 was closed on" in err and "cannot be closed again" in err
