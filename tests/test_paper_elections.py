"""Raft §5.1 (terms), §5.2 (leader election), §5.4.1 (election restriction), and PreVote.

One test per rule of the paper, named after the behaviour, in the manner of
etcd's raft_paper_test.go. Rules that need exact control drive a raft.Node by
hand; the rest use the public Cluster API.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from conftest import (
    announced_term,
    elected,
    entries,
    faulty_run,
    make_durable,
    make_leader,
    make_node,
    sent,
    vote_grants,
)

from raft import (
    ELECTION_TIMER,
    HEARTBEAT_TIMER,
    AppendEntries,
    AppendEntriesResponse,
    CancelTimer,
    DurableState,
    Persist,
    RequestVote,
    SaveHardState,
    VoteResponse,
)
from sim import Cluster


def _with_leader(c: Cluster, settle: float = 0.3) -> str:
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    c.run(settle)
    return c.leader


def _request_vote(src: str, term: int, last_index: int, last_term: int, **kw) -> RequestVote:
    return RequestVote(
        src=src, dst="n1", term=term, last_log_index=last_index, last_log_term=last_term, **kw
    )


def _step_until(c: Cluster, wanted, limit: int = 10_000):
    """Step until an event satisfies `wanted`; returns that event."""
    for _ in range(limit):
        for event in c.step():
            if wanted(event):
                return event
    raise AssertionError("the awaited event never happened")


def _vote_replies(outputs) -> list[VoteResponse]:
    return [m for m in sent(outputs) if isinstance(m, VoteResponse)]


# -- §5.1 terms -----------------------------------------------------------------

HIGHER_TERM_MESSAGES = {
    "RequestVote": lambda: _request_vote("n2", 5, 0, 0),
    "VoteResponse": lambda: VoteResponse(src="n2", dst="n1", term=5, granted=False),
    "AppendEntries": lambda: AppendEntries(
        src="n2", dst="n1", term=5, prev_log_index=0, prev_log_term=0, leader_commit=0, seq=1
    ),
    "Heartbeat": lambda: AppendEntries(
        src="n2",
        dst="n1",
        term=5,
        prev_log_index=0,
        prev_log_term=0,
        leader_commit=0,
        seq=1,
        heartbeat=True,
    ),
    "AppendEntriesResponse": lambda: AppendEntriesResponse(
        src="n2", dst="n1", term=5, success=False, seq=1
    ),
}


def _node_in_role(role: str):
    if role == "leader":
        return make_leader(term=2)
    node = make_node(term=2)
    if role == "candidate":
        node.fire(ELECTION_TIMER, node.election_deadline)
        node.take_outputs()
    assert node.role.value == role and node.term <= 3
    return node


@pytest.mark.parametrize("message", list(HIGHER_TERM_MESSAGES))
@pytest.mark.parametrize("role", ["follower", "candidate", "leader"])
def test_node_adopts_higher_term_from_any_message_and_becomes_follower(role, message):
    """Raft §5.1: "If a server's current term is smaller than the other's, it updates
    its current term to the larger value. If a candidate or leader discovers that its
    term is out of date, it immediately reverts to follower state." """
    node = _node_in_role(role)
    node.receive(HIGHER_TERM_MESSAGES[message](), 1_000_000)
    outputs = node.take_outputs()
    assert node.term == 5
    assert node.role.value == "follower"
    assert node.voted_for != "n1", "a vote of an older term must not carry over"
    saved = [o.write for o in outputs if isinstance(o, Persist)]
    assert any(isinstance(w, SaveHardState) and w.term == 5 for w in saved), saved
    if role == "leader":
        cancelled = [o.name for o in outputs if isinstance(o, CancelTimer)]
        assert HEARTBEAT_TIMER in cancelled, "a deposed leader stops heartbeating"


