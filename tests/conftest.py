"""Helpers shared by the paper tests: a hand-driven raft.Node, and one faulty cluster run.

`make_node` builds a node from a disk image and lets a test play the world by
hand (deliver a message, make writes durable, read what was sent). `faulty_run`
drives a 5-node cluster through crashes, partitions, loss and duplication
under client load, recording what several tests check afterwards; it is
cached so the tests that share it pay for it once.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable

import attrs
from click.testing import CliRunner, Result

from raft import (
    ELECTION_TIMER,
    Configuration,
    DurableState,
    EntryKind,
    LogEntry,
    Message,
    Node,
    Output,
    Persist,
    RaftOptions,
    Send,
    VoteResponse,
)
from sim import Cluster
from sim.cli import main

# -- a raft.Node driven by hand ---------------------------------------------


def entries(*terms: int) -> list[LogEntry]:
    """Log entries 1..n with the given terms and commands "set kI I"."""
    return [LogEntry(index=i, term=t, command=f"set k{i} {i}") for i, t in enumerate(terms, 1)]


def make_node(
    node_id: str = "n1",
    *,
    voters: tuple[str, ...] = ("n1", "n2", "n3"),
    term: int = 0,
    voted_for: str | None = None,
    log: list[LogEntry] | tuple[int, ...] = (),
    pre_vote: bool = False,
) -> Node:
    """A started node whose disk held `term`, `voted_for` and `log` (entries or their terms)."""
    log_entries = entries(*log) if log and isinstance(log[0], int) else list(log)
    node = Node(
        node_id,
        initial_configuration=Configuration(voters),
        options=RaftOptions(pre_vote=pre_vote),
        rng=random.Random(1),
        durable=DurableState(term, voted_for, log_entries),
    )
    node.start(0)
    node.take_outputs()
    return node


def sent(outputs: list[Output]) -> list[Message]:
    """The messages among a node's outputs."""
    return [out.message for out in outputs if isinstance(out, Send)]


def make_durable(
    node: Node, outputs: list[Output], now: int, disk: DurableState | None = None
) -> list[Output]:
    """Complete every write in `outputs` (applying it to `disk` if given).

    Returns `outputs` followed by what the node emitted once the writes were
    durable (the replies it held back until then).
    """
    writes = [out for out in outputs if isinstance(out, Persist)]
    for out in writes:
        if disk is not None:
            disk.apply(out.write)
    if writes:
        node.persisted(writes[-1].seq, now)
    return outputs + node.take_outputs()


def make_leader(voters: tuple[str, ...] = ("n1", "n2", "n3"), **disk) -> Node:
    """Node n1 elected leader by votes from every peer (PreVote off)."""
    node = make_node("n1", voters=voters, **disk)
    now = node.election_deadline
    node.fire(ELECTION_TIMER, now)
    make_durable(node, node.take_outputs(), now)
    for peer in voters[1:]:
        node.receive(VoteResponse(src=peer, dst="n1", term=node.term, granted=True), now)
    node.take_outputs()
    assert node.role.value == "leader"
    return node


# -- reading traces ---------------------------------------------------------

SEND = re.compile(r"^(\S+) -> (\S+) (\w+)\(term (\d+)(.*)$")
BECOMES_LEADER = re.compile(r"^(\S+) becomes leader of term (\d+)")


def vote_grants(trace) -> list[tuple[str, int, str]]:
    """(voter, term, candidate) for every granted (non-pre) vote put on the wire."""
    grants = []
    for event in trace:
        if event.kind == "send":
            match = SEND.match(event.text)
            if match and match[3] == "VoteResponse" and ", granted)" in match[5]:
                grants.append((match[1], int(match[4]), match[2]))
    return grants


def elected(trace) -> dict[int, set[str]]:
    """Term -> every node the trace says became leader of it."""
    leaders: dict[int, set[str]] = {}
    for event in trace:
        if event.kind == "leader":
            match = BECOMES_LEADER.match(event.text)
            if match:
                leaders.setdefault(int(match[2]), set()).add(match[1])
    return leaders


def announced_term(event) -> int | None:
    """The term a node tells others in a sent message (None for pre-vote traffic).

    A PreVote asks about a term nobody holds yet and a granted PreVoteResponse
    echoes it (thesis §9.6); every other message carries the sender's term.
    """
    if event.kind != "send":
        return None
    match = SEND.match(event.text)
    if match is None:
        return None
    name, rest = match[3], match[5]
    if name == "PreVote" or (name == "PreVoteResponse" and ", granted)" in rest):
        return None
    return int(match[4])


# -- one faulty run, shared -------------------------------------------------


