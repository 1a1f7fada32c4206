"""Leadership transfer on the leader (thesis §3.10; sofa-jraft's transferLeadershipTo).

Theory of operation: the leader enters a transferring state in which it
refuses client writes and membership changes (they would only be lost or
delayed), but keeps replicating. As soon as the target's log matches the
leader's last index, the leader sends it TimeoutNow; the target campaigns at
once, skipping PreVote, and its higher term makes the old leader step down.
If nothing has happened after an election timeout (the target was down, or
lost the election), the old leader gives up and leads on.
"""

from __future__ import annotations

from raft.messages import TimeoutNow
from raft.node_view import ChangingNode

TRANSFER_TIMER = "transfer"
# A transfer given up (target, the term the leader resumes): coverage picks it out.
TIMED_OUT = "transfer to {} timed out: resumes leading term {}"


class LeadershipTransfer:
    """The transfer a leader is carrying out, if any."""

    def __init__(self, node: ChangingNode) -> None:
        self._node = node
        self.target: str | None = None
        self._ticket = 0
        self._sent = False
        # The term in which we last sent TimeoutNow (0: never).
        self._timeout_now_term = 0

    @property
    def busy(self) -> bool:
        return self.target is not None

    @property
    def lease_forfeited(self) -> bool:
        """Whether the leader's lease can no longer be trusted in its current term.

        While a transfer runs, its target may be elected at once. And once
        TimeoutNow has left, it may arrive at any later moment of this term,
        even after the transfer gave up: its target then campaigns, and voters
        grant a transfer's votes although they heard from us within the lease
        (that is what lets a transfer be fast). So a leader that sent TimeoutNow
        gives up lease reads for the rest of its term; ReadIndex stays safe,
        since it asks a quorum.
        """
        if "lease_after_transfer" in self._node.options.bugs:
            return self.busy  # BUG SWITCH lease_after_transfer: forgets the TimeoutNow that left
        return self.busy or self._timeout_now_term == self._node.term

    def start(self, target: str, ticket: int, now: int) -> None:
        """Begin handing leadership to `target`."""
        node = self._node
        self.target, self._ticket, self._sent = target, ticket, False
        timeout = node.options.election_timeout[1]
        node.note(
            "transfer",
            "transfers leadership to {}: refuses client writes meanwhile, gives up after {} ms",
            (target, timeout // 1000),
        )
        node.outbox.set_timer(TRANSFER_TIMER, timeout)
        replicator = node.replicators.get(target)
        if replicator is not None and replicator.match_index < node.log.last_index:
            node.note(
                "transfer",
                "first brings {} up to date (match {} of {})",
                (target, replicator.match_index, node.log.last_index),
            )
        self._hand_over_if_caught_up()

    def on_peer_progress(self, peer: str) -> None:
        if peer == self.target:
            self._hand_over_if_caught_up()

    def on_timer(self, now: int) -> None:
        """No new leader within an election timeout: lead on (jraft resumes as leader)."""
        if not self.busy:
            return
        node = self._node
        target = self.target
        self._end(False, f"{target} did not take over within an election timeout")
        node.note("transfer", TIMED_OUT, (target, node.term))
        node.fsm.state_machine.on_leader_start(node.term)

    def on_step_down(self, new_term: int, old_term: int) -> None:
        """We stopped leading: the transfer worked if a newer term began."""
        if self.busy:
            if new_term > old_term:
                self._end(True, f"a new leader took over in term {new_term}")
            else:
                self._end(False, "the leader stepped down without a new term")

    def _hand_over_if_caught_up(self) -> None:
        node = self._node
        replicator = node.replicators.get(self.target or "")
        if self._sent or replicator is None:
            return
        last = node.log.last_index
        if replicator.match_index < last:
            return
        self._sent = True
        self._timeout_now_term = node.term
        node.note(
            "transfer",
            "sees {} has every entry (match {}): sends it TimeoutNow",
            (self.target, last),
        )
        node.send(TimeoutNow(src=node.id, dst=self.target, term=node.term))

    def _end(self, ok: bool, reason: str) -> None:
        node = self._node
        node.outbox.cancel_timer(TRANSFER_TIMER)
        ticket, self.target = self._ticket, None
        node.finished(ticket, ok, reason)
