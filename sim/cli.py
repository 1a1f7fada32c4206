"""The `raftsim` command line.

Exit codes follow one rule everywhere: 0 when everything held, 1 when a
scenario's expectation failed, 2 on bad input (a malformed file, an unknown
node, an impossible request), reported as one `FILE:LINE: message` line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.engine.trace import TraceEvent
from sim.scenario import (
    ScenarioError,
    build_cluster,
    entries,
    library_dir,
    load,
    resolve,
    run_scenario,
)
from sim.scenario.values import BadValue, duration_range
from sim.show import render
from sim.show.demo import run_demo
from sim.show.diagram import sequence_diagram


def _fail(message: str) -> None:
    """Report bad input on one line and exit with code 2."""
    click.echo(message, err=True)
    raise SystemExit(2)


def _window(text: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    try:
        return duration_range(text, "--window")
    except BadValue as error:
        _fail(f"raftsim: {error}")
        raise  # unreachable: _fail exits


def _write_outputs(
    events: Sequence[TraceEvent],
    nodes: Sequence[str] | None,
    trace: str | None,
    diagram: str | None,
    window: str | None,
    title: str,
) -> None:
    start, end = _window(window)
    try:
        if trace is not None:
            with open(trace, "w", encoding="utf-8") as out:
                for event in events:
                    out.write(json.dumps(event.to_dict()) + "\n")
        if diagram is not None:
            svg = sequence_diagram(events, nodes=nodes, start=start, end=end, title=title)
            Path(diagram).write_text(svg, encoding="utf-8")
    except OSError as error:
        _fail(f"{error.filename}: cannot write: {error.strerror}")


DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="The scenario library (default: ./scenarios, or the one next to raftsim).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raftsim")
def main() -> None:
    """raftsim: watch Raft work, step by step, in a deterministic simulated cluster.

    Start with `raftsim list`, then `raftsim run leader-election`.
    """


@main.command()
@click.option(
    "--nodes", default=5, show_default=True, type=click.IntRange(3, 9), help="Cluster size."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed.")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
def demo(nodes: int, seed: int, verbose: bool) -> None:
    """A narrated election, replication, leader crash and recovery."""
    raise SystemExit(run_demo(Console(highlight=False), nodes=nodes, seed=seed, verbose=verbose))


@main.command()
@click.argument("scenario")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict.")
@click.option("--verbose", "-v", is_flag=True, help="Show every trace event, messages included.")
@click.option("--seed", type=int, help="Override the scenario's seed.")
@click.option(
    "--until", "until", metavar="STEP", help="Stop after step number STEP, or after a chapter."
)
@click.option(
    "--trace",
    "trace",
    metavar="FILE.jsonl",
    help="Save the full trace, one JSON event per line.",
)
@click.option("--diagram", metavar="FILE.svg", help="Draw a message sequence diagram of the run.")
@click.option("--window", metavar="FROM..TO", help="The diagram's time window, e.g. 150ms..400ms.")
@DIR_OPTION
def run(
    scenario: str,
    quiet: bool,
    verbose: bool,
    seed: int | None,
    until: str | None,
    trace: str | None,
    diagram: str | None,
    window: str | None,
    directory: str | None,
) -> None:
    """Replay SCENARIO (a file, or a name from `raftsim list`), narrated, checking its
    expectations. Exit code 0: all hold; 1: one failed; 2: bad input."""
    if quiet and verbose:
        _fail("raftsim: --quiet and --verbose cannot be used together")
    _window(window)
    console = Console(highlight=False)
    try:
        parsed = load(resolve(scenario, directory))
        if seed is not None:
            parsed = parsed.with_seed(seed)
        outcome = run_scenario(parsed, console, verbose=verbose, quiet=quiet, until=until)
    except ScenarioError as error:
        _fail(str(error))
        return
    if outcome.cluster is not None:
        _write_outputs(
            outcome.cluster.trace, list(outcome.cluster.nodes), trace, diagram, window, parsed.title
        )
    if outcome.error is not None:
        _fail(str(outcome.error))
    raise SystemExit(outcome.code)


@main.command()
@click.argument("files", nargs=-1, required=True)
@DIR_OPTION
def check(files: tuple[str, ...], directory: str | None) -> None:
    """Validate scenario FILES without running them (exit code 2 at the first bad one)."""
    for name in files:
        try:
            scenario = load(resolve(name, directory))
            build_cluster(scenario)
        except ScenarioError as error:
            _fail(str(error))
            return
        steps = sum(step.number is not None for step in scenario.steps)
        click.echo(f"{scenario.path}: ok ({steps} steps, {scenario.expectations} expectations)")


@main.command(name="list")
@DIR_OPTION
def list_(directory: str | None) -> None:
    """The scenario library: the name, title and first sentence of each story."""
    library = library_dir(directory)
    if library is None:
        where = directory or "./scenarios"
        _fail(f"raftsim: no scenario library found at {where} (use --dir DIR)")
        return
    console = Console(highlight=False)
    table = Table(title=f"scenarios in {library}", title_justify="left", show_lines=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("story")
    for entry in entries(library):
        story = Text(entry.title, style="bold")
        if entry.error:
            story.append(f"\n{entry.error}", style="red")
        else:
            first_sentence = entry.summary.split(". ")[0].rstrip(".") + "."
            story.append(f"\n{first_sentence}", style="dim")
        table.add_row(entry.path.stem, story)
    console.print(table)
    console.print(Text("Run one with: raftsim run NAME  (add --help for the options)", style="dim"))


def _read_trace(path: str) -> list[TraceEvent]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"{path}: cannot read the file: {getattr(error, 'strerror', None) or error}")
        return []
    fields = TraceEvent._fields
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or set(data) != set(fields):
                raise ValueError("wrong fields")
            events.append(TraceEvent(**data))
        except ValueError:
            _fail(
                f"{path}:{number}: expected a trace event, a JSON object with the fields "
                f"{', '.join(fields)} (as `raftsim run --trace` writes)"
            )
    return events


@main.command()
@click.argument("trace_file", metavar="FILE.jsonl")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
@click.option("--diagram", metavar="FILE.svg", help="Draw a message sequence diagram.")
@click.option("--window", metavar="FROM..TO", help="The diagram's time window.")
def replay(trace_file: str, verbose: bool, diagram: str | None, window: str | None) -> None:
    """Re-render a trace saved with `raftsim run --trace`."""
    events = _read_trace(trace_file)
    _window(window)
    console = Console(highlight=False)
    for line in render.story(events, verbose=verbose):
        console.print(Text("  ") + line, soft_wrap=True)
    _write_outputs(events, None, None, diagram, window, Path(trace_file).name)


@main.command()
@click.argument("scenario", required=False)
@click.option(
    "--nodes", type=click.IntRange(1, 9), help="Cluster size without a scenario.  [default: 5]"
)
@click.option("--seed", type=int, help="Random seed (overrides a scenario's).  [default: 7]")
@click.option(
    "--speed",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.001, 10.0),
    help="Simulated seconds per real second.",
)
@click.option("--svg", metavar="FILE.svg", help="Save a picture of the dashboard and exit.")
@DIR_OPTION
def watch(
    scenario: str | None,
    nodes: int | None,
    seed: int | None,
    speed: float,
    svg: str | None,
    directory: str | None,
) -> None:
    """Watch a cluster live in the terminal and poke it with keys (? lists them).

    With SCENARIO (a file or a name from `raftsim list`) the story plays and stops
    at its pause points; the keys still work. Piped output gets the narrated run.
    """
    # Imported here: only this command needs trio and the terminal.
    import sys

    from sim.cluster import Cluster
    from sim.scenario.player import ScenarioPlayer
    from sim.show import live

    player = None
    try:
        if scenario is not None:
            if nodes is not None:
                _fail("raftsim: --nodes does not apply to a scenario (its `cluster` line says)")
            parsed = load(resolve(scenario, directory))
            if seed is not None:
                parsed = parsed.with_seed(seed)
            if not (sys.stdout.isatty() and sys.stdin.isatty()) and svg is None:
                outcome = run_scenario(parsed, Console(highlight=False))
                if outcome.error is not None:
                    _fail(str(outcome.error))
                raise SystemExit(outcome.code)
            build_cluster(parsed)  # bad cluster options: one line, before the quiet run
            player = ScenarioPlayer(parsed)
            cluster = player.cluster
        else:
            cluster = Cluster(nodes or 5, seed=7 if seed is None else seed)
    except ScenarioError as error:
        _fail(str(error))
        return
    if svg is not None:
        selected = None
        if player is not None:
            player.run_to_next_pause()
        else:
            live.first_commits(cluster)
            selected = cluster.leader
        image = live.picture(cluster, speed=speed, player=player, selected=selected)
        try:
            Path(svg).write_text(image, encoding="utf-8")
        except OSError as error:
            _fail(f"{svg}: cannot write: {error.strerror}")
        return
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        live.narrated_run(cluster, Console(highlight=False))
        return
    try:
        live.watch(cluster, speed=speed, player=player)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


class _OneLineUsage(click.Command):
    """Usage errors (a bad number, an unknown option) as one line and exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            _fail(f"raftsim {ctx.info_name}: {error.format_message()}")
            raise


