"""The rules of the Raft paper's Figure 2 that the Figure 3 properties rest on.

Each is checked where it can break, at the moment it breaks:

- Terms Never Decrease: after every input, and at a restart against the
  highest term the node ever put in a message (Raft §5.1).
- Persist Before Responding: no message shows a term, and no granted vote
  leaves, before the disk holds it (Figure 2, "updated on stable storage
  before responding to RPCs").
- One Vote Per Term: granted VoteResponses as they are sent, across restarts
  (Raft §5.2).
- Up-to-Date Vote: a new vote, against the voter's log as it was when the
  RequestVote arrived (Raft §5.4.1).
- Durable Acknowledgement and Stale Term Refused: a follower's successful
  answer to AppendEntries or InstallSnapshot, against its disk and against
  the request it answers (Figure 2, Raft §5.1).
- Leader Commit Rule: when a leader's commit index grows, the entry is of its
  term (or lies beneath one that is) and a quorum holds it on disk (Raft
  §5.3, §5.4.2, §6: both quorums while joint).
- Applied <= Commit <= Last Index: after every input.
- Persisted State Survives Restart: a restarted node has the term and vote
  its disk was last known to hold.

Pre-vote messages are left out where terms matter: a pre-vote asks about a
term nobody holds yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from raft import (
    AppendEntries,
    AppendEntriesResponse,
    Configuration,
    InstallSnapshot,
    InstallSnapshotResponse,
    LogManager,
    Message,
    Node,
    RequestVote,
    Role,
    SaveHardState,
    VoteResponse,
    Write,
)
from raft.quorum import majority
from sim.check.checkers.base import (
    COMPACTED,
    NO_VIOLATIONS,
    Checker,
    Violation,
    durable_term_at,
    ids,
)

LEADER = Role.LEADER


def _about_a_future_term(message: Message) -> bool:
    kind = type(message)
    return (kind is RequestVote or kind is VoteResponse) and message.pre_vote


class TermsNeverDecrease(Checker):
    """Figure 2: a node's current term only grows, also across a crash (Raft §5.1)."""

    name = "Terms Never Decrease"

    def __init__(self) -> None:
        self._term: dict[str, int] = {}  # each node's term after its last input
        self._told: dict[str, int] = {}  # the highest term each node put in a message

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        term = node.term
        before = self._term.get(node.id, 0)
        if term == before:
            return NO_VIOLATIONS
        self._term[node.id] = term
        if term > before:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id,),
            f"{node.id}'s term went down from {before} to {term}: terms only grow (Raft §5.1)",
        )

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        if message.term > self._told.get(message.src, 0) and not _about_a_future_term(message):
            self._told[message.src] = message.term
        return NO_VIOLATIONS

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        self._term[node.id] = node.term
        told = self._told.get(node.id, 0)
        if node.term >= told:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id,),
            f"{node.id} restarted in term {node.term}, but before it crashed it had sent "
            f"messages of term {told}: a term a node has told anyone must survive a crash "
            "(Raft §5.1, Figure 2)",
        )


class PersistBeforeResponding(Checker):
    """Figure 2: term and vote are on stable storage before any message shows them."""

    name = "Persist Before Responding"

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        src = message.src
        disk = self.world.disks[src].durable
        if message.term > disk.term and not _about_a_future_term(message):
            return self.violation(
                now,
                (src,),
                f"{src} sent {message} to {message.dst} while its disk still held term "
                f"{disk.term}: a crash now would forget term {message.term} (Figure 2)",
            )
        if (
            type(message) is VoteResponse
            and message.granted
            and not message.pre_vote
            and disk.term == message.term
            and disk.voted_for != message.dst
        ):
            return self.violation(
                now,
                (src, message.dst),
                f"{src} granted its vote in term {message.term} to {message.dst} before the "
                f"vote was on disk (its disk says vote {disk.voted_for or '-'}): after a "
                "crash it could vote again in that term (Figure 2)",
            )
        return NO_VIOLATIONS


