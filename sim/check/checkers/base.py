"""What every checker shares: the hooks, the Violation value, and small lookups.

A checker overrides the hooks it needs; the world calls a hook only on the
checkers that override it, so a hook nobody uses costs nothing. Each hook
returns the violations it found (usually none, as an empty tuple).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from raft import DurableState, Message, Node, Write

if TYPE_CHECKING:
    from sim.engine.world import World

NO_VIOLATIONS: tuple[Violation, ...] = ()

# `durable_term_at` answers this for an index the disk's snapshot covers: the
# entry was committed and compacted, its term is no longer on disk.
COMPACTED = -1


@attrs.frozen(kw_only=True)
class Violation:
    """A broken safety property: which, when, where, and the values involved."""

    property: str
    time_us: int
    nodes: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"{self.property} violated at {self.time_us / 1e6:.6f}s: {self.text}"


class SafetyViolation(Exception):
    """Raised by a strict Cluster at the first violation (after the trace records it)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation


class Checker:
    """Base class: override the hooks you need; each returns the violations found.

    For one input the world calls `on_deliver` first (a message reaches a
    running node, before the node handles it); then, in the order of the
    node's outputs, `on_send` (a message leaves, whether or not the network
    loses it), `on_write` (a disk write is queued) and `on_applied` (a client
    command was applied); and last `after_input` (the input is handled and its
    outputs carried out). `on_durable` comes with a completed disk flush,
    before the node hears of it; `on_start` when a node boots or restarts from
    its disk, before it acts.
    """

    name = "checker"
    world: World

    def attach(self, world: World) -> None:
        """The world this checker watches (for what a hook's arguments do not carry)."""
        self.world = world

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_applied(
        self, node_id: str, index: int, term: int, command: str, now: int
    ) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_send(self, message: Message, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_deliver(self, message: Message, node: Node, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_write(self, node: Node, write: Write, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_durable(self, node_id: str, writes: Sequence[Write], now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def violation(
        self, now: int, nodes: Iterable[str], text: str, property: str | None = None
    ) -> list[Violation]:
        """One violation of this checker's property (or another it checks), as a list."""
        return [
            Violation(property=property or self.name, time_us=now, nodes=tuple(nodes), text=text)
        ]


def overriding(checkers: Iterable[Checker], hook: str) -> list[Checker]:
    """The checkers whose class overrides `hook` (the only ones worth calling)."""
    base = getattr(Checker, hook)
    return [c for c in checkers if getattr(type(c), hook) is not base]


def durable_term_at(state: DurableState, index: int) -> int | None:
    """Term of the entry at `index` on disk: None if the disk lacks it, COMPACTED if
    its snapshot covers it (the snapshot's last index keeps its term)."""
    offset = index - state.log_start
    if offset < 0:
        return COMPACTED
    if offset == 0:
        return state.snapshot.last_term if state.snapshot is not None else 0
    if offset <= len(state.entries):
        return state.entries[offset - 1].term
    return None


def compaction_horizon(world: World) -> int:
    """The lowest snapshot index on any disk. No node appends or applies an entry at or
    below it again (a restart resumes after the node's own snapshot, and a leader sends
    a snapshot instead of compacted entries), so checkers may forget those indexes."""
    return min((disk.durable.log_start for disk in world.disks.values()), default=0)


def ids(nodes: Iterable[str]) -> str:
    """`n1, n2 and n3`, for sentences."""
    names = list(nodes)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
