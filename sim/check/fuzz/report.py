"""What `raftsim fuzz` shows: a progress bar, a summary table, each failure with
the command that replays it, the coverage table, and minimized schedules.

A view only: it runs the campaign through sim.check.fuzz and prints what comes back.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sim.check.fuzz import coverage
from sim.check.fuzz.campaign import run_campaign, run_seed
from sim.check.fuzz.run import ERROR, LIVENESS, VIOLATION, Execution, Result, rerun
from sim.check.fuzz.save import replay_command, scenario_text
from sim.check.fuzz.schedule import FuzzSettings, generate
from sim.check.fuzz.shrink import minimize
from sim.check.linearizability import Verdict

if TYPE_CHECKING:  # only a campaign with --scheduler imports Dask
    from sim.check.fuzz.distributed import DaskCampaign

# What the linearizability checker said of a seed's history (Result.history).
LINEARIZABLE = Verdict.LINEARIZABLE.value
BROKEN = Verdict.VIOLATION.value
GAVE_UP = Verdict.GAVE_UP.value
MINIMIZE_AT_MOST = 5  # failing seeds minimized per campaign (each costs up to hundreds of runs)
DAMAGE_LOOKS = 100  # seeds stopped by a rule run again, at most, to see if they do damage


def fuzz(
    console: Console,
    seeds: Sequence[int],
    settings: FuzzSettings,
    *,
    jobs: int = 1,
    minimize_failures: bool = False,
    save: Path | None = None,
    dask: DaskCampaign | None = None,
) -> int:
    """Run the campaign and report it; returns the exit code (0 all ok, 1 some failed).

    With `dask` the seeds run on that cluster instead of `jobs` processes here;
    failing seeds are re-run here, and must come out the same.
    """
    if dask is not None:
        console.print(Text(dask.where(), style="dim"), soft_wrap=True)
        _warn(console, dask.warnings)
    shown = 0 if dask is None else len(dask.warnings)
    started = time.perf_counter()
    failures = 0
    progress = Progress(
        TextColumn("[bold]fuzz"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("seeds"),
        TextColumn("{task.fields[failures]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )

    with progress:
        task = progress.add_task("fuzz", total=len(seeds), failures=_failures_text(0))

        def arrived(result: Result) -> None:
            nonlocal failures
            failures += result.failed
            progress.update(task, advance=1, failures=_failures_text(failures))

        if dask is None:
            results = run_campaign(seeds, settings, jobs=jobs, on_result=arrived)
        else:
            results = dask.run(seeds, settings, on_result=arrived)
    wall = time.perf_counter() - started

    ran_on = None
    if dask is not None:
        _warn(console, dask.warnings[shown:])
        ran_on = f"Dask, {len(dask.ran_on)} worker{'s' * (len(dask.ran_on) != 1)}"
    console.print(summary_table(results, settings, wall, jobs, ran_on=ran_on))
    console.print(coverage_table(results))
    failed = [r for r in results if r.failed]
    for result in failed:
        console.print(
            Text.assemble(
                (f"seed {result.seed}: ", "bold red"),
                result.headline(),
                ("\n    replay: ", "dim"),
                (replay_command(generate(result.seed, settings)), "bold"),
            ),
            soft_wrap=True,
        )
    if dask is not None and failed:
        _reproduce(console, dask, failed, settings)
    undecided = [r.seed for r in results if r.history == GAVE_UP]
    if undecided:
        # Not failures: the search ran out of budget before it could decide.
        shown = ", ".join(map(str, undecided[:20])) + (", ..." if len(undecided) > 20 else "")
        console.print(
            Text(
                f"undecided histories (the linearizability search ran out of states): "
                f"seeds {shown}",
                style="yellow",
            ),
            soft_wrap=True,
        )
    if minimize_failures and failed:
        shrink = _worth_shrinking(failed, settings)
        if len(failed) > len(shrink):
            console.print(
                Text(
                    f"minimizing {len(shrink)} of {len(failed)} failing seeds, those that do "
                    "real damage first (replay another one with --minimize to shrink it)",
                    style="dim",
                )
            )
        for result, failing in shrink:
            _minimize_one(console, result, failing, settings, save)
    if not failed:
        console.print(Text(f"no failures in {len(results)} seeds", style="bold green"))
    console.print(Text(history_sentence(results), style="bold" if not failed else ""))
    return 1 if failed else 0


def _warn(console: Console, warnings: Sequence[str]) -> None:
    for warning in warnings:
        console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)


def _reproduce(
    console: Console, dask: DaskCampaign, failed: Sequence[Result], settings: FuzzSettings
) -> None:
    """Re-run failing seeds here; say whether they gave the workers' results."""
    done = dask.reproduce(failed, settings)
    seeds = f"failing seed{'s' * (done.failing != 1)}"
    if done.rerun == done.failing:
        said = f"re-ran the {done.failing} {seeds} here"
    else:
        said = f"re-ran the first {done.rerun} of {done.failing} {seeds} here"
    if not done.mismatches:
        console.print(
            Text(f"{said}: each gave the same result and the same digest", style="dim"),
            soft_wrap=True,
        )
        return
    console.print(
        Text(
            f"nondeterminism: {said}, and {len(done.mismatches)} came out differently",
            style="bold red",
        ),
        soft_wrap=True,
    )
    for mismatch in done.mismatches:
        console.print(Text(f"    {mismatch.describe()}", style="red"), soft_wrap=True)


