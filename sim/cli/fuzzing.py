"""`raftsim fuzz`: random fault campaigns over many seeds, here or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console
from rich.text import Text

from sim.cli import common
from sim.cli.common import fail


@click.command()
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
            fail(f"raftsim fuzz: {name} must be at least {low}, got {value}")
    if not 0 < duration <= 3600:
        fail(f"raftsim fuzz: --duration must be between 0 and 3600 seconds, got {duration:g}")
    if nodes is not None and not 1 <= nodes <= 9:
        fail(f"raftsim fuzz: --nodes must be between 1 and 9, got {nodes}")
    try:
        check_bugs(bugs)
    except ValueError as error:
        fail(f"raftsim fuzz: {error}")
    if save is not None:
        try:
            Path(save).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            fail(f"raftsim fuzz: --save {save}: cannot create the directory: {error.strerror}")
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
        fail(
            f"raftsim fuzz: --jobs does not apply to --scheduler {scheduler} "
            "(its workers run the seeds); it sets the workers of --scheduler local"
        )
    if scheduler is not None and not scheduler.strip():
        fail("raftsim fuzz: --scheduler needs an address: tcp://HOST:PORT, or local")
    if batch_size is not None and scheduler is None:
        fail("raftsim fuzz: --batch-size applies to --scheduler only")
    # More processes than CPUs (or than seeds) only wait for each other.
    cpus = common.cpus()
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
        fuzz_on_dask(console, scheduler, workers, batch_size, seed_range, settings, campaign, fail)
    )
