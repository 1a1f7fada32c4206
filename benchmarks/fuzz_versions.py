"""Fuzz seeds per CPU minute, one core: the first round's fuzzer, main's, and this checkout's.

Run from the repository root (a git checkout):

    python benchmarks/fuzz_versions.py                       # 100 seeds x 10 s, best of 3
    python benchmarks/fuzz_versions.py --seeds 200 --rounds 5
    python benchmarks/fuzz_versions.py --nodes 5              # every fuzzer on 5 nodes
    python benchmarks/fuzz_versions.py --main main            # another "main" than the base

What it does: checks the older commits out in temporary git worktrees (removed
after) and runs the same seeds (`run_campaign`, one process, as `raftsim fuzz
--seeds N --duration T -j 1`) with each fuzzer in a subprocess of its own,
which reports its CPU seconds. The fuzzers, in order:

- "first round": --before (the first fuzzer: 5 nodes, faults and liveness
  writes, the 13 checkers of its day, the full trace);
- "main": --main (by default where this branch left main): per-seed swarm
  profiles (3 to 7 nodes, clients, reads, snapshots, membership), 17
  checkers, linearizability of the clients' history, the damage witness,
  triggered faults; every seed with the full trace;
- this checkout three ways, to tell the changes apart: with the full trace
  and the linearizability search unpruned (main's work, on this code), then
  without the trace (campaign mode) but unpruned, then as `raftsim fuzz` runs
  now (campaign mode, pruned search);
- and this checkout doing the first round's checks only: its 13 checkers, no
  client operations (so no linearizability), 5 nodes (the schedules still
  draw this code's faults, snapshots and membership changes).

Each fuzzer runs once per round, the rounds interleaved, and its best (least
CPU) round is kept: a shared machine only ever slows a run down. Reported:
seeds per CPU minute, Raft events per CPU second (a like-for-like rate across
fuzzers whose seeds differ in size), both also as a ratio to main's, and per
fuzzer the seeds that failed and the client histories left undecided.

The three runs of this checkout do the same work as main (the same seeds,
checkers, verdicts and coverage): their ratios to main are "at equal checks".
The first round's seeds are other seeds (no clients, fixed size, fewer
checkers), so its ratio compares what a seed costs, then and now; the last
row is the nearest this code comes to its checks.

A benchmark, not a test: it always exits 0 unless it cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import floor  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 130)

# What the first round checked: these 13 checkers (the rest came later), no clients
# (so no linearizability), always 5 nodes.
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

# Runs in the fuzzer's own checkout (its cwd), with that checkout's code: the
# first round's fuzzer lived in sim.fuzz and had no checkers or trace options.
CHILD = r"""
import collections, json, sys, time
sys.path.insert(0, ".")
job = json.loads(sys.argv[1])
try:
    from sim.check.fuzz import FuzzSettings, run_campaign
except ImportError:
    from sim.fuzz import FuzzSettings, run_campaign
import attrs
known = attrs.fields_dict(FuzzSettings)
settings = FuzzSettings(**{k: v for k, v in job["settings"].items() if k in known})
if job.get("trace") == "full":
    import sim.check.fuzz.campaign as campaign
    run_seed = campaign.run_seed
    campaign.run_seed = lambda seed, settings: run_seed(seed, settings, trace="full")
if job.get("first_round_checks"):
    import sim.check.fuzz.campaign as campaign
    import sim.check.fuzz.run as run
    cluster, generate = run.Cluster, campaign.generate
    run.Cluster = lambda *a, **k: cluster(*a, **{**k, "checkers": job["first_round_checks"]})
    campaign.generate = lambda seed, settings: (lambda s: s.with_actions(
        tuple(a for a in s.actions if a.kind != "client")))(generate(seed, settings))
if job.get("unpruned"):
    from sim.check.linearizability import search
    search.Search.__init__.__defaults__ = (False,)
cpu = time.process_time()
results = run_campaign(range(job["first"], job["first"] + job["seeds"]), settings)
cpu = time.process_time() - cpu
print(json.dumps({
    "cpu": cpu,
    "seeds": len(results),
    "events": sum(r.events for r in results),
    "failed": sum(r.failed for r in results),
    "undecided": sum(getattr(r, "history", None) == "gave up" for r in results),
    "verdicts": sorted(
        [r.seed, r.verdict, r.kind, getattr(r, "coverage", None)] for r in results
    ),
}))
"""


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """`rev` checked out in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="raftsim-fuzz-") as parent:
        path = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                check=False,
                capture_output=True,
            )