@main.command(cls=_OneLineUsage)
@click.option("--seeds", default=100, show_default=True, help="How many seeds to run.")
@click.option(
    "--duration", default=10.0, show_default=True, help="Simulated seconds of faults per seed."
)
@click.option("--jobs", "-j", default=1, show_default=True, help="Worker processes.")
@click.option("--first-seed", default=0, show_default=True, help="The first seed to run.")
@click.option(
    "--nodes",
    type=int,
    default=None,
    help="Servers at the start (1 to 9). Default: each seed draws its own, 3 to 7.",
)
@click.option(
    "--bug", "bugs", multiple=True, metavar="NAME", help="Switch on a bug (raft/bugs.py); repeat."
)
@click.option(
    "--checkers",
    type=click.Choice(["all", "safety"]),
    default="all",
    show_default=True,
    help="safety: only the five properties of the paper's Figure 3, and linearizability of "
    "the clients' history; all: the Figure 2 rule checkers too.",
)
@click.option(
    "--unsafe-reads",
    is_flag=True,
    help="Clients also read from any node's own state (local reads): stale reads show up.",
)
@click.option("--minimize", is_flag=True, help="Shrink each failing schedule (the first 5).")
@click.option(
    "--save",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Save minimized failing schedules as scenario files (implies --minimize).",
)
def fuzz(
    seeds: int,
    duration: float,
    jobs: int,
    first_seed: int,
    nodes: int | None,
    bugs: tuple[str, ...],
    checkers: str,
    unsafe_reads: bool,
    minimize: bool,
    save: str | None,
) -> None:
    """Random fault campaigns: crashes, partitions, loss, membership changes and
    clients (writes, cas, appends, reads), then healing. Each seed draws its own
    mix (swarm testing). Checks safety throughout, liveness after healing, and
    that the clients' history is linearizable; prints which protocol situations
    were reached (coverage). Exit code 0: no seed failed; 1: some did (each
    printed with the checker that caught it and the command that replays it);
    2: bad input."""
    from raft.bugs import check_bugs
    from sim.check.fuzz import FuzzSettings
    from sim.check.fuzz.report import fuzz as run_fuzz

    for name, value, low in (
        ("--seeds", seeds, 1),
        ("--jobs", jobs, 1),
        ("--first-seed", first_seed, 0),
    ):
        if value < low:
            _fail(f"raftsim fuzz: {name} must be at least {low}, got {value}")
    if not 0 < duration <= 3600:
        _fail(f"raftsim fuzz: --duration must be between 0 and 3600 seconds, got {duration:g}")
    if nodes is not None and not 1 <= nodes <= 9:
        _fail(f"raftsim fuzz: --nodes must be between 1 and 9, got {nodes}")
    try:
        check_bugs(bugs)
    except ValueError as error:
        _fail(f"raftsim fuzz: {error}")
    if save is not None:
        try:
            Path(save).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            _fail(f"raftsim fuzz: --save {save}: cannot create the directory: {error.strerror}")
    settings = FuzzSettings(
        duration=duration,
        nodes=nodes,
        bugs=tuple(dict.fromkeys(bugs)),
        checkers=checkers,
        unsafe_reads=unsafe_reads,
    )
    try:
        code = run_fuzz(
            Console(highlight=False),
            range(first_seed, first_seed + seeds),
            settings,
            jobs=jobs,
            minimize_failures=minimize or save is not None,
            save=None if save is None else Path(save),
        )
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    raise SystemExit(code)


if __name__ == "__main__":  # python -m sim.cli
    main()