def test_leader_steps_down_on_higher_term():
    """Raft §5.1: a leader cut off while the others elect a new leader learns the
    higher term once the partition heals, and steps down to follower."""
    c = Cluster(5, seed=3)
    old = _with_leader(c)
    old_term = c.nodes[old].term
    c.isolate(old)
    assert c.run_until(lambda c: c.leader not in (None, old), timeout=3.0)
    new = c.leader
    new_term = c.nodes[new].term
    assert new_term > old_term
    assert c.nodes[old].role == "leader", "cut off, the old leader does not know yet"
    healed_at = len(c.trace)
    c.heal()
    assert c.run_until(lambda c: c.nodes[old].role == "follower", timeout=1.0)
    assert c.nodes[old].term >= new_term
    texts = [e.text for e in c.trace[healed_at:] if e.node == old]
    assert any(re.match(rf"{old} sees term \d+ > {old_term} in ", t) for t in texts), texts
    assert f"{old} stops leading term {old_term}" in texts
    assert c.leader == new and c.nodes[new].term == new_term


def test_stale_request_vote_is_refused_with_current_term():
    """Raft §5.1: "If a server receives a request with a stale term number, it rejects
    the request", and its reply carries its own, higher term (Figure 2: RequestVote
    "Reply false if term < currentTerm")."""
    node = make_node(term=3, log=(1,))
    # The candidate's log is more up-to-date: only its term is wrong.
    node.receive(_request_vote("n2", 2, 5, 2), 1_000)
    outputs = node.take_outputs()
    (reply,) = _vote_replies(outputs)
    assert not reply.granted
    assert reply.term == 3
    assert node.term == 3 and node.voted_for is None
    assert not any(isinstance(o, Persist) for o in outputs)


@pytest.mark.parametrize("heartbeat", [False, True], ids=["append", "heartbeat"])
def test_stale_append_entries_is_rejected_with_current_term(heartbeat):
    """Raft §5.1, Figure 2 (AppendEntries: "Reply false if term < currentTerm"): the
    follower keeps its log and its leader, and tells the stale leader the newer term."""
    node = make_node(term=3, log=(1,))
    stale = AppendEntries(
        src="n2",
        dst="n1",
        term=2,
        prev_log_index=0 if heartbeat else 1,
        prev_log_term=0 if heartbeat else 1,
        entries=() if heartbeat else tuple(entries(1, 2)[1:]),
        leader_commit=2,
        seq=7,
        heartbeat=heartbeat,
    )
    node.receive(stale, 1_000)
    outputs = node.take_outputs()
    (reply,) = sent(outputs)
    assert isinstance(reply, AppendEntriesResponse)
    assert not reply.success
    assert reply.term == 3
    assert [e.term for e in node.log.entries()] == [1]
    assert node.commit_index == 0
    assert node.leader_id != "n2"
    assert not any(isinstance(o, Persist) for o in outputs)


def test_leader_ignores_acknowledgements_of_an_earlier_term():
    """Raft §5.1: a stale message is ignored; an acknowledgement sent to the leader
    of an earlier term does not count towards a commit in the current one."""
    leader = make_leader(term=2, log=(1,))
    assert leader.term == 3
    now = 1_000_000
    leader.persisted(leader.outbox.write_seq, now)  # its own entry 2@3 is on disk
    leader.take_outputs()
    stale = AppendEntriesResponse(src="n2", dst="n1", term=2, success=True, seq=1, match_index=2)
    leader.receive(stale, now)
    leader.take_outputs()
    assert leader.commit_index == 0
    current = AppendEntriesResponse(src="n2", dst="n1", term=3, success=True, seq=1, match_index=2)
    leader.receive(current, now)
    assert leader.commit_index == 2, "the same acknowledgement in the leader's term commits"


def test_terms_never_decrease_over_a_faulty_run():
    """Raft §5.1: "Current terms are exchanged whenever servers communicate" and only
    ever grow. Polled after every step of a run with crashes, partitions, loss and
    duplication; across a restart, a node comes back with at least every term it
    had already announced to others."""
    run = faulty_run()
    assert run.term_decreases == []
    assert len(run.restarts) >= 5
    forgotten = [(n, said, back) for n, said, back in run.restarts if back < said]
    assert forgotten == [], "node, term announced before the crash, term after restart"


