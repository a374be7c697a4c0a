"""`rota users` and the demo accounts of `rota demo`: passwords from ROTA_PASSWORD or a prompt, never an
argument; bad input exits 2 with a message."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher

from rota.services import auth
from rota.services.access import Actor
from rota.services.demo import DEMO_PASSWORD
from rota.storage.db import make_engine

Run = Callable[..., tuple[int, str, str]]
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        auth.passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.delenv("ROTA_PASSWORD", raising=False)
    monkeypatch.delenv("ROTA_DEMO_PASSWORD", raising=False)
    monkeypatch.setenv("USER", "tester")


@pytest.fixture
def db(db_url: str, run: Run) -> str:
    code, _, err = run("--db", db_url, "init")
    assert code == 0, err
    return db_url


def signs_in(db: str, username: str, password: str) -> Actor:
    engine = make_engine(db)
    try:
        return auth.authenticate(engine, username, password)
    finally:
        engine.dispose()


def test_users_add_takes_the_password_from_rota_password(
    db: str, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTA_PASSWORD", PASSWORD)
    code, out, err = run(
        "--db", db, "users", "add", "Kim", "--role", "coordinator", "--agency", "Vale Police",
        "--display-name", "DS Kim O'Neil",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.strip() == "Added kim: Rota coordinator, Vale Police."
    assert signs_in(db, "kim", PASSWORD) == Actor("kim", "coordinator", "Vale Police", "DS Kim O'Neil")
    code, out, err = run("--db", db, "users", "add", "kim", "--role", "admin")
    assert code == 2 and "already exists" in err


def test_users_add_asks_twice_in_a_terminal(db: str, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD, PASSWORD, "something different"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    code, _, err = run("--db", db, "users", "add", "ada", "--role", "admin")
    assert code == 0, err
    assert signs_in(db, "ada", PASSWORD).role == "admin"
    code, _, err = run("--db", db, "users", "passwd", "ada")
    assert code == 2 and "the two passwords differ" in err


def test_without_a_terminal_or_rota_password_nothing_is_added(
    db: str, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run("--db", db, "users", "add", "ada", "--role", "admin")
    assert code == 2
    assert "set ROTA_PASSWORD" in err
    code, out, _ = run("--db", db, "users", "list", "--format", "json")
    assert json.loads(out) == []


@pytest.mark.parametrize("argv", [["--password", PASSWORD], [f"--password={PASSWORD}"], ["--password"]])
def test_a_password_argument_is_refused(db: str, run: Run, argv: list[str]) -> None:
    code, _, err = run("--db", db, "users", "add", "ada", "--role", "admin", *argv)
    assert code == 2
    assert "never given as an argument" in err
    assert PASSWORD not in err


@pytest.mark.parametrize(
    ("argv", "password", "message"),
    [
        (["ada", "--role", "admin"], "short", "password: a password needs at least 12 characters"),
        (["ada", "--role", "boss"], PASSWORD, "invalid choice: 'boss'"),
        (["ada", "--role", "coordinator"], PASSWORD, "agency: a coordinator belongs to one agency"),
        (["ada lovelace", "--role", "admin"], PASSWORD, "not a usable username"),
        (["ada"], PASSWORD, "the following arguments are required: --role"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    db: str, run: Run, monkeypatch: pytest.MonkeyPatch, argv: list[str], password: str, message: str
) -> None:
    monkeypatch.setenv("ROTA_PASSWORD", password)
    code, _, err = run("--db", db, "users", "add", *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_users_list_formats(db: str, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("--db", db, "users", "list")
    assert code == 0 and "No accounts yet" in out
    monkeypatch.setenv("ROTA_PASSWORD", PASSWORD)
    run("--db", db, "users", "add", "ada", "--role", "cdop_manager", "--display-name", "Ada L")
    run("--db", db, "users", "add", "kim", "--role", "coordinator", "--agency", "Vale Police")
    code, out, _ = run("--db", db, "--format", "json", "users", "list")
    users = json.loads(out)
    assert [(u["username"], u["role"], u["agency"], u["active"], u["sign_in"]) for u in users] == [
        ("ada", "cdop_manager", None, True, "password"),
        ("kim", "coordinator", "Vale Police", True, "password"),
    ]
    assert "argon2" not in out and "hash" not in out
    code, out, _ = run("--db", db, "users", "list", "--format", "csv")
    assert out.splitlines()[0].startswith("username,display_name,role,agency,active,sign_in")
    code, out, _ = run("--db", db, "users", "list")
    assert out.splitlines()[0].split() == [
        "username", "name", "role", "agency", "active", "sign-in", "last", "sign-in", "paused", "until",
    ]  # fmt: skip
    assert "Ada L" in out


def test_users_passwd_disable_enable_unlock(db: str, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTA_PASSWORD", PASSWORD)
    run("--db", db, "users", "add", "ada", "--role", "admin")
    monkeypatch.setenv("ROTA_PASSWORD", "a brand new password")
    assert run("--db", db, "users", "passwd", "ada")[0] == 0
    assert signs_in(db, "ada", "a brand new password").username == "ada"
    code, _, err = run("--db", db, "users", "disable", "ada")
    assert code == 2 and "last active administrator" in err
    run("--db", db, "users", "add", "kim", "--role", "commissioner")
    assert run("--db", db, "users", "disable", "kim")[0] == 0
    with pytest.raises(auth.AuthError, match=r"^Wrong username or password\.$"):  # as for a wrong password
        signs_in(db, "kim", "a brand new password")
    assert run("--db", db, "users", "enable", "kim")[0] == 0
    code, out, _ = run("--db", db, "users", "unlock", "kim")
    assert code == 0 and "may sign in again" in out
    code, _, err = run("--db", db, "users", "passwd", "nobody")
    assert code == 2 and "no account named 'nobody'" in err


def test_users_needs_an_initialised_database(run: Run, tmp_path: object) -> None:
    code, _, err = run("--db", f"sqlite:///{tmp_path}/none.db", "users", "list")
    assert code == 2 and "rota init" in err


def test_demo_creates_one_account_per_role_and_resets_their_passwords(
    db_url: str, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run("--db", db_url, "demo")
    assert code == 0, err
    assert f"password {DEMO_PASSWORD!r}" in out
    expected = {
        "admin": ("admin", None),
        "manager": ("cdop_manager", None),
        "police-coordinator": ("coordinator", "Vale Police"),
        "commissioner": ("commissioner", None),
        "police-commissioner": ("commissioner", "Vale Police"),
    }
    for name, (role, agency) in expected.items():
        actor = signs_in(db_url, name, DEMO_PASSWORD)
        assert (actor.role, actor.agency) == (role, agency)
    monkeypatch.setenv("ROTA_DEMO_PASSWORD", "another demo password")
    code, out, _ = run("--db", db_url, "demo")
    assert code == 0 and "password from ROTA_DEMO_PASSWORD" in out
    assert signs_in(db_url, "manager", "another demo password").role == "cdop_manager"
    code, out, _ = run("--db", db_url, "--format", "json", "users", "list")
    assert sorted(u["username"] for u in json.loads(out)) == sorted(expected)
    monkeypatch.setenv("ROTA_DEMO_PASSWORD", "short")
    code, _, err = run("--db", db_url, "demo")
    assert code == 2 and "ROTA_DEMO_PASSWORD: a password needs at least 12 characters" in err
