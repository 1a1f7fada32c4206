"""Raft §5.3 (log replication) and §5.4.2 (committing entries from previous terms).

One test per rule of the paper, named after the behaviour. Follower-side rules
drive a raft.Node by hand; Figure 8 is replayed on a Cluster with preloaded
logs, partitions and one-way cuts.
"""

from __future__ import annotations

import pytest
from conftest import entries, faulty_run, figure8_start, make_durable, make_node, sent

from raft import (
    AppendEntries,
    AppendEntriesResponse,
    AppendLog,
    Applied,
    BallotBox,
    Configuration,
    LogEntry,
    Persist,
    TruncateLog,
)
from raft.outputs import Outbox
from sim import Cluster


def _append(
    prev_index: int,
    prev_term: int,
    new: list[LogEntry] | tuple[LogEntry, ...] = (),
    *,
    term: int = 3,
    commit: int = 0,
    heartbeat: bool = False,
) -> AppendEntries:
    return AppendEntries(
        src="n2",
        dst="n1",
        term=term,
        prev_log_index=prev_index,
        prev_log_term=prev_term,
        entries=tuple(new),
        leader_commit=commit,
        seq=1,
        heartbeat=heartbeat,
    )


def _writes(outputs) -> list:
    return [o.write for o in outputs if isinstance(o, Persist)]


def _terms(node) -> list[int]:
    return [e.term for e in node.log.entries()]


# -- §5.3 log replication, follower side ----------------------------------------------


@pytest.mark.parametrize(
    "prev_index, prev_term, conflict_index, conflict_term",
    [(3, 3, 3, 2), (5, 3, 4, None)],
    ids=["prev-entry-has-another-term", "prev-entry-missing"],
)
def test_follower_rejects_append_entries_whose_previous_entry_does_not_match(
    prev_index, prev_term, conflict_index, conflict_term
):
    """Raft §5.3 (consistency check): "If the follower does not find an entry in its log
    with the same index and term, then it refuses the new entries." Its reply says where
    its log diverges so the leader can back up a term at a time."""
    node = make_node(term=3, log=(1, 1, 2))
    new = [LogEntry(index=prev_index + 1, term=3, command="set y 1")]
    node.receive(_append(prev_index, prev_term, new, commit=prev_index + 1), 1_000)
    outputs = node.take_outputs()
    (reply,) = sent(outputs)
    assert isinstance(reply, AppendEntriesResponse) and not reply.success
    assert (reply.term, reply.rejected_index) == (3, prev_index)
    assert (reply.conflict_index, reply.conflict_term) == (conflict_index, conflict_term)
    assert _terms(node) == [1, 1, 2]
    assert _writes(outputs) == []
    assert node.commit_index == 0


def test_conflicting_suffix_is_truncated_and_replaced_by_the_leaders_entries():
    """Raft §5.3: "If an existing entry conflicts with a new one (same index but
    different terms), delete the existing entry and all that follow it", then append
    the leader's; the acknowledgement leaves once the new entries are on disk."""
    node = make_node(term=3, log=(1, 1, 2, 2, 2))
    new = [
        LogEntry(index=3, term=3, command="set a 3"),
        LogEntry(index=4, term=3, command="set b 4"),
    ]
    node.receive(_append(2, 1, new), 1_000)
    outputs = node.take_outputs()
    assert node.log.entries() == entries(1, 1) + new
    assert _writes(outputs) == [TruncateLog(3), AppendLog(tuple(new))]
    assert sent(outputs) == [], "no acknowledgement before the entries are durable"
    (reply,) = sent(make_durable(node, outputs, 2_000))
    assert reply.success and reply.match_index == 4


def test_matching_entries_are_never_truncated_by_a_late_append_entries():
    """Raft §5.3 (Figure 2: delete only entries that *conflict*): a delayed or duplicated
    AppendEntries that carries entries the follower already holds must not cut off the
    entries that follow them."""
    log = entries(1, 1, 3, 3, 3)
    node = make_node(term=3, log=log)
    node.receive(_append(1, 1, log[1:3]), 1_000)
    outputs = node.take_outputs()
    assert node.log.entries() == log
    assert _writes(outputs) == []
    (reply,) = sent(outputs)
    assert reply.success and reply.match_index == 3


def test_follower_appends_only_the_new_tail_of_an_overlapping_append_entries():
    """Raft §5.3 (Figure 2: "Append any new entries not already in the log"): entries
    already present are skipped, the rest are appended after them."""
    log = entries(1, 3, 3)
    node = make_node(term=3, log=log[:2])
    node.receive(_append(0, 0, log), 1_000)
    outputs = node.take_outputs()
    assert node.log.entries() == log
    assert _writes(outputs) == [AppendLog((log[2],))]


