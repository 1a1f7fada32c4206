"""Membership change: joint consensus, single-server changes and learners (Raft §6, thesis §4).

The leader walks a change through sofa-jraft's stages: the new servers first
catch up without a vote, then the leader appends C(old,new) (every decision now
needs a majority of both), then C(new); a configuration is in force as soon as
it is appended. These tests follow jraft's own suite (NodeTest: addPeer,
removePeer, removeLeader, changePeers...) and end, every one, by checking that
the members still running agree on logs, applied commands and configuration.
"""

from __future__ import annotations

from conftest import (
    assert_members_agree,
    commit,
    configurations,
    finish,
    first_index_of,
    last_index,
    others,
    texts,
    vote_grants,
    with_leader,
)

from raft import Configuration, EntryKind
from raft.quorum import VoteResult
from sim import Cluster

# -- adding and removing voters (Raft §6; jraft NodeTest) -------------------


def test_adding_a_peer_catches_it_up_then_goes_joint_then_stable():
    """Raft §6 as jraft runs it: the new server first receives the log without a vote
    (catching up), then the leader appends C(old,new) and, once that commits, C(new).
    Each stage shows on the leader's view and in the trace, in order."""
    c = Cluster(3, seed=1)
    leader = with_leader(c)
    commit(c, "set a 1", "set b 2", "set c 3")
    handle = c.add_node("n4")
    assert handle.accepted and handle.outcome == "pending"
    stages = [c.nodes[leader].membership_stage]
    saw_joint_on_n4 = False
    while handle.outcome == "pending":
        assert c.now < 3.0
        c.step()
        saw_joint_on_n4 |= c.nodes["n4"].members.is_joint
        if c.nodes[leader].membership_stage != stages[-1]:
            stages.append(c.nodes[leader].membership_stage)
    assert handle.outcome == "done"
    assert stages == ["catching up", "joint", "stable", "none"]
    assert saw_joint_on_n4
    marks = [
        first_index_of(c, f"{leader} changes {{n1,n2,n3}} -> {{n1,n2,n3,n4}}: first catches up n4"),
        first_index_of(c, "enters joint configuration {n1,n2,n3} + {n1,n2,n3,n4}"),
        first_index_of(c, "joint configuration committed: appends the new configuration"),
        first_index_of(c, "membership change done: configuration {n1,n2,n3,n4} committed"),
    ]
    assert marks == sorted(marks)
    confs = configurations(c, "n4")
    assert [str(conf) for conf in confs[-2:]] == [
        "{n1,n2,n3} + {n1,n2,n3,n4}",
        "{n1,n2,n3,n4}",
    ]
    commit(c, "set d 4")
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])
    assert c.nodes["n4"].data == {"a": "1", "b": "2", "c": "3", "d": "4"}


def test_removing_a_follower_stops_replicating_to_it():
    """Raft §6: once C(new) without the follower commits, the leader stops sending it
    anything (jraft stops its replicator); later commands commit without it, and the
    removed node, no longer a voter in its configuration, stays quiet."""
    c = Cluster(3, seed=2)
    leader = with_leader(c)
    commit(c, "set a 1")
    gone = others(c, leader)[0]
    finish(c, c.remove_node(gone))
    remaining = others(c, gone)
    assert c.nodes[leader].members == Configuration(remaining)
    gone_term = c.nodes[gone].term
    mark = len(c.trace)
    commit(c, "set b 2")
    c.run(1.0)
    assert "set b 2" not in [e.command for e in c.nodes[gone].log]
    assert not [e for e in c.trace[mark:] if e.kind == "send" and f" -> {gone} " in e.text]
    assert not [e for e in c.trace[mark:] if e.node == gone and e.kind in ("timeout", "campaign")]
    assert c.nodes[gone].term == gone_term
    assert_members_agree(c, remaining)
    assert c.nodes[leader].data == {"a": "1", "b": "2"}