def run(tree: Path, job: dict) -> dict:
    """One fuzzer's campaign in a subprocess: what CHILD prints."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(job)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the fuzzer in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rev(rev: str) -> str:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="simulated s per seed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=None, help="pin every fuzzer's cluster size")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs; best kept")
    parser.add_argument("--before", default="9b5506f", help="the first round's commit")
    parser.add_argument("--main", default=None, help="main's commit (default: the merge base)")
    args = parser.parse_args(argv)
    try:
        main_rev = (
            args.main
            or subprocess.run(
                ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        before, main_rev = _rev(args.before), _rev(main_rev)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"fuzz_versions: needs a git checkout with the commits: {error}", file=sys.stderr)
        return 2
    settings: dict = {"duration": args.duration}
    if args.nodes is not None:
        settings["nodes"] = args.nodes
    base = {"settings": settings, "first": args.first_seed, "seeds": args.seeds}
    console.print(
        f"[bold]fuzz versions[/bold]: seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
        f" x {args.duration:g} simulated s, "
        f"{f'{args.nodes} nodes' if args.nodes else 'each fuzzer its own cluster sizes'}, "
        f"one process each, best of {args.rounds} interleaved rounds; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    floor_before = floor()
    # Killed, it still removes its worktrees (the `finally` in `checkout`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with ExitStack() as stack:
        first_tree = stack.enter_context(checkout(before))
        main_tree = stack.enter_context(checkout(main_rev))
        fuzzers = [
            (f"first round ({before})", first_tree, {}),
            (f"main ({main_rev}), full trace", main_tree, {}),
            ("this checkout, full trace, unpruned search", ROOT, {"trace": "full", "unpruned": 1}),
            ("this checkout, campaign mode, unpruned search", ROOT, {"unpruned": 1}),
            ("this checkout, campaign mode (raftsim fuzz now)", ROOT, {}),
            (
                "this checkout, campaign mode, the first round's checks",
                ROOT,
                {"first_round_checks": FIRST_ROUND_CHECKERS, "settings": {**settings, "nodes": 5}},
            ),
        ]
        best: dict[str, dict] = {}
        for round_ in range(1, args.rounds + 1):
            for name, tree, extra in fuzzers:
                with console.status(f"round {round_}/{args.rounds}: {name}"):
                    got = run(tree, {**base, **extra})
                if name not in best or got["cpu"] < best[name]["cpu"]:
                    best[name] = got
                console.print(f"  round {round_}: {name}: {got['cpu']:.1f} CPU s", style="dim")
    main_name = fuzzers[1][0]
    main_best = best[main_name]
    table = Table(title="seeds per CPU minute, one core", title_justify="left")
    for column in (
        "fuzzer",
        "CPU s",
        "seeds / CPU min",
        "x main",
        "Raft events / CPU s",
        "x main",
        "failing",
        "undecided",
    ):
        table.add_column(column, justify="left" if column == "fuzzer" else "right")
    for name, _, _ in fuzzers:
        got = best[name]
        rate = got["seeds"] * 60 / got["cpu"]
        events = got["events"] / got["cpu"]
        main_rate = main_best["seeds"] * 60 / main_best["cpu"]
        table.add_row(
            name,
            f"{got['cpu']:.1f}",
            f"{rate:,.0f}",
            f"{rate / main_rate:.2f}",
            f"{events:,.0f}",
            f"{events / (main_best['events'] / main_best['cpu']):.2f}",
            str(got["failed"]),
            str(got["undecided"]),
        )
    console.print(table)
    console.print(
        f"empty-loop floor: {floor_before:,.0f} events/s before, {floor():,.0f} after "
        "(this process; a much lower 'after' means the machine got busier)"
    )
    equal = [name for name, _, _ in fuzzers[2:5]]  # the runs that check what main checks
    differ = [name for name in equal if best[name]["verdicts"] != main_best["verdicts"]]
    if not differ:
        console.print("this checkout's runs gave main's verdicts and coverage, seed for seed")
    else:
        console.print(
            f"[yellow]verdicts or coverage differ from main's: {', '.join(differ)}[/yellow] "
            "(a history main left undecided may now be decided)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
