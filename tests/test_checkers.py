"""The safety checkers (sim/check/checkers): each catches a hand-made violation, all stay
silent on correct runs under faults, and a strict Cluster stops at the first alarm.

Hand-made violations come two ways: a checker fed by hand with nodes built from a
disk image (conftest.make_node), or a checker watching a real cluster whose node
state a test tampers with before calling the hook the world would call.
"""

from __future__ import annotations

import random

import pytest
from conftest import entries, make_node
from test_random_faults import _inject_faults

from raft import (
    AppendEntries,
    AppendEntriesResponse,
    AppendLog,
    LogEntry,
    RequestVote,
    Role,
    SaveHardState,
    TruncateLog,
    VoteResponse,
)
from sim import Cluster
from sim.check.checkers import (
    CHECKERS,
    Checker,
    ElectionSafety,
    FollowerAcknowledgements,
    IndexOrder,
    LeaderAppendOnly,
    LeaderCommitRule,
    LeaderCompleteness,
    LogMatching,
    OneVotePerTerm,
    PersistBeforeResponding,
    PersistedStateSurvivesRestart,
    SafetyViolation,
    StateMachineSafety,
    TermsNeverDecrease,
    UpToDateVote,
    default_checkers,
    overriding,
)

QUIET = dict(pre_vote=False, election_timeout=(1.0, 2.0))


def _led_by_n1(**options) -> Cluster:
    """Three nodes, n1 leading term 1 with its first entry committed everywhere."""
    c = Cluster(3, seed=1, **QUIET, **options)
    c.timeout("n1")
    c.run(0.5)
    assert c.leader == "n1" and all(v.commit_index == 1 for v in c.nodes.values())
    return c


def _watching(checker: Checker, cluster: Cluster) -> Checker:
    checker.attach(cluster._world)
    return checker


def _node(cluster: Cluster, node_id: str):
    return cluster._world.nodes[node_id]


# -- Figure 3 ------------------------------------------------------------------


def test_election_safety_reports_a_second_leader_of_a_term_once():
    c = _led_by_n1()
    checker = _watching(ElectionSafety(), c)
    n1, n2 = _node(c, "n1"), _node(c, "n2")
    assert not checker.after_input(n1, 0)
    n2.role = Role.LEADER
    (found,) = checker.after_input(n2, 5)
    assert found.property == "Election Safety" and found.nodes == ("n1", "n2")
    assert found.text == "n2 leads term 1, which n1 already led"
    assert not checker.after_input(n2, 6)


def test_leader_append_only_reports_a_leader_deleting_or_overwriting_its_entries():
    c = _led_by_n1()
    c.submit("set x 1")
    c.run(0.1)
    checker = _watching(LeaderAppendOnly(), c)
    n1 = _node(c, "n1")
    assert not checker.after_input(n1, 0)
    n1.log.truncate_suffix(2)
    (deleted,) = checker.after_input(n1, 1)
    assert "n1, leader of term 1, deleted entries 2..2 of its own log" in deleted.text
    n1.log.append((LogEntry(index=2, term=1, command="set x 1"),))
    assert not checker.after_input(n1, 2)
    n1.term = 2  # a leader of term 2 whose entry 2 gets replaced by one of term 2
    assert not checker.after_input(n1, 3)
    n1.log.truncate_suffix(2)
    n1.log.append((LogEntry(index=2, term=2, command="set x 2"),))
    (overwritten,) = checker.after_input(n1, 4)
    assert "overwrote its entry 2 (term 1, now term 2)" in overwritten.text
    (truncating,) = checker.on_write(n1, TruncateLog(2), 5)
    assert "deletes its entries from 2 on" in truncating.text


def test_log_matching_reports_the_same_entry_after_different_predecessors():
    checker = LogMatching()
    a = make_node("n1", log=(1, 1, 3))
    b = make_node("n2", log=(1, 2, 3))
    assert not checker.on_start(a, 0)
    (found,) = checker.on_start(b, 0)
    assert found.property == "Log Matching" and found.nodes == ("n1", "n2")
    assert found.text.startswith("n2 appended entry 3@3 after an entry of term 2, but n1 holds")