def _failures_text(count: int) -> str:
    return f"[red]{count} failing[/red]" if count else "0 failing"


def summary_table(
    results: Sequence[Result],
    settings: FuzzSettings,
    wall: float,
    jobs: int,
    *,
    ran_on: str | None = None,
) -> Table:
    """Seeds, failures by kind, client operations, events, and how fast the campaign simulated.

    `ran_on` says where the seeds ran when not in `jobs` processes here.
    """
    bugs = ", ".join(settings.bugs) or "none"
    nodes = f"{settings.nodes} nodes" if settings.nodes is not None else "3-7 nodes"
    table = Table(
        title=f"{len(results)} seeds x {settings.duration:g}s, {nodes}, bugs: {bugs}",
        title_justify="left",
        show_header=False,
        min_width=44,
    )
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    failed = [r for r in results if r.failed]
    checkers = {"all": "all", "safety": "Figure 3 + linearizability"}[settings.checkers]
    table.add_row("checkers", checkers)
    if settings.unsafe_reads:
        table.add_row("unsafe reads", "local")
    table.add_row("seeds run", str(len(results)))
    table.add_row("passed", str(len(results) - len(failed)))
    labels = {VIOLATION: "violated: ", LIVENESS: "liveness: ", ERROR: "simulator raised "}
    for (verdict, kind), count in sorted(Counter((r.verdict, r.kind) for r in failed).items()):
        table.add_row(Text(f"  {labels[verdict]}{kind}", style="red"), str(count))
    checked = [r for r in results if r.history is not None]
    table.add_row("client operations", f"{sum(r.operations for r in results):,}")
    table.add_row("  answered ok", f"{sum(r.answered for r in results):,}")
    table.add_row(
        "  histories linearizable", f"{_count(checked, 'linearizable')} of {len(checked)}"
    )
    undecided = _count(checked, "gave up")
    if undecided:
        table.add_row(Text("  undecided (search budget)", style="yellow"), str(undecided))
    events = sum(r.events for r in results)
    simulated = sum(r.simulated for r in results)
    table.add_row("Raft events", f"{events:,}")
    table.add_row("simulated seconds", f"{simulated:,.1f}")
    where = ran_on or (f"{jobs} jobs" if jobs > 1 else None)
    table.add_row("wall seconds", f"{wall:,.1f}" + (f" ({where})" if where else ""))
    if wall > 0:
        table.add_row("simulated s / wall s", f"{simulated / wall:,.0f}")
        table.add_row("seeds / minute", f"{len(results) * 60 / wall:,.0f}")
    return table


def _count(results: Sequence[Result], history: str) -> int:
    return sum(r.history == history for r in results)


def history_sentence(results: Sequence[Result]) -> str:
    """How many client operations were checked, and what the checker said of them."""
    checked = [r for r in results if r.history is not None]
    operations = sum(r.operations for r in checked)
    counts = {verdict: _count(checked, verdict) for verdict in (LINEARIZABLE, BROKEN, GAVE_UP)}
    said = "all linearizable"
    if counts[LINEARIZABLE] < len(checked):
        said = "histories " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    return f"{operations:,} client operations checked in {len(checked)} seeds: {said}"


