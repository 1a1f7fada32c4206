"""Shrinking a failing schedule to the few actions that still make it fail.

Delta debugging (Zeller and Hildebrandt's ddmin): try keeping each of n
chunks of the actions alone, then dropping each chunk; keep any smaller
schedule that still fails *the same way* (the same violated property, or the
same liveness problem); when no chunk helps, cut finer, down to single
actions. What is left is 1-minimal: removing any one action makes the failure
go away, or turn into a different one. Each try is one deterministic run, so
the answer depends only on the seed.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from sim.check.fuzz.run import Execution, execute
from sim.check.fuzz.schedule import Action, Schedule

MAX_RUNS = 400  # tries at most; a minimization cut short still returns a failing schedule


@attrs.frozen(kw_only=True)
class Minimized:
    """The smallest failing schedule found, its run, and what it took to find."""

    execution: Execution
    runs: int
    complete: bool  # False when MAX_RUNS ran out before the result was 1-minimal

    @property
    def schedule(self) -> Schedule:
        return self.execution.schedule


def minimize(
    failing: Execution,
    *,
    max_runs: int = MAX_RUNS,
    progress: Callable[[int, int], None] | None = None,
) -> Minimized:
    """Shrink `failing`'s schedule while it fails the same way.

    `progress(runs, actions)` is told after each try how many runs were made
    and how many actions the best schedule so far has.
    """
    if not failing.result.failed:
        raise ValueError("only a failing run can be minimized")
    schedule = failing.schedule
    best = failing
    runs = 0

    def fails(actions: list[Action]) -> bool:
        nonlocal best, runs
        runs += 1
        attempt = execute(schedule.with_actions(tuple(actions)))
        if progress is not None:
            progress(runs, len(best.schedule.actions))
        if attempt.result.same_failure(failing.result):
            best = attempt
            return True
        return False

    actions = list(schedule.actions)
    n = 2
    while actions and runs < max_runs:
        size = -(-len(actions) // n)  # ceiling division
        chunks = [actions[i : i + size] for i in range(0, len(actions), size)]
        reduced = False
        # Keeping one chunk alone (needs at least two chunks to be a reduction).
        for chunk in chunks if len(chunks) > 1 else []:
            if runs >= max_runs:
                break
            if fails(chunk):
                actions, n, reduced = chunk, 2, True
                break
        if not reduced:
            # Dropping one chunk.
            for i in range(len(chunks)):
                if runs >= max_runs:
                    break
                rest = [a for j, chunk in enumerate(chunks) if j != i for a in chunk]
                if fails(rest):
                    actions, n, reduced = rest, max(n - 1, 2), True
                    break
        if not reduced:
            if runs >= max_runs:
                break  # some chunks went untried: not known to be minimal
            if n >= len(actions):
                return Minimized(execution=best, runs=runs, complete=True)
            n = min(len(actions), 2 * n)
    return Minimized(execution=best, runs=runs, complete=not actions)