def test_follower_learns_commit_index_from_leader_and_applies_entries_in_order():
    """Raft §5.3: "The leader keeps track of the highest index it knows to be committed,
    and it includes that index in future AppendEntries RPCs (including heartbeats) so
    that the other servers eventually find out. Once a follower learns that a log entry
    is committed, it applies the entry to its local state machine (in log order)." """
    node = make_node(term=3)
    log = entries(3, 3, 3, 3)
    node.receive(_append(0, 0, log[:3], commit=2), 1_000)
    outputs = node.take_outputs()
    assert node.commit_index == 2
    assert [(a.index, a.command) for a in outputs if isinstance(a, Applied)] == [
        (1, "set k1 1"),
        (2, "set k2 2"),
    ]
    node.receive(_append(0, 0, heartbeat=True, commit=3), 2_000)
    outputs = node.take_outputs()
    assert node.commit_index == 3
    assert [a.index for a in outputs if isinstance(a, Applied)] == [3]
    node.receive(_append(3, 3, log[3:], commit=4), 3_000)
    assert node.commit_index == 4
    assert node.fsm.applied == [(i, f"set k{i} {i}") for i in range(1, 5)]
    assert node.last_applied == 4


def test_follower_never_commits_beyond_the_last_entry_the_leader_sent():
    """Raft Figure 2 (AppendEntries step 5): "set commitIndex = min(leaderCommit, index
    of last new entry)". Entries after it may be stale ones from an older leader: here
    the follower's entry 3 (term 1) is not the leader's committed entry 3 (term 2)."""
    node = make_node(term=2, log=(1, 1, 1))
    node.receive(_append(1, 1, entries(1, 1)[1:], commit=3), 1_000)
    outputs = node.take_outputs()
    assert node.commit_index == 2
    assert [a.index for a in outputs if isinstance(a, Applied)] == [1, 2]


def test_followers_apply_the_leaders_commands_in_log_order():
    """Raft §5.3 in a cluster: every follower learns the commit index from the leader
    and applies exactly the committed commands, in index order, as the leader did."""
    c = Cluster(5, seed=12)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    leader = c.leader
    handles = [c.submit(f"set k{i} {i}") for i in range(20)]
    assert c.run_until(lambda c: all(h.committed for h in handles), timeout=3.0)
    c.run(0.2)  # one heartbeat carries the final commit index
    expected = [(h.index, h.command) for h in handles]
    assert [h.index for h in handles] == sorted({h.index for h in handles})
    for node in c.nodes.values():
        assert node.commit_index == c.nodes[leader].commit_index
        assert node.applied == expected, node.id
    for follower in (n for n in c.nodes if n != leader):
        learned = [e for e in c.trace if e.node == follower and e.kind == "commit"]
        assert learned and all("leader says entries up to" in e.text for e in learned)


def test_log_matching_holds_across_nodes_after_a_faulty_run():
    """Raft §5.3 (Log Matching, Figure 3): "if two logs contain an entry with the same
    index and term, then the logs are identical in all entries up through the given
    index" — checked on every pair of running nodes, many times during a run with
    crashes, partitions, loss and duplication, and at its end."""
    run = faulty_run()
    assert len(run.log_snapshots) >= 50
    overwritten = [e for e in run.cluster.trace if e.kind == "truncate"]
    assert len(overwritten) >= 3, "the run should make logs diverge and be repaired"
    broken = []
    for when, logs in enumerate(run.log_snapshots):
        ids = sorted(logs)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                same_prefix = True
                for x, y in zip(logs[a], logs[b], strict=False):
                    same_prefix = same_prefix and x == y
                    if x.term == y.term and not same_prefix:
                        broken.append((when, a, b, x.index))
                        break
    assert broken == []
    final = run.log_snapshots[-1]
    assert len(final) == 5 and len({tuple(log) for log in final.values()}) == 1
    assert len(final["n1"]) >= 30


def test_committed_commands_are_applied_identically_everywhere_after_a_faulty_run():
    """Raft §5.4.3 (State Machine Safety): whatever each node applied, in whatever
    lifetime, is a prefix of one common sequence of committed commands."""
    run = faulty_run()
    c = run.cluster
    longest = max((c.nodes[n].applied for n in c.nodes), key=len)
    assert len(longest) >= 25
    for node in c.nodes.values():
        assert node.applied == longest[: len(node.applied)], node.id
    assert c.violations == []


# -- §5.4.2 committing entries from previous terms -------------------------------------


def test_ballot_box_does_not_commit_an_earlier_term_entry_by_counting_replicas():
    """Raft §5.4.2: "Only log entries from the leader's current term are committed by
    counting replicas." A leader whose term starts at index 3 (pending_index) ignores a
    majority on index 2; once index 3 has a majority, 1..3 commit together."""
    committed: list[int] = []
    box = BallotBox(Outbox("n1"), lambda index, now: committed.append(index))
    box.reset_pending_index(3, Configuration(["n1", "n2", "n3", "n4", "n5"]))
    assert box.pending_index == 3
    for voter in ("n1", "n2", "n3", "n4", "n5"):
        box.commit_at(voter, 2, now=0)
    assert (box.commit_index, committed) == (0, []), "all five hold index 2, of an older term"
    box.commit_at("n1", 3, now=0)
    box.commit_at("n2", 3, now=0)
    assert box.commit_index == 0, "index 3 is on 2 of 5"
    box.commit_at("n3", 3, now=0)
    assert (box.commit_index, committed) == (3, [3])


