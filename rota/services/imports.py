"""Long because the one import path keeps its four steps (read, check, scope, apply) side by side, so
that every entry point visibly gets the same checks; the scope check alone is a long list of rules.

The one import path (docs/bundle.md, "Importing"): `rota import`, the watched folder and the Rota editor's
upload all read, check, scope and store a file through these functions, so each has the same checks.

read -> validate (the bundle's rules, against the stored responders and configured roles) -> scope (what the
actor may change, judged on the stored rows as well as the new ones) -> apply (all or nothing, audited).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path, PurePosixPath

import polars as pl

from rota.analytics.cases import read_cases
from rota.bundle import (
    KINDS,
    RULES_FILE,
    WORKBOOK_SUFFIXES,
    read_bundle,
    read_table,
    refuse_unread_workbook,
)
from rota.errors import InputError, PermissionDenied, Problem
from rota.model import Rota
from rota.services.access import (
    ADMIN,
    COORDINATOR,
    Actor,
    can_import_cases,
)
from rota.services.gapalerts import reconcile_gap_alerts
from rota.storage import Connection, Engine
from rota.storage.changes import KindCounts
from rota.storage.frames import connected
from rota.storage.imports import import_rota_and_cases
from rota.storage.people import responder_agencies, stored_responders
from rota.storage.rota import ImportSummary
from rota.storage.rules import stored_rules
from rota.storage.versioned import versioned_rows
from rota.timeutil import SERVICE_TZ
from rota.vocab import account_role_label

CASES = "cases"
CASES_FILE = "cases.csv"
IMPORT_KINDS: tuple[str, ...] = (*KINDS, CASES)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # uncompressed, for a zipped bundle
_SCOPE_EXAMPLES = 20  # shift ids named in one message; the rest are counted


def kind_from_name(name: str) -> str | None:
    """What a CSV holds, from its file name: `shifts.csv`, `shifts-week49.csv`, `Shift list.csv` ->
    shifts; None when the name does not say."""
    stem = PurePosixPath(name).stem.lower()
    for kind in IMPORT_KINDS:
        if stem.startswith(kind) or stem.startswith(kind.rstrip("s")):
            return kind
    return None


def _unknown_kind(name: str) -> Problem:
    return Problem(
        name,
        None,
        None,
        "cannot tell what this CSV holds from its name: name it responders*.csv, training*.csv, "
        "shifts*.csv, absences*.csv or cases*.csv, or say which kind it holds (`rota import --kind`, or "
        "'A CSV file holds' in the Rota editor)",
    )


@dataclass(frozen=True)
class ImportPreview:
    """A file read and checked by the import's rules and the actor's permissions; nothing stored yet.

    `kinds` are what the file holds (responders, training, shifts, absences, cases); `bundle` is true for
    a bundle folder, zipped bundle or workbook, which carries roles and rules as well."""

    source: str
    rota: Rota | None
    kinds: tuple[str, ...]
    problems: tuple[Problem, ...]
    counts: Mapping[str, int] = field(default_factory=dict)  # rows per kind, plus new/updated shifts
    cases: pl.DataFrame | None = None
    bundle: bool = False
    omitted: int = 0  # problems found beyond those listed

    @property
    def ok(self) -> bool:
        return not self.problems and not self.omitted and (self.rota is not None or self.cases is not None)

    @property
    def rota_kinds(self) -> tuple[str, ...]:
        return tuple(k for k in self.kinds if k != CASES)

    def frame(self, kind: str) -> pl.DataFrame | None:
        """The rows of one kind as read."""
        if kind == CASES:
            return self.cases
        return None if self.rota is None else getattr(self.rota, kind)

    def error(self) -> InputError:
        """The problems as the InputError every entry point reports."""
        return InputError(list(self.problems) or "nothing to import", omitted=self.omitted)


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: per rota kind, and the cases."""

    source: str
    rota: ImportSummary | None = None
    cases: KindCounts | None = None

    def __getitem__(self, kind: str) -> KindCounts:
        """The counts of one kind (responders, ..., rules, or cases)."""
        if kind == CASES:
            return self.cases or KindCounts()
        return self.rota[kind] if self.rota is not None else KindCounts()

    def __str__(self) -> str:
        parts = [str(self.rota)] if self.rota is not None else []
        if self.cases is not None:
            parts.append(f"cases: {cases_text(self.cases)}")
        return "; ".join(parts) if parts else "nothing changed"


# ------------------------------------------------------------------------------------------------ read


def _require_may_import(actor: Actor) -> None:
    if actor.role not in (ADMIN, COORDINATOR) and not can_import_cases(actor):
        raise PermissionDenied(f"the {account_role_label(actor.role)} role cannot import files")


