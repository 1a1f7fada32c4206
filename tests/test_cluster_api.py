"""The public Cluster API, as DESIGN.md ("Public API", "Precise meanings") promises it."""

from __future__ import annotations

import re

import pytest

from sim import Cluster


def elected(n: int = 3, seed: int = 1, settle: float = 0.2) -> Cluster:
    """A cluster with a leader that every follower has heard from."""
    c = Cluster(n, seed=seed)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    c.run(settle)
    return c


def followers(c: Cluster) -> list[str]:
    return [i for i, v in c.nodes.items() if v.running and v.role == "follower"]


def log_of(c: Cluster, node_id: str) -> list[tuple[int, int, str | None]]:
    return [(e.index, e.term, e.command) for e in c.nodes[node_id].log]


def committed_submit(c: Cluster, command: str) -> object:
    handle = c.submit(command)
    assert handle.accepted, handle.reason
    assert c.run_until(lambda c: handle.committed and handle.result is not None, timeout=2.0)
    return handle


# -- basics -------------------------------------------------------------------


def test_nodes_are_named_n1_to_n_in_order():
    assert list(Cluster(5, seed=1).nodes) == ["n1", "n2", "n3", "n4", "n5"]
    assert list(Cluster(11, seed=1).nodes)[-3:] == ["n9", "n10", "n11"]
    assert Cluster(3, seed=1).nodes["n2"].id == "n2"


def test_now_is_a_float_in_seconds():
    c = Cluster(3, seed=1)
    assert c.now == 0.0 and isinstance(c.now, float)
    c.run_until(lambda c: c.leader is not None, timeout=3.0)
    assert isinstance(c.now, float)
    # Election timeouts are 150-300 ms: the first leader appears within a second, not at 150000.
    assert 0.15 <= c.now < 1.0
    assert c.trace[-1].time == c.now


def test_step_processes_one_event_and_returns_the_trace_events_it_added():
    c = Cluster(3, seed=1)
    for _ in range(50):
        before = len(c.trace)
        added = c.step()
        assert len(added) >= 1
        assert list(added) == list(c.trace[before:])
        # One event happens at one moment.
        assert {e.time for e in added} == {c.now}


def test_run_advances_now_by_exactly_the_duration():
    c = Cluster(3, seed=1)
    c.run(0.5)
    assert c.now == 0.5
    c.step()  # an odd moment
    for _ in range(3):
        start = c.now
        c.run(0.5)
        assert round((c.now - start) * 1_000_000) == 500_000
        assert c.now == pytest.approx(start + 0.5, abs=1e-9)
    assert all(e.time <= c.now for e in c.trace)


def test_run_processes_every_event_due_within_the_window_and_none_after():
    c, twin = Cluster(3, seed=1), Cluster(3, seed=1)
    c.run(0.4)
    while True:
        twin.step()
        if twin.trace[-1].time > 0.4:
            break
    assert [e.text for e in twin.trace if e.time <= 0.4] == [e.text for e in c.trace]


def test_run_until_checks_after_every_step_and_returns_true():
    c, twin = Cluster(3, seed=1), Cluster(3, seed=1)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0) is True
    assert c.leader is not None
    while twin.leader is None:
        twin.step()
    # It stopped at the very step that made the predicate true.
    assert len(c.trace) == len(twin.trace)
    assert c.now == twin.now


def test_run_until_times_out_after_simulated_seconds_and_returns_false():
    c = Cluster(3, seed=1)
    c.crash("n1")
    c.crash("n2")  # one node of three can never be elected
    assert c.run_until(lambda c: c.leader is not None, timeout=2.5) is False
    assert c.now == pytest.approx(2.5, abs=1e-9)
    assert c.leader is None


def test_run_until_true_at_once_takes_no_step():
    c = elected()
    length, now = len(c.trace), c.now
    assert c.run_until(lambda c: True, timeout=1.0) is True
    assert (len(c.trace), c.now) == (length, now)


# -- leader ---------------------------------------------------------------------


def test_leader_is_the_running_leader_with_the_highest_term():
    c = elected(n=5, seed=2)
    old = c.leader
    old_term = c.nodes[old].term
    c.isolate(old)
    assert c.run_until(lambda c: c.leader not in (None, old), timeout=3.0)
    new = c.leader
    # Two nodes think they lead; the one with the higher term is the answer.
    assert c.nodes[old].role == "leader" and c.nodes[new].role == "leader"
    assert c.nodes[new].term > old_term
    c.crash(new)
    assert c.leader == old  # the only running leader left
    c.crash(old)
    assert c.leader is None


