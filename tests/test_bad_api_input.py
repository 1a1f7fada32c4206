"""Through the Python API, a malformed argument is a ValueError naming the argument,
a refused request is a result, and a refusal leaves nothing behind.

After each refusal the same cluster must carry on as if nothing had been asked:
it elects a leader, commits a command, and its checkers find no violation.
"""

from __future__ import annotations

import pytest

from sim import Cluster

INF, NAN = float("inf"), float("nan")

# Cluster(...) with one bad keyword: (keywords, the argument the error must name).
CONSTRUCTOR = {
    "heartbeat infinite": ({"heartbeat": INF}, "heartbeat"),
    "heartbeat NaN": ({"heartbeat": NAN}, "heartbeat"),
    "heartbeat of ages": ({"heartbeat": 1e300}, "heartbeat"),
    "heartbeat negative": ({"heartbeat": -0.05}, "heartbeat"),
    "heartbeat as text": ({"heartbeat": "50ms"}, "heartbeat"),
    "rpc timeout infinite": ({"rpc_timeout": INF}, "rpc_timeout"),
    "flush delay NaN": ({"flush_delay": NAN}, "flush_delay"),
    "catchup timeout as bool": ({"catchup_timeout": True}, "catchup_timeout"),
    "latency infinite": ({"latency": (0, INF)}, "latency"),
    "latency backwards": ({"latency": (0.008, 0.002)}, "latency"),
    "latency one number": ({"latency": 0.002}, "latency"),
    "election timeout as text": ({"election_timeout": "ab"}, "election_timeout"),
    "a thousand nodes": ({"n": 1000}, "n (the number of nodes)"),
    "no nodes": ({"n": 0}, "n (the number of nodes)"),
    "nodes as float": ({"n": 3.0}, "n (the number of nodes)"),
    "seed as float": ({"seed": 1.5}, "seed"),
    "max inflight as text": ({"max_inflight": "x"}, "max_inflight"),
    "max inflight zero": ({"max_inflight": 0}, "max_inflight"),
    "max entries zero": ({"max_entries_per_request": 0}, "max_entries_per_request"),
    "catchup margin negative": ({"catchup_margin": -1}, "catchup_margin"),
    "snapshot interval fraction": ({"snapshot_interval": 1.5}, "snapshot_interval"),
    "drop True": ({"drop": True}, "drop"),
    "drop NaN": ({"drop": NAN}, "drop"),
    "duplicate above one": ({"duplicate": 2}, "duplicate"),
    "pre_vote as text": ({"pre_vote": "no"}, "pre_vote"),
    "reorder as text": ({"reorder": "maybe"}, "reorder"),
    "check_quorum as number": ({"check_quorum": 1}, "check_quorum"),
    "strict as text": ({"strict": "no"}, "strict"),
    "keep_history as text": ({"keep_history": "no"}, "keep_history"),
    "membership unknown": ({"membership": "x"}, "membership"),
    "bugs as number": ({"bugs": 5}, "bugs"),
    "bugs unknown": ({"bugs": ["nope"]}, "bug switch"),
    "checkers as number": ({"checkers": 5}, "checkers"),
    "initial logs as text": ({"initial_logs": {"n1": "abc"}}, "initial_logs"),
    "initial log command not text": ({"initial_logs": {"n1": [(1, 5)]}}, "initial_logs"),
    "initial log of a stranger": ({"initial_logs": {"n9": [1]}}, "initial_logs"),
}


@pytest.mark.parametrize("keywords, name", CONSTRUCTOR.values(), ids=CONSTRUCTOR.keys())
def test_bad_constructor_argument_is_a_value_error_naming_it(keywords, name):
    with pytest.raises(ValueError) as caught:
        Cluster(**{"n": 3, "seed": 1, **keywords})
    assert type(caught.value) is ValueError
    assert name in str(caught.value), caught.value


