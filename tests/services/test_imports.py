"""The one import service (rota/services/imports.py) and its three entry points: `rota import`, the
watched folder and the Rota editor's upload give the same checks and the same problems."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.cli import main
from rota.errors import InputError, PermissionDenied
from rota.jobs import import_watch
from rota.model import Rota
from rota.rules import DEFAULT_ROLES, make_rule
from rota.services.access import ADMIN, COORDINATOR, Actor
from rota.services.editing import apply_import as upload_apply
from rota.services.editing import preview_import as upload_preview
from rota.services.imports import apply_import, import_file, kind_from_name, read_import
from rota.storage.audit import audit_entries
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from tests.jobs.conftest import NOW, settings_for, small_rota

POLICE = "Vale Police"
POLICE_COORD = Actor("pc", COORDINATOR, POLICE)
ADMIN_ACTOR = Actor("root", ADMIN)

# S1 is Vale Police's SIO, P1 the paediatrician of Vale Hospitals; P1-3 is one of P1's stored shifts.
HIJACK = "shift_id,responder_id,start,end\nP1-3,S1,2026-11-23 00:00,2026-11-23 08:00\n"
BAD_SHIFTS = (
    "shift_id,responder_id,start,end\n"
    "W2,NOBODY,2026-12-06 12:00,2026-12-06 16:00\n"
    "W3,S1,2026-12-06 18:00,2026-12-06 17:00\n"
)
SOCIAL_WORKER = "responder_id,name,role,agency\nSW1,Sam Example,social_worker,Vale Police\n"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, small_rota(), actor="test")
    try:
        yield eng
    finally:
        eng.dispose()


def _shift(engine: Engine, shift_id: str) -> dict[str, object]:
    rows = load_rota(engine).shifts.filter(pl.col("shift_id") == shift_id).to_dicts()
    assert len(rows) == 1
    return rows[0]


def _settled(path: Path) -> None:
    past = time.time() - 120
    os.utime(path, (past, past))


def test_kind_from_name() -> None:
    assert kind_from_name("shifts-week49.csv") == "shifts"
    assert kind_from_name("Shift list.csv") == "shifts"
    assert kind_from_name("cases-2026.csv") == "cases"
    assert kind_from_name("rota.csv") is None


def test_a_coordinator_cannot_take_over_another_agencys_shift_by_its_id(
    engine: Engine, tmp_path: Path
) -> None:
    before = _shift(engine, "P1-3")
    path = tmp_path / "shifts.csv"
    path.write_text(HIJACK)
    preview = read_import(engine, POLICE_COORD, path)
    assert not preview.ok
    [problem] = preview.problems
    assert (problem.file, problem.column) == ("shifts", "shift_id")
    assert "P1-3 is stored for P1 of Vale Hospitals" in problem.reason
    with pytest.raises(InputError):
        apply_import(engine, POLICE_COORD, preview)
    # the same file through the Rota editor's upload
    upload = upload_preview(engine, POLICE_COORD, "shifts.csv", HIJACK.encode())
    assert upload.problems == preview.problems
    with pytest.raises(InputError):
        upload_apply(engine, POLICE_COORD, upload)
    assert _shift(engine, "P1-3") == before
    # a preview made before the shift changed hands is checked again when applied
    mine = read_import(
        engine, POLICE_COORD, _write(tmp_path, "shifts-mine.csv", HIJACK.replace("P1-3", "S1-3"))
    )
    assert mine.ok
    moved = (
        load_rota(engine).shifts.filter(pl.col("shift_id") == "S1-3").with_columns(responder_id=pl.lit("P1"))
    )
    import_rota(engine, Rota(shifts=moved), actor="test", kinds={"shifts"})
    with pytest.raises(PermissionDenied):
        apply_import(engine, POLICE_COORD, mine)
    assert _shift(engine, "S1-3")["responder_id"] == "P1"
    # an administrator may move it
    import_file(engine, ADMIN_ACTOR, path)
    assert _shift(engine, "P1-3")["responder_id"] == "S1"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_role_of_the_stored_rules_imports_from_one_csv_on_every_path(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    roles = (*DEFAULT_ROLES, "social_worker")
    rule = make_rule({"id": "social-worker", "role": "social_worker", "competencies": ["jar"]}, roles)
    import_rota(engine, Rota(roles=roles, rules=(rule,)), actor="test", kinds={"roles", "rules"})
    # the command line
    path = _write(tmp_path, "responders.csv", SOCIAL_WORKER)
    assert main(["--db", db_url, "import", str(path), "--actor", "max"]) == 0
    # the watched folder
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _settled(_write(inbox, "responders-new.csv", SOCIAL_WORKER.replace("SW1,Sam", "SW2,Sasha")))
    outcome = import_watch(engine, settings_for(ROTA_IMPORT_WATCH=inbox), now=NOW)
    assert outcome.status == "ok", outcome.message
    # the Rota editor's upload, by the police coordinator
    data = SOCIAL_WORKER.replace("SW1,Sam", "SW3,Sol").encode()
    preview = upload_preview(engine, POLICE_COORD, "responders.csv", data)
    assert preview.ok, preview.problems
    upload_apply(engine, POLICE_COORD, preview)
    stored = load_rota(engine).responders.filter(pl.col("role") == "social_worker")
    assert sorted(stored.get_column("responder_id").to_list()) == ["SW1", "SW2", "SW3"]
    actors = set(audit_entries(engine, limit=None, entity="responder").get_column("actor").to_list())
    assert {"max", "import-watch", "pc"} <= actors


def test_the_same_bad_file_gives_the_same_problems_on_every_path(
    engine: Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "shifts-bad.csv", BAD_SHIFTS)
    expected = [str(p) for p in read_import(engine, ADMIN_ACTOR, path).problems]
    assert len(expected) == 2
    assert main(["--db", db_url, "import", str(path)]) == 2
    err = capsys.readouterr().err
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _settled(_write(inbox, "shifts-bad.csv", BAD_SHIFTS))
    import_watch(engine, settings_for(ROTA_IMPORT_WATCH=inbox), now=NOW)
    report = next((inbox / "failed").glob("*.report.txt")).read_text()
    upload = [
        str(p) for p in upload_preview(engine, ADMIN_ACTOR, "shifts-bad.csv", BAD_SHIFTS.encode()).problems
    ]
    assert upload == expected
    for line in expected:
        assert line in err and line in report
    assert load_rota(engine).shifts.filter(pl.col("shift_id").is_in(["W2", "W3"])).height == 0


def test_cases_are_for_the_manager_and_administrators_and_rules_for_administrators(
    engine: Engine, tmp_path: Path
) -> None:
    cases = _write(
        tmp_path,
        "cases.csv",
        "case_id,notified_at,age_years,jar_criteria_met,jar_triggered\nC1,2026-11-01 09:00,4,yes,yes\n",
    )
    assert [p.reason for p in read_import(engine, POLICE_COORD, cases).problems] == [
        "only the CDOP manager and administrators import case data"
    ]
    assert str(import_file(engine, ADMIN_ACTOR, cases)) == "cases: 1 created"
    with pytest.raises(PermissionDenied):
        read_import(engine, Actor("icb", "commissioner"), cases)


def test_a_bundle_and_its_cases_are_stored_in_one_transaction(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rota files and cases.csv of a folder are stored together or not at all: a failure while storing
    the cases (here a database fault injected after the rota rows were written) leaves the rota as it
    was, and the permission check runs inside the same write transaction."""
    import rota.storage.imports as repository
    from rota.bundle import write_bundle
    from rota.storage.cases import load_cases

    folder = tmp_path / "bundle"
    changed = small_rota()
    changed = Rota(
        responders=changed.responders.with_columns(pl.lit("Renamed Person").alias("name")),
        training=changed.training,
        shifts=changed.shifts,
        absences=changed.absences,
    )
    write_bundle(changed, folder, NOW.tzinfo)  # type: ignore[arg-type]
    _write(
        folder,
        "cases.csv",
        "case_id,notified_at,age_years,jar_criteria_met,jar_triggered\nC1,2026-11-01 09:00,4,yes,yes\n",
    )
    before = load_rota(engine)
    preview = read_import(engine, ADMIN_ACTOR, folder)
    assert preview.ok and preview.cases is not None

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full while storing the cases")

    monkeypatch.setattr(repository, "_store_cases", broken)
    with pytest.raises(RuntimeError):
        apply_import(engine, ADMIN_ACTOR, preview)
    assert load_rota(engine).responders.equals(before.responders)
    assert load_cases(engine).height == 0
    monkeypatch.undo()

    seen: list[str] = []
    real = repository.write_transaction

    def watched(eng: Engine):  # type: ignore[no-untyped-def]
        seen.append("transaction")
        return real(eng)

    monkeypatch.setattr(repository, "write_transaction", watched)
    result = apply_import(engine, ADMIN_ACTOR, preview)
    assert seen == ["transaction"]  # rota, cases and the re-check: one transaction
    assert result.cases is not None and result.cases.created == 1
    assert set(load_rota(engine).responders["name"]) == {"Renamed Person"}