def test_removing_the_leader_it_manages_until_c_new_commits_then_hands_over():
    """Thesis §4.2.2 / jraft: a leader removing itself keeps leading (without counting
    itself in C(new)) until C(new) commits, then steps down and wakes the most
    up-to-date remaining voter with TimeoutNow; that voter wins the next term."""
    c = Cluster(3, seed=3)
    leader = with_leader(c)
    commit(c, "set a 1", "set b 2")
    term = c.nodes[leader].term
    handle = c.remove_node(leader)
    assert handle.accepted
    roles = set()
    while handle.outcome == "pending":
        assert c.now < 3.0
        c.step()
        roles.add(c.nodes[leader].role)
        if c.nodes[leader].membership_stage == "stable":
            assert c.nodes[leader].role == "leader"
    assert handle.outcome == "done"
    assert roles == {"leader", "follower"}
    assert c.nodes[leader].role == "follower"
    # C(new) was committed while the removed node still led, without counting itself.
    c_new = last_index(c, leader)
    assert not configurations(c, leader)[-1].is_voter(leader)
    (counted,) = [
        e.text
        for e in c.trace
        if e.node == leader and e.kind == "commit" and f"index {c_new} acknowledged" in e.text
    ]
    assert f"{leader} BallotBox" in counted and "(2 of 2, quorum 2 of 2)" in counted
    assert leader not in counted.split("acknowledged by ")[1].split(" (")[0]
    done_at = first_index_of(c, "membership change done")
    assert c.trace[done_at].node == leader
    steps_down = first_index_of(c, "is not a voter in", done_at)
    wake = first_index_of(c, "with TimeoutNow to lead next", steps_down)
    successor = c.trace[wake].text.split()[2]
    assert c.run_until(lambda c: c.leader == successor, timeout=1.0)
    assert c.nodes[successor].term == term + 1
    assert any(
        e.node == successor and "campaigns at once, without PreVote" in e.text
        for e in c.trace[wake:]
    )
    remaining = others(c, leader)
    commit(c, "set c 3")
    assert_members_agree(c, remaining)
    assert c.nodes[successor].data == {"a": "1", "b": "2", "c": "3"}


def test_replacing_the_whole_cluster_one_node_at_a_time_keeps_the_data():
    """jraft's changePeers walk: n1..n3 are replaced by n4..n6 by adding one and
    removing one, six changes in a row (the leader itself is removed on the way).
    Every committed write survives on the new servers."""
    c = Cluster(3, seed=4)
    with_leader(c)
    written = {}
    for step, (new, old) in enumerate([("n4", "n1"), ("n5", "n2"), ("n6", "n3")]):
        commit(c, f"set k{step} {step}")
        written[f"k{step}"] = str(step)
        finish(c, c.add_node(new))
        assert c.run_until(lambda c: c.leader is not None, timeout=2.0)
        finish(c, c.remove_node(old))
        assert c.run_until(lambda c, old=old: c.leader not in (None, old), timeout=2.0)
        c.crash(old)
    assert set(c.nodes[c.leader].members.voters) == {"n4", "n5", "n6"}
    commit(c, "set last 9")
    written["last"] = "9"
    leader = assert_members_agree(c, ["n4", "n5", "n6"])
    assert c.nodes[leader].data == written
    assert leader in {"n4", "n5", "n6"}


def test_adding_several_peers_at_once_goes_through_one_joint_configuration():
    """Raft §6: joint consensus can change any number of servers in one go: 3 -> 5."""
    c = Cluster(3, seed=5)
    leader = with_leader(c)
    commit(c, "set a 1", "set b 2")
    finish(c, c.change_members(["n1", "n2", "n3", "n4", "n5"]))
    assert any("first catches up n4, n5" in t for t in texts(c, "membership", leader)), (
        "both new servers catch up first"
    )
    joint = [conf for conf in configurations(c, leader) if conf.is_joint]
    assert [str(conf) for conf in joint] == ["{n1,n2,n3} + {n1,n2,n3,n4,n5}"]
    commit(c, "set c 3")
    assert_members_agree(c, ["n1", "n2", "n3", "n4", "n5"])
    # Five voters: two of them may now fail and the cluster still commits.
    c.crash(others(c, leader)[0])
    c.crash(others(c, leader)[1])
    commit(c, "set d 4")


def test_a_change_whose_new_quorum_is_dead_waits_in_the_joint_stage():
    """Raft §6: while joint, every decision needs a majority of C(new) too. If the new
    servers die once C(old,new) is appended, nothing commits (not the joint entry,
    not client writes) and the change stays pending; when they come back it ends."""
    c = Cluster(3, seed=6)
    leader = with_leader(c)
    commit(c, "set a 1")
    handle = c.change_members([leader, "n4", "n5"])
    assert c.run_until(lambda c: c.nodes[leader].membership_stage == "joint", timeout=2.0)
    c.crash("n4")
    c.crash("n5")
    commit_index = c.nodes[leader].commit_index
    joint_index = last_index(c, leader)
    assert c.nodes[leader].log[-1].configuration.is_joint
    write = c.submit("set b 2")
    assert write.accepted
    c.run(1.5)
    assert c.nodes[leader].commit_index == commit_index < joint_index
    assert c.nodes[leader].role == "leader"
    assert c.nodes[leader].membership_stage == "joint"
    assert handle.outcome == "pending" and not write.committed
    # The old voters alone hold the entry: a majority of C(old) but none of C(new).
    for node in others(c, leader, "n4", "n5"):
        assert last_index(c, node) == last_index(c, leader)
    c.restart("n4")
    c.restart("n5")
    finish(c, handle)
    assert write.committed
    for old in others(c, leader, "n4", "n5"):
        c.crash(old)
    commit(c, "set c 3")
    assert_members_agree(c, [leader, "n4", "n5"])
    assert c.nodes["n5"].data == {"a": "1", "b": "2", "c": "3"}