def test_leader_is_none_before_any_election():
    assert Cluster(3, seed=1).leader is None


# -- views ------------------------------------------------------------------------


def test_node_views_expose_the_documented_fields():
    c = elected()
    committed_submit(c, "set x 1")
    c.run(0.2)
    for node_id, v in c.nodes.items():
        assert v.id == node_id
        assert v.role in ("follower", "candidate", "leader", "learner")
        assert isinstance(v.term, int) and v.term >= 1
        assert v.voted_for is None or v.voted_for in c.nodes
        assert isinstance(v.commit_index, int) and isinstance(v.last_applied, int)
        assert v.last_applied <= v.commit_index <= len(v.log)
        assert v.running is True
        assert [e.index for e in v.log] == list(range(1, len(v.log) + 1))
        assert all(isinstance(e.term, int) for e in v.log)
        assert "set x 1" in [e.command for e in v.log]
        assert (2, "set x 1") in v.applied
        assert set(v.members.voters) == {"n1", "n2", "n3"}


def test_applied_lists_client_commands_only_with_their_indexes():
    c = elected()
    for command in ("set a 1", "set b 2", "get a"):
        committed_submit(c, command)
    c.run(0.2)
    for v in c.nodes.values():
        data = [(e.index, e.command) for e in v.log if e.command is not None]
        applied_upto = [(i, cmd) for i, cmd in data if i <= v.last_applied]
        assert v.applied == applied_upto
        assert [cmd for _, cmd in v.applied] == ["set a 1", "set b 2", "get a"]
        # The leader's configuration entry is in the log but not in .applied.
        assert len(v.log) > len(v.applied)
        assert all(isinstance(i, int) and isinstance(cmd, str) for i, cmd in v.applied)


def test_views_read_the_live_state():
    c = Cluster(3, seed=1)
    view = c.nodes["n1"]
    assert view.term == 0
    c.run_until(lambda c: c.leader is not None, timeout=3.0)
    assert view.term >= 1


# -- submit ---------------------------------------------------------------------


def test_submit_to_a_follower_is_refused_with_a_reason_and_a_leader_hint():
    c = elected()
    follower = followers(c)[0]
    handle = c.submit("set x 1", to=follower)
    assert handle.accepted is False
    assert isinstance(handle.reason, str) and handle.reason
    assert handle.leader_hint == c.leader
    assert handle.committed is False
    assert all(e.command != "set x 1" for e in c.nodes[c.leader].log)


def test_submit_with_no_leader_is_refused_not_raised():
    c = Cluster(3, seed=1)
    handle = c.submit("set x 1")
    assert handle.accepted is False
    assert handle.reason


def test_submit_to_the_leader_sets_index_and_term_and_later_commits():
    c = elected()
    leader = c.leader
    handle = c.submit("set x 1")
    assert handle.accepted is True
    assert handle.term == c.nodes[leader].term
    assert handle.index == len(c.nodes[leader].log)
    assert c.nodes[leader].log[handle.index - 1].command == "set x 1"
    assert handle.committed is False  # nobody has acknowledged it yet
    assert c.run_until(lambda c: handle.committed, timeout=2.0)
    assert c.nodes[leader].commit_index >= handle.index


def test_submit_result_holds_the_key_value_answer():
    c = elected()
    assert committed_submit(c, "set x 1").result == "ok"
    assert committed_submit(c, "get x").result == "1"
    assert committed_submit(c, "cas x 1 2").result == "ok"
    assert committed_submit(c, "get x").result == "2"
    assert committed_submit(c, "get nothing").result == "(nil)"


