"""Campaign mode, `Cluster(trace="off")`: no sentences, and otherwise the very same run.

A fault campaign wants speed and the verdict, not the story; a failing seed is then
re-run with the full trace to be read, which only works if the trace changes nothing
but the trace.
"""

from __future__ import annotations

import random

import pytest
from conftest import visible_state
from test_random_faults import _inject_faults

from sim import Cluster


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
