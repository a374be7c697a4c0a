"""The rota as plain polars frames: the one shape that the bundle, storage, engine and demo all exchange.

Instants are `Datetime("us", "UTC")`; training dates are local calendar dates (valid from 00:00 local on
`valid_from` to the end of `valid_until`, inclusive; null = no expiry).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from rota.rules import DEFAULT_ROLES, Rule, default_rules

UTC_US = pl.Datetime("us", "UTC")

RESPONDERS_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "name": pl.String(),
    "role": pl.String(),
    "agency": pl.String(),
    "email": pl.String(),
    "active": pl.Boolean(),
}
TRAINING_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "competency": pl.String(),
    "valid_from": pl.Date(),
    "valid_until": pl.Date(),
}
SHIFTS_SCHEMA: dict[str, pl.DataType] = {
    "shift_id": pl.String(),
    "responder_id": pl.String(),
    "start": UTC_US,
    "end": UTC_US,
    "kind": pl.String(),
}
ABSENCES_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "start": UTC_US,
    "end": UTC_US,
    "reason": pl.String(),
}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "responders": RESPONDERS_SCHEMA,
    "training": TRAINING_SCHEMA,
    "shifts": SHIFTS_SCHEMA,
    "absences": ABSENCES_SCHEMA,
}
SHIFT_KINDS = ("oncall", "onsite")


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


# The product settings stored in the database (`rota settings`), name -> what it sets. A completion target
# can also be set per measure, as completion_target.<measure>. Here rather than in rota.services.settings so
# that the command's help can name them without loading the storage layer.
PRODUCT_SETTINGS: dict[str, str] = {
    "child_population": "children aged 0-17 in the area, for the forecast's national-rate prior",
    "mean_commitment_hours": "mean hours a responder is committed to one case (Erlang-B), default 4",
    "suppression_threshold": "commissioners' views hide counts from 1 to one below this (default 5; 1 = off)",
    "completion_target": "target completion rate for the assurance icon, 0-1 (default 0.9)",
}