def test_while_joint_a_majority_of_the_new_voters_alone_does_not_commit():
    """Raft §6 (joint consensus): an entry held by a majority of C(new) but not of
    C(old) is not committed; BallotBox needs both majorities. Here the two old
    followers are down, so C(old,new) reaches the leader and both new servers (3 of 3
    of C(new)) but only 1 of 3 of C(old)."""
    c = Cluster(3, seed=7)
    leader = with_leader(c)
    commit(c, "set a 1")
    old_followers = others(c, leader)
    for node in old_followers:
        c.crash(node)
    handle = c.change_members([leader, "n4", "n5"])
    assert handle.accepted
    assert c.run_until(lambda c: c.nodes[leader].membership_stage == "joint", timeout=2.0)
    joint_index = last_index(c, leader)
    assert c.run_until(
        lambda c: all(c.nodes[n].durable_index >= joint_index for n in (leader, "n4", "n5")),
        timeout=1.0,
    )
    c.run(1.0)
    assert c.nodes[leader].commit_index < joint_index
    assert all(c.nodes[n].commit_index < joint_index for n in ("n4", "n5"))
    assert handle.outcome == "pending"
    c.restart(old_followers[0])
    finish(c, handle)
    c.restart(old_followers[1])
    assert_members_agree(c, [leader, "n4", "n5"])


def test_a_new_leader_elected_while_joint_finishes_the_change():
    """Raft §6 / jraft: a leader that finds C(old,new) as the latest configuration in
    its log carries the change on: once its first entry commits, it appends C(new)."""
    c = Cluster(3, seed=8)
    old = with_leader(c)
    commit(c, "set a 1")
    handle = c.add_node("n4")
    assert c.run_until(
        lambda c: (
            c.nodes[old].membership_stage == "joint"
            and all(c.nodes[n].members.is_joint for n in others(c, old))
        ),
        timeout=2.0,
    )
    c.crash(old)
    assert handle.outcome == "failed"
    assert c.run_until(
        lambda c: c.leader is not None and not c.nodes[c.leader].members.is_joint, timeout=3.0
    )
    new = c.leader
    assert new != old
    assert any("inherits the joint configuration" in t for t in texts(c, "membership", new))
    final = [e for e in c.nodes[new].log if e.kind is EntryKind.CONFIGURATION][-1]
    assert final.configuration == Configuration(["n1", "n2", "n3", "n4"])
    assert final.term == c.nodes[new].term
    c.restart(old)
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])


# -- refusals and failures ----------------------------------------------------


def test_a_second_change_is_refused_as_busy_while_one_runs():
    """jraft: one membership change at a time; another is refused with a busy reason."""
    c = Cluster(3, seed=9)
    with_leader(c)
    first = c.add_node("n4")
    second = c.add_node("n5")
    assert first.accepted
    assert not second.accepted and second.outcome == "refused"
    assert "busy" in second.reason and "membership change" in second.reason
    assert "n5" not in c.nodes, "a refused change must not leave its new server behind"
    finish(c, first)
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])


def test_a_change_refused_for_want_of_a_leader_creates_no_server():
    c = Cluster(3, seed=9)
    handle = c.add_node("n7")
    assert handle.outcome == "refused" and handle.reason == "no leader is known"
    assert list(c.nodes) == ["n1", "n2", "n3"]
    assert not any("n7" in e.text for e in c.trace[-3:] if e.kind != "refused")
    with_leader(c)
    finish(c, c.add_node("n7"))
    assert_members_agree(c, ["n1", "n2", "n3", "n7"])
    assert c.violations == []


