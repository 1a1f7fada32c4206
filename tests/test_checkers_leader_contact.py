"""The checkers of the contact between a leader and its followers: a leader's match
index only grows (Figure 2), and a pre-vote is granted only when no leader was
heard within the election timeout (thesis §9.6). Then all four new checkers (these
and the snapshot ones) on correct runs.

Mistakes are made by tampering with a node's state through the Cluster's world, or
by feeding a checker hand-made messages.
"""

from __future__ import annotations

import pytest
from conftest import commit, others, with_leader

from raft import AppendEntries, RequestVote, VoteResponse
from sim import Cluster
from sim.check.checkers import (
    CHECKERS,
    MatchIndexOnlyGrows,
    PreVoteOnlyWithoutLeader,
    SnapshotConfigurationCommitted,
    SnapshotStateAgreement,
)

QUIET = dict(pre_vote=False, election_timeout=(1.0, 2.0))


def _node(cluster: Cluster, node_id: str):
    return cluster._world.nodes[node_id]


def _found(cluster: Cluster, checker: type) -> list[str]:
    return [v.text for v in cluster.violations if v.property == checker.name]


def _pre_vote_request(candidate: str, voter: str, term: int) -> RequestVote:
    """A pre-vote for the term after `term`, from a candidate whose log is ahead."""
    return RequestVote(
        src=candidate, dst=voter, term=term + 1, last_log_index=9, last_log_term=term, pre_vote=True
    )


# -- Match Index Only Grows (Figure 2) ----------------------------------------------


def test_a_leader_that_lowers_a_match_index_is_caught():
    c = Cluster(3, seed=7, **QUIET)
    c.timeout("n1")
    c.run(0.5)
    commit(c, "set x 1", "set y 2")
    replicator = _node(c, "n1").replicators["n2"]
    before = replicator.match_index
    replicator.match_index = 1  # forgets what n2 acknowledged
    c.run(0.2)
    (text,) = _found(c, MatchIndexOnlyGrows)
    assert text.startswith(
        f"n1, leader of term 1, lowered its match index for n2 from {before} to 1"
    )


def test_a_peer_removed_and_added_again_starts_a_fresh_match_index():
    """jraft makes a new Replicator for a peer that comes back: it starts at 0."""
    c = Cluster(3, seed=8, **QUIET)
    c.timeout("n1")
    c.run(0.5)
    commit(c, "set x 1")
    first = _node(c, "n1").replicators["n3"]
    removed = c.remove_node("n3")
    assert c.run_until(lambda c: removed.done, timeout=3.0)
    assert "n3" not in _node(c, "n1").replicators
    added = c.add_node("n3")
    assert c.run_until(lambda c: added.done, timeout=3.0)
    commit(c, "set y 2")
    assert _node(c, "n1").replicators["n3"] is not first
    assert c.leader == "n1" and _node(c, "n1").term == 1
    assert c.violations == []


# -- PreVote Only Without a Live Leader (thesis §9.6) -----------------------------------


def _steady(**options) -> Cluster:
    c = Cluster(3, seed=9, pre_vote=True, **options)
    with_leader(c)
    return c


def test_a_pre_vote_is_refused_while_the_leader_is_alive():
    c = _steady()
    leader = c.leader
    candidate, voter = others(c, leader)
    c.timeout(candidate)
    c.run(0.05)
    assert c.leader == leader
    assert any(e.node == voter and f"refuses pre-vote to {candidate}" in e.text for e in c.trace)
    assert c.violations == []


def test_a_pre_vote_granted_although_the_leader_is_alive_is_caught():
    c = _steady()
    leader = c.leader
    candidate, voter = others(c, leader)
    _node(c, voter).leader_id = None  # forgets its leader without a timeout
    c.timeout(candidate)
    c.run(0.05)
    (text,) = _found(c, PreVoteOnlyWithoutLeader)
    assert text.startswith(f"{voter} granted {candidate} a pre-vote for term ")
    assert f"it heard from {leader}, leader of term " in text
    assert "within the minimum election timeout of 150 ms" in text


