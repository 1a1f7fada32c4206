"""`raftsim watch`: a cluster live in the terminal, or pictures of one moment of it."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from sim.cli.common import DIR_OPTION, check_output, fail, write_picture
from sim.scenario import ScenarioError, build_cluster, load, resolve, run_scenario


@click.command()
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

    check_output(svg, "--svg")
    check_output(ring, "--ring")
    interactive = sys.stdout.isatty() and sys.stdin.isatty()
    # Pictures of one moment, then exit: --svg, or --ring where no live view can run.
    snapshot = svg is not None or (ring is not None and not interactive)
    player = None
    try:
        if scenario is not None:
            if nodes is not None:
                fail("raftsim: --nodes does not apply to a scenario (its `cluster` line says)")
            parsed = load(resolve(scenario, directory))
            if seed is not None:
                parsed = parsed.with_seed(seed)
            if not interactive and not snapshot:
                outcome = run_scenario(parsed, Console(highlight=False))
                if outcome.error is not None:
                    fail(str(outcome.error))
                raise SystemExit(outcome.code)
            build_cluster(parsed)  # bad cluster options: one line, before the quiet run
            player = ScenarioPlayer(parsed)
            cluster = player.cluster
        else:
            cluster = Cluster(nodes or 5, seed=7 if seed is None else seed)
    except ScenarioError as error:
        fail(str(error))
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
            write_picture(svg, lambda: Path(svg).write_text(image, encoding="utf-8"))
        if ring_file is not None:
            write_picture(ring_file.path, lambda: ring_file.update(cluster, selected))
        return
    if not interactive:
        live.narrated_run(cluster, Console(highlight=False))
        return
    if ring_file is not None:
        write_picture(ring_file.path, lambda: ring_file.update(cluster))  # fails here, not later
    live.watch(cluster, speed=speed, player=player, ring=ring_file)