def test_log_matching_reports_two_commands_under_one_index_and_term():
    checker = LogMatching()
    node = make_node("n1", log=(1,))
    assert not checker.on_write(node, AppendLog(tuple(entries(1))), 0)
    other = make_node("n2", log=[LogEntry(index=1, term=1, command="set y 9")])
    (found,) = checker.on_write(other, AppendLog((other.log.entry(1),)), 0)
    assert "n2 holds entry 1@1 set y 9 but n1 holds 1@1 set k1 1" in found.text


def test_log_matching_accepts_copies_of_one_log():
    checker = LogMatching()
    for node_id in ("n1", "n2", "n3"):
        node = make_node(node_id, log=(1, 1, 2, 3))
        assert not checker.on_write(node, AppendLog(tuple(node.log.entries())), 0)


def test_leader_completeness_reports_a_new_leader_without_a_committed_entry():
    c = _led_by_n1()
    checker = _watching(LeaderCompleteness(), c)
    n1, n2 = _node(c, "n1"), _node(c, "n2")
    assert not checker.after_input(n1, 0)  # n1 leads term 1
    c.submit("set x 1")
    c.run(0.1)
    assert n1.commit_index == 2
    assert not checker.after_input(n1, 1)  # n1 committed 2@1
    n2.log.truncate_suffix(2)
    n2.role, n2.term = Role.LEADER, 2
    (found,) = checker.after_input(n2, 2)
    assert found.text.startswith(
        "n2 leads term 2 without entry 2@1, which the leader of term 1 committed "
        "(its log ends at 1)"
    )


def test_leader_completeness_reports_a_commit_that_a_later_leader_lacks():
    c = _led_by_n1()
    checker = _watching(LeaderCompleteness(), c)
    n1, n3 = _node(c, "n1"), _node(c, "n3")
    assert not checker.after_input(n1, 0)
    c.isolate("n3")
    c.submit("set x 1")
    c.run(0.1)
    n3.role, n3.term = Role.LEADER, 5  # a later leader, elected without index 2
    assert not checker.after_input(n3, 1)  # nothing committed before term 5 is missing yet
    (found,) = checker.after_input(n1, 2)
    assert found.nodes == ("n1", "n3")
    assert "n1, leader of term 1, committed entry 2@1, but n3, leader of the later term 5" in (
        found.text
    )


def test_state_machine_safety_reports_two_commands_applied_at_one_index():
    checker = StateMachineSafety()
    assert not checker.on_applied("n1", 2, 1, "set x 1", 0)
    assert not checker.on_applied("n2", 2, 1, "set x 1", 0)
    (found,) = checker.on_applied("n3", 2, 2, "set x 2", 0)
    assert found.text == (
        "n3 applied 'set x 2' (2@2) but n1 applied 'set x 1' (2@1) at the same index"
    )


# -- Figure 2 ------------------------------------------------------------------


def test_terms_never_decrease_while_running_nor_across_a_restart():
    checker = TermsNeverDecrease()
    node = make_node("n2", term=3)
    assert not checker.on_start(node, 0)
    assert not checker.after_input(node, 1)
    node.term = 2
    (down,) = checker.after_input(node, 2)
    assert down.text.startswith("n2's term went down from 3 to 2")
    checker.on_send(VoteResponse(src="n2", dst="n1", term=4, granted=False), 3)
    pre_vote = RequestVote(
        src="n2", dst="n1", term=9, last_log_index=0, last_log_term=0, pre_vote=True
    )
    checker.on_send(pre_vote, 3)  # asks about a term nobody holds yet
    (forgotten,) = checker.on_start(make_node("n2", term=3), 4)
    assert "n2 restarted in term 3, but before it crashed it had sent messages of term 4" in (
        forgotten.text
    )


