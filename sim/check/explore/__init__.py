"""`raftsim explore`: every interleaving of a small cluster, and the shortest counterexample.

The explorer owns every choice the simulator would leave to its clock, its
network and its random draws (sim/check/explore/moves.py), keys states so
that one reached two ways is explored once (state.py), forks worlds cheaply
to try each choice (fork.py), and searches breadth first, depth first or by
random walks (search.py; parallel.py for BFS on several cores). A start is a
fresh cluster or the state a scenario reaches (start.py); a counterexample is
saved as a scenario file that `raftsim run` replays to the same failure
(save.py) and told on the console (report.py).
"""

from sim.check.explore.moves import Budgets
from sim.check.explore.report import command, explore
from sim.check.explore.save import scenario_text, step_lines
from sim.check.explore.search import STRATEGIES, Finding, Limits, Result, Search, Stats
from sim.check.explore.start import CHECKERS, Start, fresh, from_scenario

__all__ = [
    "CHECKERS",
    "STRATEGIES",
    "Budgets",
    "Finding",
    "Limits",
    "Result",
    "Search",
    "Start",
    "Stats",
    "command",
    "explore",
    "fresh",
    "from_scenario",
    "scenario_text",
    "step_lines",
]
