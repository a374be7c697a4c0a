"""Product settings (key -> text value), each change audited as entity "setting" (key)."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update

from rota.errors import InputError, Problem
from rota.storage.audit import record_audit
from rota.storage.db import write_transaction
from rota.storage.models import SETTING
from rota.timeutil import utc_now
from rota.vocab import AuditAction


def read_settings(engine: Engine) -> dict[str, str]:
    """Every stored product setting, key -> value (for example `child_population` -> "380000")."""
    with engine.connect() as conn:
        rows = conn.execute(select(SETTING.c.key, SETTING.c.value).order_by(SETTING.c.key)).all()
    return {str(k): str(v) for k, v in rows}


def write_setting(engine: Engine, key: str, value: str | None, *, actor: str) -> None:
    """Store one setting (None deletes it), audited as entity "setting"; an unchanged value writes nothing."""
    if not actor or not actor.strip():
        raise ValueError("write_setting needs the actor (who is changing it) for the audit log")
    key = key.strip() if isinstance(key, str) else ""
    if not key:
        raise InputError(Problem("setting", None, "key", "a setting needs a name"))
    with write_transaction(engine) as conn:
        old = conn.execute(select(SETTING.c.value).where(SETTING.c.key == key)).scalar_one_or_none()
        now = utc_now()
        if value is None:
            if old is None:
                return
            conn.execute(delete(SETTING).where(SETTING.c.key == key))
            record_audit(
                conn,
                actor.strip(),
                AuditAction.DELETE.value,
                "setting",
                key,
                {"key": key, "value": old},
                None,
            )
        elif old is None:
            conn.execute(insert(SETTING).values(key=key, value=value, updated_at=now))
            record_audit(
                conn,
                actor.strip(),
                AuditAction.CREATE.value,
                "setting",
                key,
                None,
                {"key": key, "value": value},
            )
        elif old != value:
            conn.execute(update(SETTING).where(SETTING.c.key == key).values(value=value, updated_at=now))
            record_audit(
                conn,
                actor.strip(),
                AuditAction.UPDATE.value,
                "setting",
                key,
                {"key": key, "value": old},
                {"key": key, "value": value},
            )