@attrs.define
class FaultyRun:
    """What was seen while a cluster ran through faults, polled after every step."""

    cluster: Cluster
    term_decreases: list[str] = attrs.Factory(list)
    # (node, highest term it announced before crashing, term it restarted with)
    restarts: list[tuple[str, int, int]] = attrs.Factory(list)
    leaders_seen: dict[int, set[str]] = attrs.Factory(dict)
    # Logs of the running nodes, taken every few steps and at the end.
    log_snapshots: list[dict[str, list[LogEntry]]] = attrs.Factory(list)


@functools.cache
def faulty_run(seed: int = 11, seconds: float = 15.0) -> FaultyRun:
    """Run a 5-node cluster through reboots, partitions, loss, duplication and
    reordering, then heal.

    Every 50-250 ms a command is submitted to each leader and, at random, a node
    crashes (restarting 0-300 ms later), a partition is imposed, or the network
    heals. Then all faults are lifted and the cluster runs 2 s more.
    """
    c = Cluster(5, seed=seed, drop=0.05, duplicate=0.05, latency=(0.001, 0.030), reorder=True)
    run = FaultyRun(c)
    rng = random.Random(seed)
    ids = list(c.nodes)
    terms = {n: c.nodes[n].term for n in ids}
    announced = dict.fromkeys(ids, 0)
    down: dict[str, float] = {}

    def restart(node: str) -> None:
        c.restart(node)
        run.restarts.append((node, announced[node], c.nodes[node].term))
        terms[node] = c.nodes[node].term
        del down[node]

    def observe(events) -> None:
        for event in events:
            term = announced_term(event)
            if term is not None:
                announced[event.node] = max(announced[event.node], term)
        for n in ids:
            view = c.nodes[n]
            if not view.running:
                continue
            if view.term < terms[n]:
                run.term_decreases.append(f"{n}: term {terms[n]} -> {view.term} at {c.now}")
            terms[n] = view.term
            if view.role == "leader":
                run.leaders_seen.setdefault(view.term, set()).add(n)

    def snapshot() -> None:
        run.log_snapshots.append({n: c.nodes[n].log for n in ids if c.nodes[n].running})

    steps, next_fault, command = 0, 0.3, 0
    while c.now < seconds:
        observe(c.step())
        steps += 1
        if steps % 40 == 0:
            snapshot()
        for node, at in list(down.items()):
            if c.now >= at:
                restart(node)
        if c.now < next_fault:
            continue
        next_fault = c.now + rng.uniform(0.05, 0.25)
        # Every node that believes it leads gets a write, stale leaders included:
        # their entries diverge and must later be overwritten.
        for node in ids:
            if c.nodes[node].running and c.nodes[node].role == "leader":
                command += 1
                c.submit(f"set k{command} {command}", to=node)
        roll = rng.random()
        if roll < 0.15 and len(down) < 2:
            up = [n for n in ids if n not in down]
            node = c.leader if c.leader is not None and rng.random() < 0.5 else rng.choice(up)
            c.crash(node)
            down[node] = c.now + rng.uniform(0.0, 0.3)
        elif roll < 0.3:
            group = rng.sample(ids, rng.choice([1, 2]))
            if c.leader is not None and c.leader not in group and rng.random() < 0.5:
                group[0] = c.leader  # strand the leader with its uncommitted writes
            c.partition(group)
        elif roll < 0.4:
            c.heal()
    for node in list(down):
        restart(node)
    c.heal()
    c.set_network(drop=0.0, duplicate=0.0)
    end = c.now + 2.0
    while c.now < end:
        observe(c.step())
    snapshot()
    return run


# -- cluster helpers for membership, transfer and snapshot tests --------------


def with_leader(c: Cluster, settle: float = 0.3) -> str:
    """Run until a leader has committed an entry of its term, then a little more."""
    assert c.run_until(
        lambda c: c.leader is not None and c.nodes[c.leader].commit_index >= 1, timeout=3.0
    )
    c.run(settle)
    assert c.leader is not None
    return c.leader


def commit(c: Cluster, *commands: str, to: str | None = None) -> list:
    """Submit commands to the leader (waiting for one) and run until all are committed."""
    if to is None:
        assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    handles = [c.submit(command, to=to) for command in commands]
    assert all(h.accepted for h in handles), [h.reason for h in handles]
    assert c.run_until(lambda c: all(h.committed for h in handles), timeout=3.0)
    return handles


def finish(c: Cluster, handle, timeout: float = 3.0) -> None:
    """Run until an accepted admin request ends; it must have succeeded."""
    assert handle.accepted, handle.reason
    assert c.run_until(lambda c: handle.outcome != "pending", timeout=timeout)
    assert handle.outcome == "done", handle.reason


