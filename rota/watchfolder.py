"""The watched import folder (docs/operations.md, "Watched import folder"): each item dropped into
ROTA_IMPORT_WATCH goes through the import service (rota/services/imports.py) all or nothing, then moves to
done/ or failed/ with a short report beside it.

The folder may be writable by more people than the database: it takes regular files, and folders of
regular files, only. Symbolic links, pipes, devices and hard links are refused without being opened; a file
is opened with O_NOFOLLOW | O_NONBLOCK and checked again on the open descriptor, then copied into a private
temporary folder, so what is imported is exactly what was checked. A file changed in the last
ROTA_IMPORT_SETTLE_SECONDS is left for the next run; one over ROTA_IMPORT_MAX_MB is refused unread.
Reports are created 0600, list at most REPORT_PROBLEMS problems and quote cell values as short escaped
excerpts.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rota.config import Settings
from rota.errors import InputError, Problem
from rota.limits import excerpt
from rota.services.access import ADMIN, Actor
from rota.services.imports import import_file
from rota.storage import Engine, StorageError
from rota.timeutil import uk_local

WATCH_ACTOR = Actor("import-watch", ADMIN, display_name="Watched import folder")
DONE, FAILED = "done", "failed"
REPORT_SUFFIX = ".report.txt"
REPORT_PROBLEMS = 100  # problems listed in a report; the rest are counted
REPORT_MAX_BYTES = 64 * 1024
EXCERPT_CHARS = 40  # of a value quoted in a report
LINE_CHARS = 300  # of one line of a report
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".swp")
_CHUNK = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# A quoted value inside a problem's reason ('...' or "..."), to be shortened to an excerpt.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


class Refused(Exception):
    """An item the folder does not take (its reason says why); it is moved to failed/ unread."""


class FolderProblem(Exception):
    """The watched folder itself is unsafe to work in (done/ or failed/ is a link, ...): nothing moved."""


class StillWriting(Exception):
    """The item changed while it was read: left for the next run."""


# ---------------------------------------------------------------------------------------------- text


def printable(text: str, limit: int = LINE_CHARS) -> str:
    """One line of a report: control characters escaped, quoted values cut to short excerpts, and at
    most `limit` characters."""

    def short(m: re.Match[str]) -> str:
        inner = m.group(0)[1:-1]
        return excerpt(inner, EXCERPT_CHARS) if len(inner) > EXCERPT_CHARS else m.group(0)

    line = _QUOTED.sub(short, text)
    line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def failure_report(name: str, received: str, problems: list[Problem], omitted: int = 0) -> str:
    """What a refused item's report says: nothing stored, the first problems, how to go on."""
    total = len(problems) + omitted
    lines = [printable(f"  {p}") for p in problems[:REPORT_PROBLEMS]]
    if total > len(lines):
        lines.append(f"  ... and {total - len(lines)} more problems")
    text = (
        f"{printable(name)} was NOT imported: nothing from it was stored.\n"
        f"Received {received}; {_count(total, 'problem')}:\n"
        + "\n".join(lines)
        + "\n\nCorrect the file and drop it into the folder again.\n"
    )
    data = text.encode("utf-8")
    if len(data) > REPORT_MAX_BYTES:
        text = data[: REPORT_MAX_BYTES - 100].decode("utf-8", "ignore") + "\n... (report cut short)\n"
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# ---------------------------------------------------------------------------------------------- folder


def _ignored(name: str) -> bool:
    """Hidden files, Office lock files and names that say they are still being written."""
    return name.startswith((".", "~$")) or name.lower().endswith(_PARTIAL_SUFFIXES)


