"""The checkers of snapshots (Raft §7): a snapshot holds the state the others applied
up to its last index, and records the configuration committed there.

Each catches a mistake a student could make, made by patching a method of raft/
for the test (a state machine that loses a key when it loads a snapshot, a
snapshot that records the latest configuration) or by tampering with a node's
state or disk through the Cluster's world; each stays silent on correct runs.
"""

from __future__ import annotations

import attrs
from conftest import commit, others, with_leader

from raft import FSMCaller, KVStateMachine
from sim import Cluster
from sim.check.checkers import SnapshotConfigurationCommitted, SnapshotStateAgreement

QUIET = dict(pre_vote=False, election_timeout=(1.0, 2.0))


def _node(cluster: Cluster, node_id: str):
    return cluster._world.nodes[node_id]


def _found(cluster: Cluster, checker: type) -> list[str]:
    return [v.text for v in cluster.violations if v.property == checker.name]


def _lagging_follower_installs_a_snapshot(c: Cluster) -> tuple[str, str]:
    """A follower misses writes the leader then compacts away; healed, it gets the
    snapshot by InstallSnapshot. Returns (leader, follower)."""
    leader = with_leader(c)
    commit(c, "set a 1", "c1#1: set b 2")
    follower = others(c, leader)[0]
    c.isolate(follower)
    commit(c, "set a 3", "c1#2: append b 4")
    assert c.snapshot(leader).done
    c.heal()
    assert c.run_until(
        lambda c: c.nodes[follower].snapshot_index == c.nodes[leader].snapshot_index, timeout=3.0
    )
    return leader, follower


# -- Snapshot State Agreement (Raft §7) ----------------------------------------------


def test_a_snapshot_installed_with_the_applied_state_passes():
    c = Cluster(3, seed=3)
    _, follower = _lagging_follower_installs_a_snapshot(c)
    assert c.nodes[follower].data == {"a": "3", "b": "24"}
    assert c.violations == []


def test_a_state_machine_that_loses_a_key_when_it_loads_a_snapshot_is_caught(monkeypatch):
    load = KVStateMachine.on_snapshot_load

    def loses_b(self, data: str) -> None:
        load(self, data)
        self.data.pop("b", None)

    monkeypatch.setattr(KVStateMachine, "on_snapshot_load", loses_b)
    c = Cluster(3, seed=3)
    _, follower = _lagging_follower_installs_a_snapshot(c)
    (text,) = _found(c, SnapshotStateAgreement)
    assert text.startswith(f"{follower} installed the snapshot up to ")
    assert "held b=(nil), but " in text and " had b=24 when it applied index " in text


def test_a_snapshot_saved_with_a_state_others_never_had_is_caught():
    c = Cluster(3, seed=4)
    leader = with_leader(c)
    commit(c, "set x 1")
    _node(c, leader).fsm.state_machine.data["x"] = "9"  # the state machine went astray
    assert c.snapshot(leader).done
    (text,) = _found(c, SnapshotStateAgreement)
    assert f"{leader} saved the snapshot up to " in text
    assert f"holding x=9, but {leader} had x=1 when it applied index " in text


def test_a_restart_from_a_snapshot_whose_state_is_corrupted_on_disk_is_caught():
    c = Cluster(3, seed=5)
    leader = with_leader(c)
    commit(c, "set x 1", "set y 2")
    c.run(0.1)  # the followers apply them too
    follower = others(c, leader)[0]
    assert c.snapshot(follower).done
    c.run(0.05)  # the snapshot is on disk
    c.crash(follower)
    disk = c._world.disks[follower]
    snapshot = disk.durable.snapshot
    corrupted = attrs.evolve(snapshot, data=snapshot.data.replace('"y": "2"', '"y": "7"'))
    disk.durable = attrs.evolve(disk.durable, snapshot=corrupted)
    c.restart(follower)
    (text,) = _found(c, SnapshotStateAgreement)
    assert text.startswith(f"{follower} restarted from its snapshot up to ")
    assert "held y=7, but " in text and " had y=2 when it applied index " in text


def test_a_restart_from_a_sound_snapshot_passes():
    c = Cluster(3, seed=5)
    leader = with_leader(c)
    commit(c, "set x 1", "set y 2")
    assert c.snapshot(leader).done
    c.run(0.05)
    c.crash(leader)
    c.restart(leader)
    c.run(1.0)
    commit(c, "set z 3")
    assert c.violations == []


# -- Snapshot Configuration Committed (Raft §7) ---------------------------------------


def _leader_alone_mid_change(c: Cluster) -> str:
    """n1 leads, and, cut off from both followers, has appended the joint configuration
    of a change that removes n3: it cannot commit."""
    c.timeout("n1")
    c.run(0.5)
    commit(c, "set x 1")
    for follower in ("n2", "n3"):
        c.cut("n1", follower)
        c.cut(follower, "n1")
    assert c.change_members(["n1", "n2"]).accepted
    assert _node(c, "n1").configuration.is_joint
    return "n1"


def test_a_snapshot_taken_while_a_change_is_uncommitted_records_the_committed_configuration():
    c = Cluster(3, seed=6, **QUIET)
    leader = _leader_alone_mid_change(c)
    assert c.snapshot(leader).done
    assert not _node(c, leader).log.snapshot.configuration.is_joint
    assert c.violations == []


def test_a_snapshot_that_records_an_uncommitted_configuration_is_caught(monkeypatch):
    save = FSMCaller.save_snapshot

    def records_the_latest(self, configuration):
        return save(self, self._log.configuration(configuration))

    monkeypatch.setattr(FSMCaller, "save_snapshot", records_the_latest)
    c = Cluster(3, seed=6, **QUIET)
    leader = _leader_alone_mid_change(c)
    assert c.snapshot(leader).done
    (text,) = _found(c, SnapshotConfigurationCommitted)
    assert text.startswith(f"{leader} saved the snapshot up to ")
    assert "with configuration {n1,n2,n3} + {n1,n2} (never committed)" in text
    assert "the configuration committed as of " in text and " is {n1,n2,n3} (entry 1)" in text


def test_the_snapshot_checkers_forget_what_every_disk_has_compacted():
    c = Cluster(3, seed=11, snapshot_interval=100)
    leader = with_leader(c)
    follower = others(c, leader)[0]
    for batch in range(30):
        commit(c, *[f"c{i % 3}#{batch * 100 + i}: set k{i % 7} {i}" for i in range(100)])
        if batch == 20:
            c.crash(follower)
            c.run(0.3)
            c.restart(follower)
    c.run(1.0)
    state = next(o for o in c._world.observers if isinstance(o, SnapshotStateAgreement))
    assert c.nodes[leader].snapshot_index > 2_500
    assert len(state._digests) < 2 * 1024 and len(state._undo) < 2 * 1024
    assert c.violations == []
