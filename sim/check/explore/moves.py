"""The explorer's moves: every choice that can be made from a state, and making one.

Theory of operation: whatever the simulator would leave to its clock, its
random draws or its network, the explorer decides. From a state it may

- deliver a message in flight now (on FIFO links, the oldest on each link;
  with `reorder=on`, any of them);
- lose one, or deliver it twice (while `--losses` / `--duplicates` allow),
  again the oldest on a link (losing a later one is the same to everyone);
- fire any timer that is set: an election timer (time is a choice: it may
  run out at any moment, as in the TLA+ specifications; the clock stays,
  unless PreVote or CheckQuorum let the others tell) and a leader's heartbeat
  timer (without it nothing is resent and followers never learn what
  committed; the clock moves on to when it is due), see sim/engine/choices.py;
- complete a node's pending disk flush: a choice only while crashes are
  possible. Without crashes, when a write becomes durable only delays what
  its node does next, which the order of deliveries already covers, so each
  node's disk flushes at once after the move that wrote to it ("eager"); the
  saved scenario spells those flushes out as steps all the same;
- crash a running node (while `--crashes` allows) or restart a crashed one;
- have a client propose a new command to a leader (while `--clients` allows).

A move is a plain tuple `(verb, target, detail)`: `target` is the message id
or the node, `detail` the timer name or the command. `step_text` writes a move
as the scenario step that makes the same choice (sim/scenario/choice_steps.py).
"""

from __future__ import annotations

import attrs

from raft import ELECTION_TIMER, Role
from sim.engine.choices import election_reads_the_clock
from sim.engine.world import World

DELIVER, DROP, DUPLICATE, FIRE, FLUSH, CRASH, RESTART, SUBMIT = range(8)
VERBS = ("deliver", "drop", "duplicate", "fire", "flush", "crash", "restart", "submit")

Move = tuple  # (verb, target, detail)


@attrs.frozen(kw_only=True)
class Budgets:
    """How many faults and client commands one path may use."""

    crashes: int = 0
    losses: int = 0
    duplicates: int = 0
    clients: int = 0


# Used so far on a path: (crashes, losses, duplicates, clients).
Used = tuple[int, int, int, int]
NOTHING_USED: Used = (0, 0, 0, 0)


def moves(world: World, used: Used, budgets: Budgets) -> list[Move]:
    """Every move possible from `world`, in a fixed order (the same every run)."""
    network = world.network
    ordered = sorted(network.in_flight)
    if network.reorder:
        candidates = ordered
    else:
        heads: dict[tuple[str, str], int] = {}
        for msg_id in ordered:
            message = network.in_flight[msg_id].message
            heads.setdefault((message.src, message.dst), msg_id)
        candidates = sorted(heads.values())
    found: list[Move] = [(DELIVER, msg_id, None) for msg_id in candidates]
    crashes, losses, duplicates, clients = used
    if losses < budgets.losses:
        found += [(DROP, msg_id, None) for msg_id in candidates]
    if duplicates < budgets.duplicates:
        found += [(DUPLICATE, msg_id, None) for msg_id in candidates]
    found += [(FIRE, node, name) for node, name, _ in world.armed_timers()]
    running = world.running
    found += [(FLUSH, n, None) for n, disk in world.disks.items() if disk.flush_scheduled]
    if crashes < budgets.crashes:
        found += [(CRASH, n, None) for n, up in running.items() if up]
    found += [(RESTART, n, None) for n, up in running.items() if not up]
    if clients < budgets.clients:
        command = f"set x {clients + 1}"
        found += [
            (SUBMIT, n, command)
            for n, node in world.nodes.items()
            if running[n] and node.role is Role.LEADER
        ]
    return found


def touched(world: World, move: Move) -> str | None:
    """The node a move may change (None: only the network)."""
    verb, target, _ = move
    if verb == DELIVER:
        return world.network.in_flight[target].message.dst
    if verb in (DROP, DUPLICATE):
        return None
    return target


def name(world: World, move: Move) -> tuple | None:
    """The move as it is named in every state where it is possible, its node first.

    None for a move that may not commute with any other: a crash loses the
    messages to its node whoever sent them, a restart may be followed by
    anything, a duplicate adds to the end of a link its sender adds to, and
    a timer that moves the clock changes what every node may read of it
    (an election timer runs out without moving it unless PreVote or
    CheckQuorum makes time matter: sim/engine/choices.py).
    Any other move changes one node (a message's receiver, a timer's node)
    and the links out of it, and takes its message off the front of one link
    into that node, while sends add to the ends of links: two such moves of
    different nodes lead to the same state in either order (sleep sets,
    search.py). Named by link or node, not by message id: on FIFO links the
    message a delivery takes is the one at the front of its link.
    """
    verb, target, detail = move
    if verb in (CRASH, RESTART, DUPLICATE):
        return None
    if verb == FIRE and (detail != ELECTION_TIMER or election_reads_the_clock(world.nodes[target])):
        return None  # the clock moves
    if verb in (DELIVER, DROP):
        message = world.network.in_flight[target].message
        return (message.dst, verb, message.src)
    return (target, verb, detail)


def make(world: World, move: Move, *, eager: bool) -> str | None:
    """Make the move on `world`; with `eager`, then flush the disk it wrote to.

    Returns the node whose disk was flushed that way, if any.
    """
    node = touched(world, move)
    _make(world, move)
    if not eager or node is None or not world.disks[node].flush_scheduled:
        return None
    while world.disks[node].flush_scheduled:
        world.flush(node)
    return node


def _make(world: World, move: Move) -> None:
    verb, target, detail = move
    if verb == FIRE:
        world.fire(target, detail)
    elif verb == SUBMIT:
        world.submit(detail, target)
    else:  # World.deliver, drop, duplicate, flush, crash, restart: named as the verb
        getattr(world, VERBS[verb])(target)


def spend(used: Used, move: Move) -> Used:
    """The budgets used once `move` is made."""
    verb = move[0]
    crashes, losses, duplicates, clients = used
    if verb == CRASH:
        return (crashes + 1, losses, duplicates, clients)
    if verb == DROP:
        return (crashes, losses + 1, duplicates, clients)
    if verb == DUPLICATE:
        return (crashes, losses, duplicates + 1, clients)
    if verb == SUBMIT:
        return (crashes, losses, duplicates, clients + 1)
    return used


def step_text(world: World, move: Move) -> str:
    """The scenario step that makes `move` on `world` (before it is made)."""
    verb, target, detail = move
    name = VERBS[verb]
    if verb in (DELIVER, DROP, DUPLICATE):
        flight = world.network.in_flight[target]
        message = flight.message
        link, kind = (message.src, message.dst), message.name
        rank = sum(
            1
            for msg_id, other in world.network.in_flight.items()
            if msg_id <= target
            and (other.message.src, other.message.dst) == link
            and other.message.name == kind
        )
        which = kind if rank == 1 else f"{kind}#{rank}"
        return f"{name} {link[0]} -> {link[1]} {which}"
    if verb == FIRE:
        return f"fire {target} {detail}"
    if verb == SUBMIT:
        return f'submit "{detail}" to={target}'
    return f"{name} {target}"
