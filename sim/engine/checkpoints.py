"""Checkpoints for time travel: copies of the world, dense near the present, sparse far back.

Theory of operation: going to journal position p restores the newest
checkpoint at or before p and replays the actions after it (journal.py).
A checkpoint costs a copy of the world (deep_copy.py shares what never
changes, and the lists that only grew, such as logs, share their old runs
with the previous checkpoint); a replay costs the actions it redoes. Both
are counted in actions, the unit of replay: a copy's cost is estimated from
what it copied.

- Spacing. Near the present a checkpoint is due once the actions since the
  last one reach SPACING times the cost of that one's copy. Taking them slows
  a forward run by about 2/SPACING (the copies, then the garbage collector
  walking them), and `back()` from the present replays at most that many
  actions after one copy.
- Thinning. Further back, two neighbours may be as far apart as the distance
  from the newer one to the end of the journal, divided by THINNING. So going
  to any position x replays at most max(spacing, (end - x) / THINNING)
  actions, and the number of checkpoints grows with the logarithm of the
  history's length (dense near the present, sparse far back).
- The first checkpoint, the world as built, is always kept.
- Travelling. A user who goes back once usually goes on going back
  (`b`, `b`, `b` in `raftsim watch`), and each of those presses would replay
  from the same checkpoint again. So a long replay takes one checkpoint of
  its own, TRAVEL copies' cost before its destination: the next `back()`s
  (a step each) replay at most that much, for one copy. These travel
  checkpoints are not thinned with the others; the TRAVEL_KEPT nearest the
  cursor are kept.

Checkpoints are taken wherever the world is when one is due: in `run`'s hot
loop, which pauses for it, and while replaying. Those in the recorded future
stay valid until history forks. Jumping forward to one also needs the trace
that the skipped actions wrote: going back keeps those rows (immutable tuples,
so only pointers are kept) until the future is dropped.
"""

from __future__ import annotations

import sys
from bisect import bisect_right, insort
from collections.abc import Sequence
from typing import Any

from raft import (
    Configuration,
    DurableState,
    FSMCaller,
    KVStateMachine,
    LogManager,
    RaftOptions,
    SaveHardState,
)
from sim.engine.deep_copy import Chunker, Chunks, Copier, declare, immutable
from sim.engine.journal import Journal
from sim.engine.trace import Trace
from sim.engine.world import World, WorldSettings

SPACING = 40  # actions between checkpoints per action a copy costs: ~2/40 of a run
THINNING = 4  # far back, a gap may be a quarter of its distance from the end
MIN_SPACING = 64  # actions: tiny worlds are cheap to copy, but not free
TRAVEL = 2  # copies' cost in actions: where a long replay takes a checkpoint, before its end
TRAVEL_KEPT = 8  # travel checkpoints kept, those nearest the cursor
# A copy's cost in actions (a step or a call under load), as measured: about 600
# references copied, or 4 objects rebuilt one by one, cost as much as an action.
# The garbage collector later walks the copy, about as much work again. A table of
# atoms promised immutable (a state machine's data) is copied at memory speed, about
# 5 ns a reference, and never walked by the collector: 4,000 of those per action.
REFERENCES_PER_ACTION = 600
FLAT_REFERENCES_PER_ACTION = 4000
OBJECTS_PER_ACTION = 4

# raft's containers of immutable values (log entries, applied commands, strings).
declare(LogManager, "_entries")
declare(DurableState, "entries")
declare(FSMCaller, "applied")
declare(KVStateMachine, "data", "sessions")
# Frozen classes of immutable values, shared rather than rebuilt at every checkpoint.
immutable(Configuration, SaveHardState, RaftOptions, WorldSettings)


def copy_world(
    world: World, chunker: Chunker | None = None, shared: Sequence[object] = ()
) -> tuple[World, Copier]:
    """A copy of `world` for a checkpoint (with the checkpoints' `chunker`) or from one,
    sharing its trace, its settled records and the objects `shared`."""
    copier = Copier(share=[world.trace, *shared], chunker=chunker)
    # A proposal's record is final once resolved: share those, copy the open few.
    proposals = copier.shallow(world.proposals)
    for proposal in world.open_proposals():
        proposals[proposal.id] = copier.copy(proposal)
    return copier.copy(world), copier


