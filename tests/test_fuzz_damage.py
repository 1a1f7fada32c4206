"""What a broken Figure 3 property lost, told in one sentence (sim/check/fuzz/damage.py),
and `--save` shrinking toward that damage rather than toward the rule that led to it.

The sentences are checked on the bug stories of tests/test_bugs.py, where what was
lost is known: Figure 8's overwrite, two leaders of one term, two histories under one
entry.
"""

from __future__ import annotations

from test_bugs import conflicting_entry_kept, figure8, split_candidates

from sim.check.fuzz.damage import lost
from sim.cluster import Cluster
from sim.engine.observer import Violation


def told(cluster: Cluster, prop: str) -> str | None:
    violation = next(v for v in cluster.violations if v.property == prop)
    return lost(violation, cluster)


def test_figure_8_is_told_as_an_applied_entry_missing_from_the_next_leader() -> None:
    c = figure8(["commit_old_term"])
    assert told(c, "Leader Completeness") == (
        "index 2, 'set x 2' of term 2, committed by the leader of term 4 and applied by n1, "
        "is not in the log of n5, leader of term 5, whose entry 2 is 'set x 3' of term 3 "
        "(as on n2, n3 and n4)"
    )
    assert told(c, "State Machine Safety") == (
        "index 2 was applied as two different commands: 'set x 2' of term 2 by n1 and "
        "'set x 3' of term 3 by n2, n3, n4 and n5"
    )


def test_two_leaders_of_one_term_and_two_histories_under_one_entry_are_named() -> None:
    assert told(split_candidates(["double_vote"]), "Election Safety").startswith(
        "term 1 had two leaders, n1 and then n2"
    )
    assert told(conflicting_entry_kept(["no_truncate"]), "Log Matching") == (
        "entry 4 of term 4 sits on two different histories: after an entry of term 2 on n1, "
        "after one of term 3 on n2"
    )


def test_a_reworded_violation_loses_the_sentence_never_the_verdict() -> None:
    c = figure8(["commit_old_term"])
    reworded = Violation(property="Leader Completeness", time_us=0, nodes=("n5",), text="gone")
    assert lost(reworded, c) is None
    rule = next(v for v in c.violations if v.property == "Leader Commit Rule")
    assert lost(rule, c) is None  # a rule's own sentence says it all
