"""Why, in plain sentences: why an entry is or is not committed, why there is or is no leader.

Theory of operation: `explain_commit(world, index)` and `explain_leader(world)`
read the world of the moment (the cluster hands it over, read-only: a WorldView)
and say what a student would otherwise piece together from the node table, the
logs and the trace: which nodes hold the
entry (on disk, per the simulated disk's durable image, or only in memory),
the quorum the leader's BallotBox needs (both while joint), the Figure 8 rule,
the messages in flight, and why each lagging follower lags; or who leads, who
campaigns, who refuses (the nodes' recent refusal notes in the trace), who is
down or cut off, and when the next election timers fire (that half is in explain_leader.py).
What they take from the trace they read from its rows' kinds and template arguments,
never by parsing sentences. They change nothing; `Cluster.explain` is the front door.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

import attrs

from raft import EntryKind, LogEntry, Node, Role
from raft.ballot_box import COMMITTED_MANY, COMMITTED_ONE
from raft.configuration import Configuration
from raft.messages import AppendEntries, AppendEntriesResponse, InstallSnapshot
from raft.messages import InstallSnapshotResponse as SnapshotAck
from raft.quorum import majority
from sim.engine.trace import args_of, said_of

if TYPE_CHECKING:
    from sim.engine.network import Flight
    from sim.engine.observer import WorldView

SNAPSHOT = 0  # the "term" of an index inside a snapshot
# The leader's commit notes: "indexes 1..3 acknowledged by n1, n2, n3 (...) -> committed".
COMMITTED = (COMMITTED_ONE, COMMITTED_MANY)


@attrs.frozen
class Explanation:
    """A headline, then one sentence a line (lines starting "- " are list items).

    `str()` gives the text; Jupyter shows it as HTML.
    """

    lines: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        html = [f"<p><b>{escape(self.lines[0])}</b></p>"]
        in_list = False
        for line in self.lines[1:]:
            item = line.startswith("- ")
            if item != in_list:
                html.append("<ul>" if item else "</ul>")
                in_list = item
            html.append(f"<li>{escape(line[2:])}</li>" if item else f"<p>{escape(line)}</p>")
        return '<div class="raftsim-explain">' + "".join(html) + ("</ul>" * in_list) + "</div>"


def ms(us: int) -> str:
    return f"{round(max(0, us) / 1000, 1):g} ms"


def names(ids: Iterable[str]) -> str:
    return ", ".join(ids) or "none"


def id_set(ids: Iterable[str]) -> str:
    return "{" + ",".join(ids) + "}"


def _entry(entry: LogEntry) -> str:
    what = {
        EntryKind.DATA: f'"{entry.command}"',
        EntryKind.CONFIGURATION: f"configuration {entry.configuration}",
    }.get(entry.kind, "no-op")
    return f"Entry {entry.index} (term {entry.term}, {what})"


def between(world: WorldView, a: str, b: str) -> str | None:
    """Why a and b cannot talk now (a partition is said once, a cut in each direction)."""
    there, back = world.network.blocked(a, b), world.network.blocked(b, a)
    if there and back and "partitioned" not in there:
        return f"{there}; {back}"
    return there or back


# -- what the world holds -----------------------------------------------------------


def _copy(world: WorldView, node_id: str, index: int) -> tuple[int | None, str]:
    """The term a node holds at `index` (None: nothing) and where: "disk", "memory", "snapshot".

    A running node answers from memory, checked against its disk's durable
    image; a crashed node has only its disk.
    """
    durable = world.disks[node_id].durable
    offset = index - durable.log_start - 1
    on_disk = SNAPSHOT if offset < 0 else None
    if 0 <= offset < len(durable.entries):
        on_disk = durable.entries[offset].term
    if not world.running[node_id]:
        return on_disk, "snapshot" if on_disk == SNAPSHOT else "disk"
    log = world.nodes[node_id].log
    if index <= log.snapshot_index:
        return SNAPSHOT, "snapshot"
    term = log.term_at(index)
    return term, "disk" if term is not None and on_disk == term else "memory"


def _holds(world: WorldView, node_id: str, index: int, term: int | None = None) -> str:
    """What a node holds at `index`, said of the entry of `term` if given."""
    held, where = _copy(world, node_id, index)
    it = "it" if term is not None or held is None else f"{index}@{held}"
    if term is not None and held not in (None, term, SNAPSHOT):
        it = f"a different entry there (term {held})"
    if not world.running[node_id]:
        verb = "does not hold" if held is None else "holds"
        return f"is down (crashed); its disk {verb} {it}" + " in a snapshot" * (where == "snapshot")
    if held is None:
        return f"does not have it yet (its log ends at {world.nodes[node_id].log.last_index})"
    if where == "snapshot":
        return "has it in its snapshot (committed)"
    if it.startswith("a different"):
        return f"holds {it}, which the leader will overwrite" if term else f"holds {it}"
    return f"holds {it} on disk" if where == "disk" else f"holds {it} in memory only (not flushed)"


def _landing(world: WorldView, flight: Flight) -> str:
    network, msg = world.network, flight.message
    if flight.msg_id in network.held or (msg.src, msg.dst) in network.held_links:
        return f", held on the link {msg.src} -> {msg.dst} until released"
    lost = network.blocked(msg.src, msg.dst) or (
        not world.running[msg.dst] and f"{msg.dst} is down"
    )
    return (
        f", but it will be lost ({lost})"
        if lost
        else f", lands in {ms(flight.lands_us - world.now)}"
    )


def _traffic(world: WorldView, leader: str, peer: str, index: int) -> list[str]:
    """Messages in flight that carry entry `index` to `peer`, or its acknowledgement back."""
    said = []
    for flight in world.network.in_flight.values():
        msg = flight.message
        if (msg.src, msg.dst) == (leader, peer):
            if isinstance(msg, AppendEntries) and msg.entries:
                if msg.entries[0].index <= index <= msg.entries[-1].index:
                    said.append("AppendEntries carrying it is in flight" + _landing(world, flight))
            elif isinstance(msg, InstallSnapshot) and msg.snapshot.last_index >= index:
                said.append("a snapshot holding it is in flight" + _landing(world, flight))
        elif (msg.src, msg.dst) == (peer, leader) and _acknowledges(msg, index):
            said.append(
                f"its acknowledgement (match {msg.match_index}) is on its way back"  # type: ignore[attr-defined]
                + _landing(world, flight)
            )
    return said


def _acknowledges(msg: object, index: int) -> bool:
    """A follower's answer saying it holds entry `index` on disk."""
    if isinstance(msg, AppendEntriesResponse) and msg.heartbeat:
        return False
    return (
        isinstance(msg, AppendEntriesResponse | SnapshotAck)
        and msg.success
        and msg.match_index >= index
    )


