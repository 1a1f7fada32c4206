"""What makes two states the same: a canonical key, hashed to 16 bytes.

Theory of operation: the explorer explores a state reached two ways once.
Two worlds are the same state when everything that can change what happens
next, or what the checkers judge, is equal:

- each node's role, term, vote, leader, log (index, term, command or
  configuration), commit and applied index, durable prefix, snapshot, the
  writes waiting for its disk and what it waits to send until they are
  durable, its campaign (votes so far), and, while it leads, its replicators
  (probe or replicate, next and match index, requests awaiting an answer)
  and the acknowledgements its BallotBox counted; which timers are set;
- each disk's durable image and pending writes (a crashed node is only its
  disk: it restarts from it);
- the messages in flight, by content, not by id: on FIFO links the sequence
  on each link, with `reorder=on` the multiset;
- the budgets used so far, and a little history (`Ghosts`): who led which
  term, what each term's leader committed, what was applied where, since the
  Figure 3 properties are about the past as much as the present (as the
  history variables of the TLA+ specification of Raft are).

Left out on purpose: the clock and every time a node remembers (when it last
heard from a leader, when a request was sent), message ids, and counters
that only name things. Request numbers (`seq`) are renamed by their order on
each link, so a heartbeat sent and answered brings a leader back to a state
it has been in. Leaving these out is an abstraction: two states that differ
only there are explored once, from whichever was reached first.

The key reads some fields the parts of a node keep to themselves (the
replies waiting for the disk, a replicator's requests in flight, the
acknowledgements a BallotBox counted): whatever decides what a node does
next belongs in it.

Symmetry: when the start is the same for every node (a fresh cluster), node
ids are interchangeable, and a state is keyed under a renaming that sorts
the nodes by their own state first, so that states that differ only by
naming tend to share a key.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
import weakref
from collections.abc import Callable, Mapping

import attrs

from raft import (
    AppendEntries,
    AppendEntriesResponse,
    EntryKind,
    InstallSnapshot,
    InstallSnapshotResponse,
    LogEntry,
    Message,
    Node,
    Role,
)
from sim.engine.world import World

Rename = Mapping[str, str]


@attrs.frozen
class Ghosts:
    """What happened on the way to a state that its present no longer shows."""

    leaders: frozenset = frozenset()  # (term, leader)
    commits: frozenset = frozenset()  # (leader's term, index, term of the entry there)
    applied: frozenset = frozenset()  # (index, term of the entry applied there)


def ghosts_after(world: World, before: Ghosts) -> Ghosts:
    """`before`, plus what the nodes of `world` show now."""
    leaders, commits, applied = set(), set(), set()
    for node_id, node in world.nodes.items():
        if not world.running[node_id]:
            continue
        log = node.log
        if node.role is Role.LEADER:
            leaders.add((node.term, node_id))
            if node.commit_index:
                commits.add((node.term, node.commit_index, log.term_at(node.commit_index)))
        for index in range(log.snapshot_index + 1, node.last_applied + 1):
            applied.add((index, log.term_at(index)))
    if leaders <= before.leaders and commits <= before.commits and applied <= before.applied:
        return before
    return Ghosts(before.leaders | leaders, before.commits | commits, before.applied | applied)


def symmetric_start(world: World) -> bool:
    """Are the node ids interchangeable in this world (the same state for every node)?"""
    network = world.network
    if network.in_flight or network.cuts or network.groups or network.held_links:
        return False
    ids = sorted(world.nodes)
    if set(world.nodes[ids[0]].configuration.members) != set(ids):
        return False
    shapes = {_signature(world, node_id) for node_id in ids}
    return len(shapes) == 1


def renaming(world: World) -> dict[str, str]:
    """Node ids renamed in the order of their own state (ties keep their order)."""
    ids = sorted(world.nodes, key=lambda n: (_signature(world, n), n))
    # Interned: marshal writes an object met twice as a reference to the first, so a
    # key is the same bytes only if its names are the very same objects whichever
    # renaming made them (node encodings are remembered across states).
    return {old: sys.intern(f"n{i}") for i, old in enumerate(ids, start=1)}


def _signature(world: World, node_id: str) -> bytes:
    """A node's state with every node id but its own left out (for sorting)."""
    cached = _cached(world, node_id, _SIGNATURE)
    if cached is not None:
        return cached
    anonymous: dict[str, str] = {node_id: "self"}
    signature = marshal.dumps(_node(world, node_id, _Anonymous(anonymous), {}))
    _remember(world, node_id, _SIGNATURE, signature)
    return signature


class _Anonymous(dict):
    """A renaming that calls every node but the named ones 'other'."""

    def __missing__(self, key: str) -> str:
        return "other"