def coverage_table(results: Sequence[Result]) -> Table:
    """Each protocol situation: how often the campaign reached it, and in how many seeds."""
    merged = coverage.merge(dict(r.coverage) for r in results)
    table = Table(title="coverage", title_justify="left", min_width=44)
    table.add_column("situation")
    table.add_column("times", justify="right")
    table.add_column("seeds", justify="right")
    for name, words in coverage.SITUATIONS.items():
        times, seeds = merged[name]
        if times:
            table.add_row(words, f"{times:,}", f"{seeds:,}")
        else:
            table.add_row(Text(words, style="yellow"), Text("never", style="yellow"), "")
    return table


def _worth_shrinking(
    failed: Sequence[Result], settings: FuzzSettings
) -> list[tuple[Result, Execution | None]]:
    """The failing seeds to minimize (at most MINIMIZE_AT_MOST), those that do damage first.

    A broken rule stops a run before the damage it leads to. Run again with only
    the consequence checkers, the same schedule may go on to break a Figure 3
    property: then that run is the one to shrink, toward the damage. At most
    DAMAGE_LOOKS seeds are run again to find out.
    """
    damaged: list[tuple[Result, Execution | None]] = []
    others: list[tuple[Result, Execution | None]] = []
    looked = 0
    consequences = attrs.evolve(settings, checkers="safety")
    for result in failed:
        if len(damaged) >= MINIMIZE_AT_MOST:
            break
        if result.damage:
            damaged.append((result, None))
        elif result.verdict == VIOLATION and looked < DAMAGE_LOOKS:
            looked += 1
            again = run_seed(result.seed, consequences)
            (damaged if again.result.damage else others).append(
                (result, again if again.result.damage else None)
            )
        else:
            others.append((result, None))
    return (damaged + others)[:MINIMIZE_AT_MOST]


def _minimize_one(
    console: Console,
    result: Result,
    damaged: Execution | None,
    settings: FuzzSettings,
    save: Path | None,
) -> None:
    """Shrink a failing seed (or its damaging run, see `_worth_shrinking`), print it, save it."""
    seed = result.seed
    failing = damaged
    if damaged is None:
        # Run again with the full trace, to be read: the campaign's run kept none.
        again = rerun(generate(seed, settings), result)
        failing = again.execution
        if not again.same:
            console.print(
                Text(
                    f"nondeterminism: seed {seed} ran differently with the full trace: "
                    f"{failing.result.headline()} (digest {failing.result.digest[:12]}), "
                    f"not {result.headline()} (digest {result.digest[:12]})",
                    style="bold red",
                ),
                soft_wrap=True,
            )
    else:
        console.print(
            Text(
                f"seed {seed} broke {result.kind}; with only the consequence checkers it "
                f"goes on to break {damaged.result.kind}: minimizing that",
                style="dim",
            ),
            soft_wrap=True,
        )
    assert failing is not None
    with Progress(
        TextColumn(f"[bold]minimizing seed {seed}"),
        TextColumn("{task.fields[runs]} runs, best {task.fields[actions]} actions"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("min", total=None, runs=0, actions=len(failing.schedule.actions))

        def tick(runs: int, actions: int) -> None:
            progress.update(task, runs=runs, actions=actions)

        shrunk = minimize(failing, progress=tick)
    kept = shrunk.schedule.actions
    note = "" if shrunk.complete else " (stopped at the run limit: may not be minimal)"
    console.print(
        Text.assemble(
            (f"seed {seed} minimized: ", "bold"),
            f"{len(failing.schedule.actions)} -> {len(kept)} actions in {shrunk.runs} runs{note}; "
            f"{shrunk.execution.result.headline()}",
        ),
        soft_wrap=True,
    )
    if shrunk.execution.lost:
        console.print(Text(f"    lost: {shrunk.execution.lost}", style="red"), soft_wrap=True)
    steps = shrunk.execution.lines
    for action in kept:
        done = "; ".join(line.text for line in steps if line.number == action.number)
        line = Text(f"    {action}")
        line.append(f"  -> {done or 'nothing to do then'}", style="dim")
        console.print(line, soft_wrap=True)
    if save is not None:
        text = scenario_text(shrunk.execution, original_actions=len(failing.schedule.actions))
        save.mkdir(parents=True, exist_ok=True)
        path = save / f"fuzz-seed-{seed}.scenario"
        path.write_text(text, encoding="utf-8")
        console.print(
            Text.assemble(
                ("    saved ", "dim"), str(path), ("; replay: ", "dim"), f"raftsim run {path}"
            ),
            soft_wrap=True,
        )
