"""Log compaction and snapshots (Raft §7, Figure 13; sofa-jraft's SnapshotExecutor).

A node snapshots what it has applied and drops the log it covers; a follower
that needs entries the leader dropped gets the snapshot instead (InstallSnapshot)
and keeps the rest of its log only if it agrees with the snapshot; a restarted
node loads its snapshot, then its log. Cluster tests end by checking that the
running members agree.
"""

from __future__ import annotations

import random

from conftest import (
    assert_members_agree,
    commit,
    entries,
    first_index_of,
    last_index,
    make_durable,
    make_node,
    others,
    sent,
    with_leader,
)

from raft import (
    Configuration,
    InstallSnapshot,
    InstallSnapshotResponse,
    LogManager,
    Persist,
    SaveSnapshot,
    Snapshot,
)
from raft.outputs import Outbox
from raft.storage import DurableState
from sim import Cluster


def test_a_snapshot_compacts_the_log_and_keeps_the_data():
    """Raft §7: the snapshot replaces the log up to the last applied entry; the log
    then starts right after it, and the state machine is unchanged."""
    c = Cluster(3, seed=51)
    leader = with_leader(c)
    commit(c, *[f"set k{i} {i}" for i in range(6)])
    data = c.nodes[leader].data
    applied = c.nodes[leader].last_applied
    handle = c.snapshot(leader)
    assert handle.accepted and handle.done
    view = c.nodes[leader]
    assert view.snapshot_index == applied
    assert all(e.index > applied for e in view.log)
    assert last_index(c, leader) >= applied
    assert view.data == data
    assert any(
        e.node == leader and f"saves snapshot up to {applied}@" in e.text
        for e in c.trace
        if e.kind == "snapshot"
    )
    follower = others(c, leader)[0]
    assert c.snapshot(follower).done
    assert c.nodes[follower].snapshot_index == c.nodes[follower].last_applied > 0
    commit(c, "set after 1")
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes[leader].data == {**data, "after": "1"}


def test_a_snapshot_is_refused_when_nothing_was_applied_since_the_last_one():
    """jraft's SnapshotExecutor skips a snapshot that would cover nothing new."""
    c = Cluster(3, seed=52)
    leader = with_leader(c)
    commit(c, "set a 1")
    assert c.snapshot(leader).done
    again = c.snapshot(leader)
    assert not again.accepted and again.outcome == "refused"
    assert "nothing applied since the last snapshot" in again.reason
    commit(c, "set b 2")
    assert c.snapshot(leader).done
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_snapshots_are_taken_automatically_every_interval_of_applied_entries():
    """jraft takes snapshots on a timer; raftsim every `snapshot_interval` applied
    entries, on every node independently."""
    c = Cluster(3, seed=53, snapshot_interval=5)
    with_leader(c)
    for i in range(23):
        commit(c, f"set k{i} {i}")
    assert_members_agree(c, ["n1", "n2", "n3"])
    for node in c.nodes:
        view = c.nodes[node]
        saves = [e for e in c.trace if e.node == node and e.text.startswith(f"{node} Snap")]
        saves = [e for e in saves if "saves snapshot" in e.text]
        assert len(saves) >= 4, node
        assert 0 < view.last_applied - view.snapshot_index < 5 or (
            view.last_applied == view.snapshot_index
        ), node
        assert view.data == {f"k{i}": str(i) for i in range(23)}