# A call on a running cluster with one bad argument: (call, the argument the error names).
CALLS = {
    "run infinite": (lambda c: c.run(INF), "run duration"),
    "run NaN": (lambda c: c.run(NAN), "run duration"),
    "run backwards": (lambda c: c.run(-1), "run duration"),
    "run as text": (lambda c: c.run("1"), "run duration"),
    "run a day and more": (lambda c: c.run(86_401), "run duration"),
    "run_until forever": (lambda c: c.run_until(lambda c: False, timeout=INF), "timeout"),
    "run_until of a number": (lambda c: c.run_until(5), "run_until"),
    "network latency infinite": (lambda c: c.set_network(latency=(0, INF)), "latency"),
    "network drop True": (lambda c: c.set_network(drop=True), "drop"),
    "network duplicate NaN": (lambda c: c.set_network(duplicate=NAN), "duplicate"),
    "network reorder as text": (lambda c: c.set_network(reorder="maybe"), "reorder"),
    "submit to a list": (lambda c: c.submit("set x 1", to=["n1"]), "to"),
    "submit to a stranger": (lambda c: c.submit("set x 1", to="n9"), "'n9'"),
    "submit a number": (lambda c: c.submit(5), "command"),
    "submit nonsense": (lambda c: c.submit("frob"), "command"),
    "read a number": (lambda c: c.read(5), "key"),
    "read in no mode": (lambda c: c.read("x", mode="nope"), "read mode"),
    "read from a list": (lambda c: c.read("x", to=["n1"]), "to"),
    "crash a list": (lambda c: c.crash(["n1"]), "node id"),
    "crash a stranger": (lambda c: c.crash("n9"), "'n9'"),
    "restart a runner": (lambda c: c.restart("n1"), "n1 is running"),
    "partition nothing": (lambda c: c.partition(), "partition"),
    "partition an empty group": (lambda c: c.partition([]), "partition group"),
    "partition a number": (lambda c: c.partition(5), "node ids"),
    "partition one node twice": (lambda c: c.partition(["n1"], ["n1"]), "partition groups"),
    "timeout after forever": (lambda c: c.timeout("n1", after=INF), "after"),
    "timeout a list": (lambda c: c.timeout(["n1"]), "node id"),
    "cut a list": (lambda c: c.cut(["n1"], "n2"), "node id"),
    "cut a node from itself": (lambda c: c.cut("n1", "n1"), "two different nodes"),
    "hold a node to itself": (lambda c: c.hold("n1", "n1"), "two different nodes"),
    "deliver a word": (lambda c: c.deliver("x"), "message"),
    "drop a list": (lambda c: c.drop([1]), "message"),
    "goto backwards": (lambda c: c.goto(-1), "goto"),
    "goto True": (lambda c: c.goto(True), "goto"),
    "change members of a number": (lambda c: c.change_members(5), "voters"),
    "change learners of a number": (lambda c: c.change_members(["n1"], 5), "learners"),
    "voter and learner at once": (lambda c: c.change_members(["n1"], ["n1"]), "voter and a"),
    "add a number": (lambda c: c.add_node(5), "node_id"),
    "add a list": (lambda c: c.add_learner(["n4"]), "node_id"),
    "transfer to a list": (lambda c: c.transfer_leadership(["n1"]), "target"),
    "snapshot a list": (lambda c: c.snapshot(["n1"]), "node id"),
    "remove a stranger": (lambda c: c.remove_node("n9"), "'n9'"),
}


def what_shows(c: Cluster) -> tuple:
    """Everything a refused call must leave as it was."""
    return (
        len(c.trace),
        list(c.nodes),
        c.now,
        c.partitions,
        c.cuts,
        c.settings,
        [(f.msg_id, f.message) for f in c.in_flight],
    )


def carries_on(c: Cluster) -> None:
    """The cluster elects a leader, commits a command, and no checker complains."""
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    handle = c.submit("set after refusal")
    assert handle.accepted, handle.reason
    assert c.run_until(lambda c: handle.committed, timeout=3.0)
    assert c.violations == []


@pytest.mark.parametrize("call, name", CALLS.values(), ids=CALLS.keys())
def test_bad_call_is_a_value_error_naming_its_argument_and_leaves_nothing(call, name):
    c = Cluster(3, seed=1)
    c.run(0.05)
    before = what_shows(c)
    with pytest.raises(ValueError) as caught:
        call(c)
    assert type(caught.value) is ValueError
    assert name in str(caught.value), caught.value
    assert what_shows(c) == before
    carries_on(c)


def test_add_node_refused_before_a_leader_creates_no_server():
    c = Cluster(3, seed=1)
    handle = c.add_node("n7")
    assert not handle.accepted and "no leader" in handle.reason
    assert "n7" not in c.nodes
    carries_on(c)
    assert "n7" not in c.nodes


def test_a_second_change_while_one_is_pending_creates_no_server():
    c = Cluster(3, seed=1)
    carries_on(c)
    first = c.add_node("n4")
    second = c.add_node("n5")
    assert first.accepted and not second.accepted
    assert "n5" not in c.nodes
    assert c.run_until(lambda c: first.outcome == "done", timeout=3.0)
    assert "n5" not in c.nodes
    carries_on(c)
