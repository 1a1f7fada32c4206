"""Breadth-first search on several cores (`--jobs J`), with the same result as on one.

Theory of operation: BFS goes level by level; a level's states can be
expanded in any order, as long as the new states are merged in the order one
process would have made them. So each level is cut into J contiguous chunks,
and J worker processes, forked for that level (they inherit, copy-on-write,
the states seen so far and the (parent, move) of every state), each rebuild
and expand one chunk. A worker sends back only the successors it has not
seen, as (parent, move, key); the parent merges the chunks in order, keeping
the first of each key, which is exactly the order a single process keeps. A
violation in a chunk ends the search once the chunks before it are merged
without one: the same counterexample as a single process finds.

Needs the `fork` start method (Linux; elsewhere the search runs in one process).
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import attrs

from sim.check.explore.search import Finding, Limits, Progress, Result, Search, _Rebuilder
from sim.engine.world import World

# What forked workers inherit for one level: (search, parents, moves, seen).
_LEVEL: tuple[Search, list[int], list, set[bytes]] | None = None


def _expand(chunk: list[int]) -> dict[str, Any]:
    """A worker: expand one chunk of a level (the states it names, in order)."""
    assert _LEVEL is not None
    search, parents, moves, seen = _LEVEL
    rebuild = _Rebuilder(search, parents, moves)
    mine: set[bytes] = set()
    children, explored, pruned = [], 0, 0
    for sid in chunk:
        state = rebuild(sid)
        for move in search.moves(state):
            child, finding, cut = search.successor(state, move)
            explored += 1
            if finding is not None:
                found = attrs.evolve(finding, moves=(*rebuild.path_moves(sid), move))
                return {"explored": explored, "pruned": pruned, "finding": found}
            if cut:
                pruned += 1
                continue
            key = search.key(child)
            if key in seen or key in mine:
                continue
            mine.add(key)
            children.append((sid, move, key))
    return {"explored": explored, "pruned": pruned, "children": children}


def parallel_bfs(root: World, limits: Limits, jobs: int, progress: Progress | None) -> Result:
    """BFS with `jobs` worker processes per level (one process where fork is missing)."""
    global _LEVEL
    search = Search(root, limits, progress)
    if "fork" not in multiprocessing.get_all_start_methods():
        return search.bfs()
    context = multiprocessing.get_context("fork")
    stats = search.stats
    seen = {search.key(search.root)}
    parents, moves = [-1], [()]
    frontier = [0]
    for depth in range(1, limits.depth + 1):
        stats.frontier = len(frontier)
        size = -(-len(frontier) // jobs)
        chunks = [frontier[i : i + size] for i in range(0, len(frontier), size)]
        _LEVEL = (search, parents, moves, seen)
        try:
            with context.Pool(len(chunks)) as pool:
                results = pool.map(_expand, chunks)
        finally:
            _LEVEL = None
        following: list[int] = []
        for result in results:
            stats.explored += result["explored"]
            stats.pruned += result["pruned"]
            finding: Finding | None = result.get("finding")
            if finding is not None:
                stats.depth = depth
                return search._end("violation", finding)
            for sid, move, key in result["children"]:
                if key not in seen:
                    seen.add(key)
                    parents.append(sid)
                    moves.append(move)
                    following.append(len(parents) - 1)
        stats.distinct = len(seen)
        if not search._tick():
            return search._end("time")
        if not following:
            return search._end("exhausted")
        stats.depth = depth
        stats.by_depth.append(len(following))
        frontier = following
    return search._end("depth")
