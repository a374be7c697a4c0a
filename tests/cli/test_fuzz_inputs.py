"""Mutated input through the real command line: valid bundles, single CSV files, cases.csv and .xlsx
workbooks, damaged byte by byte (truncation, junk, CR-only line ends, BOMs, duplicated or dropped lines) or
cell by cell (extreme dates, huge numbers, control characters, long text, empty cells, swapped columns).

Whatever the damage, `rota import` exits 0 or 2 against an SQLite file database: on 2 the message names
the file (and a line, for a damaged row), there is no traceback, and every table is exactly as before;
`rota gaps --bundle` on the damaged bundle exits 0, 2 or 3. The example count follows the hypothesis
profile (tests/conftest.py); HYPOTHESIS_PROFILE=deep searches longer.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rota.cli import main
from tests.cli.conftest import ABSENCES, RESPONDERS, SHIFTS, TRAINING
from tests.cli.dbdump import dump

FILES = {
    "responders.csv": RESPONDERS,
    "training.csv": TRAINING,
    "shifts.csv": SHIFTS,
    "absences.csv": ABSENCES,
}
CASES = """case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,paediatrician_at,police_at,\
category,reason_incomplete
C1,2026-10-24 10:00,0,30,yes,yes,2026-10-24 11:00,2026-10-24 12:00,SUDI,
C2,2026-10-25 01:30+01:00,16,,yes,no,,,trauma,"SIO not available, gap"
C3,25/10/2026 13:00,9,,no,no,,,medical,
"""
RULES = '[[rule]]\nid = "sio-nights"\nrole = "sio"\nmin_count = 1\nwindows = ["Mon-Sun 19:00-07:00"]\n'

EXAMPLES = max(10, settings.default.max_examples // 2)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Values that have broken, or could break, a reader or what it feeds.
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0000-01-01",
            "9999-12-31",
            "1899-12-31",
            "2101-01-01 00:00",
            "0000-01-01 00:00",
            "9999-12-31T23:59+14:00",
            "1900-01-01 00:00",
            "2100-12-31 23:59",
            "31/02/2026 09:00",
            "2026-03-29 01:30",
            "2026-10-25 01:30",
            "2026-10-25T01:30+25:00",
            str(2**63),
            str(-(2**63) - 1),
            "1" * 40,
            "-1",
            "1e308",
            "NaN",
            "true",
            "oncall",
            "nurse",
            "P1",
            "A1",
            "=cmd|' /C calc'!A0",
            "a\x00b",
            "a\x1bb",
            "\u2028",
            "\ufeffP1",
            "x" * 65,
            "y" * 201,
            "z" * 501,
            "w" * 5000,
            '"',
            '"quoted, with comma"',
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> tuple[bytes, bool]:
    """A damaged copy of `data`, and whether the damage is to one row only (so a message can name it)."""
    how = draw(
        st.sampled_from(
            ["truncate", "junk", "cr_only", "crlf", "bom", "double_bom", "dup_line", "drop_line", "empty"]
        )
    )
    lines = data.split(b"\n")

    # Positions are drawn independently of the data's size and then scaled, so that a replayed example
    # draws the same way even if the data (a workbook's compressed bytes) came out a little different.
    def position(n: int) -> int:
        return draw(st.integers(0, 10_000)) * n // 10_000

    if how == "truncate":
        return data[: position(len(data))], False
    if how == "junk":
        at = position(len(data))
        junk = draw(st.binary(min_size=1, max_size=8))
        return data[:at] + junk + data[at:], False
    if how == "cr_only":
        return data.replace(b"\n", b"\r"), False
    if how == "crlf":
        return data.replace(b"\n", b"\r\n"), False
    if how == "bom":
        return b"\xef\xbb\xbf" + data, False
    if how == "double_bom":
        return b"\xef\xbb\xbf\xef\xbb\xbf" + data, False
    if how == "dup_line":
        i = position(len(lines) - 1)
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]), False
    if how == "drop_line":
        i = position(len(lines) - 1)
        return b"\n".join(lines[:i] + lines[i + 1 :]), False
    return b"", False


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@st.composite
def cell_mutation(draw: st.DrawFn, text: str) -> tuple[list[list[str]], bool]:
    """Rows of `text` with cells changed or columns swapped; whether one data row only was changed."""
    rows = _rows(text)
    how = draw(st.sampled_from(["cell", "cell", "cell", "swap_columns", "dup_row", "blank_row_cells"]))
    if how == "swap_columns":
        a, b = draw(st.integers(0, len(rows[0]) - 1)), draw(st.integers(0, len(rows[0]) - 1))
        for row in rows:
            row[a], row[b] = row[b], row[a]
        return rows, False
    if how == "dup_row":
        i = draw(st.integers(1, len(rows) - 1))
        rows.insert(i, list(rows[i]))
        return rows, True
    i = draw(st.integers(0, len(rows) - 1))
    if how == "blank_row_cells":
        rows[i] = ["" for _ in rows[i]]
        return rows, i > 0
    for _ in range(draw(st.integers(1, 3))):
        j = draw(st.integers(0, len(rows[i]) - 1))
        rows[i][j] = draw(CELLS)
    return rows, i > 0


def _run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database holding the valid bundle, copied for each example."""
    folder = tmp_path_factory.mktemp("template")
    bundle = folder / "bundle"
    bundle.mkdir()
    for name, text in FILES.items():
        (bundle / name).write_text(text, encoding="utf-8")
    db = folder / "rota.db"
    url = f"sqlite:///{db}"
    assert _run("--db", url, "init")[0] == 0
    code, err = _run("--db", url, "import", str(bundle))
    assert code == 0, err
    return db