def read_import(
    engine: Engine,
    actor: Actor,
    path: Path,
    tz: tzinfo = SERVICE_TZ,
    *,
    kind: str | None = None,
    source: str | None = None,
) -> ImportPreview:
    """Read and check a bundle folder (with an optional cases.csv), a workbook, or one CSV (`kind`, else
    from its name), then what `actor` may change. Nothing is stored. `source` names the file in
    messages (default: its name). Raises PermissionDenied only for an actor who may import nothing."""
    _require_may_import(actor)
    path = Path(path)
    name = source or path.name or str(path)
    known = stored_responders(engine)
    _rules, roles = stored_rules(engine)
    problems: list[Problem] = []
    omitted = 0
    rota: Rota | None = None
    cases: pl.DataFrame | None = None
    kinds: tuple[str, ...] = ()
    bundle = path.is_dir() or path.suffix.lower() in WORKBOOK_SUFFIXES
    try:
        refuse_unread_workbook(path)  # .xlsm, .xls, .ods...: say that only .xlsx is read, and how to save
    except InputError as exc:
        return ImportPreview(name, None, (), tuple(exc.problems), cases=None, bundle=False)
    if bundle:
        if kind is not None:
            problems.append(
                Problem(name, None, None, "a kind is for one CSV file; a bundle says what each part holds")
            )
        try:
            rota = read_bundle(path, tz, known_responders=known, known_roles=roles)
        except InputError as exc:
            problems += exc.problems
            omitted += exc.omitted
        kinds = KINDS
        cases_file = path / CASES_FILE
        if path.is_dir() and cases_file.is_file():
            kinds = IMPORT_KINDS
            try:
                cases = read_cases(cases_file, tz)
            except InputError as exc:
                problems += exc.problems
                omitted += exc.omitted
    elif path.suffix.lower() == ".csv":
        which = kind or kind_from_name(name)
        if which is None:
            problems.append(_unknown_kind(name))
        elif which not in IMPORT_KINDS:
            problems.append(
                Problem(name, None, None, f"unknown kind {which!r}; use {', '.join(IMPORT_KINDS)}")
            )
        else:
            kinds = (which,)
            try:
                if which == CASES:
                    cases = read_cases(path, tz)
                else:
                    frame = read_table(path, which, tz, known_responders=known, known_roles=roles)
                    rota = _one_kind(which, frame, roles)
            except InputError as exc:
                problems += exc.problems
                omitted += exc.omitted
    else:
        problems.append(
            Problem(
                name,
                None,
                None,
                "not a bundle folder, a zipped bundle (.zip), a workbook (.xlsx) or a CSV file: not imported",
            )
        )
    if problems or omitted:
        return ImportPreview(name, None, kinds, tuple(problems), cases=None, bundle=bundle, omitted=omitted)
    preview = ImportPreview(name, rota, kinds, (), cases=cases, bundle=bundle)
    scope = scope_problems(engine, actor, preview)
    return ImportPreview(name, rota, kinds, tuple(scope), _counts(engine, preview), cases, bundle)


def _one_kind(kind: str, frame: pl.DataFrame, roles: tuple[str, ...]) -> Rota:
    empty = Rota()
    return Rota(
        responders=frame if kind == "responders" else empty.responders,
        training=frame if kind == "training" else empty.training,
        shifts=frame if kind == "shifts" else empty.shifts,
        absences=frame if kind == "absences" else empty.absences,
        roles=roles,
    )


def _counts(engine: Engine, preview: ImportPreview) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in preview.kinds:
        frame = preview.frame(kind)
        counts[kind] = 0 if frame is None else frame.height
    rota = preview.rota
    if rota is not None and "shifts" in preview.kinds and rota.shifts.height:
        ids = rota.shifts.get_column("shift_id").drop_nulls().to_list()
        with engine.connect() as conn:
            stored_ids = versioned_rows(conn, "shift", keys=ids).height if ids else 0
        counts["shifts updated or unchanged"] = stored_ids
        counts["shifts new"] = rota.shifts.height - stored_ids
    return counts


def _safe_member_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    return base if base and not base.startswith(".") else "upload"