def test_submit_explicitly_to_the_leader_is_accepted():
    c = elected()
    handle = c.submit("set y 3", to=c.leader)
    assert handle.accepted and handle.index is not None


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, mentions",
    [
        (lambda c: c.crash("n9"), "n9"),
        (lambda c: c.restart("n9"), "n9"),
        (lambda c: c.cut("n1", "n9"), "n9"),
        (lambda c: c.partition(["n1"], ["n7"]), "n7"),
        (lambda c: c.submit("set x 1", to="n9"), "n9"),
        (lambda c: c.partition("n1"), "n1"),
        (lambda c: c.submit(42), "42"),
        (lambda c: c.submit("frobnicate"), "frobnicate"),
        (lambda c: c.submit("set x"), "set x"),
        (lambda c: c.set_network(drop=2), "drop"),
        (lambda c: c.set_network(duplicate=-0.1), "duplicate"),
        (lambda c: c.set_network(latency=(0.005, 0.001)), "latency"),
        (lambda c: c.run(-1), "-1"),
    ],
)
def test_unknown_ids_and_malformed_arguments_raise_value_error_naming_them(call, mentions):
    c = Cluster(3, seed=1)
    before = [e.text for e in c.trace]
    with pytest.raises(ValueError) as error:
        call(c)
    assert mentions in str(error.value)
    assert [e.text for e in c.trace] == before  # nothing happened


@pytest.mark.parametrize("bad", [0, -3, "3", 2.5, True])
def test_a_cluster_needs_a_positive_whole_number_of_nodes(bad):
    with pytest.raises(ValueError, match="node"):
        Cluster(bad)


def test_a_node_cannot_be_in_two_partition_groups():
    with pytest.raises(ValueError):
        Cluster(3, seed=1).partition(["n1", "n2"], ["n2", "n3"])


# -- network faults ---------------------------------------------------------------


def received(c: Cluster, since: int, dst: str, src: str) -> list:
    return [
        e
        for e in c.trace[since:]
        if e.kind == "receive" and e.node == dst and f"from {src}" in e.text
    ]


def test_nodes_not_named_in_a_partition_form_one_more_group():
    c = Cluster(5, seed=3)
    c.partition(["n1", "n2"])
    assert sorted(map(sorted, c.partitions)) == [["n1", "n2"], ["n3", "n4", "n5"]]
    # n3..n5 talk among themselves and can elect (3 of 5); n1, n2 cannot.
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    assert c.leader in ("n3", "n4", "n5")
    c.run(0.5)
    for a in ("n3", "n4", "n5"):
        for b in ("n3", "n4", "n5"):
            if a != b:
                assert received(c, 0, a, b), f"{a} heard nothing from {b}"
    for a in ("n1", "n2"):
        for b in ("n3", "n4", "n5"):
            assert not received(c, 0, a, b) and not received(c, 0, b, a)


def test_partition_replaces_the_previous_partition():
    c = elected()
    leader = c.leader
    f1, f2 = followers(c)
    c.partition([leader])
    c.run(0.3)
    c.partition([f1])  # leader and f2 are together again
    assert sorted(map(sorted, c.partitions)) == sorted([[f1], sorted([leader, f2])])
    mark = len(c.trace)
    c.run(0.5)
    assert received(c, mark, leader, f2) and received(c, mark, f2, leader)
    assert not received(c, mark, f1, leader) and not received(c, mark, leader, f1)


def test_a_partition_blocks_messages_between_groups():
    c = elected()
    leader = c.leader
    f1, f2 = followers(c)
    c.partition([leader, f1], [f2])
    c.run(0.1)  # let messages already in the air land (and be lost)
    mark = len(c.trace)
    c.run(0.5)
    assert received(c, mark, f1, leader)
    assert not received(c, mark, f2, leader)
    assert not received(c, mark, leader, f2)


def test_heal_removes_partitions_and_cuts_but_keeps_network_settings():
    c = elected(n=3, seed=4)
    c.set_network(drop=0.25, duplicate=0.2, latency=(0.003, 0.004))
    c.partition(["n1"])
    c.cut("n2", "n3")
    c.run(0.2)
    c.heal()
    assert c.partitions == [] and c.cuts == []
    mark = len(c.trace)
    c.run(1.0)
    after = c.trace[mark:]
    assert any("random loss (drop rate 0.25)" in e.text for e in after)
    assert any("(duplicated)" in e.text for e in after)
    latencies = [
        float(m.group(1)) for e in after if (m := re.search(r"lands in ([0-9.]+) ms", e.text))
    ]
    assert latencies and all(3.0 <= ms <= 4.0 for ms in latencies)
    assert not any("partitioned" in e.text or "is cut" in e.text for e in after)
    for a, b in (("n1", "n2"), ("n2", "n3"), ("n3", "n1")):
        assert received(c, mark, a, b) or received(c, mark, b, a)


