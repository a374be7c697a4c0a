"""A proposed fill: one extra on-call duty for one responder, and the rota with fills added as shifts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from rota.model import Rota, conform


@dataclass(frozen=True)
class Fill:
    """An extra duty [start, end) (UTC-aware) for `responder_id`, closing gaps of the rules in `closes`."""

    responder_id: str
    start: datetime
    end: datetime
    kind: str = "oncall"
    closes: tuple[str, ...] = ()
    expected: float = 0.0  # expected cases in the gap time it serves (each rule's band; not stored)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def with_fills(rota: Rota, fills: Sequence[Fill]) -> Rota:
    """The rota with every fill added as an ordinary shift (shift ids `plan-1`, `plan-2`...)."""
    if not fills:
        return rota
    added = conform(
        "shifts",
        pl.DataFrame(
            {
                "shift_id": [f"plan-{i}" for i in range(1, len(fills) + 1)],
                "responder_id": [f.responder_id for f in fills],
                "start": [f.start for f in fills],
                "end": [f.end for f in fills],
                "kind": [f.kind for f in fills],
            }
        ),
    )
    return replace(rota, shifts=pl.concat([conform("shifts", rota.shifts), added]))
