"""`rota pack` (docs/commands.md, docs/reports.md): the pack written whole as PDF or HTML by the file's
extension, mode 0600, and exit 2 naming what is wrong (nothing written)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from rota.cli.pack import output_path, write_whole

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def quick_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner inside each pack gets 1 s here: its answer is tested in tests/planner, not here."""
    monkeypatch.setattr("rota.reports.figures.PLAN_TIME_LIMIT_S", 1.0)


@pytest.fixture
def stored(run: Run, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database holding the small test bundle (shifts in October 2026) and no cases."""
    db = tmp_path / "rota.db"
    monkeypatch.setenv("ROTA_DATABASE_URL", f"sqlite:///{db}")
    for argv in (("init",), ("import", str(bundle))):
        code, _, err = run(*argv)
        assert code == 0, err
    return db


def test_the_pack_as_pdf(run: Run, stored: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "pack.PDF"
    code, out, err = run(
        "pack", "--period", "2026-q3", "--audience", "commissioner", "--agency", "Vale Police", "-o", str(pdf)
    )
    assert code == 0, err
    assert "2026-Q3 assurance pack for commissioners and the board" in out
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".rota-pack")) == []


def test_the_extension_chooses_the_format(tmp_path: Path) -> None:
    assert output_path(tmp_path / "a.pdf") == (tmp_path / "a.pdf", "pdf")
    assert output_path(tmp_path / "a.HTML")[1] == "html" and output_path(tmp_path / "a.htm")[1] == "html"


def test_a_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "pack.html"
    target.write_text("the old pack", encoding="utf-8")
    target.chmod(0o644)
    write_whole(target, b"<!DOCTYPE html>new")
    assert target.read_bytes() == b"<!DOCTYPE html>new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pack.html"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--period", "2026-Q5"), "'2026-Q5' is not a quarter like 2026-Q3"),
        (("--period", "0000-Q1"), "the year 0 is outside"),
        (("--period", "2999-Q1"), "outside 1900"),
        (("--period", "2099-Q4"), "has not ended yet"),
        (("--audience", "everyone"), "invalid choice"),
        (("--agency", "Nobody's Trust"), "no responder belongs to the agency"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    run: Run, stored: Path, tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    out_file = tmp_path / "pack.pdf"
    code, _, err = run("pack", *argv, "-o", str(out_file))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out_file.exists()


def test_the_file_name_chooses_the_format(run: Run, stored: Path, tmp_path: Path) -> None:
    for target, message in (
        (tmp_path / "pack.docx", "name a .pdf or .html file"),
        (tmp_path / "missing" / "pack.pdf", "does not exist"),
        (tmp_path, "name a .pdf or .html file"),
    ):
        code, _, err = run("pack", "--period", "2026-Q3", "-o", str(target))
        assert code == 2 and message in err, err
    code, _, err = run("pack", "--period", "2026-Q3")
    assert code == 2 and "-o" in err
