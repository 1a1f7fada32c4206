"""Searching the states: breadth first, depth first, or random walks.

Theory of operation: a state is a world (with the budgets its path used and
its `Ghosts`); its successors are the worlds one move away (sim/check/explore/
moves.py), each a fork of it (fork.py) with the move made. A successor in
which a checker found a violation, or the simulator raised, ends the search:
its path is the counterexample. One whose terms passed `max_term` is cut off.
Every other is keyed (state.py) and, if new, queued.

- BFS goes level by level, so the first violation it meets lies at the
  smallest depth: the counterexample is a shortest one. A level can hold
  hundreds of thousands of states, too many worlds to keep, so BFS keeps for
  each state only its parent and its move, and rebuilds worlds when it needs
  them. The next level is made in the order of the current one, so states
  that share a parent come one after another, and `Rebuilder` keeps the path
  to the last state rebuilt: rebuilding one costs one move, not a whole path.
- DFS keeps only the worlds on its current path, goes as deep as the depth
  bound first, and revisits a state only when it reaches it by a shorter path.
- Random walks from the start, seeded, until the walk budget or time is spent.

The order of moves is fixed, so the same bounds give the same counterexample.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import attrs

from raft import ELECTION_TIMER
from sim.check.explore import moves as mv
from sim.check.explore.fork import discard as drop
from sim.check.explore.fork import fork
from sim.check.explore.levels import NOTHING_ASLEEP, Levels, renamed
from sim.check.explore.state import Ghosts, digest, ghosts_after, renaming, symmetric_start
from sim.engine.world import World

STRATEGIES = ("bfs", "dfs", "random")
PROGRESS_EVERY = 0.5  # seconds between progress reports


@attrs.frozen(kw_only=True)
class Limits:
    """The bounds of a search."""

    depth: int = 20
    max_term: int = 3
    budgets: mv.Budgets = mv.Budgets()
    symmetry: bool = True
    flushes: str = "auto"  # "choice", "eager", or "auto": choices only with crashes
    sleep_sets: bool = True
    time_limit: float | None = None
    walks: int = 1000
    seed: int = 0


@attrs.define
class State:
    """A world, with what its path used of the budgets and what happened on the way."""

    world: World
    used: mv.Used
    ghosts: Ghosts
    copies: dict | None = None  # what the fork made for this state alone (fork.discard)


@attrs.frozen(kw_only=True)
class Finding:
    """What ended the search: a violation (or the simulator raised), and how to get there."""

    property: str
    text: str
    moves: tuple[mv.Move, ...]
    error: bool = False


@attrs.define
class Stats:
    """How far the search got. `explored` counts successors made, `distinct` states kept."""

    explored: int = 0
    distinct: int = 1
    depth: int = 0
    pruned: int = 0
    by_depth: list[int] = attrs.Factory(lambda: [1])
    seconds: float = 0.0
    frontier: int = 0

    @property
    def rate(self) -> float:
        return self.explored / self.seconds if self.seconds > 0 else 0.0


@attrs.frozen(kw_only=True)
class Result:
    """How a search ended: `stop` is "violation", "exhausted", "depth", "time" or "walks"."""

    stop: str
    stats: Stats
    finding: Finding | None = None
    symmetry: bool = False
    eager: bool = False  # flushes made at once rather than chosen


Progress = Callable[[Stats], None]


class Search:
    """One search from one start."""

    def __init__(self, root: World, limits: Limits, progress: Progress | None = None) -> None:
        self.limits = limits
        self.symmetry = limits.symmetry and symmetric_start(root)
        # Moves are named by link only where links are FIFO (moves.name). Sleep sets
        # lose states when combined with symmetry (tried: the counts differ), so a
        # symmetric start uses symmetry, which saves more.
        self.sleep_sets = limits.sleep_sets and not root.network.reorder and not self.symmetry
        self.eager = limits.flushes == "eager" or (
            limits.flushes == "auto" and limits.budgets.crashes == 0
        )
        self.root = State(root, mv.NOTHING_USED, ghosts_after(root, Ghosts()))
        self.stats = Stats()
        self._progress = progress
        self._started = time.perf_counter()
        self._reported = self._started

    # -- shared parts ----------------------------------------------------------------

    def key(self, state: State) -> bytes:
        return self.keyed(state)[0]

    def keyed(self, state: State) -> tuple[bytes, dict[str, str] | None]:
        """The state's key, and the renaming of node ids it was keyed under (if any)."""
        rename = renaming(state.world) if self.symmetry else None
        return digest(state.world, state.used, state.ghosts, rename), rename

    def asleep_in(self, state: State, sleep: frozenset, before: frozenset | None):
        """Sleep sets as kept (under the state's renaming) as names in the state's own ids."""
        if not self.symmetry:
            return sleep, before
        back = {new: old for old, new in renaming(state.world).items()}
        return renamed(sleep, back), None if before is None else renamed(before, back)

    def moves(self, state: State) -> list[mv.Move]:
        found = mv.moves(state.world, state.used, self.limits.budgets)
        nodes, top = state.world.nodes, self.limits.max_term
        # Without PreVote, an election timer at the highest term leads past it: cut off.
        return [
            move
            for move in found
            if move[0] != mv.FIRE
            or move[2] != ELECTION_TIMER
            or nodes[move[1]].term < top
            or nodes[move[1]].options.pre_vote
        ]

    def successor(self, state: State, move: mv.Move) -> tuple[State, Finding | None, bool]:
        """The state one move away, what it broke (if anything), and whether it is cut off."""
        copies: dict = {}
        world = fork(state.world, mv.touched(state.world, move), copies)
        known = len(world.violations)
        finding = None
        try:
            mv.make(world, move, eager=self.eager)
        except Exception as error:  # the simulator itself failed: that is a finding too
            finding = Finding(
                property=type(error).__name__, text=str(error) or repr(error), moves=(), error=True
            )
        if finding is None and len(world.violations) > known:
            violation = world.violations[known]
            finding = Finding(property=violation.property, text=str(violation), moves=())
        child = State(world, mv.spend(state.used, move), state.ghosts, copies)
        if finding is not None:
            return child, finding, False
        child.ghosts = ghosts_after(world, state.ghosts)
        cut = any(
            node.term > self.limits.max_term
            for node_id, node in world.nodes.items()
            if world.running[node_id]
        )
        return child, None, cut

    def _tick(self) -> bool:
        """Report progress now and then; False once the time limit has passed."""
        now = time.perf_counter()
        self.stats.seconds = now - self._started
        if self._progress is not None and now - self._reported >= PROGRESS_EVERY:
            self._reported = now
            self._progress(self.stats)
        limit = self.limits.time_limit
        return limit is None or self.stats.seconds < limit

    def _end(self, stop: str, finding: Finding | None = None) -> Result:
        self.stats.seconds = time.perf_counter() - self._started
        return Result(
            stop=stop, stats=self.stats, finding=finding, symmetry=self.symmetry, eager=self.eager
        )

    def _found(self, finding: Finding, depth: int, path: tuple[mv.Move, ...]) -> Result:
        """The end of the search: `finding`, reached at `depth` by the moves `path`."""
        self.stats.depth = max(self.stats.depth, depth)
        return self._end("violation", attrs.evolve(finding, moves=path))

    def run(self, strategy: str) -> Result:
        if strategy == "bfs":
            return self.bfs()
        if strategy == "dfs":
            return self.dfs()
        if strategy == "random":
            return self.random_walks()
        raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")

    # -- breadth first -----------------------------------------------------------------

    def tries(self, state: State, sleep: frozenset, before: frozenset | None):
        """The moves to try from a state, each with the sleep set of the state it leads to.

        Sleep sets (Godefroid): after trying move a, a move b tried before it from
        the same state, or asleep there, is asleep in a's successor if the two
        commute (`moves.name`): the successor of b already covers both orders.
        A state reached again with fewer moves asleep (`before`: what was asleep
        when it was tried) is tried again for the moves that woke up only.
        """
        world = state.world
        tried: list[tuple] = []
        for move in self.moves(state):
            name = mv.name(world, move) if self.sleep_sets else None
            if name is not None and name in sleep:
                continue
            if before is None or (name is not None and name in before):
                if name is None:
                    asleep = NOTHING_ASLEEP
                else:
                    actor = name[0]
                    asleep = frozenset(b for b in (*sleep, *tried) if b[0] != actor)
                yield move, asleep
            if name is not None:
                tried.append(name)

    def level_done(self, depth: int, levels: Levels, following: list[int]) -> Result | None:
        """Close BFS level `depth`: the end if it reached nothing to try, else its counts."""
        if not following:
            return self._end("exhausted")
        self.stats.depth = depth
        self.stats.by_depth.append(len(levels.seen) - sum(self.stats.by_depth))
        return None

    def bfs(self) -> Result:
        stats = self.stats
        levels = Levels(self.key(self.root))
        rebuild = Rebuilder(self, levels.parents, levels.moves)
        frontier = [0]
        for depth in range(1, self.limits.depth + 1):
            following: list[int] = []
            stats.frontier = len(frontier)
            for sid in frontier:
                state = rebuild(sid)
                levels.done[sid] = 1
                sleep, before = self.asleep_in(state, levels.sleeps[sid], levels.befores[sid])
                for move, asleep in self.tries(state, sleep, before):
                    child, finding, cut = self.successor(state, move)
                    stats.explored += 1
                    if finding is not None:
                        path = (*rebuild.path_moves(sid), move)
                        return self._found(finding, depth, path)
                    if cut:
                        discard(child)
                        stats.pruned += 1
                        continue
                    key, rename = self.keyed(child)
                    discard(child)  # only its key is kept: BFS rebuilds it when it needs it
                    levels.arrive(sid, move, key, renamed(asleep, rename), following)
                stats.distinct = len(levels.seen)
                if not self._tick():
                    return self._end("time")
            ended = self.level_done(depth, levels, following)
            if ended is not None:
                return ended
            frontier = following
        return self._end("depth")

    # -- depth first --------------------------------------------------------------------

    def dfs(self) -> Result:
        stats = self.stats
        best: dict[bytes, int] = {self.key(self.root): 0}
        path: list[mv.Move] = []
        stack: list[tuple[State, Iterator[mv.Move]]] = [(self.root, iter(self.moves(self.root)))]
        bounded = False
        while stack:
            state, untried = stack[-1]
            move = next(untried, None)
            if move is None:
                stack.pop()
                if path:
                    path.pop()
                continue
            child, finding, cut = self.successor(state, move)
            stats.explored += 1
            depth = len(stack)
            if finding is not None:
                return self._found(finding, depth, (*path, move))
            if cut:
                stats.pruned += 1
                continue
            key = self.key(child)
            if best.get(key, depth + 1) <= depth:
                continue
            if key not in best:
                _count(stats, depth)
            best[key] = depth
            stats.distinct = len(best)
            stats.depth = max(stats.depth, depth)
            if depth < self.limits.depth:
                stack.append((child, iter(self.moves(child))))
                path.append(move)
            else:
                bounded = True
            if stats.explored % 256 == 0 and not self._tick():
                return self._end("time")
        return self._end("depth" if bounded else "exhausted")

    # -- random walks ---------------------------------------------------------------------

    def random_walks(self) -> Result:
        stats = self.stats
        rng = random.Random(f"raftsim-explore/{self.limits.seed}")
        seen = {self.key(self.root)}
        for _ in range(self.limits.walks):
            state, path = self.root, []
            for depth in range(1, self.limits.depth + 1):
                options = self.moves(state)
                if not options:
                    break
                move = options[rng.randrange(len(options))]
                child, finding, cut = self.successor(state, move)
                stats.explored += 1
                if finding is not None:
                    return self._found(finding, depth, (*path, move))
                if cut:
                    stats.pruned += 1
                    break
                key = self.key(child)
                if key not in seen:
                    seen.add(key)
                    _count(stats, depth)
                    stats.distinct = len(seen)
                stats.depth = max(stats.depth, depth)
                state, path = child, [*path, move]
            if not self._tick():
                return self._end("time")
        return self._end("walks")


