"""The product settings (`rota settings`): each value is checked before it is stored, and every change is
written to the audit log; the command line and a dashboard form call the same functions."""

from __future__ import annotations

from rota.analytics.completion import MEASURES
from rota.model import PRODUCT_SETTINGS
from rota.services.access import Actor, require_change_settings
from rota.storage import Engine
from rota.storage.settings import read_settings, write_setting


class SettingError(ValueError):
    """A setting name or value that is refused; the message names the setting and what to give."""


def check_setting(key: str, value: str) -> str:
    """The value as it is stored (a number written back by Python), or SettingError."""

    def number(kind: type, low: float, high: float | None = None) -> str:
        try:
            x = kind(value)
        except ValueError:
            raise SettingError(f"setting {key}: {value!r} is not a number") from None
        if x < low or (high is not None and x > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise SettingError(f"setting {key}: {value} must be {bound}")
        return str(x)

    if key == "child_population":
        return number(int, 1)
    if key == "mean_commitment_hours":
        return number(float, 0.01)
    if key == "suppression_threshold":
        return number(int, 1)
    if key == "completion_target" or (
        key.startswith("completion_target.") and key.split(".", 1)[1] in MEASURES
    ):
        return number(float, 0.0, 1.0)
    raise SettingError(
        f"unknown setting {key!r}; the settings are {', '.join(PRODUCT_SETTINGS)} and "
        f"completion_target.<measure> ({', '.join(MEASURES)})"
    )


def stored_settings(engine: Engine) -> dict[str, str]:
    """Every stored setting, name -> value (the unset ones are absent)."""
    return read_settings(engine)


def set_setting(engine: Engine, actor: Actor, key: str, value: str) -> str:
    """Check and store one setting (audited under the actor's name); returns the value as stored."""
    require_change_settings(actor)
    stored = check_setting(key, value)
    write_setting(engine, key, stored, actor=actor.username)
    return stored


def unset_setting(engine: Engine, actor: Actor, key: str) -> None:
    """Remove one setting (audited), so that its default applies again."""
    require_change_settings(actor)
    check_setting(key, "1")  # only the name is checked: 1 is a valid value of every setting
    write_setting(engine, key, None, actor=actor.username)