def test_term_sent_in_a_reply_survives_a_crash():
    """Raft §5.1 and Figure 2: currentTerm is "updated on stable storage before
    responding to RPCs". A node that has told another its new term must still hold
    that term after a crash, whatever instant the crash hits."""
    c = Cluster(3, seed=2, pre_vote=False, flush_delay=0.01)
    old = _with_leader(c, settle=0.0)
    lonely = [n for n in c.nodes if n != old][-1]
    c.isolate(lonely)
    c.submit("set a 1")
    c.run(1.0)  # the lonely node campaigns again and again, raising its term
    assert c.nodes[lonely].term > c.nodes[old].term
    term_before = c.nodes[old].term
    c.heal()
    told = None
    while told is None:
        for event in c.step():
            term = announced_term(event)
            if event.node == old and term is not None and term > term_before:
                told = term
    c.crash(old)
    c.restart(old)
    assert c.nodes[old].term >= told, (
        f"{old} announced term {told}, then restarted in term {c.nodes[old].term}: "
        + " | ".join(e.text for e in c.trace[-8:])
    )


# -- §5.2 leader election -----------------------------------------------------------


def test_follower_campaigns_after_hearing_nothing_for_an_election_timeout():
    """Raft §5.2: "If a follower receives no communication over a period of time called
    the election timeout, then it ... begins an election": it increments its term,
    votes for itself and becomes a candidate. The timeout is drawn from 150-300 ms."""
    c = Cluster(5, seed=4, pre_vote=False)
    old = _with_leader(c)
    term = c.nodes[old].term
    c.crash(old)
    last_heard: dict[str, float] = {}
    for event in c.trace:
        if event.kind == "receive" and event.text.endswith(f" from {old}"):
            last_heard[event.node] = event.time
    campaign = None
    while campaign is None:
        for event in c.step():
            if event.kind == "timeout" and event.component == "Node":
                campaign = event
    node = campaign.node
    waited = campaign.time - last_heard[node]
    assert 0.150 <= waited <= 0.300, waited
    assert c.nodes[node].role == "candidate"
    assert c.nodes[node].term == term + 1
    assert c.nodes[node].voted_for == node


def test_follower_does_not_campaign_while_it_hears_from_the_leader():
    """Raft §5.2: "A server remains in follower state as long as it receives valid
    RPCs from a leader": with heartbeats every 50 ms nobody times out."""
    c = Cluster(5, seed=4, pre_vote=False)
    leader = _with_leader(c)
    term = c.nodes[leader].term
    start = len(c.trace)
    c.run(3.0)
    assert [e.text for e in c.trace[start:] if e.kind in ("timeout", "campaign")] == []
    assert c.leader == leader
    assert {v.term for v in c.nodes.values()} == {term}


def test_candidate_with_votes_from_a_majority_becomes_leader():
    """Raft §5.2: "A candidate wins an election if it receives votes from a majority of
    the servers in the full cluster for the same term." Refusals do not count."""
    voters = ("n1", "n2", "n3", "n4", "n5")
    node = make_node(voters=voters)
    now = node.election_deadline
    node.fire(ELECTION_TIMER, now)
    outputs = node.take_outputs()
    assert node.role.value == "candidate" and node.term == 1 and node.voted_for == "n1"
    requests = sent(make_durable(node, outputs, now))
    assert sorted(m.dst for m in requests) == ["n2", "n3", "n4", "n5"]
    assert all(isinstance(m, RequestVote) and m.term == 1 for m in requests)

    def answer(src: str, granted: bool) -> None:
        node.receive(VoteResponse(src=src, dst="n1", term=1, granted=granted), now + 5_000)

    answer("n2", True)
    answer("n3", False)
    answer("n3", False)
    assert node.role.value == "candidate", "2 of 5 is not a majority"
    answer("n4", True)
    assert node.role.value == "leader", "n1, n2 and n4 are 3 of 5"
    assert node.term == 1


def test_every_leader_was_granted_votes_by_a_majority():
    """Raft §5.2: over a faulty run, each node that became leader of a term had been
    sent granted votes from a majority of the 5 servers (itself included)."""
    run = faulty_run()
    grants: dict[tuple[str, int], set[str]] = defaultdict(set)
    for voter, term, candidate in vote_grants(run.cluster.trace):
        grants[(candidate, term)].add(voter)
    leaders = elected(run.cluster.trace)
    assert len(leaders) >= 4
    for term, nodes in leaders.items():
        for node in nodes:
            assert len(grants[(node, term)] | {node}) >= 3, (term, node, grants[(node, term)])


