"""Failures: crashes, partitions and disk durability (Raft §5.2-§5.5, Figure 2).

Raft promises safety whatever fails and progress whenever a majority can talk.
These tests break the cluster in the ways the paper discusses and check both.
"""

from __future__ import annotations

import re

from sim import Cluster


def _with_leader(c: Cluster, settle: float = 0.3) -> str:
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    c.run(settle)
    return c.leader


def _commit(c: Cluster, *commands: str, to: str | None = None) -> list:
    handles = [c.submit(command, to=to) for command in commands]
    assert all(h.accepted for h in handles), [h.reason for h in handles]
    assert c.run_until(lambda c: all(h.committed for h in handles), timeout=2.0)
    return handles


def _entries(c: Cluster, node: str) -> list[tuple[int, int, str | None]]:
    return [(e.index, e.term, e.command) for e in c.nodes[node].log]


def test_leader_crash_leads_to_a_new_leader_in_a_higher_term():
    """Raft §5.2: when the leader crashes, followers time out and elect another node in a
    higher term; by Leader Completeness (§5.4) it holds every committed entry, and the
    cluster commits again."""
    c = Cluster(5, seed=21)
    old = _with_leader(c)
    old_term = c.nodes[old].term
    committed = _commit(c, "set a 1", "set b 2", "set c 3")
    c.crash(old)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    new = c.leader
    assert new != old
    assert c.nodes[new].term > old_term
    held = set(_entries(c, new))
    assert {(h.index, h.term, h.command) for h in committed} <= held
    (after,) = _commit(c, "set d 4")
    assert after.term == c.nodes[new].term and after.node == new


def _minority_partition():
    """A 5-node cluster whose leader is cut off with one follower; a write goes to it."""
    c = Cluster(5, seed=22)
    old = _with_leader(c)
    partner = next(n for n in c.nodes if n != old)
    _commit(c, "set a 1")
    c.partition([old, partner])
    doomed = c.submit("set lost 1", to=old)
    assert doomed.accepted, "the old leader does not know it is cut off"
    commit_before = c.nodes[old].commit_index
    commits_seen = set()
    end = c.now + 1.5
    while c.now < end:
        c.step()
        commits_seen.add(c.nodes[old].commit_index)
    return c, old, partner, doomed, commit_before, commits_seen


def test_minority_partition_cannot_commit_but_the_majority_can():
    """Raft §5.3/§5.2: an entry commits only once a majority stores it. The old leader,
    with one follower on its side of a partition, accepts a write but can never commit
    it; the three on the other side elect a leader of a higher term and commit."""
    c, old, partner, doomed, commit_before, commits_seen = _minority_partition()
    assert commits_seen == {commit_before}, "the minority leader's commit index never moved"
    assert c.nodes[old].role == "leader"
    assert not doomed.committed and doomed.outcome == "pending"
    assert "set lost 1" in [e.command for e in c.nodes[partner].log], "replicated, uncommitted"
    majority_leader = c.leader
    assert majority_leader not in (None, old, partner)
    assert c.nodes[majority_leader].term > c.nodes[old].term
    (kept,) = _commit(c, "set kept 2", to=majority_leader)
    assert kept.committed


def test_after_a_partition_heals_all_nodes_converge_and_uncommitted_entries_roll_back():
    """Raft §5.3: after the partition heals, the old leader steps down and the new
    leader forces every log to match its own: the minority's uncommitted entry is
    deleted, every node ends with the same log and applies the same commands."""
    c, old, partner, doomed, _, _ = _minority_partition()
    leader = c.leader
    (kept,) = _commit(c, "set kept 2", to=leader)
    c.heal()
    assert c.run_until(
        lambda c: (
            all(_entries(c, n) == _entries(c, leader) for n in c.nodes)
            and all(v.commit_index == c.nodes[leader].commit_index for v in c.nodes.values())
        ),
        timeout=3.0,
    )
    assert c.nodes[old].role == "follower"
    assert doomed.outcome == "unknown", "the old leader stepped down without knowing"
    for node in c.nodes.values():
        assert "set lost 1" not in [e.command for e in node.log], node.id
        assert node.applied == c.nodes[leader].applied, node.id
    assert [cmd for _, cmd in c.nodes[leader].applied] == ["set a 1", "set kept 2"]
    rolled_back = {
        e.node
        for e in c.trace
        if e.kind == "truncate" and f"entry {doomed.index} has term" in e.text
    }
    assert rolled_back == {old, partner}


