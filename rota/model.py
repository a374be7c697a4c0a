"""The rota as plain polars frames: the one shape that the bundle, storage, engine and demo all exchange,
and the one declaration of each record (responders, training, shifts, absences, cases).

Instants are `Datetime("us", "UTC")`; training dates are local calendar dates (valid from 00:00 local on
`valid_from` to the end of `valid_until`, inclusive; null = no expiry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

import polars as pl

from rota.limits import TextClass
from rota.rules import DEFAULT_ROLES, Rule, default_rules
from rota.vocab import DEFAULT_SHIFT_KIND, Measure, ShiftKind, values_of

UTC_US = pl.Datetime("us", "UTC")

# What a column holds: plain text, a responder reference, a responder role, true/false, a local date, an
# instant, a shift kind (rota.vocab.ShiftKind), a whole number. Readers check and parse by it.
ColumnType = Literal["text", "ref", "role", "bool", "date", "instant", "kind", "int"]
_DTYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "ref": pl.String(),
    "role": pl.String(),
    "kind": pl.String(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "instant": UTC_US,
    "int": pl.Int64(),
}


@dataclass(frozen=True)
class Column:
    """One column of a record: its name, whether a file must give it, what it holds and, for text, the
    length and characters allowed (rota.limits; docs/bundle.md "Limits")."""

    name: str
    required: bool = False
    type: ColumnType = "text"
    limit: TextClass = "id"

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self.type]


@dataclass(frozen=True)
class Record:
    """A record declared once (docs/bundle.md "Columns and words", docs/cases.md "cases.csv"): its columns
    in file order. The polars schema, the file columns, the editor's grid columns and the database table
    are made from (or checked against) it."""

    kind: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # the natural key: no two records share it (files are checked, tables unique)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def limits(self) -> dict[str, TextClass]:
        return {c.name: c.limit for c in self.columns}

    def of_type(self, *types: ColumnType) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type in types)

    def grid_columns(self, key: str) -> tuple[str, ...]:
        """The columns of an editor grid of these records keyed by `key` (the record's own id column, or
        a stored id put first)."""
        return self.names if key in self.names else (key, *self.names)


RESPONDERS = Record(
    "responders",
    (
        Column("responder_id", True),
        Column("name", True, limit="name"),
        Column("role", True, "role"),
        Column("agency", limit="name"),
        Column("email", limit="name"),
        Column("phone", limit="phone"),
        Column("active", False, "bool"),
    ),
    key=("responder_id",),
)
TRAINING = Record(
    "training",
    (
        Column("responder_id", True, "ref"),
        Column("competency", True),
        Column("valid_from", True, "date"),
        Column("valid_until", False, "date"),
    ),
    key=("responder_id", "competency", "valid_from"),
)
SHIFTS = Record(
    "shifts",
    (
        Column("shift_id"),
        Column("responder_id", True, "ref"),
        Column("start", True, "instant"),
        Column("end", True, "instant"),
        Column("kind", False, "kind"),
    ),
    key=("shift_id",),
)
ABSENCES = Record(
    "absences",
    (
        Column("responder_id", True, "ref"),
        Column("start", True, "instant"),
        Column("end", True, "instant"),
        Column("reason", limit="text"),
    ),
    key=("responder_id", "start", "end"),
)
# A pseudonymised CDOP case (docs/cases.md "cases.csv"): nothing identifies a child. The step times are
# the `step` columns of rota.vocab.Measure; `reason_category` is optional and derived when blank.
CASES = Record(
    "cases",
    (
        Column("case_id", True),
        Column("notified_at", True, "instant"),
        Column("age_years", True, "int"),
        Column("age_days", False, "int"),
        Column("jar_criteria_met", True, "bool"),
        Column("jar_triggered", True, "bool"),
        *(Column(m.step, False, "instant") for m in Measure if m.step is not None),
        Column("category", limit="name"),
        Column("reason_incomplete", limit="text"),
        Column("reason_category"),
    ),
    key=("case_id",),
)
# The rota's records, by the name of their file (responders.csv...) and sheet.
RECORDS: dict[str, Record] = {r.kind: r for r in (RESPONDERS, TRAINING, SHIFTS, ABSENCES)}

RESPONDERS_SCHEMA: dict[str, pl.DataType] = RESPONDERS.schema
TRAINING_SCHEMA: dict[str, pl.DataType] = TRAINING.schema
SHIFTS_SCHEMA: dict[str, pl.DataType] = SHIFTS.schema
ABSENCES_SCHEMA: dict[str, pl.DataType] = ABSENCES.schema
SCHEMAS: dict[str, dict[str, pl.DataType]] = {kind: r.schema for kind, r in RECORDS.items()}
SHIFT_KINDS: tuple[str, ...] = values_of(ShiftKind)


def empty(kind: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[kind])


def conform(kind: str, df: pl.DataFrame) -> pl.DataFrame:
    """Select and cast a frame to the canonical columns of `kind` (missing optional columns become null)."""
    schema = SCHEMAS[kind]
    cols = []
    for name, dtype in schema.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(cols)


@dataclass(frozen=True)
class Rota:
    """Responders, their training, shifts and absences, and the coverage rules (empty = the defaults)."""

    responders: pl.DataFrame = field(default_factory=lambda: empty("responders"))
    training: pl.DataFrame = field(default_factory=lambda: empty("training"))
    shifts: pl.DataFrame = field(default_factory=lambda: empty("shifts"))
    absences: pl.DataFrame = field(default_factory=lambda: empty("absences"))
    rules: tuple[Rule, ...] = ()
    roles: tuple[str, ...] = DEFAULT_ROLES

    def effective_rules(self) -> list[Rule]:
        return list(self.rules) if self.rules else default_rules()

    def conformed(self) -> Rota:
        return replace(
            self,
            responders=conform("responders", self.responders),
            training=conform("training", self.training),
            shifts=conform("shifts", self.shifts),
            absences=conform("absences", self.absences),
        )


def with_new_people(
    rota: Rota,
    ids: Sequence[str],
    names: Sequence[str],
    role: str,
    competencies: Sequence[str],
    valid_from: date,
    *,
    agency: str | None = None,
    duties: Sequence[tuple[str, datetime, datetime]] = (),
    kind: str = DEFAULT_SHIFT_KIND.value,
) -> Rota:
    """The rota with hypothetical people added (what-if scenarios, the planner's training answer): each
    of `ids`, named by `names`, of `role` and `agency`, active, holding every competency from `valid_from`
    with no end, and on duty in `duties` (responder id, start, end; shift ids `<id>-1`, `<id>-2`...)."""
    responders = pl.DataFrame(
        {
            "responder_id": list(ids),
            "name": list(names),
            "role": [role] * len(ids),
            "agency": [agency] * len(ids),
            "active": [True] * len(ids),
        },
        schema_overrides={"agency": pl.String},
    )
    pairs = [(r, c) for r in ids for c in competencies]
    training = pl.DataFrame(
        {
            "responder_id": [r for r, _ in pairs],
            "competency": [c for _, c in pairs],
            "valid_from": [valid_from] * len(pairs),
            "valid_until": [None] * len(pairs),
        },
        schema={
            "responder_id": pl.String,
            "competency": pl.String,
            "valid_from": pl.Date,
            "valid_until": pl.Date,
        },
    )
    counts: dict[str, int] = {}
    shift_ids = []
    for rid, _, _ in duties:
        counts[rid] = counts.get(rid, 0) + 1
        shift_ids.append(f"{rid}-{counts[rid]}")
    shifts = pl.DataFrame(
        {
            "shift_id": shift_ids,
            "responder_id": [r for r, _, _ in duties],
            "start": [a for _, a, _ in duties],
            "end": [b for _, _, b in duties],
            "kind": [kind] * len(duties),
        },
        schema={
            "shift_id": pl.String,
            "responder_id": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
            "kind": pl.String,
        },
    )
    return replace(
        rota,
        responders=pl.concat([conform("responders", rota.responders), conform("responders", responders)]),
        training=pl.concat([conform("training", rota.training), conform("training", training)]),
        shifts=pl.concat([conform("shifts", rota.shifts), conform("shifts", shifts)]),
    )


# The product settings stored in the database (`rota settings`), name -> what it sets. A completion target
# can also be set per measure, as completion_target.<measure>. Here rather than in rota.services.settings so
# that the command's help can name them without loading the storage layer.
PRODUCT_SETTINGS: dict[str, str] = {
    "child_population": "children aged 0-17 in the area, for the forecast's national-rate prior",
    "mean_commitment_hours": "mean hours a responder is committed to one case (Erlang-B), default 4",
    "suppression_threshold": "commissioners' views hide counts from 1 to one below this (default 5; 1 = off)",
    "completion_target": "target completion rate for the assurance icon, 0-1 (default 0.9)",
}
