"""The product settings service: values checked before they are stored, changes audited under the actor's
name, and only the CDOP manager and administrators may change them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from rota.errors import PermissionDenied
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, Actor
from rota.services.settings import SettingError, check_setting, set_setting, stored_settings, unset_setting
from rota.storage.audit import audit_entries
from rota.storage.db import init_db


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("child_population", "113000", "113000"),
        ("mean_commitment_hours", "4", "4.0"),
        ("suppression_threshold", "1", "1"),
        ("completion_target", "0.9", "0.9"),
        ("completion_target.home_visit", "1", "1.0"),
    ],
)
def test_check_setting_gives_the_value_as_stored(key: str, value: str, stored: str) -> None:
    assert check_setting(key, value) == stored


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("child_population", "lots", "setting child_population: 'lots' is not a number"),
        ("child_population", "0", "setting child_population: 0 must be at least 1"),
        ("mean_commitment_hours", "0", "must be at least 0.01"),
        ("completion_target", "1.5", "setting completion_target: 1.5 must be from 0.0 to 1.0"),
        ("colour", "blue", "unknown setting 'colour'; the settings are child_population,"),
        ("completion_target.nothing", "0.5", "completion_target.<measure> ("),
    ],
)
def test_check_setting_refuses_with_a_message(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        check_setting(key, value)
    assert message in str(caught.value)


def test_set_and_unset_are_audited_under_the_actor(db_url: str) -> None:
    engine = init_db(db_url)
    manager = Actor("ana", CDOP_MANAGER)
    assert set_setting(engine, manager, "child_population", "113000") == "113000"
    set_setting(engine, Actor("root", ADMIN), "completion_target", "0.8")
    unset_setting(engine, manager, "completion_target")
    assert stored_settings(engine) == {"child_population": "113000"}
    log = audit_entries(engine)
    engine.dispose()
    settings_log = log.filter(log["entity"] == "setting")
    assert settings_log.height == 3
    assert set(settings_log["actor"]) == {"ana", "root"}


@pytest.mark.parametrize(
    "actor", [Actor("cara", COORDINATOR, "Vale Police"), Actor("cole", COMMISSIONER)], ids=["coord", "comm"]
)
def test_only_managers_and_administrators_change_settings(db_url: str, actor: Actor) -> None:
    engine = init_db(db_url)
    with pytest.raises(PermissionDenied, match="change the product settings"):
        set_setting(engine, actor, "child_population", "113000")
    with pytest.raises(PermissionDenied):
        unset_setting(engine, actor, "child_population")
    assert stored_settings(engine) == {}
    engine.dispose()


def test_a_bad_value_stores_nothing(db_url: str) -> None:
    engine = init_db(db_url)
    with pytest.raises(SettingError):
        set_setting(engine, Actor("ana", CDOP_MANAGER), "suppression_threshold", "0")
    with pytest.raises(SettingError, match="unknown setting"):
        unset_setting(engine, Actor("ana", CDOP_MANAGER), "colour")
    assert stored_settings(engine) == {}
    engine.dispose()
