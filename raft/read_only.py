"""Reads outside the log: ReadIndex and lease reads (thesis §6.4).

Theory of operation (jraft's ReadOnlyService, etcd's read_only.go): a read
that is not written to the log must still not return a value older than one
a client could already have seen. The leader (the node checks it is one, and
that an entry of its term has committed) takes its commit index as the
read's index, then:

- ReadIndex: confirms it still leads with a heartbeat round. Rounds are
  numbered; each Replicator remembers the latest round its peer answered, and
  a read is confirmed once a quorum (of both configurations while joint) has
  answered its round or a later one.
- Lease (thesis §6.4.1, needs CheckQuorum): if a quorum answered requests
  sent within LEASE_FRACTION of the minimum election timeout, no other leader
  can have been elected since, so the round is skipped. Never while a
  leadership transfer is under way: its target may be elected at once.
- Either way the answer waits until the state machine has applied the read
  index. Reads still pending when the leader steps down fail.
- "local" reads answer at once from the node's own state machine, with no
  guarantee at all: they are there to show what goes wrong.

Invariant: a confirmed read answers from a state that includes every entry
committed before the read began.
"""

from __future__ import annotations

import attrs

from raft.node_view import ReadingNode, Role
from raft.outputs import ms
from raft.quorum import VoteResult
from raft.state_machine import NIL
from raft.transfer import LeadershipTransfer

READ_MODES = ("read_index", "lease", "local")
LEASE_FRACTION = 0.9  # a lease lasts this fraction of the minimum election timeout

# Notes a reader of the trace picks out by template (sim/check/fuzz/coverage.py):
# a lease read served (key, window in ms, read index), refused for a lapsed lease (key,
# why, ending with LAPSED) or a transfer under way, a ReadIndex round confirmed (round,
# who, key, read index), and the pending reads failed (how many, why).
LEASE_READ = (
    "lease read of {}: a quorum answered within {:g} ms, so no other leader can exist "
    "yet: read index {} (commit index), no heartbeat round"
)
LEASE_FALLS_BACK = "lease read of {}: {}: falls back to ReadIndex"
ROUND_ANSWERED = (
    "heartbeat round {} answered by {}: still leader; read of {} waits for apply index {}"
)
FAILS_READS = "fails {} pending read(s): {}"
LAPSED = "the lease has lapsed"


@attrs.define
class PendingRead:
    """A read the leader accepted: waiting for its heartbeat round, then for the apply."""

    ticket: int
    key: str
    read_index: int
    round: int  # the ReadIndex round that must be answered by a quorum (0: lease held)
    confirmed: bool = False


class ReadOnlyService:
    """The reads one node accepted and has not answered yet."""

    def __init__(self, node: ReadingNode, transfer: LeadershipTransfer) -> None:
        self._node = node
        self._transfer = transfer
        self._outbox = node.outbox
        self._options = node.options
        self.round = 0  # the latest ReadIndex round begun
        self._reads: list[PendingRead] = []

    def start(self, key: str, mode: str, ticket: int, now: int) -> None:
        """Carry out a read the node accepted; it ends with a `ReadDone` for `ticket`."""
        node = self._node
        if mode == "local":
            value = self._value(key)
            node.note(
                "read",
                "local read of {}: answers {!r} from its own state machine (applied up to {}) "
                "without asking anyone: may be stale",
                (key, value, node.last_applied),
            )
            self._outbox.read_done(ticket, True, value, "local read")
            return
        read = PendingRead(ticket, key, node.commit_index, 0)
        lapsed = self._lease_lapsed(now) if mode == "lease" else None
        if mode == "lease" and lapsed is None:
            read.confirmed = True
            node.note(
                "read",
                LEASE_READ,
                (key, self._lease_window / 1000, read.read_index),
            )
        else:
            if mode == "lease":
                node.note("read", LEASE_FALLS_BACK, (key, lapsed))
            self.round += 1
            read.round = self.round
            node.note(
                "read",
                "ReadIndex read of {}: read index {} (commit index); confirms leadership with "
                "heartbeat round {} (needs {})",
                (key, read.read_index, read.round, node.configuration.quorum_text()),
            )
        self._reads.append(read)
        if read.round:
            for replicator in node.replicators.values():
                replicator.heartbeat(now, self.round, resend=False)
        self.check(now)

    def check(self, now: int) -> None:
        """Leader: confirm reads whose round a quorum answered; answer those applied."""
        node = self._node
        if not self._reads or node.role is not Role.LEADER:
            return
        conf = node.configuration
        for read in self._reads:
            if read.confirmed:
                continue
            acks = {node.id: True}
            for peer, replicator in node.replicators.items():
                acks[peer] = replicator.read_round_acked >= read.round
            if conf.vote_result(acks) is VoteResult.WON:
                read.confirmed = True
                who = ", ".join(v for v in conf.all_voters if acks.get(v))
                node.note(
                    "read",
                    ROUND_ANSWERED,
                    (read.round, who, read.key, read.read_index),
                )
        waiting = []
        for read in self._reads:
            if read.confirmed and node.last_applied >= read.read_index:
                value = self._value(read.key)
                node.note(
                    "read",
                    "read of {} answers {!r} (applied {} >= read index {})",
                    (read.key, value, node.last_applied, read.read_index),
                )
                self._outbox.read_done(read.ticket, True, value, "read")
            else:
                waiting.append(read)
        self._reads = waiting

    def fail_all(self, reason: str) -> None:
        """The leader stepped down: every pending read fails."""
        for read in self._reads:
            self._outbox.read_done(read.ticket, False, None, reason)
        if self._reads:
            self._node.note("read", FAILS_READS, (len(self._reads), reason))
        self._reads = []

    @property
    def _lease_window(self) -> int:
        return int(self._options.election_timeout[0] * LEASE_FRACTION)

    def _lease_lapsed(self, now: int) -> str | None:
        """Why the lease does not hold now, or None if it does (thesis §6.4.1)."""
        node = self._node
        since = now - self._lease_window
        heard = {node.id: True}
        for peer, replicator in node.replicators.items():
            sent = replicator.acked_sent_at
            heard[peer] = sent is not None and sent > since
        if node.configuration.vote_result(heard) is not VoteResult.WON:
            return f"no quorum answered within {ms(self._lease_window)}, {LAPSED}"
        if self._transfer.busy:
            return "a leadership transfer is under way (its target may be elected at once)"
        if self._transfer.lease_forfeited:
            return (
                "the lease was given up when this term's TimeoutNow left "
                "(it may still arrive and elect its target at any moment)"
            )
        return None

    def _value(self, key: str) -> str | None:
        machine = self._node.fsm.state_machine
        reader = getattr(machine, "read", None)
        if reader is None:
            return None
        value = reader(key)
        return None if value == NIL else value
