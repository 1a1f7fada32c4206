"""Time travel benchmark: after a long loaded run, how long do back() and goto() take?

Run from the repository root:

    python benchmarks/time_travel.py                  # 5 nodes, 9 simulated s, 1000 commands/s
    python benchmarks/time_travel.py --seconds 3 --repeats 1

What it does:

1. Measures the empty-loop floor of this machine (as throughput.py does).
2. Runs throughput.py's workload (5 nodes, one `submit` and one `run(1/rate)`
   per tick, checkers as shipped) `--repeats` times with checkpoints as
   shipped and as many times without checkpoints during runs (only the world
   as built), interleaved. The forward run's slowdown from taking
   checkpoints is the best "with" run against the best "without" run, by wall
   time and by CPU time (the CPU time of this process, steadier on a shared
   machine).
3. On the last run with checkpoints, times one `back()`, then `goto(middle)`,
   `goto(start)` and `goto(end)`, each as a ratio to that run's wall time.
   The aims: `back()` at most 0.1x, `goto(middle)` at most 0.25x.
   For comparison, one `back()` on the last run without checkpoints, which
   replays the whole history.
4. Reports the checkpoints: how many are kept, how many were taken, and the
   memory they hold after the run: what tracemalloc finds allocated by the
   checkpoints' copies and still alive, in one more run under tracemalloc,
   next to `Cluster.time_travel_stats()`'s estimate for that run.
5. As `raftsim watch` runs: its driver and keys (sim/show/driver.py,
   controls.py) at the default speed, 0.1 simulated s per real s, on a
   clock moved by hand one driver tick at a time, for `--watch-seconds`
   simulated seconds; then `b` pressed three times in a row at `--moments`
   moments (0.77 simulated s apart, resumed in between), each press timed as
   the user sees it: the key handled and the next frame of the dashboard
   drawn (120x40), which watch draws as soon as a key is handled. The first
   press of each row replays from wherever the last checkpoint happens to
   be; the next two show what going back again costs. Watch has no
   clients of its own (only the `r` key makes requests), so this is measured
   idle, and with `r` pressed `--watch-rate` times per simulated second
   (100: ten presses per real second at that speed, a stress case).
   Aim: 100 ms after 60 s.

A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from throughput import _met, console, floor, machine, run_workload  # noqa: E402

import sim.engine.checkpoints as checkpoints  # noqa: E402
from sim import Cluster  # noqa: E402
from sim.show.controls import Controls  # noqa: E402
from sim.show.dashboard import dashboard  # noqa: E402
from sim.show.driver import TICK, Driver  # noqa: E402

AIM_BACK = 0.1  # back() after the run, as a share of the run's wall time
AIM_MIDDLE = 0.25  # goto(middle)
AIM_WATCH_MS = 100  # `b` in watch after a 60-second run
AIM_SLOWDOWN = 0.05  # what checkpoints may cost a forward run


def loaded_run(args: argparse.Namespace, *, with_checkpoints: bool) -> tuple[Cluster, float, float]:
    """(cluster, wall s, CPU s) of throughput.py's workload; without checkpoints, only
    the world as built is kept (time travel then replays from the start)."""
    spacing = checkpoints.SPACING
    if not with_checkpoints:
        checkpoints.SPACING = sys.maxsize
    try:
        cluster = Cluster(args.nodes, seed=args.seed)
        out = run_workload(
            nodes=args.nodes, seed=args.seed, seconds=args.seconds, rate=args.rate, cluster=cluster
        )
    finally:
        checkpoints.SPACING = spacing
    return cluster, out.wall, out.cpu


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def checkpoint_memory(args: argparse.Namespace) -> tuple[int, int]:
    """(bytes tracemalloc finds allocated by checkpoints and still alive after one more
    run with checkpoints, what `time_travel_stats()` estimates for that run)."""
    gc.collect()
    tracemalloc.start(4)
    try:
        cluster = loaded_run(args, with_checkpoints=True)[0]
        gc.collect()  # checkpoints dropped by thinning are garbage (with cycles)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    mine = [
        tracemalloc.Filter(True, str(Path(checkpoints.__file__).with_name(name)), all_frames=True)
        for name in ("deep_copy.py", "checkpoints.py")
    ]
    held = sum(trace.size for trace in snapshot.filter_traces(mine).traces)
    return held, cluster.time_travel_stats()["bytes"]


WATCH_SPEED = 0.1  # `raftsim watch`'s default speed


class HandClock:
    """Real time for the watch driver, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watch_presses(seconds: float, rate: float, seed: int, moments: int) -> dict:
    """`b` pressed three times in a row at `moments` moments of watch, the first after
    `seconds` simulated seconds, then every MOMENTS_APART (resumed with the space bar
    in between), with `r` pressed `rate` times per simulated second: ms per press as
    the user sees it (key handled, next frame drawn) and for the key alone."""
    cluster = Cluster(5, seed=seed)
    clock = HandClock()
    controls = Controls(Driver(cluster, speed=WATCH_SPEED, clock=clock), clock=clock)
    console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True)
    requests = 0.0

    def watch_for(sim_seconds: float) -> None:
        nonlocal requests
        for _ in range(round(sim_seconds / WATCH_SPEED / TICK)):
            clock.now += TICK
            controls.driver.tick()
            requests += rate * TICK * WATCH_SPEED
            while requests >= 1:
                controls.press("r")
                requests -= 1

    def frame() -> None:
        console.print(dashboard(controls.cluster, controls.view_state(), 120, 40))
        console.file = io.StringIO()

    watch_for(seconds)
    first: list[tuple[float, float]] = []  # (seen, key alone) in ms
    again: list[tuple[float, float]] = []
    for moment in range(moments):
        if moment:
            controls.press(" ")  # resume
            watch_for(MOMENTS_APART)
        frame()
        events = len(cluster.trace)
        for press in range(3):
            gc.collect()  # each press from the same start: no collection left over
            start = time.perf_counter()
            controls.press("b")
            key = time.perf_counter() - start
            frame()
            (again if press else first).append((1000 * (time.perf_counter() - start), 1000 * key))
    return {"first": first, "again": again, "events": events, "stats": cluster.time_travel_stats()}


