"""Where a search starts: a fresh cluster, or the state a scenario reaches.

Theory of operation: the start is always built as a scenario is, from the
text of a `cluster` line (with `log` lines and steps, for `--from`), so that
the file `--save` writes, which begins with that very text, replays to the
very world the search began with. For `--from FILE`, the file's `cluster`
line gets the search's bug switches and checkers; its steps run (quietly) up
to `--until`. The search then works on a copy of the cluster's world that
keeps no trace (campaign mode).

A fresh cluster gets settings that keep each step small (`FRESH_OPTIONS`):
no PreVote, one entry per AppendEntries and one request on the wire per
follower, as the Figure 8 stories use. Other settings: write them on the
`cluster` line of a scenario and start `--from` it.
"""

from __future__ import annotations

import io

import attrs
from rich.console import Console

from sim.check.checkers import SafetyViolation
from sim.check.explore.fork import untraced
from sim.engine.world import World
from sim.scenario import Scenario, ScenarioError, Unmet, build_cluster, parse
from sim.scenario.parser import lines, read_text
from sim.scenario.runner import Run, last_step

FRESH_OPTIONS = "seed=0 pre_vote=off max_inflight=1 max_entries_per_request=1"
# The Figure 3 properties of the Raft paper (sim/check/checkers/figure3.py).
SAFETY = (
    "election_safety",
    "leader_append_only",
    "log_matching",
    "leader_completeness",
    "state_machine_safety",
)
CHECKERS = {"all": "all", "safety": ",".join(SAFETY)}


@attrs.frozen(kw_only=True)
class Start:
    """The world a search begins with, and the scenario text that rebuilds it."""

    world: World
    text: str  # a `cluster` line, `log` lines and steps: what the saved file begins with
    described: str  # "a fresh 3-node cluster", "scenarios/x.scenario after step 4"
    max_term: int  # the highest term on any node at the start


def fresh(nodes: int, bugs: tuple[str, ...], checkers: str) -> Start:
    """A cluster of `nodes` servers with empty logs."""
    line = f"cluster nodes={nodes} {FRESH_OPTIONS}{_switches(bugs, checkers)}"
    return _start([line], f"a fresh {nodes}-node cluster", None, "<explore>")


def from_scenario(path: str, until: str | None, bugs: tuple[str, ...], checkers: str) -> Start:
    """The state the scenario at `path` reaches after step `until` (or at its end)."""
    text = read_text(path)
    scenario = parse(text, path)
    rows = lines(text)
    end = len(rows)
    if until is not None:
        end = scenario.steps[last_step(scenario, until)].line
    cluster_row = scenario.cluster_line - 1
    words = [
        word
        for word in scenario.cluster_source.split()
        if not word.startswith(("bugs=", "checkers="))
    ]
    merged = tuple(dict.fromkeys((*scenario.options.get("bugs", ()), *bugs)))  # type: ignore[arg-type]
    cluster = " ".join(words) + _switches(merged, checkers)
    body = [cluster, *rows[cluster_row + 1 : end]]
    where = path if until is None else f"{path} after step {until}"
    return _start(body, where, scenario, path)


def _switches(bugs: tuple[str, ...], checkers: str) -> str:
    words = f" checkers={CHECKERS[checkers]}"
    return (f" bugs={','.join(bugs)}" if bugs else "") + words


def _start(body: list[str], described: str, original: Scenario | None, path: str) -> Start:
    header = ["title: explore start", "summary: where the search begins"]
    scenario = parse("\n".join([*header, *body]), path)
    # Line numbers in errors should be those of the original file.
    if original is not None:
        shift = original.cluster_line - 3
        scenario = attrs.evolve(
            scenario,
            cluster_line=original.cluster_line,
            steps=tuple(attrs.evolve(s, line=s.line + shift) for s in scenario.steps),
        )
    build_cluster(scenario)  # bad options: one line, before anything runs
    run = Run(scenario, Console(file=io.StringIO()), verbose=False, quiet=True)
    for step in scenario.steps:
        try:
            step.execute(run)
        except (Unmet, SafetyViolation) as failed:
            raise ScenarioError(
                path, step.line, f"the scenario fails before the search starts: {failed}"
            ) from None
        except ValueError as error:
            raise ScenarioError(path, step.line, str(error)) from None
    cluster = run.cluster
    world: World = cluster._world  # the engine under the public front door
    network = world.network
    if network.drop or network.duplicate:
        # Losses and duplicates are the search's own choices, within its budgets.
        cluster.set_network(drop=0.0, duplicate=0.0)
        body = [*body, "network drop=0 duplicate=0"]
    copied = untraced(world)
    top = max(
        max(node.term for node in world.nodes.values()),
        max(disk.durable.term for disk in world.disks.values()),
    )
    return Start(world=copied, text="\n".join(body), described=described, max_term=top)
