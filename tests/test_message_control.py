"""Exact control over single messages: hold a link, deliver or drop one message."""

from __future__ import annotations

import pytest

from sim import Cluster
from sim.scenario import parse, run_scenario


def _cluster_with_leader() -> tuple[Cluster, str, str]:
    c = Cluster(3, seed=1)
    assert c.run_until(lambda c: c.leader is not None and c.nodes[c.leader].commit_index >= 1)
    c.run(0.1)
    leader = c.leader
    follower = next(n for n in c.nodes if n != leader)
    return c, leader, follower


def test_a_held_link_keeps_messages_in_flight_until_released():
    c, leader, follower = _cluster_with_leader()
    c.hold(leader, follower)
    c.submit("set x 1")
    c.run(0.3)
    held = [f for f in c.in_flight if (f.message.src, f.message.dst) == (leader, follower)]
    assert held, "messages wait on the held link"
    assert all(e.command != "set x 1" for e in c.nodes[follower].log)
    c.release(leader, follower)
    c.run(0.1)
    assert c.nodes[follower].log[-1].command == "set x 1"
    assert c.violations == []


def test_deliver_hands_over_one_message_now_and_drop_loses_it():
    c, leader, follower = _cluster_with_leader()
    c.hold(leader, follower)
    c.submit("set x 1")
    c.run(0.05)
    first, second = [f.msg_id for f in c.in_flight if f.message.dst == follower][:2]
    c.deliver(first)
    assert all(f.msg_id != first for f in c.in_flight)
    c.drop(second)
    assert all(f.msg_id != second for f in c.in_flight)
    kinds = [e.kind for e in c.trace if e.msg_id in (first, second)]
    assert "receive" in kinds and "discard" in kinds


def test_unknown_messages_and_links_are_refused_with_a_clear_error():
    c, leader, follower = _cluster_with_leader()
    with pytest.raises(ValueError, match="no message 9999 is in flight"):
        c.deliver(9999)
    with pytest.raises(ValueError, match="two different nodes"):
        c.hold(leader, leader)


def test_scenario_steps_hold_deliver_release_and_drop(tmp_path):
    story = parse(
        "title: t\nsummary: s\ncluster nodes=3 seed=1\n"
        "run until leader exists\nrun 100ms\n"
        'hold n1 n3\nsubmit "set x 1"\nrun 100ms\n'
        "expect commit n3 1\n"
        "deliver n1 n3 AppendEntries\nrelease n1 n3\nrun 100ms\n"
        "expect commit n3 2\n",
        "story.scenario",
    )
    from io import StringIO

    from rich.console import Console

    outcome = run_scenario(story, Console(file=StringIO()), quiet=True)
    assert outcome.code == 0, outcome.failure or outcome.error
