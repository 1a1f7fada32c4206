"""The fault campaign behind `raftsim fuzz`.

A seed gives a schedule of timed faults and client writes (`generate`); a
run carries it out on a Cluster, heals everything and judges safety and
liveness (`execute`); a campaign runs many seeds, in worker processes if
asked (`run_campaign`); a failing schedule shrinks to the actions that matter
(`minimize`) and is saved as a scenario that `raftsim run` replays
(`scenario_text`).
"""

from sim.check.fuzz.campaign import run_campaign, run_seed
from sim.check.fuzz.run import Execution, Result, execute
from sim.check.fuzz.save import replay_command, scenario_text
from sim.check.fuzz.schedule import Action, FuzzSettings, Schedule, generate
from sim.check.fuzz.shrink import Minimized, minimize

__all__ = [
    "Action",
    "Execution",
    "FuzzSettings",
    "Minimized",
    "Result",
    "Schedule",
    "execute",
    "generate",
    "minimize",
    "replay_command",
    "run_campaign",
    "run_seed",
    "scenario_text",
]
