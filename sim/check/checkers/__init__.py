"""Safety checkers, run incrementally as the world changes.

Theory of operation: the world tells checkers what happens as it happens (a
message delivered or sent, a disk write queued or made durable, a command
applied, a node started, a node done with an input; see `Checker`). Each
checker keeps only what it needs to judge the next change, so checking costs
work proportional to what changed, never a rescan of history. What it finds
is a `Violation`, one sentence naming the property, the nodes and the values;
the world records it in the trace as an alarm and carries on, so a learner can
watch the damage (a strict Cluster raises `SafetyViolation` instead).

The checkers cover the five properties of the Raft paper's Figure 3
(sim/check/checkers/figure3.py), the Figure 2 rules they rest on
(sim/check/checkers/figure2.py), what snapshots carry (Raft §7,
sim/check/checkers/snapshots.py), and the contact between a leader and its
followers: match indexes only grow, and PreVote respects a live leader
(sim/check/checkers/leader_contact.py). `CHECKERS` names them for
`Cluster(checkers=...)`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.check.checkers.base import Checker, SafetyViolation, Violation, overriding
from sim.check.checkers.figure2 import (
    FollowerAcknowledgements,
    IndexOrder,
    LeaderCommitRule,
    OneVotePerTerm,
    PersistBeforeResponding,
    PersistedStateSurvivesRestart,
    TermsNeverDecrease,
    UpToDateVote,
)
from sim.check.checkers.figure3 import (
    ElectionSafety,
    LeaderAppendOnly,
    LeaderCompleteness,
    LogMatching,
    StateMachineSafety,
)
from sim.check.checkers.leader_contact import MatchIndexOnlyGrows, PreVoteOnlyWithoutLeader
from sim.check.checkers.snapshots import SnapshotConfigurationCommitted, SnapshotStateAgreement

# Every checker, by the name `Cluster(checkers=[...])` takes, Figure 3 first.
CHECKERS: dict[str, type[Checker]] = {
    "election_safety": ElectionSafety,
    "leader_append_only": LeaderAppendOnly,
    "log_matching": LogMatching,
    "leader_completeness": LeaderCompleteness,
    "state_machine_safety": StateMachineSafety,
    "terms_never_decrease": TermsNeverDecrease,
    "persist_before_responding": PersistBeforeResponding,
    "one_vote_per_term": OneVotePerTerm,
    "up_to_date_vote": UpToDateVote,
    "follower_acknowledgements": FollowerAcknowledgements,
    "leader_commit_rule": LeaderCommitRule,
    "index_order": IndexOrder,
    "persisted_state": PersistedStateSurvivesRestart,
    "snapshot_state": SnapshotStateAgreement,
    "snapshot_configuration": SnapshotConfigurationCommitted,
    "match_index_grows": MatchIndexOnlyGrows,
    "pre_vote_leader_alive": PreVoteOnlyWithoutLeader,
}


def default_checkers() -> list[Checker]:
    """The checkers every world runs: all of them."""
    return [checker() for checker in CHECKERS.values()]


def make_checkers(choice: str | Iterable[str]) -> list[Checker]:
    """Checkers for `Cluster(checkers=...)`: "all", "none", or names from `CHECKERS`
    (a list, or one string with commas)."""
    if choice == "all":
        return default_checkers()
    if choice == "none":
        return []
    if isinstance(choice, str):
        choice = choice.split(",")
    names = list(choice)
    unknown = [name for name in names if name not in CHECKERS]
    if unknown:
        raise ValueError(
            f"unknown checker {', '.join(map(repr, unknown))}; use 'all', 'none' or names "
            f"from: {', '.join(CHECKERS)}"
        )
    return [CHECKERS[name]() for name in dict.fromkeys(names)]


__all__ = [
    "CHECKERS",
    "Checker",
    "ElectionSafety",
    "FollowerAcknowledgements",
    "IndexOrder",
    "LeaderAppendOnly",
    "LeaderCommitRule",
    "LeaderCompleteness",
    "LogMatching",
    "MatchIndexOnlyGrows",
    "OneVotePerTerm",
    "PersistBeforeResponding",
    "PersistedStateSurvivesRestart",
    "PreVoteOnlyWithoutLeader",
    "SafetyViolation",
    "SnapshotConfigurationCommitted",
    "SnapshotStateAgreement",
    "StateMachineSafety",
    "TermsNeverDecrease",
    "UpToDateVote",
    "Violation",
    "default_checkers",
    "make_checkers",
    "overriding",
]