def test_persist_before_responding_reports_a_term_or_vote_not_yet_on_disk():
    c = _led_by_n1()
    checker = _watching(PersistBeforeResponding(), c)
    assert c._world.disks["n2"].durable.term == 1
    ahead = VoteResponse(src="n2", dst="n3", term=2, granted=False)
    (found,) = checker.on_send(ahead, 0)
    assert "n2 sent VoteResponse(term 2, refused) to n3 while its disk still held term 1" in (
        found.text
    )
    vote = VoteResponse(src="n2", dst="n3", term=1, granted=True)
    (found,) = checker.on_send(vote, 0)
    assert found.text.startswith(
        "n2 granted its vote in term 1 to n3 before the vote was on disk (its disk says vote n1)"
    )
    pre_vote = VoteResponse(src="n2", dst="n3", term=2, granted=True, pre_vote=True)
    assert not checker.on_send(pre_vote, 0)


def test_one_vote_per_term_counts_a_candidates_vote_for_itself():
    checker = OneVotePerTerm()
    assert not checker.on_send(VoteResponse(src="n3", dst="n1", term=7, granted=True), 0)
    assert not checker.on_send(VoteResponse(src="n3", dst="n1", term=7, granted=True), 0)
    assert not checker.on_send(VoteResponse(src="n3", dst="n2", term=7, granted=False), 0)
    (twice,) = checker.on_send(VoteResponse(src="n3", dst="n2", term=7, granted=True), 0)
    assert twice.text.startswith("n3 voted for n2 in term 7 after voting for n1 in the same term")
    campaign = RequestVote(src="n2", dst="n1", term=7, last_log_index=0, last_log_term=0)
    assert not checker.on_send(campaign, 0)
    (found,) = checker.on_send(VoteResponse(src="n2", dst="n3", term=7, granted=True), 0)
    assert "n2 voted for n3 in term 7 after voting for itself" in found.text


def test_up_to_date_vote_reports_a_vote_for_a_candidate_with_a_shorter_log():
    checker = UpToDateVote()
    voter = make_node("n2", term=2, log=(1, 2))
    request = RequestVote(src="n3", dst="n2", term=3, last_log_index=5, last_log_term=1)
    assert not checker.on_deliver(request, voter, 0)
    voter.term, voter.voted_for = 3, "n3"  # the vote a buggy node would grant
    (found,) = checker.after_input(voter, 1)
    assert found.text.startswith(
        "n2 voted for n3 in term 3 although n3's log (ends 5@1) is behind its own (ends 2@2)"
    )
    refused = make_node("n2", term=2, log=(1, 2))
    checker.on_deliver(request, refused, 2)
    assert not checker.after_input(refused, 3)


def test_follower_acknowledgements_must_be_on_disk_and_of_the_current_term():
    c = _led_by_n1(flush_delay=0.05)
    checker = _watching(FollowerAcknowledgements(), c)
    n2 = _node(c, "n2")
    new = LogEntry(index=2, term=1, command="set x 1")
    request = AppendEntries(
        src="n1",
        dst="n2",
        term=1,
        prev_log_index=1,
        prev_log_term=1,
        entries=(new,),
        leader_commit=1,
        seq=99,
    )
    assert not checker.on_deliver(request, n2, 0)
    ack = AppendEntriesResponse(src="n2", dst="n1", term=1, success=True, seq=99, match_index=2)
    (early,) = checker.on_send(ack, 1)
    assert early.property == "Durable Acknowledgement"
    assert early.text.startswith(
        "n2 acknowledged entries up to 2 to n1 before they were on its disk (the disk ends at 1)"
    )
    n2.term = 2  # n2 has moved on to term 2: a term-1 request must be refused
    stale = AppendEntries(
        src="n1",
        dst="n2",
        term=1,
        prev_log_index=0,
        prev_log_term=0,
        leader_commit=1,
        seq=100,
        heartbeat=True,
    )
    checker.on_deliver(stale, n2, 2)
    accepted = AppendEntriesResponse(
        src="n2", dst="n1", term=2, success=True, seq=100, heartbeat=True
    )
    (found,) = checker.on_send(accepted, 3)
    assert found.property == "Stale Term Refused"
    assert "n2 accepted a heartbeat of term 1 from n1 although its own term was 2" in found.text


