"""`raftsim explore`: every interleaving of a small cluster (sim/check/explore)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from sim.cli import common
from sim.cli.common import DIR_OPTION, fail
from sim.scenario import ScenarioError


@click.command()
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
        code = command(Console(highlight=False), options, " ".join(words), cpus=common.cpus())
    except ScenarioError as error:
        fail(str(error))
        return
    except ValueError as error:
        fail(f"{ctx.command_path}: {error}")
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
