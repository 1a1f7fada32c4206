"""Exploration speed: states per second, memory per distinct state, and how the space grows.

Run from the repository root:

    python benchmarks/explore.py                        # Figure 8 start, BFS to depth 10
    python benchmarks/explore.py --nodes 3 --depth 10   # a fresh 3-node cluster instead
    python benchmarks/explore.py --depth 12 --jobs 2    # deeper, and on two cores too

What it does:

1. Measures the floor in this very run: the empty heap event loop of
   benchmarks/throughput.py (best of three), so that rates can be compared
   across machines as a ratio.
2. Times the three costs every explored state pays, on a state a few moves
   from the start: forking the world (sim/check/explore/fork.py), making a
   move, and keying the result (state.py).
3. Runs `raftsim explore`'s breadth-first search, without bugs, to --depth
   (no violation to stop it), in one process and, with --jobs, across worker
   processes. Reports states explored (successors made) and distinct states
   per wall second and per CPU second, the resident memory the search added
   per distinct state, and the distinct states each depth added.

Anchors, for scale: TLC checks about
200,000 states per second (Java), Stateright millions (Rust). Measured here
(Figure 8 start, depth 10, best of three interleaved runs): 4,824 states per
CPU second, 1.32x the 3,656 before node encodings were remembered and dropped
worlds taken apart (about 720 empty-loop events per state, against 950).

A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.throughput import floor  # noqa: E402
from sim.check.explore import Limits, Search, Start, fresh, from_scenario  # noqa: E402
from sim.check.explore import moves as mv  # noqa: E402
from sim.check.explore.fork import fork  # noqa: E402
from sim.check.explore.parallel import parallel_bfs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIGURE8 = str(ROOT / "scenarios" / "figure8-three-servers.scenario")
console = Console(width=None if sys.stdout.isatty() else 100)


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def costs(start: Start, limits: Limits, repeats: int = 2000) -> dict[str, float]:
    """Microseconds per fork, per move made, per key, on a state a few moves in."""
    search = Search(start.world, limits)
    state = search.root
    for _ in range(4):  # the first moves, in the search's order: a typical early state
        state, _, _ = search.successor(state, search.moves(state)[0])
    move = search.moves(state)[0]
    node = mv.touched(state.world, move)

    def timed(action) -> float:
        begin = time.process_time()
        for _ in range(repeats):
            action()
        return (time.process_time() - begin) / repeats * 1e6

    def make() -> None:
        mv.make(fork(state.world, node), move, eager=search.eager)

    fork_us = timed(lambda: fork(state.world, node))
    return {
        "fork": fork_us,
        "fork + move": timed(make),
        "key": timed(lambda: search.key(state)),
    }


def explore(start: Start, limits: Limits, jobs: int) -> tuple[object, float, float, float]:
    """One BFS: (result, wall s, CPU s of this process, MB of memory it added)."""
    before = rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    if jobs > 1:
        result = parallel_bfs(start.world, limits, jobs, None)
    else:
        result = Search(start.world, limits).bfs()
    return result, time.perf_counter() - wall, time.process_time() - cpu, rss_mb() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, help="a fresh cluster of N (default: Figure 8)")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="also run with this many workers")
    args = parser.parse_args(argv)
    if args.nodes is not None:
        start = fresh(args.nodes, (), "safety")
    else:
        start = from_scenario(FIGURE8, None, (), "safety")
    limits = Limits(depth=args.depth, max_term=start.max_term + 2)
    console.print(
        f"[bold]explore[/bold]: {start.described}, BFS to depth {args.depth}, terms <= "
        f"{limits.max_term}; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    floor_before = floor()
    micro = costs(start, limits)
    runs = [(1, *explore(start, limits, 1))]
    if args.jobs > 1:
        runs.append((args.jobs, *explore(start, limits, args.jobs)))
    floor_after = floor()

    table = Table(title="states per second", title_justify="left")
    for name in ("jobs", "stop", "explored", "distinct", "explored / s", "distinct / s"):
        table.add_column(name, justify="right")
    table.add_column("explored / CPU s", justify="right", style="bold")
    table.add_column("wall s", justify="right")
    table.add_column("KB / distinct", justify="right")
    for jobs, result, wall, cpu, added in runs:
        stats = result.stats  # type: ignore[attr-defined]
        per_state = added * 1024 / stats.distinct if jobs == 1 else float("nan")
        table.add_row(
            str(jobs),
            result.stop,  # type: ignore[attr-defined]
            f"{stats.explored:,}",
            f"{stats.distinct:,}",
            f"{stats.explored / wall:,.0f}",
            f"{stats.distinct / wall:,.0f}",
            f"{stats.explored / cpu:,.0f}" if jobs == 1 else "-",
            f"{wall:.1f}",
            f"{per_state:.2f}" if jobs == 1 else "-",
        )
    console.print(table)

    grows = Table(title="distinct states by depth", title_justify="left")
    grows.add_column("depth", justify="right")
    grows.add_column("new states", justify="right")
    grows.add_column("x previous", justify="right")
    by_depth = runs[0][1].stats.by_depth  # type: ignore[attr-defined]
    for depth, count in enumerate(by_depth):
        ratio = f"{count / by_depth[depth - 1]:.2f}" if depth and by_depth[depth - 1] else ""
        grows.add_row(str(depth), f"{count:,}", ratio)
    console.print(grows)

    console.print(
        "cost per state (CPU us): "
        + ", ".join(f"{name} {value:.0f}" for name, value in micro.items())
    )
    console.print(
        f"empty-loop floor: {floor_before:,.0f} events/s before, {floor_after:,.0f} after "
        "(a state costs about one fork, one move and one key; KB / distinct is the peak "
        "resident memory the search added, over the distinct states it kept)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
