"""Simulated clients: retries with sessions, read modes, and linearizable histories."""

from __future__ import annotations

import re

import pytest

from sim.check.clients import Workload
from sim.check.linearizability import Verdict
from sim.cluster import Cluster


def _faulty_run(seed: int, reads: str) -> tuple[Cluster, Workload]:
    c = Cluster(5, seed=seed, check_quorum=reads == "lease")
    w = Workload(c, 4, reads=reads)
    w.run(0.8)
    leader = c.leader
    if leader is not None:
        c.crash(leader)
    w.run(0.8)
    if leader is not None:
        c.restart(leader)
    ids = list(c.nodes)
    c.partition(tuple(ids[:2]), tuple(ids[2:]))
    w.run(0.8)
    c.heal()
    w.run(0.4)
    w.drain(2.5)
    return c, w


@pytest.mark.parametrize("reads", ["log", "read_index", "lease"])
@pytest.mark.parametrize("seed", range(4))
def test_histories_under_crashes_and_partitions_are_linearizable(seed, reads):
    c, w = _faulty_run(seed, reads)
    result = w.check()
    assert result.verdict is Verdict.LINEARIZABLE, result.explain()
    assert c.violations == []
    assert len(w.history()) > 200 and w.retries > 0


def test_local_reads_on_a_partitioned_old_leader_are_not_linearizable_and_explained():
    c = Cluster(3, seed=11)
    w = Workload(c, 4, reads="local", keys=1)
    w.run(0.5)
    old = c.leader
    assert old is not None
    c.partition((old,), tuple(n for n in c.nodes if n != old))
    w.run(1.5)
    assert c.nodes[old].role == "leader", "without CheckQuorum the old leader stays"
    result = w.check()
    assert result.verdict is Verdict.VIOLATION
    text = result.explain()
    assert "Not linearizable" in text and "get x returned" in text
    bad = result.violations[0]
    assert bad.culprit.kind == "get"


def test_a_retried_write_applies_exactly_once():
    # A timeout shorter than a commit makes clients retry writes that already went in.
    c = Cluster(3, seed=12)
    w = Workload(c, 3, reads="log", timeout=0.012)
    w.run(1.5)
    w.drain(1.0)
    result = w.check()
    assert result.verdict is Verdict.LINEARIZABLE, result.explain()
    skipped = [e for e in c.trace if e.kind == "duplicate"]
    assert skipped, "some retried write was committed twice"
    assert "not applied again" in skipped[0].text
    for view in c.nodes.values():
        for value in view.data.values():
            pieces = re.findall(r"c\d+\.\d+", value)
            assert len(pieces) == len(set(pieces)), f"an append applied twice: {value}"


def test_the_workload_draws_from_its_own_stream():
    def election_trace(busy: bool) -> list[str]:
        c = Cluster(3, seed=13)
        if busy:
            Workload(c, 2)._rng.random()
        c.run(0.5)
        return [e.text for e in c.trace]

    assert election_trace(True) == election_trace(False)
