"""Scenario files: Raft's stories told step by step, with their expectations checked.

`load(path)` parses a file into a `Scenario`; `run_scenario(scenario, console)`
replays it on a `Cluster`, narrating as it goes. The format is described in
scenarios/README.md.
"""

from sim.scenario.library import entries, library_dir, resolve
from sim.scenario.model import Scenario, ScenarioError, Step, Unmet
from sim.scenario.parser import load, parse
from sim.scenario.runner import Outcome, build_cluster, run_scenario
from sim.scenario.steps import Chapter, Expect, Narrate

__all__ = [
    "Chapter",
    "Expect",
    "Narrate",
    "Outcome",
    "Scenario",
    "ScenarioError",
    "Step",
    "Unmet",
    "build_cluster",
    "entries",
    "library_dir",
    "load",
    "parse",
    "resolve",
    "run_scenario",
]
