"""Fuzzing rate: how many seeds per minute does `raftsim fuzz` get through?

Run from the repository root:

    python benchmarks/fuzz_rate.py                      # 100 seeds x 10 s, 5 nodes, 1 and 2 jobs
    python benchmarks/fuzz_rate.py --seeds 300 --jobs 4 --nodes 3
    python benchmarks/fuzz_rate.py --bug no_truncate    # failing seeds stop early: faster

What it does:

1. Measures the floor in this very run: the empty heap event loop of
   benchmarks/throughput.py (best of three), so that the Raft event rate can
   also be given as a ratio to it, which survives a noisy machine.
2. Runs the same seeds as `raftsim fuzz --seeds N --duration T` would
   (sim.check.fuzz.run_campaign): once in this process, then across --jobs worker
   processes. Each seed generates its schedule, builds its cluster with every
   checker on, runs the faults, heals, and checks liveness; a seed that fails
   stops at its first violation, so failures make a campaign faster.
3. Reports seeds per minute, Raft events per wall second (and as a fraction
   of the floor), simulated seconds per wall second, and the speed-up of the
   workers. Worker start-up (spawned interpreters importing raftsim) is
   included in the parallel wall time, as a user would see it.

A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.campaign_timing import timed_campaign  # noqa: E402
from benchmarks.throughput import floor, machine  # noqa: E402
from raft.bugs import check_bugs  # noqa: E402
from sim.check.fuzz import FuzzSettings, Result  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 100)


def campaign(seeds: range, settings: FuzzSettings, jobs: int) -> tuple[list[Result], float]:
    """Run the seeds with a progress bar; returns the results and the wall time."""
    label = f"{jobs} job{'s' if jobs > 1 else ''}"
    results, wall, _ = timed_campaign(console, label, seeds, settings, jobs)
    return results, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="simulated s per seed")
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="workers for the parallel run")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--bug", action="append", default=[], help="a bug switch; repeat")
    args = parser.parse_args(argv)
    try:
        bugs = tuple(check_bugs(args.bug))
    except ValueError as error:
        print(f"fuzz_rate: {error}", file=sys.stderr)
        return 2
    settings = FuzzSettings(duration=args.duration, nodes=args.nodes, bugs=tuple(sorted(bugs)))
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    console.print(
        f"[bold]fuzz rate[/bold]: {args.seeds} seeds x {args.duration:g} simulated s, "
        f"{args.nodes} nodes, bugs: {', '.join(settings.bugs) or 'none'}; "
        f"{machine()}"
    )
    floor_before = floor()
    runs = [(1, *campaign(seeds, settings, 1))]
    if args.jobs > 1:
        runs.append((args.jobs, *campaign(seeds, settings, args.jobs)))
    floor_after = floor()
    best_floor = max(floor_before, floor_after)

    table = Table(title="seeds per minute", title_justify="left")
    table.add_column("jobs", justify="right")
    table.add_column("wall s", justify="right")
    table.add_column("seeds / min", justify="right", style="bold")
    table.add_column("Raft events / s", justify="right")
    table.add_column("of floor", justify="right")
    table.add_column("sim s / wall s", justify="right")
    table.add_column("failing", justify="right")
    single_wall = runs[0][2]
    for jobs, results, wall in runs:
        events = sum(r.events for r in results)
        simulated = sum(r.simulated for r in results)
        table.add_row(
            str(jobs) + (f" (x{single_wall / wall:.2f})" if jobs > 1 else ""),
            f"{wall:.1f}",
            f"{len(results) * 60 / wall:,.0f}",
            f"{events / wall:,.0f}",
            f"{events / wall / best_floor:.3f}",
            f"{simulated / wall:,.0f}",
            str(sum(r.failed for r in results)),
        )
    console.print(table)
    console.print(
        f"empty-loop floor: {floor_before:,.0f} events/s before, {floor_after:,.0f} after "
        "(per process; 'of floor' divides the whole campaign's event rate by it)"
    )
    one = runs[0][1]
    if len(runs) > 1 and [(r.seed, r.verdict, r.kind, r.events) for r in one] != [
        (r.seed, r.verdict, r.kind, r.events) for r in runs[1][1]
    ]:
        console.print("[red]the parallel run disagrees with the single-process run[/red]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