def test_follower_acknowledgement_must_vouch_for_the_leaders_entry():
    c = _led_by_n1()
    checker = _watching(FollowerAcknowledgements(), c)
    n2 = _node(c, "n2")
    other = LogEntry(index=1, term=7, command="set x 1")
    request = AppendEntries(
        src="n1",
        dst="n2",
        term=1,
        prev_log_index=0,
        prev_log_term=0,
        entries=(other,),
        leader_commit=1,
        seq=5,
    )
    checker.on_deliver(request, n2, 0)
    ack = AppendEntriesResponse(src="n2", dst="n1", term=1, success=True, seq=5, match_index=1)
    (found,) = checker.on_send(ack, 1)
    assert "n2 acknowledged entry 1@7 to n1, but its disk holds an entry of term 1 there" in (
        found.text
    )


def test_leader_commit_rule_reports_a_commit_without_a_quorum_on_disk():
    c = _led_by_n1()
    checker = _watching(LeaderCommitRule(), c)
    n1 = _node(c, "n1")
    assert not checker.after_input(n1, 0)
    c.isolate("n1")
    c.submit("set x 1")
    c.run(0.05)
    n1.ballot_box.commit_index = 2  # as if n1 had counted acknowledgements it never got
    (found,) = checker.after_input(n1, 1)
    assert found.text.startswith(
        "n1, leader of term 1, committed index 2 but only n1 of {n1,n2,n3} holds it on disk; "
        "committing needs 2 of 3"
    )


def test_leader_commit_rule_reports_an_old_term_entry_committed_by_counting_replicas():
    c = Cluster(3, seed=1, **QUIET, initial_logs={"n1": [1, 1], "n2": [1, 1], "n3": [1]})
    c.hold("n1", "n2")  # n2 holds index 2 (term 1) but hears nothing from n1
    c.timeout("n1")
    assert c.run_until(lambda c: c.nodes["n1"].role == "leader", timeout=1.0)
    c.hold("n1", "n3")  # n3 voted, and hears nothing more: index 3 (term 2) stays on n1
    c.run(0.1)
    n1 = _node(c, "n1")
    assert n1.role is Role.LEADER and n1.term == 2 and n1.commit_index == 0
    checker = _watching(LeaderCommitRule(), c)
    assert not checker.after_input(n1, 0)
    n1.ballot_box.commit_index = 2  # index 2 (term 1) is on n1 and n2: a majority
    (found,) = checker.after_input(n1, 1)
    assert found.text.startswith(
        "n1, leader of term 2, committed index 2, an entry of term 1, by counting replicas"
    )


def test_index_order_reports_applying_past_the_commit_index_once():
    checker = IndexOrder()
    node = make_node("n2", log=(1, 1))
    assert not checker.after_input(node, 0)
    node.fsm.last_applied = 1
    (found,) = checker.after_input(node, 1)
    assert found.text.startswith(
        "n2 has applied entries up to 1, but knows them committed only up to 0"
    )
    assert not checker.after_input(node, 2)  # still broken: said once
    node.fsm.last_applied = 0
    assert not checker.after_input(node, 3)  # back in order
    node.ballot_box.commit_index = 3
    (beyond,) = checker.after_input(node, 3)
    assert beyond.text.startswith("n2 takes entries up to 3 as committed, but its log ends at 2")


def test_persisted_state_survives_restart_compares_with_the_last_durable_term_and_vote():
    checker = PersistedStateSurvivesRestart()
    checker.on_durable("n2", [SaveHardState(4, None), SaveHardState(5, "n1")], 0)
    assert not checker.on_start(make_node("n2", term=5, voted_for="n1"), 1)
    assert not checker.on_start(make_node("n2", term=6), 1)
    (found,) = checker.on_start(make_node("n2", term=5), 2)
    assert found.text.startswith(
        "n2 restarted with term 5, vote -, but its disk had made term 5, vote n1 durable"
    )


# -- the world, the trace and the Cluster options --------------------------------


