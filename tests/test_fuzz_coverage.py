"""Coverage of a fuzz campaign (sim/check/fuzz/coverage.py): which protocol situations
the seeds reached, read from the notes' templates and arguments, merged over seeds and
printed as a table in which a situation never reached says so."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest
from conftest import raftsim

from raft import outputs
from raft.ballot_box import COMMITTED_MANY, COMMITTED_ONE
from raft.election import REFUSES
from raft.leadership import FIRST_OF_TERM
from raft.node import CAMPAIGNS, SEES_TERM, WON
from raft.read_only import LEASE_FALLS_BACK
from sim.check.fuzz import FuzzSettings, run_campaign, run_seed
from sim.check.fuzz.coverage import SITUATIONS, merge, scan
from sim.engine.trace import TraceEvent, row_of
from sim.engine.world import CRASHES


def rows(*notes: tuple) -> list[tuple]:
    """Trace rows (sim/engine/trace.py) from (node, template, *args) notes."""
    return [
        (i, i, node, "Node", "note", None, f"{node} ", template, *args)
        for i, (node, template, *args) in enumerate(notes)
    ]


def test_two_candidates_in_a_term_nobody_won_is_a_split_vote() -> None:
    split = rows(
        ("n1", CAMPAIGNS, 4),
        ("n2", CAMPAIGNS, 4),
        ("n1", CAMPAIGNS, 5),
        ("n2", CAMPAIGNS, 5),
        ("n2", WON, 5, "n2, n3", "2 of 3"),
    )
    assert scan(split)["split-vote"] == 1  # term 4; term 5 had a winner


def test_a_leader_that_sees_a_higher_term_steps_down_on_it() -> None:
    found = scan(
        rows(
            ("n1", WON, 2, "n1, n2", "2 of 3"),
            ("n1", SEES_TERM, 3, 2, "RequestVote", "n3"),
            ("n2", SEES_TERM, 3, 2, "RequestVote", "n3"),
        )
    )
    assert found["step-down-higher-term"] == 1  # n2 was no leader


def test_entries_of_earlier_terms_committed_beneath_the_leaders_first_entry() -> None:
    acks = ("n1, n2", 2, 3, "2 of 3")
    found = scan(
        rows(
            ("n1", WON, 3, "n1, n2", "2 of 3"),
            ("n1", FIRST_OF_TERM, "n1,n2,n3", 6, 3),
            ("n1", COMMITTED_MANY, 4, 6, *acks),
            ("n1", COMMITTED_ONE, 7, 7, *acks),
        )
    )
    assert found["old-term-committed-beneath"] == 1


def test_a_crash_counts_only_when_it_lost_unflushed_writes() -> None:
    found = scan(rows(("n1", CRASHES, "n1", "none", 0), ("n2", CRASHES, "n2", "entry 4@2", 1)))
    assert found["crash-lost-writes"] == 1


def test_refusals_are_told_apart_by_their_reasons_read_as_arguments() -> None:
    lapsed = "no quorum answered within 135 ms, the lease has lapsed"
    found = scan(
        rows(
            ("n1", REFUSES, "vote", "n2", 3, "candidate's log ends at 4 < 5 (Raft §5.4.1)"),
            ("n1", REFUSES, "pre-vote", "n2", 3, "leader n3 was heard 12 ms ago"),
            ("n1", REFUSES, "pre-vote", "n2", 3, "its term 3 < our term 4"),
            ("n1", LEASE_FALLS_BACK, "k1", lapsed),
            ("n1", LEASE_FALLS_BACK, "k1", "a leadership transfer is under way"),
        )
    )
    assert found == {"vote-refused-log": 1, "prevote-refused": 1, "lease-lapsed": 1}


def test_a_row_kept_as_text_matches_no_template() -> None:
    """A trace read back from JSON holds sentences, not templates: coverage reads none."""
    text = "n1 becomes leader of term 2 with votes from n1, n2 (quorum 2 of 3)"
    assert scan([row_of(TraceEvent(0, 0, "n1", "Node", "leader", text))]) == {}


def test_merging_counts_times_and_seeds_and_lists_every_situation() -> None:
    merged = merge([{"truncate": 2}, {"truncate": 1, "split-vote": 1}, {}])
    assert list(merged) == list(SITUATIONS)
    assert merged["truncate"] == (3, 2)
    assert merged["split-vote"] == (1, 1)
    assert merged["leader-removed"] == (0, 0)


def test_a_campaign_reaches_nearly_every_situation_and_each_seed_carries_its_counts() -> None:
    """Also guards the templates coverage looks up: a note that stopped using its named
    template (or a reason that lost its named ending) makes its situation 'never' here.
    One, a leader removed from the configuration, is rare enough to need a longer
    campaign (a few in 200 seeds)."""
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


# -- counted as the notes are made, equal to a scan of the full trace ----------------------

CLEAN = FuzzSettings(duration=3)
# Per setting, the seeds run both ways. The last seeds are among the few that commit a
# joint configuration or remove the leader (a few in a hundred).
WIDE: dict[str, tuple[FuzzSettings, Sequence[int]]] = {
    "clean": (CLEAN, range(12)),
    "old-term commit": (FuzzSettings(duration=3, bugs=("commit_old_term",)), range(12)),
    "no truncate": (
        FuzzSettings(duration=3, bugs=("no_truncate",), checkers="safety"),
        range(12),
    ),
    "stale reads": (FuzzSettings(duration=3, unsafe_reads=True), range(12)),
    "lease after transfer": (FuzzSettings(duration=3, bugs=("lease_after_transfer",)), range(12)),
    "three nodes": (FuzzSettings(duration=3, nodes=3), range(12)),
    "membership": (CLEAN, (41, 66, 116, 209)),
}


@pytest.fixture(scope="module")
def watched_and_scanned() -> dict[str, list[tuple[int, dict[str, int], dict[str, int]]]]:
    """Per setting and seed: the coverage a campaign-mode run counted, and a scan of the
    same seed's full trace (plus the client outcomes, which come from the history)."""
    found = {}
    for name, (settings, seeds) in WIDE.items():
        runs = []
        for seed in seeds:
            off, full = run_seed(seed, settings), run_seed(seed, settings, trace="full")
            assert off.trace is None and full.trace is not None
            shown = scan(full.trace.rows)  # type: ignore[attr-defined]
            unknown = dict(off.result.coverage).get("client-unknown")
            if unknown:
                shown["client-unknown"] = unknown
            runs.append((seed, dict(off.result.coverage), shown))
        found[name] = runs
    return found


