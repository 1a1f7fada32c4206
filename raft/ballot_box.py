"""The BallotBox: counts acknowledgements and decides the commit index.

Theory of operation (sofa-jraft's BallotBox): on a leader, every voter's
highest durable index (its match index, the leader's own durable index for
itself) is a ballot for every entry up to it. An index is committed once a
quorum of the configuration has acknowledged it, and committing index i
commits everything before it.

Raft §5.4.2 (Figure 8): a leader may only commit entries of its own term by
counting replicas. As in jraft this holds by construction: a new leader sets
`pending_index` to its first index of the new term, and nothing below it is
ever committed by counting; older entries commit as a prefix of the first
entry of the leader's term.

On followers the BallotBox only records the commit index the leader reports.
Invariant: commit_index never decreases.
"""

from __future__ import annotations

from collections.abc import Callable

from raft.configuration import Configuration
from raft.outputs import Outbox

# The leader's commit note, its arguments (first, last, voters, count, voters in all,
# quorum) the same for one index and for a run of them, so a reader of the trace
# (sim/show/explain.py) finds what was committed without parsing the sentence.
COMMITTED_ONE = "index {1} acknowledged by {2} ({3} of {4}, quorum {5}) -> committed"
COMMITTED_MANY = "indexes {0}..{1} acknowledged by {2} ({3} of {4}, quorum {5}) -> committed"
# An entry of an earlier term held back (index, voters holding it, the leader's first).
DECLINES = (
    "index {} is on a quorum ({}) but comes before this leader's first entry {}: "
    "not committed by counting replicas (Raft §5.4.2); it will commit beneath that entry"
)


class BallotBox:
    """Commit bookkeeping for one node."""

    def __init__(
        self,
        outbox: Outbox,
        on_committed: Callable[[int, int], None],
        bugs: frozenset[str] = frozenset(),
    ) -> None:
        self._outbox = outbox
        self._bugs = bugs
        self._on_committed = on_committed
        self.commit_index = 0
        # 0 while not leading; otherwise the leader's first index of its term.
        self.pending_index = 0
        self._acked: dict[str, int] = {}
        self._conf: Configuration | None = None
        self._declined = 0  # highest old-term index already reported as not committable

    def reset_pending_index(self, pending_index: int, conf: Configuration) -> None:
        """A new leader starts counting from its first entry of the new term."""
        self.pending_index = pending_index
        self._acked = {}
        self._conf = conf
        self._declined = 0

    def clear_pending(self) -> None:
        """Stepping down: stop counting."""
        self.pending_index = 0
        self._acked = {}
        self._conf = None

    def set_configuration(self, conf: Configuration, now: int) -> None:
        """The leader's configuration changed; recount with the new quorum."""
        self._conf = conf
        self._recount(now)

    def commit_at(self, voter: str, match_index: int, now: int) -> None:
        """`voter` has made every entry up to `match_index` durable."""
        if self.pending_index == 0 or match_index <= self._acked.get(voter, 0):
            return
        self._acked[voter] = match_index
        if match_index > self.commit_index:
            self._recount(now)

    def set_last_committed_index(self, index: int, now: int) -> None:
        """Follower side: the leader says `index` is committed."""
        if index > self.commit_index:
            self._outbox.note(
                "BallotBox", "commit", "leader says entries up to {} are committed", (index,)
            )
            self.commit_index = index
            self._on_committed(index, now)

    def _recount(self, now: int) -> None:
        assert self._conf is not None
        conf = self._conf
        if "joint_new_quorum_only" in self._bugs and conf.is_joint:
            conf = Configuration(voters=conf.voters)  # BUG SWITCH joint_new_quorum_only
        candidate = conf.committed_index(self._acked)
        if candidate <= self.commit_index:
            return
        voters = [v for v in self._conf.all_voters if self._acked.get(v, 0) >= candidate]
        # BUG SWITCH commit_old_term skips this rule.
        if candidate < self.pending_index and "commit_old_term" not in self._bugs:
            # Raft §5.4.2: never commit by counting below the leader's own term.
            if candidate > self._declined:
                self._declined = candidate
                self._outbox.note(
                    "BallotBox",
                    "decline",
                    DECLINES,
                    (candidate, ", ".join(voters), self.pending_index),
                )
            return
        first = self.commit_index + 1
        self._outbox.note(
            "BallotBox",
            "commit",
            COMMITTED_ONE if first == candidate else COMMITTED_MANY,
            (
                first,
                candidate,
                ", ".join(voters),
                len(voters),
                len(self._conf.all_voters),
                self._conf.quorum_text(),
            ),
        )
        self.commit_index = candidate
        self._on_committed(candidate, now)
