"""Throughput benchmark: how fast does raftsim simulate a cluster under client load?

Run from the repository root:

    python benchmarks/throughput.py                  # 5 nodes, 10 simulated s, 1000 commands/s
    python benchmarks/throughput.py --seconds 3 --nodes 3 --seed 2 --rate 500
    python benchmarks/throughput.py --profile        # same workload under cProfile
    python benchmarks/throughput.py --no-sweep       # only the main load, no lighter ones
    python benchmarks/throughput.py --trace off      # campaign mode: no trace kept

What it does (see DESIGN.md, "Performance"):

1. Measures the floor in this very run: an empty event loop on a heapq heap
   of (time, seq, payload) tuples, each popped event scheduling one new one.
   Raft figures are also given as a ratio to it, which survives a noisy machine.
2. Builds `sim.Cluster(N, seed=K)`, elects a leader (not timed), then for S
   simulated seconds submits one command ("set kI I") every 1/R simulated
   seconds: `submit`, then `run(1/R)`. A refused command is resubmitted at
   once to the node the refusal names as leader (or to `cluster.leader`);
   if that fails too it waits for the next tick, ahead of newer commands.
   The workload runs twice with the same seed: with the safety checkers
   switched off (`Cluster(checkers="none")`), then as shipped (every checker
   on). Tracing is on unless `--trace off` (`Cluster(trace="off")`, campaign
   mode: then commit latencies are only known to within a tick).
3. Reports Raft events per wall second (`cluster.events_processed`),
   simulated seconds per wall second, commands committed per wall second,
   trace events recorded, peak memory (ru_maxrss), and how the cluster
   behaved under the load.
4. Compares with the aims in DESIGN.md and prints met / missed.
5. Sweeps lighter loads (heartbeats only, 10 and 100 commands/s; skip with
   --no-sweep): events per simulated second grow with the load and each
   event costs more, so the real-time factor depends on the load above all.
6. With --profile, runs the workload a third time (checkers on) under
   cProfile and prints the top functions, then the profile summed by layer
   (engine and trace, network, Raft algorithm, state machine, checkers) with
   Python-level calls per committed command; the figures come from the
   unprofiled runs.

A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import io
import os
import platform
import pstats
import re
import resource
import statistics
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402

from sim import Cluster  # noqa: E402

# Aims from DESIGN.md, "Performance".
AIM_EVENTS_PER_S = 150_000  # tracing on, checkers off
AIM_EVENTS_PER_S_CHECKED = 50_000  # every checker on
AIM_REALTIME = 500  # simulated seconds per wall second, 5 nodes under load
DESIGN_FLOOR = 1_400_000  # the empty loop on DESIGN.md's CI machine
AIM_RATIO = AIM_EVENTS_PER_S / DESIGN_FLOOR  # the same aim as a fraction of the floor

PROGRESS_EVERY_S = 0.25  # simulated seconds between progress-bar updates
PROGRESS_REFRESH_S = 0.1  # wall seconds between redraws, at most

# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 120)


# -- the floor ----------------------------------------------------------------


def empty_loop_rate(events: int = 500_000, pending: int = 64) -> float:
    """Events per second of an event loop that does nothing but keep its heap going."""
    start = time.perf_counter()
    spin(events, pending)
    return events / (time.perf_counter() - start)


def spin(events: int = 500_000, pending: int = 64) -> None:
    """The empty loop itself: `events` pops and pushes on a heap of `pending` events.

    The heap holds about what a 5-node cluster under load keeps (messages in
    flight, timers, flushes); each popped event schedules one new one a
    pseudo-random delay later, so the heap really reorders.
    """
    heap = [(t * 100, t, None) for t in range(pending)]  # sorted, so already a heap
    push, pop = heapq.heappush, heapq.heappop
    seq = pending
    for _ in range(events):
        now, _, payload = pop(heap)
        seq += 1
        push(heap, (now + 1_000 + (seq * 7_919) % 7_000, seq, payload))


def floor(repeats: int = 3) -> float:
    """Best of a few runs of the empty loop (the least disturbed one)."""
    return max(empty_loop_rate() for _ in range(repeats))


# -- the workload -------------------------------------------------------------


@dataclass
class Outcome:
    """What the timed part of a run measured, and how the cluster behaved."""

    nodes: int
    seed: int
    rate: float
    trace: str = "full"
    checkers: list[str] = field(default_factory=list)  # names of the checkers that ran
    violations: int = 0
    wall: float = 0.0  # timed part only, progress-bar time excluded
    cpu: float = 0.0  # CPU time of this process over the timed part (progress bar included)
    progress_wall: float = 0.0  # wall time spent updating the progress bar
    gc_wall: float = 0.0  # wall time the cyclic garbage collector ran (within `wall`)
    gc_collections: int = 0
    sim_seconds: float = 0.0
    events: int = 0
    trace_events: int = 0
    trace_total: int = 0
    election_sim: float = 0.0
    election_wall: float = 0.0
    leader_before: str | None = None
    leader_after: str | None = None
    ticks: int = 0
    submitted: int = 0  # submit() calls, including resubmissions
    accepted: int = 0
    refused: int = 0
    refusal_reasons: Counter = field(default_factory=Counter)
    committed: int = 0
    unknown: int = 0  # leader stepped down / crashed before it knew
    pending_at_end: int = 0
    backlog_at_end: int = 0  # refused commands still waiting for a leader
    latencies_us: list[int] = field(default_factory=list)
    latencies_exact: int = 0  # how many latencies came from the trace (the rest: tick bound)
    commit_granularity_us: int = 0
    trace_kinds: Counter = field(default_factory=Counter)
    leaders_elected: list[str] = field(default_factory=list)
    rss_before_kb: int = 0
    rss_peak_kb: int = 0


def _rss_kb() -> int:
    """Peak resident set size of this process so far, in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