def test_node_grants_at_most_one_vote_per_term():
    """Raft §5.2: "Each server will vote for at most one candidate in a given term, on a
    first-come-first-served basis." Asking again for the same candidate is harmless."""
    node = make_node(term=1)
    node.receive(_request_vote("n2", 2, 0, 0), 1_000)
    replies = _vote_replies(make_durable(node, node.take_outputs(), 2_000))
    assert [(r.dst, r.term, r.granted) for r in replies] == [("n2", 2, True)]
    node.receive(_request_vote("n3", 2, 0, 0), 3_000)
    replies = _vote_replies(make_durable(node, node.take_outputs(), 4_000))
    assert [(r.dst, r.term, r.granted) for r in replies] == [("n3", 2, False)]
    assert node.voted_for == "n2"
    node.receive(_request_vote("n2", 2, 0, 0), 5_000)  # a duplicate of the first request
    replies = _vote_replies(make_durable(node, node.take_outputs(), 6_000))
    assert [(r.dst, r.granted) for r in replies] == [("n2", True)]
    node.receive(_request_vote("n3", 3, 0, 0), 7_000)
    replies = _vote_replies(make_durable(node, node.take_outputs(), 8_000))
    assert [(r.dst, r.term, r.granted) for r in replies] == [("n3", 3, True)], "a new term"


def test_vote_is_on_disk_before_it_is_granted():
    """Raft §5.2 with Figure 2 ("updated on stable storage before responding to RPCs"):
    the grant leaves only once the vote is durable, so a node rebuilt from its disk
    after the grant still refuses a second candidate of that term."""
    disk = DurableState(term=1)
    node = make_node(term=1)
    node.receive(_request_vote("n2", 2, 0, 0), 1_000)
    outputs = node.take_outputs()
    assert _vote_replies(outputs) == [], "no grant before the vote is durable"
    assert SaveHardState(2, "n2") in [o.write for o in outputs if isinstance(o, Persist)]
    # A crash now loses the vote, and nobody was told of it: voting anew is safe.
    replies = _vote_replies(make_durable(node, outputs, 2_000, disk))
    assert [(r.dst, r.term, r.granted) for r in replies] == [("n2", 2, True)]
    assert (disk.term, disk.voted_for) == (2, "n2")
    reborn = make_node(term=disk.term, voted_for=disk.voted_for, log=disk.entries)
    reborn.receive(_request_vote("n3", 2, 0, 0), 3_000)
    replies = _vote_replies(make_durable(reborn, reborn.take_outputs(), 4_000))
    assert [(r.dst, r.term, r.granted) for r in replies] == [("n3", 2, False)]


def test_vote_survives_a_crash_right_after_the_grant_is_sent():
    """Raft §5.2: one vote per term, even across a crash. n2 grants n1 its vote for
    term 1 and crashes the moment the reply is on the wire; restarted, it remembers the
    vote and refuses n3, which campaigns for the same term 1."""
    c = Cluster(3, seed=5, pre_vote=False)
    c.cut("n1", "n3")  # n3 must not learn of term 1 before it campaigns in it
    c.cut("n3", "n2")
    c.timeout("n1", 0.01)
    _step_until(
        c, lambda e: e.kind == "send" and e.text.startswith("n2 -> n1 VoteResponse(term 1, granted")
    )
    c.crash("n2")
    c.restart("n2")
    assert (c.nodes["n2"].term, c.nodes["n2"].voted_for) == (1, "n1")
    # Keep n2's log as empty as n3's, so that only the vote can decide.
    c.heal()
    c.cut("n1", "n3")
    c.cut("n1", "n2")
    assert c.run_until(lambda c: c.leader == "n1", timeout=1.0)
    assert c.nodes["n3"].term == 0 and c.nodes["n2"].log == c.nodes["n3"].log == []
    c.timeout("n3", 0.0)
    answer = _step_until(
        c, lambda e: e.text.startswith("n2 ") and " vote to n3 for term 1" in e.text
    )
    assert answer.text == "n2 refuses vote to n3 for term 1: already voted for n1 in term 1"
    c.run(0.1)
    assert elected(c.trace).get(1) == {"n1"}
    assert not any(
        voter == "n2" and term == 1 and cand != "n1" for voter, term, cand in vote_grants(c.trace)
    )


