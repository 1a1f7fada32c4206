"""Cluster(keep_history=False): long runs in bounded memory, the same simulation."""

from __future__ import annotations

import pytest

from sim import Cluster


def _busy(cluster: Cluster, commands: int) -> list:
    cluster.run_until(lambda c: c.leader is not None)
    handles = []
    for i in range(commands):
        handles.append(cluster.submit(f"set k{i % 50} {i}"))
        cluster.run(0.001)
    cluster.run(0.5)
    return handles


def test_without_history_the_trace_applied_lists_and_proposals_stay_bounded(monkeypatch):
    keep = 300
    monkeypatch.setattr("sim.cluster.KEEP_RECENT", keep)
    cluster = Cluster(3, seed=1, keep_history=False, snapshot_interval=500)
    _busy(cluster, 3_000)
    cluster.run(0.01)  # a call trims what the last one added
    assert len(cluster.trace) <= 2 * keep
    assert cluster.trace[-1].index > 10 * keep, "indexes keep counting every event"
    assert all(len(view.applied) <= 2 * keep for view in cluster.nodes.values())
    assert len(cluster._world.proposals) <= keep + 10, "settled proposals are forgotten"
    assert cluster.violations == []


def test_without_history_the_simulation_is_the_same():
    kept, bounded = Cluster(3, seed=2), Cluster(3, seed=2, keep_history=False)
    _busy(kept, 300)
    _busy(bounded, 300)
    recent = bounded.trace[-200:]
    assert [e.text for e in recent] == [e.text for e in kept.trace[recent[0].index :]]


def test_without_history_time_travel_is_refused_clearly():
    cluster = Cluster(3, seed=1, keep_history=False)
    cluster.run(0.5)
    with pytest.raises(ValueError, match="keep_history=False"):
        cluster.back()
    with pytest.raises(ValueError, match="keep_history=False"):
        cluster.goto(0)
