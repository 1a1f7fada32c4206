"""What every checker shares: the Checker base, SafetyViolation, and small lookups.

A checker is an observer of the world (sim/engine/observer.py): it overrides
the hooks it needs; the world calls a hook only on the observers that override
it, so a hook nobody uses costs nothing. Each hook returns the violations it
found (usually none, as an empty tuple).
"""

from __future__ import annotations

from collections.abc import Iterable

from raft import DurableState
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation, WorldView, overriding

# `durable_term_at` answers this for an index the disk's snapshot covers: the
# entry was committed and compacted, its term is no longer on disk.
COMPACTED = -1


class SafetyViolation(Exception):
    """Raised by a strict Cluster at the first violation (after the trace records it)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation


class Checker(Observer):
    """A safety property, judged incrementally through the world's observer hooks
    (sim/engine/observer.py): override the hooks you need; each returns the
    violations found."""

    name = "checker"

    def violation(
        self, now: int, nodes: Iterable[str], text: str, property: str | None = None
    ) -> list[Violation]:
        """One violation of this checker's property (or another it checks), as a list."""
        return [
            Violation(property=property or self.name, time_us=now, nodes=tuple(nodes), text=text)
        ]


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


def compaction_horizon(world: WorldView) -> int:
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


__all__ = [
    "COMPACTED",
    "NO_VIOLATIONS",
    "Checker",
    "SafetyViolation",
    "Violation",
    "WorldView",
    "compaction_horizon",
    "durable_term_at",
    "ids",
    "overriding",
]
