"""Random fault schedules: safety throughout, convergence once the faults stop.

A bounded, seeded campaign (`raftsim fuzz` grows it): crashes,
restarts, partitions, one-way cuts, loss, duplication and reordering, with
client writes sent to random nodes, and varied timing and pipeline settings.
Afterwards everything heals, and Raft must (Figure 3, §5.4.3) agree: one
log, one sequence of applied commands, and new writes still commit.
"""

from __future__ import annotations

import random

import pytest

from sim import Cluster


def _random_cluster(rng: random.Random, seed: int) -> Cluster:
    return Cluster(
        rng.choice([3, 5, 7]),
        seed=seed,
        drop=rng.choice([0.0, 0.05, 0.2]),
        duplicate=rng.choice([0.0, 0.05]),
        reorder=rng.random() < 0.5,
        pre_vote=rng.random() < 0.5,
        max_inflight=rng.choice([1, 2, 8]),
        max_entries_per_request=rng.choice([1, 3, 16]),
        flush_delay=rng.choice([0.0005, 0.002, 0.02]),
    )


def _inject_faults(cluster: Cluster, rng: random.Random, rounds: int, *, admin: bool) -> None:
    """Random faults and client writes; with `admin`, membership, transfer, snapshot too."""
    actions = FAULTS + ADMIN if admin else FAULTS
    for i in range(rounds):
        cluster.run(rng.uniform(0.01, 0.3))
        act = rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        act(cluster, rng, i)


def _up(cluster: Cluster) -> list[str]:
    return [n for n, view in cluster.nodes.items() if view.running]


def _crash(cluster: Cluster, rng: random.Random, i: int) -> None:
    if len(_up(cluster)) > 1:
        cluster.crash(rng.choice(_up(cluster)))


def _restart(cluster: Cluster, rng: random.Random, i: int) -> None:
    down = [n for n, view in cluster.nodes.items() if not view.running]
    if down:
        cluster.restart(rng.choice(down))


def _partition(cluster: Cluster, rng: random.Random, i: int) -> None:
    ids = list(cluster.nodes)
    rng.shuffle(ids)
    cluster.partition(ids[: rng.randint(1, len(ids) - 1)])


def _cut(cluster: Cluster, rng: random.Random, i: int) -> None:
    src, dst = rng.sample(list(cluster.nodes), 2)
    cluster.cut(src, dst)


def _write(cluster: Cluster, rng: random.Random, i: int) -> None:
    cluster.submit(f"set k{i} {i}", to=rng.choice([None, *_up(cluster)]))


def _remove(cluster: Cluster, rng: random.Random, i: int) -> None:
    leader = cluster.leader
    if leader and len(cluster.nodes[leader].members.voters) > 1:
        cluster.remove_node(rng.choice(cluster.nodes[leader].members.voters))


POOL = ("n1", "n2", "n3", "n4", "n5", "n6")
FAULTS = [
    (_crash, 15),
    (_restart, 15),
    (_partition, 10),
    (_cut, 5),
    (lambda c, rng, i: c.heal(), 10),
    (_write, 45),
]
ADMIN = [
    (lambda c, rng, i: c.add_node(rng.choice(POOL)), 8),
    (_remove, 8),
    (lambda c, rng, i: c.add_learner(rng.choice(POOL)), 4),
    (lambda c, rng, i: c.transfer_leadership(rng.choice([None, *c.nodes])), 6),
    (lambda c, rng, i: c.snapshot(rng.choice(_up(c))), 6),
]


def _write_until_committed(cluster: Cluster, command: str, attempts: int = 5) -> bool:
    """A client that retries with whoever leads now, as real Raft clients must."""
    for _ in range(attempts):
        if not cluster.run_until(lambda c: c.leader is not None, timeout=5.0):
            return False
        handle = cluster.submit(command)
        cluster.run_until(lambda c, h=handle: h.outcome != "pending", timeout=5.0)
        if handle.committed:
            return True
        cluster.run(0.2)  # refused or lost: give the cluster a moment before retrying
    return False


@pytest.mark.parametrize("seed", range(12))
def test_faults_never_break_safety_and_the_cluster_converges_after_healing(seed: int) -> None:
    rng = random.Random(seed)
    cluster = _random_cluster(rng, seed)
    _inject_faults(cluster, rng, rounds=40, admin=False)

    cluster.heal()
    cluster.set_network(drop=0.0, duplicate=0.0)
    for view in cluster.nodes.values():
        if not view.running:
            cluster.restart(view.id)
    assert _write_until_committed(cluster, "set final 1"), "no write commits after healing"
    cluster.run(1.0)

    assert cluster.violations == []
    logs = {tuple((e.index, e.term, e.command) for e in v.log) for v in cluster.nodes.values()}
    assert len(logs) == 1, "logs differ after healing"
    applied = {tuple(v.applied) for v in cluster.nodes.values()}
    assert len(applied) == 1, "nodes applied different commands"
    (commands,) = applied
    assert commands and commands[-1][1] == "set final 1"


@pytest.mark.parametrize("seed", range(10))
def test_membership_changes_transfers_and_snapshots_under_faults_keep_members_agreeing(
    seed: int,
) -> None:
    rng = random.Random(seed)
    cluster = Cluster(
        rng.choice([3, 5]),
        seed=seed,
        drop=rng.choice([0.0, 0.05]),
        reorder=rng.random() < 0.3,
        pre_vote=rng.random() < 0.7,
        check_quorum=rng.random() < 0.5,
        membership=rng.choice(["joint", "single"]),
        snapshot_interval=rng.choice([0, 5, 20]),
    )
    _inject_faults(cluster, rng, rounds=50, admin=True)

    cluster.heal()
    cluster.set_network(drop=0.0)
    for view in cluster.nodes.values():
        if not view.running:
            cluster.restart(view.id)
    assert _write_until_committed(cluster, "set final 1"), "no write commits after healing"
    cluster.run(1.5)

    assert cluster.violations == []
    conf = cluster.nodes[cluster.leader].members
    assert not conf.is_joint, "a membership change was left half done"
    members = [cluster.nodes[m] for m in conf.members]
    assert len({m.commit_index for m in members}) == 1
    assert len({tuple(sorted(m.data.items())) for m in members}) == 1
    assert all(m.data.get("final") == "1" for m in members)
