"""A campaign: many seeds, each run on its own, in this process or in worker processes.

Every seed is independent and deterministic (its schedule and its cluster
come from the seed alone), so splitting the seeds across processes changes
only how fast the answers come, never what they are. Workers are started
with "spawn" rather than "fork": the parent runs rich's refresh thread, and
forking a process with threads is unsafe.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from sim.check.fuzz.run import Execution, Result, execute
from sim.check.fuzz.schedule import FuzzSettings, generate


def run_seed(seed: int, settings: FuzzSettings, *, trace: str = "off") -> Execution:
    """Generate the seed's schedule and run it (without the trace unless asked)."""
    return execute(generate(seed, settings), trace=trace)


def seed_result(seed: int, settings: FuzzSettings) -> Result:
    """The worker's job: only the small result travels back."""
    return run_seed(seed, settings).result


def run_campaign(
    seeds: Sequence[int],
    settings: FuzzSettings,
    *,
    jobs: int = 1,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run every seed; returns the results in seed order.

    `on_result` hears about each result as it arrives (in any order with
    several jobs), for progress bars.
    """
    results: list[Result] = []

    def arrived(result: Result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if jobs <= 1 or len(seeds) <= 1:
        for seed in seeds:
            arrived(seed_result(seed, settings))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [pool.submit(seed_result, seed, settings) for seed in seeds]
            try:
                for future in as_completed(futures):
                    arrived(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return sorted(results, key=lambda r: r.seed)
