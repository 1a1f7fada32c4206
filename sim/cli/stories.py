"""The commands that tell stories: demo, run, check, list, and replay of a saved trace."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.cli.common import (
    DIR_OPTION,
    WINDOW_HELP,
    check_folder,
    check_output,
    diagram_window,
    fail,
    write_outputs,
)
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
from sim.scenario.words import one_line
from sim.show import render
from sim.show.demo import run_demo

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.model import Step


@click.command()
@click.option(
    "--nodes", default=5, show_default=True, type=click.IntRange(3, 9), help="Cluster size."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed.")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
def demo(nodes: int, seed: int, verbose: bool) -> None:
    """A narrated election, replication, leader crash and recovery."""
    raise SystemExit(run_demo(Console(highlight=False), nodes=nodes, seed=seed, verbose=verbose))


@click.command()
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
        fail("raftsim: --quiet and --verbose cannot be used together")
    diagram_window(window, diagram)
    check_output(trace, "--trace")
    check_output(diagram, "--diagram")
    check_folder(ring, "--ring")
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
        fail(str(error))
        return
    if outcome.cluster is not None:
        write_outputs(
            outcome.cluster.trace, list(outcome.cluster.nodes), trace, diagram, window, parsed.title
        )
    if outcome.error is not None:
        fail(str(outcome.error))
    raise SystemExit(outcome.code)


@click.command()
@click.argument("files", nargs=-1, required=True)
@DIR_OPTION
def check(files: tuple[str, ...], directory: str | None) -> None:
    """Validate scenario FILES without running them (exit code 2 at the first bad one)."""
    for name in files:
        try:
            scenario = load(resolve(name, directory))
            build_cluster(scenario)
        except ScenarioError as error:
            fail(str(error))
            return
        steps = sum(step.number is not None for step in scenario.steps)
        click.echo(f"{scenario.path}: ok ({steps} steps, {scenario.expectations} expectations)")


@click.command(name="list")
@DIR_OPTION
def list_(directory: str | None) -> None:
    """The scenario library: the name, title and first sentence of each story."""
    library = library_dir(directory)
    if library is None:
        where = directory or "./scenarios"
        fail(f"raftsim: no scenario library found at {where} (use --dir DIR)")
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
        fail(str(error))
        return []
    events = []
    for number, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as error:
            fail(f"{path}:{number}: {TRACE_EXPECTED} (not JSON: {error})")
        try:
            events.append(TraceEvent.from_dict(data))
        except ValueError as error:
            fail(f"{path}:{number}: {TRACE_EXPECTED} ({error})")
    if not events:
        fail(f"{path}:1: {TRACE_EXPECTED} (the file has none)")
    return events


TRACE_EXPECTED = "expected a trace event, one JSON object a line, as `raftsim run --trace` writes"


@click.command()
@click.argument("trace_file", metavar="FILE.jsonl")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
@click.option("--diagram", metavar="FILE.svg", help="Draw a message sequence diagram.")
@click.option("--window", metavar="FROM..TO", help=WINDOW_HELP)
def replay(trace_file: str, verbose: bool, diagram: str | None, window: str | None) -> None:
    """Re-render a trace saved with `raftsim run --trace`."""
    diagram_window(window, diagram)
    check_output(diagram, "--diagram")
    events = _read_trace(trace_file)
    console = Console(highlight=False)
    for line in render.story(events, verbose=verbose):
        console.print(Text("  ") + line, soft_wrap=True)
    write_outputs(events, None, None, diagram, window, Path(trace_file).name)


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
            fail(f"{path}: cannot write: {error.strerror}")

    return draw