class _GCTimer:
    """Adds up the wall time the cyclic GC takes (gc.callbacks: cheap, per collection)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.collections += 1


def run_workload(
    *,
    nodes: int,
    seed: int,
    seconds: float,
    rate: float,
    checkers: bool = True,
    trace: str = "full",
    progress: Progress | None = None,
    label: str = "simulating",
    profiler: cProfile.Profile | None = None,
    cluster: Cluster | None = None,
) -> Outcome:
    """Elect a leader, then drive the cluster at `rate` commands per simulated second.

    `cluster`: a fresh cluster to drive (so the caller can use it afterwards);
    by default one is built from `nodes`, `seed`, `checkers` and `trace`.
    """
    out = Outcome(nodes=nodes, seed=seed, rate=rate, trace=trace)
    gc.collect()
    out.rss_before_kb = _rss_kb()
    if cluster is None:
        cluster = Cluster(nodes, seed=seed, checkers="all" if checkers else "none", trace=trace)
    out.checkers = [type(c).__name__ for c in cluster._world.observers]

    # Untimed: the first election.
    start = time.perf_counter()
    if not cluster.run_until(lambda c: c.leader is not None, timeout=10.0):
        console.print(f"[red]no leader elected within 10 simulated s (seed {seed})[/red]")
        raise SystemExit(1)
    out.election_wall = time.perf_counter() - start
    out.election_sim = cluster.now
    out.leader_before = cluster.leader

    period_us = max(1, round(1_000_000 / rate))
    period = period_us / 1_000_000
    ticks = max(1, round(seconds * 1_000_000 / period_us))
    progress_every = max(1, round(PROGRESS_EVERY_S * 1_000_000 / period_us))
    out.ticks = ticks
    out.commit_granularity_us = period_us

    backlog: deque[str] = deque()  # commands waiting to be (re)submitted, oldest first
    waiting: deque = deque()  # (handle, submitted at µs) accepted and not yet resolved
    refusal_reasons = out.refusal_reasons
    committed: list[tuple[str, int, int, int]] = []  # (leader, index, submitted, seen) in µs
    next_command = 0
    submitted = accepted = refused = unknown = 0

    task = None
    if progress is not None:
        task = progress.add_task(label, total=ticks * period)
    last_refresh = 0.0
    progress_wall = 0.0

    gc_timer = _GCTimer()
    gc.callbacks.append(gc_timer)
    events0, trace0, sim0 = cluster.events_processed, len(cluster.trace), cluster.now
    if profiler is not None:
        profiler.enable()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        for tick in range(1, ticks + 1):
            backlog.append(f"set k{next_command} {next_command}")
            next_command += 1
            while backlog:
                command = backlog[0]
                handle = cluster.submit(command)
                submitted += 1
                if not handle.accepted:
                    refused += 1
                    refusal_reasons[_reason_kind(handle.reason)] += 1
                    # Resubmit once to whoever the refusal (or the cluster) says leads.
                    target = handle.leader_hint or cluster.leader
                    if target is None or target == handle.node:
                        break
                    handle = cluster.submit(command, to=target)
                    submitted += 1
                    if not handle.accepted:
                        refused += 1
                        refusal_reasons[_reason_kind(handle.reason)] += 1
                        break
                accepted += 1
                backlog.popleft()
                waiting.append((handle, round(cluster.now * 1_000_000)))

            cluster.run(period)

            # Resolve the oldest accepted commands (a leader commits in order).
            now_us = round(cluster.now * 1_000_000)
            while waiting:
                handle, at = waiting[0]
                outcome = handle.outcome
                if outcome == "pending":
                    break
                waiting.popleft()
                if outcome == "committed":
                    committed.append((handle.node, handle.index, at, now_us))
                else:
                    unknown += 1

            if task is not None and tick % progress_every == 0:
                mark = time.perf_counter()
                progress.update(task, completed=tick * period)
                if mark - last_refresh >= PROGRESS_REFRESH_S:
                    progress.refresh()
                    last_refresh = mark
                progress_wall += time.perf_counter() - mark
    finally:
        wall = time.perf_counter() - start
        out.cpu = time.process_time() - cpu_start
        if profiler is not None:
            profiler.disable()
        gc.callbacks.remove(gc_timer)

    if task is not None:
        progress.update(task, completed=ticks * period)
        progress.refresh()

    out.wall = wall - progress_wall
    out.progress_wall = progress_wall
    out.gc_wall = gc_timer.total
    out.gc_collections = gc_timer.collections
    out.sim_seconds = cluster.now - sim0
    out.events = cluster.events_processed - events0
    out.trace_events = len(cluster.trace) - trace0
    out.trace_total = len(cluster.trace)
    out.submitted, out.accepted, out.refused, out.unknown = submitted, accepted, refused, unknown
    out.committed = len(committed)
    out.pending_at_end = len(waiting)
    out.backlog_at_end = len(backlog)
    out.leader_after = cluster.leader
    out.violations = len(cluster.violations)
    out.rss_peak_kb = _rss_kb()
    # Untimed: what the trace says happened during the run.
    applied_at: dict[tuple[str, int], int] = {}
    for event in cluster.trace[trace0:]:
        out.trace_kinds[(event.component, event.kind)] += 1
        if event.kind == "leader" and "becomes leader" in event.text:
            out.leaders_elected.append(event.node)
        elif event.component == "StateMachine" and event.kind == "apply":
            match = _APPLIES.search(event.text)
            if match:
                applied_at.setdefault((event.node, int(match[1])), event.time_us)
    # Commit latency: submit -> the accepting leader applies the entry, which it does
    # in the step where it learns the entry is committed. If the trace's wording ever
    # changes, fall back to the end of the tick in which the handle said "committed".
    for node, index, at, seen in committed:
        done = applied_at.get((node, index))
        if done is not None:
            out.latencies_exact += 1
        out.latencies_us.append((done if done is not None else seen) - at)
    return out


_APPLIES = re.compile(r"applies (\d+):")


def _reason_kind(reason: str | None) -> str:
    """Group refusal reasons ("n2 is a follower, not the leader; ..." -> "is a follower")."""
    if not reason:
        return "?"
    if "no leader" in reason:
        return "no leader is known"
    if " is a " in reason:
        return "not the leader (" + reason.split(" is a ")[1].split(",")[0] + ")"
    if "is down" in reason:
        return "node is down"
    return reason


# -- the load sweep -----------------------------------------------------------

SWEEP_RATES = (0.0, 10.0, 100.0)  # commands per simulated second; 0: heartbeats only
SWEEP_SECONDS = {0.0: 60.0, 10.0: 60.0, 100.0: 20.0}


@dataclass
class SweepPoint:
    """One load level of the sweep, checkers off and on."""

    rate: float
    sim_seconds: float
    events: int
    wall_off: float
    wall_on: float

    def events_per_s(self, checkers: bool) -> float:
        return self.events / (self.wall_on if checkers else self.wall_off)

    def realtime(self, checkers: bool) -> float:
        return self.sim_seconds / (self.wall_on if checkers else self.wall_off)


def idle_run(
    *, nodes: int, seed: int, seconds: float, checkers: bool, trace: str
) -> tuple[int, float]:
    """(events, wall s) of `seconds` of a cluster with a leader and no clients."""
    gc.collect()  # so that the timed part does not pay for an earlier run's garbage
    cluster = Cluster(nodes, seed=seed, checkers="all" if checkers else "none", trace=trace)
    if not cluster.run_until(lambda c: c.leader is not None, timeout=10.0):
        raise SystemExit(f"no leader elected within 10 simulated s (seed {seed})")
    events0 = cluster.events_processed
    start = time.perf_counter()
    cluster.run(seconds)
    return cluster.events_processed - events0, time.perf_counter() - start


def sweep(*, nodes: int, seed: int, trace: str, progress: Progress) -> list[SweepPoint]:
    """Lighter loads than the main run's: where does 500x real time hold?"""
    points = []
    task = progress.add_task("load sweep", total=2 * len(SWEEP_RATES))
    for rate in SWEEP_RATES:
        seconds = SWEEP_SECONDS[rate]
        walls = {}
        for checkers in (False, True):
            if rate == 0:
                events, walls[checkers] = idle_run(
                    nodes=nodes, seed=seed, seconds=seconds, checkers=checkers, trace=trace
                )
            else:
                out = run_workload(
                    nodes=nodes,
                    seed=seed,
                    seconds=seconds,
                    rate=rate,
                    checkers=checkers,
                    trace=trace,
                )
                events, walls[checkers] = out.events, out.wall
            progress.advance(task)
            progress.refresh()
        points.append(SweepPoint(rate, seconds, events, walls[False], walls[True]))
    return points