def test_at_most_one_vote_per_term_over_a_faulty_run():
    """Raft §5.2: no node ever grants its vote to two candidates in one term, through
    crashes and restarts, loss, duplication and partitions."""
    run = faulty_run()
    votes: dict[tuple[str, int], set[str]] = defaultdict(set)
    for voter, term, candidate in vote_grants(run.cluster.trace):
        votes[(voter, term)].add(candidate)
    assert len(votes) >= 10
    assert {k: v for k, v in votes.items() if len(v) > 1} == {}


def test_candidate_becomes_follower_when_a_leader_of_its_term_appears():
    """Raft §5.2: "If the leader's term ... is at least as large as the candidate's
    current term, then the candidate recognizes the leader as legitimate and returns to
    follower state." It keeps its term and its vote."""
    node = make_node(term=1)
    campaign_at = node.election_deadline
    node.fire(ELECTION_TIMER, campaign_at)
    make_durable(node, node.take_outputs(), campaign_at)  # term 2 and the vote reach disk
    assert node.role.value == "candidate" and node.term == 2
    heartbeat = AppendEntries(
        src="n2",
        dst="n1",
        term=2,
        prev_log_index=0,
        prev_log_term=0,
        leader_commit=0,
        seq=1,
        heartbeat=True,
    )
    node.receive(heartbeat, node.election_deadline - 1)
    (reply,) = sent(node.take_outputs())
    assert node.role.value == "follower"
    assert node.leader_id == "n2"
    assert (node.term, node.voted_for) == (2, "n1")
    assert reply.success and reply.term == 2


def test_split_votes_are_retried_with_new_random_timeouts_until_someone_wins():
    """Raft §5.2: when votes split "each candidate will time out and start a new
    election by incrementing its term"; "election timeouts are chosen randomly from a
    fixed interval (e.g., 150-300ms)" so that one server usually wins the next round.

    All five nodes time out at the same instant: each votes for itself, so nobody wins
    term 1. Each draws a fresh timeout; the earliest retries first and wins."""
    c = Cluster(5, seed=6, pre_vote=False)
    for node in c.nodes:
        c.timeout(node, 0.01)
    c.run(0.012)
    assert [v.role for v in c.nodes.values()] == ["candidate"] * 5
    assert all(v.term == 1 and v.voted_for == v.id for v in c.nodes.values())
    deadlines = {n: v.election_deadline for n, v in c.nodes.items()}
    assert all(0.01 + 0.150 <= d <= 0.01 + 0.300 for d in deadlines.values()), deadlines
    assert len(set(deadlines.values())) == 5, "each candidate draws its own timeout"
    c.run(0.1)
    assert c.leader is None, "a split vote elects nobody in term 1"
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    assert 1 not in elected(c.trace)
    first = min(deadlines, key=deadlines.get)
    assert any(e.text.startswith(f"{first} becomes candidate for term 2") for e in c.trace), (
        "the node whose new timeout ran out first started the next round"
    )
    assert c.nodes[c.leader].term >= 2


def test_repeated_split_votes_end_with_a_single_leader():
    """Raft §5.2: with a narrow timeout range split votes repeat, yet randomization
    ends them: some term eventually elects exactly one leader."""
    c = Cluster(5, seed=1, pre_vote=False, election_timeout=(0.150, 0.156))
    for node in c.nodes:
        c.timeout(node, 0.01)
    assert c.run_until(lambda c: c.leader is not None, timeout=10.0)
    leaders = elected(c.trace)
    term = c.nodes[c.leader].term
    assert term >= 3, "more than one round was needed"
    assert all(t not in leaders for t in range(1, term)), "no earlier term had a leader"
    assert leaders[term] == {c.leader}


