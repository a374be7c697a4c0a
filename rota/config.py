"""Every setting the product takes from the environment, in one pydantic-settings class: its variable, type,
default and check (the table for deployments is docs/configuration.md; a test keeps the two in step).

`load_settings()` reads the process environment (again only when one of the variables has changed);
`load_settings(mapping)` reads only `mapping` (tests, and anything that must not depend on the process). The
variables keep the names deployments already use, so each field names its variable exactly. An empty value
counts as not set. A bad value raises `InputError` naming the variable (the command line prints it and exits
2); a secret's value is never in the message, and the secrets are handed to rota/redact.py so that no message
or log line shows them later either.

The product settings an administrator changes at run time (child population, targets, suppression) are
stored in the database instead (docs/operations.md, "Settings"); ROTA_CHILD_POPULATION is only the
fallback for the first of them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from rota.errors import InputError, Problem
from rota.redact import remember_secret
from rota.timeutil import SERVICE_TZ, zone

DEFAULT_SMTP_PORT = 25
DEFAULT_FROM = "cdop-rota@localhost"
DEFAULT_IMPORT_SETTLE_SECONDS = 60.0
DEFAULT_IMPORT_MAX_MB = 200.0
DEFAULT_SESSION_MINUTES = 30
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _whole(low: int, high: int | None = None) -> BeforeValidator:
    """A whole number from `low` (to `high`), written in digits."""

    def check(value: Any) -> int:
        text = str(value)
        if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
            what = "port number" if high == 65535 else f"whole number of at least {low}"
            raise ValueError(f"{text!r} is not a {what}")
        return int(text)

    return BeforeValidator(check)


def _number(low: float) -> BeforeValidator:
    """A finite number of at least `low`."""

    def check(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not low <= number < float("inf"):
            raise ValueError(f"{str(value)!r} is not a number of at least {low:g}")
        return number

    return BeforeValidator(check)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in _TRUE + _FALSE:
        raise ValueError(f"{text!r}: give 1 or 0")
    return text in _TRUE


def _addresses(value: Any) -> tuple[str, ...]:
    """E-mail addresses separated by commas."""
    if isinstance(value, tuple):
        return value
    out = tuple(a.strip() for a in str(value).split(",") if a.strip())
    for address in out:
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain or " " in address:
            raise ValueError(f"{address!r} is not an e-mail address (give addresses separated by commas)")
    return out


def _one_address(value: Any) -> str:
    _addresses(value)
    return str(value)


def _zone(value: Any) -> ZoneInfo:
    return value if isinstance(value, ZoneInfo) else zone(str(value))


def _webhook(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("not an http:// or https:// URL (the value is secret: not shown)")
    return value


def _database_url(value: Any) -> str:
    """The URL as given: the storage layer parses it (`rota.storage.db.configured_url` names this variable
    and masks the password when it cannot), so that this module stays below the storage layer."""
    return str(value)


def _path(value: Any) -> Path:
    return Path(value).expanduser()


def _env(name: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from the variable `name` (exactly that name, whatever the prefix)."""
    return Field(default, validation_alias=name, **kwargs)


WholeNumber = Annotated[int, _whole(1)]
Port = Annotated[int, _whole(1, 65535)]
Flag = Annotated[bool, BeforeValidator(_flag)]
DatabaseURL = Annotated[str, BeforeValidator(_database_url)]
# Addresses separated by commas (NoDecode: pydantic-settings would otherwise read a tuple as JSON).
Addresses = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_addresses)]