def report_sweep(points: list[SweepPoint], main_on: Outcome, main_off: Outcome) -> None:
    """Events/s and real-time factor by load, the main run's load included."""
    tracing = "tracing on" if main_on.trace == "full" else "no trace"
    table = Table(title=f"by load ({tracing}; events/s and x real time, checkers off / on)")
    table.add_column("commands per sim s", justify="right")
    table.add_column("Raft events per sim s", justify="right")
    table.add_column("events / wall s, off", justify="right")
    table.add_column("events / wall s, on", justify="right")
    table.add_column("x real time, off", justify="right")
    table.add_column("x real time, on", justify="right")
    main = SweepPoint(
        main_on.rate, main_on.sim_seconds, main_on.events, main_off.wall, main_on.wall
    )
    for point in [*points, main]:
        table.add_row(
            f"{point.rate:g}" + (" (heartbeats only)" if point.rate == 0 else ""),
            f"{point.events / point.sim_seconds:,.0f}",
            f"{point.events_per_s(False):,.0f}",
            f"{point.events_per_s(True):,.0f}",
            f"{point.realtime(False):,.0f}x",
            f"{point.realtime(True):,.0f}x",
        )
    console.print(table)


# -- reporting ----------------------------------------------------------------


def machine() -> str:
    """The Python and the CPUs a figure was measured on."""
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    return (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, nproc {usable} (of {cpus} CPUs)"
    )


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _met(ok: bool) -> str:
    return "[bold green]met[/bold green]" if ok else "[bold red]missed[/bold red]"