def digest(world: World, used: tuple, ghosts: Ghosts, rename: Rename | None = None) -> bytes:
    """The state's canonical key, hashed (16 bytes of BLAKE2b: collisions are not a worry)."""
    r = rename if rename is not None else _Identity()
    seqs = _seq_ranks(world)
    names = None if rename is None else tuple(rename.items())
    nodes = tuple(
        sorted((r[node_id], _node_keyed(world, node_id, r, names, seqs)) for node_id in world.nodes)
    )
    key = (
        nodes,
        _network(world, r, seqs),
        used,
        tuple(sorted(ghosts.leaders if rename is None else {(t, r[n]) for t, n in ghosts.leaders})),
        tuple(sorted(ghosts.commits)),
        tuple(sorted(ghosts.applied)),
    )
    return hashlib.blake2b(marshal.dumps(key), digest_size=16).digest()


class _Identity(dict):
    def __missing__(self, key: str) -> str:
        return key


# -- nodes ---------------------------------------------------------------------


# What a node's state encodes to, by node object. A move changes at most one node,
# which the fork copies (fork.py); the others are the very objects of the parent
# state, never changed once shared, so their encodings are reused rather than
# made again. An entry holds only while the node's disk object, whether it runs,
# its timers and the renaming are what they were when it was made; what depends
# on request numbers (numbered by the whole state) is encoded every time.
_LOCAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SIGNATURE = "signature"


def _timers(world: World, node_id: str) -> tuple[str, ...]:
    """The names of the node's timers that are set."""
    return tuple(sorted(name for (owner, name) in world._timer_tokens if owner == node_id))


def _context(world: World, node_id: str) -> tuple:
    return (world.disks[node_id], world.running[node_id], _timers(world, node_id))


def _same(entry: tuple | None, context: tuple) -> bool:
    if entry is None:
        return False
    before = entry[0]
    return before[0] is context[0] and before[1:] == context[1:]  # the very disk object


def _cached(world: World, node_id: str, names: object) -> object | None:
    entry = _LOCAL.get(world.nodes[node_id])
    if not _same(entry, _context(world, node_id)):
        return None
    return entry[1].get(names)  # type: ignore[index]


def _remember(world: World, node_id: str, names: object, encoded: object) -> None:
    node, context = world.nodes[node_id], _context(world, node_id)
    entry = _LOCAL.get(node)
    if not _same(entry, context):
        entry = _LOCAL[node] = (context, {})
    entry[1][names] = encoded  # type: ignore[index]


def _node_keyed(world: World, node_id: str, r: Rename, names: tuple | None, seqs: dict) -> tuple:
    """`_node(world, node_id, r, seqs)`, its part without request numbers remembered."""
    local = _cached(world, node_id, names)
    if local is None:
        local = _node(world, node_id, r, None)
        _remember(world, node_id, names, local)
    if not world.running[node_id]:
        return local  # type: ignore[return-value]
    node = world.nodes[node_id]
    return (local, _numbered(world, node_id, node, r, seqs))


def _node(world: World, node_id: str, r: Rename, seqs: dict | None) -> tuple:
    """A node's state; with `seqs` None, without what depends on request numbers."""
    disk = world.disks[node_id]
    durable = disk.durable
    image = (
        durable.term,
        _id(r, durable.voted_for),
        durable.log_start,
        tuple(_entry(e, r) for e in durable.entries),
        tuple(_write(w, r) for _, w in disk.pending),
    )
    if not world.running[node_id]:
        return ("down", image)
    node: Node = world.nodes[node_id]
    log = node.log
    election = node.election
    state = (
        node.role.value,
        node.term,
        _id(r, node.voted_for),
        _id(r, node.leader_id),
        log.snapshot_index,
        tuple(_entry(e, r) for e in log.entries()),
        node.commit_index,
        node.last_applied,
        log.durable_index,
        tuple(last for _, last in log._unflushed),
        node._hard_state_seq > node._durable_seq,
        election.pre_voting,
        election.campaign_seq is not None,
        election.campaign_transfer,
        tuple(sorted((r[k], v) for k, v in election.votes.items()))
        if node.role is Role.CANDIDATE or election.pre_voting
        else (),
        node.membership.busy,
        node.transfer.busy,
        _timers(world, node_id),
        image,
    )
    if node.role is Role.LEADER:
        leadership = node.leadership
        acked = tuple(sorted((r[k], v) for k, v in node.ballot_box._acked.items()))
        state = (*state, leadership.started, leadership.first_index, acked)
    if seqs is None:
        return state
    return (state, _numbered(world, node_id, node, r, seqs))