def last_index(c: Cluster, node: str) -> int:
    view = c.nodes[node]
    return view.snapshot_index + len(view.log)


def configurations(c: Cluster, node: str) -> list[Configuration]:
    """The configuration entries a node holds, in log order."""
    return [e.configuration for e in c.nodes[node].log if e.kind is EntryKind.CONFIGURATION]


def running_members(c: Cluster) -> list[str]:
    leader = c.leader
    assert leader is not None
    return [n for n in c.nodes[leader].members.members if c.nodes[n].running]


def _settled(c: Cluster) -> bool:
    leader = c.leader
    if leader is None:
        return False
    lv = c.nodes[leader]
    if lv.membership_stage != "none" or lv.transferring_to is not None:
        return False
    if lv.commit_index < last_index(c, leader) or lv.last_applied < lv.commit_index:
        return False
    for node in running_members(c):
        view = c.nodes[node]
        if (
            last_index(c, node) != last_index(c, leader)
            or view.commit_index != lv.commit_index
            or view.last_applied != lv.commit_index
        ):
            return False
    return True


def assert_members_agree(c: Cluster, expected_voters: Iterable[str] | None = None) -> str:
    """Settle, then check every running member holds what the leader holds.

    Same configuration (not joint), same log after the latest snapshot any of
    them took, same applied index and key-value data; the commands each applied
    one by one are the log's; no safety violation was seen. Returns the leader.
    """
    assert c.run_until(_settled, timeout=3.0), {n: repr(v) for n, v in c.nodes.items()}
    leader = c.leader
    assert leader is not None
    conf = c.nodes[leader].members
    assert not conf.is_joint
    if expected_voters is not None:
        assert set(conf.voters) == set(expected_voters)
    members = running_members(c)
    base = max(c.nodes[n].snapshot_index for n in members)
    reference = [e for e in c.nodes[leader].log if e.index > base]
    by_index: dict[int, str] = {}
    for node in members:
        view = c.nodes[node]
        assert view.members == conf, (node, view.members, conf)
        assert [e for e in view.log if e.index > base] == reference, node
        assert view.data == c.nodes[leader].data, node
        assert view.last_applied == c.nodes[leader].last_applied, node
        assert [i for i, _ in view.applied] == sorted({i for i, _ in view.applied}), node
        for index, command in view.applied:
            assert by_index.setdefault(index, command) == command, (node, index)
    in_log = {e.index: e.command for e in c.nodes[leader].log}
    assert all(in_log.get(index, command) == command for index, command in by_index.items())
    assert c.violations == []
    return leader


def texts(c: Cluster, kind: str | None = None, node: str | None = None) -> list[str]:
    return [
        e.text
        for e in c.trace
        if (kind is None or e.kind == kind) and (node is None or e.node == node)
    ]


def first_index_of(c: Cluster, fragment: str, start: int = 0) -> int:
    """Trace index of the first event from `start` whose text contains `fragment`."""
    for event in c.trace[start:]:
        if fragment in event.text:
            return event.index
    raise AssertionError(f"no trace event contains {fragment!r}")


def figure8_start(logs: dict) -> Cluster:
    """Five servers holding `logs` (Raft Figure 8), n4 and n5 partitioned off, and n1's
    election timer about to fire. One request on the wire per follower and one entry per
    request, so each index travels on its own; long election timeouts, so only the
    elections a test asks for happen."""
    c = Cluster(
        5,
        seed=1,
        pre_vote=False,
        election_timeout=(1.0, 2.0),
        max_inflight=1,
        max_entries_per_request=1,
        initial_logs=logs,
    )
    c.partition(["n1", "n2", "n3"], ["n4", "n5"])
    c.timeout("n1", 0.01)
    return c


def others(c: Cluster, *excluded: str) -> list[str]:
    return [n for n in c.nodes if n not in excluded]


def visible_state(c: Cluster) -> dict:
    """Everything a caller can see of every node, plus the clock."""
    return {
        "now": c.now,
        "leader": c.leader,
        "nodes": {
            node_id: (
                v.role,
                v.term,
                v.voted_for,
                v.commit_index,
                v.last_applied,
                v.running,
                [(e.index, e.term, e.command) for e in v.log],
                v.applied,
                str(v.members),
            )
            for node_id, v in c.nodes.items()
        },
    }


# -- the command line ----------------------------------------------------------


def raftsim(*args: str) -> Result:
    """Run the `raftsim` command in-process with these arguments."""
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Result) -> str:
    """The single error line a bad input must produce (exit code 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
