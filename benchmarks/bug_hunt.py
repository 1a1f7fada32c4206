"""Bug hunt: how many fuzz seeds until each bug switch does real damage?

Run from the repository root:

    python benchmarks/bug_hunt.py                           # 300 seeds x 5 s, every bug
    python benchmarks/bug_hunt.py --bug commit_old_term --seeds 1000 --jobs 2
    python benchmarks/bug_hunt.py --checkers all            # count broken rules too
    python benchmarks/bug_hunt.py --clean                   # and a campaign with no bug

What it does: for each bug switch (raft/bugs.py) it runs the seeds that
`raftsim fuzz --seeds N --duration T --bug NAME --checkers safety` runs
(sim.check.fuzz.run_campaign) and reports

- seeds to first failure, and what failed (with `--checkers all`, usually the
  Figure 2 rule the bug skips, which stops the run before any damage);
- seeds to first damage: 1 + the position of the first seed that breaks a
  consequence property, one of the five of the Raft paper's Figure 3 or the
  linearizability of the clients' history, and the property that caught it;
- how many of the N seeds did damage, and which properties caught them;
- what else failed: with `--checkers all`, seeds whose first violation was a
  Figure 2 rule; liveness failures; the simulator raising;
- CPU seconds (this process and its workers) and seeds per CPU minute, which
  survive a shared, noisy machine better than wall time.

Every seed makes the same schedule whichever bug is on, so the figures compare
the bugs on one common set of schedules. A benchmark, not a test: it always
exits 0 unless it cannot run. The table in README.md's checking section comes
from its default run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

# Run as a script from anywhere: make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.campaign_timing import timed_campaign  # noqa: E402
from benchmarks.throughput import floor, machine  # noqa: E402
from raft.bugs import BUGS, check_bugs  # noqa: E402
from sim.check.fuzz import FuzzSettings, Result  # noqa: E402
from sim.check.fuzz.run import CONSEQUENCES, VIOLATION  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 200)


def row(name: str, results: list[Result], cpu: float) -> list[str]:
    failed = [r for r in results if r.failed]
    caught = failed[0] if failed else None
    hits = [r for r in results if r.damage]
    first = hits[0] if hits else None
    by_property = Counter(r.kind for r in hits)
    rules = Counter(r.kind for r in results if r.verdict == VIOLATION and not r.damage)
    other = Counter(
        f"{r.verdict}: {r.kind}" for r in results if r.failed and r.verdict != VIOLATION
    )
    return [
        name,
        "none" if caught is None else str(results.index(caught) + 1),
        "" if caught is None else str(caught.kind),
        "none" if first is None else str(results.index(first) + 1),
        "" if first is None else str(first.kind),
        f"{len(hits)} / {len(results)}",
        ", ".join(f"{kind} {n}" for kind, n in by_property.most_common()),
        ", ".join(f"{kind} {n}" for kind, n in rules.most_common()),
        ", ".join(f"{kind} {n}" for kind, n in other.most_common()),
        f"{cpu:.0f}",
        f"{len(results) * 60 / cpu:,.0f}" if cpu > 0 else "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5.0, help="simulated s per seed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--checkers", choices=["safety", "all"], default="safety")
    parser.add_argument("--bug", action="append", default=[], help="a bug switch; repeat")
    parser.add_argument("--clean", action="store_true", help="also run with no bug switched on")
    args = parser.parse_args(argv)
    try:
        bugs = sorted(check_bugs(args.bug)) or sorted(BUGS)
    except ValueError as error:
        print(f"bug_hunt: {error}", file=sys.stderr)
        return 2
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    console.print(
        f"[bold]bug hunt[/bold]: {args.seeds} seeds (from {args.first_seed}) x "
        f"{args.duration:g} simulated s, --checkers {args.checkers}, {args.jobs} job(s); "
        f"{machine()}; empty-loop floor {floor():,.0f} events/s"
    )
    table = Table(title="seeds to first damage", title_justify="left")
    for column, justify in (
        ("bug switch", "left"),
        ("seeds to first failure", "right"),
        ("failed first on", "left"),
        ("seeds to first damage", "right"),
        ("caught by", "left"),
        ("seeds with damage", "right"),
        ("damage by property", "left"),
        ("rules only", "left"),
        ("other failures", "left"),
        ("CPU s", "right"),
        ("seeds / CPU min", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    started = time.perf_counter()
    runs = [(bug, (bug,)) for bug in bugs] + ([("(no bug)", ())] if args.clean else [])
    for name, switched in runs:
        settings = FuzzSettings(duration=args.duration, bugs=switched, checkers=args.checkers)
        results, _, cpu = timed_campaign(console, name, seeds, settings, args.jobs)
        table.add_row(*row(name, results, cpu))
    console.print(table)
    console.print(
        f"{time.perf_counter() - started:,.0f} wall s. Damage: a violation of one of "
        f"{', '.join(sorted(CONSEQUENCES))}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