def _figures(out: Outcome, floor_rate: float) -> dict[str, float]:
    events_per_s = out.events / out.wall
    return {
        "events_per_s": events_per_s,
        "ratio": events_per_s / floor_rate,
        "realtime": out.sim_seconds / out.wall,
        "commits_per_s": out.committed / out.wall,
    }


def report(on: Outcome, off: Outcome, floor_before: float, floor_after: float) -> None:
    """Print the figures of both runs, the cluster's behaviour, and the aims."""
    floor_rate = max(floor_before, floor_after)
    f_on, f_off = _figures(on, floor_rate), _figures(off, floor_rate)
    checker_names = ", ".join(on.checkers) or "none exist"

    tracing = "tracing on" if on.trace == "full" else "no trace (campaign mode)"
    table = Table(title=f"raftsim throughput: {on.nodes} nodes, seed {on.seed}, {tracing}")
    table.add_column("figure")
    table.add_column("checkers off", justify="right")
    table.add_column("checkers on", justify="right")
    table.add_column("notes", overflow="fold")
    table.add_row("machine", "", "", machine())
    table.add_row(
        "empty-loop floor",
        f"{floor_rate:,.0f} ev/s",
        "",
        f"heapq push/pop, best of 3 runs before ({floor_before:,.0f}) and after "
        f"({floor_after:,.0f}) the workload; DESIGN.md: ~{DESIGN_FLOOR:,} on CI",
    )
    table.add_row(
        "workload",
        f"{off.sim_seconds:g} sim s",
        f"{on.sim_seconds:g} sim s",
        f"{on.rate:g} commands per simulated s: one submit + run({1 / on.rate:g}) per tick; "
        f"first election untimed ({on.election_sim * 1000:.0f} sim ms, leader {on.leader_before}); "
        f"checkers on: {checker_names}",
    )
    table.add_row(
        "wall time",
        f"{off.wall:.3f} s",
        f"{on.wall:.3f} s",
        f"progress bar: {off.progress_wall + on.progress_wall:.4f} s more, excluded",
    )
    same = (
        "identical in both runs (deterministic)"
        if on.events == off.events
        else ("[red]differs between runs[/red]: checkers changed the simulation?")
    )
    table.add_row(
        "Raft events processed",
        f"{off.events:,}",
        f"{on.events:,}",
        f"cluster.events_processed; {same}",
    )
    table.add_row(
        "Raft events / wall s",
        f"[bold]{f_off['events_per_s']:,.0f}[/bold]",
        f"[bold]{f_on['events_per_s']:,.0f}[/bold]",
        f"checkers cost {100 * (1 - f_on['events_per_s'] / f_off['events_per_s']):.1f}% "
        "of the rate",
    )
    table.add_row(
        "ratio to floor",
        f"{f_off['ratio']:.4f}",
        f"{f_on['ratio']:.4f}",
        f"1/{1 / f_off['ratio']:.0f} and 1/{1 / f_on['ratio']:.0f} of the empty loop",
    )
    table.add_row(
        "x faster than real time",
        f"[bold]{f_off['realtime']:,.1f}x[/bold]",
        f"[bold]{f_on['realtime']:,.1f}x[/bold]",
        "simulated s per wall s",
    )
    per_sim_s = on.events / on.sim_seconds
    table.add_row(
        "Raft events per simulated s",
        "",
        f"{per_sim_s:,.0f}",
        f"so {AIM_REALTIME}x real time at this load needs {per_sim_s * AIM_REALTIME:,.0f} "
        f"events/s ({per_sim_s * AIM_REALTIME / floor_rate:.2f}x the floor); "
        f"{AIM_EVENTS_PER_S:,} events/s would give {AIM_EVENTS_PER_S / per_sim_s:,.0f}x",
    )
    table.add_row(
        "commands committed / wall s",
        f"{f_off['commits_per_s']:,.0f}",
        f"{f_on['commits_per_s']:,.0f}",
        f"{on.committed:,} committed in the window",
    )
    table.add_row(
        "trace events recorded",
        f"{off.trace_events:,}",
        f"{on.trace_events:,}",
        f"{on.trace_events / max(1, on.events):.2f} per Raft event, "
        f"{on.trace_events / max(1, on.committed):.1f} per committed command",
    )
    growth = on.rss_peak_kb - on.rss_before_kb
    table.add_row(
        "peak memory (ru_maxrss)",
        "",
        f"{on.rss_peak_kb / 1024:,.1f} MiB",
        f"process peak after the first run (checkers on); +{growth / 1024:,.1f} MiB over the "
        + (
            f"cluster's life, ~{growth * 1024 / on.trace_total:,.0f} B per trace event "
            if on.trace_total
            else "cluster's life "
        )
        + "(trace, journal, logs and state machines are all kept)",
    )
    table.add_row(
        "cyclic GC",
        f"{off.gc_wall:.3f} s",
        f"{on.gc_wall:.3f} s",
        f"{on.gc_collections} collections, {100 * on.gc_wall / on.wall:.1f}% of wall time",
    )
    console.print(table)

    out = on
    behaviour = Table(title="behaviour under load (checkers-on run, simulated time)")
    behaviour.add_column("what")
    behaviour.add_column("value", justify="right")
    behaviour.add_column("notes", overflow="fold")
    behaviour.add_row(
        "commands",
        f"{out.ticks:,}",
        f"{out.submitted:,} submit() calls with resubmissions; {out.accepted:,} accepted",
    )
    refusals = ", ".join(f"{k}: {v}" for k, v in out.refusal_reasons.most_common()) or "none"
    behaviour.add_row("refused submissions", f"{out.refused:,}", refusals)
    behaviour.add_row(
        "outcomes",
        f"{out.committed:,} committed",
        f"{out.unknown} unknown (leader stepped down), {out.pending_at_end} pending at the end, "
        f"{out.backlog_at_end} still waiting for a leader",
    )
    if out.latencies_us:
        lat = out.latencies_us
        behaviour.add_row(
            "commit latency",
            f"{statistics.median(lat) / 1000:.1f} ms median",
            f"p90 {_pct(lat, 0.9) / 1000:.1f}, p99 {_pct(lat, 0.99) / 1000:.1f}, "
            f"max {max(lat) / 1000:.1f} ms (submit -> the leader applies it; "
            + (
                "exact, from the trace)"
                if out.latencies_exact == len(lat)
                else f"{len(lat) - out.latencies_exact} only to within "
                f"{out.commit_granularity_us / 1000:g} ms)"
            ),
        )
    changes = len(out.leaders_elected)
    behaviour.add_row(
        "leader changes",
        f"{changes}",
        f"leader {out.leader_before} -> {out.leader_after}"
        + (f"; elected: {', '.join(out.leaders_elected)}" if changes else ""),
    )
    kinds = out.trace_kinds
    behaviour.add_row(
        "replication fallbacks",
        f"{kinds[('Replicator', 'reject')] + kinds[('Replicator', 'resend')]:,}",
        f"Replicator back to PROBE after a rejection {kinds[('Replicator', 'reject')]:,}, "
        f"after an rpc timeout {kinds[('Replicator', 'resend')]:,}; follower rejections "
        f"{kinds[('Node', 'reject')]:,}",
    )
    behaviour.add_row("safety violations", f"{out.violations}", f"checkers: {checker_names}")
    top = ", ".join(
        f"{c}/{k} {n / max(1, out.committed):.1f}" for (c, k), n in kinds.most_common(10)
    )
    behaviour.add_row("trace events per committed command", "", top)
    console.print(behaviour)

    aims = Table(title="aims (DESIGN.md, Performance)")
    aims.add_column("aim")
    aims.add_column("measured", justify="right")
    aims.add_column("verdict")
    aims.add_row(
        f">= {AIM_EVENTS_PER_S:,} Raft events/s, {tracing}, checkers off",
        f"{f_off['events_per_s']:,.0f}",
        _met(f_off["events_per_s"] >= AIM_EVENTS_PER_S),
    )
    aims.add_row(
        f"   the same as a share of the floor: >= {AIM_RATIO:.3f} (150k / 1.4M)",
        f"{f_off['ratio']:.4f}",
        _met(f_off["ratio"] >= AIM_RATIO),
    )
    aims.add_row(
        f">= {AIM_EVENTS_PER_S_CHECKED:,} Raft events/s with every checker on",
        f"{f_on['events_per_s']:,.0f}",
        _met(f_on["events_per_s"] >= AIM_EVENTS_PER_S_CHECKED) + f" ({len(on.checkers)} checkers)",
    )
    aims.add_row(
        f"   the same as a share of the floor: >= {AIM_EVENTS_PER_S_CHECKED / DESIGN_FLOOR:.3f}",
        f"{f_on['ratio']:.4f}",
        _met(f_on["ratio"] >= AIM_EVENTS_PER_S_CHECKED / DESIGN_FLOOR),
    )
    aims.add_row(
        f">= {AIM_REALTIME}x real time, {on.nodes} nodes under load "
        f"({on.rate:g} commands/s, checkers on)"
        + ("" if on.nodes == 5 else "; the aim is stated for 5 nodes"),
        f"{f_on['realtime']:,.1f}x",
        _met(f_on["realtime"] >= AIM_REALTIME),
    )
    console.print(aims)


