"""Leadership transfer (thesis §3.10; sofa-jraft's transferLeadershipTo).

The leader stops taking writes, brings the target's log up to date, and sends it
TimeoutNow; the target campaigns at once, without PreVote, and wins the next
term. If no new term begins within an election timeout the old leader leads on.
Each test ends by checking that the running members agree.
"""

from __future__ import annotations

from conftest import (
    assert_members_agree,
    commit,
    finish,
    first_index_of,
    last_index,
    others,
    with_leader,
)

from sim import Cluster


def test_transfer_to_an_up_to_date_peer_makes_it_leader_of_the_next_term():
    """Thesis §3.10: the target is caught up, so TimeoutNow goes at once; it campaigns
    without PreVote and wins term + 1."""
    c = Cluster(3, seed=31)
    old = with_leader(c)
    commit(c, "set a 1", "set b 2")
    term = c.nodes[old].term
    target = others(c, old)[0]
    mark = len(c.trace)
    handle = c.transfer_leadership(target)
    assert handle.accepted and c.nodes[old].transferring_to == target
    finish(c, handle, timeout=1.0)
    assert c.run_until(lambda c: c.leader == target, timeout=0.5)
    assert c.nodes[target].term == term + 1
    assert c.nodes[old].role == "follower"
    sees = first_index_of(c, f"sees {target} has every entry", mark)
    told = first_index_of(c, "campaigns at once, without PreVote", sees)
    assert c.trace[told].node == target
    assert not [
        e
        for e in c.trace[mark:]
        if e.kind == "send" and e.text.startswith(f"{target} -> ") and "PreVote(" in e.text
    ]
    commit(c, "set c 3")
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_transfer_to_a_lagging_peer_refuses_writes_then_catches_it_up_then_it_wins():
    """jraft: while transferring, client writes are refused as busy; the leader first
    replicates what the target lacks, sends TimeoutNow only once it has every entry,
    and the target wins."""
    c = Cluster(3, seed=32)
    old = with_leader(c)
    target = others(c, old)[0]
    c.crash(target)
    commit(c, *[f"set k{i} {i}" for i in range(40)])
    c.restart(target)
    assert last_index(c, target) < last_index(c, old)
    mark = len(c.trace)
    handle = c.transfer_leadership(target)
    assert handle.accepted
    refused = c.submit("set late 1")
    assert not refused.accepted
    assert "busy" in refused.reason and target in refused.reason
    assert c.run_until(lambda c: handle.outcome != "pending", timeout=1.0)
    assert handle.outcome == "done", handle.reason
    assert c.run_until(lambda c: c.leader == target, timeout=0.5)
    brings = first_index_of(c, f"first brings {target} up to date", mark)
    sees = first_index_of(c, f"sees {target} has every entry", brings)
    first_index_of(c, "campaigns at once, without PreVote", sees)
    commit(c, "set late 1")
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes[target].data["k39"] == "39"


def test_transfer_to_anyone_picks_the_most_up_to_date_voter():
    """jraft's transferLeadershipTo(ANY_PEER): the peer with the largest match index
    is chosen (here the follower that did not miss anything)."""
    c = Cluster(3, seed=33)
    old = with_leader(c)
    lagging, fresh = others(c, old)
    c.crash(lagging)
    commit(c, *[f"set k{i} {i}" for i in range(20)])
    c.restart(lagging)
    handle = c.transfer_leadership()
    assert handle.accepted
    assert c.nodes[old].transferring_to == fresh
    finish(c, handle, timeout=1.0)
    assert c.run_until(lambda c: c.leader == fresh, timeout=0.5)
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_a_transfer_that_times_out_lets_the_old_leader_resume():
    """jraft: if the term has not changed after an election timeout (the target is
    down), the transfer fails and the old leader leads on in the same term, taking
    writes again."""
    c = Cluster(3, seed=34)
    old = with_leader(c)
    commit(c, "set a 1")
    term = c.nodes[old].term
    target = others(c, old)[0]
    c.crash(target)
    handle = c.transfer_leadership(target)
    assert handle.accepted
    assert not c.submit("set b 2").accepted
    assert c.run_until(lambda c: handle.outcome != "pending", timeout=1.0)
    assert handle.outcome == "failed"
    assert "did not take over within an election timeout" in handle.reason
    assert c.leader == old and c.nodes[old].term == term
    assert c.nodes[old].transferring_to is None
    assert any(e.node == old and f"resumes leading term {term}" in e.text for e in c.trace)
    commit(c, "set b 2")
    c.restart(target)
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes[target].data == {"a": "1", "b": "2"}


def test_transfer_to_a_learner_or_a_removed_node_is_refused():
    """jraft: the target must be a voter of the current configuration."""
    c = Cluster(3, seed=35)
    leader = with_leader(c)
    finish(c, c.add_learner("n4"))
    to_learner = c.transfer_leadership("n4")
    assert not to_learner.accepted and to_learner.outcome == "refused"
    assert "n4 is not a voter" in to_learner.reason
    gone = others(c, leader, "n4")[0]
    finish(c, c.remove_node(gone))
    to_removed = c.transfer_leadership(gone)
    assert not to_removed.accepted and f"{gone} is not a voter" in to_removed.reason
    assert c.leader == leader and c.nodes[leader].transferring_to is None
    commit(c, "set a 1")
    assert_members_agree(c, others(c, gone, "n4"))


def test_a_transfer_is_refused_while_a_membership_change_runs_and_vice_versa():
    """jraft: a leader does one thing at a time; a transfer during a change, or a
    change during a transfer, is refused as busy."""
    c = Cluster(3, seed=36)
    leader = with_leader(c)
    change = c.add_node("n4")
    assert change.accepted
    transfer = c.transfer_leadership(others(c, leader, "n4")[0])
    assert not transfer.accepted
    assert "busy: a membership change" in transfer.reason
    finish(c, change)
    target = others(c, leader, "n4")[0]
    c.crash(target)  # keeps the transfer pending until it times out
    transfer = c.transfer_leadership(target)
    assert transfer.accepted
    change = c.add_node("n5")
    assert not change.accepted
    assert f"busy: transferring leadership to {target}" in change.reason
    assert c.run_until(lambda c: transfer.outcome != "pending", timeout=1.0)
    assert transfer.outcome == "failed"
    c.restart(target)
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])


def test_transfer_to_a_target_caught_up_by_a_snapshot():
    """Raft §7 + thesis §3.10: the target missed entries the leader has compacted, so
    the leader sends InstallSnapshot, then the entries after it, then TimeoutNow."""
    c = Cluster(3, seed=37)
    old = with_leader(c)
    target = others(c, old)[0]
    c.crash(target)
    commit(c, *[f"set k{i} {i}" for i in range(10)])
    assert c.snapshot(old).done
    snap = c.nodes[old].snapshot_index
    commit(c, "set after 1")
    c.restart(target)
    mark = len(c.trace)
    handle = c.transfer_leadership(target)
    finish(c, handle, timeout=1.0)
    assert c.run_until(lambda c: c.leader == target, timeout=0.5)
    sends = first_index_of(c, f"sends snapshot up to {snap}", mark)
    installed = first_index_of(c, f"installs snapshot up to {snap}", sends)
    assert c.trace[installed].node == target
    replicating = first_index_of(c, f"{target} installed the snapshot", installed)
    sees = first_index_of(c, f"sees {target} has every entry", replicating)
    first_index_of(c, "campaigns at once, without PreVote", sees)
    assert c.nodes[target].snapshot_index == snap
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes[target].data["after"] == "1" and c.nodes[target].data["k9"] == "9"
