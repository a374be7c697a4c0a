"""The built assurance packs kept in the database (the `assurance-pack` job and `rota pack` store them; the
Admin page lists them for download). Imports no Streamlit.

Who sees which: administrators and the CDOP manager every pack; a commissioner only the packs written for
commissioners (suppressed figures); coordinators none. Storing a pack is audited (what it is, its size and
SHA-256, never its content), and so is each download of one (as a read).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import polars as pl

from rota.errors import InputError, PermissionDenied, Problem
from rota.limits import text_reason
from rota.services.access import ADMIN, CDOP_MANAGER, Actor
from rota.services.assurance import AUDIENCES, audiences_for  # who may have which pack: one place
from rota.storage import Engine
from rota.storage import packs as store
from rota.storage.audit import record_audit, record_read
from rota.storage.db import write_transaction
from rota.timeutil import utc_now
from rota.vocab import AuditAction

ENTITY = "assurance_pack"
WHAT = "assurance pack"
PDF = "application/pdf"
COLUMNS = ("id", "period", "audience", "agency", "created_at", "created_by", "filename", "media_type", "size")
MAX_BYTES = 50 * 1024 * 1024  # a pack is a few hundred KB; anything near this is not one
_PERIOD = re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$")
_MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def require_store_packs(actor: Actor) -> None:
    if actor.role not in (ADMIN, CDOP_MANAGER):
        raise PermissionDenied("only the CDOP manager, administrators and the scheduled job store packs")


def require_read_packs(actor: Actor) -> None:
    if not audiences_for(actor):
        raise PermissionDenied(
            "the assurance packs are for the CDOP manager, administrators and commissioners"
        )


def _problem(reason: str) -> InputError:
    return InputError(Problem(WHAT, None, None, reason))


def check_period(period: str) -> str:
    """A quarter as `YYYY-Qn` (2026-Q3), years 1900..2100; InputError otherwise."""
    found = _PERIOD.match(period.strip()) if isinstance(period, str) else None
    if found is None or not 1900 <= int(found["year"]) <= 2100:
        raise _problem(f"period {period!r} is not a quarter like 2026-Q3 (YYYY-Qn, n from 1 to 4)")
    return found.group(0)


def store_pack(
    engine: Engine,
    actor: Actor,
    *,
    period: str,
    audience: str,
    agency: str | None,
    filename: str,
    content: bytes,
    media_type: str = PDF,
    now: datetime | None = None,
) -> int:
    """Keep a built pack (audited as a create, without its content); its id."""
    require_store_packs(actor)
    quarter = check_period(period)
    if audience not in AUDIENCES:
        raise _problem(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
    agency = agency.strip() or None if isinstance(agency, str) else None
    name = filename.strip() if isinstance(filename, str) else ""
    for label, value in (("agency", agency), ("file name", name)):
        why = text_reason(label, value, "name") if value is not None else None
        if why:
            raise _problem(why)
    if not name or "/" in name or "\\" in name:
        raise _problem(f"file name {filename!r} is not a plain file name like assurance-pack-2026-Q3.pdf")
    if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type) or len(media_type) > 100:
        raise _problem(f"media type {media_type!r} is not one like application/pdf")
    if not isinstance(content, bytes | bytearray) or not content:
        raise _problem("the pack's file is empty")
    if len(content) > MAX_BYTES:
        raise _problem(f"the pack's file is {len(content):,} bytes; at most {MAX_BYTES:,} are kept")
    about = {
        "period": quarter,
        "audience": audience,
        "agency": agency,
        "created_at": now or utc_now(),
        "created_by": actor.username,
        "filename": name,
        "media_type": media_type,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    with write_transaction(engine) as conn:
        pack_id = store.insert_pack(conn, {**about, "content": bytes(content)})
        record_audit(conn, actor.username, AuditAction.CREATE.value, ENTITY, str(pack_id), None, about)
    return pack_id


def list_packs(engine: Engine, actor: Actor) -> pl.DataFrame:
    """The stored packs this actor may see, without their files: id, period, audience, agency, created_at,
    created_by, filename, media_type, size, newest quarter first."""
    require_read_packs(actor)
    return store.select_packs(engine, audiences_for(actor)).select(COLUMNS)


def pack_file(engine: Engine, actor: Actor, pack_id: int) -> tuple[str, str, bytes]:
    """One stored pack's file: (file name, media type, content). A pack this actor may not see is refused
    as if it did not exist; the download is audited as a read."""
    require_read_packs(actor)
    found = store.pack_row(engine, pack_id)
    if found is None or found["audience"] not in audiences_for(actor):
        raise _problem(f"there is no assurance pack {pack_id}")
    record_read(
        engine,
        actor.username,
        ENTITY,
        str(pack_id),
        {k: found[k] for k in ("period", "audience", "agency", "filename", "sha256")},
    )
    return found["filename"], found["media_type"], found["content"]


def pack_content(engine: Engine, actor: Actor, pack_id: int) -> bytes:
    """Only the file of `pack_file` (for a download button that reads it when pressed)."""
    return pack_file(engine, actor, pack_id)[2]


def stored_pack_exists(engine: Engine, period: str, audience: str, agency: str | None = None) -> bool:
    """Whether a pack of this quarter, audience and agency is already stored (the scheduled job builds
    each one once). For the job and the services only: it says nothing about who may read it."""
    return store.pack_exists(engine, check_period(period), audience, agency)
