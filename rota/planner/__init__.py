"""The capacity planner (docs/planner.md): extra on-call duties for existing responders that close the
riskiest gaps first, under working-time limits, found by OR-Tools' CP-SAT solver. Pure: no storage."""

from rota.planner.check import violations
from rota.planner.fills import Fill, with_fills
from rota.planner.limits import PlanLimits
from rota.planner.propose import Plan, demand_from_frame, plan
from rota.planner.training import Need

__all__ = ["Fill", "Need", "Plan", "PlanLimits", "demand_from_frame", "plan", "violations", "with_fills"]
