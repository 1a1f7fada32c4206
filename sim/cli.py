"""The `raftsim` command line.

Exit codes follow one rule everywhere: 0 when everything held, 1 when a
scenario's expectation failed (or a fuzzed seed did), 2 on bad input (a
malformed file, an unknown node, an impossible request, a mistyped command
line), reported as one line: `FILE:LINE: message` where there is a file.
Ctrl-C exits with 130, as shells expect of an interrupted command.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource
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
from sim.scenario.parser import lines, read_text
from sim.scenario.steps import Expect
from sim.scenario.values import BadValue, duration_range
from sim.scenario.words import one_line
from sim.show import render
from sim.show.demo import run_demo
from sim.show.diagram import sequence_diagram

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.model import Step


def _fail(message: str, code: int = 2) -> None:
    """Report bad input on one line, of readable length whatever it quotes, and exit."""
    click.echo(one_line(message), err=True)
    raise SystemExit(code)


def _window(text: str | None, diagram: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    if diagram is None:
        _fail("raftsim: --window sets the time window of --diagram, and no --diagram is given")
    try:
        return duration_range(text, "--window")
    except BadValue as error:
        _fail(f"raftsim: {error}")
        raise  # unreachable: _fail exits


def _check_output(path: str | None, option: str) -> None:
    """Refuse an output file that cannot be written before the work that would fill it."""
    if path is None:
        return
    folder = Path(path).parent
    if not folder.is_dir():
        _fail(f"raftsim: {option} {path}: there is no directory {str(folder)!r} to write it in")
    if Path(path).is_dir():
        _fail(f"raftsim: {option} {path}: is a directory")


def _check_folder(path: str | None, option: str) -> None:
    """Refuse an output directory that cannot be made, before the work that would fill it."""
    if path is None:
        return
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        _fail(f"raftsim: {option} {path}: is a file, not a directory")
    if not folder.parent.is_dir():
        _fail(
            f"raftsim: {option} {path}: there is no directory {str(folder.parent)!r} to make it in"
        )
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        _fail(f"raftsim: {option} {path}: cannot make the directory: {error.strerror}")


def _ring_frames(folder: str, steps: Sequence[Step]) -> Callable[[Step, Cluster], None]:
    """Draws the ring after each step that acts (expectations do not): DIR/step-001.svg, ..."""
    from sim.show.ring import ring_svg

    digits = max(3, len(str(max((s.number or 0 for s in steps), default=0))))

    def draw(step: Step, cluster: Cluster) -> None:
        if step.number is None or isinstance(step, Expect):
            return
        where = f"{step.chapter} · " if step.chapter else ""
        caption = one_line(f"{where}step {step.number}: {step.source}")
        path = Path(folder) / f"step-{step.number:0{digits}d}.svg"
        try:
            path.write_text(ring_svg(cluster, caption=caption), encoding="utf-8")
        except OSError as error:
            _fail(f"{path}: cannot write: {error.strerror}")

    return draw


def _write_outputs(
    events: Sequence[TraceEvent],
    nodes: Sequence[str] | None,
    trace: str | None,
    diagram: str | None,
    window: str | None,
    title: str,
) -> None:
    start, end = _window(window, diagram)
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


WINDOW_HELP = (
    "The diagram's window of simulated time, with units, e.g. 150ms..400ms or 1s..2.5s "
    "(with --diagram)."
)

DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="The scenario library (default: ./scenarios, or the one next to raftsim).",
)


class _Raftsim(click.Group):
    """The command group. A mistyped command line is bad input like a bad file: one
    line and exit code 2, for every command (click's own answer is a usage block).
    Ctrl-C ends any command with one line and exit code 130."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        kwargs.setdefault("prog_name", "raftsim")  # also when run as `python -m sim.cli`
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()  # a bare `raftsim`: the help is the useful answer
            raise SystemExit(2) from None
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else "raftsim"
            _fail(f"{where}: {error.format_message()} (see {where} --help)")
        except click.ClickException as error:
            _fail(f"raftsim: {error.format_message()}")
        except click.Abort:
            _fail("raftsim: interrupted", 130)
        raise SystemExit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _fail(f"{ctx.command_path}: interrupted", 130)


@click.group(name="raftsim", cls=_Raftsim, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--window", metavar="FROM..TO", help=WINDOW_HELP)
@click.option(
    "--ring",
    metavar="DIR",
    help="Draw the cluster as a ring of servers after each step: DIR/step-001.svg, ...",
)
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
    ring: str | None,
    directory: str | None,
) -> None:
    """Replay SCENARIO (a file, or a name from `raftsim list`), narrated, checking its
    expectations. Exit code 0: all hold; 1: one failed; 2: bad input."""
    if quiet and verbose:
        _fail("raftsim: --quiet and --verbose cannot be used together")
    _window(window, diagram)
    _check_output(trace, "--trace")
    _check_output(diagram, "--diagram")
    _check_folder(ring, "--ring")
    console = Console(highlight=False)
    try:
        parsed = load(resolve(scenario, directory))
        if seed is not None:
            parsed = parsed.with_seed(seed)
        draw = _ring_frames(ring, parsed.steps) if ring is not None else None
        outcome = run_scenario(
            parsed, console, verbose=verbose, quiet=quiet, until=until, after_step=draw
        )
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
        text = read_text(path)
    except ScenarioError as error:
        _fail(str(error))
        return []
    events = []
    for number, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as error:
            _fail(f"{path}:{number}: {TRACE_EXPECTED} (not JSON: {error})")
        try:
            events.append(TraceEvent.from_dict(data))
        except ValueError as error:
            _fail(f"{path}:{number}: {TRACE_EXPECTED} ({error})")
    if not events:
        _fail(f"{path}:1: {TRACE_EXPECTED} (the file has none)")
    return events


TRACE_EXPECTED = "expected a trace event, one JSON object a line, as `raftsim run --trace` writes"


@main.command()
@click.argument("trace_file", metavar="FILE.jsonl")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
@click.option("--diagram", metavar="FILE.svg", help="Draw a message sequence diagram.")
@click.option("--window", metavar="FROM..TO", help=WINDOW_HELP)
def replay(trace_file: str, verbose: bool, diagram: str | None, window: str | None) -> None:
    """Re-render a trace saved with `raftsim run --trace`."""
    _window(window, diagram)
    _check_output(diagram, "--diagram")
    events = _read_trace(trace_file)
    console = Console(highlight=False)
    for line in render.story(events, verbose=verbose):
        console.print(Text("  ") + line, soft_wrap=True)
    _write_outputs(events, None, None, diagram, window, Path(trace_file).name)


@main.command()
@click.argument("scenario", required=False)
@click.option(
    "--nodes", type=click.IntRange(1, 20), help="Cluster size without a scenario.  [default: 5]"
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
@click.option(
    "--ring",
    metavar="FILE.svg",
    help="Keep FILE showing the cluster as a ring of servers, redrawn as the view moves "
    "(pause to keep a moment). With --svg or without a terminal: save it once and exit.",
)
@DIR_OPTION
def watch(
    scenario: str | None,
    nodes: int | None,
    seed: int | None,
    speed: float,
    svg: str | None,
    ring: str | None,
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

    _check_output(svg, "--svg")
    _check_output(ring, "--ring")
    interactive = sys.stdout.isatty() and sys.stdin.isatty()
    # Pictures of one moment, then exit: --svg, or --ring where no live view can run.
    snapshot = svg is not None or (ring is not None and not interactive)
    player = None
    try:
        if scenario is not None:
            if nodes is not None:
                _fail("raftsim: --nodes does not apply to a scenario (its `cluster` line says)")
            parsed = load(resolve(scenario, directory))
            if seed is not None:
                parsed = parsed.with_seed(seed)
            if not interactive and not snapshot:
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
    ring_file = live.RingFile(ring) if ring is not None else None
    if snapshot:
        selected = None
        if player is not None:
            player.run_to_next_pause()
        else:
            live.first_commits(cluster)
            selected = cluster.leader
        if svg is not None:
            image = live.picture(cluster, speed=speed, player=player, selected=selected)
            _write_picture(svg, lambda: Path(svg).write_text(image, encoding="utf-8"))
        if ring_file is not None:
            _write_picture(ring_file.path, lambda: ring_file.update(cluster, selected))
        return
    if not interactive:
        live.narrated_run(cluster, Console(highlight=False))
        return
    if ring_file is not None:
        _write_picture(ring_file.path, lambda: ring_file.update(cluster))  # fails here, not later
    live.watch(cluster, speed=speed, player=player, ring=ring_file)


def _write_picture(path: str | Path, write: Callable[[], object]) -> None:
    try:
        write()
    except OSError as error:
        _fail(f"{path}: cannot write: {error.strerror}")


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@main.command()
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
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run the seeds on a Dask cluster: its scheduler's tcp://HOST:PORT, or 'local' to "
    "start one here with --jobs workers (default: one per CPU). Needs raftsim[dask].",
)
# Seeds per Dask task (default: from the seeds and the workers); for tests.
@click.option("--batch-size", type=int, default=None, hidden=True)
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
    scheduler: str | None,
    batch_size: int | None,
    minimize: bool,
    save: str | None,
) -> None:
    """Random fault campaigns: crashes, partitions, loss, held links, membership
    changes, faults triggered by protocol events (leader churn, power cuts) and
    clients (writes, cas, appends, reads), then healing. Each seed draws its own
    mix (swarm testing). Checks safety throughout, liveness after healing, and
    that the clients' history is linearizable; prints which protocol situations
    were reached (coverage). Exit code 0: no seed failed; 1: some did (each
    printed with the checker that caught it and the command that replays it);
    2: bad input, or a Dask cluster that cannot be used."""
    from raft.bugs import check_bugs
    from sim.check.fuzz import FuzzSettings
    from sim.check.fuzz.on_dask import fuzz_on_dask
    from sim.check.fuzz.report import fuzz as run_fuzz

    for name, value, low in (
        ("--seeds", seeds, 1),
        ("--jobs", jobs, 1),
        ("--first-seed", first_seed, 0),
        ("--batch-size", 1 if batch_size is None else batch_size, 1),
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
    console = Console(highlight=False)
    jobs_given = (
        click.get_current_context().get_parameter_source("jobs") is not ParameterSource.DEFAULT
    )
    if scheduler is not None and scheduler != "local" and jobs_given:
        _fail(
            f"raftsim fuzz: --jobs does not apply to --scheduler {scheduler} "
            "(its workers run the seeds); it sets the workers of --scheduler local"
        )
    if scheduler is not None and not scheduler.strip():
        _fail("raftsim fuzz: --scheduler needs an address: tcp://HOST:PORT, or local")
    if batch_size is not None and scheduler is None:
        _fail("raftsim fuzz: --batch-size applies to --scheduler only")
    # More processes than CPUs (or than seeds) only wait for each other.
    cpus = _cpus()
    if scheduler is not None and not jobs_given:
        jobs = cpus
    workers = min(jobs, cpus, seeds)
    if workers < jobs and jobs_given:
        why = f"{seeds} seed{'s' if seeds != 1 else ''}" if seeds < cpus else f"{cpus} CPUs here"
        console.print(Text(f"--jobs {jobs}: {workers} at a time ({why})", style="dim"))
    campaign = {
        "minimize_failures": minimize or save is not None,
        "save": None if save is None else Path(save),
    }
    seed_range = range(first_seed, first_seed + seeds)
    if scheduler is None:
        raise SystemExit(run_fuzz(console, seed_range, settings, jobs=workers, **campaign))
    raise SystemExit(
        fuzz_on_dask(console, scheduler, workers, batch_size, seed_range, settings, campaign, _fail)
    )


@main.command()
@click.option(
    "--nodes", type=click.IntRange(1, 9), help="A fresh cluster of N servers.  [default: 3]"
)
@click.option("--from", "start", metavar="FILE", help="Start where a scenario (file or name) ends.")
@click.option("--until", metavar="STEP", help="With --from: start after step STEP (or a chapter).")
@click.option("--bug", "bugs", multiple=True, metavar="NAME", help="Switch on a bug; repeat.")
@click.option(
    "--checkers",
    type=click.Choice(["safety", "all"]),
    default="safety",
    show_default=True,
    help="safety: the five properties of Figure 3; all: the Figure 2 rules too.",
)
@click.option(
    "--depth", type=click.IntRange(1, 200), default=20, show_default=True, help="Most choices."
)
@click.option("--max-term", type=click.IntRange(0), help="Highest term.  [default: start + 2]")
@click.option("--crashes", type=click.IntRange(0), default=0, help="Crashes per path.")
@click.option("--losses", type=click.IntRange(0), default=0, help="Lost messages per path.")
@click.option("--duplicates", type=click.IntRange(0), default=0, help="Duplicates per path.")
@click.option("--clients", type=click.IntRange(0), default=0, help="Client commands per path.")
@click.option(
    "--strategy",
    type=click.Choice(["bfs", "dfs", "random"]),
    default="bfs",
    show_default=True,
    help="bfs finds a shortest counterexample; dfs and random go deep.",
)
@click.option(
    "--walks", type=click.IntRange(1), default=1000, show_default=True, help="Random walks."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of random walks.")
@click.option(
    "--time-limit", type=click.FloatRange(0, min_open=True), metavar="S", help="Wall seconds."
)
@click.option(
    "--save",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Save a counterexample there as a scenario.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(1), default=1, show_default=True, help="BFS processes."
)
@click.option(
    "--flushes",
    type=click.Choice(["auto", "choice", "eager"]),
    default="auto",
    show_default=True,
    help="Disk flushes as choices, or at once (auto: choices only with --crashes).",
)
@click.option("--no-symmetry", is_flag=True, help="Do not merge states that differ by node ids.")
@DIR_OPTION
@click.pass_context
def explore(ctx: click.Context, **options: Any) -> None:
    """Explore every interleaving of a small cluster (messages, timers, flushes, faults
    within budgets) and print the shortest counterexample. Exit code 0: no violation
    within the bounds; 1: a violation (saved with --save); 2: bad input."""
    from sim.check.explore import command

    words = ["raftsim explore", *_explore_words(ctx)]
    try:
        code = command(Console(highlight=False), options, " ".join(words), cpus=_cpus())
    except ScenarioError as error:
        _fail(str(error))
        return
    except ValueError as error:
        _fail(f"{ctx.command_path}: {error}")
        return
    raise SystemExit(code)


def _explore_words(ctx: click.Context) -> list[str]:
    """The options given on the command line, as they would be typed again."""
    words = []
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name or "")
        if source is not click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name or ""]
        flag = param.opts[0]
        if isinstance(value, tuple):
            words += [w for v in value for w in (flag, str(v))]
        elif value is True:
            words.append(flag)
        else:
            words += [flag, str(value)]
    return words


if __name__ == "__main__":  # python -m sim.cli
    main()
