"""Files the product creates (the SQLite database and its -wal/-shm/-journal files, backups, exported
bundles, workbooks and calendars) are readable and writable by their owner only: mode 0600, whatever the
umask. Create them with `create_private` before anything else opens them, or write them with
`write_private`."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private(path: Path) -> None:
    """Make sure `path` exists with mode 0600: created empty (never truncated) if missing, else narrowed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE)
    try:
        # A new file is 0600 already (the umask only narrows); one that was there may be wider. Devices
        # and pipes (-o /dev/stdout) and other people's files are left as they are.
        if stat.S_ISREG(os.fstat(fd).st_mode):
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replacing what was there) as a 0600 file."""
    create_private(path)
    with open(path, "wb") as f:
        f.write(data)


def make_private(path: Path) -> None:
    """Narrow an existing file of ours to 0600; leave alone a missing file or one another user owns."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        info = path.stat()
        if info.st_mode & 0o777 != PRIVATE_MODE and info.st_uid == os.geteuid():
            path.chmod(PRIVATE_MODE)


def make_sqlite_private(database: Path) -> None:
    """The SQLite database file and the side files SQLite keeps beside it, 0600."""
    make_private(database)
    for suffix in SQLITE_SIDE_FILES:
        make_private(database.with_name(database.name + suffix))