class OneVotePerTerm(Checker):
    """Figure 2: a node grants at most one candidate its vote in a term (Raft §5.2)."""

    name = "One Vote Per Term"

    def __init__(self) -> None:
        self._votes: dict[tuple[str, int], str] = {}  # (voter, term) -> candidate

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        kind = type(message)
        if kind is VoteResponse and message.granted and not message.pre_vote:
            candidate = message.dst
        elif kind is RequestVote and not message.pre_vote:
            candidate = message.src  # a candidate has voted for itself
        else:
            return NO_VIOLATIONS
        voter, term = message.src, message.term
        first = self._votes.setdefault((voter, term), candidate)
        if first == candidate:
            return NO_VIOLATIONS
        self._votes[(voter, term)] = candidate  # report each further vote once
        whom = "itself" if candidate == voter else candidate
        earlier = "itself" if first == voter else first
        return self.violation(
            now,
            tuple(dict.fromkeys((voter, first, candidate))),
            f"{voter} voted for {whom} in term {term} after voting for {earlier} in the same "
            "term: one vote per term (Raft §5.2)",
        )


class UpToDateVote(Checker):
    """Figure 2: a vote goes only to a candidate whose log is at least as up-to-date."""

    name = "Up-to-Date Vote"

    def __init__(self) -> None:
        # voter -> (the RequestVote it is handling, its last log term and index,
        #           its term and vote before it)
        self._asked: dict[str, tuple[RequestVote, int, int, int, str | None]] = {}

    def on_deliver(self, message: Message, node: Node, now: int) -> Sequence[Violation]:
        if type(message) is RequestVote and not message.pre_vote:
            log = node.log
            self._asked[node.id] = (
                message,
                log.last_term,
                log.last_index,
                node.term,
                node.voted_for,
            )
        return NO_VIOLATIONS

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if not self._asked:
            return NO_VIOLATIONS
        asked = self._asked.pop(node.id, None)
        if asked is None:
            return NO_VIOLATIONS
        request, last_term, last_index, term_before, vote_before = asked
        granted_now = (
            node.term == request.term
            and node.voted_for == request.src
            and (term_before, vote_before) != (request.term, request.src)
        )
        if not granted_now or (request.last_log_term, request.last_log_index) >= (
            last_term,
            last_index,
        ):
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id, request.src),
            f"{node.id} voted for {request.src} in term {request.term} although "
            f"{request.src}'s log (ends {request.last_log_index}@{request.last_log_term}) is "
            f"behind its own (ends {last_index}@{last_term}): votes go only to candidates at "
            "least as up-to-date (Raft §5.4.1)",
        )


class FollowerAcknowledgements(Checker):
    """Figure 2: a follower acknowledges only what is on its disk, and refuses
    requests of an older term.

    Each AppendEntries or InstallSnapshot delivered is remembered, by sender and
    request number, until the answer to it leaves, which may be after a flush.
    """

    name = "Durable Acknowledgement"
    stale = "Stale Term Refused"

    def __init__(self) -> None:
        # node -> {(leader, seq): [(request's term, node's term then, index
        #          acknowledged on success, that entry's term), ...]}: a list because
        #          the network may deliver one request twice, and the node answers each
        #          delivery in turn. Kept until answered, even when the node moves to
        #          a new term: an answer held back until the disk catches up leaves
        #          later; forgotten when the same leader asks in a newer term.
        self._asked: dict[str, dict[tuple[str, int], list[tuple[int, int, int, int]]]] = {}

    def on_deliver(self, message: Message, node: Node, now: int) -> Sequence[Violation]:
        kind = type(message)
        if kind is AppendEntries:
            if message.heartbeat and message.term >= node.term:
                return NO_VIOLATIONS  # a current heartbeat vouches for no entry
            entries = message.entries
            index = message.prev_log_index + len(entries)
            term = entries[-1].term if entries else message.prev_log_term
        elif kind is InstallSnapshot:
            index = message.snapshot.last_index
            term = message.snapshot.last_term
        else:
            return NO_VIOLATIONS
        asked_of = self._asked.setdefault(node.id, {})
        # A leader numbers its requests afresh in each term: its requests of older
        # terms still unanswered can no longer be told apart, and are forgotten.
        for key in [
            k for k, w in asked_of.items() if k[0] == message.src and w[0][0] < message.term
        ]:
            del asked_of[key]
        asked_of.setdefault((message.src, message.seq), []).append(
            (message.term, node.term, index, term)
        )
        return NO_VIOLATIONS

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        self._asked.pop(node.id, None)  # what it was asked before the crash is lost
        return NO_VIOLATIONS

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        kind = type(message)
        if kind is not AppendEntriesResponse and kind is not InstallSnapshotResponse:
            return NO_VIOLATIONS
        asked_of = self._asked.get(message.src, {})
        waiting = asked_of.get((message.dst, message.seq))
        asked = waiting.pop(0) if waiting else None
        if waiting == []:
            del asked_of[(message.dst, message.seq)]
        if not message.success:
            return NO_VIOLATIONS
        found: list[Violation] = []
        if asked is not None and asked[0] < asked[1]:
            found += self.violation(
                now,
                (message.src, message.dst),
                f"{message.src} accepted {_request_name(message)} of term {asked[0]} from "
                f"{message.dst} although its own term was {asked[1]}: requests of an older "
                "term must be refused (Raft §5.1)",
                property=self.stale,
            )
        index = message.match_index
        if index == 0 or (kind is AppendEntriesResponse and message.heartbeat):
            return found
        if asked is not None and asked[2] == index:
            expected: int | None = asked[3]
        else:
            expected = self.world.nodes[message.src].log.term_at(index)
        disk = self.world.disks[message.src].durable
        held = durable_term_at(disk, index)
        if held is None:
            found += self.violation(
                now,
                (message.src, message.dst),
                f"{message.src} acknowledged entries up to {index} to {message.dst} before they "
                f"were on its disk (the disk ends at {disk.log_start + len(disk.entries)}): a "
                "crash could lose entries the leader counts as stored (Figure 2)",
            )
        elif kind is AppendEntriesResponse and held not in (expected, COMPACTED):
            found += self.violation(
                now,
                (message.src, message.dst),
                f"{message.src} acknowledged entry {index}@{expected} to {message.dst}, but its "
                f"disk holds an entry of term {held} there: an acknowledgement vouches for the "
                "leader's entry (Figure 2)",
            )
        return found