def test_a_server_added_under_a_partition_joins_the_group_of_the_unnamed():
    """Nodes not named in a partition form one more group, and so do servers created later."""
    c = Cluster(4, seed=1)
    leader = with_leader(c)
    c.run(0.3)
    outsider = others(c, leader)[0]
    c.isolate(outsider)
    finish(c, c.add_node("n5"))
    inside = sorted({"n1", "n2", "n3", "n4", "n5"} - {outsider})
    c.run(0.2)
    assert sorted(c.partitions) == sorted([[outsider], inside])
    leader = c.leader
    assert leader in inside and c.nodes[leader].members.voters == ("n1", "n2", "n3", "n4", "n5")
    assert c.nodes["n5"].commit_index == c.nodes[leader].commit_index
    assert c.violations == []


def test_a_catch_up_that_times_out_fails_and_leaves_the_configuration_unchanged():
    """Thesis §4.2.1 / jraft: a new server that cannot catch up (here it crashes at
    once) fails the change with a catch-up reason after the deadline; no joint
    configuration was ever appended."""
    c = Cluster(3, seed=10, catchup_timeout=0.2)
    leader = with_leader(c)
    commit(c, "set a 1")
    before = c.nodes[leader].members
    handle = c.add_node("n4")
    c.crash("n4")
    start = c.now
    assert c.run_until(lambda c: handle.outcome != "pending", timeout=2.0)
    assert handle.outcome == "failed"
    assert "catch-up failed" in handle.reason and "n4" in handle.reason
    assert round(c.now - start, 6) >= 0.2
    assert c.nodes[leader].members == before
    assert c.nodes[leader].membership_stage == "none"
    for node in others(c, "n4"):
        assert not any(conf.is_joint for conf in configurations(c, node))
    commit(c, "set b 2")
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_a_change_is_refused_until_the_new_leader_commits_an_entry_of_its_term():
    """Thesis §4.1 (the 2015 single-server bug fix): a new leader may not change
    membership before an entry of its own term has committed."""
    c = Cluster(3, seed=11)
    old = with_leader(c)
    commit(c, "set a 1")
    c.crash(old)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    new = c.leader
    assert c.nodes[new].commit_index < last_index(c, new)
    early = c.add_node("n4")
    assert not early.accepted
    assert f"has not yet committed an entry of term {c.nodes[new].term}" in early.reason
    assert c.run_until(lambda c: c.nodes[new].commit_index == last_index(c, new), timeout=1.0)
    finish(c, c.add_node("n4"))
    c.restart(old)
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])


# -- learners ------------------------------------------------------------------


def test_a_learner_receives_and_applies_the_log_but_never_votes_or_campaigns():
    """jraft learners (thesis §4.2.1's non-voting members): they get a replicator and
    apply committed entries, are never asked for a vote and never campaign, even cut
    off for a long time."""
    c = Cluster(3, seed=12)
    leader = with_leader(c)
    commit(c, "set a 1")
    finish(c, c.add_learner("n4"))
    commit(c, "set b 2")
    assert c.nodes[leader].members == Configuration(["n1", "n2", "n3"], learners=["n4"])
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes["n4"].role == "learner"
    assert c.nodes["n4"].data == {"a": "1", "b": "2"}
    term = c.nodes["n4"].term
    mark = len(c.trace)
    c.isolate("n4")
    c.run(3.0)
    assert c.nodes["n4"].role == "learner" and c.nodes["n4"].term == term
    n4_events = [e for e in c.trace[mark:] if e.node == "n4"]
    assert n4_events, "n4 ran while isolated"
    assert not [e for e in n4_events if e.kind in ("timeout", "campaign", "pre-vote")]
    assert not [e for e in n4_events if "PreVote(" in e.text or "RequestVote(" in e.text]
    c.heal()
    # Two voters down: the one left plus the learner are not a quorum of 3 voters.
    survivor = others(c, leader, "n4")[0]
    c.crash(leader)
    c.crash(others(c, leader, "n4", survivor)[0])
    mark = len(c.trace)
    c.run(2.0)
    assert c.leader is None
    assert not any(voter == "n4" for voter, _, _ in vote_grants(c.trace[mark:]))
    assert not any(
        e.text.startswith(f"{survivor} -> n4 ") and "Vote" in e.text for e in c.trace[mark:]
    )
    for node in c.nodes:
        if not c.nodes[node].running:
            c.restart(node)
    commit(c, "set c 3")
    assert_members_agree(c, ["n1", "n2", "n3"])
    assert c.nodes["n4"].data == {"a": "1", "b": "2", "c": "3"}


