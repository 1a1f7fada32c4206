"""Campaign mode, `Cluster(trace="off")`: no sentences, and otherwise the very same run.

A fault campaign wants speed and the verdict, not the story; a failing seed is then
re-run with the full trace to be read, which only works if the trace changes nothing
but the trace.
"""

from __future__ import annotations

import random

import attrs
import pytest
from conftest import raftsim, visible_state
from test_random_faults import _inject_faults

from sim import Cluster
from sim.check.fuzz import Execution, FuzzSettings, generate, minimize, run_seed, scenario_text
from sim.check.fuzz.coverage import scan
from sim.check.fuzz.run import LINEARIZABILITY, Rerun, rerun, same_run
from sim.engine.observer import Observer


def campaign(seed: int, trace: str, bugs: tuple[str, ...] = ()) -> Cluster:
    """Faults, client writes, membership changes, transfers and snapshots on a lossy network."""
    rng = random.Random(seed)
    c = Cluster(
        5, seed=seed, bugs=bugs, drop=0.05, duplicate=0.05, snapshot_interval=10, trace=trace
    )
    _inject_faults(c, rng, rounds=60, admin=True)
    c.read("k1")
    c.run(0.5)
    return c


def outcome(c: Cluster) -> tuple:
    return (
        visible_state(c),
        [str(v) for v in c.violations],
        c.events_processed,
        [(f.msg_id, f.message, f.lands_us) for f in c.in_flight],
    )


@pytest.mark.parametrize("seed", range(3))
def test_a_run_without_the_trace_ends_exactly_where_the_traced_run_ends(seed: int) -> None:
    full, off = campaign(seed, "full"), campaign(seed, "off")
    assert len(full.trace) > 1000 and len(off.trace) == 0
    assert outcome(full) == outcome(off)


def test_violations_found_without_the_trace_are_the_same_and_the_traced_rerun_shows_them():
    full, off = (campaign(1, trace, bugs=("commit_old_term",)) for trace in ("full", "off"))
    assert off.violations, "the story must find something for this test to mean anything"
    assert outcome(full) == outcome(off)
    alarms = [e.text for e in full.trace if e.kind == "violation"]
    assert alarms == [f"SAFETY VIOLATION: {v}" for v in off.violations]


def test_step_and_run_return_nothing_without_the_trace():
    c = Cluster(3, seed=1, trace="off")
    assert c.step() == [] and c.run(0.5) == []
    assert c.leader is not None and len(c.trace) == 0


def test_back_works_without_the_trace_but_goto_which_counts_trace_events_is_refused():
    full, off = Cluster(3, seed=2), Cluster(3, seed=2, trace="off")
    for c in (full, off):
        c.run(0.4)
        c.submit("set x 1")
        c.run(0.05)
        c.back()
    assert visible_state(full) == visible_state(off)
    with pytest.raises(ValueError, match="trace='off'"):
        off.goto(0)


def test_trace_takes_full_or_off():
    with pytest.raises(ValueError, match="trace must be 'full' or 'off'"):
        Cluster(3, trace="none")


# -- the fuzzer runs its seeds in campaign mode -------------------------------------------

FUZZ = {
    "clean": FuzzSettings(duration=3),
    "rule broken": FuzzSettings(duration=3, bugs=("commit_old_term",)),
    "damage": FuzzSettings(duration=3, bugs=("no_truncate",), checkers="safety"),
    "lost on disk": FuzzSettings(duration=3, bugs=("ack_before_flush",), checkers="safety"),
    "stale reads": FuzzSettings(duration=3, unsafe_reads=True),
}


@pytest.fixture(scope="module")
def both_ways() -> dict[str, list[tuple[Execution, Execution]]]:
    """Seeds 0-5 of each setting, run without the trace and with it."""
    return {
        name: [(run_seed(seed, s), run_seed(seed, s, trace="full")) for seed in range(6)]
        for name, s in FUZZ.items()
    }


@pytest.mark.parametrize("name", FUZZ)
def test_a_fuzz_seed_without_the_trace_comes_to_what_it_comes_to_with_it(name, both_ways):
    for off, full in both_ways[name]:
        assert off.trace is None and full.trace is not None and len(full.trace) > 100
        assert same_run(off.result, full.result), (off.result, full.result)
        assert (off.lines, off.ending, off.lost) == (full.lines, full.ending, full.lost)
        # The coverage counted as the notes were made is what the trace shows.
        shown = scan(full.trace.rows)  # type: ignore[attr-defined]
        unknown = dict(off.result.coverage).get("client-unknown")
        if unknown:
            shown["client-unknown"] = unknown
        assert dict(off.result.coverage) == shown