def test_a_node_whose_own_election_timer_ran_out_may_grant_pre_votes():
    """A voter that timed out itself (here by request) has given up on its leader."""
    c = _steady()
    leader = c.leader
    first, second = others(c, leader)
    c.timeout(first)
    c.timeout(second, 0.001)
    c.run(0.5)
    assert c.violations == []


def test_a_leader_that_grants_a_pre_vote_is_caught():
    """Fed by hand: the leader is asked for a pre-vote and (wrongly) grants it."""
    c = _steady()
    checker = PreVoteOnlyWithoutLeader()
    checker.attach(c._world)
    leader = c.leader
    candidate = others(c, leader)[0]
    term = _node(c, leader).term
    ask = _pre_vote_request(candidate, leader, term)
    assert not checker.on_deliver(ask, _node(c, leader), 100)
    grant = VoteResponse(src=leader, dst=candidate, term=term + 1, granted=True, pre_vote=True)
    (found,) = checker.on_send(grant, 100)
    assert found.nodes == (leader, candidate)
    assert f"although it leads term {term} itself" in found.text


def test_a_pre_vote_is_judged_as_it_was_delivered_not_when_the_answer_leaves():
    """An answer held back until a flush is judged by what the voter knew when asked."""
    c = _steady()
    checker = PreVoteOnlyWithoutLeader()
    checker.attach(c._world)
    leader = c.leader
    candidate, voter = others(c, leader)
    term = _node(c, voter).term
    ask = _pre_vote_request(candidate, voter, term)
    heartbeat = AppendEntries(
        src=leader,
        dst=voter,
        term=term,
        prev_log_index=0,
        prev_log_term=0,
        leader_commit=0,
        seq=1,
        heartbeat=True,
    )
    grant = VoteResponse(src=voter, dst=candidate, term=term + 1, granted=True, pre_vote=True)
    checker.on_deliver(ask, _node(c, voter), 1_000_000)  # no leader heard (by this checker)
    checker.on_deliver(heartbeat, _node(c, voter), 1_001_000)
    assert not checker.on_send(grant, 1_002_000)
    checker.on_deliver(ask, _node(c, voter), 1_003_000)  # now the leader is alive
    (found,) = checker.on_send(grant, 1_004_000)
    assert f"it heard from {leader}, leader of term {term}, 2 ms before" in found.text


# -- all four new checkers ---------------------------------------------------------------


@pytest.mark.parametrize("check_quorum", [False, True])
def test_snapshots_membership_transfer_crashes_and_pre_vote_raise_no_alarm(check_quorum):
    c = Cluster(3, seed=10, pre_vote=True, check_quorum=check_quorum, snapshot_interval=4)
    leader = with_leader(c)
    commit(c, *[f"c1#{i}: append k {i}" for i in range(1, 9)])
    lagging = others(c, leader)[0]
    c.isolate(lagging)
    commit(c, *[f"set k{i} {i}" for i in range(10)])
    c.heal()
    c.run(1.0)
    handle = c.add_node("n4")
    assert c.run_until(lambda c: handle.done, timeout=5.0)
    transfer = c.transfer_leadership(lagging)
    assert c.run_until(lambda c: transfer.done, timeout=3.0)
    commit(c, *[f"set m{i} {i}" for i in range(6)])
    c.crash(leader)
    c.run(0.5)
    c.restart(leader)
    commit(c, *[f"set r{i} {i}" for i in range(6)])
    c.run(1.0)
    texts = [e.text for e in c.trace]
    assert any("installs snapshot up to" in t for t in texts)
    assert any("restarts from disk" in t and "snapshot up to" in t for t in texts)
    assert c.violations == []


def test_every_new_checker_is_on_by_default():
    for checker in (
        SnapshotStateAgreement,
        SnapshotConfigurationCommitted,
        MatchIndexOnlyGrows,
        PreVoteOnlyWithoutLeader,
    ):
        assert checker in CHECKERS.values()
