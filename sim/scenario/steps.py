"""The steps a scenario is made of. Each one calls the public Cluster API.

A step raises `ValueError` when the cluster refuses a malformed or impossible
request (the runner turns it into `FILE:LINE: message`, exit 2) and `Unmet`
when an expectation or a `run until` does not hold (exit 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from sim.scenario.conditions import Condition, QuietCondition
from sim.scenario.expectations import Expectation
from sim.scenario.model import Step, Unmet
from sim.scenario.values import show_duration
from sim.show import render

if TYPE_CHECKING:
    from sim.scenario.context import RunContext


@attrs.frozen(kw_only=True)
class Narrate(Step):
    """`> text` or `narrate "text"`: words for the reader, shown as they come."""

    text: str

    def execute(self, run: RunContext) -> None:
        run.narrate(self.text)


@attrs.frozen(kw_only=True)
class Chapter(Step):
    """`## Title`: starts a chapter (a heading in the output, a label for `--until`)."""

    title: str

    def execute(self, run: RunContext) -> None:
        run.heading(self.title)


@attrs.frozen(kw_only=True)
class Pause(Step):
    """`pause`: a stop point for the live view and notebooks; `run` shows the cluster."""

    def execute(self, run: RunContext) -> None:
        run.show_state()


@attrs.frozen(kw_only=True)
class RunFor(Step):
    """`run DURATION`: advance simulated time."""

    seconds: float

    def execute(self, run: RunContext) -> None:
        run.cluster.run(self.seconds)


@attrs.frozen(kw_only=True)
class RunUntil(Step):
    """`run until CONDITION [timeout=DURATION]`: step until the condition holds."""

    condition: Condition
    timeout: float

    def execute(self, run: RunContext) -> None:
        cluster = run.cluster
        if isinstance(self.condition, QuietCondition):
            reached = self._until_quiet(run, self.condition.seconds)
        else:
            reached = cluster.run_until(self.condition.predicate(run), timeout=self.timeout)
        if not reached:
            raise Unmet(
                f"{self.condition.describe()} within {show_duration(self.timeout)}",
                f"{self.condition.actual(run)} at {cluster.now:.4f}s",
            )
        run.note(f"-> {self.condition.describe()} at {cluster.now:.4f}s")

    def _until_quiet(self, run: RunContext, seconds: float) -> bool:
        """Run until `seconds` pass with no story event; False if the timeout comes first."""
        cluster = run.cluster
        now = round(cluster.now * 1e6)
        deadline = now + round(self.timeout * 1e6)
        quiet_since = now
        while True:
            target = quiet_since + round(seconds * 1e6)
            if target > deadline:
                cluster.run((deadline - now) / 1e6)
                return False
            events = cluster.run((target - now) / 1e6)
            now = target
            story = [e for e in events if render.is_story(e)]
            if not story:
                return True
            quiet_since = story[-1].time_us


@attrs.frozen(kw_only=True)
class Crash(Step):
    node: str

    def execute(self, run: RunContext) -> None:
        run.cluster.crash(self.node)


@attrs.frozen(kw_only=True)
class Restart(Step):
    node: str

    def execute(self, run: RunContext) -> None:
        run.cluster.restart(self.node)


@attrs.frozen(kw_only=True)
class Partition(Step):
    """`partition n1,n2 | n3,n4,n5`: nodes not named form one more group."""

    groups: tuple[tuple[str, ...], ...]

    def execute(self, run: RunContext) -> None:
        run.cluster.partition(*self.groups)


@attrs.frozen(kw_only=True)
class Isolate(Step):
    node: str

    def execute(self, run: RunContext) -> None:
        run.cluster.isolate(self.node)


@attrs.frozen(kw_only=True)
class Cut(Step):
    """`cut A B`: messages from A to B are lost (one way)."""

    src: str
    dst: str

    def execute(self, run: RunContext) -> None:
        run.cluster.cut(self.src, self.dst)


@attrs.frozen(kw_only=True)
class Hold(Step):
    """`hold A B`: messages from A to B wait on the link (still in flight) until released."""

    src: str
    dst: str

    def execute(self, run: RunContext) -> None:
        run.cluster.hold(self.src, self.dst)


@attrs.frozen(kw_only=True)
class Release(Step):
    """`release A B`: the messages held on A -> B arrive now, oldest first."""

    src: str
    dst: str

    def execute(self, run: RunContext) -> None:
        run.cluster.release(self.src, self.dst)


@attrs.frozen(kw_only=True)
class Heal(Step):
    def execute(self, run: RunContext) -> None:
        run.cluster.heal()


@attrs.frozen(kw_only=True)
class Network(Step):
    """`network drop=.. duplicate=.. latency=a..b reorder=on|off`: passed to set_network."""

    options: dict[str, object]

    def execute(self, run: RunContext) -> None:
        run.cluster.set_network(**self.options)


@attrs.frozen(kw_only=True)
class Submit(Step):
    """`submit [NAME] "COMMAND" [to=NODE]`: a client proposal, remembered as NAME."""

    command: str
    to: str | None
    name: str | None

    def execute(self, run: RunContext) -> None:
        handle = run.cluster.submit(self.command, to=self.to)
        if self.name is not None:
            run.handles[self.name] = handle


@attrs.frozen(kw_only=True)
class Timeout(Step):
    """`timeout NODE [after=DURATION]`: the node's election timer expires then."""

    node: str
    after: float

    def execute(self, run: RunContext) -> None:
        run.cluster.timeout(self.node, self.after)


@attrs.frozen(kw_only=True)
class Request(Step):
    """An admin request, answered by a handle with `.accepted`, `.reason`, `.outcome`.

    `add`, `add-learner`, `remove`, `change-members`, `transfer` and
    `snapshot` call the Cluster method of the same meaning; `replace OLD NEW`
    reads the leader's configuration and calls `change_members` with OLD's
    place given to NEW.
    """

    method: str
    args: tuple[object, ...]
    options: dict[str, object]
    name: str | None
    replace: tuple[str, str] | None = None

    def execute(self, run: RunContext) -> None:
        cluster = run.cluster
        args, options = self.args, self.options
        if self.replace is not None:
            old, new = self.replace
            leader = cluster.leader
            if leader is None:
                raise ValueError("replace needs a leader, to read the current members from")
            conf = cluster.nodes[leader].members
            if old not in conf.voters:
                raise ValueError(f"{old} is not a voter of the leader's configuration {conf}")
            args = ([new if n == old else n for n in conf.voters],)
            options = {"learners": [n for n in conf.learners if n != new]}
        handle = getattr(cluster, self.method)(*args, **options)
        if self.name is not None:
            run.handles[self.name] = handle
        if not handle.accepted:
            run.note(f"-> refused: {handle.reason or 'no reason given'}")


@attrs.frozen(kw_only=True)
class Expect(Step):
    """`expect ...`: check a claim about the cluster now; stops the run if it fails."""

    expectation: Expectation

    def execute(self, run: RunContext) -> None:
        self.expectation.check(run)
        run.passed += 1
