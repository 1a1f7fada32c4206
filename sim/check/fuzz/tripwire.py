"""Tripwires: protocol events that set off a triggered fault.

Theory of operation: some faults do damage only at one moment. Entries lost
in a crash matter only if the crash comes between their acknowledgement and
their disk write; a leader deposed matters most just after it committed or
just after it won. A timed schedule hits those moments by luck, seldom. So a
triggered fault (sim.check.fuzz.schedule, TRIGGERED) is armed at its time and
fires at the next such protocol event, a moment later:

- "ack": a follower acknowledges entries to the leader;
- "elected": a node becomes leader;
- "commit": a leader's commit index moves forward;
- "lead": either of the two above;
- "joint": a leader adopts a joint configuration (Raft §6);
- "timeout-now": a leader sends TimeoutNow to hand over leadership (thesis
  §3.10); `peer` is then its target, and `began` when the leader began that
  transfer (the moment it gives up counts from there).

A `Tripwire` watches the world through the observer hooks only while it is
armed, and remembers the first event: which node, and when. Deciding *what*
the fault does then is the fault driver's business (sim.check.fuzz.faults). The
events are the protocol's, never a bug switch's: the same seed arms the same
tripwires with any `--bug`, and a bug shows only in *when* they trip (entries
acknowledged before they are on disk trip the wire before the disk write).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from raft import AppendEntriesResponse, Node, Role, TimeoutNow
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation

EVENTS = ("ack", "elected", "commit", "lead", "joint", "timeout-now")
LEADER = Role.LEADER


class Tripwire(Observer):
    """Watches for one protocol event; `tripped` is (node, time) once it happened."""

    def __init__(
        self, event: str, nodes: dict[str, Node], on_trip: Callable[[], None] | None = None
    ) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown tripwire event {event!r}")
        self.event = event
        self.tripped: tuple[str, int] | None = None
        self.peer: str | None = None  # "timeout-now": the node told to take over
        self.began: int | None = None  # "timeout-now": when that transfer began
        self._transferring: dict[str, int] = {}  # leader -> when its transfer began
        self._on_trip = on_trip  # told once, when the wire trips
        # What leaders were already doing when the wire was armed: only news counts.
        self._seen: dict[str, tuple[int, int, bool]] = {
            node_id: (node.term, node.commit_index, node.configuration.is_joint)
            for node_id, node in nodes.items()
            if node.role is LEADER
        }

    def _trip(self, node_id: str, now: int) -> None:
        if self.tripped is None:
            self.tripped = (node_id, now)
            if self._on_trip is not None:
                self._on_trip()

    def on_send(self, message: object, now: int) -> Sequence[Violation]:
        # A success matching beyond the request's previous entry (echoed as
        # rejected_index) acknowledges the entries that request carried.
        if (
            self.event == "ack"
            and type(message) is AppendEntriesResponse
            and message.success
            and message.match_index > message.rejected_index
        ):
            self._trip(message.src, now)
        elif self.event == "timeout-now" and type(message) is TimeoutNow and self.tripped is None:
            # A transfer to a target already caught up sends at once, in the input
            # that began it: before `after_input` could see it begin.
            self.peer, self.began = message.dst, self._transferring.get(message.src, now)
            self._trip(message.src, now)
        return NO_VIOLATIONS

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if self.event == "timeout-now":
            if node.role is LEADER and node.transfer.busy:
                self._transferring.setdefault(node.id, now)
            else:
                self._transferring.pop(node.id, None)
            return NO_VIOLATIONS
        if node.role is not LEADER or self.event == "ack":
            return NO_VIOLATIONS
        term, commit, joint = seen = (node.term, node.commit_index, node.configuration.is_joint)
        before = self._seen.get(node.id)
        self._seen[node.id] = seen
        new_term = before is None or before[0] != term
        committed = not new_term and commit > before[1]  # type: ignore[index]
        happened = {
            "elected": new_term,
            "commit": committed,
            "lead": new_term or committed,
            "joint": joint and (new_term or not before[2]),  # type: ignore[index]
        }
        if happened[self.event]:
            self._trip(node.id, now)
        return NO_VIOLATIONS
