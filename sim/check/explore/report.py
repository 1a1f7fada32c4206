"""`raftsim explore` on a console: progress while it searches, then what it found.

A counterexample is told by replaying the scenario file it becomes
(sim/check/explore/save.py) through the same runner as `raftsim run`, so it
reads with the same sentences, step by step. Then come the figures: states
explored, distinct states, the depth reached, states per second, and how many
distinct states each depth added.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from raft.bugs import check_bugs
from sim.check.explore.moves import Budgets
from sim.check.explore.save import file_name, scenario_text
from sim.check.explore.search import Limits, Result, Search, Stats
from sim.check.explore.start import Start, fresh, from_scenario
from sim.scenario import parse, resolve, run_scenario

ENDINGS = {
    "exhausted": "no violation: every state within the bounds was explored",
    "depth": "no violation up to depth {depth} (states at depth {depth} were not expanded)",
    "time": "no violation found before the time limit ({seconds:.0f} s; not exhaustive)",
    "walks": "no violation in {walks:,} random walks (not exhaustive)",
}


def progress_text(stats: Stats, strategy: str) -> Text:
    """One line: how far the search is."""
    text = Text(f"{strategy} ", style="bold")
    text.append(
        f"depth {stats.depth}  frontier {stats.frontier:,}  explored {stats.explored:,}  "
        f"distinct {stats.distinct:,}  {stats.rate:,.0f} states/s  {stats.seconds:.0f} s"
    )
    return text


def search(console: Console, start: Start, limits: Limits, strategy: str, jobs: int) -> Result:
    """Run the search, with a live progress line on a terminal."""
    from sim.check.explore.parallel import parallel_bfs

    live = (
        Live(console=console, transient=True, auto_refresh=False) if console.is_terminal else None
    )

    def show(stats: Stats) -> None:
        if live is not None:
            live.update(progress_text(stats, strategy), refresh=True)

    if live is not None:
        live.start()
    try:
        if strategy == "bfs" and jobs > 1:
            return parallel_bfs(start.world, limits, jobs, show)
        return Search(start.world, limits, show).run(strategy)
    finally:
        if live is not None:
            live.stop()


def figures(result: Result, strategy: str, jobs: int) -> Table:
    stats = result.stats
    table = Table(title="explored", title_justify="left", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right", style="bold")
    table.add_row("strategy", strategy + (f", {jobs} jobs" if jobs > 1 else ""))
    table.add_row("states explored", f"{stats.explored:,}")
    table.add_row("distinct states", f"{stats.distinct:,}")
    table.add_row("depth reached", str(stats.depth))
    table.add_row("states / s", f"{stats.rate:,.0f}")
    table.add_row("wall time", f"{stats.seconds:.1f} s")
    table.add_row("cut off by --max-term", f"{stats.pruned:,}")
    table.add_row("symmetry reduction", "on" if result.symmetry else "off")
    table.add_row("disk flushes", "at once (no crashes)" if result.eager else "chosen")
    table.add_row("distinct states by depth", ", ".join(f"{n:,}" for n in stats.by_depth))
    return table


def explore(
    console: Console,
    start: Start,
    limits: Limits,
    *,
    strategy: str,
    jobs: int,
    save: Path | None,
    command: str,
) -> int:
    """Search, report, and save a counterexample; returns the exit code (0 or 1)."""
    budgets = limits.budgets
    console.print(
        Text(
            f"exploring {start.described}: {strategy}, depth <= {limits.depth}, "
            f"terms <= {limits.max_term}, crashes {budgets.crashes}, losses {budgets.losses}, "
            f"duplicates {budgets.duplicates}, clients {budgets.clients}",
            style="bold",
        )
    )  # wrapped at words to the terminal's width (a soft wrap breaks words)
    result = search(console, start, limits, strategy, jobs)
    if result.finding is None:
        console.print(figures(result, strategy, jobs))
        ending = ENDINGS[result.stop].format(
            depth=limits.depth, seconds=result.stats.seconds, walks=limits.walks
        )
        console.print(Text(ending, style="bold green"))
        return 0
    finding = result.finding
    text = scenario_text(start, result, command, eager=result.eager)
    path = save / file_name(start, finding) if save is not None else None
    console.print(
        Text(
            f"found: {finding.property} after {len(finding.moves)} choices; the path, replayed:",
            style="bold red",
        )
    )
    outcome = run_scenario(parse(text, str(path or "<explored>")), console)
    console.print(figures(result, strategy, jobs))
    if outcome.code != 1:
        console.print(Text("the replay did not reproduce the violation", style="bold red"))
    if path is not None:
        path.write_text(text, encoding="utf-8")
        console.print(Text(f"saved: {path}  (raftsim run {path} replays it: exit 1)"))
    return 1


def command(console: Console, options: dict, words: str, *, cpus: int) -> int:
    """`raftsim explore` with its command-line options; ValueError or ScenarioError on
    bad input (one line each), else the exit code."""
    if options["start"] is not None and options["nodes"] is not None:
        raise ValueError("--nodes and --from cannot be used together")
    if options["until"] is not None and options["start"] is None:
        raise ValueError("--until needs --from (the scenario to start from)")
    check_bugs(options["bugs"])
    bugs = tuple(dict.fromkeys(options["bugs"]))  # in the order given, once each
    save = None if options["save"] is None else Path(options["save"])
    if save is not None:
        try:
            save.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"--save {save}: cannot create the directory: {error}") from None
    if options["start"] is not None:
        path = str(resolve(options["start"], options["directory"]))
        start = from_scenario(path, options["until"], bugs, options["checkers"])
    else:
        start = fresh(options["nodes"] or 3, bugs, options["checkers"])
    budgets = Budgets(
        crashes=options["crashes"],
        losses=options["losses"],
        duplicates=options["duplicates"],
        clients=options["clients"],
    )
    max_term = options["max_term"]
    limits = Limits(
        depth=options["depth"],
        max_term=start.max_term + 2 if max_term is None else max_term,
        budgets=budgets,
        symmetry=not options["no_symmetry"],
        flushes=options["flushes"],
        time_limit=options["time_limit"],
        walks=options["walks"],
        seed=options["seed"],
    )
    return explore(
        console,
        start,
        limits,
        strategy=options["strategy"],
        jobs=min(options["jobs"], cpus),
        save=save,
        command=words,
    )