def _numbered(world: World, node_id: str, node: Node, r: Rename, seqs: dict) -> tuple:
    """What of a node's state carries request numbers: replies waiting for the disk,
    and a leader's replicators."""
    waiting = tuple((_message(m, r, seqs), t) for _, m, t in node._after_flush)
    if node.role is not Role.LEADER:
        return waiting
    replicators = []
    for peer, rep in node.leadership.replicators.items():
        ranks = seqs.get((node_id, peer), {})
        replicators.append(
            (
                r[peer],
                rep.state.value,
                rep.next_index,
                rep.match_index,
                tuple((ranks.get(s, 0), last) for s, last, _ in rep.inflight),
                tuple(sorted(ranks.get(s, 0) for s in rep._heartbeats_sent)),
            )
        )
    return (waiting, tuple(sorted(replicators)))


def _id(r: Rename, node_id: str | None) -> str | None:
    return None if node_id is None else r[node_id]


def _entry(entry: LogEntry, r: Rename) -> tuple:
    if entry.kind is EntryKind.DATA:
        return (entry.term, entry.command)
    conf = entry.configuration
    if conf is None:
        return (entry.term, entry.kind.value)
    return (
        entry.term,
        entry.kind.value,
        tuple(sorted(r[n] for n in conf.voters)),
        tuple(sorted(r[n] for n in conf.learners)),
        None if conf.old_voters is None else tuple(sorted(r[n] for n in conf.old_voters)),
    )


def _write(write: object, r: Rename) -> tuple:
    name = type(write).__name__
    fields = attrs.asdict(write, recurse=False)  # type: ignore[arg-type]
    if "voted_for" in fields:
        return (name, fields["term"], _id(r, fields["voted_for"]))
    if "entries" in fields:
        return (name, tuple((e.index, *_entry(e, r)) for e in fields["entries"]))
    if "snapshot" in fields:
        return (name, repr(fields["snapshot"]), fields.get("discard_log"))
    return (name, *fields.values())


# -- messages ----------------------------------------------------------------------

# Messages whose `seq` numbers a leader's request to one follower: (leader, follower).
_TO_FOLLOWER = (AppendEntries, InstallSnapshot)
_FROM_FOLLOWER = (AppendEntriesResponse, InstallSnapshotResponse)


def _pair(message: Message) -> tuple[str, str] | None:
    if isinstance(message, _TO_FOLLOWER):
        return (message.src, message.dst)
    if isinstance(message, _FROM_FOLLOWER):
        return (message.dst, message.src)
    return None


def _seq_ranks(world: World) -> dict[tuple[str, str], dict[int, int]]:
    """For each (leader, follower), every request number in the state by its rank."""
    found: dict[tuple[str, str], set[int]] = {}

    def note(message: Message) -> None:
        pair = _pair(message)
        if pair is not None:
            found.setdefault(pair, set()).add(message.seq)  # type: ignore[attr-defined]

    for flight in world.network.in_flight.values():
        note(flight.message)
    for node_id, node in world.nodes.items():
        if not world.running[node_id]:
            continue
        for _, message, _ in node._after_flush:
            note(message)
        for peer, rep in node.leadership.replicators.items():
            seqs = found.setdefault((node_id, peer), set())
            seqs.update(s for s, _, _ in rep.inflight)
            seqs.update(rep._heartbeats_sent)
    return {pair: {s: i for i, s in enumerate(sorted(seqs), 1)} for pair, seqs in found.items()}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _message(message: Message, r: Rename, seqs: dict) -> tuple:
    cls = type(message)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(
            f.name for f in attrs.fields(cls) if f.name not in ("src", "dst")
        )
    values: list[object] = [cls.__name__, r[message.src], r[message.dst]]
    for name in names:
        value = getattr(message, name)
        if name == "seq":
            value = seqs.get(_pair(message), {}).get(value, 0)
        elif name == "entries":
            value = tuple((e.index, *_entry(e, r)) for e in value)
        elif name == "snapshot":
            value = repr(value)
        values.append(value)
    return tuple(values)


def _network(world: World, r: Rename, seqs: dict) -> tuple:
    network = world.network
    links: dict[tuple[str, str], list] = {}
    for msg_id in sorted(network.in_flight):
        message = network.in_flight[msg_id].message
        encoded = _message(message, r, seqs)
        if msg_id in network.held:
            encoded = ("held", *encoded)
        links.setdefault((r[message.src], r[message.dst]), []).append(encoded)
    order: Callable[[list], tuple]
    if network.reorder:

        def order(items: list) -> tuple:
            return tuple(sorted(items, key=marshal.dumps))
    else:
        order = tuple
    return (
        tuple(sorted((link, order(items)) for link, items in links.items())),
        tuple(sorted(tuple(sorted(r[n] for n in group)) for group in network.groups)),
        tuple(sorted((r[a], r[b]) for a, b in network.cuts)),
        tuple(sorted((r[a], r[b]) for a, b in network.held_links)),
    )
