"""Reads outside the log: ReadIndex, lease reads and (unsafe) local reads (thesis §6.4)."""

from __future__ import annotations

import pytest

from sim.cluster import Cluster


def _ready(c: Cluster) -> str:
    c.run_until(lambda c: c.leader is not None)
    c.run(0.1)
    leader = c.leader
    assert leader is not None
    return leader


def _texts(events) -> list[str]:
    return [e.text for e in events]


def test_read_index_is_refused_until_an_entry_of_the_leaders_term_commits():
    c = Cluster(3, seed=2)
    assert c.run_until(lambda c: c.leader is not None)
    leader = c.leader
    early = c.read("x")
    assert not early.accepted and early.outcome == "refused"
    assert "no entry of term" in early.reason
    c.run(0.1)
    later = c.read("x")
    assert later.accepted and later.node == leader
    c.run(0.05)
    assert later.outcome == "done" and later.value is None


def test_a_read_index_read_returns_the_latest_committed_value_after_a_quorum_round():
    c = Cluster(5, seed=3)
    _ready(c)
    write = c.submit("set x 1")
    c.run_until(lambda c: write.committed)
    start = len(c.trace)
    read = c.read("x")
    assert read.accepted and read.outcome == "pending"
    c.run(0.05)
    assert read.outcome == "done" and read.value == "1"
    texts = _texts(c.trace[start:])
    assert any("confirms leadership with heartbeat round 1" in t for t in texts)
    assert any("read round 1" in t and "HeartbeatResponse" in t for t in texts)
    assert any("heartbeat round 1 answered by" in t for t in texts)


def test_a_partitioned_old_leader_cannot_finish_a_read_index_read_but_reads_stale_locally():
    c = Cluster(3, seed=4)
    old = _ready(c)
    first = c.submit("set x 1")
    c.run_until(lambda c: first.committed)
    c.run(0.1)
    others = tuple(n for n in c.nodes if n != old)
    c.partition((old,), others)
    assert c.run_until(lambda c: any(c.nodes[n].role == "leader" for n in others), timeout=3)
    new = next(n for n in others if c.nodes[n].role == "leader")
    c.run(0.1)
    second = c.submit("set x 2", to=new)
    c.run_until(lambda c: second.committed)
    assert c.nodes[old].role == "leader"  # no CheckQuorum: it still believes it leads
    stuck = c.read("x", to=old)
    assert stuck.accepted
    c.run(1.0)
    assert stuck.outcome == "pending", "no quorum can answer its heartbeat round"
    stale = c.read("x", mode="local", to=old)
    assert stale.outcome == "done" and stale.value == "1"
    fresh = c.read("x", to=new)
    c.run(0.05)
    assert fresh.value == "2"
    c.heal()
    c.run(0.5)
    assert stuck.outcome == "failed" and "stopped leading" in stuck.reason


def test_lease_reads_skip_the_round_while_the_lease_holds_and_fall_back_otherwise():
    c = Cluster(3, seed=5, check_quorum=True)
    leader = _ready(c)
    write = c.submit("set x 1")
    c.run_until(lambda c: write.committed)
    c.run(0.06)
    start = len(c.trace)
    read = c.read("x", mode="lease")
    assert read.outcome == "done" and read.value == "1", "answered at once"
    texts = _texts(c.trace[start:])
    assert any("no heartbeat round" in t for t in texts)
    assert not any("read round" in t for t in texts)
    # Followers' answers are held back: after 90% of 150 ms the lease has lapsed.
    followers = [n for n in c.nodes if n != leader]
    for f in followers:
        c.hold(f, leader)
    c.run(0.14)
    assert c.nodes[leader].role == "leader"
    start = len(c.trace)
    slow = c.read("x", mode="lease")
    assert slow.accepted and slow.outcome == "pending"
    assert any("falls back to ReadIndex" in t for t in _texts(c.trace[start:]))
    for f in followers:
        c.release(f, leader)
    c.run(0.05)
    assert slow.outcome == "done" and slow.value == "1"


def test_lease_reads_need_check_quorum_and_modes_are_checked():
    c = Cluster(3, seed=6)
    _ready(c)
    read = c.read("x", mode="lease")
    assert not read.accepted and "CheckQuorum" in read.reason
    with pytest.raises(ValueError, match="unknown read mode"):
        c.read("x", mode="eventual")


def test_a_follower_refuses_read_index_and_names_the_leader():
    c = Cluster(3, seed=7)
    leader = _ready(c)
    follower = next(n for n in c.nodes if n != leader)
    read = c.read("x", to=follower)
    assert not read.accepted and read.leader_hint == leader


def test_reads_survive_time_travel():
    c = Cluster(3, seed=8)
    _ready(c)
    c.submit("set x 1")
    c.run(0.05)
    read = c.read("x")
    c.run(0.05)
    assert read.value == "1"
    c.back()
    c.run(0.05)
    assert read.value == "1"


def test_a_late_timeout_now_cannot_make_a_lease_read_stale():
    """A transfer gives up, its TimeoutNow lands later, and its target is elected
    by a voter that heard from the old leader within the lease (transfer votes
    disregard the lease). The old leader gave up its lease for the term when the
    TimeoutNow left, so its lease read goes through ReadIndex and never answers
    the value the new leader already overwrote."""
    c = Cluster(3, seed=1, check_quorum=True)
    c.run_until(lambda c: c.leader is not None)
    c.run(0.3)
    old = c.leader
    target, other = [n for n in c.nodes if n != old]
    first = c.submit("set x 1")
    c.run_until(lambda c: first.committed)
    c.hold(old, target)
    transfer = c.transfer_leadership(target)
    c.run(0.35)
    assert transfer.outcome == "failed"  # the TimeoutNow is still held on the link
    c.cut(target, old)
    c.cut(other, old)
    (timeout_now,) = [f for f in c.in_flight if type(f.message).__name__ == "TimeoutNow"]
    c.deliver(timeout_now.msg_id)
    assert c.run_until(lambda c: c.nodes[target].role == "leader", timeout=1)
    second = c.submit("set x 2", to=target)
    assert c.run_until(lambda c: second.committed, timeout=1)
    assert c.nodes[old].role == "leader"  # it has not noticed yet

    read = c.read("x", mode="lease", to=old)
    c.run(1.0)
    assert read.outcome != "done" or read.value == "2", f"stale lease read: {read}"
    assert any("given up when this term's TimeoutNow left" in e.text for e in c.trace)
    assert c.violations == []