def test_the_settings_above_reach_passes_broken_rules_damage_and_stale_reads(both_ways):
    """So that the comparison above means something."""
    found = {
        (off.result.verdict, off.result.damage) for runs in both_ways.values() for off, _ in runs
    }
    assert {("ok", False), ("violation", False), ("violation", True)} <= found
    kinds = {off.result.kind for off, _ in both_ways["stale reads"]}
    assert LINEARIZABILITY in kinds
    assert any(off.lost for off, _ in both_ways["damage"])
    assert sum(len(dict(off.result.coverage)) for off, _ in both_ways["clean"]) > 30


def test_a_failing_seed_rerun_with_the_trace_is_the_same_run_and_says_so():
    settings = FUZZ["damage"]
    failing = next(r for seed in range(6) if (r := run_seed(seed, settings).result).damage)
    again = rerun(generate(failing.seed, settings), failing)
    assert again.same and again.execution.trace
    assert scenario_text(again.execution) == scenario_text(run_seed(failing.seed, settings))
    # A run that ended elsewhere is told apart, by its digest if nothing else.
    elsewhere = attrs.evolve(failing, digest="0" * 32)
    assert not rerun(generate(failing.seed, settings), elsewhere).same


def test_the_digest_tells_runs_apart():
    digests = {run_seed(seed, FUZZ["clean"]).result.digest for seed in range(6)}
    assert len(digests) == 6


def test_a_failing_seeds_report_is_the_one_the_traced_run_gives(tmp_path):
    # `raftsim fuzz --save` re-runs the failing seed with the full trace, then
    # minimizes it in campaign mode: the story saved is the traced run's.
    # The first failing seed is looked up rather than pinned: pins drift whenever
    # the swarm learns a new fault kind.
    settings = FUZZ["rule broken"]
    seed = next(s for s in range(20) if run_seed(s, settings).result.failed)
    out = tmp_path / "saved"
    result = raftsim(
        "fuzz", "--seeds", "1", "--first-seed", str(seed), "--duration", "3",
        "--bug", "commit_old_term", "--save", str(out),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "nondeterminism" not in result.output
    saved = (out / f"fuzz-seed-{seed}.scenario").read_text()
    traced = run_seed(seed, settings, trace="full")
    shrunk = minimize(traced)
    assert saved == scenario_text(shrunk.execution, original_actions=len(traced.schedule.actions))


def test_without_the_trace_nodes_make_only_the_notes_an_observer_names():
    class Votes(Observer):
        note_kinds = frozenset({"vote"})

        def __init__(self) -> None:
            self.kinds: set[str] = set()
            self.crashed: list[tuple[str, int]] = []

        def on_note(self, node_id, note, now):
            self.kinds.add(note[1])
            return ()

        def on_crash(self, node_id, lost, now):
            self.crashed.append((node_id, len(lost)))
            return ()

    off, full = Cluster(3, seed=4, trace="off"), Cluster(3, seed=4)
    watchers = []
    for c in (off, full):
        watcher = Votes()
        c._world.observers = [*c._world.observers, watcher]
        watchers.append(watcher)
        c.run(1.0)
        c.crash(c.leader)
        c.run(0.5)
    assert watchers[0].kinds == {"vote"}  # nothing else was made
    assert {"vote", "leader", "campaign"} <= watchers[1].kinds  # the trace makes them all
    assert watchers[0].crashed == watchers[1].crashed and len(watchers[0].crashed) == 1
    assert len(off.trace) == 0 and outcome(off) == outcome(full)


def test_a_failing_seed_that_reruns_differently_with_the_trace_is_reported(monkeypatch):
    from rich.console import Console

    from sim.check.fuzz import report

    def elsewhere(schedule, result):
        again = rerun(schedule, result).execution
        moved = attrs.evolve(again, result=attrs.evolve(again.result, digest="f" * 32))
        return Rerun(execution=moved, same=False)

    monkeypatch.setattr(report, "rerun", elsewhere)
    console = Console(record=True, width=300)
    code = report.fuzz(console, range(1), FUZZ["damage"], minimize_failures=True)
    text = console.export_text()
    assert code == 1
    assert "nondeterminism: seed 0 ran differently with the full trace" in text
    assert "(digest ffffffffffff), not " in text