@pytest.fixture
def workdir() -> Iterator[Callable[[], Path]]:
    made: list[tempfile.TemporaryDirectory[str]] = []

    def new() -> Path:
        d = tempfile.TemporaryDirectory(prefix="rota-fuzz-")
        made.append(d)
        return Path(d.name)

    yield new
    for d in made:
        d.cleanup()


def _fresh_db(template: Path, folder: Path) -> str:
    db = folder / "rota.db"
    # SQLite's online backup, not a file copy: the template may still hold pages in its write-ahead log.
    with sqlite3.connect(template) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{db}"


def check_import(url: str, target: Path, names: list[str], row_damage: bool, *extra: str) -> int:
    """Import `target`; exit 0 or 2, and on 2 a message naming the file (and a line), nothing stored."""
    before = dump(url)
    code, err = _run("--db", url, "import", str(target), *extra)
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert err.startswith("rota: error:"), err
        assert any(n in err for n in names), err
        if row_damage:
            assert "line " in err, err
        assert dump(url) == before
    return code


def check_gaps(bundle: Path) -> None:
    code, err = _run(
        "gaps", "--bundle", str(bundle), "--start", "2026-10-24", "--end", "2026-10-27", "--fail-on-gap"
    )
    assert code in (0, 2, 3), err
    assert "Traceback" not in err and "internal error" not in err, err


@FUZZ
@given(
    data=st.data(),
    name=st.sampled_from([*FILES, "rules.toml", "cases.csv"]),
    byte_level=st.booleans(),
)
def test_a_damaged_bundle_is_imported_or_refused_cleanly(
    template: Path, workdir: Callable[[], Path], data: st.DataObject, name: str, byte_level: bool
) -> None:
    folder = workdir()
    url = _fresh_db(template, folder)
    bundle = folder / "bundle"
    bundle.mkdir()
    texts = {**FILES, "rules.toml": RULES, "cases.csv": CASES}
    for n, t in texts.items():
        (bundle / n).write_text(t, encoding="utf-8")
    row_damage = False
    if byte_level or name == "rules.toml":
        damaged, _ = data.draw(byte_mutation(texts[name].encode("utf-8")))
        if name == "rules.toml" and data.draw(st.booleans()):
            value = data.draw(st.sampled_from([str(2**63), "0", "-5", "1001", "[" * 600 + "]" * 600]))
            damaged = texts[name].replace("min_count = 1", f"min_count = {value}").encode()
    else:
        rows, row_damage = data.draw(cell_mutation(texts[name]))
        damaged = _csv(rows)
        row_damage = row_damage and b"\x00" not in damaged
    (bundle / name).write_bytes(damaged)
    check_import(url, bundle, [name], row_damage)
    check_gaps(bundle)


