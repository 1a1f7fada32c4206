"""Linearizability benchmark: how long does checking a client history take?

Run from the repository root:

    python benchmarks/linearizability.py                 # 10,000 operations, 10 keys, 5 clients
    python benchmarks/linearizability.py --ops 50000 --clients 8 --seed 3
    python benchmarks/linearizability.py --repeat 5 --max-states 200000

What it does (the aim is "the 10,000-operation history checked in
under a second"):

1. Generates a history with `sim.check.history.synthetic_history` (seeded): each
   client runs one operation at a time on a random key (get, set, append,
   cas, del with small values, so that many orders give the same results);
   every operation takes effect at a random instant inside its interval,
   which makes the history linearizable by construction. A share of the
   operations end unknown (half of those took effect, half did not) or fail.
2. Checks it with `sim.check.linearizability.check`, `--repeat` times, and reports
   the best and the median wall time, states explored and operations per
   second. Generation is not timed.
3. Checks the same history with one read damaged (a get at the end that
   reads a value nobody wrote), which must be found and explained, and
   prints the explanation.
4. Runs two harder mixes (more clients, more unknown outcomes) to show how
   the search scales when many operations overlap.

The aim is met when the first history is checked in under a second. A
benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from throughput import floor, machine  # noqa: E402

from sim.check.history import History, Operation, Outcome, synthetic_history  # noqa: E402
from sim.check.linearizability import DEFAULT_MAX_STATES, CheckResult, check  # noqa: E402

AIM_SECONDS = 1.0  # the aim: a 10,000-operation history checked in under a second

console = Console(width=None if sys.stdout.isatty() else 120)


def _met(ok: bool) -> str:
    return "[bold green]met[/bold green]" if ok else "[bold red]missed[/bold red]"


def timed_check(
    history: History, repeat: int, max_states: int, progress: Progress, label: str
) -> tuple[CheckResult, list[float]]:
    """Check `history` `repeat` times; the result and each run's wall time."""
    keys = len(history.keys())
    task = progress.add_task(label, total=repeat * keys)
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = check(history, max_states=max_states)
        times.append(time.perf_counter() - start)
        # Advanced after each timed run, so drawing the bar is never timed.
        progress.advance(task, keys)
        progress.refresh()
    assert result is not None
    return result, times


def damaged(history: History) -> History:
    """The history plus one get, after everything, of a value nobody wrote."""
    ops = list(history.operations)
    end = max(op.completed or op.invoked for op in ops) + 1_000
    bad = Operation(
        id=max(op.id for op in ops) + 1,
        client="c0",
        kind="get",
        key=ops[0].key,
        args=(),
        invoked=end,
        completed=end + 1_000,
        outcome=Outcome.OK,
        value="nobody-wrote-this",
    )
    return History([*ops, bad])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000, help="operations (default 10000)")
    parser.add_argument("--keys", type=int, default=10, help="keys (default 10)")
    parser.add_argument("--clients", type=int, default=5, help="concurrent clients (default 5)")
    parser.add_argument("--unknown", type=float, default=0.02, help="share unknown (0.02)")
    parser.add_argument("--fail", type=float, default=0.02, help="share failed (0.02)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per history (3)")
    parser.add_argument(
        "--max-states", type=int, default=DEFAULT_MAX_STATES, help="search budget per key"
    )
    args = parser.parse_args()

    console.print(f"[bold]Linearizability checker benchmark[/bold]  ({machine()})")
    mixes = [
        ("aim", args.clients, args.unknown, (100, 5_000)),
        ("many clients", args.clients * 4, args.unknown * 2.5, (100, 20_000)),
        ("many unknowns", args.clients * 2, 0.2, (100, 20_000)),
    ]
    rows = []
    aim_time = None
    explanation = None
    columns = (
        TextColumn("{task.description:>28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} keys"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, auto_refresh=False, transient=True) as progress:
        for name, clients, unknown, latency in mixes:
            history = synthetic_history(
                random.Random(f"raftsim/lin-bench/{args.seed}/{name}"),
                operations=args.ops,
                keys=args.keys,
                clients=clients,
                unknown=unknown,
                fail=args.fail,
                latency_us=latency,
            )
            result, times = timed_check(history, args.repeat, args.max_states, progress, name)
            rows.append((name, clients, unknown, history, result, times))
            if name == "aim":
                aim_time = min(times)
                bad = damaged(history)
                bad_result, bad_times = timed_check(
                    bad, args.repeat, args.max_states, progress, "aim + bad read"
                )
                rows.append(("aim + bad read", clients, unknown, bad, bad_result, bad_times))
                explanation = bad_result.explain()

    table = Table(title=f"check() on synthetic histories (seed {args.seed}, {args.keys} keys)")
    for header in ("history", "ops", "clients", "unknown", "verdict", "states"):
        table.add_column(header, justify="right" if header != "history" else "left")
    table.add_column("best s", justify="right")
    table.add_column("median s", justify="right")
    table.add_column("ops / s", justify="right")
    table.add_column("states / s", justify="right")
    table.add_column("of floor", justify="right")
    base = floor()
    for name, clients, unknown, history, result, times in rows:
        best = min(times)
        table.add_row(
            name,
            f"{len(history):,}",
            str(clients),
            f"{unknown:.0%}",
            result.verdict.value,
            f"{result.states:,}",
            f"{best:.3f}",
            f"{statistics.median(times):.3f}",
            f"{len(history) / best:,.0f}",
            f"{result.states / best:,.0f}",
            f"{result.states / best / base:.4f}",
        )
    console.print(table)
    console.print(f"empty event loop in this run: {base:,.0f} events/s (search states as a share)")
    assert aim_time is not None
    console.print(
        f"Aim: a {args.ops:,}-operation history checked in under {AIM_SECONDS:.0f} s: "
        f"{aim_time:.3f} s, {_met(aim_time < AIM_SECONDS)}."
    )
    console.print("\n[bold]The damaged history, as the checker explains it:[/bold]")
    console.print(explanation, markup=False, highlight=False)


if __name__ == "__main__":
    main()