FIGURE8_LOGS = {
    "n1": [1, (2, "set x 2")],
    "n2": [1, (2, "set x 2")],
    "n3": [1],
    "n4": [1],
    "n5": [1, (3, "set x 3")],
}


def _figure8_c() -> Cluster:
    """Figure 8 (c): n1 leads term 4 and has copied its term-2 entry to n2 and n3, a
    majority, but its own first entry of term 4 (index 3) is on no one else.

    One request on the wire per follower and one entry per request, so the leader
    sends index 2 and index 3 separately; the request carrying index 3 is cut off.
    Election timeouts are long so that only the elections the test asks for happen.
    """
    c = figure8_start(FIGURE8_LOGS)
    cut: set[str] = set()
    while cut != {"n2", "n3"}:
        for event in c.step():
            for peer in ("n2", "n3"):
                if event.text.startswith(f"n1 -> {peer} AppendEntries(term 4, prev 2@2, entry 3"):
                    c.cut("n1", peer)
                    cut.add(peer)
    c.run(0.02)  # the two requests carrying index 3 land on the cut links and are lost
    assert c.leader == "n1" and c.nodes["n1"].term == 4
    logs = {n: [(e.term, e.command) for e in v.log] for n, v in c.nodes.items()}
    old = [(1, "set x1 1"), (2, "set x 2")]
    assert logs["n2"] == logs["n3"] == old, "index 2 (term 2) is on n1, n2, n3: a majority"
    assert logs["n1"][:2] == old and logs["n1"][2][0] == 4
    return c


def test_leader_does_not_commit_an_earlier_term_entry_stored_on_a_majority():
    """Raft §5.4.2, Figure 8 (c): the leader of term 4 knows its term-2 entry is on a
    majority, yet does not commit it; it commits it only once its own term-4 entry is
    on a majority, and then both at once (Figure 8 (e))."""
    c = _figure8_c()
    leader = c.nodes["n1"]
    while c.now < 0.5:
        c.step()
        assert leader.commit_index == 0, c.trace[-1].text
    assert c.leader == "n1" and leader.term == 4
    acked = " ".join(e.text for e in c.trace if e.node == "n1" and e.kind == "probe")
    assert "n2's log matches ours up to 2" in acked
    c.heal()
    c.partition(["n1", "n2", "n3"], ["n4", "n5"])
    seen = []
    while leader.commit_index == 0:
        assert c.now < 2.0, "the term-4 entry should reach a majority once the cuts heal"
        c.step()
        seen.append(leader.commit_index)
    assert seen[-1] == 3, "index 2 commits only together with index 3 of term 4"
    (commit,) = [e for e in c.trace if e.node == "n1" and e.kind == "commit"]
    assert commit.text.startswith("n1 BallotBox: indexes 1..3 acknowledged by")
    c.run(0.2)
    assert [v.commit_index for v in (c.nodes["n2"], c.nodes["n3"])] == [3, 3]


def test_earlier_term_entry_on_a_majority_may_still_be_overwritten():
    """Raft §5.4.2, Figure 8 (d): why counting replicas is not enough. If the leader of
    term 4 crashes in state (c), n5 (last entry of term 3) can win term 5 with votes from
    n2, n3 and n4 and overwrite index 2 everywhere: committing it would have broken
    State Machine Safety."""
    c = _figure8_c()
    c.crash("n1")
    c.heal()
    c.timeout("n5", 0.01)
    c.run(0.05)
    texts = [e.text for e in c.trace]
    for voter in ("n2", "n3"):  # term 4: they voted for n1 already, so n5 tries term 5
        assert f"{voter} refuses vote to n5 for term 4: already voted for n1 in term 4" in texts
    c.timeout("n5", 0.0)
    assert c.run_until(lambda c: c.leader == "n5", timeout=1.0)
    assert c.nodes["n5"].term == 5
    assert c.run_until(
        lambda c: all(len(c.nodes[n].log) == 3 for n in ("n2", "n3", "n4")), timeout=2.0
    )
    for node in ("n2", "n3", "n4"):
        assert [(e.term, e.command) for e in c.nodes[node].log[:2]] == [
            (1, "set x1 1"),
            (3, "set x 3"),
        ]
    truncated = {e.node for e in c.trace if e.kind == "truncate"}
    assert truncated == {"n2", "n3"}
    assert all((2, "set x 2") not in v.applied for v in c.nodes.values())
    assert c.violations == []
