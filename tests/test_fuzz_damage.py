"""What a broken Figure 3 property lost, told in one sentence (sim/check/fuzz/damage.py),
and `--save` shrinking toward that damage rather than toward the rule that led to it.

The sentences are checked on the bug stories of tests/test_bugs.py, where what was
lost is known: Figure 8's overwrite, two leaders of one term, two histories under one
entry.
"""

from __future__ import annotations

from pathlib import Path

from conftest import raftsim
from test_bugs import FIRST_DAMAGE, conflicting_entry_kept, figure8, split_candidates

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


def test_save_shrinks_toward_the_damage_and_the_story_says_what_was_lost(tmp_path: Path) -> None:
    """With every checker on, seed 2 stops at the Leader Commit Rule, which loses nothing
    yet; without the rule checkers the same schedule goes on to Figure 8's damage."""
    result = raftsim(
        "fuzz", "--seeds", "1", "--first-seed", "2", "--duration", "5",
        "--bug", "commit_old_term", "--save", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "seed 2: Leader Commit Rule violated" in result.output
    assert "goes on to break Leader Completeness: minimizing that" in result.output
    assert "lost: index 1," in result.output
    text = (tmp_path / "fuzz-seed-2.scenario").read_text(encoding="utf-8")
    assert "title: Fuzz seed 2: Leader Completeness violated" in text
    assert "--checkers safety" in text
    assert "  What was lost: index 1, the configuration" in text
    assert "\n> Lost: index 1, " in text
    assert text.rstrip().endswith('expect violation "Leader Completeness"')
    replay = raftsim("run", str(tmp_path / "fuzz-seed-2.scenario"), "--quiet")
    assert replay.exit_code == 0 and replay.output.startswith("PASS"), replay.output
    fixed = tmp_path / "fixed.scenario"
    fixed.write_text(text.replace(" bugs=commit_old_term", ""), encoding="utf-8")
    assert raftsim("run", str(fixed), "--quiet").exit_code == 1


def test_the_fuzzer_finds_a_lease_kept_after_timeout_now_and_tells_it_as_a_story(
    tmp_path: Path,
) -> None:
    """The first seed that catches lease_after_transfer shrinks to the story an adversary
    once told by hand: a held TimeoutNow lands late on a leader that hears no one, the
    new leader acknowledges a write, and a lease read at the old one misses it."""
    seed = str(FIRST_DAMAGE["lease_after_transfer"][0])
    result = raftsim(
        "fuzz", "--seeds", "1", "--first-seed", seed, "--duration", "5",
        "--bug", "lease_after_transfer", "--checkers", "safety", "--save", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"seed {seed}: linearizability violated" in result.output
    text = (tmp_path / f"fuzz-seed-{seed}.scenario").read_text(encoding="utf-8")
    steps = [line.split("  #")[0] for line in text.splitlines()]
    kinds = [step.split()[0] for step in steps if step.split()[:1]]
    for kind in ("transfer", "hold", "cut", "release", "submit", "read"):
        assert kind in kinds, text
    assert kinds.index("hold") < kinds.index("release") < kinds.index("read")
    assert any(step.startswith("read ") and "mode=lease" in step for step in steps)
    replay = raftsim("run", str(tmp_path / f"fuzz-seed-{seed}.scenario"), "--quiet")
    assert replay.exit_code == 1, replay.output  # the story ends by judging the history
    assert ": expect linearizable: " in replay.output.splitlines()[0]
    fixed = tmp_path / "fixed.scenario"
    fixed.write_text(text.replace(" bugs=lease_after_transfer", ""), encoding="utf-8")
    assert raftsim("run", str(fixed), "--quiet").exit_code == 0  # the fix refuses the read
