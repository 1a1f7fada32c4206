"""Before and after: the same workload on two revisions of raftsim, in one run.

Run from the repository root:

    python benchmarks/compare.py                      # the first round against this checkout
    python benchmarks/compare.py --before HEAD~3      # any revision git knows
    python benchmarks/compare.py --before v1 --after v2 --repeats 5
    python benchmarks/compare.py --fuzz               # also fuzz campaigns on each
    python benchmarks/compare.py --before HEAD --fuzz --repeats 1   # this change alone
    python benchmarks/compare.py --fuzz --fuzz-nodes 0   # fuzzers draw their own sizes
    python benchmarks/compare.py --checkers none      # the throughput runs without checkers

What it does:

1. Checks the `--before` revision out of git into a temporary directory
   (`git archive`, so the repository itself is left untouched), and the same
   for `--after` if one is given; by default "after" is this checkout as it
   is, uncommitted changes included. The default "before" is the first round:
   the commit before the speed work began (FIRST_ROUND below).
2. Runs throughput.py's workload on each: 5 nodes, a leader elected untimed,
   then 10 simulated seconds of 1,000 commands/s (one `submit` and one
   `run(1/rate)` per tick), tracing on and the checkers as that revision
   ships them (or none, with `--checkers none`). Each run is a fresh
   interpreter that imports only that revision's code, so the two never
   share a module. Runs are interleaved
   (before, after, then after, before, ...), with the empty heap loop of
   throughput.py measured in this process before each one and after the last.
3. Prints, for the best of `--repeats` runs of each: Raft events per CPU
   second of the child process and per wall second, each divided by the best
   empty loop of the run; and after / before. CPU time is the steadier figure
   on a shared machine: it does not count the time other processes had the
   core.
4. With `--fuzz`: the same for fuzz campaigns (`run_campaign` in one
   process, as `raftsim fuzz -j 1`), three of them: the before revision's
   own fuzzer as it ships; the after code's, as it ships; and the after
   code's doing only the first round's checks (its 13 checkers, the clients'
   actions taken out of every schedule, so no linearizability check; the
   schedules still draw the after code's faults). That last row is left out,
   with the reason, when the after code cannot be restricted so. Reported:
   seeds per CPU minute, and Raft events per CPU second against the empty
   loop (the fairer figure when the seeds differ in size); each row says how
   many checkers it ran and whether it had clients; the seeds that failed,
   the histories left undecided, and whether after and before gave the same
   verdicts seed for seed (they should when both check the same things).
   The fuzz clusters have `--nodes` nodes unless `--fuzz-nodes` says
   otherwise (0: each fuzzer's own sizes, 3 to 7 drawn per seed since the
   swarm; the first round's checks keep 5).

A benchmark, not a test: it exits 0 unless it cannot run. A revision git
does not have (a shallow clone has little history; `git fetch --unshallow`)
is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

# The state of the code before this round's speed work: what "the first round" means.
FIRST_ROUND = "9b5506f26e249809579847f6d87b00cfb62900fc"
# What the first round checked: these 13 checkers (the rest came later), no clients
# (so no linearizability). `--fuzz` also runs the after code with these only.
FIRST_ROUND_CHECKERS = [
    "election_safety",
    "leader_append_only",
    "log_matching",
    "leader_completeness",
    "state_machine_safety",
    "terms_never_decrease",
    "persist_before_responding",
    "one_vote_per_term",
    "up_to_date_vote",
    "follower_acknowledgements",
    "leader_commit_rule",
    "index_order",
    "persisted_state",
]

REPOSITORY = Path(__file__).resolve().parent.parent
EMPTY_LOOP_EVENTS = 500_000

console = Console(width=None if sys.stdout.isatty() else 160)


class CannotRun(Exception):
    """Git, or a revision, is not there: one line for the user, exit 2."""


# -- the child: one workload on one revision's code ---------------------------------


def child(root: str, workload: str, settings: dict) -> dict:
    """Run `workload` on the code in `root`; the figures as a dict (printed as JSON).

    Only the public Cluster API and the fuzzer's `run_campaign` are used, and
    in the forms every revision since the first round has: the same lines
    drive the old code and the new.
    """
    sys.path.insert(0, root)
    import sim

    where = Path(sim.__file__).resolve()
    if not where.is_relative_to(Path(root).resolve()):
        raise SystemExit(f"compare.py: imported sim from {where}, not from the revision")
    if workload == "throughput":
        checkers = _checker_count() if settings.get("checkers", "all") == "all" else 0
        return {"checkers": checkers, **_throughput(sim.Cluster, **settings)}
    return _fuzz(**settings)


def _checker_count() -> int:
    try:
        from sim.check.checkers import CHECKERS
    except ImportError:  # the first round kept them in sim/checkers
        from sim.checkers import CHECKERS
    return len(CHECKERS)


def _throughput(
    Cluster,  # noqa: N803
    *,
    nodes: int,
    seed: int,
    seconds: float,
    rate: float,
    checkers: str,
) -> dict:
    """throughput.py's loaded run (tracing on): events, CPU s, wall s."""
    cluster = Cluster(nodes, seed=seed, checkers=checkers)
    if not cluster.run_until(lambda c: c.leader is not None, timeout=10.0):
        raise SystemExit(f"compare.py: no leader within 10 simulated s (seed {seed})")
    period_us = max(1, round(1_000_000 / rate))
    period = period_us / 1_000_000
    ticks = max(1, round(seconds * 1_000_000 / period_us))
    backlog: list[str] = []
    events0, sim0 = cluster.events_processed, cluster.now
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for tick in range(ticks):
        backlog.append(f"set k{tick} {tick}")
        while backlog:
            handle = cluster.submit(backlog[0])
            if not handle.accepted:
                # Once more to whoever the refusal (or the cluster) says leads.
                target = handle.leader_hint or cluster.leader
                if target is None or target == handle.node:
                    break
                handle = cluster.submit(backlog[0], to=target)
                if not handle.accepted:
                    break
            backlog.pop(0)
        cluster.run(period)
    return {
        "cpu": time.process_time() - cpu0,
        "wall": time.perf_counter() - wall0,
        "events": cluster.events_processed - events0,
        "simulated": cluster.now - sim0,
        "violations": len(cluster.violations),
    }