def _request_name(response: Message) -> str:
    if type(response) is InstallSnapshotResponse:
        return "InstallSnapshot"
    return "a heartbeat" if response.heartbeat else "AppendEntries"


class LeaderCommitRule(Checker):
    """Figure 2: a leader commits an entry of its own term once a quorum stores it
    (Raft §5.3, §5.4.2); earlier entries commit only beneath such an entry."""

    name = "Leader Commit Rule"

    def __init__(self) -> None:
        # node -> (term, commit index, last log index) after its last input as leader
        self._leading: dict[str, tuple[int, int, int]] = {}

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if node.role is not LEADER:
            return NO_VIOLATIONS
        commit = node.ballot_box.commit_index
        seen = self._leading.get(node.id)
        self._leading[node.id] = (node.term, commit, node.log.last_index)
        if seen is None or seen[0] != node.term or commit <= seen[1]:
            return NO_VIOLATIONS
        # A leader counts with the latest configuration in its log (Raft §6). It may
        # have appended one during this input, before or after the commit: the one it
        # had before and the one it has now are both valid judges. But a leader leaves
        # a joint configuration only once the joint entry is committed, which takes
        # both quorums: check that too, since the new configuration would not.
        conf = node.configuration
        before = node.log.configuration_at(seen[2], conf)
        if before == conf:
            return self._judge(node, commit, (conf,), now)
        found = list(self._judge(node, commit, (before, conf), now))
        if before.is_joint and not conf.is_joint:
            found += self._left_joint(node, seen[2], before, conf, now)
        return found

    def _left_joint(
        self, node: Node, last: int, joint: Configuration, new: Configuration, now: int
    ) -> Sequence[Violation]:
        log = node.log
        index = last
        while index > log.snapshot_index and log.entry(index).configuration != joint:
            index -= 1
        if index <= log.snapshot_index:
            return NO_VIOLATIONS  # the joint entry is compacted: committed long ago
        term = log.entry(index).term
        if self._on_quorum(joint, index, term):
            return NO_VIOLATIONS
        holders = self._holders(joint, index, term)
        return self.violation(
            now,
            (node.id,),
            f"{node.id}, leader of term {node.term}, moved on from {joint} to {new} although "
            f"{_held_by(holders)} the joint entry {index} on disk: it commits only with "
            f"{joint.quorum_text()} (Raft §6)",
        )

    def _judge(
        self, node: Node, commit: int, confs: tuple[Configuration, ...], now: int
    ) -> Sequence[Violation]:
        log, term = node.log, node.term
        entry_term = log.term_at(commit)
        if entry_term != term:
            own = _first_of_term(log, commit, term)
            if own is None or not any(self._on_quorum(conf, own, term) for conf in confs):
                return self.violation(
                    now,
                    (node.id,),
                    f"{node.id}, leader of term {term}, committed index {commit}, an entry of "
                    f"term {entry_term}, by counting replicas: an earlier term's entry commits "
                    "only beneath an entry of the leader's own term stored on a quorum "
                    "(Raft §5.4.2, Figure 8)",
                )
            return NO_VIOLATIONS
        if any(self._on_quorum(conf, commit, term) for conf in confs):
            return NO_VIOLATIONS
        conf = confs[-1]
        return self.violation(
            now,
            (node.id,),
            f"{node.id}, leader of term {term}, committed index {commit} but "
            f"{_held_by(self._holders(conf, commit, term), f' of {conf}')} it on disk; "
            f"committing needs "
            f"{conf.quorum_text()} (Raft §5.3, §6)",
        )

    def _on_quorum(self, conf: Configuration, index: int, term: int) -> bool:
        """Does a quorum of `conf` (both quorums while joint) hold (index, term) on disk?"""
        disks = self.world.disks
        for voters in (conf.voters, conf.old_voters):
            if voters is None:
                continue
            missing = majority(len(voters))
            for voter in voters:
                disk = disks.get(voter)
                if disk is not None and durable_term_at(disk.durable, index) in (term, COMPACTED):
                    missing -= 1
                    if not missing:
                        break
            if missing:
                return False
        return True

    def _holders(self, conf: Configuration, index: int, term: int) -> list[str]:
        """The voters of `conf` that hold (index, term) on disk."""
        disks = self.world.disks
        return [
            v
            for v in conf.all_voters
            if v in disks and durable_term_at(disks[v].durable, index) in (term, COMPACTED)
        ]


