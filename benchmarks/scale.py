"""Scale benchmark: electing a leader and committing 1,000 commands, 3 to 100 nodes.

Run from the repository root:

    python benchmarks/scale.py                      # 3, 5, 9, 21, 51, 100 nodes
    python benchmarks/scale.py --nodes 3 5 9 --commands 200

For each cluster size it measures, in wall time and in simulated time, how
long the first election takes and how long 1,000 client commands take to be
committed by the leader (submitted in bursts of `--burst` every millisecond of
simulated time), and the Raft events per wall second, next to the empty event
loop measured in the same run (see throughput.py). Every checker is on.
A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402
from throughput import floor  # noqa: E402

from sim import Cluster  # noqa: E402

SIZES = (3, 5, 9, 21, 51, 100)  # a Cluster has at most 100 nodes


def measure(nodes: int, commands: int, burst: int, seed: int) -> dict[str, float]:
    """Elect, then commit `commands` commands; wall and simulated times, events."""
    cluster = Cluster(nodes, seed=seed)
    start = time.perf_counter()
    elected = cluster.run_until(lambda c: c.leader is not None, timeout=30.0)
    elect_wall, elect_sim = time.perf_counter() - start, cluster.now
    if not elected:
        raise RuntimeError(f"{nodes} nodes: no leader within 30 simulated seconds")
    events_before, sim_before = cluster.events_processed, cluster.now
    start = time.perf_counter()
    handles = []
    while len(handles) < commands:
        for _ in range(min(burst, commands - len(handles))):
            handles.append(cluster.submit(f"set k{len(handles)} {len(handles)}"))
        cluster.run(0.001)
    last = handles[-1]
    cluster.run_until(lambda c: last.outcome != "pending", timeout=60.0)
    commit_wall = time.perf_counter() - start
    return {
        "elect_wall": elect_wall,
        "elect_sim": elect_sim,
        "commit_wall": commit_wall,
        "commit_sim": cluster.now - sim_before,
        "committed": sum(h.committed for h in handles),
        "events": cluster.events_processed - events_before,
        "violations": len(cluster.violations),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=10, help="commands per simulated ms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not all(1 <= n <= 100 for n in args.nodes):
        parser.error("--nodes: each size must be from 1 to 100 (a Cluster's limit)")
    console = Console(width=None if sys.stdout.isatty() else 110)
    base = floor()
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("cluster sizes", total=len(args.nodes))
        for nodes in args.nodes:
            rows.append((nodes, measure(nodes, args.commands, args.burst, args.seed)))
            progress.advance(task)
    table = Table(title=f"elect, then commit {args.commands} commands (every checker on)")
    for column in (
        "nodes",
        "elect (wall s)",
        "elect (sim s)",
        "commit (wall s)",
        "commit (sim s)",
        "committed",
        "events/s",
        "share of floor",
    ):
        table.add_column(column, justify="right")
    for nodes, m in rows:
        rate = m["events"] / m["commit_wall"]
        table.add_row(
            str(nodes),
            f"{m['elect_wall']:.3f}",
            f"{m['elect_sim']:.3f}",
            f"{m['commit_wall']:.2f}",
            f"{m['commit_sim']:.3f}",
            f"{int(m['committed'])}",
            f"{rate:,.0f}",
            f"{rate / base:.4f}",
        )
    console.print(table)
    console.print(f"empty event loop in this run: {base:,.0f} events/s")
    if any(m["violations"] for _, m in rows):
        console.print("[red]safety violations were found: this is a simulator bug[/]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