@FUZZ
@given(data=st.data(), name=st.sampled_from(list(FILES)), byte_level=st.booleans())
def test_a_damaged_single_csv_is_imported_or_refused_cleanly(
    template: Path, workdir: Callable[[], Path], data: st.DataObject, name: str, byte_level: bool
) -> None:
    folder = workdir()
    url = _fresh_db(template, folder)
    row_damage = False
    if byte_level:
        damaged, _ = data.draw(byte_mutation(FILES[name].encode("utf-8")))
    else:
        rows, row_damage = data.draw(cell_mutation(FILES[name]))
        damaged = _csv(rows)
        row_damage = row_damage and b"\x00" not in damaged
    path = folder / name
    path.write_bytes(damaged)
    check_import(url, path, [name], row_damage)


@FUZZ
@given(data=st.data(), byte_level=st.booleans())
def test_a_damaged_cases_csv_is_imported_or_refused_cleanly(
    template: Path, workdir: Callable[[], Path], data: st.DataObject, byte_level: bool
) -> None:
    folder = workdir()
    url = _fresh_db(template, folder)
    row_damage = False
    if byte_level:
        damaged, _ = data.draw(byte_mutation(CASES.encode("utf-8")))
    else:
        rows, row_damage = data.draw(cell_mutation(CASES))
        damaged = _csv(rows)
        row_damage = row_damage and b"\x00" not in damaged
    path = folder / "cases.csv"
    path.write_bytes(damaged)
    if check_import(url, path, ["cases.csv"], row_damage) == 2:
        code, err = _run("completion", "--cases", str(path))
        assert code == 2 and "cases.csv" in err and "Traceback" not in err, err


# Typed cells a workbook may hold besides text.
SHEET_CELLS = st.one_of(
    CELLS.map(lambda v: ("text", v)),
    st.sampled_from([2**63, -1, 1e308, 0, 2958465.9999, -693594]).map(lambda v: ("number", v)),
    st.booleans().map(lambda v: ("bool", v)),
)


@FUZZ
@given(data=st.data(), byte_level=st.booleans())
def test_a_damaged_workbook_is_imported_or_refused_cleanly(
    template: Path, workdir: Callable[[], Path], data: st.DataObject, byte_level: bool
) -> None:
    folder = workdir()
    url = _fresh_db(template, folder)
    book = folder / "rota.xlsx"
    sheets = {name.removesuffix(".csv"): _rows(text) for name, text in FILES.items()}
    target = data.draw(st.sampled_from(sorted(sheets)))
    rows = sheets[target]
    changes: dict[tuple[int, int], tuple[str, object]] = {}
    if not byte_level:
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(0, len(rows) - 1))
            j = data.draw(st.integers(0, len(rows[0]) - 1))
            changes[(i, j)] = data.draw(SHEET_CELLS)
    wb = xlsxwriter.Workbook(str(book), {"strings_to_numbers": False})
    wb.set_properties({"created": datetime(2026, 1, 1)})  # noqa: DTZ001 - the same bytes on every replay
    for name, sheet_rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(sheet_rows):
            for j, value in enumerate(row):
                kind, cell = changes.get((i, j), ("text", value)) if name == target else ("text", value)
                if kind == "number":
                    ws.write_number(i, j, float(cell))  # type: ignore[arg-type]
                elif kind == "bool":
                    ws.write_boolean(i, j, bool(cell))
                elif cell != "":
                    ws.write_string(i, j, str(cell))
    wb.close()
    if byte_level:
        damaged, _ = data.draw(byte_mutation(book.read_bytes()))
        book.write_bytes(damaged)
    check_import(url, book, ["rota.xlsx"], row_damage=False)
    check_gaps(book)