def _lag(world: WorldView, leader: str, peer: str, said: list[str]) -> list[str]:
    """Why the leader's entries do not reach a running `peer`: links, the replicator's state
    (a held link only if no message `said` to be in flight already waits there)."""
    reasons = [why] if (why := between(world, leader, peer)) else []
    reasons += [
        f"the link {a} -> {b} is held"
        for a, b in ((leader, peer), (peer, leader))
        if (a, b) in world.network.held_links and not any(f"{a} -> {b}" in t for t in said)
    ]
    replicator = world.nodes[leader].replicators.get(peer)
    if replicator is not None:
        doing = {
            "probe": "probing (looking for where the logs match)",
            "replicate": "replicating",
            "snapshot": "sending a snapshot",
        }[replicator.state.value]
        reasons.append(
            f"{leader}'s replicator for it is {doing}: next index {replicator.next_index}, "
            f"match {replicator.match_index}, {len(replicator.inflight)} in flight"
        )
    return reasons


def _when_committed(world: WorldView, index: int, term: int = 0) -> list[str]:
    """The BallotBox note (in the trace) of the commit that first covered `index` (of `term`).

    Read backwards, from the end: a leader commits nothing below its first entry of
    its term, so a commit ending below `index` comes before the one sought.
    """
    first: list[str] = []
    for row in reversed(world.trace.rows):
        if row[7] not in COMMITTED:
            continue
        low, last = args_of(row)[:2]
        if last < index:
            break
        if low <= index:
            first = [f"{row[2]} committed it at {row[1] / 1e6:.4f}s: {said_of(row)}."]
            later = world.nodes[row[2]].log.term_at(last) or 0
            if later > term > 0:
                first.append(
                    f"Of term {term}, it committed beneath entry {last} of term {later}, as an "
                    "entry of an earlier term must (Raft §5.4.2)."
                )
    return first


