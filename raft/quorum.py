"""Quorum arithmetic as plain functions on plain data.

Theory of operation: Raft decides two things by majority, which index is
committed (Raft §5.3, §5.4) and who won an election (§5.2). Both reduce to
"does a majority of these voters agree?". While a membership change is joint
(Raft §6, thesis §4.3) both the old and the new voter sets must agree, so each
function has a joint variant that takes the weaker of the two answers.

These functions know nothing of nodes, terms or messages, so they can be
checked exhaustively against a brute-force oracle (see tests/test_quorum.py).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping


class VoteResult(enum.Enum):
    """Outcome of counting votes so far."""

    WON = "won"
    LOST = "lost"
    PENDING = "pending"


def majority(n: int) -> int:
    """Smallest number of voters out of `n` that forms a majority."""
    return n // 2 + 1


def committed_index(voters: Collection[str], acked: Mapping[str, int]) -> int:
    """Largest index that a majority of `voters` has acknowledged.

    `acked` maps a voter to the highest index it has made durable; voters that
    are missing count as having acknowledged nothing (index 0).
    """
    if not voters:
        raise ValueError("a configuration needs at least one voter")
    indexes = sorted([acked.get(v, 0) for v in voters], reverse=True)
    return indexes[majority(len(voters)) - 1]


def joint_committed_index(
    old: Collection[str], new: Collection[str], acked: Mapping[str, int]
) -> int:
    """Largest index acknowledged by a majority of `old` and of `new`."""
    return min(committed_index(old, acked), committed_index(new, acked))


def vote_result(voters: Collection[str], votes: Mapping[str, bool]) -> VoteResult:
    """Count `votes` (voter -> granted?) among `voters`; other entries are ignored."""
    if not voters:
        raise ValueError("a configuration needs at least one voter")
    need = majority(len(voters))
    granted = sum(1 for v in voters if votes.get(v) is True)
    refused = sum(1 for v in voters if votes.get(v) is False)
    if granted >= need:
        return VoteResult.WON
    if len(voters) - refused < need:
        return VoteResult.LOST
    return VoteResult.PENDING


def joint_vote_result(
    old: Collection[str], new: Collection[str], votes: Mapping[str, bool]
) -> VoteResult:
    """An election while joint is won only if both voter sets elect the candidate."""
    results = (vote_result(old, votes), vote_result(new, votes))
    if VoteResult.LOST in results:
        return VoteResult.LOST
    if results == (VoteResult.WON, VoteResult.WON):
        return VoteResult.WON
    return VoteResult.PENDING