def test_crash_before_flush_loses_only_entries_never_acknowledged():
    """Figure 2 / DESIGN "Time and persistence model": a follower acknowledges entries
    only once they are durable. Crashing it after it received entries but before its disk
    flushed them loses exactly those; every entry it had acknowledged (the leader's match
    index for it) is still in its log after the restart."""
    c = Cluster(3, seed=23, flush_delay=0.03)
    leader = _with_leader(c)
    follower = next(n for n in c.nodes if n != leader)
    _commit(c, "set a 1", "set b 2")
    c.run(0.1)
    first_new = len(c.nodes[leader].log) + 1
    c.submit("set c 3")
    c.submit("set d 4")
    view = c.nodes[follower]
    assert c.run_until(lambda c: len(view.log) >= first_new + 1, timeout=1.0)
    durable = view.durable_index
    assert durable < first_new, "received but not yet on disk"
    held = _entries(c, follower)
    acks = re.compile(
        rf"^{follower} -> {leader} AppendEntriesResponse\(term \d+, ok, match (\d+)\)"
    )
    acked = max(int(m[1]) for e in c.trace if (m := acks.match(e.text)))
    assert acked < first_new
    c.crash(follower)
    assert "unflushed writes lost: entr" in c.trace[-1].text
    c.restart(follower)
    after = _entries(c, follower)
    assert after == held[:durable]
    assert len(after) >= acked, "an acknowledged entry was lost"
    assert after == held[: first_new - 1], "the unflushed entries are gone"
    assert not {"set c 3", "set d 4"} & {cmd for _, _, cmd in after}
    # Nothing was lost that the cluster relied on: the leader re-sends and all agree.
    assert c.run_until(lambda c: _entries(c, follower) == _entries(c, leader), timeout=2.0)
    assert [cmd for _, _, cmd in _entries(c, follower)][-2:] == ["set c 3", "set d 4"]


def test_crashed_node_view_stays_readable_with_running_false():
    """DESIGN "Precise meanings": views of crashed nodes stay readable and show the last
    state the node had. A crashed leader's view still says leader of its term, though
    the cluster has moved on without it."""
    c = Cluster(3, seed=24)
    old = _with_leader(c)
    _commit(c, "set a 1")
    view = c.nodes[old]
    frozen = (view.role, view.term, view.voted_for, view.log, view.commit_index, view.applied)
    c.crash(old)
    assert c.run_until(lambda c: c.leader not in (None, old), timeout=3.0)
    _commit(c, "set b 2")
    assert view.running is False
    assert (
        view.role,
        view.term,
        view.voted_for,
        view.log,
        view.commit_index,
        view.applied,
    ) == frozen
    assert c.leader != old
    c.restart(old)
    assert view.running is True and view.role == "follower"
    assert view.log == frozen[3], "restarted from its durable log"
    assert view.applied == [], "a restarted node applies its log again"
    assert c.run_until(lambda c: len(view.applied) == 2, timeout=2.0)


def test_messages_in_flight_to_a_crashed_node_are_lost_even_if_it_restarts_first():
    """DESIGN "Precise meanings": messages in flight to a node that crashes are lost, even
    if the node is up again before they would have landed (the connection they travelled
    on died with the process)."""
    c = Cluster(3, seed=25, latency=(0.02, 0.03))
    leader = _with_leader(c)
    follower = next(n for n in c.nodes if n != leader)
    c.submit("set a 1")
    while not any(f.message.dst == follower for f in c.in_flight):
        c.step()
    doomed = {f.msg_id: f.lands_us for f in c.in_flight if f.message.dst == follower}
    c.crash(follower)
    assert f"{len(doomed)} message(s) in flight to it lost" in c.trace[-1].text
    c.restart(follower)
    assert c.now * 1_000_000 < min(doomed.values()), "restarted before they would land"
    mark = len(c.trace)
    c.run(0.3)
    assert not any(e.msg_id in doomed for e in c.trace[mark:])
    received = [e for e in c.trace[mark:] if e.node == follower and e.kind == "receive"]
    assert received, "later messages reach the restarted node"


def test_a_majority_of_crashed_nodes_stops_commits_until_one_restarts():
    """Raft §5.3: with two of three nodes down the leader can append but not commit: a
    crashed node neither receives nor acknowledges anything. Once one restarts, its
    durable log plus the leader's re-sent entries make a majority again."""
    c = Cluster(3, seed=26)
    leader = _with_leader(c)
    down = [n for n in c.nodes if n != leader]
    _commit(c, "set a 1")
    logs_before = {n: _entries(c, n) for n in down}
    for node in down:
        c.crash(node)
    commit = c.nodes[leader].commit_index
    handle = c.submit("set b 2")
    assert handle.accepted
    mark = len(c.trace)
    c.run(1.0)
    assert c.nodes[leader].commit_index == commit
    assert handle.outcome == "pending"
    assert {n: _entries(c, n) for n in down} == logs_before
    assert not any(e.node in down and e.kind != "drop" for e in c.trace[mark:])
    c.restart(down[0])
    assert c.run_until(lambda c: handle.committed, timeout=2.0)
    assert c.nodes[leader].commit_index == handle.index


def test_restarted_follower_reloads_term_vote_and_log_then_catches_up():
    """Figure 2 ("Persistent state on all servers"): term, vote and log come back from
    disk after a crash; entries committed while the node was down reach it afterwards."""
    c = Cluster(5, seed=27)
    leader = _with_leader(c)
    follower = next(n for n in c.nodes if n != leader)
    _commit(c, "set a 1", "set b 2")
    c.run(0.1)
    view = c.nodes[follower]
    before = (view.term, view.voted_for, _entries(c, follower))
    c.crash(follower)
    _commit(c, "set c 3", "set d 4")
    c.restart(follower)
    assert (view.term, view.voted_for, _entries(c, follower)) == before
    assert c.run_until(
        lambda c: (
            _entries(c, follower) == _entries(c, leader)
            and view.commit_index == c.nodes[leader].commit_index
        ),
        timeout=2.0,
    )
    assert [cmd for _, cmd in view.applied] == ["set a 1", "set b 2", "set c 3", "set d 4"]
