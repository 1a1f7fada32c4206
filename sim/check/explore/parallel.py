"""Breadth-first search on several cores (`--jobs J`), with the same result as on one.

Theory of operation: BFS goes level by level; a level's states can be
expanded in any order, as long as the new states are merged in the order one
process would have made them. So each level is cut into J contiguous chunks,
and J worker processes, forked for that level (they inherit, copy-on-write,
what the search keeps: the states seen, the (parent, move) and sleep sets of
every entry), each rebuild and expand one chunk. A worker sends back the
arrivals that may matter, as (parent, move, key, sleep set); the parent
merges the chunks in order, as a single process would have met them. A
violation in a chunk ends the search once the chunks before it are merged
without one. One difference: a single process that reaches a state of the
level it is expanding, before expanding it, wakes moves in it at once; here
it was expanded already, so they are tried from the next level (no state is
lost, and no shortest path gets longer).

Needs the `fork` start method (Linux; elsewhere the search runs in one process).
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import attrs

from sim.check.explore.levels import Levels, renamed
from sim.check.explore.search import (
    Finding,
    Limits,
    Progress,
    Rebuilder,
    Result,
    Search,
    discard,
)
from sim.engine.world import World

# Levels with fewer entries per job than this are expanded in this process (the
# same way, chunk by chunk, so the result is the same).
SMALL_LEVEL = 200
# What forked workers inherit for one level.
_LEVEL: tuple[Search, Levels] | None = None


def _expand(chunk: list[int]) -> dict[str, Any]:
    """A worker: expand one chunk of a level (the entries it names, in order)."""
    assert _LEVEL is not None
    search, levels = _LEVEL
    rebuild = Rebuilder(search, levels.parents, levels.moves)
    mine: dict[bytes, frozenset] = {}
    arrivals, explored, pruned = [], 0, 0
    for sid in chunk:
        state = rebuild(sid)
        sleep, before = search.asleep_in(state, levels.sleeps[sid], levels.befores[sid])
        for move, asleep in search.tries(state, sleep, before):
            child, finding, cut = search.successor(state, move)
            explored += 1
            if finding is not None:
                found = attrs.evolve(finding, moves=(*rebuild.path_moves(sid), move))
                return {"explored": explored, "pruned": pruned, "finding": found}
            if cut:
                pruned += 1
                continue
            key, rename = search.keyed(child)
            discard(child)
            asleep = renamed(asleep, rename)
            # Arrivals the merge would ignore: all their moves were tried or will be.
            known = levels.asleep.get(key)
            if known is not None and known <= asleep:
                continue
            if key in mine and mine[key] <= asleep:
                continue
            mine[key] = asleep if key not in mine else mine[key] & asleep
            arrivals.append((sid, move, key, asleep))
    return {"explored": explored, "pruned": pruned, "arrivals": arrivals}


def parallel_bfs(root: World, limits: Limits, jobs: int, progress: Progress | None) -> Result:
    """BFS with `jobs` worker processes per level (one process where fork is missing)."""
    global _LEVEL
    search = Search(root, limits, progress)
    if "fork" not in multiprocessing.get_all_start_methods():
        return search.bfs()
    context = multiprocessing.get_context("fork")
    stats = search.stats
    levels = Levels(search.key(search.root))
    frontier = [0]
    for depth in range(1, limits.depth + 1):
        stats.frontier = len(frontier)
        size = -(-len(frontier) // jobs)
        chunks = [frontier[i : i + size] for i in range(0, len(frontier), size)]
        _LEVEL = (search, levels)
        try:
            if len(frontier) < SMALL_LEVEL * jobs:  # not worth starting processes
                results = [_expand(chunk) for chunk in chunks]
            else:
                with context.Pool(len(chunks)) as pool:
                    results = pool.map(_expand, chunks)
        finally:
            _LEVEL = None
        for sid in frontier:
            levels.done[sid] = 1
        following: list[int] = []
        for result in results:
            stats.explored += result["explored"]
            stats.pruned += result["pruned"]
            finding: Finding | None = result.get("finding")
            if finding is not None:
                stats.depth = depth
                return search._end("violation", finding)
            for sid, move, key, asleep in result["arrivals"]:
                levels.arrive(sid, move, key, asleep, following)
        stats.distinct = len(levels.seen)
        if not search._tick():
            return search._end("time")
        ended = search.level_done(depth, levels, following)
        if ended is not None:
            return ended
        frontier = following
    return search._end("depth")