def test_at_most_one_leader_per_term_over_a_faulty_run():
    """Raft §5.2 (Election Safety, Figure 3): at most one leader can be elected in a
    given term, polled after every step and read back from the trace."""
    run = faulty_run()
    assert len(run.leaders_seen) >= 4
    assert {t: n for t, n in run.leaders_seen.items() if len(n) > 1} == {}
    assert {t: n for t, n in elected(run.cluster.trace).items() if len(n) > 1} == {}
    assert run.leaders_seen.keys() <= elected(run.cluster.trace).keys()
    assert run.cluster.violations == []


# -- §5.4.1 election restriction ------------------------------------------------------


def test_voter_refuses_candidate_whose_last_term_is_lower():
    """Raft §5.4.1: "If the logs have last entries with different terms, then the log
    with the later term is more up-to-date" — even if it is shorter."""
    node = make_node(term=3, log=(1, 1, 3))
    node.receive(_request_vote("n2", 4, 10, 2), 1_000)
    outputs = node.take_outputs()
    (reply,) = _vote_replies(make_durable(node, outputs, 2_000))
    assert not reply.granted and reply.term == 4
    assert node.voted_for is None


def test_voter_refuses_candidate_with_same_last_term_but_shorter_log():
    """Raft §5.4.1: "If the logs end with the same term, then whichever log is longer
    is more up-to-date." """
    node = make_node(term=3, log=(1, 3, 3))
    node.receive(_request_vote("n2", 4, 2, 3), 1_000)
    (reply,) = _vote_replies(make_durable(node, node.take_outputs(), 2_000))
    assert not reply.granted
    assert node.voted_for is None


@pytest.mark.parametrize(
    "last_index, last_term",
    [(3, 3), (4, 3), (1, 4)],
    ids=["identical", "same-term-longer", "later-term-shorter"],
)
def test_voter_grants_candidate_at_least_as_up_to_date(last_index, last_term):
    """Raft §5.4.1: "the voter denies its vote if its own log is more up-to-date than
    that of the candidate"; a log at least as up-to-date gets the vote."""
    node = make_node(term=3, log=(1, 3, 3))
    node.receive(_request_vote("n2", 4, last_index, last_term), 1_000)
    (reply,) = _vote_replies(make_durable(node, node.take_outputs(), 2_000))
    assert reply.granted
    assert node.voted_for == "n2"


def test_cluster_elects_only_a_candidate_with_an_up_to_date_log():
    """Raft §5.4.1 in a cluster: n1's log ends in term 1, behind n2 and n3 (term 2), so
    both refuse it; n2's log is shorter than n3's, so n3 refuses n2, but n1 grants it
    and n2 wins with the two votes."""
    logs = {"n1": [1, 1, 1, 1], "n2": [1, 2], "n3": [1, 2, 2]}
    c = Cluster(3, seed=3, pre_vote=False, initial_logs=logs)
    c.timeout("n1", 0.01)
    c.run(0.05)
    texts = [e.text for e in c.trace]
    assert (
        "n2 refuses vote to n1 for term 3: candidate's last log term 1 < 2 (Raft §5.4.1)" in texts
    )
    assert (
        "n3 refuses vote to n1 for term 3: candidate's last log term 1 < 2 (Raft §5.4.1)" in texts
    )
    assert c.leader is None
    c.timeout("n2", 0.0)
    c.run(0.05)
    texts = [e.text for e in c.trace]
    assert any(t.startswith("n1 grants vote to n2 for term 4") for t in texts)
    assert any(
        t.startswith("n3 refuses vote to n2 for term 4: candidate's log ends at 2 < 3")
        for t in texts
    )
    # n2 is at least as up-to-date as n1: their two votes are a majority of three.
    assert c.leader == "n2" and c.nodes["n2"].term == 4
    assert elected(c.trace) == {4: {"n2"}}


# -- PreVote (thesis §9.6) -------------------------------------------------------------


def _partitioned_follower_term(pre_vote: bool) -> tuple[Cluster, str, str, int]:
    c = Cluster(5, seed=8, pre_vote=pre_vote)
    leader = _with_leader(c)
    lonely = next(n for n in c.nodes if n != leader)
    term = c.nodes[lonely].term
    c.isolate(lonely)
    c.run(2.0)
    return c, leader, lonely, term