def _held_by(holders: list[str], among: str = "") -> str:
    """`only n1 and n4{among} hold`, or `no voter{among} holds`."""
    if not holders:
        return f"no voter{among} holds"
    return f"only {ids(holders)}{among} {'holds' if len(holders) == 1 else 'hold'}"


def _first_of_term(log: LogManager, after: int, term: int) -> int | None:
    """First index after `after` whose entry has `term` (the leader's first of its term)."""
    index = after + 1
    while index <= log.last_index:
        if log.term_at(index) == term:
            return index
        index += 1
    return None


class IndexOrder(Checker):
    """Figure 2: on every node, lastApplied <= commitIndex <= the last log index."""

    name = "Applied <= Commit <= Last Index"

    def __init__(self) -> None:
        self._broken: set[str] = set()  # reported and not yet back in order

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        applied = node.fsm.last_applied
        commit = node.ballot_box.commit_index
        last = node.log.last_index
        if applied <= commit <= last:
            if self._broken:
                self._broken.discard(node.id)
            return NO_VIOLATIONS
        if node.id in self._broken:
            return NO_VIOLATIONS
        self._broken.add(node.id)
        if applied > commit:
            text = (
                f"{node.id} has applied entries up to {applied}, but knows them committed "
                f"only up to {commit}: a node applies only committed entries (Figure 2)"
            )
        else:
            text = (
                f"{node.id} takes entries up to {commit} as committed, but its log ends at "
                f"{last} (Figure 2)"
            )
        return self.violation(now, (node.id,), text)


class PersistedStateSurvivesRestart(Checker):
    """Figure 2: the term and vote on stable storage are what a restarted node has."""

    name = "Persisted State Survives Restart"

    def __init__(self) -> None:
        self._saved: dict[str, SaveHardState] = {}  # the latest term and vote made durable

    def on_durable(self, node_id: str, writes: Sequence[Write], now: int) -> Sequence[Violation]:
        for write in writes:
            if type(write) is SaveHardState:
                self._saved[node_id] = write
        return NO_VIOLATIONS

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        saved = self._saved.get(node.id)
        if saved is None or node.term > saved.term:
            return NO_VIOLATIONS
        if node.term == saved.term and saved.voted_for in (None, node.voted_for):
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id,),
            f"{node.id} restarted with term {node.term}, vote {node.voted_for or '-'}, but its "
            f"disk had made term {saved.term}, vote {saved.voted_for or '-'} durable (Figure 2)",
        )