def test_cut_is_one_way():
    c = elected()
    leader = c.leader
    follower = followers(c)[0]
    c.cut(leader, follower)
    assert c.cuts == [(leader, follower)]
    mark = len(c.trace)
    c.run(1.0)
    # Nothing from the leader reaches the follower, even what was already in the air...
    assert not received(c, mark, follower, leader)
    assert any(f"link {leader} -> {follower} is cut" in e.text for e in c.trace[mark:])
    # ...but the follower still reaches the leader.
    assert received(c, mark, leader, follower)


# -- crashes and restarts ---------------------------------------------------------


def step_until_in_flight_to(c: Cluster, node_id: str) -> list[int]:
    for _ in range(10_000):
        ids = [f.msg_id for f in c.in_flight if f.message.dst == node_id]
        if ids:
            return ids
        c.step()
    raise AssertionError(f"no message to {node_id} ever went out")


def test_messages_in_flight_to_a_node_that_crashes_are_lost():
    c = elected()
    follower = followers(c)[0]
    c.submit("set x 1")
    doomed = step_until_in_flight_to(c, follower)
    c.crash(follower)
    c.restart(follower)  # up again before the messages would have landed
    assert not any(f.msg_id in doomed for f in c.in_flight)
    c.run(0.3)
    delivered = {e.msg_id for e in c.trace if e.kind == "receive"}
    assert delivered.isdisjoint(doomed)


def test_a_crashed_node_receives_nothing_while_it_is_down():
    c = elected()
    follower = followers(c)[0]
    c.crash(follower)
    mark = len(c.trace)
    c.submit("set x 1")
    c.run(0.5)
    down_events = [e for e in c.trace[mark:] if e.node == follower]
    acted = [e.text for e in down_events if e.kind != "drop"]
    assert acted == [], f"{follower} acted while down: {acted[:3]}"


def test_views_of_crashed_nodes_stay_readable_and_frozen():
    c = elected()
    follower = followers(c)[0]
    committed_submit(c, "set x 1")
    c.run(0.2)
    before = (
        c.nodes[follower].term,
        log_of(c, follower),
        c.nodes[follower].commit_index,
        c.nodes[follower].applied,
    )
    c.crash(follower)
    view = c.nodes[follower]
    assert view.running is False
    assert (view.term, log_of(c, follower), view.commit_index, view.applied) == before
    committed_submit(c, "set y 2")
    c.run(0.5)
    # Still readable, and still what it held when it went down.
    assert view.running is False
    assert (view.term, log_of(c, follower), view.commit_index, view.applied) == before


def test_a_restarted_node_has_its_durable_log_loaded_when_running_again():
    c = elected()
    follower = followers(c)[0]
    for command in ("set a 1", "set b 2"):
        committed_submit(c, command)
    c.run(0.2)
    log_before = log_of(c, follower)
    term_before, vote_before = c.nodes[follower].term, c.nodes[follower].voted_for
    assert len(log_before) >= 3
    c.crash(follower)
    c.restart(follower)
    view = c.nodes[follower]
    assert view.running is True
    assert log_of(c, follower) == log_before
    assert (view.term, view.voted_for) == (term_before, vote_before)
    assert view.role == "follower"


def test_a_crash_loses_log_entries_not_yet_on_disk():
    c = elected()
    follower = followers(c)[0]
    c.submit("set x 1")
    for _ in range(10_000):
        view = c.nodes[follower]
        if view.durable_index < len(view.log):
            break
        c.step()
    else:
        raise AssertionError("the follower never held an entry not yet on disk")
    durable = log_of(c, follower)[: view.durable_index]
    assert len(durable) < len(view.log)
    c.crash(follower)
    c.restart(follower)
    assert c.nodes[follower].running
    assert log_of(c, follower) == durable


def test_applied_restarts_empty_after_a_restart_and_refills():
    c = elected()
    follower = followers(c)[0]
    for command in ("set a 1", "set b 2", "get a"):
        committed_submit(c, command)
    c.run(0.2)
    applied_before = c.nodes[follower].applied
    assert [cmd for _, cmd in applied_before] == ["set a 1", "set b 2", "get a"]
    c.crash(follower)
    c.restart(follower)
    assert c.nodes[follower].applied == []
    assert c.nodes[follower].last_applied == 0
    assert c.run_until(lambda c: c.nodes[follower].applied == applied_before, timeout=2.0)


def test_crash_and_restart_refuse_nodes_in_the_wrong_state():
    c = elected()
    with pytest.raises(ValueError):
        c.restart("n1")  # running
    c.crash("n1")
    with pytest.raises(ValueError):
        c.crash("n1")  # already down