def test_prevote_keeps_a_partitioned_node_from_raising_its_term():
    """Thesis §9.6: with PreVote a node that cannot reach a majority keeps timing out,
    but only asks whether it could win, so its term never rises."""
    c, _, lonely, term = _partitioned_follower_term(pre_vote=True)
    attempts = [
        e
        for e in c.trace
        if e.node == lonely and e.kind == "timeout" and "pre-vote for term" in e.text
    ]
    assert len(attempts) >= 5
    assert all(f"pre-vote for term {term + 1} (own term stays {term})" in e.text for e in attempts)
    assert c.nodes[lonely].term == term
    assert c.nodes[lonely].role == "follower"


def test_without_prevote_a_partitioned_node_raises_its_term_on_every_timeout():
    """Raft §5.2 without PreVote: a cut-off node campaigns on every timeout, each time
    in a new term, which is what PreVote is there to prevent."""
    c, _, lonely, term = _partitioned_follower_term(pre_vote=False)
    campaigns = [e for e in c.trace if e.node == lonely and e.kind == "campaign"]
    assert len(campaigns) >= 5
    assert c.nodes[lonely].term == term + len(campaigns)


def test_prevote_healed_node_does_not_disrupt_the_leader():
    """Thesis §9.6: once the partition heals, the node that was cut off rejoins as a
    follower; the leader keeps its leadership and its term."""
    c, leader, lonely, term = _partitioned_follower_term(pre_vote=True)
    c.submit("set y 2")
    start = len(c.trace)
    c.heal()
    c.run(2.0)
    assert c.leader == leader
    assert {v.term for v in c.nodes.values()} == {term}
    assert not any(e.kind in ("campaign", "term") for e in c.trace[start:])
    assert c.nodes[lonely].leader_id == leader
    assert c.nodes[lonely].log == c.nodes[leader].log


def test_without_prevote_healed_node_disrupts_the_leader():
    """Raft §5.1 without PreVote: the node that was cut off returns with a higher term,
    and the leader, seeing it, must step down."""
    c, leader, lonely, term = _partitioned_follower_term(pre_vote=False)
    c.heal()
    assert c.run_until(lambda c: c.nodes[leader].term > term, timeout=1.0)
    assert f"{leader} stops leading term {term}" in [e.text for e in c.trace]


def test_prevote_request_changes_neither_term_nor_vote_of_the_voter():
    """Thesis §9.6: a PreVote asks about term + 1 without anyone adopting it; the
    voter grants it (no leader heard, log up to date) but stays in its term, unvoted."""
    node = make_node(term=2, log=(1, 2), pre_vote=True)
    node.receive(_request_vote("n2", 3, 2, 2, pre_vote=True), node.election_deadline + 1)
    outputs = node.take_outputs()
    (reply,) = _vote_replies(outputs)
    assert reply.granted and reply.pre_vote and reply.term == 3
    assert (node.term, node.voted_for) == (2, None)
    assert not any(isinstance(o, Persist) for o in outputs)


def test_prevote_candidate_keeps_its_term_while_asking():
    """Thesis §9.6: the node asking in a pre-vote sends term + 1 but neither raises its
    own term nor votes for itself until a majority says it could win."""
    node = make_node(term=2, log=(1, 2), pre_vote=True)
    now = node.election_deadline
    node.fire(ELECTION_TIMER, now)
    outputs = node.take_outputs()
    asks = sent(outputs)
    assert sorted(m.dst for m in asks) == ["n2", "n3"]
    assert all(m.pre_vote and m.term == 3 for m in asks)
    assert (node.term, node.voted_for, node.role.value) == (2, None, "follower")
    assert not any(isinstance(o, Persist) for o in outputs)
    node.receive(VoteResponse(src="n2", dst="n1", term=3, granted=True, pre_vote=True), now + 1)
    outputs = node.take_outputs()
    assert (node.term, node.voted_for, node.role.value) == (3, "n1", "candidate")
    assert SaveHardState(3, "n1") in [o.write for o in outputs if isinstance(o, Persist)]
