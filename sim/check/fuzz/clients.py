"""The clients of a fuzz run: each scheduled operation sent once, its history checked.

Theory of operation: a schedule's client actions (sim.check.fuzz.schedule,
`ClientOp`) are one-shot clients. Each sends its operation once, through the
Recorder (so it becomes a `submit c7 "cas x v3 v7" to=n2` or a
`read c7 x mode=lease on n2` step of the replay), and waits for the outcome:

- refused at once, a read that failed, or a read never answered: it had no
  effect (fail);
- committed (and, for a get or a cas, answered by the leader's state
  machine), or a read answered: ok, with what it returned;
- the leader lost its leadership or crashed before it knew, or the run ended
  first: unknown (the entry may still commit, later).

The moment of an answer matters (a stale read shows only against a write that
completed before the read began), so it is caught as it happens: the driver
is a world observer, and after every input a node handles it looks at the
operations that node holds. Only those: a proposal settles, and a read is
answered, in the input of the node that took it. Watching costs a dictionary
lookup per event.

At the end the history goes to the linearizability checker
(sim.check.linearizability), key by key, within a budget of search states; a
key that needs more is undecided, never a failure.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import attrs

from raft import Node
from sim.check.fuzz.recorder import Recorder
from sim.check.fuzz.schedule import Action, ClientOp
from sim.check.history import History, reply_value
from sim.check.history import Recorder as HistoryRecorder
from sim.check.linearizability import CheckResult, check
from sim.cluster import Cluster
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation
from sim.views import ReadHandle, SubmitHandle

# Targets for clients that act only while two nodes lead: the newest leader, an older one.
BOTH_LEADERS = ("new-leader", "old-leader")
MAX_STATES = 300_000  # search states per key (about a second) before a key is left undecided


@attrs.define
class _Waiting:
    """An operation sent and not yet settled."""

    op_id: int
    op: ClientOp
    handle: SubmitHandle | ReadHandle


class Clients(Observer):
    """Carries out client actions on `cluster` and keeps their history."""

    def __init__(self, cluster: Cluster, recorder: Recorder) -> None:
        self.cluster = cluster
        self.rec = recorder
        self.history = HistoryRecorder()
        self.handles: dict[str, SubmitHandle | ReadHandle] = {}  # by step name
        self._waiting: dict[str, list[_Waiting]] = {}  # node -> operations it holds
        # A fuzz run never travels in time, so this world is the run's one world.
        world = cluster._world
        world.observers = [*world.observers, self]

    # -- sending -------------------------------------------------------------

    def send(self, action: Action) -> None:
        """Send the operation of a client action to the node it names now."""
        op: ClientOp = action.value  # type: ignore[assignment]
        name = f"c{action.number}"
        to = self._target(op, action.key)
        if to is None and op.to in BOTH_LEADERS:
            return  # only while two nodes lead
        op_id = self.history.invoke_command(name, op.command, self.rec.now_us)
        handle: SubmitHandle | ReadHandle
        if op.reads_outside_the_log:
            handle = self.rec.read(name, op.key, op.mode, to)
        else:
            handle = self.rec.submit(op.command, to=to, name=name)
        self.handles[name] = handle
        waiting = _Waiting(op_id, op, handle)
        if not self._settle(waiting, self.rec.now_us):
            self._waiting.setdefault(handle.node, []).append(waiting)  # type: ignore[arg-type]

    def _target(self, op: ClientOp, key: int) -> str | None:
        cluster = self.cluster
        up = [n for n, view in cluster.nodes.items() if view.running]
        if op.mode == "local" or op.to == "any":
            return up[key % len(up)] if up else None
        if op.to in ("leading", *BOTH_LEADERS):
            leading = [n for n in up if cluster.nodes[n].role == "leader"]
            if op.to in BOTH_LEADERS:
                if len(leading) < 2:
                    return None
                if op.to == "new-leader":
                    return cluster.leader
                # Cut off from the newer term, the older leaders have not heard of it.
                leading = [n for n in leading if n != cluster.leader]
            if leading:
                return leading[key % len(leading)]
        return cluster.leader

    # -- watching ------------------------------------------------------------------

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        waiting = self._waiting.get(node.id)
        if waiting:
            waiting[:] = [w for w in waiting if not self._settle(w, now)]
        return NO_VIOLATIONS

    def _settle(self, w: _Waiting, now: int) -> bool:
        """Record the outcome if it is known; True when the operation is over."""
        outcome = w.handle.outcome
        if outcome in ("refused", "failed"):
            self.history.fail(w.op_id, now)
        elif outcome == "unknown":
            self.history.unknown(w.op_id, now)
        elif outcome == "done":  # a read outside the log, answered
            self.history.ok(w.op_id, w.handle.value, now)  # type: ignore[union-attr]
        elif outcome == "committed":
            if w.op.kind in ("set", "append"):
                self.history.ok(w.op_id, None, now)
            else:
                result = w.handle.result  # type: ignore[union-attr]
                if result is None:
                    return False  # committed; the leader's answer comes when it applies
                self.history.ok(w.op_id, reply_value(w.op.kind, result), now)
        else:
            return False
        return True

    # -- the verdict -----------------------------------------------------------------

    def finish(self) -> History:
        """The history, with what is still waiting closed: reads failed, the rest unknown."""
        now = self.rec.now_us
        for waiting in self._waiting.values():
            for w in waiting:
                if w.op.reads_outside_the_log:
                    self.history.fail(w.op_id, now)
                else:
                    self.history.unknown(w.op_id, now)
            waiting.clear()
        return self.history.history()

    def check(self, history: History) -> CheckResult:
        """Check the history (see `finish`) for linearizability."""
        return check(history, max_states=MAX_STATES)

    def expectation(self, name: str) -> str:
        """The `expect` step that shows what operation `name` returned, as it did."""
        handle = self.handles[name]
        if isinstance(handle, ReadHandle):
            value = handle.value
            return f"expect read {name} {'none' if value is None else value}"
        if handle.result is not None:
            return f"expect result {name} {shlex.quote(handle.result)}"
        return f"expect outcome {name} {handle.outcome}"
