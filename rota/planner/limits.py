"""The planner's working-time limits (SPEC 13; docs/planner.md "Limits"): a strict, simple local reading of
the Working Time Regulations and the NHS terms, each a setting."""

from __future__ import annotations

from dataclasses import dataclass

from rota.errors import InputError


@dataclass(frozen=True)
class PlanLimits:
    """Hours of rest between two duties of one person, most duty hours in any 7 x 24 real hours, most
    nights on consecutive dates, and the longest fill, in hours."""

    rest_hours: float = 11
    max_weekly_hours: float = 48
    max_consecutive_nights: int = 4
    max_shift_hours: float = 12

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not 0 <= self.rest_hours <= 48:
            problems.append(f"rest hours must be from 0 to 48, not {self.rest_hours:g}")
        if not 1 <= self.max_weekly_hours <= 168:
            problems.append(f"the most hours in a week must be from 1 to 168, not {self.max_weekly_hours:g}")
        nights = self.max_consecutive_nights
        if isinstance(nights, bool) or not isinstance(nights, int) or not 1 <= nights <= 14:
            problems.append(f"the most consecutive nights must be a whole number from 1 to 14, not {nights}")
        if not 0.25 <= self.max_shift_hours <= 24:
            problems.append(f"the longest fill must be from 0.25 to 24 hours, not {self.max_shift_hours:g}")
        if problems:
            raise InputError("; ".join(problems))

    @property
    def rest_seconds(self) -> int:
        return round(self.rest_hours * 3600)

    @property
    def weekly_seconds(self) -> int:
        return round(self.max_weekly_hours * 3600)

    @property
    def shift_seconds(self) -> int:
        return round(self.max_shift_hours * 3600)
