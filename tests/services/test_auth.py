"""Sign-in accounts: argon2id hashes, one message for every refusal, the slow-down after five failures,
switched-off accounts, who may manage accounts, the audit trail, and OIDC claims mapped to roles."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from rota.errors import InputError, PermissionDenied
from rota.services import auth
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, ROLES, Actor
from rota.services.auth import AuthError
from rota.storage.models import AUDIT_LOG, USER_ACCOUNT

PASSWORD = "correct horse battery"
T0 = datetime.fromisoformat("2026-11-25T09:00:00+00:00")
ADMIN_ACTOR = Actor("boss", ADMIN)
# Cheap argon2id parameters for speed; the real profile is checked in its own test.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.passwords, "HASHER", FAST)
    auth.signin._UNKNOWN.clear()


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []
        self.delay = 0.0  # seconds added to each check, so that attempts made at once overlap

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        time.sleep(self.delay)
        return super().verify(hash, password)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    hasher = CountingHasher()
    monkeypatch.setattr(auth.passwords, "HASHER", hasher)
    return hasher


def stored(engine: Engine, username: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(USER_ACCOUNT).where(USER_ACCOUNT.c.username == username)).one()


def audit_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AUDIT_LOG).where(AUDIT_LOG.c.entity == "user_account").order_by(AUDIT_LOG.c.id)
            ).all()
        )


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(AuthError) as info:
        call()
    return str(info.value)


# ---------------------------------------------------------------------------------------------- passwords


def test_passwords_are_stored_as_argon2id_hashes_with_the_rfc_9106_profile(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth.passwords, "HASHER", PasswordHasher())
    auth.create_user(engine, None, "Ada", CDOP_MANAGER, PASSWORD)
    row = stored(engine, "ada")
    assert row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in row.password_hash
    assert auth.authenticate(engine, "ada", PASSWORD) == Actor("ada", CDOP_MANAGER)


def test_the_right_password_signs_in_case_insensitively_and_records_the_time(engine: Engine) -> None:
    auth.create_user(engine, None, "Ada.Lovelace", COORDINATOR, PASSWORD, "Vale Police", "Ada Lovelace")
    actor = auth.authenticate(engine, "  ADA.lovelace ", PASSWORD, now=T0)
    assert actor == Actor("ada.lovelace", COORDINATOR, "Vale Police", "Ada Lovelace")
    assert stored(engine, "ada.lovelace").last_login_at == T0


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(
    engine: Engine, counting: CountingHasher
) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    counting.verified.clear()
    wrong = refused(lambda: auth.authenticate(engine, "ada", "not the password"))
    unknown = refused(lambda: auth.authenticate(engine, "nobody", PASSWORD))
    garbage = refused(lambda: auth.authenticate(engine, "no body!", PASSWORD))
    assert wrong == unknown == garbage == "Wrong username or password."
    # The unknown names were checked against a dummy hash, so they take as long as a wrong password.
    assert len(counting.verified) == 3
    assert counting.verified[1] == counting.verified[2] != stored(engine, "ada").password_hash


def test_empty_fields_ask_for_both(engine: Engine) -> None:
    assert refused(lambda: auth.authenticate(engine, " ", PASSWORD)) == "Enter your username and password."
    assert refused(lambda: auth.authenticate(engine, "ada", "")) == "Enter your username and password."


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    old = stored(engine, "ada").password_hash
    monkeypatch.setattr(
        auth.passwords, "HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )
    auth.authenticate(engine, "ada", PASSWORD)
    new = stored(engine, "ada").password_hash
    assert new != old and "$m=2048,t=2,p=1$" in new
    auth.authenticate(engine, "ada", PASSWORD)  # and the new hash works
    assert stored(engine, "ada").password_hash == new


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "at least 12 characters (this one has 5)"),
        ("x" * 1025, "at most 1024 characters"),
        ("Ada.Lovelace", "must not be the username"),
    ],
)
def test_the_password_policy_gives_clear_errors(engine: Engine, password: str, expected: str) -> None:
    with pytest.raises(InputError, match=r"password: .*" + expected.replace("(", r"\(").replace(")", r"\)")):
        auth.create_user(engine, None, "ada.lovelace", ADMIN, password)
    auth.create_user(engine, None, "ada.lovelace", ADMIN, PASSWORD)
    with pytest.raises(InputError, match="password"):
        auth.set_password(engine, None, "ada.lovelace", password)


# ---------------------------------------------------------------------------------------------- slow-down


def test_five_failures_pause_sign_in_without_checking_the_password_then_it_lifts(
    engine: Engine, counting: CountingHasher
) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    for i in range(4):
        msg = refused(lambda i=i: auth.authenticate(engine, "ada", "wrong", now=T0 + timedelta(seconds=i)))
        assert msg == "Wrong username or password."
    fifth = refused(lambda: auth.authenticate(engine, "ada", "wrong", now=T0 + timedelta(seconds=4)))
    assert fifth.startswith("Wrong username or password. Too many wrong passwords")
    assert "Try again in 30 seconds." in fifth
    assert stored(engine, "ada").failed_attempts == 5

    counting.verified.clear()
    paused = refused(lambda: auth.authenticate(engine, "ada", PASSWORD, now=T0 + timedelta(seconds=14)))
    assert paused == (
        "Too many wrong passwords for this username: sign-in is paused. Try again in 20 seconds."
    )
    assert counting.verified == []  # the right password was not even looked at
    assert stored(engine, "ada").failed_attempts == 5  # and a paused attempt does not lengthen the pause

    actor = auth.authenticate(engine, "ada", PASSWORD, now=T0 + timedelta(seconds=35))
    assert actor.username == "ada"
    row = stored(engine, "ada")
    assert (row.failed_attempts, row.last_failed_at) == (0, None)


def test_the_pause_doubles_with_each_further_failure_up_to_fifteen_minutes(engine: Engine) -> None:
    assert [auth.lockout_window(n).total_seconds() for n in range(4, 12)] == [
        0,
        30,
        60,
        120,
        240,
        480,
        900,
        900,
    ]
    assert auth.lockout_window(10_000) == timedelta(minutes=15)
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    now = T0
    for _ in range(5):
        refused(lambda now=now: auth.authenticate(engine, "ada", "wrong", now=now))
    now += timedelta(seconds=31)  # the first pause is over: one more wrong password pauses for 60 s
    sixth = refused(lambda: auth.authenticate(engine, "ada", "wrong", now=now))
    assert "Try again in 60 seconds." in sixth
    later = refused(lambda: auth.authenticate(engine, "ada", PASSWORD, now=now + timedelta(seconds=59)))
    assert later.endswith("Try again in 1 second.")
    assert auth.authenticate(engine, "ada", PASSWORD, now=now + timedelta(seconds=61)).username == "ada"


def test_long_pauses_are_given_in_minutes(engine: Engine) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    now = T0
    for n in range(10):
        now += auth.lockout_window(n)
        refused(lambda now=now: auth.authenticate(engine, "ada", "wrong", now=now))
    msg = refused(lambda: auth.authenticate(engine, "ada", PASSWORD, now=now + timedelta(seconds=1)))
    assert msg.endswith("Try again in 15 minutes.")
    frame = auth.list_users(engine, now=now + timedelta(seconds=1))
    assert frame.row(0, named=True)["locked_until"] == now + timedelta(minutes=15)


def test_unknown_usernames_are_paused_the_same_way(engine: Engine) -> None:
    msgs = [
        refused(lambda i=i: auth.authenticate(engine, "nobody", "wrong", now=T0 + timedelta(seconds=i)))
        for i in range(6)
    ]
    assert msgs[0] == "Wrong username or password."
    assert "Try again in 30 seconds." in msgs[4]
    assert msgs[5].startswith("Too many wrong passwords for this username")


def test_an_administrator_can_lift_the_pause(engine: Engine) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    for _ in range(5):
        refused(lambda: auth.authenticate(engine, "ada", "wrong", now=T0))
    auth.unlock(engine, ADMIN_ACTOR, "ada")
    assert auth.authenticate(engine, "ada", PASSWORD, now=T0).username == "ada"


def attempts_at_once(engine: Engine, passwords: list[str], username: str = "ada") -> list[str]:
    """Every password tried at the same moment from its own thread; the answers (an empty string for a
    successful sign-in)."""
    start = threading.Barrier(len(passwords))

    def attempt(password: str) -> str:
        start.wait()
        try:
            auth.authenticate(engine, username, password, now=T0)
        except AuthError as exc:
            return exc.message
        return ""

    with ThreadPoolExecutor(max_workers=len(passwords)) as pool:
        return list(pool.map(attempt, passwords))


def test_forty_wrong_passwords_at_once_check_only_five_then_the_right_one_is_paused(
    engine: Engine, counting: CountingHasher
) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    counting.verified.clear()
    counting.delay = 0.02
    answers = attempts_at_once(engine, [f"wrong guess {i}" for i in range(40)])
    assert len(counting.verified) == auth.MAX_FAILURES  # only the claimed attempts reached the hash
    assert stored(engine, "ada").failed_attempts == auth.MAX_FAILURES
    checked = [a for a in answers if a.startswith("Wrong username or password.")]
    assert len(checked) == auth.MAX_FAILURES
    assert sum("Try again in 30 seconds." in a for a in checked) == 1  # the fifth one
    paused = [a for a in answers if a.startswith("Too many wrong passwords")]
    assert len(paused) == 40 - auth.MAX_FAILURES
    counting.verified.clear()
    during = refused(lambda: auth.authenticate(engine, "ada", PASSWORD, now=T0 + timedelta(seconds=10)))
    assert during.startswith("Too many wrong passwords")
    assert counting.verified == []


def test_unknown_usernames_at_once_are_checked_as_often_as_real_ones(
    engine: Engine, counting: CountingHasher
) -> None:
    counting.delay = 0.02
    answers = attempts_at_once(engine, [f"guess {i}" for i in range(40)], username="nobody")
    assert len(counting.verified) == auth.MAX_FAILURES
    assert sum(a.startswith("Too many wrong passwords") for a in answers) == 40 - auth.MAX_FAILURES


# ---------------------------------------------------------------------------------------------- accounts


def test_a_switched_off_account_answers_the_right_password_as_a_wrong_one(
    engine: Engine, counting: CountingHasher
) -> None:
    auth.create_user(engine, None, "ada", CDOP_MANAGER, PASSWORD)
    auth.create_user(engine, None, "boss", ADMIN, PASSWORD)
    auth.set_active(engine, ADMIN_ACTOR, "ada", False)
    counting.verified.clear()
    wrong = refused(lambda: auth.authenticate(engine, "ada", "wrong", now=T0))
    right = refused(lambda: auth.authenticate(engine, "ada", PASSWORD, now=T0))
    unknown = refused(lambda: auth.authenticate(engine, "nobody", PASSWORD, now=T0))
    assert wrong == right == unknown == "Wrong username or password."
    # The hash is checked every time (the same work, so the same time), and both count as failures.
    assert len(counting.verified) == 3
    assert stored(engine, "ada").failed_attempts == 2
    auth.set_active(engine, ADMIN_ACTOR, "ada", True)
    assert auth.authenticate(engine, "ada", PASSWORD, now=T0).role == CDOP_MANAGER


def test_a_coordinator_needs_an_agency_and_roles_are_checked(engine: Engine) -> None:
    with pytest.raises(InputError, match="agency: a coordinator belongs to one agency"):
        auth.create_user(engine, None, "ada", COORDINATOR, PASSWORD)
    with pytest.raises(InputError, match="agency"):
        auth.create_user(engine, None, "ada", COORDINATOR, PASSWORD, agency="  ")
    with pytest.raises(InputError, match="unknown role 'boss'"):
        auth.create_user(engine, None, "ada", "boss", PASSWORD)
    with pytest.raises(InputError, match="not a usable username"):
        auth.create_user(engine, None, "ada lovelace", ADMIN, PASSWORD)
    assert auth.list_users(engine).height == 0


def test_usernames_are_unique_whatever_their_case(engine: Engine) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    with pytest.raises(InputError, match="already exists"):
        auth.create_user(engine, None, "ADA", CDOP_MANAGER, PASSWORD)


@pytest.mark.parametrize("role", [CDOP_MANAGER, COORDINATOR, COMMISSIONER])
def test_only_an_administrator_manages_accounts(engine: Engine, role: str) -> None:
    other = Actor("someone", role, "Vale Police" if role == COORDINATOR else None)
    auth.create_user(engine, ADMIN_ACTOR, "ada", COMMISSIONER, PASSWORD)
    for call in (
        lambda: auth.create_user(engine, other, "eve", ADMIN, PASSWORD),
        lambda: auth.set_password(engine, other, "ada", PASSWORD + "!"),
        lambda: auth.set_active(engine, other, "ada", False),
        lambda: auth.set_role(engine, other, "ada", ADMIN),
        lambda: auth.unlock(engine, other, "ada"),
        lambda: auth.list_users(engine, other),
    ):
        with pytest.raises(PermissionDenied, match="only administrators manage accounts"):
            call()
    assert auth.list_users(engine, ADMIN_ACTOR)["username"].to_list() == ["ada"]


def test_the_last_active_administrator_stays(engine: Engine) -> None:
    auth.create_user(engine, None, "boss", ADMIN, PASSWORD)
    with pytest.raises(InputError, match="last active administrator"):
        auth.set_active(engine, None, "boss", False)
    with pytest.raises(InputError, match="last active administrator"):
        auth.set_role(engine, None, "boss", CDOP_MANAGER)
    auth.create_user(engine, None, "deputy", ADMIN, PASSWORD)
    with pytest.raises(InputError, match="your own account"):
        auth.set_active(engine, ADMIN_ACTOR, "boss", False)
    auth.set_active(engine, Actor("deputy", ADMIN), "boss", False)
    assert not stored(engine, "boss").active


def test_every_account_change_is_audited_without_hashes(engine: Engine) -> None:
    auth.create_user(engine, None, "boss", ADMIN, PASSWORD, by="cli:root")
    auth.create_user(engine, ADMIN_ACTOR, "ada", COORDINATOR, PASSWORD, "Vale Police", "Ada L")
    auth.set_password(engine, ADMIN_ACTOR, "ada", "another good password")
    auth.set_role(engine, ADMIN_ACTOR, "ada", COORDINATOR, "Vale Hospitals NHS Trust")
    auth.set_active(engine, ADMIN_ACTOR, "ada", False)
    for _ in range(2):
        refused(lambda: auth.authenticate(engine, "ada", "wrong"))
    auth.unlock(engine, None, "ada")
    rows = audit_rows(engine)
    assert [(r.actor, r.action, r.entity_id) for r in rows] == [
        ("cli:root", "create", "boss"),
        ("boss", "create", "ada"),
        ("boss", "update", "ada"),
        ("boss", "update", "ada"),
        ("boss", "update", "ada"),
        ("system", "update", "ada"),
    ]
    assert json.loads(rows[1].after) == {
        "username": "ada",
        "display_name": "Ada L",
        "role": "coordinator",
        "agency": "Vale Police",
        "active": True,
        "sign_in": "password",
    }
    assert json.loads(rows[2].after) == {"password": "(changed)"}
    assert json.loads(rows[3].before)["agency"] == "Vale Police"
    assert json.loads(rows[3].after)["agency"] == "Vale Hospitals NHS Trust"
    assert json.loads(rows[4].after)["active"] is False
    assert json.loads(rows[5].after) == {"failed_attempts": 0}
    for r in rows:
        assert "argon2" not in (r.before or "") + (r.after or "")
    # Sign-in bookkeeping is not an account change: no audit rows for it.
    auth.set_active(engine, ADMIN_ACTOR, "ada", True)
    auth.authenticate(engine, "ada", "another good password")
    assert len(audit_rows(engine)) == len(rows) + 1


def test_list_users_never_shows_hashes(engine: Engine) -> None:
    auth.create_user(engine, None, "ada", ADMIN, PASSWORD)
    frame = auth.list_users(engine)
    assert list(frame.columns) == list(auth.USERS_SCHEMA)
    assert "password_hash" not in frame.columns
    assert not any("argon2" in str(v) for v in frame.row(0))


def test_ensure_user_creates_then_puts_an_account_back(engine: Engine) -> None:
    assert auth.ensure_user(engine, "admin", ADMIN, PASSWORD, by="demo") is True
    auth.create_user(engine, None, "deputy", ADMIN, PASSWORD)
    auth.set_active(engine, None, "admin", False)
    for _ in range(5):
        refused(lambda: auth.authenticate(engine, "admin", "wrong", now=T0))
    assert auth.ensure_user(engine, "admin", ADMIN, "a new demo password", by="demo") is False
    assert auth.authenticate(engine, "admin", "a new demo password", now=T0).role == ADMIN
    assert [r.action for r in audit_rows(engine) if r.entity_id == "admin" and r.actor == "demo"] == [
        "create",
        "update",
    ]


def test_every_access_role_fits_the_table(engine: Engine) -> None:
    for role in ROLES:
        auth.create_user(engine, None, f"u-{role}", role, PASSWORD, "Vale Police")
    assert sorted(auth.list_users(engine)["role"].to_list()) == sorted(ROLES)


# ---------------------------------------------------------------------------------------------- OIDC

GROUPS = {
    "11111111-aaaa": "admin",
    "22222222-bbbb": "cdop_manager",
    "33333333-cccc": "coordinator:Vale Police",
    "44444444-dddd": "commissioner",
    "55555555-eeee": "coordinator:South Downs Ambulance Service",
}


def claims(*groups: str, **extra: Any) -> dict[str, Any]:
    return {
        "sub": "pairwise-subject",
        "preferred_username": "Kim.ONeil@vale.example",
        "name": "DS Kim O'Neil",
        "groups": list(groups),
        "is_logged_in": True,
        **extra,
    }


def test_oidc_groups_map_to_a_role_and_create_an_account_without_password(engine: Engine) -> None:
    actor = auth.oidc_actor(engine, claims("99-unrelated", "33333333-cccc"), GROUPS, now=T0)
    assert actor == Actor("kim.oneil@vale.example", COORDINATOR, "Vale Police", "DS Kim O'Neil")
    row = stored(engine, "kim.oneil@vale.example")
    assert row.password_hash is None and row.last_login_at == T0
    [created] = audit_rows(engine)
    assert (created.actor, created.action) == ("oidc", "create")
    assert json.loads(created.after)["sign_in"] == "oidc"
    # An OIDC account cannot sign in with a password.
    assert refused(lambda: auth.authenticate(engine, "kim.oneil@vale.example", "")) == (
        "Enter your username and password."
    )
    assert refused(lambda: auth.authenticate(engine, "kim.oneil@vale.example", PASSWORD)) == (
        "Wrong username or password."
    )


def test_oidc_takes_the_most_powerful_grant_and_follows_group_changes(engine: Engine) -> None:
    assert auth.oidc_actor(engine, claims("44444444-dddd", "22222222-bbbb"), GROUPS).role == CDOP_MANAGER
    assert auth.oidc_actor(engine, claims("22222222-bbbb"), GROUPS).role == CDOP_MANAGER
    assert len(audit_rows(engine)) == 1  # nothing changed: no audit row
    assert auth.oidc_actor(engine, claims("44444444-dddd"), GROUPS).role == COMMISSIONER
    rows = audit_rows(engine)
    assert [r.action for r in rows] == ["create", "update"]
    assert json.loads(rows[1].before)["role"] == CDOP_MANAGER
    assert json.loads(rows[1].after)["role"] == COMMISSIONER


def test_oidc_app_roles_claim_and_a_chosen_username_claim(engine: Engine) -> None:
    token = claims(roles=["Rota.Admin"], email="kim@vale.example")
    token.pop("groups")
    actor = auth.oidc_actor(engine, token, {"Rota.Admin": "admin"}, username_claim="email")
    assert (actor.username, actor.role) == ("kim@vale.example", ADMIN)


def test_oidc_refusals_say_what_to_do(engine: Engine) -> None:
    none = refused(lambda: auth.oidc_actor(engine, claims("99-unrelated"), GROUPS))
    assert "not in any group that has access" in none
    overage = refused(lambda: auth.oidc_actor(engine, claims(hasgroups=True), GROUPS))
    assert "too many groups" in overage
    two = refused(lambda: auth.oidc_actor(engine, claims("33333333-cccc", "55555555-eeee"), GROUPS))
    assert "more than one agency" in two
    bad_map = refused(lambda: auth.oidc_actor(engine, claims("x"), {"x": "coordinator"}))
    assert "misconfigured" in bad_map
    nameless = refused(lambda: auth.oidc_actor(engine, {"groups": ["11111111-aaaa"]}, GROUPS))
    assert "did not say who you are" in nameless
    assert auth.list_users(engine).height == 0


def test_oidc_cannot_take_over_a_password_account_or_a_switched_off_one(engine: Engine) -> None:
    auth.create_user(engine, None, "kim.oneil@vale.example", COMMISSIONER, PASSWORD)
    msg = refused(lambda: auth.oidc_actor(engine, claims("11111111-aaaa"), GROUPS))
    assert "account with a password" in msg
    assert stored(engine, "kim.oneil@vale.example").role == COMMISSIONER
    other = claims("22222222-bbbb", preferred_username="sam@vale.example")
    auth.oidc_actor(engine, other, GROUPS)
    auth.set_active(engine, None, "sam@vale.example", False)
    assert refused(lambda: auth.oidc_actor(engine, other, GROUPS)) == auth.DISABLED