@pytest.mark.parametrize("name", WIDE)
def test_coverage_counted_without_the_trace_is_a_scan_of_the_full_trace(
    name, watched_and_scanned
) -> None:
    for seed, counted, shown in watched_and_scanned[name]:
        assert counted == shown, (name, seed)


def test_the_wide_comparison_reaches_every_situation(watched_and_scanned) -> None:
    """So that the equality above covers every rule: membership changes (joint, failed,
    the leader removed), transfers (done, timed out), reads, crashes, snapshots."""
    reached = {
        situation
        for runs in watched_and_scanned.values()
        for _, counted, _ in runs
        for situation in counted
    }
    assert reached == set(SITUATIONS)


def test_a_campaign_mode_seed_writes_no_sentence_out(monkeypatch) -> None:
    """Campaign mode makes the notes coverage reads but never writes one out: every
    module's `sentence` (the one function that fills a template) is made to raise."""

    def refuse(prefix: str, template: str, args: tuple) -> str:
        raise AssertionError(f"a sentence was written out: {template!r}")

    patched = [
        module
        for module in list(sys.modules.values())
        if getattr(module, "sentence", None) is outputs.sentence
    ]
    assert {"raft.outputs", "sim.engine.trace"} <= {m.__name__ for m in patched}
    for module in patched:
        monkeypatch.setattr(module, "sentence", refuse)
    verdicts = set()
    for name, (settings, seeds) in WIDE.items():
        for seed in seeds[:3]:
            result = run_seed(seed, settings).result
            assert result.verdict != "error", result.problem  # the patch raised in the run
            assert dict(result.coverage), name
            verdicts.add(result.verdict)
    assert {"ok", "violation"} <= verdicts  # failing seeds too, up to the verdict
    traced = run_seed(0, CLEAN, trace="full").trace
    assert traced is not None
    with pytest.raises(AssertionError, match="a sentence was written out"):
        list(traced)  # the patch holds: reading a trace writes its sentences out
