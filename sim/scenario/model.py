"""What a parsed scenario is made of, and the two ways a step can go wrong.

A `Scenario` is a value: its header, the options for `Cluster(...)`, the
initial logs, and the steps in file order. Every step remembers the line it
came from, so anything that goes wrong later can point at it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from sim.scenario.words import one_line

if TYPE_CHECKING:
    from sim.scenario.context import RunContext


class ScenarioError(Exception):
    """Bad input: a malformed file, or a request the cluster cannot carry out.

    Shown as one line, `FILE:LINE: message`; the command exits with code 2.
    Whatever the message quotes, the line stays one line of readable length.
    """

    def __init__(self, path: str, line: int | None, message: str) -> None:
        message = one_line(message)
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class Unmet(Exception):
    """An expectation (or a `run until` condition) did not hold: exit code 1."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected {expected}, actual {actual}")
        self.expected = expected
        self.actual = actual


@attrs.frozen(kw_only=True)
class Step:
    """One step of a scenario. Subclasses say what it does in `execute`.

    `number` counts the steps a reader can stop after (`--until N`): every
    step except narration and chapter headings. `chapter` is the title of the
    chapter the step belongs to.
    """

    line: int
    source: str
    number: int | None = None
    chapter: str | None = None

    def execute(self, run: RunContext) -> None:
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class Scenario:
    """A parsed scenario file."""

    path: str
    title: str
    summary: str
    cluster_line: int
    cluster_source: str
    options: dict[str, object]
    initial_logs: dict[str, list[int | tuple[int, str]]]
    steps: tuple[Step, ...]

    @property
    def expectations(self) -> int:
        """How many `expect` steps the scenario has."""
        from sim.scenario.steps import Expect

        return sum(isinstance(step, Expect) for step in self.steps)

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario with another seed (`raftsim run --seed`)."""
        words = [w for w in self.cluster_source.split() if not w.startswith("seed=")]
        source = " ".join([*words, f"seed={seed}", "(--seed)"])
        return attrs.evolve(self, options={**self.options, "seed": seed}, cluster_source=source)
