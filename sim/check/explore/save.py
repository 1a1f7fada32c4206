"""A counterexample written as a scenario file that `raftsim run` replays.

The file is the start's text (a `cluster` line, `log` lines and, for
`--from`, the original steps up to the start) followed by one step per move
the search made, each naming its exact choice (`deliver n1 -> n2
RequestVote`, `fire n2 election`, `flush n3`, ...), and a last line that
expects no violation. Replayed, the world goes through the very states the
search went through, the last move breaks the property, and the file fails
at its last line (exit 1), as the counterexample does.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from sim.check.explore import moves as mv
from sim.check.explore.fork import fork
from sim.check.explore.search import Finding, Result
from sim.check.explore.start import Start


def step_lines(start: Start, moves: Sequence[mv.Move], *, eager: bool) -> list[str]:
    """The scenario steps that make `moves` from the start: one per move, and a
    `flush` after each that the search flushed eagerly."""
    world, steps = start.world, []
    for move in moves:
        steps.append(mv.step_text(world, move))
        world = fork(world, mv.touched(world, move))
        flushed = mv.make(world, move, eager=eager)
        if flushed is not None:
            steps.append(f"flush {flushed}")
    return steps


def scenario_text(start: Start, result: Result, command: str, *, eager: bool) -> str:
    """The file that replays `result`'s counterexample from `start`."""
    finding = result.finding
    assert finding is not None
    count = len(finding.moves)
    what = _what(finding)
    strategy = "the shortest path" if command_strategy(command) == "bfs" else "a path"
    summary = (
        f"Found by `{command}`, starting from {start.described}: {strategy} to {what}, "
        f"{count} choice{'s' if count != 1 else ''} long ({result.stats.explored:,} states "
        "explored). Each step is one choice the explorer made: which message arrives, which "
        "timer fires, which flush completes"
        + (
            " (without crashes, a disk is flushed at once after the choice that wrote to it)"
            if eager
            else ""
        )
        + ". The last choice breaks the property, and the file fails at its last line."
    )
    body = [
        f"title: Explored: {what} after {count} choice{'s' if count != 1 else ''}",
        *textwrap.wrap(
            summary,
            width=88,
            initial_indent="summary: ",
            subsequent_indent="  ",
            break_on_hyphens=False,
            break_long_words=False,
        ),
        "",
        start.text,
        "",
        "## The explored path",
        *step_lines(start, finding.moves, eager=eager),
        "",
        "## What broke",
        f"> {_sentence(finding)}",
        "expect no violations",
        "",
    ]
    return "\n".join(body)


def file_name(start: Start, finding: Finding) -> str:
    """A name for the saved file: where it started and what broke."""
    where = "fresh" if start.described.startswith("a fresh") else start.described.split()[0]
    stem = re.sub(r"[^a-z0-9]+", "-", where.rsplit("/", 1)[-1].removesuffix(".scenario").lower())
    prop = re.sub(r"[^a-z0-9]+", "-", finding.property.lower()).strip("-")
    return f"explore-{stem.strip('-')}-{prop}.scenario"


def command_strategy(command: str) -> str:
    words = command.split()
    return words[words.index("--strategy") + 1] if "--strategy" in words else "bfs"


def _what(finding: Finding) -> str:
    if finding.error:
        return f"the simulator raises {finding.property}"
    return f"{finding.property} broken"


def _sentence(finding: Finding) -> str:
    if finding.error:
        return f"The simulator raised {finding.property}: {finding.text}"
    return f"The checkers found: {finding.text}."