# -- why is entry N (not) committed ---------------------------------------------------


def _quorum(conf: Configuration, acked: dict[str, int], index: int) -> tuple[list[str], bool]:
    """Sentences on the quorum entry `index` needs and has; and whether it has it."""
    counted = [v for v in conf.all_voters if acked.get(v, 0) >= index]
    if conf.old_voters is None:
        need = majority(len(conf.voters))
        return [
            f"It needs {need} of the {len(conf.voters)} voters {id_set(conf.voters)} to hold it "
            f"on disk and say so; the leader has counted {len(counted)}: {names(counted)}."
        ], len(counted) >= need
    parts, reached = [], True
    for name, voters in (("old", conf.old_voters), ("new", conf.voters)):
        have = [v for v in voters if v in counted]
        enough = len(have) >= majority(len(voters))
        reached = reached and enough
        verdict = "reached" if enough else "not yet"
        parts.append(f"{name} {len(have)} of {majority(len(voters))} ({names(have)}): {verdict}")
    return [
        f"The configuration is joint, so it needs both quorums: {majority(len(conf.old_voters))} "
        f"of the old voters {id_set(conf.old_voters)} and {majority(len(conf.voters))} of the new "
        f"voters {id_set(conf.voters)}. Counted so far: {'; '.join(parts)}."
    ], reached


def explain_commit(world: WorldView, index: object) -> Explanation:
    """Why entry `index` is or is not committed on the current leader of `world`."""
    if not isinstance(index, int) or isinstance(index, bool) or index < 1:
        raise ValueError(f"index must be a whole number ≥ 1 (a log index), got {index!r}")
    leader = world.leader()
    if leader is None:
        return Explanation(tuple(_commit_without_leader(world, index)))
    node = world.nodes[leader]
    log = node.log
    head = f"leader {leader} (term {node.term}, commit index {node.commit_index})"
    if index <= log.snapshot_index:
        return Explanation(
            (
                f"Entry {index} is committed: it is compacted into {leader}'s {log.snapshot}, "
                "and a snapshot holds only applied, hence committed, entries.",
                *_when_committed(world, index),
            )
        )
    if index > log.last_index:
        lines = [
            f"Entry {index} does not exist on {head}: its log ends at {log.last_index} "
            f"(term {log.last_term}), so there is nothing to commit yet."
        ]
        for other in world.nodes:
            if other != leader and (held := _copy(world, other, index)[0]):
                lines.append(
                    f"- {other} holds an entry {index} (term {held}) that the leader lacks: it is "
                    "not committed, and the leader will replace it (Raft §5.3)."
                )
        return Explanation(tuple(lines))
    entry = log.entry(index)
    if index <= node.commit_index:
        copies = {n: _copy(world, n, index) for n in world.nodes}
        on_disk = [
            n
            for n, (t, where) in copies.items()
            if t in (entry.term, SNAPSHOT) and where != "memory"
        ]
        applied = [n for n, m in world.nodes.items() if m.last_applied >= index]
        return Explanation(
            (
                f"{_entry(entry)} is committed on {head}.",
                *_when_committed(world, index, entry.term),
                f"On disk on {names(on_disk)}; applied on {names(applied)}.",
            )
        )
    conf = node.configuration
    acked = {leader: log.durable_index, **{p: r.match_index for p, r in node.replicators.items()}}
    quorum, reached = _quorum(conf, acked, index)
    lines = [f"{_entry(entry)} is not committed yet on {head}.", *quorum]
    if entry.term < node.term:
        lines += _figure8(world, node, entry, acked, reached)
    for member in [leader, *(m for m in conf.members if m != leader)]:
        lines.append(_member_line(world, leader, member, entry, acked, conf))
    return Explanation(tuple(lines))


