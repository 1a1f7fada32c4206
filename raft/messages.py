"""The RPCs nodes exchange (Raft Figure 2, plus PreVote from thesis §9.6).

Every message names its sender, its receiver and the sender's term. Messages
are immutable values: the network may duplicate or reorder them freely.
"""

from __future__ import annotations

import attrs

from raft.log_entry import LogEntry
from raft.snapshot import Snapshot


@attrs.frozen(kw_only=True)
class Message:
    """Fields every RPC carries."""

    src: str
    dst: str
    term: int

    def __deepcopy__(self, memo: dict) -> Message:
        return self

    @property
    def name(self) -> str:
        return type(self).__name__


@attrs.frozen(kw_only=True)
class RequestVote(Message):
    """A candidate asks for a vote (Raft §5.2) or, with `pre_vote`, whether it could win.

    A pre-vote asks on behalf of `term` (the candidate's term + 1) without the
    candidate raising its own term, so a node that cannot win never disrupts
    the cluster with a higher term.
    """

    last_log_index: int
    last_log_term: int
    pre_vote: bool = False
    # Sent by a node told to take over (TimeoutNow): voters must not ignore it
    # because they heard from the current leader recently (thesis §3.10, §4.2.3).
    leadership_transfer: bool = False

    @property
    def name(self) -> str:
        return "PreVote" if self.pre_vote else "RequestVote"

    def __str__(self) -> str:
        return f"{self.name}(term {self.term}, last log {self.last_log_index}@{self.last_log_term})"


@attrs.frozen(kw_only=True)
class VoteResponse(Message):
    """The answer to a RequestVote or PreVote."""

    granted: bool
    pre_vote: bool = False

    @property
    def name(self) -> str:
        return "PreVoteResponse" if self.pre_vote else "VoteResponse"

    def __str__(self) -> str:
        verdict = "granted" if self.granted else "refused"
        return f"{self.name}(term {self.term}, {verdict})"


@attrs.frozen(kw_only=True)
class AppendEntries(Message):
    """Replicate entries after `prev_log_index` (Raft §5.3), or a heartbeat.

    `seq` numbers the requests of one replicator so replies can be matched to
    the request they answer. A heartbeat carries no log position: it only
    asserts leadership and carries a commit index the follower is known to
    have (the leader sends min(commit, follower's match index)).

    `read_round` numbers the leader's ReadIndex rounds (thesis §6.4): a
    heartbeat carries the latest round begun, and the answer echoes it, so
    the leader knows the answer was sent after the read began.
    """

    prev_log_index: int
    prev_log_term: int
    entries: tuple[LogEntry, ...] = ()
    leader_commit: int
    seq: int
    heartbeat: bool = False
    read_round: int = 0

    @property
    def name(self) -> str:
        return "Heartbeat" if self.heartbeat else "AppendEntries"

    def __str__(self) -> str:
        if self.heartbeat:
            read = f", read round {self.read_round}" if self.read_round else ""
            return f"Heartbeat(term {self.term}, commit {self.leader_commit}{read})"
        if self.entries:
            first, last = self.entries[0].index, self.entries[-1].index
            span = f"entry {first}" if first == last else f"entries {first}..{last}"
        else:
            span = "no entries"
        return (
            f"AppendEntries(term {self.term}, prev {self.prev_log_index}@{self.prev_log_term}, "
            f"{span}, commit {self.leader_commit})"
        )


@attrs.frozen(kw_only=True)
class AppendEntriesResponse(Message):
    """The follower's answer to AppendEntries.

    On success `match_index` is the last index the follower has made durable
    and known to match the leader. On a log mismatch it sends a hint so the
    leader can skip back a whole term at a time (Raft §5.3, last paragraphs):
    `conflict_term` is the term of its entry at the rejected index and
    `conflict_index` the first index of that term; if its log is too short,
    `conflict_term` is None and `conflict_index` is its last index + 1.
    """

    success: bool
    seq: int
    heartbeat: bool = False
    read_round: int = 0  # echoes the request's
    match_index: int = 0
    rejected_index: int = 0
    conflict_index: int = 0
    conflict_term: int | None = None
    last_log_index: int = 0

    @property
    def name(self) -> str:
        return "HeartbeatResponse" if self.heartbeat else "AppendEntriesResponse"

    def __str__(self) -> str:
        if self.heartbeat:
            read = f", read round {self.read_round}" if self.read_round else ""
            return f"HeartbeatResponse(term {self.term}{read})"
        if self.success:
            return f"AppendEntriesResponse(term {self.term}, ok, match {self.match_index})"
        if self.conflict_index == 0:
            return f"AppendEntriesResponse(term {self.term}, refused: stale term)"
        if self.conflict_term is None:
            hint = f"log ends at {self.conflict_index - 1}"
        else:
            hint = f"term {self.conflict_term} starts at {self.conflict_index}"
        return f"AppendEntriesResponse(term {self.term}, reject {self.rejected_index}, {hint})"


@attrs.frozen(kw_only=True)
class InstallSnapshot(Message):
    """The leader sends its snapshot to a follower that needs compacted entries (Figure 13).

    Sent whole, in one message: the simulated network has no size limit.
    """

    snapshot: Snapshot
    seq: int

    def __str__(self) -> str:
        s = self.snapshot
        return f"InstallSnapshot(term {self.term}, up to {s.last_index}@{s.last_term})"


@attrs.frozen(kw_only=True)
class InstallSnapshotResponse(Message):
    """The follower's answer: it now holds everything up to `match_index`."""

    success: bool
    match_index: int
    seq: int

    def __str__(self) -> str:
        verdict = f"ok, match {self.match_index}" if self.success else "refused"
        return f"InstallSnapshotResponse(term {self.term}, {verdict})"


@attrs.frozen(kw_only=True)
class TimeoutNow(Message):
    """The leader hands over: the receiver should campaign at once (thesis §3.10)."""

    def __str__(self) -> str:
        return f"TimeoutNow(term {self.term})"