def preview_upload(
    engine: Engine,
    actor: Actor,
    filename: str,
    data: bytes,
    tz: tzinfo = SERVICE_TZ,
    kind: str | None = None,
) -> ImportPreview:
    """`read_import` for an uploaded file: a zipped bundle folder (.zip), a workbook (.xlsx) or one CSV."""
    _require_may_import(actor)
    name = _safe_member_name(filename)
    suffix = PurePosixPath(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="rota-upload-") as tmp:
        folder = Path(tmp)
        if suffix == ".zip":
            bundle = folder / "bundle"
            bundle.mkdir()
            try:
                _unzip_bundle(data, bundle, name)
            except InputError as exc:
                return ImportPreview(name, None, (), tuple(exc.problems), bundle=True)
            return read_import(engine, actor, bundle, tz, source=name)
        if suffix not in (*WORKBOOK_SUFFIXES, ".csv"):
            try:
                refuse_unread_workbook(Path(name))  # the same words as the other entry points
            except InputError as exc:
                return ImportPreview(name, None, (), tuple(exc.problems))
            problem = Problem(name, None, None, "upload a bundle (.zip), a workbook (.xlsx) or one CSV file")
            return ImportPreview(name, None, (), (problem,))
        path = folder / name
        path.write_bytes(data)
        return read_import(engine, actor, path, tz, kind=kind if suffix == ".csv" else None, source=name)


def _unzip_bundle(data: bytes, folder: Path, name: str) -> None:
    """The bundle files of a zip, flat into `folder` (no paths from the archive)."""
    wanted = {f"{k}.csv" for k in KINDS} | {RULES_FILE, CASES_FILE}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [m for m in z.infolist() if not m.is_dir() and PurePosixPath(m.filename).name in wanted]
            if sum(m.file_size for m in members) > MAX_UPLOAD_BYTES:
                raise InputError(
                    Problem(name, None, None, "the bundle is too large to import here; use `rota import`")
                )
            for m in members:
                target = folder / PurePosixPath(m.filename).name
                if target.exists():
                    raise InputError(Problem(name, None, None, f"the archive holds {target.name} twice"))
                target.write_bytes(z.read(m))
    except zipfile.BadZipFile as exc:
        raise InputError(Problem(name, None, None, "not a readable zip file")) from exc
    if not (folder / "responders.csv").exists():
        raise InputError(
            Problem(
                name, None, None, "the zip file holds no responders.csv; zip a bundle folder (docs/bundle.md)"
            )
        )


def cases_text(counts: KindCounts) -> str:
    """What an import did to the stored cases, in words: "2 created, 1 unchanged" (or "none")."""
    bits = [
        f"{n} {what}"
        for what, n in (
            ("created", counts.created),
            ("updated", counts.updated),
            ("deleted", counts.deleted),
            ("unchanged", counts.unchanged),
        )
        if n
    ]
    return ", ".join(bits) or "none"


# ------------------------------------------------------------------------------------------------ scope


def scope_problems(engine: Engine | Connection, actor: Actor, preview: ImportPreview) -> list[Problem]:
    """What in the file the actor may not change (docs/bundle.md, "Who may import what").

    Administrators may import anything. Cases are for the CDOP manager and administrators; rules and new
    roles for administrators. A coordinator changes only rows whose stored and new responder both belong
    to their agency: responders by id (file agency and stored agency), training, shifts and absences by
    their responder, and shifts that reuse a stored shift_id by the stored shift's responder too.
    """
    if actor.role == ADMIN:
        return []
    problems: list[Problem] = []
    rota = preview.rota
    if preview.cases is not None and not can_import_cases(actor):
        problems.append(
            Problem(CASES_FILE, None, None, "only the CDOP manager and administrators import case data")
        )
    if rota is None:
        return problems
    kinds = preview.rota_kinds
    if kinds and actor.role != COORDINATOR:
        problems.append(
            Problem(
                preview.source,
                None,
                None,
                f"the {account_role_label(actor.role)} role cannot change the rota (responders, training, "
                "shifts, absences); a coordinator or an administrator imports these",
            )
        )
        return problems
    if rota.rules:
        problems.append(
            Problem(
                RULES_FILE,
                None,
                None,
                "only the CDOP manager and administrators change coverage rules; leave rules.toml out",
            )
        )
    _rules, stored_roles = stored_rules(engine)
    extra = [r for r in rota.roles if r not in stored_roles]
    if extra:
        problems.append(
            Problem(RULES_FILE, None, "roles", f"only administrators add roles ({', '.join(extra)})")
        )
    mine = actor.agency
    file_agency: dict[str, str | None] = {}
    if "responders" in kinds:
        file_agency = dict(rota.responders.select("responder_id", "agency").iter_rows())
    ids = set(file_agency)
    for kind in ("training", "shifts", "absences"):
        if kind in kinds:
            ids |= set(getattr(rota, kind).get_column("responder_id").drop_nulls().to_list())
    shift_ids = rota.shifts.get_column("shift_id").drop_nulls().to_list() if "shifts" in kinds else []
    with connected(engine) as conn:
        stored_shifts = (
            versioned_rows(conn, "shift", keys=shift_ids).select("shift_id", "responder_id")
            if shift_ids
            else pl.DataFrame(schema={"shift_id": pl.String(), "responder_id": pl.String()})
        )
        ids |= set(stored_shifts.get_column("responder_id").drop_nulls().to_list())
        stored = responder_agencies(conn, sorted(ids))
    for rid, agency in sorted(file_agency.items()):
        if agency != mine:
            problems.append(
                Problem(
                    "responders",
                    None,
                    "agency",
                    f"{rid} is given agency {agency or '(blank)'}; you import {mine}'s responders only",
                )
            )
        elif rid in stored and stored[rid] != mine:
            problems.append(
                Problem(
                    "responders",
                    None,
                    "agency",
                    f"{rid} is stored under {stored[rid] or 'no agency'}; "
                    "only an administrator moves a responder",
                )
            )
    for kind in ("training", "shifts", "absences"):
        if kind not in kinds:
            continue
        counts = getattr(rota, kind).group_by("responder_id").len().sort("responder_id")
        for rid, n in counts.iter_rows():
            agency = file_agency[rid] if rid in file_agency else stored.get(rid)
            if agency != mine:
                problems.append(
                    Problem(
                        kind,
                        None,
                        "responder_id",
                        f"{n} row{'s' if n != 1 else ''} for {rid} of {agency or 'no agency'}; "
                        f"you coordinate {mine}",
                    )
                )
    # A shift_id names a stored shift: its stored responder must be the coordinator's too (else the
    # upload would move another agency's shift onto one of theirs).
    foreign: dict[str, list[str]] = {}
    for shift_id, rid in stored_shifts.iter_rows():
        if stored.get(rid) != mine:
            foreign.setdefault(rid, []).append(shift_id)
    for rid, some in sorted(foreign.items()):
        n = len(some)
        shown = ", ".join(sorted(some)[:_SCOPE_EXAMPLES])
        if n > _SCOPE_EXAMPLES:
            shown += f" and {n - _SCOPE_EXAMPLES} more"
        what = f"shifts {shown} are" if n != 1 else f"shift {shown} is"
        problems.append(
            Problem(
                "shifts",
                None,
                "shift_id",
                f"{what} stored for {rid} of {stored.get(rid) or 'no agency'}; you coordinate {mine} "
                "and change only its shifts (leave shift_id blank for a new shift)",
            )
        )
    return problems