def _figure8(
    world: WorldView, node: Node, entry: LogEntry, acked: dict, reached: bool
) -> list[str]:
    term, log, conf = node.term, node.log, node.configuration
    lines = [
        f"It is of term {entry.term}, older than the leader's term {term}: the leader never "
        "commits it by counting replicas, even on a majority (Raft §5.4.2, Figure 8). It "
        f"commits only beneath a later entry of term {term}, when that one commits."
    ]
    if reached:
        lines.append("It does sit on a quorum: counting alone would commit it, unsafely.")
    later = range(entry.index + 1, log.last_index + 1)
    own = next((i for i in later if log.term_at(i) == term), None)
    if own is None:
        return [*lines, f"The leader has no entry of term {term} after it yet."]
    counted = [v for v in conf.all_voters if acked.get(v, 0) >= own]
    verdict = "both commit" if _quorum(conf, acked, own)[1] else "neither commits yet"
    lines.append(
        f"Such an entry exists: entry {own}, the leader's first of term {term}. It is counted "
        f"on {names(counted)} and needs {conf.quorum_text()}, so {verdict}."
    )
    missing = []
    for v in (v for v in conf.all_voters if v not in counted):
        why = between(world, node.id, v) if world.running[v] else "down"
        missing.append(f"{v} ({why})" if why else v)
    return [*lines, f"Not yet counted for entry {own}: {names(missing)}."] if missing else lines


def _member_line(world, leader, member, entry, acked, conf) -> str:
    role = " (leader)" if member == leader else ""
    if member in conf.learners and not conf.is_voter(member):
        role = " (learner: does not count)"
    said = [f"{member}{role} {_holds(world, member, entry.index, entry.term)}"]
    if acked.get(member, 0) >= entry.index:
        said.append("acknowledged" if role.startswith(" (learner") else "counted")
    elif member == leader:
        said.append("the leader's own copy counts once its disk flush completes")
    elif world.running[member]:
        if _copy(world, member, entry.index) == (entry.term, "memory"):
            said.append("it says so once its disk write is flushed")
        traffic = _traffic(world, leader, member, entry.index)
        said += traffic + _lag(world, leader, member, traffic)
    else:
        said += _traffic(world, leader, member, entry.index)
    return "- " + "; ".join(said) + "."


def _commit_without_leader(world: WorldView, index: int) -> list[str]:
    lines = [f"There is no leader now, so no one counts acknowledgements for entry {index}."]
    lines += fallen_leaders(world)
    running = [n for n in world.nodes if world.running[n]]
    fallen = [
        n for n, m in world.nodes.items() if m.role is Role.LEADER and m.commit_index >= index
    ]
    best = max(running, key=lambda n: world.nodes[n].commit_index, default=None)
    known = world.nodes[best].commit_index if best else 0
    if fallen or known >= index:
        who = (
            f"{best} knows it" if known >= index else f"{names(fallen)} committed it, then crashed"
        )
        lines.append(
            f"It is committed: {who}. A committed entry is in every future leader's log "
            "(Raft §5.4)."
        )
    else:
        lines.append(
            f"No node knows it as committed (the highest commit index known is {known}). A next "
            "leader that holds it commits it beneath the first entry of its own term; one that "
            "lacks it replaces it."
        )
    lines.append(f"What each node holds at index {index}:")
    lines += [f"- {n} {_holds(world, n, index)}." for n in world.nodes]
    return [*lines, "explain() says why there is no leader."]


def fallen_leaders(world: WorldView) -> list[str]:
    return [
        f"{n} led term {node.term} until it crashed (its commit index was {node.commit_index})."
        for n, node in world.nodes.items()
        if not world.running[n] and node.role is Role.LEADER
    ]
