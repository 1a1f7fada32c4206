"""What a leader knows of its followers, and what followers know of their leader.

- Match Index Only Grows (Figure 2): a leader's matchIndex for a follower is
  "initialized to 0, increases monotonically" while it leads. Read from the
  leader's replicators after each of its inputs and compared with the last
  seen per (leader, term, follower). A peer that leaves the configuration is
  forgotten with its replicator; if it comes back, jraft gives it a fresh
  replicator, starting from 0 again.
- PreVote Only Without a Live Leader (thesis §9.6; jraft's
  handlePreVoteRequest refuses while isCurrentLeaderValid()): a node grants a
  pre-vote only if it has not heard from a leader of its current term within
  the minimum election timeout, and never while it leads itself. The checker
  notes when each node receives AppendEntries or InstallSnapshot of its term
  or newer, judges each PreVote request as it is delivered, and matches the
  answer when it leaves (which may be after a flush). A node whose own
  election timer ran out (it asks for pre-votes itself) no longer counts its
  leader alive. Real votes are not this rule's business: a transfer's
  TimeoutNow campaign skips PreVote, and CheckQuorum's lease on real votes is
  a separate rule; with PreVote off there is nothing to judge.
"""

from __future__ import annotations

from collections.abc import Sequence

from raft import (
    AppendEntries,
    InstallSnapshot,
    Message,
    Node,
    RequestVote,
    Role,
    VoteResponse,
)
from raft.outputs import ms
from sim.check.checkers.base import NO_VIOLATIONS, Checker, Violation

LEADER = Role.LEADER


class MatchIndexOnlyGrows(Checker):
    """Figure 2: a leader's matchIndex for each server increases monotonically."""

    name = "Match Index Only Grows"

    def __init__(self) -> None:
        # leader -> (its term, follower -> match index after the leader's last input)
        self._seen: dict[str, tuple[int, dict[str, int]]] = {}

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if node.role is not LEADER:
            if node.id in self._seen:
                del self._seen[node.id]
            return NO_VIOLATIONS
        replicators = node.leadership.replicators
        seen = self._seen.get(node.id)
        if seen is None or seen[0] != node.term:
            matches = {peer: r.match_index for peer, r in replicators.items()}
            self._seen[node.id] = (node.term, matches)
            return NO_VIOLATIONS
        known = seen[1]
        found: list[Violation] = []
        for peer, replicator in replicators.items():
            match = replicator.match_index
            before = known.get(peer, 0)
            if match == before:
                continue
            if match < before:
                found += self.violation(
                    now,
                    (node.id, peer),
                    f"{node.id}, leader of term {node.term}, lowered its match index for "
                    f"{peer} from {before} to {match}: it only grows while a leader leads "
                    "(Figure 2)",
                )
            known[peer] = match
        if len(known) > len(replicators):
            # A peer that left the configuration lost its replicator; one that comes
            # back gets a fresh one, starting from 0.
            for peer in [p for p in known if p not in replicators]:
                del known[peer]
        return found


class PreVoteOnlyWithoutLeader(Checker):
    """Thesis §9.6: a server grants a pre-vote only if it has not heard from a current
    leader within the minimum election timeout (jraft: not while isCurrentLeaderValid)."""

    name = "PreVote Only Without a Live Leader"

    def __init__(self) -> None:
        # node -> (term, time, leader) of the last AppendEntries or InstallSnapshot it
        # received of its term or newer, while it has not timed out since
        self._heard: dict[str, tuple[int, int, str]] = {}
        # (voter, candidate) -> why a live leader forbade each pre-vote request
        # delivered and not yet answered (None: no live leader), oldest first
        self._asked: dict[tuple[str, str], list[str | None]] = {}

    def on_deliver(self, message: Message, node: Node, now: int) -> Sequence[Violation]:
        kind = type(message)
        if kind is AppendEntries or kind is InstallSnapshot:
            if message.term >= node.term:
                self._heard[node.id] = (message.term, now, message.src)
        elif kind is RequestVote and message.pre_vote:
            self._asked.setdefault((node.id, message.src), []).append(self._leader_alive(node, now))
        return NO_VIOLATIONS

    def _leader_alive(self, node: Node, now: int) -> str | None:
        """Why `node` must refuse a pre-vote now, or None if it may grant it."""
        if node.role is LEADER:
            return f"it leads term {node.term} itself"
        heard = self._heard.get(node.id)
        if heard is None or node.pre_voting:
            return None  # never heard, or its own election timer ran out since
        term, at, leader = heard
        if term != node.term or now - at >= node.options.election_timeout[0]:
            return None
        return (
            f"it heard from {leader}, leader of term {term}, {ms(now - at)} before, within "
            f"the minimum election timeout of {ms(node.options.election_timeout[0])}"
        )

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        kind = type(message)
        if kind is RequestVote:
            if message.pre_vote:
                self._heard.pop(message.src, None)  # its own election timer ran out
            return NO_VIOLATIONS
        if kind is not VoteResponse or not message.pre_vote:
            return NO_VIOLATIONS
        key = (message.src, message.dst)
        waiting = self._asked.get(key)
        if not waiting:
            return NO_VIOLATIONS
        alive = waiting.pop(0)
        if not waiting:
            del self._asked[key]
        if not message.granted or alive is None:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (message.src, message.dst),
            f"{message.src} granted {message.dst} a pre-vote for term {message.term} although "
            f"{alive}: a live leader must not be disrupted (thesis §9.6)",
        )

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        # A restarted node has forgotten its leader and the requests it had not answered.
        self._heard.pop(node.id, None)
        for key in [k for k in self._asked if k[0] == node.id]:
            del self._asked[key]
        return NO_VIOLATIONS
