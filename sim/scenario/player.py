"""A scenario replayed at the viewer's pace, for the live view and notebooks.

Theory of operation: `raftsim run` executes a scenario's steps straight
through, and a step such as `run 500ms` processes many events at once. A
viewer wants to go event by event, and back. So the player runs the scenario
once, quietly, noting where in the trace each step ended; then rewinds the
cluster to its start with `goto`. Stepping the cluster forward from there
replays the recorded future, API calls included (crashes, partitions,
submits happen at the same moments), until the viewer does something new,
which forks history as it would anywhere else.
"""

from __future__ import annotations

import io

import attrs
from rich.console import Console

from sim.check.checkers import SafetyViolation
from sim.cluster import Cluster
from sim.scenario.model import Scenario, ScenarioError, Unmet
from sim.scenario.runner import Run, as_unmet
from sim.scenario.steps import Chapter, Expect, Narrate, Pause


@attrs.frozen
class Mark:
    """Where a step of the scenario ended in the trace, and what it said."""

    trace_index: int
    chapter: str | None
    narration: str
    pause: bool
    source: str


class ScenarioPlayer:
    """Step through a scenario event by event, with its narration and pause points."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        quiet = Console(file=io.StringIO(), width=100)
        run = Run(scenario, quiet, verbose=False, quiet=True)
        self.failure: str | None = None
        self.marks: list[Mark] = []
        narration = ""
        for step in scenario.steps:
            if isinstance(step, Chapter):
                narration = ""
            try:
                step.execute(run)
            except (Unmet, SafetyViolation) as failed:
                unmet = as_unmet(failed)
                self.failure = (
                    f"{scenario.path}:{step.line}: expected {unmet.expected}, got {unmet.actual}"
                )
                break
            except ValueError as error:  # a request the cluster refuses: bad input
                raise ScenarioError(scenario.path, step.line, str(error)) from None
            if isinstance(step, Narrate):
                narration = f"{narration}\n{step.text}".strip()
                continue
            if isinstance(step, (Chapter, Expect)):
                continue
            self.marks.append(
                Mark(
                    trace_index=len(run.cluster.trace),
                    chapter=step.chapter,
                    narration=narration,
                    pause=isinstance(step, Pause),
                    source=step.source,
                )
            )
        # Stop points: explicit `pause` steps, and the end of every chapter.
        self.marks = [
            attrs.evolve(mark, pause=True)
            if mark.pause or i + 1 == len(self.marks) or self.marks[i + 1].chapter != mark.chapter
            else mark
            for i, mark in enumerate(self.marks)
        ]
        self.cluster: Cluster = run.cluster
        self.end = len(self.cluster.trace)
        self.cluster.goto(0)

    def current_mark(self) -> Mark | None:
        """The step the cluster is in now (the first whose end is not yet passed)."""
        here = len(self.cluster.trace)
        for mark in self.marks:
            if here < mark.trace_index or (here == mark.trace_index and mark.pause):
                return mark
        return self.marks[-1] if self.marks else None

    def next_pause(self) -> int:
        """Trace index of the next pause point (or the end of the recording)."""
        here = len(self.cluster.trace)
        for mark in self.marks:
            if mark.pause and mark.trace_index > here:
                return mark.trace_index
        return self.end

    def run_to_next_pause(self) -> None:
        """Replay the recording up to the next pause point."""
        self.cluster.goto(self.next_pause())

    @property
    def finished(self) -> bool:
        return len(self.cluster.trace) >= self.end
