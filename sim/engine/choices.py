"""Exact choices: make one pending event happen now, whatever the clock says.

The engine normally decides what happens next: the event heap orders message
deliveries, timer expiries and disk flushes by time. An explorer (or a
scenario that must replay what one found) makes that choice itself: this
timer fires now, that flush completes now, this message is delivered now
(`NetworkControls.deliver`) or lost (`drop`) or arrives twice (`duplicate`).

Time is a choice too, as in the TLA+ specifications of Raft: an election
timer may run out at any moment, and the node campaigns. Whether the clock
moves depends on whether anyone could tell. Without PreVote and CheckQuorum,
no node's decisions depend on how long ago it heard from a leader, so the
node's timeout is made to run out now (as `expire_election_timer` does) and
the clock stays: the choice changes that node alone. With either, the others
judge by the clock whether a leader is alive, so the clock moves on to when
the node's timeout runs out since it last heard from a leader. Any other
timer (a leader's heartbeat) fires when it is due: the clock moves on to
then, and a leader that finds a request unanswered for its RPC timeout
probes again. The clock never goes back: a message delivered or a flush
completed by choice happens at the current time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from raft import ELECTION_TIMER
from sim.engine.events import DELIVER, TIMER, EventQueue
from sim.engine.part import WorldPart

if TYPE_CHECKING:
    from raft import Node
    from sim.engine.disk import Disk
    from sim.engine.network import Network


def election_reads_the_clock(node: Node) -> bool:
    """Do this node's peers judge by the clock whether a leader is alive (PreVote, CheckQuorum)?"""
    return node.options.pre_vote or node.options.check_quorum


class ExactChoices(WorldPart):
    """The exact-choice verbs of `World` (which provides the state below)."""

    events_processed: int
    running: dict[str, bool]
    disks: dict[str, Disk]
    network: Network
    queue: EventQueue
    _timer_tokens: dict[tuple[str, str], int]

    if TYPE_CHECKING:

        def _carry_out(self, node_id: str, node: Node) -> None: ...

        def _fire(self, node_id: str, name: str, token: int) -> None: ...

        def _flush(self, node_id: str) -> None: ...

    def armed_timers(self) -> list[tuple[str, str, int]]:
        """Timers set and not yet fired or cancelled: (node, timer name, due time)."""
        due = {payload: time for time, _, kind, payload in self.queue.heap if kind == TIMER}
        return sorted(
            (node, name, due[(node, name, token)])
            for (node, name), token in self._timer_tokens.items()
        )

    def fire(self, node_id: str, timer: str) -> None:
        """Fire a node's armed timer now, moving the clock on to when it is due."""
        token = self._timer_tokens.get((node_id, timer))
        if token is None:
            armed = sorted(name for node, name in self._timer_tokens if node == node_id)
            raise ValueError(
                f"{node_id} has no {timer} timer set (set: {', '.join(armed) or 'none'})"
            )
        node = self.nodes[node_id]
        if timer == ELECTION_TIMER and not election_reads_the_clock(node):
            node.expire_election_timer(0, self.now)  # its timeout runs out now
            self._carry_out(node_id, node)
            token = self._timer_tokens[(node_id, timer)]
        due = next(
            time
            for time, _, kind, payload in self.queue.heap
            if kind == TIMER and payload == (node_id, timer, token)
        )
        if timer == ELECTION_TIMER:
            # Heard from a leader since the timer was set: its timeout runs out later.
            due = max(due, node.election_deadline or due)
        self.now = max(self.now, due)
        self.events_processed += 1
        self._fire(node_id, timer, token)

    def flush(self, node_id: str) -> None:
        """Complete a node's pending disk flush now."""
        disk = self.disks[node_id]
        if not disk.flush_scheduled:
            raise ValueError(f"{node_id} has no disk flush pending")
        # The flush scheduled in the heap is done early: its event becomes stale.
        disk.generation += 1
        self.events_processed += 1
        self._flush(node_id)

    def duplicate(self, msg_id: int) -> None:
        """Put a second copy of a message in flight; it lands when the first would."""
        flight = self.network.copy(msg_id)
        msg = flight.message
        self._record(
            msg.src,
            "Network",
            "duplicate",
            "{} -> {} {} duplicated (by request): a second copy is in flight",
            (msg.src, msg.dst, flight.text),
            flight.msg_id,
        )
        self.queue.push(flight.lands_us, DELIVER, flight.msg_id)
