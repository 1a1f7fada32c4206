"""The one hook through which anything watches the world as it changes.

Theory of operation: the engine knows nothing of what is being checked. It
calls the hooks of its observers as things happen (a message delivered or
sent, a disk write queued or made durable, a command applied, a node started,
a node done with an input) and records whatever `Violation`s they return in
the trace as alarms. The safety checkers (sim/check/checkers) are observers;
so could be a coverage counter or a teaching probe.

An observer may look further than a hook's arguments through `WorldView`, a
read-only protocol of the world: it never holds the `World` class, so the
engine and the checkers do not import each other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

from raft import Configuration, DurableState, Message, Node, RaftOptions, Write

if TYPE_CHECKING:
    from sim.engine.network import Network
    from sim.engine.trace import Trace


@attrs.frozen(kw_only=True)
class Violation:
    """A broken safety property: which, when, where, and the values involved."""

    property: str
    time_us: int
    nodes: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"{self.property} violated at {self.time_us / 1e6:.6f}s: {self.text}"


NO_VIOLATIONS: tuple[Violation, ...] = ()


class DiskView(Protocol):
    """What an observer may read of a simulated disk: what survived the last flush."""

    @property
    def durable(self) -> DurableState: ...


class SettingsView(Protocol):
    """What a reader may know of the world's settings: the options its nodes run with."""

    @property
    def raft(self) -> RaftOptions: ...


class WorldView(Protocol):
    """What an observer may read of the world, beyond its hooks' arguments; also what an
    explanation reads (sim/show/explain.py). Nothing here is for changing it."""

    @property
    def now(self) -> int: ...

    @property
    def nodes(self) -> Mapping[str, Node]: ...

    @property
    def disks(self) -> Mapping[str, DiskView]: ...

    @property
    def running(self) -> Mapping[str, bool]: ...

    @property
    def network(self) -> Network: ...

    @property
    def trace(self) -> Trace: ...

    @property
    def settings(self) -> SettingsView: ...

    @property
    def initial_configuration(self) -> Configuration: ...

    def leader(self) -> str | None: ...


class Observer:
    """Base class: override the hooks you need; each returns the violations found.

    For one input the world calls `on_deliver` first (a message reaches a
    running node, before the node handles it); then, in the order of the
    node's outputs, `on_send` (a message leaves, whether or not the network
    loses it), `on_write` (a disk write is queued) and `on_applied` (a client
    command was applied); and last `after_input` (the input is handled and its
    outputs carried out). `on_durable` comes with a completed disk flush,
    before the node hears of it; `on_start` when a node boots or restarts from
    its disk, before it acts; `on_crash` when a node crashes, with the writes
    it lost. `on_note` hears each decision a node notes (raft.outputs.Note:
    component, kind, None, prefix, template, *args; its sentence unwritten)
    as the trace would record it. Without the trace (campaign mode) nodes
    make only the notes of the kinds some observer names in `note_kinds`.
    """

    world: WorldView
    # The kinds of notes `on_note` needs made when there is no trace.
    note_kinds: frozenset[str] = frozenset()

    def attach(self, world: WorldView) -> None:
        """The world this observer watches (for what a hook's arguments do not carry)."""
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

    def on_crash(self, node_id: str, lost: Sequence[Write], now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS

    def on_note(self, node_id: str, note: tuple, now: int) -> Sequence[Violation]:
        return NO_VIOLATIONS


HOOKS = (
    "after_input",
    "on_applied",
    "on_send",
    "on_deliver",
    "on_write",
    "on_durable",
    "on_start",
    "on_crash",
    "on_note",
)


def by_hook(observers: Iterable[Observer]) -> dict[str, list[Observer]]:
    """Per hook, in order, the observers whose class overrides it (the only ones worth
    calling: an unused hook costs nothing)."""
    found: dict[str, list[Observer]] = {hook: [] for hook in HOOKS}
    for observer in observers:
        for hook in _overridden(type(observer)):
            found[hook].append(observer)
    return found


@functools.cache
def _overridden(kind: type) -> tuple[str, ...]:
    # Asked each time a world's observers change (a fuzz run arms and disarms
    # its tripwires thousands of times): once per class is enough.
    return tuple(hook for hook in HOOKS if getattr(kind, hook) is not getattr(Observer, hook))


def overriding(observers: Iterable[Observer], hook: str) -> list[Observer]:
    """The observers whose class overrides `hook` (the only ones worth calling)."""
    return [o for o in observers if hook in _overridden(type(o))]
