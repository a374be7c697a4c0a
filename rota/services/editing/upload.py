"""Uploads in the Rota editor: the import service (rota/services/imports.py) behind the editor's own
permission, which is stricter than the import's: only those who may change a rota (an administrator or
a coordinator) upload one here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from rota.services.access import Actor
from rota.services.editing.save import require_can_edit
from rota.services.imports import ImportPreview, ImportResult, preview_upload
from rota.services.imports import apply_import as store_import
from rota.storage import Engine
from rota.timeutil import SERVICE_TZ


def preview_import(
    engine: Engine, actor: Actor, filename: str, data: bytes, tz: tzinfo = SERVICE_TZ, kind: str | None = None
) -> ImportPreview:
    """Read an uploaded bundle (.zip of the bundle folder), workbook (.xlsx) or one CSV (`kind`, else from
    its name) with the actor's permissions; nothing is stored."""
    require_can_edit(actor)
    return preview_upload(engine, actor, filename, data, tz, kind)


def apply_import(
    engine: Engine,
    actor: Actor,
    preview: ImportPreview,
    *,
    replace_span: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> ImportResult:
    """Store a checked preview, all or nothing, audited under the actor's name."""
    require_can_edit(actor)
    return store_import(engine, actor, preview, replace=replace_span, via="upload", progress=progress)
