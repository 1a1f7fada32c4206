"""Client reads in a story: the `read` step, `expect read`, and `run until read`.

Theory of operation: a read is named, like a submit, and followed by its
handle as the cluster runs. Three modes read outside the log through
`Cluster.read` (thesis §6.4): "read_index", "lease" and "local". The fourth,
"log", is a `get KEY` submitted like any command; `LogRead` shows its
`SubmitHandle` the way a `ReadHandle` looks, so every read has the same four
outcomes:

- "refused": the node said no at once (not the leader, no lease, down);
- "pending": accepted, no answer yet;
- "done": answered, with `value` (None for an absent key);
- "failed": accepted, but it ended without an answer (the leader stepped
  down or crashed first; for a log read, before it knew its entry committed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from raft.read_only import READ_MODES as RAFT_READ_MODES
from raft.state_machine import NIL
from sim.scenario.conditions import Condition
from sim.scenario.expectations import Expectation
from sim.scenario.model import Step, Unmet

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.context import RunContext
    from sim.views import ReadHandle, SubmitHandle

READ_MODES = ("log", *RAFT_READ_MODES)  # through the log, or one of raft's outside it
OUTCOMES = ("refused", "pending", "done", "failed")
ABSENT = "none"  # how a story writes the value of an absent key, as `expect value` does


class LogRead:
    """A read through the log (`submit "get KEY"`), seen as a read."""

    mode = "log"

    def __init__(self, handle: SubmitHandle, key: str) -> None:
        self._handle = handle
        self.key = key

    @property
    def submission(self) -> SubmitHandle:
        """The `get KEY` submitted through the log."""
        return self._handle

    @property
    def node(self) -> str | None:
        return self._handle.node

    @property
    def accepted(self) -> bool:
        return self._handle.accepted

    @property
    def reason(self) -> str | None:
        return self._handle.reason

    @property
    def outcome(self) -> str:
        handle = self._handle
        if not handle.accepted:
            return "refused"
        if handle.outcome == "unknown":
            return "failed"
        return "done" if handle.result is not None else "pending"

    @property
    def value(self) -> str | None:
        result = self._handle.result if self.outcome == "done" else None
        return None if result == NIL else result


def show(name: str, handle: ReadHandle | LogRead) -> str:
    """A read as a story tells it: `r read x=1 at n1`, `r refused at n1 (reason)`."""
    where = f" at {handle.node}" if handle.node else ""
    outcome = handle.outcome
    if outcome == "done":
        value = ABSENT if handle.value is None else handle.value
        return f"{name} read {handle.key}={value}{where}"
    reason = f" ({handle.reason})" if outcome in ("refused", "failed") and handle.reason else ""
    return f"{name} {outcome}{where}{reason}"


@attrs.frozen(kw_only=True)
class Read(Step):
    """`read NAME KEY [mode=MODE] [on NODE]`: a client reads KEY, remembered as NAME."""

    name: str
    key: str
    mode: str
    to: str | None

    def execute(self, run: RunContext) -> None:
        cluster = run.cluster
        handle: ReadHandle | LogRead
        if self.mode == "log":
            handle = LogRead(cluster.submit(f"get {self.key}", to=self.to), self.key)
        else:
            handle = cluster.read(self.key, mode=self.mode, to=self.to)
        run.handles[self.name] = handle
        if handle.outcome in ("refused", "done"):  # answered at once
            run.note(f"-> {show(self.name, handle)}")


@attrs.frozen
class ReadIs(Expectation):
    """`expect read NAME VALUE` (`none`: absent) or `expect read NAME refused|pending|failed`."""

    name: str
    outcome: str  # "done" when a value is expected
    value: str | None = None

    def check(self, run: RunContext) -> None:
        handle: ReadHandle | LogRead = run.handles[self.name]  # type: ignore[assignment]
        if handle.outcome == self.outcome and (
            self.outcome != "done" or handle.value == self.value
        ):
            return
        if self.outcome == "done":
            value = ABSENT if self.value is None else self.value
            expected = f"{self.name} read {handle.key}={value}"
        else:
            expected = f"{self.name} {self.outcome}"
        raise Unmet(expected, show(self.name, handle))


@attrs.frozen
class ReadAnswered(Condition):
    """`read NAME`: the read is over: answered, refused or failed (not pending)."""

    name: str

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        handle: ReadHandle | LogRead = run.handles[self.name]  # type: ignore[assignment]
        return lambda c: handle.outcome != "pending"

    def describe(self) -> str:
        return f"read {self.name} over"

    def actual(self, run: RunContext) -> str:
        return show(self.name, run.handles[self.name])  # type: ignore[arg-type]
