"""What breadth-first search keeps of every state, and sleep sets across renamings.

BFS keeps worlds only along the path it is rebuilding (search.py); of every
state it keeps its key, its parent and the move from there, and the sleep set
it is to be tried with (the moves whose other order another path covers).
"""

from __future__ import annotations

from sim.check.explore import moves as mv

NOTHING_ASLEEP: frozenset = frozenset()


class Levels:
    """What BFS keeps of every state: (parent, move), and its sleep sets.

    An entry is a state to try; a state reached again with fewer moves asleep,
    after it was tried, gets a second entry for the moves that woke up.
    """

    def __init__(self, root_key: bytes) -> None:
        self.seen: dict[bytes, int] = {root_key: 0}  # key -> its latest entry
        self.asleep: dict[bytes, frozenset] = {root_key: NOTHING_ASLEEP}  # met on all arrivals
        self.parents: list[int] = [-1]
        self.moves: list = [()]
        self.sleeps: list[frozenset] = [NOTHING_ASLEEP]
        self.befores: list[frozenset | None] = [None]
        self.done = bytearray(1)

    def arrive(
        self, parent: int, move: mv.Move, key: bytes, asleep: frozenset, following: list[int]
    ) -> None:
        """A successor was made: a new entry if it is new or has moves that woke up."""
        known = self.seen.get(key)
        if known is None:
            self.seen[key] = self._add(parent, move, asleep, None, following)
            self.asleep[key] = asleep
            return
        before = self.asleep[key]
        if before <= asleep:
            return  # nothing asleep now was awake before: all of it was tried
        if not self.done[known]:
            self.sleeps[known] = self.sleeps[known] & asleep
        else:
            self.seen[key] = self._add(parent, move, asleep, before, following)
        self.asleep[key] = before & asleep

    def _add(
        self,
        parent: int,
        move: mv.Move,
        sleep: frozenset,
        before: frozenset | None,
        following: list[int],
    ) -> int:
        self.parents.append(parent)
        self.moves.append(move)
        self.sleeps.append(sleep)
        self.befores.append(before)
        self.done.append(0)
        following.append(len(self.parents) - 1)
        return len(self.parents) - 1


def renamed(names: frozenset, rename: dict[str, str] | None) -> frozenset:
    """Move names (moves.name) with node ids renamed: sleep sets are kept under the
    renaming a state was keyed under, so that states that differ by naming share them."""
    if not rename or not names:
        return names
    return frozenset(
        (rename[actor], verb, rename[detail] if verb in (mv.DELIVER, mv.DROP) else detail)
        for actor, verb, detail in names
    )
