"""Coverage of a fuzz campaign (sim/check/fuzz/coverage.py): which protocol situations
the seeds reached, read from the trace, merged over seeds and printed as a table in
which a situation never reached says so."""

from __future__ import annotations

from conftest import raftsim

from sim.check.fuzz import FuzzSettings, run_campaign
from sim.check.fuzz.coverage import SITUATIONS, merge, scan
from sim.engine.trace import TraceEvent, row_of


def rows(*notes: tuple[str, str, str]) -> list[tuple]:
    """Trace rows from (node, kind, text) notes."""
    return [
        row_of(TraceEvent(i, i, node, "Node", kind, text))
        for i, (node, kind, text) in enumerate(notes)
    ]


def test_two_candidates_in_a_term_nobody_won_is_a_split_vote() -> None:
    split = rows(
        ("n1", "campaign", "n1 becomes candidate for term 4, votes for itself"),
        ("n2", "campaign", "n2 becomes candidate for term 4, votes for itself"),
        ("n1", "campaign", "n1 becomes candidate for term 5, votes for itself"),
        ("n2", "campaign", "n2 becomes candidate for term 5, votes for itself"),
        ("n2", "leader", "n2 becomes leader of term 5 with votes from n2, n3"),
    )
    assert scan(split)["split-vote"] == 1  # term 4; term 5 had a winner


def test_a_leader_that_sees_a_higher_term_steps_down_on_it() -> None:
    found = scan(
        rows(
            ("n1", "leader", "n1 becomes leader of term 2 with votes from n1, n2"),
            ("n1", "term", "n1 sees term 3 > 2 in RequestVote from n3 -> follower of term 3"),
            ("n2", "term", "n2 sees term 3 > 2 in RequestVote from n3 -> follower of term 3"),
        )
    )
    assert found["step-down-higher-term"] == 1  # n2 was no leader


def test_entries_of_earlier_terms_committed_beneath_the_leaders_first_entry() -> None:
    found = scan(
        rows(
            ("n1", "leader", "n1 becomes leader of term 3 with votes from n1, n2"),
            ("n1", "leader", "n1 appends configuration n1,n2,n3 as entry 6, the first of term 3"),
            ("n1", "commit", "n1 BallotBox: indexes 4..6 acknowledged by n1, n2 -> committed"),
            ("n1", "commit", "n1 BallotBox: index 7 acknowledged by n1, n2 -> committed"),
        )
    )
    assert found["old-term-committed-beneath"] == 1


def test_a_crash_counts_only_when_it_lost_unflushed_writes() -> None:
    crash = "{} crashes: volatile state gone; unflushed writes lost: {}; 0 message(s) lost"
    found = scan(
        rows(
            ("n1", "crash", crash.format("n1", "none")),
            ("n2", "crash", crash.format("n2", "entry 4@2")),
        )
    )
    assert found["crash-lost-writes"] == 1


def test_merging_counts_times_and_seeds_and_lists_every_situation() -> None:
    merged = merge([{"truncate": 2}, {"truncate": 1, "split-vote": 1}, {}])
    assert list(merged) == list(SITUATIONS)
    assert merged["truncate"] == (3, 2)
    assert merged["split-vote"] == (1, 1)
    assert merged["leader-removed"] == (0, 0)


def test_a_campaign_reaches_nearly_every_situation_and_each_seed_carries_its_counts() -> None:
    """Also guards the sentences raft's notes use: a reworded note makes its situation
    'never' here. One, a leader removed from the configuration, is rare enough to need a
    longer campaign (a few in 200 seeds)."""
    results = run_campaign(range(60), FuzzSettings(duration=4))
    merged = merge(dict(r.coverage) for r in results)
    never = {name for name, (times, _) in merged.items() if not times}
    assert never <= {"leader-removed"}
    assert all(name in SITUATIONS for r in results for name, _ in r.coverage)


def test_the_campaign_prints_a_coverage_table_with_every_situation() -> None:
    result = raftsim("fuzz", "--seeds", "2", "--duration", "1", "--nodes", "3")
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("coverage") :]
    assert "never" in table  # two short seeds cannot reach everything
    flat = " ".join(table.split())
    for words in SITUATIONS.values():
        assert words.split("(")[0].strip() in flat