def test_a_learners_vote_and_acknowledgement_never_count():
    """jraft: learners never count in ballots or elections; the quorum maths of a
    configuration ignores them, joint or not."""
    stable = Configuration(["n1", "n2", "n3"], learners=["n4", "n5"])
    joint = Configuration(["n1", "n2", "n6"], old_voters=["n1", "n2", "n3"], learners=["n4"])
    for conf in (stable, joint):
        assert conf.vote_result({"n1": True, "n4": True, "n5": True}) is VoteResult.PENDING
        assert conf.committed_index({"n1": 9, "n4": 9, "n5": 9}) == 0
        assert not conf.is_voter("n4")
        assert "n4" in conf.members and "n4" not in conf.all_voters


def test_a_promoted_learner_votes():
    """A learner promoted with add_node becomes a voter: it follows, and its vote is
    now needed (3 of 4) to elect a leader when the old leader is gone."""
    c = Cluster(3, seed=13)
    leader = with_leader(c)
    finish(c, c.add_learner("n4"))
    commit(c, "set a 1")
    finish(c, c.add_node("n4"))
    assert c.nodes["n4"].role == "follower"
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])
    c.crash(leader)
    mark = len(c.trace)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    new = c.leader
    term = c.nodes[new].term
    voters_for_new = {v for v, t, cand in vote_grants(c.trace[mark:]) if t == term and cand == new}
    assert "n4" in voters_for_new or new == "n4"
    c.restart(leader)
    assert_members_agree(c, ["n1", "n2", "n3", "n4"])


# -- single-server changes (thesis §4.1) ---------------------------------------


def test_single_server_mode_refuses_changing_two_voters_at_once():
    """Thesis §4.1: single-server changes are safe only one voter at a time."""
    c = Cluster(3, seed=14, membership="single")
    with_leader(c)
    handle = c.change_members(["n1", "n2", "n3", "n4", "n5"])
    assert not handle.accepted
    assert "one voter at a time" in handle.reason and "n4, n5" in handle.reason
    replace = c.change_members(["n1", "n2", "n4"])
    assert not replace.accepted and "n3, n4" in replace.reason
    commit(c, "set a 1")
    assert_members_agree(c, ["n1", "n2", "n3"])


def test_single_server_mode_appends_c_new_directly_without_a_joint_stage():
    """Thesis §4.1: adding or removing one voter appends C(new) directly; any majority
    of the old set overlaps any majority of the new one."""
    c = Cluster(3, seed=15, membership="single")
    leader = with_leader(c)
    commit(c, "set a 1")
    handle = c.add_node("n4")
    stages = set()
    while handle.outcome == "pending":
        assert c.now < 3.0
        c.step()
        stages.add(c.nodes[leader].membership_stage)
    assert handle.outcome == "done"
    assert "joint" not in stages
    assert any("single-server change: appends {n1,n2,n3,n4}" in t for t in texts(c, "membership"))
    assert not any("enters joint configuration" in t for t in texts(c))
    removed = others(c, leader, "n4")[0]
    finish(c, c.remove_node(removed))
    for node in c.nodes:
        assert not any(conf.is_joint for conf in configurations(c, node)), node
    commit(c, "set b 2")
    assert_members_agree(c, others(c, removed))


# -- removed servers (thesis §4.2.3) -------------------------------------------


def test_a_removed_node_does_not_disrupt_the_cluster():
    """Thesis §4.2.3: a removed server that misses C(new) times out and campaigns, but
    PreVote keeps its term put (nobody who hears the leader grants a pre-vote), so the
    leader keeps its term and keeps committing."""
    c = Cluster(3, seed=16)
    leader = with_leader(c)
    commit(c, "set a 1")
    gone = others(c, leader)[0]
    handle = c.remove_node(gone)
    assert c.run_until(lambda c: c.nodes[gone].members.is_joint, timeout=2.0)
    c.isolate(gone)  # it never learns C(new): it still thinks it is a voter
    finish(c, handle)
    assert c.nodes[gone].members.is_voter(gone)
    term, gone_term = c.nodes[leader].term, c.nodes[gone].term
    c.heal()
    mark = len(c.trace)
    c.run(3.0)
    pre_votes = [
        e for e in c.trace[mark:] if e.text.startswith(f"{gone} -> ") and "PreVote(" in e.text
    ]
    assert pre_votes, "the removed node does campaign"
    assert not [e for e in c.trace[mark:] if f"grants pre-vote to {gone}" in e.text]
    assert c.leader == leader and c.nodes[leader].term == term
    assert c.nodes[gone].term == gone_term
    commit(c, "set b 2")
    assert_members_agree(c, others(c, gone))
