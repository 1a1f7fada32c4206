"""The `raftsim` command line."""

from __future__ import annotations

import click
from rich.console import Console

from sim.demo import run_demo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raftsim")
def main() -> None:
    """raftsim: watch Raft work, step by step, in a deterministic simulated cluster."""


@main.command()
@click.option(
    "--nodes", default=5, show_default=True, type=click.IntRange(3, 9), help="Cluster size."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed.")
@click.option("--verbose", "-v", is_flag=True, help="Show every event, messages included.")
def demo(nodes: int, seed: int, verbose: bool) -> None:
    """A narrated election, replication, leader crash and recovery."""
    raise SystemExit(run_demo(Console(highlight=False), nodes=nodes, seed=seed, verbose=verbose))
