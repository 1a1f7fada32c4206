"""Every bug switch (raft/bugs.py) is caught by the safety checkers.

Each bug gets a short, deterministic story that makes it bite, told with the
Cluster API; the test names the property the checkers must report, and the
same story without the bug must stay clean (so it is the bug that is caught,
not the story). Then each bug is also found within a few seeds of a random
fault campaign, and with no bug switched on a longer campaign finds nothing.
Last, each bug does real damage in `raftsim fuzz --checkers safety`: a seed
breaks one of Figure 3's properties, not only the rule the bug skips.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest
from test_random_faults import _inject_faults, _random_cluster

from raft.bugs import BUGS
from sim import Cluster
from sim.check.fuzz import FuzzSettings, run_seed
from sim.check.history import History
from sim.check.history import Recorder as HistoryRecorder
from sim.check.linearizability import Verdict, check

# Long election timeouts: only the elections a story asks for (with `timeout`) happen.
QUIET = dict(pre_vote=False, election_timeout=(1.0, 2.0))


def _properties(cluster: Cluster) -> set[str]:
    return {v.property for v in cluster.violations}


# -- the stories ---------------------------------------------------------------


def figure8(bugs: Sequence[str]) -> Cluster:
    """Raft Figure 8. n1 leads term 4 and has copied its term-2 entry (index 2) to n2
    and n3, a majority, but its own term-4 entry (index 3) to no one. Counting
    replicas, the buggy leader commits index 2 and applies it. n1 crashes; n5, whose
    last entry has term 3, wins term 5 with n2, n3 and n4 and overwrites index 2."""
    c = Cluster(
        5,
        seed=1,
        **QUIET,
        max_inflight=1,
        max_entries_per_request=1,
        bugs=bugs,
        initial_logs={
            "n1": [1, (2, "set x 2")],
            "n2": [1, (2, "set x 2")],
            "n3": [1],
            "n4": [1],
            "n5": [1, (3, "set x 3")],
        },
    )
    c.partition(["n1", "n2", "n3"], ["n4", "n5"])
    c.timeout("n1", 0.01)
    cut: set[str] = set()
    while cut != {"n2", "n3"}:  # lose the requests that carry index 3
        for event in c.step():
            for peer in ("n2", "n3"):
                if event.text.startswith(f"n1 -> {peer} AppendEntries(term 4, prev 2@2, entry 3"):
                    c.cut("n1", peer)
                    cut.add(peer)
    c.run(0.3)
    c.crash("n1")
    c.heal()
    c.timeout("n5", 0.01)  # term 4 fails: n2 and n3 voted for n1 in term 4
    c.run(0.05)
    c.timeout("n5")
    c.run(1.0)
    return c


def vote_forgotten_in_a_crash(bugs: Sequence[str]) -> Cluster:
    """n1 and n3 both campaign in term 1 (n3 3 ms later; n1's messages never reach n3).
    n2 grants n1 and crashes before its vote is on disk; it restarts and, hearing
    nothing from n1 (held), grants n3 in the same term."""
    c = Cluster(3, seed=1, **QUIET, flush_delay=0.02, latency=(0.002, 0.002), bugs=bugs)
    c.hold("n1", "n3")
    c.timeout("n1")
    c.timeout("n3", 0.003)
    c.run_until(lambda c: any("n2 -> n1 VoteResponse" in e.text for e in c.trace), timeout=1.0)
    c.crash("n2")
    c.hold("n1", "n2")
    c.restart("n2")
    c.run(0.2)
    return c


def committed_entry_lost_in_a_crash(bugs: Sequence[str]) -> Cluster:
    """Disk writes take 50 ms. n1 leads; n3 hears nothing more from it. A write reaches
    n2, which acknowledges it at once, so n1 commits it with n2. n2 crashes before its
    disk has the entry, n1 crashes too, and n2 restarts and wins term 2 with n3."""
    c = Cluster(3, seed=1, **QUIET, flush_delay=0.05, latency=(0.002, 0.002), bugs=bugs)
    c.timeout("n1")
    c.run(0.3)
    c.hold("n1", "n3")
    write = c.submit("set x 1")
    assert c.run_until(lambda c: write.committed, timeout=1.0)
    c.crash("n2")
    c.crash("n1")
    c.restart("n2")
    c.timeout("n2")
    c.run(0.5)
    return c


def conflicting_entry_kept(bugs: Sequence[str]) -> Cluster:
    """n1 holds an entry of term 2 at index 3 that the others replaced with one of term
    3. n2 leads term 4 and sends index 3 and its own entry 4; n1 must delete its
    entry 3 first (Raft §5.3)."""
    c = Cluster(
        3,
        seed=1,
        **QUIET,
        bugs=bugs,
        initial_logs={
            "n1": [1, 1, (2, "set x 2")],
            "n2": [1, 1, (3, "set x 3")],
            "n3": [1, 1, (3, "set x 3")],
        },
    )
    c.timeout("n2")
    c.run(0.3)
    return c


def stale_candidate_elected(bugs: Sequence[str]) -> Cluster:
    """n2 leads term 1 and commits a write with n3 while n1 is cut off. n2 crashes,
    the network heals, and n1, whose log lacks the write, asks n3 for its vote."""
    c = Cluster(3, seed=1, **QUIET, bugs=bugs)
    c.timeout("n2")
    c.run(0.2)
    c.isolate("n1")
    write = c.submit("set x 1")
    assert c.run_until(lambda c: write.committed, timeout=1.0)
    c.crash("n2")
    c.heal()
    c.timeout("n1")
    c.run(0.5)
    return c


def deposed_leader_heard(bugs: Sequence[str]) -> Cluster:
    """n1 leads term 1, is cut off, and n2 wins term 2 with n3. Then n1 can talk to
    the others again but not hear them: its term-1 heartbeats keep arriving."""
    c = Cluster(3, seed=1, **QUIET, bugs=bugs)
    c.timeout("n1")
    c.run(0.2)
    c.isolate("n1")
    c.timeout("n2")
    c.run(0.2)
    c.heal()
    c.cut("n2", "n1")
    c.cut("n3", "n1")
    c.run(0.2)
    return c


def write_replicated(bugs: Sequence[str]) -> Cluster:
    """n1 leads and replicates one write: followers append it, then learn it committed."""
    c = Cluster(3, seed=1, **QUIET, bugs=bugs)
    c.timeout("n1")
    c.run(0.2)
    c.submit("set x 1")
    c.run(0.2)
    return c


def old_voters_away_during_a_change(bugs: Sequence[str]) -> Cluster:
    """n1 leads {n1,n2,n3}; n2 and n3 crash, and n1 is asked to move to {n1,n4,n5}.
    The joint configuration needs a majority of the old voters too, which n1 lacks.
    Later n2 and n3 restart and n2 campaigns with the configuration it knows."""
    c = Cluster(3, seed=1, **QUIET, bugs=bugs)
    c.timeout("n1")
    c.run(0.2)
    c.crash("n2")
    c.crash("n3")
    c.change_members(["n1", "n4", "n5"])
    c.run(1.0)
    c.restart("n2")
    c.restart("n3")
    c.timeout("n2")
    c.run(0.5)
    return c


def split_candidates(bugs: Sequence[str]) -> Cluster:
    """n1 and n2 time out together and both ask for votes in term 1."""
    c = Cluster(3, seed=1, **QUIET, bugs=bugs)
    c.timeout("n1")
    c.timeout("n2")
    c.run(0.2)
    return c


def late_timeout_now(bugs: Sequence[str]) -> Cluster:
    """See `_late_timeout_now`."""
    return _late_timeout_now(bugs)[0]


def _late_timeout_now(bugs: Sequence[str]) -> tuple[Cluster, History]:
    """With CheckQuorum, n1 leads and x = 1. n1 transfers leadership to n2, but its
    TimeoutNow waits on the held link n1 -> n2 until the transfer has given up. Then it
    lands while n1 hears no one: n2 wins term 2 (transfer votes pass the lease) and
    commits x = 2, and a lease read at n1, which still leads term 1, follows. Returns
    the cluster and the three client operations as a history."""
    c = Cluster(3, seed=1, check_quorum=True, bugs=bugs)
    c.run_until(lambda c: c.leader is not None)
    c.run(0.3)
    old = c.leader
    assert old is not None
    target, other = [n for n in c.nodes if n != old]
    clients = HistoryRecorder()

    def write(name: str, command: str, to: str | None = None) -> None:
        op = clients.invoke_command(name, command, round(c.now * 1e6))
        handle = c.submit(command, to=to)
        assert c.run_until(lambda c: handle.committed, timeout=1)
        clients.ok(op, None, round(c.now * 1e6))

    write("w1", "set x 1")
    c.hold(old, target)
    transfer = c.transfer_leadership(target)
    c.run(0.35)
    assert transfer.outcome == "failed"
    c.cut(target, old)
    c.cut(other, old)
    c.release(old, target)
    assert c.run_until(lambda c: c.nodes[target].role == "leader", timeout=1)
    write("w2", "set x 2", to=target)
    assert c.nodes[old].role == "leader"  # cut off, it has not heard of term 2
    c.run(0.001)  # the read begins after the write was acknowledged
    op = clients.invoke_command("r", "get x", round(c.now * 1e6))
    read = c.read("x", mode="lease", to=old)
    c.run_until(lambda c: read.outcome != "pending", timeout=0.5)
    if read.outcome == "done":
        clients.ok(op, read.value, round(c.now * 1e6))
    else:
        clients.fail(op, round(c.now * 1e6))
    return c, clients.history()


STORIES: dict[str, Callable[[Sequence[str]], Cluster]] = {
    "commit_old_term": figure8,
    "vote_before_persist": vote_forgotten_in_a_crash,
    "ack_before_flush": committed_entry_lost_in_a_crash,
    "no_truncate": conflicting_entry_kept,
    "vote_without_log_check": stale_candidate_elected,
    "accept_stale_term": deposed_leader_heard,
    "apply_before_commit": write_replicated,
    "joint_new_quorum_only": old_voters_away_during_a_change,
    "double_vote": split_candidates,
    "lease_after_transfer": late_timeout_now,
}


# -- each bug, caught ------------------------------------------------------------


def test_committing_an_old_term_entry_by_counting_replicas_breaks_the_commit_rule():
    """Figure 8 (c)-(e): the commit itself breaks the Leader Commit Rule; then the next
    leader lacks the committed entry, and overwrites what n1 applied."""
    found = _properties(figure8(["commit_old_term"]))
    assert {"Leader Commit Rule", "Leader Completeness", "State Machine Safety"} <= found


def test_granting_a_vote_before_it_is_on_disk_lets_a_restarted_node_vote_twice():
    c = vote_forgotten_in_a_crash(["vote_before_persist"])
    found = _properties(c)
    assert {"Persist Before Responding", "Terms Never Decrease"} <= found
    assert {"One Vote Per Term", "Election Safety"} <= found  # two leaders of term 1
    first = c.violations[0]
    assert first.text.startswith("n2 sent VoteResponse(term 1, granted) to n1 while its disk")


def test_acknowledging_before_the_disk_write_loses_a_committed_entry():
    c = committed_entry_lost_in_a_crash(["ack_before_flush"])
    found = _properties(c)
    assert {"Durable Acknowledgement", "Leader Commit Rule", "Leader Completeness"} <= found
    (lost,) = [v for v in c.violations if v.property == "Leader Completeness"]
    assert lost.text.startswith("n2 leads term 2 without entry 2@1")


def test_keeping_a_conflicting_entry_breaks_log_matching():
    c = conflicting_entry_kept(["no_truncate"])
    assert c.violations[0].property == "Log Matching"
    assert "n1 appended entry 4@4 after an entry of term 2" in c.violations[0].text
    assert "State Machine Safety" in _properties(c)  # n1 applies its own index 3


def test_voting_without_the_log_check_elects_a_leader_missing_a_committed_entry():
    c = stale_candidate_elected(["vote_without_log_check"])
    assert c.violations[0].property == "Up-to-Date Vote"
    assert c.violations[0].text.startswith("n3 voted for n1 in term 2 although")
    assert "Leader Completeness" in _properties(c)


def test_accepting_append_entries_of_an_older_term_is_reported():
    c = deposed_leader_heard(["accept_stale_term"])
    assert _properties(c) == {"Stale Term Refused"}
    assert "of term 1 from n1 although its own term was 2" in c.violations[0].text


def test_applying_before_commit_breaks_applied_at_most_commit():
    c = write_replicated(["apply_before_commit"])
    assert _properties(c) == {"Applied <= Commit <= Last Index"}
    assert {v.nodes for v in c.violations} == {("n2",), ("n3",)}


def test_committing_the_joint_configuration_with_the_new_quorum_only_breaks_the_commit_rule():
    c = old_voters_away_during_a_change(["joint_new_quorum_only"])
    assert c.violations[0].property == "Leader Commit Rule"
    assert "moved on from {n1,n2,n3} + {n1,n4,n5} to {n1,n4,n5}" in c.violations[0].text
    # The old voters come back, elect n2, and n2 never had the committed change.
    assert "Leader Completeness" in _properties(c)


def test_voting_twice_in_a_term_elects_two_leaders():
    c = split_candidates(["double_vote"])
    assert c.violations[0].property == "One Vote Per Term"
    assert "Election Safety" in _properties(c)


def test_a_lease_kept_after_timeout_now_answers_a_stale_read():
    """No per-node checker sees it: each server kept every rule it knows. The clients'
    history does: the read began after x = 2 was acknowledged and answered 1."""
    c, history = _late_timeout_now(["lease_after_transfer"])
    assert c.violations == []
    read = next(op for op in history if op.client == "r")
    assert read.value == "1"
    assert check(history).verdict is Verdict.VIOLATION
    fixed = _late_timeout_now(())[1]
    assert next(op for op in fixed if op.client == "r").outcome.value == "fail"
    assert check(fixed).verdict is Verdict.LINEARIZABLE


def test_every_bug_switch_has_a_story():
    assert set(STORIES) == set(BUGS)


@pytest.mark.parametrize("bug", sorted(STORIES))
def test_the_story_without_its_bug_is_clean(bug: str) -> None:
    assert STORIES[bug](()).violations == []


# -- random fault campaigns -----------------------------------------------------

# What each bug breaks first, as the checkers say it. A lease kept after TimeoutNow
# breaks no rule a checker watches: only the clients' history shows it (below).
RULES = {
    "commit_old_term": {"Leader Commit Rule"},
    "vote_before_persist": {"Persist Before Responding"},
    "ack_before_flush": {"Durable Acknowledgement"},
    "no_truncate": {"Log Matching", "Durable Acknowledgement"},
    "vote_without_log_check": {"Up-to-Date Vote"},
    "accept_stale_term": {"Stale Term Refused"},
    "apply_before_commit": {"Applied <= Commit <= Last Index"},
    "joint_new_quorum_only": {"Leader Commit Rule"},
    "double_vote": {"One Vote Per Term"},
}


def _campaign(seed: int, bugs: Sequence[str], rounds: int) -> Cluster:
    """Random faults with membership changes, transfers and snapshots; stops at the
    first violation (a bug's later damage may trip the simulator's own assertions)."""
    rng = random.Random(seed)
    c = Cluster(
        rng.choice([3, 5]),
        seed=seed,
        bugs=bugs,
        drop=rng.choice([0.0, 0.05]),
        flush_delay=rng.choice([0.002, 0.02]),
        pre_vote=rng.random() < 0.5,
        reorder=rng.random() < 0.3,
        snapshot_interval=rng.choice([0, 10]),
    )
    for _ in range(rounds):
        _inject_faults(c, rng, rounds=1, admin=True)
        if c.violations:
            break
    return c


@pytest.mark.parametrize("bug", sorted(RULES))
def test_each_bug_is_found_within_twenty_seeds_of_a_fault_campaign(bug: str) -> None:
    for seed in range(20):
        if _properties(_campaign(seed, [bug], rounds=80)) & RULES[bug]:
            return
    pytest.fail(f"{bug}: none of 20 seeds reported {' or '.join(sorted(RULES[bug]))}")


@pytest.mark.parametrize("admin", [False, True], ids=["faults", "faults+admin"])
def test_with_no_bug_a_longer_campaign_finds_nothing(admin: bool) -> None:
    for seed in range(30):
        if admin:
            c = _campaign(seed, (), rounds=100)
        else:
            rng = random.Random(seed)
            c = _random_cluster(rng, seed)
            _inject_faults(c, rng, rounds=100, admin=False)
        c.heal()
        c.run(1.0)
        assert c.violations == [], f"seed {seed}: {c.violations[0]}"


# -- real damage in the fuzzer ----------------------------------------------------------

# The first seed of `raftsim fuzz --seeds 300 --duration 5 --bug NAME --checkers safety`
# that breaks a Figure 3 property, and the property, as benchmarks/bug_hunt.py measured
# them (it measures how many seeds each bug takes; these pin one each, as regressions).
FIRST_DAMAGE = {
    "ack_before_flush": (4, "Leader Completeness"),
    "accept_stale_term": (13, "Leader Completeness"),
    "apply_before_commit": (0, "State Machine Safety"),
    "commit_old_term": (2, "Leader Completeness"),
    "double_vote": (0, "Election Safety"),
    "joint_new_quorum_only": (59, "Leader Completeness"),
    "lease_after_transfer": (7, "linearizability"),
    "no_truncate": (0, "Log Matching"),
    "vote_before_persist": (16, "Election Safety"),
    "vote_without_log_check": (0, "Leader Completeness"),
}


@pytest.mark.parametrize("bug", sorted(FIRST_DAMAGE))
def test_each_bug_does_real_damage_in_a_fuzz_seed_and_the_seed_is_clean_without_it(
    bug: str,
) -> None:
    seed, broken = FIRST_DAMAGE[bug]
    settings = FuzzSettings(duration=5, bugs=(bug,), checkers="safety")
    result = run_seed(seed, settings).result
    assert (result.damage, result.kind) == (True, broken), result.headline()
    clean = run_seed(seed, FuzzSettings(duration=5, checkers="safety")).result
    assert not clean.failed, clean.headline()


def test_every_bug_switch_has_a_seed_that_does_damage() -> None:
    assert set(FIRST_DAMAGE) == set(BUGS)