def _subfolder(dir_fd: int, name: str, create: bool) -> int | None:
    """An open descriptor of done/ or failed/ (made 0700 when missing and `create`); FolderProblem when
    it is a link or not a folder."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            return None
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=dir_fd)
        st = os.lstat(name, dir_fd=dir_fd)
    if not stat.S_ISDIR(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        raise FolderProblem(
            f"{name}/ in the watched folder is {what}: nothing was imported or moved; "
            f"make {name}/ a real folder inside the watched folder"
        )
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:  # swapped for a link since the look
        raise FolderProblem(
            f"{name}/ in the watched folder cannot be opened safely ({exc.strerror})"
        ) from exc


@dataclass(frozen=True)
class _Entry:
    name: str
    st: os.stat_result


def _entries(dir_fd: int) -> list[_Entry]:
    out = []
    with os.scandir(dir_fd) as it:
        for e in it:
            if e.name in (DONE, FAILED) or _ignored(e.name):
                continue
            try:
                out.append(_Entry(e.name, e.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
    return sorted(out, key=lambda e: e.name)


def _check_file(st: os.stat_result, what: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise Refused(
            f"{what} is a symbolic link; the watched folder takes regular files only: nothing was read"
        )
    if not stat.S_ISREG(st.st_mode):
        raise Refused(
            f"{what} is not a regular file (a pipe, socket or device); the watched folder takes regular "
            "files only: nothing was read"
        )
    if st.st_nlink > 1:
        raise Refused(
            f"{what} has other hard links; copy the file into the folder instead of linking it: "
            "nothing was read"
        )


def _open_safely(dir_fd: int, name: str, flags: int) -> int:
    """A descriptor for `name` in `dir_fd` opened with `flags` (which do not follow links or block), or
    Refused when it cannot be opened so."""
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise Refused(
            f"{printable(name)} cannot be opened safely ({exc.strerror}): nothing was read"
        ) from exc


def _copy(dir_fd: int, name: str, seen: os.stat_result, target: Path, limit: int) -> None:
    """Copy a regular file named `name` in `dir_fd` to `target` (created 0600), refusing anything that is
    not the file looked at: opened without following links or blocking, checked again on the descriptor."""
    fd = _open_safely(dir_fd, name, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        _check_file(st, printable(name))
        if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
            raise StillWriting(name)
        if st.st_size > limit:
            raise Refused(_too_big(name, st.st_size, limit))
        copied = 0
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            while chunk := os.read(fd, _CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise Refused(_too_big(name, copied, limit))
                os.write(out, chunk)
        finally:
            os.close(out)
        after = os.fstat(fd)
        if after.st_size != copied or after.st_mtime_ns != st.st_mtime_ns:
            raise StillWriting(name)
    finally:
        os.close(fd)


def _too_big(name: str, size: int, limit: int) -> str:
    mb = 1024 * 1024
    most = round(limit / mb, 3)
    return (
        f"{printable(name)} is {size / mb:,.2f} MB; the watched folder takes files up to {most:g} MB "
        "(ROTA_IMPORT_MAX_MB): nothing was read; import it with `rota import`"
    )


def _stage(dir_fd: int, entry: _Entry, tmp: Path, limit: int, settle: float) -> Path | None:
    """Copy an item into the private folder `tmp` after checking it; None while it is still settling."""
    name, st = entry.name, entry.st
    now = time.time()
    if stat.S_ISDIR(st.st_mode):
        fd = _open_safely(dir_fd, name, _DIR_FLAGS)
        try:
            inner: list[_Entry] = []
            with os.scandir(fd) as it:
                for d in it:
                    inner.append(_Entry(d.name, d.stat(follow_symlinks=False)))
            for e in inner:
                what = f"{printable(name)}/{printable(e.name)}"
                if stat.S_ISDIR(e.st.st_mode):
                    raise Refused(
                        f"{what} is a folder; a bundle folder holds files only: nothing was imported"
                    )
                _check_file(e.st, what)
            newest = max([st.st_mtime, *(e.st.st_mtime for e in inner)])
            if now - newest < settle:
                return None
            total = sum(e.st.st_size for e in inner)
            if total > limit:
                raise Refused(_too_big(name, total, limit))
            folder = tmp / "bundle"
            folder.mkdir(mode=0o700)
            for e in inner:
                if not e.name.startswith("."):
                    _copy(fd, e.name, e.st, folder / e.name, limit)
            return folder
        finally:
            os.close(fd)
    _check_file(st, printable(name))
    if now - st.st_mtime < settle:
        return None
    if st.st_size > limit:
        raise Refused(_too_big(name, st.st_size, limit))
    target = tmp / name
    _copy(dir_fd, name, st, target, limit)
    return target


def _file_away(dir_fd: int, name: str, sub_fd: int, sub: str, stamp: str, report: str) -> str:
    """Move the item into done/ or failed/ (by descriptors: no link is followed) with its report (0600)."""
    target = f"{stamp}-{name}"
    n = 1
    while _exists(sub_fd, target) or _exists(sub_fd, target + REPORT_SUFFIX):
        n += 1
        target = f"{stamp}-{n}-{name}"
    os.rename(name, target, src_dir_fd=dir_fd, dst_dir_fd=sub_fd)
    fd = os.open(
        target + REPORT_SUFFIX, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=sub_fd
    )
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(report)
    return f"{sub}/{printable(target)}"


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- the job


def watch_folder(engine: Engine, settings: Settings, now: datetime) -> tuple[bool, str]:
    """One pass over the watched folder: (ok, what happened). Not ok when an item was refused or the
    folder itself is unsafe (then nothing is touched)."""
    folder = settings.import_watch
    if folder is None:
        return True, "nothing to watch: ROTA_IMPORT_WATCH is not set"
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return False, f"the watched folder {folder} does not exist (ROTA_IMPORT_WATCH)"
    try:
        return _watch(engine, settings, now, dir_fd)
    except FolderProblem as exc:
        return False, str(exc)
    finally:
        os.close(dir_fd)


def _watch(engine: Engine, settings: Settings, now: datetime, dir_fd: int) -> tuple[bool, str]:
    tz = settings.tz
    limit = int(settings.import_max_mb * 1024 * 1024)
    settle = settings.import_settle_seconds
    stamp = now.astimezone(tz).strftime("%Y%m%d-%H%M%S")
    received = uk_local(now, tz)
    # done/ and failed/ are checked before anything is read: a link there would carry files away.
    subs = {sub: _subfolder(dir_fd, sub, create=False) for sub in (DONE, FAILED)}

    def opened(sub: str) -> int:
        fd = subs[sub]
        if fd is None:
            fd = subs[sub] = _subfolder(dir_fd, sub, create=True)
        assert fd is not None
        return fd

    imported: list[str] = []
    refused: list[str] = []
    waiting = 0
    try:
        for entry in _entries(dir_fd):
            shown = printable(entry.name, 120)
            with tempfile.TemporaryDirectory(prefix="rota-watch-") as tmp:
                report: str
                try:
                    staged = _stage(dir_fd, entry, Path(tmp), limit, settle)
                    if staged is None:
                        waiting += 1
                        continue
                    result = import_file(
                        engine, WATCH_ACTOR, staged, tz, via="import-watch", source=entry.name
                    )
                except StillWriting:
                    waiting += 1
                    continue
                except StorageError:
                    raise  # the database, not the file: leave it where it is for the next run
                except Exception as exc:  # a bad or refused item of any sort: what went wrong, in short
                    if isinstance(exc, InputError):
                        problems, omitted = exc.problems, exc.omitted
                    else:
                        reason = str(exc) if isinstance(exc, Refused) else f"{exc.__class__.__name__}: {exc}"
                        problems, omitted = [Problem(entry.name, None, None, reason)], 0
                    report = failure_report(entry.name, received, problems, omitted)
                    moved = _file_away(dir_fd, entry.name, opened(FAILED), FAILED, stamp, report)
                    n = len(problems) + omitted
                    refused.append(f"{shown} -> {moved} ({_count(n, 'problem')})")
                    continue
            summary = printable(str(result))
            report = f"{printable(entry.name)} was imported on {received} by the watched folder: {summary}\n"
            moved = _file_away(dir_fd, entry.name, opened(DONE), DONE, stamp, report)
            imported.append(f"{shown} -> {moved}: {summary}")
    finally:
        for fd in subs.values():
            if fd is not None:
                os.close(fd)
    if not (imported or refused):
        return True, "nothing to import" + (f" ({waiting} still being written)" if waiting else "")
    parts = imported + refused
    if waiting:
        parts.append(f"{waiting} still being written")
    return not refused, "; ".join(parts)
