"""The narrated demo behind `raftsim demo`: election, replication, a crash, recovery.

A short story told through the public `Cluster` API, printing the trace lines
that matter between narrations.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from sim.cluster import Cluster
from sim.show import render


class Narrator:
    """Prints narration, then the trace events added since the last narration."""

    def __init__(self, cluster: Cluster, console: Console, *, verbose: bool) -> None:
        self.cluster = cluster
        self.console = console
        self.verbose = verbose
        self._shown = 0

    def chapter(self, title: str, text: str) -> None:
        self.flush()
        self.console.print()
        self.console.print(Rule(f"[bold]{title}"))
        self.console.print(text, style="italic")

    def flush(self) -> None:
        events = self.cluster.trace[self._shown :]
        self._shown = len(self.cluster.trace)
        for line in render.story(events, verbose=self.verbose):
            self.console.print(line, soft_wrap=True)


def _all_applied(cluster: Cluster, index: int) -> bool:
    return all(v.last_applied >= index for v in cluster.nodes.values() if v.running)


def run_demo(console: Console, *, nodes: int = 5, seed: int = 7, verbose: bool = False) -> int:
    """Tell the demo story; returns a process exit code."""
    cluster = Cluster(nodes, seed=seed)
    say = Narrator(cluster, console, verbose=verbose)
    console.print(
        Panel.fit(
            f"[bold]raftsim demo[/]: {nodes} nodes, seed {seed}.\n"
            "Every line is one event of the simulation, told by the part of the node\n"
            "that acted (LogManager, Replicator, BallotBox, StateMachine: sofa-jraft's names).",
            border_style="cyan",
        )
    )
    say.chapter(
        "1. Leader election (Raft §5.2)",
        "Every node starts as a follower with a random election timeout of 150-300 ms.\n"
        "The first to time out asks the others whether it could win (PreVote), then runs "
        "a real election.",
    )
    if not cluster.run_until(lambda c: c.leader is not None, timeout=5.0):
        console.print("[red]no leader was elected within 5 simulated seconds[/]")
        return 1
    leader = cluster.leader
    cluster.run_until(lambda c: c.nodes[leader].commit_index >= 1, timeout=1.0)
    say.flush()
    console.print(render.node_table(cluster))

    say.chapter(
        "2. Log replication (Raft §5.3)",
        f"A client sends three commands to the leader {leader}. Each becomes a log entry, is\n"
        "copied to the followers, committed once a majority has it on disk, then applied.",
    )
    handles = [cluster.submit(cmd) for cmd in ("set x 1", "set y 2", "get x")]
    last = handles[-1].index or 0
    cluster.run_until(lambda c: _all_applied(c, last), timeout=2.0)
    say.flush()
    for handle in handles:
        console.print(f"  client: {handle.command!r} -> {handle.result} ({handle.outcome})")
    console.print(render.log_grid(cluster))

    say.chapter(
        "3. The leader crashes (Raft §5.2, §5.4)",
        f"{leader} stops. The followers stop hearing heartbeats; one of them times out and\n"
        "wins a new term. Only a node with every committed entry can win (§5.4.1).",
    )
    cluster.crash(leader)
    if not cluster.run_until(lambda c: c.leader not in (None, leader), timeout=5.0):
        console.print("[red]no new leader was elected within 5 simulated seconds[/]")
        return 1
    new_leader = cluster.leader
    handle = cluster.submit("set x 3")
    cluster.run_until(lambda c: handle.committed, timeout=2.0)
    say.flush()
    console.print(f"  client: {handle.command!r} -> {handle.result} ({handle.outcome})")

    say.chapter(
        "4. The old leader comes back",
        f"{leader} restarts from its disk (term, vote and log survived) and learns the new\n"
        f"term from {new_leader}, which brings its log up to date.",
    )
    cluster.restart(leader)
    target = cluster.nodes[new_leader].commit_index
    cluster.run_until(lambda c: _all_applied(c, target), timeout=3.0)
    say.flush()
    console.print(render.node_table(cluster))
    console.print(render.log_grid(cluster))
    logs = {tuple((e.index, e.term) for e in v.log) for v in cluster.nodes.values()}
    verdict = "all logs identical" if len(logs) == 1 else "logs still differ"
    console.print(
        f"\n[bold]{verdict}[/]; {cluster.now:.3f} simulated seconds, "
        f"{cluster.events_processed} events. Try --verbose for every message, or another --seed."
    )
    return 0