def test_a_follower_down_during_compaction_is_recovered_by_install_snapshot():
    """Raft §7: the leader no longer has the entries a returning follower needs, so it
    sends its snapshot; the follower's state machine takes the snapshot's state
    without applying its commands one by one, then the entries after it."""
    c = Cluster(3, seed=54)
    leader = with_leader(c)
    commit(c, "set a 1")
    follower = others(c, leader)[0]
    assert c.run_until(lambda c: c.nodes[follower].last_applied >= 2, timeout=1.0)
    had = last_index(c, follower)
    c.crash(follower)
    commit(c, *[f"set k{i} {i}" for i in range(10)])
    assert c.snapshot(leader).done
    snap = c.nodes[leader].snapshot_index
    commit(c, "set after 1")
    mark = len(c.trace)
    c.restart(follower)
    assert c.run_until(lambda c: c.nodes[follower].last_applied == last_index(c, leader), 2.0)
    sends = first_index_of(c, f"sends snapshot up to {snap}@", mark)
    assert c.trace[sends].node == leader and "InstallSnapshot" in c.trace[sends].text
    installs = first_index_of(c, f"installs snapshot up to {snap}@", sends)
    assert c.trace[installs].node == follower
    assert f"its log lacks entry {snap}: discards the log" in c.trace[installs].text
    view = c.nodes[follower]
    assert view.snapshot_index == snap
    assert view.data == c.nodes[leader].data
    applied = [index for index, _ in view.applied]
    assert not [i for i in applied if had < i <= snap], "snapshot contents are not replayed"
    assert [cmd for i, cmd in view.applied if i > snap] == ["set after 1"]
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_a_follower_holding_the_snapshots_last_entry_keeps_the_entries_after_it():
    """Raft Figure 13, InstallSnapshot step 6: if the follower's log has an entry with
    the snapshot's last index and term, it keeps the entries that follow. Here its
    acknowledgements are lost, so the leader thinks it lags and sends the snapshot
    although the follower already holds entries beyond it."""
    c = Cluster(3, seed=55)
    leader = with_leader(c)
    follower, other = others(c, leader)
    commit(c, "set a 1")
    c.cut(follower, leader)
    first = [c.submit(f"set k{i} {i}") for i in range(3)]
    snap = first[-1].index
    assert c.run_until(
        lambda c: last_index(c, follower) >= snap and last_index(c, other) >= snap, 1.0
    )
    c.cut(leader, other)  # the next entries reach the follower only: they stay uncommitted
    second = [c.submit(f"set m{i} {i}") for i in range(2)]
    assert c.run_until(lambda c: all(h.committed for h in first), 1.0)
    assert c.run_until(lambda c: last_index(c, follower) == last_index(c, leader), 0.1)
    assert c.nodes[follower].commit_index < snap
    assert c.nodes[leader].last_applied == snap
    assert c.snapshot(leader).done
    mark = len(c.trace)
    assert c.run_until(lambda c: c.nodes[follower].snapshot_index == snap, 1.0)
    installs = first_index_of(c, f"installs snapshot up to {snap}@", mark)
    assert f"keeps its entries after {snap}" in c.trace[installs].text
    assert [e.command for e in c.nodes[follower].log] == ["set m0 0", "set m1 1"]
    assert c.nodes[follower].data == {"a": "1", "k0": "0", "k1": "1", "k2": "2"}
    c.heal()
    assert c.run_until(lambda c: all(h.committed for h in second), 2.0)
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_a_new_server_is_caught_up_by_a_snapshot_before_it_joins():
    """Raft §7 with §6: when every node has compacted its log, a new server's catch-up
    stage starts with InstallSnapshot; the change then goes on as usual."""
    c = Cluster(3, seed=58)
    with_leader(c)
    commit(c, *[f"set k{i} {i}" for i in range(12)])
    assert c.run_until(lambda c: all(v.last_applied >= 13 for v in c.nodes.values()), 1.0)
    for node in c.nodes:
        assert c.snapshot(node).done
    snap = c.nodes[c.leader].snapshot_index
    handle = c.add_node("n4")
    assert handle.accepted
    assert c.run_until(lambda c: handle.outcome != "pending", 2.0)
    assert handle.outcome == "done", handle.reason
    installs = first_index_of(c, f"installs snapshot up to {snap}@")
    assert c.trace[installs].node == "n4"
    assert installs < first_index_of(c, "enters joint configuration")
    assert c.nodes["n4"].applied == [], "the new server applied nothing one by one"
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])
    assert c.nodes["n4"].data == {f"k{i}": str(i) for i in range(12)}


def test_a_node_restarts_from_its_snapshot_plus_its_log():
    """Raft §7 / DESIGN: a restarted node loads its snapshot into the state machine,
    then holds the log after it, as it was on disk; it applies the rest once it
    learns the commit index."""
    c = Cluster(3, seed=56)
    leader = with_leader(c)
    follower = others(c, leader)[0]
    commit(c, *[f"set k{i} {i}" for i in range(5)])
    assert c.run_until(
        lambda c: c.nodes[follower].last_applied == c.nodes[leader].commit_index, 1.0
    )
    assert c.snapshot(follower).done
    snap = c.nodes[follower].snapshot_index
    snapshot_data = c.nodes[follower].data
    commit(c, "set k1 changed", "set later 1")
    assert c.run_until(
        lambda c: (
            c.nodes[follower].last_applied == c.nodes[leader].commit_index
            and c.nodes[follower].durable_index == last_index(c, follower)
        ),
        1.0,
    )
    c.run(0.01)  # let the snapshot write reach the disk too
    log, data = c.nodes[follower].log, c.nodes[follower].data
    assert log and log[0].index == snap + 1
    c.crash(follower)
    c.restart(follower)
    view = c.nodes[follower]
    assert view.snapshot_index == snap
    assert view.log == log
    assert view.data == snapshot_data, "only the snapshot is applied before the commit is known"
    assert view.last_applied == snap
    assert any(
        e.node == follower and f"snapshot up to {snap}@" in e.text
        for e in c.trace
        if e.kind == "start"
    )
    assert c.run_until(lambda c: c.nodes[follower].data == data, 1.0)
    assert [cmd for _, cmd in view.applied] == ["set k1 changed", "set later 1"]
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_the_cluster_survives_repeated_snapshots_and_crashes():
    """Raft §7 with §5: snapshots taken often, on every node, while nodes crash and
    restart, never break State Machine Safety, and every committed write survives."""
    c = Cluster(5, seed=57, snapshot_interval=4)
    with_leader(c)
    rng = random.Random(57)
    handles = []
    down: list[str] = []
    for round_ in range(25):
        handles += [c.submit(f"set r{round_}k{i} {round_}") for i in range(3)]
        c.run(0.1)
        roll = rng.random()
        if roll < 0.3 and len(down) < 2:
            victim = rng.choice([n for n in c.nodes if n not in down])
            if c.leader is not None and rng.random() < 0.4:
                victim = c.leader
            c.crash(victim)
            down.append(victim)
        elif roll < 0.6 and down:
            c.restart(down.pop(0))
        elif c.leader is not None and c.nodes[c.leader].last_applied > 0:
            c.snapshot(rng.choice([n for n in c.nodes if n not in down]))
    for node in down:
        c.restart(node)
    assert c.run_until(lambda c: c.leader is not None, 3.0)
    commit(c, "set final 1")
    leader = assert_members_agree(c, ["n1", "n2", "n3", "n4", "n5"])
    assert c.violations == []
    data = c.nodes[leader].data
    committed = {h.command.split()[1]: h.command.split()[2] for h in handles if h.committed}
    assert len(committed) > 20
    assert {k: data.get(k) for k in committed} == committed
    installs = [e for e in c.trace if e.kind == "snapshot" and "installs snapshot" in e.text]
    assert installs, "some node was caught up by a snapshot"
    assert len({e.node for e in c.trace if e.text.startswith(f"{e.node} becomes leader")}) > 1


