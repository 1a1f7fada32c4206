"""Clients and swarm testing in the fault campaign: every seed draws its own mix
(sim/check/fuzz/swarm.py) and runs simulated clients whose history must be linearizable
(sim/check/fuzz/clients.py); `--checkers safety` keeps only the consequence checkers.

The schedule is a function of the seed alone: never of the bug switches or the checkers,
so a bug's damage and a fixed bug's silence are told by the same schedule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import raftsim

from raft.bugs import BUGS
from sim.check.checkers import CHECKERS, Checker
from sim.check.fuzz import FuzzSettings, generate, minimize, run_campaign, run_seed, scenario_text
from sim.check.fuzz.run import LINEARIZABILITY, SAFETY_CHECKERS, VIOLATION, _Executor
from sim.check.fuzz.swarm import SIZES, draw_profile

SEEDS = range(40)


# -- the schedule is the seed's alone --------------------------------------------------


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_bug_switch_never_changes_the_schedule(bug: str) -> None:
    for seed in range(12):
        clean = generate(seed, FuzzSettings(duration=5))
        buggy = generate(seed, FuzzSettings(duration=5, bugs=(bug,), checkers="safety"))
        assert (buggy.profile, buggy.actions) == (clean.profile, clean.actions)


def test_each_seed_draws_its_own_size_features_faults_and_clients() -> None:
    profiles = [draw_profile(seed) for seed in SEEDS]
    assert {p.nodes for p in profiles} == set(range(SIZES[0], SIZES[1] + 1))
    for feature in ("pre_vote", "check_quorum"):
        assert {p.options[feature] for p in profiles} == {True, False}
    assert len({p.options["flush_delay"] for p in profiles}) > 2
    kinds = [len(p.faults) for p in profiles]
    assert min(kinds) <= 6 and max(kinds) >= 12  # some seeds hammer a few kinds of fault
    assert any(not any(k in ("add", "remove", "swap") for k, _ in p.faults) for p in profiles)
    assert len({p.read_modes for p in profiles}) > 3


def test_nodes_given_pins_the_size_and_changes_nothing_else() -> None:
    for seed in range(10):
        free, pinned = draw_profile(seed), draw_profile(seed, nodes=4)
        assert pinned.nodes == 4
        assert pinned.options == free.options and pinned.faults == free.faults


def test_lease_reads_need_check_quorum_and_local_reads_need_asking() -> None:
    for seed in SEEDS:
        profile = draw_profile(seed)
        assert "local" not in profile.read_modes
        if not profile.options["check_quorum"]:
            assert "lease" not in profile.read_modes
        assert draw_profile(seed, unsafe_reads=True).read_modes[-1] == "local"


# -- client operations -------------------------------------------------------------------


def test_client_operations_are_scheduled_and_recorded_as_replayable_steps() -> None:
    seed = next(
        s
        for s in SEEDS
        if "read_index" in draw_profile(s).read_modes and dict(draw_profile(s).operations)["get"]
    )
    execution = run_seed(seed, FuzzSettings(duration=3))
    ops = [a for a in execution.schedule.actions if a.kind == "client"]
    assert {a.value.kind for a in ops} >= {"get"}
    steps = [line.text for line in execution.lines if line.number in {a.number for a in ops}]
    assert any(text.startswith("submit c") for text in steps)
    assert any(" mode=read_index" in text and text.startswith("read c") for text in steps)
    assert execution.result.operations == len(ops)


def test_a_clean_campaign_with_clients_checks_their_histories_and_finds_nothing() -> None:
    result = raftsim("fuzz", "--seeds", "30", "--duration", "3")
    assert result.exit_code == 0, result.output
    assert "no failures in 30 seeds" in result.output
    line = next(x for x in result.output.splitlines() if "client operations checked" in x)
    operations = int(line.split()[0].replace(",", ""))
    assert operations > 100
    assert line.endswith("in 30 seeds: all linearizable")


def test_local_reads_under_partitions_are_caught_as_stale_reads() -> None:
    """Unsafe on purpose: a node cut off from the leader answers from its own state."""
    results = run_campaign(range(10), FuzzSettings(duration=3, unsafe_reads=True))
    caught = [r for r in results if r.failed]
    assert caught and all((r.verdict, r.kind) == (VIOLATION, LINEARIZABILITY) for r in caught)
    assert "not linearizable" in caught[0].problem  # type: ignore[operator]


def test_a_stale_read_shrinks_to_a_story_that_ends_by_judging_the_history() -> None:
    settings = FuzzSettings(duration=3, unsafe_reads=True)
    failing = next(e for s in range(10) if (e := run_seed(s, settings)).result.failed)
    shrunk = minimize(failing)
    assert shrunk.execution.result.same_failure(failing.result)
    assert len(shrunk.schedule.actions) <= 4  # a write, perhaps a fault, the stale read
    text = scenario_text(shrunk.execution)
    assert f"title: Fuzz seed {failing.result.seed}: linearizability violated" in text
    assert "--unsafe-reads" in text
    told, last = text.rstrip().splitlines()[-2:]
    assert last == "expect linearizable"
    assert told.startswith("> When the fuzzer ran it, c") and " read " in told
    assert " mode=local on n" in text


def test_a_saved_stale_read_fails_its_replay_with_the_checker_explaining_why(
    tmp_path: Path,
) -> None:
    """The saved story ends with `expect linearizable`: its replay fails (exit 1) where
    the fuzzer's did, and passes once reads are safe again."""
    result = raftsim(
        "fuzz", "--seeds", "1", "--first-seed", "3", "--duration", "3", "--unsafe-reads",
        "--save", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "seed 3: linearizability violated" in result.output
    saved = tmp_path / "fuzz-seed-3.scenario"
    replay = raftsim("run", str(saved), "--quiet")
    assert replay.exit_code == 1, replay.output
    first = replay.output.splitlines()[0]
    assert first.startswith(f"FAIL {saved}:") and ": expect linearizable: " in first
    assert "Key 'y' is not linearizable: " in replay.output
    assert "get y returned nothing (client c55" in replay.output
    safe = tmp_path / "safe.scenario"
    text = saved.read_text(encoding="utf-8")
    safe.write_text(text.replace(" mode=local ", " mode=read_index "), encoding="utf-8")
    assert raftsim("run", str(safe), "--quiet").exit_code == 0


def test_the_failing_line_names_the_checker_that_caught_it() -> None:
    result = raftsim("fuzz", "--seeds", "8", "--duration", "3", "--unsafe-reads")
    assert result.exit_code == 1, result.output
    failing = [line for line in result.output.splitlines() if line.startswith("seed ")]
    seed = failing[0].split()[1].rstrip(":")
    assert failing[0].startswith(f"seed {seed}: linearizability violated: Key ")
    assert f"raftsim fuzz --seeds 1 --first-seed {seed} --duration 3 --unsafe-reads" in (
        result.output
    )


# -- which checkers -------------------------------------------------------------------------


def checkers_built(settings: FuzzSettings) -> set[str]:
    world = _Executor(generate(0, settings)).cluster._world
    return {type(o).__name__ for o in world.observers if isinstance(o, Checker)}


def test_checkers_safety_builds_only_the_five_figure_3_checkers() -> None:
    figure3 = {CHECKERS[name].__name__ for name in SAFETY_CHECKERS}
    assert figure3 == {
        "ElectionSafety",
        "LeaderAppendOnly",
        "LogMatching",
        "LeaderCompleteness",
        "StateMachineSafety",
    }
    assert checkers_built(FuzzSettings(duration=1, checkers="safety")) == figure3
    every = checkers_built(FuzzSettings(duration=1))
    assert every == {cls.__name__ for cls in CHECKERS.values()} and every > figure3


def test_checkers_other_than_safety_or_all_are_bad_input() -> None:
    result = raftsim("fuzz", "--checkers", "some")
    assert result.exit_code == 2
    assert "raftsim fuzz: " in result.output and "'some' is not one of" in result.output