class Checkpoints:
    """The checkpoints of one cluster, and when the next one is due.

    `due` is the journal position at which the owner should call `reached`
    (never, when the journal is off: no time travel, no checkpoints).
    `spacing` is SPACING unless the owner sets another (from the next checkpoint on).
    """

    def __init__(self, world: World, journal: Journal, shared: Sequence[object] = ()) -> None:
        self._journal = journal
        self.spacing = SPACING
        # Never part of a world's state, though an observer may hold them (the Cluster
        # a client driver sends through): copies point to the originals.
        self._shared = tuple(shared)
        self._worlds: dict[int, World] = {}
        self._positions: list[int] = []  # sorted
        self._spacing: dict[int, int] = {}  # actions until the next one may be due
        self._bytes: dict[int, int] = {}
        self._chunks: dict[int, list[Chunks]] = {}  # the lists each one keeps as chunks
        self._chunker = Chunker()
        # Trace rows of the recorded future, from trace index `_rows_start` on.
        self._rows: list[tuple] = []
        self._rows_start = 0
        self._base = 0  # the newest checkpoint at or before the cursor
        self._travel: set[int] = set()  # positions of checkpoints taken while travelling
        self._destination = 0  # where the last restore was going
        self._taken = 0
        self.due = sys.maxsize
        if journal.enabled:
            self._take(0, world)
            self._plan()

    def reached(self, world: World) -> None:
        """The cursor is where a checkpoint is due: take it, unless it exists already."""
        position = self._journal.cursor
        if position not in self._worlds:
            self._take(position, world)
            if position < self._destination:
                self._travel.add(position)
            self._thin()
        self._base = position
        self._plan()

    def restore(self, position: int, trace: Trace) -> World | None:
        """The world at the newest checkpoint at or before `position`, if replaying from
        there is shorter than from the cursor; None otherwise.

        Moves the journal's cursor and cuts (or extends) the trace to that checkpoint.
        The replay to `position` that follows takes a travel checkpoint when one is due.
        """
        journal = self._journal
        self._destination = position
        base = self._positions[bisect_right(self._positions, position) - 1]
        cursor = journal.cursor
        if base <= cursor <= position:
            self._plan()
            return None
        here, there = journal.mark(cursor), journal.mark(base)
        rows = trace.rows
        if base < cursor:
            self._keep_rows(rows, there, here)
            del trace[there:]
        else:  # forward, to a checkpoint in the recorded future
            start = self._rows_start
            assert start <= here and there <= start + len(self._rows)
            rows += self._rows[here - start : there - start]
        journal.cursor = self._base = base
        self._plan()
        world, copier = copy_world(self._worlds[base], shared=self._shared)
        # The next checkpoint shares the runs of this one's lists, as one taken from
        # the world it replaces would have shared the runs of the one before.
        self._chunker.adopt(copier)
        return world

    def forget_future(self) -> None:
        """History forked at the cursor: the recorded future, and its checkpoints, are gone."""
        cursor = self._journal.cursor
        for position in self._positions[bisect_right(self._positions, cursor) :]:
            self._drop(position)
        self._rows = []
        self._plan()

    def stats(self) -> dict[str, Any]:
        """How many checkpoints, where, and about how much memory they hold."""
        runs = {id(run): run for chunks in self._chunks.values() for c in chunks for run in c.parts}
        shared = sum(map(sys.getsizeof, runs.values())) + self._chunker.size
        return {
            "checkpoints": len(self._positions),
            "taken": self._taken,
            "positions": list(self._positions),
            "spacing": self._spacing[self._positions[-1]] if self._positions else 0,
            "travel": len(self._travel),
            "bytes": sum(self._bytes.values()) + shared + sys.getsizeof(self._rows),
            "future_rows": len(self._rows),
        }

    # -- policy -------------------------------------------------------------

    def _take(self, position: int, world: World) -> None:
        copy, copier = copy_world(world, self._chunker, self._shared)
        self._chunker.done()
        self._taken += 1
        cost = (
            copier.items / REFERENCES_PER_ACTION
            + copier.flat / FLAT_REFERENCES_PER_ACTION
            + copier.objects / OBJECTS_PER_ACTION
        )
        self._worlds[position] = copy
        self._spacing[position] = max(MIN_SPACING, round(self.spacing * cost))
        self._bytes[position] = copier.size
        self._chunks[position] = copier.chunks
        insort(self._positions, position)

    def _drop(self, position: int) -> None:
        del self._worlds[position], self._spacing[position], self._bytes[position]
        del self._chunks[position]
        self._positions.remove(position)
        self._travel.discard(position)

    def _allowed(self, older: int, newer: int) -> bool:
        """May checkpoints `older` and `newer` be neighbours?"""
        end = len(self._journal.actions)
        return newer - older <= max(self._spacing[older], (end - newer) // THINNING)

    def _thin(self) -> None:
        """Drop each checkpoint whose neighbours may be neighbours (the first stays), and
        the travel checkpoints furthest from the cursor beyond TRAVEL_KEPT."""
        positions, travel = self._positions, self._travel
        kept = positions[:1]
        for i in range(1, len(positions) - 1):
            if positions[i] in travel or not self._allowed(kept[-1], positions[i + 1]):
                kept.append(positions[i])
        for position in set(positions[:-1]) - set(kept):
            self._drop(position)
        cursor = self._journal.cursor
        for position in sorted(travel, key=lambda p: abs(cursor - p))[TRAVEL_KEPT:]:
            self._drop(position)

    def _plan(self) -> None:
        """Set `due`: the first position after the base that would need a checkpoint."""
        positions = self._positions
        if not positions:  # the journal is off
            return
        self._base = positions[bisect_right(positions, self._base) - 1]
        base = self._base
        end = len(self._journal.actions)
        # The furthest b with b - base <= max(spacing, (end - b) / THINNING).
        gap = max(self._spacing[base], (end - base) // (THINNING + 1))
        after = bisect_right(positions, base)
        newer = positions[after] if after < len(positions) else sys.maxsize
        self.due = min(base + max(1, gap), newer)
        # Travelling: a checkpoint TRAVEL copies' cost before the destination, if that
        # saves the next back() at least as much again.
        before = max(MIN_SPACING, TRAVEL * self._spacing[base] // max(1, self.spacing))
        if self._destination - base >= 2 * before:
            self.due = min(self.due, self._destination - before)

    def _keep_rows(self, rows: list[tuple], there: int, here: int) -> None:
        """Going back from trace length `here` to `there`: keep the rows undone."""
        start, kept = self._rows_start, self._rows
        if not kept or start + len(kept) <= here:  # the trace knows all the future we knew
            self._rows, self._rows_start = rows[there:], there
        elif there < start:
            self._rows, self._rows_start = rows[there:start] + kept, there
