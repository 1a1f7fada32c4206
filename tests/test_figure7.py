"""Raft Figure 7: a new leader brings six divergent follower logs into line with its own.

The figure's leader is n1 and followers (a)-(f) are n2-n7. Each entry is
preloaded with a command of its own ("set xI I"), so comparing commands shows
that the followers end up with the leader's entries, not merely its terms.
"""

from __future__ import annotations

import functools
import re

from conftest import elected

from sim import Cluster

FIGURE7 = {
    "n1": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],  # the leader for term 8
    "n2": [1, 1, 1, 4, 4, 5, 5, 6, 6],  # (a) missing an entry
    "n3": [1, 1, 1, 4],  # (b) missing many entries
    "n4": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],  # (c) an extra uncommitted entry
    "n5": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],  # (d) extra entries of term 7
    "n6": [1, 1, 1, 4, 4, 4, 4],  # (e) missing entries, extra ones of term 4
    "n7": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],  # (f) entries of terms 2 and 3 nobody else has
}

# First index each follower must delete (Raft §5.3): where it first differs from n1.
FIRST_CONFLICT = {"n4": 11, "n5": 11, "n6": 6, "n7": 4}


def _log(c: Cluster, node: str) -> list[tuple[int, int, str | None, str]]:
    return [(e.index, e.term, e.command, e.kind.value) for e in c.nodes[node].log]


@functools.cache
def _repaired() -> tuple[Cluster, list[tuple[int, int, str | None, str]]]:
    """Run Figure 7 until every node holds the leader's log and knows it is committed."""
    c = Cluster(7, seed=1, initial_logs=FIGURE7)
    before = _log(c, "n1")
    c.timeout("n1", 0.01)
    assert c.run_until(
        lambda c: (
            all(_log(c, n) == _log(c, "n1") for n in c.nodes)
            and all(v.commit_index == len(before) + 1 for v in c.nodes.values())
        ),
        timeout=3.0,
    )
    return c, before


def test_figure7_leader_wins_term_8():
    """Figure 7 / Raft §5.4.1: every node starts in term 7, the highest term in the
    logs; n1 times out first and wins term 8. (c) and (d) refuse it (their logs are
    more up-to-date), but a, b, e and f make a majority with n1."""
    c, _ = _repaired()
    assert elected(c.trace) == {8: {"n1"}}
    assert c.leader == "n1"
    assert all(v.term == 8 for v in c.nodes.values())
    texts = [e.text for e in c.trace]
    assert any(
        t.startswith("n4 refuses vote to n1 for term 8: candidate's log ends at 10 < 11")
        for t in texts
    )
    assert any(
        t.startswith("n5 refuses vote to n1 for term 8: candidate's last log term 6 < 7")
        for t in texts
    )


def test_figure7_every_follower_ends_with_the_leaders_log():
    """Raft §5.3: "the leader handles inconsistencies by forcing the followers' logs to
    duplicate its own": afterwards every log equals the leader's, entry for entry, and
    the leader's own log only grew (its first entry of term 8 at index 11)."""
    c, before = _repaired()
    leader_log = _log(c, "n1")
    assert leader_log[: len(before)] == before, "a leader never overwrites its own log"
    assert leader_log[-1][:2] == (11, 8)
    for node in c.nodes:
        assert _log(c, node) == leader_log, node


def test_figure7_extra_entries_of_c_d_e_f_are_gone():
    """Raft §5.3: conflicting entries in follower logs are overwritten with entries from
    the leader's log: (c)'s 11@6, (d)'s 11@7 and 12@7, (e)'s 6@4 and 7@4 and (f)'s
    entries of terms 2 and 3 are gone from every log."""
    c, _ = _repaired()
    extra = {
        (11, 6, "set x11 11"),
        (11, 7, "set x11 11"),
        (12, 7, "set x12 12"),
        (6, 4, "set x6 6"),
        (7, 4, "set x7 7"),
    } | {(i, t, f"set x{i} {i}") for i, t in enumerate(FIGURE7["n7"], 1) if t in (2, 3)}
    for node in c.nodes:
        held = {(i, t, cmd) for i, t, cmd, _ in _log(c, node)}
        assert held & extra == set(), node
    assert all(len(v.log) == 11 for v in c.nodes.values())


def test_figure7_trace_shows_each_truncation():
    """Raft §5.3: each follower with a conflicting suffix deletes it from the first
    conflicting index, once, and says so in the trace; (a) and (b) only lacked entries,
    so they delete nothing."""
    c, _ = _repaired()
    truncations = {}
    for event in c.trace:
        if event.kind == "truncate":
            assert event.component == "LogManager"
            match = re.search(r"deletes entries (\d+)\.\.(\d+)", event.text)
            assert match and event.node not in truncations, event.text
            truncations[event.node] = (int(match[1]), int(match[2]))
    assert truncations == {
        node: (first, len(FIGURE7[node])) for node, first in FIRST_CONFLICT.items()
    }


def test_figure7_followers_apply_the_leaders_commands_only():
    """Raft §5.3/§5.4: once the leader's term-8 entry commits, entries 1..10 commit as
    its prefix and every node applies the leader's ten commands, in order."""
    c, before = _repaired()
    expected = [(i, cmd) for i, _, cmd, _ in before]
    for node in c.nodes.values():
        assert node.applied == expected, node.id
