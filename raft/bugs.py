"""Well-known Raft mistakes, switchable on purpose.

An educational simulator must show that its checkers are trusted: with a bug
switched on, they should catch the damage it does; with none, a long fault
campaign should find nothing. Each switch breaks exactly one rule, at one
place in the code marked `# BUG SWITCH <name>`.
"""

from __future__ import annotations

from collections.abc import Iterable

BUGS: dict[str, str] = {
    "commit_old_term": (
        "a leader commits an entry of an earlier term by counting replicas (Figure 8, §5.4.2)"
    ),
    "vote_before_persist": "a vote is granted before it is on disk, so a crash forgets it",
    "ack_before_flush": "a follower acknowledges entries before they are on disk",
    "no_truncate": "a follower keeps a conflicting entry instead of deleting the suffix (§5.3)",
    "vote_without_log_check": "votes are granted without the up-to-date check (§5.4.1)",
    "accept_stale_term": "a follower accepts AppendEntries from a leader of an older term (§5.1)",
    "apply_before_commit": "a follower applies entries as soon as it appends them",
    "joint_new_quorum_only": "while joint, commits count only the new voters (§6)",
    "double_vote": "a node votes for a second candidate in the same term (§5.2)",
    "lease_after_transfer": (
        "a leader that sent TimeoutNow keeps serving lease reads once its transfer gave up "
        "(thesis §3.10, §6.4.1)"
    ),
}


def check_bugs(names: Iterable[str]) -> frozenset[str]:
    """The named bug switches, or ValueError naming the unknown ones."""
    chosen = frozenset(names)
    unknown = sorted(chosen - BUGS.keys())
    if unknown:
        raise ValueError(
            f"unknown bug switch {', '.join(unknown)}; known: {', '.join(sorted(BUGS))}"
        )
    return chosen
