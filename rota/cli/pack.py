"""`rota pack` (SPEC 14, docs/reports.md): the safeguarding partnership board's quarterly assurance pack,
written as PDF or HTML by the file's extension. The file appears whole or not at all (written beside
itself, then renamed), mode 0600."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from rota.cli.common import UsageError, open_engine, service_tz

SUFFIXES = {".pdf": "pdf", ".html": "html", ".htm": "html"}


def output_path(path: Path) -> tuple[Path, str]:
    """The file to write and its format; UsageError naming what to change."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"-o {path}: name a .pdf or .html file (the extension chooses the format)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"-o {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise UsageError(f"-o {path}: that is a folder; name a file")
    return path, fmt


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to a 0600 temporary file beside `path`, then rename it over `path`."""
    fd, temp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".rota-pack-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def cmd_pack(args: argparse.Namespace) -> int:
    from rota.reports import build_pack
    from rota.services.access import ADMIN, Actor

    path, fmt = output_path(args.output)
    tz = service_tz(args)
    pack = build_pack(
        open_engine(args),
        Actor("cli", ADMIN),  # whoever runs it owns the database
        period=args.period,
        audience=args.audience,
        agency=args.agency,
        fmt=fmt,
        tz=tz,
    )
    write_whole(path, pack.content)
    print(
        f"Wrote the {pack.quarter.label} assurance pack for {pack.figures.audience_label} "
        f"({len(pack.content) / 1024:,.0f} KB) to {path}"
    )
    return 0
