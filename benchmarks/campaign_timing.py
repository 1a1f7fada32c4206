"""What the fuzz benchmarks share: a campaign run under a progress bar, timed in CPU seconds.

The machine is shared and noisy, so the fuzz benchmarks (fuzz_rate.py, bug_hunt.py)
count the CPU time of this process and of the worker processes it
waited for, besides the wall time: seeds per CPU minute survive other load better than
seeds per wall minute.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.check.fuzz import FuzzSettings, Result, run_campaign


def cpu_seconds() -> float:
    """CPU time of this process and of the worker processes it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_campaign(
    console: Console, label: str, seeds: Sequence[int], settings: FuzzSettings, jobs: int = 1
) -> tuple[list[Result], float, float]:
    """Run the seeds as `raftsim fuzz` does, with a progress bar: (results, wall s, CPU s)."""
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("seeds", total=len(seeds))
        cpu, wall = cpu_seconds(), time.perf_counter()
        results = run_campaign(
            seeds, settings, jobs=jobs, on_result=lambda _: progress.advance(task)
        )
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return results, wall, cpu
