"""The same seed and the same calls give the same trace (DESIGN.md, "Determinism")."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import visible_state

from sim import Cluster

ROOT = Path(__file__).resolve().parent.parent


def eventful_run(seed: int) -> Cluster:
    """Elections, client load, a crash and a restart, a partition and a heal, a lossy network."""
    c = Cluster(5, seed=seed)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    c.submit("set x 1")
    c.run(0.2)
    c.set_network(drop=0.1, duplicate=0.1)
    c.submit("set y 2")
    c.run(0.3)
    old = c.leader
    assert old is not None
    c.crash(old)
    assert c.run_until(lambda c: c.leader not in (None, old), timeout=5.0)
    c.submit("cas x 1 3")
    c.run(0.3)
    c.restart(old)
    c.run(0.3)
    c.partition(["n1", "n2"], ["n3", "n4"])
    c.cut("n5", "n1")
    c.submit("get x")
    c.run(0.6)
    c.heal()
    c.run(0.6)
    c.submit("del y")
    c.run(0.4)
    return c


def fingerprint(c: Cluster) -> list[tuple]:
    return [(e.time_us, e.node, e.component, e.kind, e.text, e.msg_id) for e in c.trace]


def first_election_timer_fire(c: Cluster) -> tuple[float, str]:
    for event in c.trace:
        if event.text.endswith("election timer fires"):
            return event.time, event.text
    raise AssertionError("no election timer fired")


def test_same_seed_and_calls_give_identical_traces():
    a, b = eventful_run(11), eventful_run(11)
    assert len(a.trace) > 500  # a run with plenty happening
    assert [e.text for e in a.trace] == [e.text for e in b.trace]
    assert [e.time for e in a.trace] == [e.time for e in b.trace]
    assert fingerprint(a) == fingerprint(b)
    assert visible_state(a) == visible_state(b)
    assert a.now == b.now


def test_eventful_run_exercises_the_faults_it_claims_to():
    trace = eventful_run(11).trace
    kinds = {e.kind for e in trace}
    texts = " ".join(e.text for e in trace)
    assert {"crash", "restart", "partition", "heal", "cut", "drop"} <= kinds
    assert "(duplicated)" in texts
    assert "becomes leader" in texts


def test_traces_are_identical_across_processes_with_different_hash_seeds():
    # String hashing differs per process; the trace must not depend on it.
    script = textwrap.dedent(
        """
        import hashlib, sys
        sys.path.insert(0, sys.argv[1])
        sys.path.insert(0, sys.argv[2])
        from test_determinism import eventful_run, fingerprint
        print(hashlib.sha256(repr(fingerprint(eventful_run(11))).encode()).hexdigest())
        """
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", script, str(ROOT), str(ROOT / "tests")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        digests.add(out.stdout.strip())
    local = hashlib.sha256(repr(fingerprint(eventful_run(11))).encode()).hexdigest()
    assert digests == {local}


def test_a_different_seed_gives_different_timings():
    a, b = Cluster(3, seed=1), Cluster(3, seed=2)
    a.run(1.0)
    b.run(1.0)
    assert first_election_timer_fire(a)[0] != first_election_timer_fire(b)[0]
    assert [e.time for e in a.trace[:40]] != [e.time for e in b.trace[:40]]


def test_network_randomness_does_not_shift_election_timeout_draws():
    plain = Cluster(5, seed=4)
    lossy = Cluster(5, seed=4, drop=0.3)
    changed = Cluster(5, seed=4)
    changed.set_network(drop=0.3, duplicate=0.2, latency=(0.001, 0.020))
    deadlines = [
        {i: v.election_deadline for i, v in c.nodes.items()} for c in (plain, lossy, changed)
    ]
    assert deadlines[0] == deadlines[1] == deadlines[2]
    for c in (plain, lossy, changed):
        c.run(1.0)
    fires = [first_election_timer_fire(c) for c in (plain, lossy, changed)]
    assert fires[0] == fires[1] == fires[2]
    # The network really did behave differently, so the sameness above means something.
    assert any("random loss" in e.text for e in lossy.trace)
    assert [e.text for e in plain.trace] != [e.text for e in lossy.trace]


def election_timer_fires(c: Cluster, node_id: str) -> list[int]:
    return [e.time_us for e in c.trace if e.text == f"{node_id} election timer fires"]


def test_network_randomness_does_not_shift_a_busy_clusters_election_timeouts():
    # n1 is cut off, so its election timer keeps firing on its own draws, while n2 and
    # n3 elect a leader and talk, drawing latencies, losses and duplicates from the
    # network stream. Those network draws must not move n1's timeouts.
    runs = []
    for drop, duplicate in ((0.0, 0.0), (0.3, 0.0), (0.2, 0.3)):
        c = Cluster(3, seed=6, drop=drop, duplicate=duplicate)
        c.isolate("n1")
        c.run(3.0)
        assert any(e.kind == "send" for e in c.trace)
        runs.append(c)
    fires = [election_timer_fires(c, "n1") for c in runs]
    assert len(fires[0]) >= 8
    assert fires[0] == fires[1] == fires[2]
    assert len({tuple(e.text for e in c.trace) for c in runs}) == 3


def test_each_node_draws_its_own_election_timeouts():
    c = Cluster(5, seed=4)
    deadlines = [v.election_deadline for v in c.nodes.values()]
    assert len(set(deadlines)) == 5
    assert all(0.150 <= d <= 0.300 for d in deadlines)