def discard(state: State) -> None:
    """Free a state's world at once (fork.discard); nothing may use it afterwards."""
    if state.copies is not None:
        drop(state.copies)
        state.copies = None


def _count(stats: Stats, depth: int) -> None:
    """One more distinct state first seen at `depth`."""
    while len(stats.by_depth) <= depth:
        stats.by_depth.append(0)
    stats.by_depth[depth] += 1


class Rebuilder:
    """Rebuilds the world of a state BFS kept only as (parent, move), keeping the last path."""

    def __init__(self, search: Search, parents: list[int], moves: list) -> None:
        self._search = search
        self._parents = parents
        self._moves = moves
        self._path: list[tuple[int, State]] = [(0, search.root)]

    def ids(self, sid: int) -> list[int]:
        chain = []
        while sid >= 0:
            chain.append(sid)
            sid = self._parents[sid]
        return chain[::-1]

    def path_moves(self, sid: int) -> tuple[mv.Move, ...]:
        return tuple(self._moves[i] for i in self.ids(sid)[1:])

    def __call__(self, sid: int) -> State:
        chain = self.ids(sid)
        path = self._path
        shared = 0
        while shared < min(len(path), len(chain)) and path[shared][0] == chain[shared]:
            shared += 1
        for _, dropped in path[shared:]:
            discard(dropped)  # the states after it on the path (made from it) go too
        del path[shared:]
        for i in chain[shared:]:
            state, _, _ = self._search.successor(path[-1][1], self._moves[i])
            path.append((i, state))
        return path[-1][1]