class Settings(BaseSettings):
    """Every variable the product reads (docs/configuration.md). Fields are grouped by who reads them."""

    model_config = SettingsConfigDict(
        env_prefix="ROTA_",  # the family; each field still names its own variable (USER is not ROTA_)
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        validate_default=False,  # the defaults below are already what the checks would give
        hide_input_in_errors=True,
    )

    # Where the data is, and how times are shown.
    database_url: DatabaseURL | None = _env("ROTA_DATABASE_URL", repr=False)
    tz: Annotated[ZoneInfo, BeforeValidator(_zone)] = _env("ROTA_TZ", SERVICE_TZ)
    # The command line.
    debug: Flag = _env("ROTA_DEBUG", False)
    password: SecretStr | None = _env("ROTA_PASSWORD")
    demo_password: SecretStr | None = _env("ROTA_DEMO_PASSWORD")
    user: str | None = _env("USER")
    # The dashboard.
    session_minutes: WholeNumber = _env("ROTA_SESSION_MINUTES", DEFAULT_SESSION_MINUTES)
    embedded_scheduler: Flag = _env("ROTA_EMBEDDED_SCHEDULER", True)
    # The forecast: the fallback when the stored setting child_population is not set.
    child_population: WholeNumber | None = _env("ROTA_CHILD_POPULATION")
    # Alerts from the scheduled jobs.
    smtp_host: str | None = _env("ROTA_SMTP_HOST")
    smtp_port: Port = _env("ROTA_SMTP_PORT", DEFAULT_SMTP_PORT)
    smtp_from: Annotated[str, BeforeValidator(_one_address)] = _env("ROTA_SMTP_FROM", DEFAULT_FROM)
    smtp_user: str | None = _env("ROTA_SMTP_USER")
    smtp_password: SecretStr | None = _env("ROTA_SMTP_PASSWORD")
    smtp_starttls: Flag = _env("ROTA_SMTP_STARTTLS", False)
    alert_email: Addresses = _env("ROTA_ALERT_EMAIL", ())
    # Who receives the board's quarterly assurance pack (the assurance-pack job).
    pack_email: Addresses = _env("ROTA_PACK_EMAIL", ())
    # A webhook URL is a credential (whoever has it may post alerts), like the SMTP password.
    alert_webhook: Annotated[SecretStr | None, BeforeValidator(_webhook)] = _env("ROTA_ALERT_WEBHOOK")
    # The watched import folder.
    import_watch: Annotated[Path | None, BeforeValidator(_path)] = _env("ROTA_IMPORT_WATCH")
    import_settle_seconds: Annotated[float, _number(0)] = _env(
        "ROTA_IMPORT_SETTLE_SECONDS", DEFAULT_IMPORT_SETTLE_SECONDS
    )
    import_max_mb: Annotated[float, _number(0.001)] = _env("ROTA_IMPORT_MAX_MB", DEFAULT_IMPORT_MAX_MB)

    reads_environment: ClassVar[bool] = True  # False for a given mapping (`load_settings(mapping)`)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment only: no .env file and no secrets folder, so what a deployment sets is all (and
        for `_GivenSettings`, not even the environment)."""
        return (init_settings, env_settings) if cls.reads_environment else (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _unset_when_empty(cls, data: Any) -> Any:
        """Surrounding spaces are dropped, and an empty value is as good as none (the default holds)."""
        if not isinstance(data, Mapping):
            return data
        out = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in out.items() if v != ""}

    @model_validator(mode="after")
    def _remember_secrets(self) -> Settings:
        for secret in (self.alert_webhook, self.smtp_password):
            remember_secret(secret.get_secret_value() if secret is not None else None)
        return self

    @property
    def email_on(self) -> bool:
        """E-mail is sent when an SMTP host is set (recipients: ROTA_ALERT_EMAIL, or a job's own)."""
        return self.smtp_host is not None

    @property
    def webhook_on(self) -> bool:
        return self.alert_webhook is not None

    def channels_text(self) -> str:
        """For people: where alerts go, or how to make them go somewhere."""
        parts = []
        if self.email_on:
            to = ", ".join(self.alert_email) or "(no ROTA_ALERT_EMAIL)"
            parts.append(f"e-mail via {self.smtp_host}:{self.smtp_port} to {to}")
        if self.webhook_on:
            parts.append("webhook")
        if not parts:
            return "stored only: set ROTA_SMTP_HOST and ROTA_ALERT_EMAIL, or ROTA_ALERT_WEBHOOK, to send them"
        return " and ".join(parts)


class _GivenSettings(Settings):
    """The same settings from a given mapping only (`load_settings(mapping)`): the process environment is
    not read at all."""

    reads_environment: ClassVar[bool] = False


@functools.cache
def variable_names() -> tuple[str, ...]:
    """The environment variables the product reads, in the order of the class."""
    return tuple(str(f.validation_alias) for f in Settings.model_fields.values())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the process environment, or from `environ` alone when given. A bad value raises
    InputError naming its variable (every bad one, not just the first).

    The process's settings are read again whenever one of the variables has changed (the dashboard asks on
    every rerun, tests change variables), and otherwise come from a cache: this is called often."""
    if environ is None:
        return _from_process(tuple(os.environ.get(name) for name in variable_names()))
    names = set(variable_names())
    given: dict[str, Any] = {k: v for k, v in environ.items() if k in names}
    return _checked(lambda: _GivenSettings(**given))


@functools.lru_cache(maxsize=8)
def _from_process(_values: tuple[str | None, ...]) -> Settings:
    """`Settings()` (pydantic-settings reads the environment), once per set of values of the variables."""
    return _checked(Settings)


def _checked(make: Callable[[], Settings]) -> Settings:
    try:
        return make()
    except ValidationError as exc:
        raise InputError([_problem(e) for e in exc.errors()]) from None


def _problem(error: Any) -> Problem:
    """One pydantic error as a problem named by its variable; the reason is the check's own message."""
    name = str(error["loc"][0]) if error["loc"] else "settings"
    cause = (error.get("ctx") or {}).get("error")
    reason = str(cause) if cause is not None else str(error["msg"])
    return Problem(name, None, None, reason)
