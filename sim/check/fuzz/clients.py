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
completed before the read began). The engine's request records already keep
those moments (when each operation was invoked, settled and answered), so the
history is read off the handles at the end (sim.check.handles), as a story's
is: nothing needs watching while the run goes.

At the end the history goes to the linearizability checker
(sim.check.linearizability), key by key, within a budget of search states; a
key that needs more is undecided, never a failure.
"""

from __future__ import annotations

import shlex

from sim.check.fuzz.recorder import Recorder
from sim.check.fuzz.schedule import Action, ClientOp
from sim.check.handles import history_of
from sim.check.history import History
from sim.check.linearizability import CheckResult, check
from sim.cluster import Cluster
from sim.views import ReadHandle, SubmitHandle

# Targets for clients that act only while two nodes lead: the newest leader, an older one.
BOTH_LEADERS = ("new-leader", "old-leader")
MAX_STATES = 300_000  # search states per key (about a second) before a key is left undecided


class Clients:
    """Carries out client actions on `cluster` and keeps their history."""

    def __init__(self, cluster: Cluster, recorder: Recorder) -> None:
        self.cluster = cluster
        self.rec = recorder
        self.handles: dict[str, SubmitHandle | ReadHandle] = {}  # by step name

    # -- sending -------------------------------------------------------------

    def send(self, action: Action) -> None:
        """Send the operation of a client action to the node it names now."""
        op: ClientOp = action.value  # type: ignore[assignment]
        name = f"c{action.number}"
        to = self._target(op, action.key)
        if to is None and op.to in BOTH_LEADERS:
            return  # only while two nodes lead
        handle: SubmitHandle | ReadHandle
        if op.reads_outside_the_log:
            handle = self.rec.read(name, op.key, op.mode, to)
        else:
            handle = self.rec.submit(op.command, to=to, name=name)
        self.handles[name] = handle

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

    # -- the verdict -----------------------------------------------------------------

    def finish(self) -> History:
        """The history as of now: reads still waiting failed, other operations unknown."""
        return history_of(self.handles.items(), self.rec.now_us / 1_000_000)

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