def test_a_hook_is_called_only_on_the_checkers_that_override_it():
    checkers = default_checkers()
    assert [type(c) for c in overriding(checkers, "on_durable")] == [PersistedStateSurvivesRestart]
    on_send = {type(c) for c in overriding(checkers, "on_send")}
    assert ElectionSafety not in on_send and OneVotePerTerm in on_send


def test_a_violation_is_recorded_in_the_trace_as_an_alarm():
    c = Cluster(3, seed=1, **QUIET, bugs=["double_vote"])
    c.timeout("n1")
    c.timeout("n2")
    c.run(0.2)
    alarms = [e for e in c.trace if e.kind == "violation"]
    assert len(alarms) == len(c.violations) >= 2
    assert alarms[0].component == "Checker"
    assert alarms[0].text == f"SAFETY VIOLATION: {c.violations[0]}"
    assert str(c.violations[0]).startswith("One Vote Per Term violated at 0.0")


def test_strict_mode_raises_at_the_first_violation_after_tracing_it():
    c = Cluster(3, seed=1, **QUIET, bugs=["double_vote"], strict=True)
    c.timeout("n1")
    c.timeout("n2")
    with pytest.raises(SafetyViolation, match="One Vote Per Term violated") as raised:
        c.run(0.2)
    assert raised.value.violation == c.violations[0]
    assert len(c.violations) == 1
    assert [e.text for e in c.trace if e.kind == "violation"] == [
        f"SAFETY VIOLATION: {c.violations[0]}"
    ]
    assert c.now < 0.2, "the run stopped at the violation"


def test_checkers_can_be_chosen_or_switched_off():
    assert [type(c) for c in Cluster(3, checkers="none")._world.observers] == []
    chosen = Cluster(3, checkers=["election_safety", "log_matching"])._world.observers
    assert [type(c) for c in chosen] == [ElectionSafety, LogMatching]
    assert len(Cluster(3)._world.observers) == len(CHECKERS)
    quiet = Cluster(3, seed=1, **QUIET, bugs=["double_vote"], checkers="none")
    quiet.timeout("n1")
    quiet.timeout("n2")
    quiet.run(0.2)
    assert quiet.violations == []
    with pytest.raises(ValueError, match="unknown checker 'log_matchin'"):
        Cluster(3, checkers=["log_matchin"])


def test_rewinding_and_replaying_finds_the_same_violations():
    c = Cluster(3, seed=1, **QUIET, bugs=["double_vote"])
    c.timeout("n1")
    c.timeout("n2")
    c.run(0.2)
    found = c.violations
    c.goto(0)
    assert c.violations == []
    c.run(0.2)
    assert c.violations == found


def test_checkers_forget_what_snapshots_compacted_on_every_disk():
    c = Cluster(3, seed=1, snapshot_interval=50)
    assert c.run_until(lambda c: c.leader is not None)
    for i in range(3000):
        c.submit(f"set k{i % 10} {i}")
        c.run(0.001)
    c.run(0.5)
    checkers = {type(k): k for k in c._world.observers}
    assert c.violations == []
    assert len(checkers[StateMachineSafety]._applied) < 1200
    assert len(checkers[LogMatching]._seen) < 1200


@pytest.mark.parametrize("seed", range(10))
def test_checkers_stay_silent_under_crashes_partitions_membership_changes_and_snapshots(
    seed: int,
) -> None:
    rng = random.Random(seed)
    c = Cluster(
        rng.choice([3, 5]),
        seed=seed,
        drop=rng.choice([0.0, 0.05, 0.2]),
        duplicate=rng.choice([0.0, 0.05]),
        reorder=rng.random() < 0.3,
        pre_vote=rng.random() < 0.7,
        check_quorum=rng.random() < 0.5,
        membership=rng.choice(["joint", "single"]),
        snapshot_interval=rng.choice([0, 5, 20]),
        flush_delay=rng.choice([0.0005, 0.002, 0.02]),
        max_entries_per_request=rng.choice([1, 3, 16]),
        strict=True,
    )
    _inject_faults(c, rng, rounds=80, admin=True)
    c.heal()
    c.run(1.0)
    assert c.violations == []
