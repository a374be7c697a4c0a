"""Who may have the board's assurance pack, and for which audience (docs/reports.md "Audiences").

- `manager`: the CDOP manager's pack, exact figures: for the CDOP manager and administrators.
- `commissioner`: the pack commissioners and the board read, every count derived from case data whole
  quarters only and small numbers suppressed, no case-level data, no names of responders. The CDOP manager
  and administrators may build it (to check what the board will see); commissioners get only this one.
- Coordinators get no pack.

The figures for an audience are read from the services *as that audience's reader* (`audience_actor`), so
the suppression and the refusals are the services' own, not re-implemented by the pack.
"""

from __future__ import annotations

import polars as pl

from rota.errors import InputError, PermissionDenied, Problem
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, Actor
from rota.storage import Engine
from rota.storage.people import stored_responders
from rota.vocab import PackAudience, values_of

MANAGER = PackAudience.MANAGER.value
AUDIENCES: tuple[str, ...] = values_of(PackAudience)  # commissioner, manager
AUDIENCE_LABELS = {COMMISSIONER: "commissioners and the board", MANAGER: "the CDOP manager"}
COVERAGE_TARGET = 1.0  # every hour covered: the protocol applies to every death, day or night


def can_build_pack(actor: Actor) -> bool:
    return actor.role in (ADMIN, CDOP_MANAGER, COMMISSIONER)


def audiences_for(actor: Actor) -> tuple[str, ...]:
    """The audiences `actor` may build, read or download packs for, the default first."""
    if actor.role in (ADMIN, CDOP_MANAGER):
        return (MANAGER, COMMISSIONER)
    if actor.role == COMMISSIONER:
        return (COMMISSIONER,)
    return ()


def pack_audience(actor: Actor, audience: str | None) -> str:
    """The audience to build for (`audience`, or `actor`'s default); PermissionDenied when not theirs."""
    allowed = audiences_for(actor)
    if not allowed:
        raise PermissionDenied(f"the {actor.role} role cannot build the assurance pack")
    if audience is None:
        return allowed[0]
    if audience not in AUDIENCES:
        raise InputError(Problem("audience", None, None, f"choose one of {', '.join(AUDIENCES)}"))
    if audience not in allowed:
        raise PermissionDenied("commissioners get the commissioner pack (suppressed figures) only")
    return audience


def audience_actor(actor: Actor, audience: str) -> Actor:
    """The reader the services see when gathering `audience`'s figures: a commissioner without an agency
    for the commissioner pack (whole-partnership aggregates, suppressed), the CDOP manager otherwise."""
    audience = pack_audience(actor, audience)
    role = COMMISSIONER if audience == COMMISSIONER else CDOP_MANAGER
    return Actor(actor.username, role, display_name=actor.display_name)


def agency_roles(engine: Engine, actor: Actor) -> dict[str, tuple[str, ...]]:
    """Each agency of the stored responders (active or not) with the responder roles it provides, sorted;
    aggregates only (no names), for the pack's agency sections."""
    pack_audience(actor, None)
    people = stored_responders(engine)
    if people.height == 0 or "agency" not in people.columns:
        return {}
    pairs = people.filter(pl.col("agency").is_not_null() & (pl.col("agency") != "")).select("agency", "role")
    out: dict[str, tuple[str, ...]] = {}
    for (agency,), group in pairs.group_by("agency"):
        out[str(agency)] = tuple(sorted(set(group.get_column("role").to_list())))
    return dict(sorted(out.items()))
