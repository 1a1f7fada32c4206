"""CheckQuorum and the leader lease on votes (thesis §6.2 and §4.2.3; jraft's stepDown
on a lost lease; etcd's CheckQuorum).

With `check_quorum` a leader that has not heard from a quorum within the minimum
election timeout steps down, and a node that heard from a live leader within
that timeout ignores RequestVote (unless it was sent for a leadership transfer).
Each cluster test ends by checking that the running members agree.
"""

from __future__ import annotations

from conftest import assert_members_agree, commit, finish, others, vote_grants, with_leader

from sim import Cluster


def test_with_check_quorum_a_partitioned_leader_steps_down_within_an_election_timeout():
    """Thesis §6.2: a leader that cannot reach a quorum for an election timeout steps
    down (it is checked every half minimum timeout, so within 150 + 75 ms here)."""
    c = Cluster(5, seed=71, check_quorum=True)
    leader = with_leader(c)
    commit(c, "set a 1")
    term = c.nodes[leader].term
    c.isolate(leader)
    start = c.now
    assert c.run_until(lambda c: c.nodes[leader].role != "leader", timeout=1.0)
    assert c.now - start <= 0.150 + 0.075 + 0.001
    assert c.nodes[leader].role == "follower" and c.nodes[leader].term == term
    (event,) = [e for e in c.trace if e.kind == "check-quorum"]
    assert event.node == leader
    assert f"{leader} CheckQuorum: only {leader} answered within 150 ms" in event.text
    assert "steps down" in event.text
    c.heal()
    assert c.run_until(lambda c: c.leader is not None, timeout=2.0)
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3", "n4", "n5"])


def test_without_check_quorum_a_partitioned_leader_stays_leader():
    """Raft §5 without §6.2: nothing tells a cut-off leader it lost its quorum; it keeps
    the leader role (unable to commit) while the majority elects another."""
    c = Cluster(5, seed=71)
    leader = with_leader(c)
    commit(c, "set a 1")
    term = c.nodes[leader].term
    c.isolate(leader)
    c.run(2.0)
    assert c.nodes[leader].role == "leader" and c.nodes[leader].term == term
    assert not [e for e in c.trace if e.kind == "check-quorum"]
    assert c.leader not in (None, leader) and c.nodes[c.leader].term > term
    c.heal()
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3", "n4", "n5"])


def test_check_quorum_counts_both_majorities_while_joint():
    """jraft checks the lease per configuration while joint: with the new voters of
    C(old,new) dead, the leader still hears a majority of C(old) but steps down."""
    c = Cluster(3, seed=72, check_quorum=True)
    leader = with_leader(c)
    commit(c, "set a 1")
    handle = c.change_members([leader, "n4", "n5"])
    assert c.run_until(lambda c: c.nodes[leader].membership_stage == "joint", timeout=2.0)
    c.crash("n4")
    c.crash("n5")
    assert c.run_until(lambda c: c.nodes[leader].role != "leader", timeout=1.0)
    (event,) = [e for e in c.trace if e.kind == "check-quorum"]
    assert "needs 2 of 3 (old) and 2 of 3 (new)" in event.text
    assert handle.outcome == "failed"
    c.restart("n4")
    c.restart("n5")
    assert c.run_until(
        lambda c: c.leader is not None and not c.nodes[c.leader].members.is_joint, timeout=3.0
    )
    assert_members_agree(c, [leader, "n4", "n5"])


def _higher_term_node_cut_from_the_leader(check_quorum: bool):
    """A follower isolated long enough (PreVote off) to raise its term, then let back
    in except that nothing it sends reaches the leader: only the third node hears it."""
    c = Cluster(3, seed=73, check_quorum=check_quorum, pre_vote=False)
    leader = with_leader(c)
    commit(c, "set a 1")
    assert_members_agree(c)  # the rejoining node's log is as up-to-date as any
    rejoining, other = others(c, leader)
    c.isolate(rejoining)
    c.run(1.0)
    term = c.nodes[leader].term
    assert c.nodes[rejoining].term > term
    c.heal()
    c.cut(rejoining, leader)
    mark = len(c.trace)
    c.run(2.0)
    return c, leader, rejoining, other, term, mark