# -- Figure 13 at the LogManager and Node level -------------------------------

CONF = Configuration(["n1", "n2", "n3"])


def _snapshot(index: int, term: int, data: str = '{"x": "1"}') -> Snapshot:
    return Snapshot(last_index=index, last_term=term, configuration=CONF, data=data)


def _log(terms: list[int]) -> tuple[LogManager, Outbox]:
    outbox = Outbox("n2")
    log = LogManager(outbox)
    log.append(tuple(entries(*terms)))
    outbox.take()
    return log, outbox


def test_log_manager_install_keeps_entries_after_a_matching_last_entry():
    """Figure 13 step 6: an existing entry with the snapshot's last index and term:
    retain the log entries following it."""
    log, outbox = _log([1, 1, 2, 2, 3])
    seq, kept = log.install(_snapshot(3, 2))
    assert kept
    assert log.snapshot_index == 3 and log.first_index == 4
    assert [(e.index, e.term) for e in log.entries()] == [(4, 2), (5, 3)]
    assert log.last_index == 5 and log.term_at(3) == 2
    (write,) = [o for o in outbox.take() if isinstance(o, Persist)]
    assert write.seq == seq and write.write == SaveSnapshot(_snapshot(3, 2), discard_log=False)
    disk = DurableState(entries=list(entries(1, 1, 2, 2, 3)))
    disk.apply(write.write)
    assert [e.index for e in disk.entries] == [4, 5] and disk.snapshot == _snapshot(3, 2)


def test_log_manager_install_discards_a_log_that_disagrees_or_is_too_short():
    """Figure 13 step 7: otherwise discard the entire log (a different term at the
    snapshot's last index, or no entry there at all)."""
    for terms, snap in (([1, 1, 2, 2, 3], _snapshot(3, 3)), ([1, 1], _snapshot(4, 2))):
        log, outbox = _log(terms)
        _, kept = log.install(snap)
        assert not kept
        assert log.entries() == []
        assert log.last_index == snap.last_index and log.last_term == snap.last_term
        assert log.durable_index <= snap.last_index
        (write,) = [o for o in outbox.take() if isinstance(o, Persist)]
        assert write.write == SaveSnapshot(snap, discard_log=True)


def test_a_follower_node_installing_a_snapshot_follows_figure_13_and_acknowledges_on_disk():
    """Raft Figure 13 at the Node: the state machine takes the snapshot's state, the
    commit index jumps to its last index, the log is kept or discarded by step 6/7,
    and the reply waits until the snapshot is durable."""
    for snapshot_term, kept_after in ((2, [4, 5]), (3, [])):
        node = make_node("n2", term=3, log=(1, 1, 2, 2, 3))
        message = InstallSnapshot(
            src="n1", dst="n2", term=3, snapshot=_snapshot(3, snapshot_term), seq=7
        )
        node.receive(message, 1000)
        outputs = node.take_outputs()
        assert not [m for m in sent(outputs) if isinstance(m, InstallSnapshotResponse)]
        assert [e.index for e in node.log.entries()] == kept_after
        assert node.log.snapshot_index == 3
        assert node.commit_index == 3 and node.last_applied == 3
        assert node.fsm.state_machine.data == {"x": "1"}
        (reply,) = [
            m
            for m in sent(make_durable(node, outputs, 2000))
            if isinstance(m, InstallSnapshotResponse)
        ]
        assert reply.success and reply.match_index == 3 and reply.seq == 7
