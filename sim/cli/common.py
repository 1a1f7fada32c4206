"""What the commands share: one-line errors, output files checked before the work, the
diagram's time window, and the options several commands take."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from sim.engine.trace import TraceEvent
from sim.scenario.values import BadValue, duration_range
from sim.scenario.words import one_line
from sim.show.diagram import sequence_diagram


def fail(message: str, code: int = 2) -> None:
    """Report bad input on one line, of readable length whatever it quotes, and exit."""
    click.echo(one_line(message), err=True)
    raise SystemExit(code)


def diagram_window(text: str | None, diagram: str | None) -> tuple[float | None, float | None]:
    """The seconds `--window FROM..TO` names (None, None without it); only with --diagram."""
    if text is None:
        return None, None
    if diagram is None:
        fail("raftsim: --window sets the time window of --diagram, and no --diagram is given")
    try:
        return duration_range(text, "--window")
    except BadValue as error:
        fail(f"raftsim: {error}")
        raise  # unreachable: fail exits


def check_output(path: str | None, option: str) -> None:
    """Refuse an output file that cannot be written before the work that would fill it."""
    if path is None:
        return
    folder = Path(path).parent
    if not folder.is_dir():
        fail(f"raftsim: {option} {path}: there is no directory {str(folder)!r} to write it in")
    if Path(path).is_dir():
        fail(f"raftsim: {option} {path}: is a directory")


def check_folder(path: str | None, option: str) -> None:
    """Refuse an output directory that cannot be made, before the work that would fill it."""
    if path is None:
        return
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        fail(f"raftsim: {option} {path}: is a file, not a directory")
    if not folder.parent.is_dir():
        fail(
            f"raftsim: {option} {path}: there is no directory {str(folder.parent)!r} to make it in"
        )
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        fail(f"raftsim: {option} {path}: cannot make the directory: {error.strerror}")


def write_outputs(
    events: Sequence[TraceEvent],
    nodes: Sequence[str] | None,
    trace: str | None,
    diagram: str | None,
    window: str | None,
    title: str,
) -> None:
    start, end = diagram_window(window, diagram)
    try:
        if trace is not None:
            with open(trace, "w", encoding="utf-8") as out:
                for event in events:
                    out.write(json.dumps(event.to_dict()) + "\n")
        if diagram is not None:
            svg = sequence_diagram(events, nodes=nodes, start=start, end=end, title=title)
            Path(diagram).write_text(svg, encoding="utf-8")
    except OSError as error:
        fail(f"{error.filename}: cannot write: {error.strerror}")


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


def write_picture(path: str | Path, write: Callable[[], object]) -> None:
    try:
        write()
    except OSError as error:
        fail(f"{path}: cannot write: {error.strerror}")


def cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
