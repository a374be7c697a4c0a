"""Reading and writing the rota bundle: a folder of CSV files plus rules.toml, or an Excel workbook
(docs/bundle.md).

Reading is all-or-nothing: every file is read and checked, every bad value is collected as a `Problem`
(file, line, column, reason) and one `InputError` lists them all. Parsing and checks are vectorised in
polars so that a national bundle (500,000 shifts) reads in a fraction of a second; the per-value Python
parsers of `rota.timeutil` run only on the few bad values, to word their messages.

Line numbers count the header as line 1 and assume no quoted value spans lines; in a workbook they are
the row numbers of the sheet.

The parts: `read` (the entry points), `csvload` (a CSV file to a raw table), `workbook` (sheets),
`checks` (values to the canonical frame), `rulesfile` (rules.toml), `write` (folder and workbook) and
`common` (file names, the columns of each kind from `rota.model`'s records).
"""

from __future__ import annotations

from rota.bundle.common import (
    COLUMNS,
    KINDS,
    MAX_SHIFT,
    RULES_FILE,
    TOML_MAX_DEPTH,
    UNREAD_WORKBOOK_SUFFIXES,
    WORKBOOK_SUFFIXES,
)
from rota.bundle.read import check_rows, read_bundle, read_rules, read_table, refuse_unread_workbook
from rota.bundle.rulesfile import rules_toml
from rota.bundle.write import write_bundle, write_workbook

__all__ = [
    "COLUMNS",
    "KINDS",
    "MAX_SHIFT",
    "RULES_FILE",
    "TOML_MAX_DEPTH",
    "UNREAD_WORKBOOK_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "check_rows",
    "read_bundle",
    "read_rules",
    "read_table",
    "refuse_unread_workbook",
    "rules_toml",
    "write_bundle",
    "write_workbook",
]
