"""Cluster configuration: who votes, who only listens.

Theory of operation: a configuration is a value. While stable it is one voter
set; while joint (a membership change in progress) it carries the old voter set
too, and every decision needs a majority of both. Learners receive the log but
never vote and never count towards a commit. As in sofa-jraft, a node uses the
latest configuration in its log, committed or not (Raft §6: a configuration
takes effect when it is appended).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from raft import quorum


def _sorted_ids(ids: Iterable[str]) -> tuple[str, ...]:
    # Sorted so that iteration order never depends on how the caller built it.
    return tuple(sorted(set(ids), key=_id_key))


def _optional_ids(ids: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if ids is None else _sorted_ids(ids)


def _id_key(node_id: str) -> tuple[str, int, str]:
    # "n10" sorts after "n9": split a trailing number off for natural order.
    head = node_id.rstrip("0123456789")
    tail = node_id[len(head) :]
    return (head, int(tail) if tail else -1, node_id)


def sort_ids(ids: Iterable[str]) -> list[str]:
    """Node ids in natural order (n1, n2, ..., n10)."""
    return sorted(ids, key=_id_key)


@attrs.frozen
class Configuration:
    """Voters (and, while joint, the old voters) plus non-voting learners."""

    voters: tuple[str, ...] = attrs.field(converter=_sorted_ids)
    learners: tuple[str, ...] = attrs.field(default=(), converter=_sorted_ids)
    old_voters: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_ids)

    @property
    def is_joint(self) -> bool:
        return self.old_voters is not None

    # Derived once, since commit and vote counting read them on every acknowledgement.
    all_voters: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    members: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        all_voters = _sorted_ids((*self.voters, *(self.old_voters or ())))
        # Every node whose vote or acknowledgement counts, old and new.
        object.__setattr__(self, "all_voters", all_voters)
        # Every node that should receive the log: voters, old voters, learners.
        object.__setattr__(self, "members", _sorted_ids((*all_voters, *self.learners)))

    def is_voter(self, node_id: str) -> bool:
        return node_id in self.voters or node_id in (self.old_voters or ())

    def committed_index(self, acked: Mapping[str, int]) -> int:
        """Largest index acknowledged by a quorum (both quorums while joint)."""
        if self.old_voters is not None:
            return quorum.joint_committed_index(self.old_voters, self.voters, acked)
        return quorum.committed_index(self.voters, acked)

    def vote_result(self, votes: Mapping[str, bool]) -> quorum.VoteResult:
        """Election outcome so far (both quorums while joint)."""
        if self.old_voters is not None:
            return quorum.joint_vote_result(self.old_voters, self.voters, votes)
        return quorum.vote_result(self.voters, votes)

    def quorum_text(self) -> str:
        """How many acknowledgements a decision needs, for trace sentences."""
        new = f"{quorum.majority(len(self.voters))} of {len(self.voters)}"
        if self.old_voters is None:
            return new
        old = f"{quorum.majority(len(self.old_voters))} of {len(self.old_voters)}"
        return f"{old} (old) and {new} (new)"

    def __str__(self) -> str:
        text = "{" + ",".join(self.voters) + "}"
        if self.old_voters is not None:
            text = "{" + ",".join(self.old_voters) + "} + " + text
        if self.learners:
            text += " learners {" + ",".join(self.learners) + "}"
        return text