# ------------------------------------------------------------------------------------------------ apply


def apply_import(
    engine: Engine,
    actor: Actor,
    preview: ImportPreview,
    *,
    replace: bool = False,
    via: str = "import",
    progress: Callable[[float, str], None] | None = None,
) -> ImportResult:
    """Store a checked preview, audited under the actor's name with `via` (cli, upload, import-watch) and
    the file's name as the source. The permissions are checked again first (PermissionDenied);
    InputError when the preview has problems. `replace` first removes the stored shifts and absences of the
    file's responders over its time span (for cases: the stored cases not in the file)."""
    _require_may_import(actor)
    step = progress or (lambda _f, _m: None)
    if not preview.ok:
        raise preview.error()
    source = f"{via} {preview.source}"

    def check_again(conn: Connection) -> None:
        # Inside the write transaction, so nothing can change between this check and the write.
        step(0.2, "Checking permissions again")
        problems = scope_problems(conn, actor, preview)
        if problems:
            raise PermissionDenied("; ".join(str(p) for p in problems[:5]))

    rota = preview.rota if preview.rota is not None and preview.rota_kinds else None
    kinds = set(preview.rota_kinds)
    if preview.bundle and actor.role == ADMIN:
        kinds |= {"roles", "rules"}
    rows = sum(getattr(rota, k).height for k in preview.rota_kinds) if rota is not None else 0
    cases = preview.cases.height if preview.cases is not None else 0
    step(0.4, f"Storing {rows + cases:,} rows in one transaction")
    summary, counts = import_rota_and_cases(
        engine,
        rota,
        preview.cases,
        actor=actor.username,
        replace=replace,
        kinds=kinds,
        source=source,
        cases_source=f"{source}/{CASES_FILE}" if preview.bundle else source,
        check=check_again,
    )
    result = ImportResult(preview.source, summary, counts)
    if rota is not None:
        step(0.9, "Bringing the gap alerts in step")
        reconcile_gap_alerts(engine)
    step(1.0, f"Stored: {result}")
    return result


def import_file(
    engine: Engine,
    actor: Actor,
    path: Path,
    tz: tzinfo = SERVICE_TZ,
    *,
    kind: str | None = None,
    replace: bool = False,
    via: str = "import",
    source: str | None = None,
) -> ImportResult:
    """Read, check, scope and store a file in one go: InputError listing every problem (nothing stored)
    or PermissionDenied; else what was stored."""
    preview = read_import(engine, actor, path, tz, kind=kind, source=source)
    if not preview.ok:
        raise preview.error()
    return apply_import(engine, actor, preview, replace=replace, via=via)