def test_with_check_quorum_a_vote_request_is_ignored_while_the_leader_is_alive():
    """Thesis §4.2.3: a server that heard from a current leader within the minimum
    election timeout neither grants its vote nor adopts the higher term. The
    rejoining node keeps asking, with ever higher terms, and never wins."""
    c, leader, rejoining, other, term, mark = _higher_term_node_cut_from_the_leader(True)
    ignored = [
        e
        for e in c.trace[mark:]
        if e.node == other
        and f"ignores RequestVote from {rejoining}" in e.text
        and f"leader {leader} is alive (thesis §4.2.3)" in e.text
    ]
    assert len(ignored) >= 2
    assert not [g for g in vote_grants(c.trace[mark:]) if g[2] == rejoining]
    assert c.leader == leader
    assert c.nodes[leader].term == term and c.nodes[other].term == term
    assert c.nodes[rejoining].role == "candidate"
    commit(c, "set b 2")
    assert c.run_until(lambda c: c.nodes[other].data == {"a": "1", "b": "2"}, timeout=1.0)
    c.heal()
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_without_check_quorum_the_same_vote_request_deposes_the_leader():
    """The contrast (Raft §5.1): without the lease, the third node adopts the higher
    term and grants the rejoining node its vote; the old leader's term is over."""
    c, leader, rejoining, other, term, mark = _higher_term_node_cut_from_the_leader(False)
    assert not [e for e in c.trace[mark:] if "thesis §4.2.3" in e.text]
    grants = vote_grants(c.trace[mark:])
    assert any(voter == other and cand == rejoining for voter, _, cand in grants)
    assert c.nodes[leader].term > term
    c.heal()
    c.run(1.0)  # the stale rejoining node may disrupt a little longer, until it catches up
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_with_check_quorum_a_removed_node_without_pre_vote_does_not_disrupt():
    """Thesis §4.2.3: a removed server that never learns C(new) times out and sends
    RequestVote with higher and higher terms (PreVote off); the servers of the new
    configuration ignore it while their leader is alive, so the leader keeps its term."""
    c = Cluster(3, seed=74, check_quorum=True, pre_vote=False)
    leader = with_leader(c)
    commit(c, "set a 1")
    gone = others(c, leader)[0]
    handle = c.remove_node(gone)
    assert c.run_until(lambda c: c.nodes[gone].members.is_joint, timeout=2.0)
    c.isolate(gone)
    finish(c, handle)
    term = c.nodes[leader].term
    c.heal()
    mark = len(c.trace)
    c.run(2.0)
    assert c.nodes[gone].term > term + 1, "the removed node kept campaigning"
    ignored = {e.node for e in c.trace[mark:] if f"ignores RequestVote from {gone}" in e.text}
    assert ignored == set(others(c, gone))
    assert c.leader == leader and c.nodes[leader].term == term
    commit(c, "set b 2")
    assert_members_agree(c, others(c, gone))


def test_with_check_quorum_leader_transfer_votes_are_not_ignored():
    """Thesis §3.10 and §4.2.3: a RequestVote sent because the leader said TimeoutNow
    is marked as such and must be heeded although the leader was heard just now."""
    c = Cluster(5, seed=75, check_quorum=True)
    leader = with_leader(c)
    commit(c, "set a 1")
    term = c.nodes[leader].term
    target = others(c, leader)[0]
    mark = len(c.trace)
    finish(c, c.transfer_leadership(target), timeout=1.0)
    assert c.run_until(lambda c: c.leader == target, timeout=1.0)
    assert c.nodes[target].term == term + 1
    assert not [e for e in c.trace[mark:] if "thesis §4.2.3" in e.text]
    voters = {v for v, t, cand in vote_grants(c.trace[mark:]) if cand == target and t == term + 1}
    assert len(voters) >= 2
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3", "n4", "n5"])


def test_a_restarted_node_waits_an_election_timeout_before_voting_with_check_quorum():
    """Thesis §4.2.3 with leases: a node that restarts has forgotten when it last
    heard from the leader, so for one minimum election timeout it ignores RequestVote;
    otherwise it could help elect a new leader while the old one's lease holds."""
    import random

    from raft import Configuration, DurableState, Node, RaftOptions, RequestVote

    def restarted_node() -> Node:
        node = Node(
            "n2",
            initial_configuration=Configuration(["n1", "n2", "n3"]),
            options=RaftOptions(check_quorum=True),
            rng=random.Random(1),
            durable=DurableState(term=3, voted_for="n1"),
        )
        node.start(now=1_000_000)
        node.take_outputs()
        return node

    ask = RequestVote(src="n3", dst="n2", term=4, last_log_index=0, last_log_term=0)
    early = restarted_node()
    early.receive(ask, now=1_000_000 + 50_000)
    assert early.term == 3 and "lease may hold" in " ".join(
        o.text for o in early.take_outputs() if hasattr(o, "text")
    )
    late = restarted_node()
    late.receive(ask, now=1_000_000 + 200_000)
    assert late.term == 4 and late.voted_for == "n3"