def _fuzz(*, seeds: int, duration: float, nodes: int | None, checks: str = "shipped") -> dict:
    """A campaign in this process with the revision's own fuzzer: as it ships, or
    restricted to the first round's checks (`checks="first round"`)."""
    try:
        from sim.check.fuzz import FuzzSettings, run_campaign
    except ImportError:  # the first round's fuzzer was sim.fuzz
        from sim.fuzz import FuzzSettings, run_campaign
    checkers = _checker_count()
    if checks == "first round":
        why_not = _first_round_checks_only()
        if why_not:
            return {"unsupported": why_not}
        checkers = len(FIRST_ROUND_CHECKERS)
        nodes = nodes or 5  # the first round's fuzzer always ran 5
    # No `nodes`: the fuzzer's own sizes (the first round's fixed 5, later a draw per seed).
    settings = FuzzSettings(duration=duration, **({"nodes": nodes} if nodes else {}))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = run_campaign(range(seeds), settings, jobs=1)
    return {
        "cpu": time.process_time() - cpu0,
        "wall": time.perf_counter() - wall0,
        "checkers": checkers,
        "seeds": len(results),
        "events": sum(r.events for r in results),
        "failed": sum(1 for r in results if r.failed),
        # Older fuzzers had no clients: no operations, no history to decide.
        "operations": sum(getattr(r, "operations", 0) for r in results),
        "undecided": sum(getattr(r, "history", None) == "gave up" for r in results),
        "verdicts": sorted([r.seed, r.verdict, r.kind] for r in results),
    }


