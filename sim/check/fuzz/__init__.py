"""The fault campaign behind `raftsim fuzz`.

A seed draws its own mix of cluster, faults and clients (`draw_profile`,
swarm testing) and gives a schedule of timed faults, faults triggered by
protocol events, writes and client operations (`generate`); a run carries it
out on a Cluster, heals everything and judges safety, liveness and the
linearizability of the clients' history (`execute`), says what a broken
property lost, and counts the protocol situations it reached (coverage); a
campaign runs many seeds, in worker processes if asked (`run_campaign`), or
on a Dask cluster (sim.check.fuzz.distributed, with the raftsim[dask] extra;
not imported here, so nothing else imports Dask); a failing schedule shrinks
to the actions that matter (`minimize`) and is saved as a scenario that
`raftsim run` replays (`scenario_text`).
"""

from sim.check.fuzz.campaign import run_campaign, run_seed
from sim.check.fuzz.run import Execution, Result, execute
from sim.check.fuzz.save import replay_command, scenario_text
from sim.check.fuzz.schedule import Action, ClientOp, FuzzSettings, Schedule, generate
from sim.check.fuzz.shrink import Minimized, minimize
from sim.check.fuzz.swarm import Profile, draw_profile

__all__ = [
    "Action",
    "ClientOp",
    "Execution",
    "FuzzSettings",
    "Minimized",
    "Profile",
    "Result",
    "Schedule",
    "draw_profile",
    "execute",
    "generate",
    "minimize",
    "replay_command",
    "run_campaign",
    "run_seed",
    "scenario_text",
]
