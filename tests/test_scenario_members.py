"""`on members`: the servers of the leader's configuration, as it is at each moment."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from sim.scenario import parse, run_scenario
from sim.scenario.parser import ScenarioError

# n1 is cut off from the leader n3, then removed: it never gets entry 3 or later.
REMOVED = (
    "title: t\nsummary: s\ncluster nodes=3 seed=7 pre_vote=off check_quorum=on\n"
    "run until leader n3 timeout=2s\n"
    "run 100ms\n"
    "cut n3 n1\n"
    "remove n1 as=r1\n"
    "run until done r1 timeout=2s\n"
    'submit w1 "set x 1"\n'
    "run until committed w1\n"
)


def outcome(text: str):
    return run_scenario(parse(text, "t.scenario"), Console(file=StringIO()), quiet=True)


def test_a_removed_server_is_not_a_member_that_must_catch_up():
    result = outcome(REMOVED + "run until applied 4 on members timeout=1s\n")
    assert result.code == 0, result.failure or result.error


def test_the_same_wait_on_all_running_servers_fails_on_the_removed_one():
    result = outcome(REMOVED + "run until applied 4 on all timeout=1s\n")
    assert result.code == 1
    assert "n1" in str(result.failure)


def test_members_counts_every_member_including_a_lagging_one():
    # Before the removal, n1 is a member: waiting for it times out.
    text = (
        "title: t\nsummary: s\ncluster nodes=3 seed=7 pre_vote=off check_quorum=on\n"
        "run until leader n3 timeout=2s\n"
        "cut n3 n1\n"
        'submit w1 "set x 1"\n'
        "run until committed w1\n"
        "run until applied 2 on members timeout=1s\n"
    )
    result = outcome(text)
    assert result.code == 1
    assert "on members" in str(result.failure)


def test_members_is_not_a_node_id_elsewhere():
    with pytest.raises(ScenarioError, match="members"):
        parse("title: t\nsummary: s\ncluster nodes=3 seed=1\ncrash members\n", "t.scenario")
