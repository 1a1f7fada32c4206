"""Every story in scenarios/ still tells the same story, and all its expectations hold.

Each scenario is replayed and its narrated transcript (plain text, 100 columns,
no colour) compared with the one recorded in tests/transcripts/<name>.txt. After
an intended change to the simulator or to a scenario, look at the differences,
then re-record with

    RAFTSIM_RECORD=1 python -m pytest tests/test_scenarios.py

and review the new transcripts with `git diff tests/transcripts` before committing.
"""

from __future__ import annotations

import difflib
import io
import os
from pathlib import Path

import attrs
import pytest
from rich.console import Console

from sim.scenario import Chapter, entries, load, run_scenario

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios"
TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
SCENARIOS = sorted(LIBRARY.glob("*.scenario"))
RECORD = os.environ.get("RAFTSIM_RECORD") == "1"
RECORD_HINT = "RAFTSIM_RECORD=1 python -m pytest tests/test_scenarios.py"


def transcript(path: Path, **options: object) -> tuple[int, str]:
    """Run a scenario as `raftsim run` would; the exit code and the plain-text output."""
    scenario = attrs.evolve(load(path), path=f"scenarios/{path.name}")
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, highlight=False, emoji=False)
    outcome = run_scenario(scenario, console, **options)  # type: ignore[arg-type]
    # Trailing blanks (rich pads wrapped lines) would not survive editors and review tools.
    text = "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
    return outcome.code, text


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_holds_and_matches_its_recorded_transcript(path: Path) -> None:
    code, text = transcript(path)
    assert code == 0, f"{path.name} no longer holds:\n{text[-3000:]}"
    recorded = TRANSCRIPTS / f"{path.stem}.txt"
    if RECORD:
        recorded.write_text(text, encoding="utf-8")
    if not recorded.exists():
        pytest.fail(f"no transcript recorded for {path.name}: record it with {RECORD_HINT}")
    expected = recorded.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(),
            text.splitlines(),
            f"recorded {recorded.name}",
            "this run",
            n=2,
            lineterm="",
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(
            f"{path.name} tells a different story than recorded. If the change is intended, "
            f"re-record with {RECORD_HINT}\n{shown}"
        )


def test_every_transcript_belongs_to_a_scenario() -> None:
    stale = {p.stem for p in TRANSCRIPTS.glob("*.txt")} - {p.stem for p in SCENARIOS}
    assert stale == set(), f"transcripts without a scenario: {sorted(stale)}"


def test_the_library_has_the_promised_stories() -> None:
    """The stories the README promises (a bug demonstration among them)."""
    names = {p.stem for p in SCENARIOS}
    assert {
        "leader-election",
        "split-vote",
        "leader-crash",
        "log-replication",
        "slow-follower",
        "figure7-divergent-logs",
        "partitioned-leader",
        "asymmetric-partition-without-prevote",
        "asymmetric-partition-with-prevote",
        "figure8-overwrite",
        "figure8-commit",
        "crash-before-flush",
        "check-quorum",
        "membership-change",
        "removed-server",
        "leader-transfer",
        "snapshot-install",
        "read-modes",
        "lease-read-after-transfer",
        "add-under-partition",
    } <= names


@pytest.mark.parametrize(
    "story, target, broken, line",
    [
        # A server created under a partition belongs to no group: it never catches up.
        (
            "add-under-partition",
            "sim.engine.network.Network.join",
            lambda self, node: None,
            "run until done grow timeout=3s: expected grow done within 3s, actual grow failed",
        ),
    ],
)
def test_each_fixed_bug_s_story_fails_with_the_bug_put_back(
    monkeypatch, story, target, broken, line
) -> None:
    monkeypatch.setattr(target, broken)
    path = LIBRARY / f"{story}.scenario"
    outcome = run_scenario(load(path), Console(file=io.StringIO()), quiet=True)
    assert outcome.code == 1
    assert line in str(outcome.failure), outcome.failure


def test_the_lease_story_fails_with_its_bug_switch_on() -> None:
    """With `lease_after_transfer` the old leader keeps its lease after sending
    TimeoutNow: its lease read answers 1 after a client saw 2."""
    scenario = load(LIBRARY / "lease-read-after-transfer.scenario")
    buggy = attrs.evolve(scenario, options={**scenario.options, "bugs": ("lease_after_transfer",)})
    outcome = run_scenario(buggy, Console(file=io.StringIO()), quiet=True)
    assert outcome.code == 1
    assert "expect read r3 pending: expected r3 pending, actual r3 read x=1 at n1" in str(
        outcome.failure
    )


def test_every_scenario_has_a_title_summary_chapters_and_expectations() -> None:
    listed = {entry.path.name: entry for entry in entries(LIBRARY)}
    assert sorted(listed) == [p.name for p in SCENARIOS]
    for path in SCENARIOS:
        entry = listed[path.name]
        assert entry.error is None, entry.error
        assert entry.title and len(entry.summary) > 40, path.name
        scenario = load(path)
        assert any(isinstance(step, Chapter) for step in scenario.steps), path.name
        assert scenario.expectations >= 3, path.name


def test_a_scenario_replays_byte_for_byte() -> None:
    """Determinism: the same file gives the same transcript, run after run."""
    path = LIBRARY / "partitioned-leader.scenario"
    assert transcript(path) == transcript(path)


def test_until_stops_after_the_chapter_named() -> None:
    code, text = transcript(LIBRARY / "leader-crash.scenario", until="leader crashes")
    assert code == 0
    assert "stopped after step 12 (--until leader crashes)" in text
    assert "[12] expect role n3 down  ok" in text
    assert "[13]" not in text
    assert "6 expectations checked so far hold" in text


def test_verbose_shows_every_message_and_quiet_only_the_verdict() -> None:
    path = LIBRARY / "leader-election.scenario"
    _, story = transcript(path)
    _, verbose = transcript(path, verbose=True)
    _, quiet = transcript(path, quiet=True)
    assert "receives RequestVote" not in story
    assert "n2 receives RequestVote(term 1, last log 0@0) from n3" in verbose
    assert quiet.splitlines() == [
        "PASS scenarios/leader-election.scenario: all 9 expectations hold "
        "(0.304 simulated seconds, 81 events)"
    ]