def _first_round_checks_only() -> str | None:
    """Make this revision's fuzzer check what the first round's did; why not, if it cannot.

    The first round's checkers on every cluster the fuzzer builds, and the
    clients' actions taken out of every schedule (so no history and no
    linearizability check). The schedules still draw this revision's faults.
    """
    try:
        import sim.check.fuzz.campaign as campaign
        import sim.check.fuzz.run as run
        from sim.check.checkers import CHECKERS
    except ImportError:
        return "its fuzzer has no run and campaign modules to restrict"
    if not (hasattr(run, "Cluster") and hasattr(campaign, "generate")):
        return "its fuzzer does not build its clusters the way this script restricts"
    missing = [name for name in FIRST_ROUND_CHECKERS if name not in CHECKERS]
    if missing:
        return f"it has no checker {missing[0]}"
    cluster, generate = run.Cluster, campaign.generate

    def first_round_cluster(*args, **kwargs):
        return cluster(*args, **{**kwargs, "checkers": FIRST_ROUND_CHECKERS})

    def without_clients(seed, settings):
        schedule = generate(seed, settings)
        return schedule.with_actions(tuple(a for a in schedule.actions if a.kind != "client"))

    run.Cluster, campaign.generate = first_round_cluster, without_clients
    return None


# -- the parent: checkouts, interleaving, the figures -------------------------------


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run git in the repository; CannotRun if git is not installed."""
    if shutil.which("git") is None:
        raise CannotRun("git is not installed, so no revision can be checked out")
    return subprocess.run(
        ["git", "-C", str(REPOSITORY), *args], capture_output=True, check=check, text=False
    )


def resolve(revision: str) -> tuple[str, str]:
    """(full hash, "short hash subject") of a revision; CannotRun if git does not have it."""
    if git("rev-parse", "--git-dir", check=False).returncode != 0:
        raise CannotRun(f"{REPOSITORY.name} is not a git repository, so {revision} is unknown")
    found = git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    if found.returncode != 0:
        shallow = git("rev-parse", "--is-shallow-repository", check=False).stdout.strip()
        if shallow == b"true":
            raise CannotRun(
                f"revision {revision} is not in this clone, which is shallow "
                "(git fetch --unshallow brings the history)"
            )
        raise CannotRun(f"no revision {revision} in this repository")
    full = found.stdout.decode().strip()
    title = git("log", "-1", "--format=%h %s", full).stdout.decode().strip()
    return full, title


def check_out(full: str, into: Path) -> None:
    """The revision's files in `into` (git archive: nothing changes in the repository)."""
    archive = git("archive", "--format=tar", full)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # an older Python: git's own archive is trusted as it is
            tar.extractall(into)


@dataclass
class Side:
    """One revision (run one way) and what its runs measured."""

    label: str
    root: Path
    title: str
    settings: dict = field(default_factory=dict)  # added to the workload's settings
    runs: list[dict] = field(default_factory=list)
    unsupported: str | None = None  # why this revision cannot run this way

    def best(self, key: str, per: str) -> float:
        """The best run's rate of `key` per `per` (CPU or wall seconds)."""
        return max(run[key] / run[per] for run in self.runs)

    def checks(self) -> str:
        """What its runs checked, as they reported it."""
        run = self.runs[0]
        if "operations" not in run:
            return f"{run['checkers']} checkers"
        clients = "clients, linearizability" if run["operations"] else "no clients"
        return f"{run['checkers']} checkers, {clients}"