# Where time goes, by layer: the first pattern a profiled file matches names it.
LAYERS = (
    ("checkers (sim/check/checkers)", ("sim/check/checkers/",)),
    ("state machine (raft/state_machine.py)", ("raft/state_machine.py",)),
    ("Raft algorithm (rest of raft/)", ("raft/", "<attrs generated")),
    (
        "network (sim/engine/network.py, sim/engine/rng.py)",
        ("sim/engine/network.py", "sim/engine/rng.py"),
    ),
    (
        "engine and trace (sim/engine/world.py, events, journal, cluster)",
        (
            "sim/engine/world.py",
            "sim/engine/trace.py",
            "sim/engine/events.py",
            "sim/engine/journal.py",
            "sim/cluster.py",
            "sim/views.py",
        ),
    ),
    ("builtins (len, list.append, tuple.__new__, heapq, ...)", ("~", "<built-in", "<method")),
)


def layer_shares(profiler: cProfile.Profile, commands: int) -> list[tuple[str, float, float]]:
    """(layer, share of own time, Python-level calls per command) for each layer."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own: Counter = Counter()
    calls: Counter = Counter()
    total = 0.0
    for (filename, _, function), (_, ncalls, tottime, _, _) in stats.items():
        where = filename.replace(os.sep, "/")
        name = next(
            (
                layer
                for layer, patterns in LAYERS
                if any(p in where or function.startswith(p) for p in patterns)
            ),
            "other (benchmark loop, rich, random.py)",
        )
        own[name] += tottime
        total += tottime
        if not (filename == "~" or function.startswith("<")):
            calls[name] += ncalls
    order = [layer for layer, _ in LAYERS] + ["other (benchmark loop, rich, random.py)"]
    return [
        (layer, own[layer] / total, calls[layer] / max(1, commands))
        for layer in order
        if own[layer]
    ]


def print_layers(profiler: cProfile.Profile, commands: int) -> None:
    """The profile summed by layer: what a committed command costs, and where."""
    table = Table(title="profile by layer (checkers on; own time, so the shares add up to 100%)")
    table.add_column("layer")
    table.add_column("share of time", justify="right")
    table.add_column("Python calls per command", justify="right")
    rows = layer_shares(profiler, commands)
    for layer, share, per_command in rows:
        table.add_row(layer, f"{100 * share:.1f}%", f"{per_command:,.0f}" if per_command else "")
    total_calls = sum(per_command for _, _, per_command in rows)
    table.add_row("[bold]all[/bold]", "100%", f"[bold]{total_calls:,.0f}[/bold]")
    console.print(table)


def print_profile(profiler: cProfile.Profile, limit: int = 25) -> None:
    for order, title in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats(order).print_stats(limit)
        console.rule(f"top {limit} functions by {title}")
        # Paths relative to the repository keep the lines short and readable.
        root = str(Path(__file__).resolve().parent.parent) + os.sep
        console.print(buffer.getvalue().replace(root, ""), highlight=False, markup=False)


# -- main -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="simulated seconds of load (default 10)"
    )
    parser.add_argument("--nodes", type=int, default=5, help="cluster size (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="cluster seed (default 1)")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="commands per simulated second (default 1000)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run the workload under cProfile and print the top 25 functions",
    )
    parser.add_argument(
        "--no-sweep",
        action="store_true",
        help="skip the lighter loads (heartbeats only, 10 and 100 commands/s)",
    )
    parser.add_argument(
        "--trace",
        choices=("full", "off"),
        default="full",
        help='"off": Cluster(trace="off"), campaign mode, no trace kept (default full)',
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0 or args.nodes < 1:
        parser.error("--seconds and --rate must be positive and --nodes at least 1")

    console.print(f"[dim]{machine()}[/dim]")
    floor_before = floor()
    workload = dict(
        nodes=args.nodes, seed=args.seed, seconds=args.seconds, rate=args.rate, trace=args.trace
    )
    columns = (
        TextColumn("[progress.description]{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed:.2f}/{task.total:g} sim s"),
        TimeElapsedColumn(),
    )
    profiler = cProfile.Profile() if args.profile else None
    with Progress(*columns, console=console, auto_refresh=False) as progress:
        # Checkers on first: its peak memory is then the process's own (ru_maxrss only grows).
        on = run_workload(**workload, checkers=True, progress=progress, label="checkers on")
        off = run_workload(**workload, checkers=False, progress=progress, label="checkers off")
        points = (
            []
            if args.no_sweep
            else sweep(nodes=args.nodes, seed=args.seed, trace=args.trace, progress=progress)
        )
        profiled = None
        if profiler is not None:
            profiled = run_workload(
                **workload, checkers=True, progress=progress, label="cProfile", profiler=profiler
            )
    floor_after = floor()
    report(on, off, floor_before, floor_after)
    if points:
        report_sweep(points, on, off)
    if profiler is not None:
        console.print(
            "[yellow]The profile comes from a third, profiled run (checkers on); cProfile "
            "inflates wall time several times, so read it for shares, not for speed.[/yellow]"
        )
        print_profile(profiler)
        assert profiled is not None
        print_layers(profiler, max(1, profiled.committed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