MOMENTS_APART = 0.77  # simulated s: not a multiple of anything, so the moments differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="simulated seconds (9)")
    parser.add_argument("--nodes", type=int, default=5, help="cluster size (5)")
    parser.add_argument("--seed", type=int, default=1, help="cluster seed (1)")
    parser.add_argument("--rate", type=float, default=1000.0, help="commands per simulated s")
    parser.add_argument("--repeats", type=int, default=3, help="runs with and without (3)")
    parser.add_argument(
        "--watch-seconds", type=float, default=60.0, help="watch's run before b (60 sim s)"
    )
    parser.add_argument(
        "--watch-rate", type=float, default=100.0, help="r presses per sim s, loaded watch (100)"
    )
    parser.add_argument("--moments", type=int, default=5, help="moments b is pressed at (5)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0 or args.nodes < 1 or args.repeats < 1:
        parser.error("--seconds, --rate and --repeats must be positive, --nodes at least 1")
    if args.watch_seconds <= 0 or args.watch_rate < 0 or args.moments < 1:
        parser.error("--watch-seconds and --moments must be positive, --watch-rate at least 0")

    console.print(f"[dim]{machine()}[/dim]")
    floor_rate = floor()
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    kept: dict[bool, tuple[Cluster, float]] = {}
    # No spinner: its thread would add CPU time to the runs it measures.
    for repeat in range(args.repeats):
        for with_checkpoints in (False, True):
            console.print(
                f"[dim]run {repeat + 1}/{args.repeats} "
                f"{'with' if with_checkpoints else 'without'} checkpoints[/dim]"
            )
            kept.pop(with_checkpoints, None)
            gc.collect()
            cluster, wall, cpu = loaded_run(args, with_checkpoints=with_checkpoints)
            runs[with_checkpoints].append((wall, cpu))
            kept[with_checkpoints] = (cluster, wall)

    console.print("[dim]time travel[/dim]")
    cluster, run_wall = kept[True]
    length = len(cluster.trace)
    travel = {
        "back()": timed(cluster.back),
        "goto(middle)": timed(lambda: cluster.goto(length // 2)),
        "goto(start)": timed(lambda: cluster.goto(0)),
        "goto(end)": timed(lambda: cluster.goto(length)),
    }
    assert len(cluster.trace) == length
    stats = cluster.time_travel_stats()
    old_cluster, old_wall = kept.pop(False)
    old_back = timed(old_cluster.back)
    del old_cluster
    console.print("[dim]watch[/dim]")
    watches = {
        rate: watch_presses(args.watch_seconds, rate, args.seed, args.moments)
        for rate in sorted({0.0, args.watch_rate})
    }
    console.print("[dim]memory (one more run, under tracemalloc)[/dim]")
    measured, estimated = checkpoint_memory(args)

    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    slow_wall = best[True][0] / best[False][0] - 1
    slow_cpu = best[True][1] / best[False][1] - 1
    table = Table(title=f"raftsim time travel: {args.nodes} nodes, seed {args.seed}")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("aim")
    table.add_column("notes", overflow="fold")
    table.add_row("machine", "", "", machine())
    table.add_row("empty-loop floor", f"{floor_rate:,.0f} ev/s", "", "heapq push/pop, best of 3")
    table.add_row(
        "forward run",
        f"{best[True][0]:.3f} s",
        "",
        f"{args.seconds:g} sim s at {args.rate:g} commands/s, checkpoints as shipped, best of "
        f"{args.repeats} (without: {best[False][0]:.3f} s); {length:,} trace events, "
        f"{len(cluster._journal.actions):,} journaled actions",
    )
    table.add_row(
        "slowdown from checkpoints",
        f"{100 * slow_cpu:+.1f}%",
        f"<= {100 * AIM_SLOWDOWN:g}% " + _met(slow_cpu <= AIM_SLOWDOWN),
        f"best with / best without, CPU time of this process; by wall time "
        f"{100 * slow_wall:+.1f}% (noisier when other processes share the CPUs)",
    )
    aims = {"back()": AIM_BACK, "goto(middle)": AIM_MIDDLE}
    for what, seconds in travel.items():
        ratio = seconds / run_wall
        aim = aims.get(what)
        table.add_row(
            what,
            f"{ratio:.3f}x",
            f"<= {aim:g}x " + _met(ratio <= aim) if aim else "",
            f"{seconds * 1000:,.0f} ms after the run ({run_wall:.3f} s wall)",
        )
    actions = len(cluster._journal.actions)
    worst = stats["spacing"] / actions * old_back
    table.add_row(
        "back() at worst",
        f"~{worst / run_wall:.3f}x",
        "",
        f"estimated: just before the next checkpoint is due, back() replays "
        f"{stats['spacing']:,} of the {actions:,} actions (the replay of all of them "
        f"without checkpoints took {old_back * 1000:,.0f} ms), after one copy",
    )
    table.add_row(
        "back() without checkpoints",
        f"{old_back / old_wall:.3f}x",
        "",
        f"{old_back * 1000:,.0f} ms: replays the whole history from the world as built",
    )
    table.add_row(
        "checkpoints kept",
        f"{stats['checkpoints']}",
        "",
        f"{stats['taken']} taken during the run and while travelling "
        f"({stats.get('travel', 0)} travel checkpoints kept); kept at journal "
        f"positions {', '.join(map(str, stats['positions']))}",
    )
    table.add_row(
        "checkpoint memory",
        f"{measured / 2**20:,.1f} MiB",
        "",
        f"after the run: allocated by the checkpoints' copies and still alive (tracemalloc); "
        f"time_travel_stats() estimates {estimated / 2**20:,.1f} MiB; "
        f"{measured / length:,.0f} B per trace event",
    )
    for rate, watch in watches.items():
        load = "idle" if rate == 0 else f"r {rate:g}/sim s"
        stats = watch["stats"]
        for label, times in (("b", watch["first"]), ("b again", watch["again"])):
            worst = max(seen for seen, _ in times)
            table.add_row(
                f"{label} in watch after {args.watch_seconds:g} s, {load}",
                f"{worst:,.0f} ms",
                f"<= {AIM_WATCH_MS} ms " + _met(worst <= AIM_WATCH_MS),
                f"the slowest of {len(times)}, key handled and frame drawn (median "
                f"{statistics.median(seen for seen, _ in times):,.0f} ms; the key alone: "
                f"slowest {max(key for _, key in times):,.0f} ms, median "
                f"{statistics.median(key for _, key in times):,.0f} ms)"
                + (
                    f"; {watch['events']:,} trace events, {stats['checkpoints']} "
                    f"checkpoints (~{stats['bytes'] / 2**20:,.1f} MiB by time_travel_stats()), "
                    f"spacing {stats['spacing']:,} actions"
                    if label == "b"
                    else "; the 2nd and 3rd press in a row"
                ),
            )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