def run_child(side: Side, workload: str, settings: dict) -> dict:
    """One workload on one revision, in a fresh interpreter."""
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(side.root),
            workload,
            json.dumps({**settings, **side.settings}),
        ],
        capture_output=True,
        text=True,
        cwd=side.root,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CannotRun(f"the {workload} run on {side.label} ({side.title}) failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def empty_loop() -> tuple[float, float]:
    """(events per CPU s, events per wall s) of throughput.py's empty heap loop."""
    from benchmarks.throughput import spin  # imports this checkout's sim: the parent only

    cpu0, wall0 = time.process_time(), time.perf_counter()
    spin(EMPTY_LOOP_EVENTS)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return EMPTY_LOOP_EVENTS / max(cpu, 1e-9), EMPTY_LOOP_EVENTS / wall


def interleave(sides: list[Side], workload: str, settings: dict, repeats: int, floors: list):
    """`repeats` rounds, the order flipping each round, the empty loop before every run.

    A side whose revision cannot run that way says so on its first run and is
    left out of the rounds after.
    """
    with console.status("") as status:
        for round_ in range(repeats):
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                if side.unsupported:
                    continue
                floors.append(empty_loop())
                status.update(f"{workload}: {side.label}, run {round_ + 1} of {repeats}")
                got = run_child(side, workload, settings)
                if "unsupported" in got:
                    side.unsupported = got["unsupported"]
                else:
                    side.runs.append(got)
        floors.append(empty_loop())


def machine() -> str:
    """The CPU model, its cores, the Python, and how loaded the machine is."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{model}, {os.cpu_count()} cores; {platform.python_implementation()} "
        f"{platform.python_version()} on {platform.system()}; load average {load}"
    )


def report(title: str, sides: list[Side], floors: list, key: str) -> None:
    """Best rates of each side against the best empty loop, and each one / the first."""
    floor_cpu = max(f[0] for f in floors)
    floor_wall = max(f[1] for f in floors)
    seeds = key == "seeds"
    table = Table(title=title, title_justify="left")
    table.add_column("", no_wrap=True)
    if seeds:
        table.add_column("seeds per CPU minute", justify="right", style="bold")
    table.add_column("Raft events per CPU s ÷ empty loop", justify="right", style="bold")
    table.add_column("per wall s ÷ empty loop", justify="right")
    table.add_column("each run, per CPU s ÷ empty loop", justify="right")
    measured = [side for side in sides if not side.unsupported]
    for side in measured:
        row = [f"{side.label} ({side.checks()})"]
        if seeds:
            row.append(f"{60 * side.best('seeds', 'cpu'):,.0f}")
        row += [
            f"{side.best('events', 'cpu') / floor_cpu:.4f}",
            f"{side.best('events', 'wall') / floor_wall:.4f}",
            ", ".join(f"{r['events'] / r['cpu'] / floor_cpu:.4f}" for r in side.runs),
        ]
        table.add_row(*row)
    before = measured[0]
    for side in measured[1:]:
        row = [f"{side.label} / {before.label}"]
        if seeds:
            row.append(f"{side.best('seeds', 'cpu') / before.best('seeds', 'cpu'):.2f}x")
        for per in ("cpu", "wall"):
            row.append(f"{side.best('events', per) / before.best('events', per):.2f}x")
        table.add_row(*row, "")
    console.print(table)
    for side in sides:
        if side.unsupported:
            console.print(f"[dim]no row for {side.label}: {side.unsupported}[/dim]")
    if seeds:
        tally = ", ".join(
            f"{s.label} {sum(r['failed'] for r in s.runs)} failing, "
            f"{sum(r['undecided'] for r in s.runs)} undecided"
            for s in measured
        )
        console.print(f"[dim]seeds over all runs: {tally}[/dim]")
        same = before.runs[0]["verdicts"] == measured[1].runs[0]["verdicts"]
        verdicts = "the same verdicts as" if same else "other verdicts than"
        console.print(
            f"[dim]{measured[1].label} gave {verdicts} {before.label}, seed for seed[/dim]"
        )
    else:
        counts = ", ".join(f"{s.label} {sum(r['violations'] for r in s.runs)}" for s in measured)
        console.print(f"[dim]safety violations over all runs: {counts}[/dim]")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        root, workload, settings = argv[1:4]
        print(json.dumps(child(root, workload, json.loads(settings))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--before",
        default=FIRST_ROUND,
        help="a revision git knows (default: the first round, %(default).7s)",
    )
    parser.add_argument("--after", help="a revision git knows (default: this checkout as it is)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, best counts (3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated s of load (10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="commands per simulated s")
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--checkers",
        choices=("all", "none"),
        default="all",
        help="the throughput runs' checkers: as shipped (all, the default) or none",
    )
    parser.add_argument("--fuzz", action="store_true", help="also compare a fuzz campaign")
    parser.add_argument("--fuzz-seeds", type=int, default=100, help="seeds per campaign (100)")
    parser.add_argument("--fuzz-duration", type=float, default=10.0, help="simulated s per seed")
    parser.add_argument(
        "--fuzz-nodes",
        type=int,
        help="the fuzz clusters' size (default: --nodes; 0: each fuzzer's own sizes)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0 or args.rate <= 0 or args.nodes < 1:
        parser.error("--repeats and --nodes must be at least 1, --seconds and --rate positive")
    if args.fuzz_seeds < 1 or args.fuzz_duration <= 0 or (args.fuzz_nodes or 0) < 0:
        parser.error("--fuzz-seeds must be at least 1, --fuzz-duration positive, --fuzz-nodes 0+")
    sys.path.insert(0, str(REPOSITORY))
    try:
        with tempfile.TemporaryDirectory(prefix="raftsim-compare-") as scratch:
            sides = sides_for(args, Path(scratch))
            compare(args, sides)
    except CannotRun as error:
        print(f"compare.py: {error}", file=sys.stderr)
        return 2
    return 0


def sides_for(args: argparse.Namespace, scratch: Path) -> list[Side]:
    """The two revisions, checked out under `scratch` (this checkout: used in place)."""
    sides = []
    for label, revision in (("before", args.before), ("after", args.after)):
        if revision is None:
            sides.append(Side(label, REPOSITORY, "this checkout, as it is"))
            continue
        full, title = resolve(revision)
        root = scratch / label
        root.mkdir()
        check_out(full, root)
        sides.append(Side(label, root, title))
    return sides


def compare(args: argparse.Namespace, sides: list[Side]) -> None:
    """Measure and print: throughput always, a fuzz campaign with --fuzz."""
    console.print(f"[dim]{machine()}[/dim]")
    for side in sides:
        console.print(f"{side.label}: {side.title}")
    floors: list[tuple[float, float]] = []
    load = dict(
        nodes=args.nodes,
        seed=args.seed,
        seconds=args.seconds,
        rate=args.rate,
        checkers=args.checkers,
    )
    interleave(sides, "throughput", load, args.repeats, floors)
    report(
        f"throughput: {args.nodes} nodes, {args.rate:g} commands/s for {args.seconds:g} "
        f"simulated s, tracing on, "
        + ("checkers as shipped" if args.checkers == "all" else "no checkers")
        + f"; best of {args.repeats}",
        sides,
        floors,
        "events",
    )
    if args.fuzz:
        before, after = sides
        fuzz_sides = [
            Side(before.label, before.root, before.title),
            Side(after.label, after.root, after.title),
            Side(
                "after, first round's checks",
                after.root,
                after.title,
                settings={"checks": "first round"},
            ),
        ]
        nodes = args.nodes if args.fuzz_nodes is None else args.fuzz_nodes
        fuzz = dict(seeds=args.fuzz_seeds, duration=args.fuzz_duration, nodes=nodes or None)
        interleave(fuzz_sides, "fuzz", fuzz, args.repeats, floors)
        report(
            f"fuzz: {args.fuzz_seeds} seeds of {args.fuzz_duration:g} simulated s, "
            + (f"{nodes} nodes" if nodes else "each fuzzer's own sizes (first round's checks: 5)")
            + f", one process; each revision's fuzzer as it ships, and the "
            f"after code with only the first round's checks; best of {args.repeats}",
            fuzz_sides,
            floors,
            "seeds",
        )
    floor_cpu = max(f[0] for f in floors)
    spread = min(f[0] for f in floors) / floor_cpu
    console.print(
        f"empty heap loop, best of {len(floors)} measured between the runs: "
        f"{floor_cpu:,.0f} events per CPU s ({max(f[1] for f in floors):,.0f} per wall s); "
        f"the slowest was {spread:.2f}x the best"
    )
    console.print(f"[dim]{machine()}[/dim]")


if __name__ == "__main__":
    sys.exit(main())
