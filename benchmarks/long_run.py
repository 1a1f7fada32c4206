"""Long run: a million log entries with snapshots, in bounded memory.

Run from the repository root:

    python benchmarks/long_run.py                   # 1,000,000 entries, 5 nodes
    python benchmarks/long_run.py --entries 200000 --snapshot-interval 5000

A 5-node cluster with every checker on, `keep_history=False` (only recent
trace events are kept, no time travel) and automatic snapshots commits
`--entries` client commands over a small key space, submitted in bursts of
`--burst` per simulated millisecond (8: 8,000 a simulated second). Resident
memory is sampled as it goes (from /proc/self/statm, so Linux only): it
should level off once the first snapshots are taken, whatever the number of
entries.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import floor  # noqa: E402

from sim import Cluster  # noqa: E402


def resident_mib() -> float:
    """Resident memory of this process now, in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--snapshot-interval", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 100)
    cluster = Cluster(
        5,
        seed=1,
        keep_history=False,
        snapshot_interval=args.snapshot_interval,
        max_entries_per_request=64,  # batches big enough that commits keep up with the load
    )
    cluster.run_until(lambda c: c.leader is not None, timeout=5.0)
    every = max(1, args.entries // args.samples)
    samples: list[tuple[int, float, float, int, float]] = []
    start = time.perf_counter()
    submitted = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("entries", total=args.entries)
        while submitted < args.entries:
            for _ in range(min(args.burst, args.entries - submitted)):
                cluster.submit(f"set k{submitted % 100} {submitted}")
                submitted += 1
            cluster.run(0.001)
            if submitted % every < args.burst or submitted == args.entries:
                leader = cluster.leader
                commit = cluster.nodes[leader].commit_index if leader else 0
                samples.append(
                    (submitted, time.perf_counter() - start, resident_mib(), commit, cluster.now)
                )
                progress.update(task, completed=submitted)
    table = Table(title=f"{args.entries:,} entries, snapshot every {args.snapshot_interval:,}")
    for column in ("submitted", "wall s", "resident MiB", "leader commit", "simulated s"):
        table.add_column(column, justify="right")
    for submitted_at, wall, mib, commit, sim_s in samples:
        table.add_row(
            f"{submitted_at:,}", f"{wall:.1f}", f"{mib:.1f}", f"{commit:,}", f"{sim_s:.1f}"
        )
    console.print(table)
    rate = cluster.events_processed / samples[-1][1]
    base = floor()
    console.print(
        f"violations: {len(cluster.violations)}; events: {cluster.events_processed:,}; "
        f"events/s: {rate:,.0f} ({rate / base:.4f} of the empty event loop in this run, "
        f"{base:,.0f} events/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
