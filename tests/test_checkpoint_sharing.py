"""Checkpoints share what cannot change, and nothing else.

A checkpoint shares immutable values, and the old runs of growing lists,
with the present and with other checkpoints; the containers declared to hold
immutable values (sim/engine/deep_copy.py `declare`) are copied without a
look inside. These tests compare whole worlds, every attribute of every
object (checkers' tables, random streams, queues included), so that sharing
something mutable, or a broken promise, shows up as a difference.
"""

from __future__ import annotations

import random
import types
from collections import deque

import attrs
import pytest
from test_checkpoints import everything_in, loaded_run

from sim import Cluster
from sim.engine.deep_copy import Chunks, declared, promised_immutable

_ATOMS = (int, float, str, bytes, bool, type(None))
# Caches that fill in whatever order they are asked: the same values, not the same history.
CACHES = {"_Prefixes"}


def deeply_immutable(x: object) -> bool:
    """Is `x` an atom, a tuple of such values, or an instance whose copy is itself?"""
    if isinstance(x, (*_ATOMS, frozenset)):
        return isinstance(x, _ATOMS) or all(map(deeply_immutable, x))
    if type(x) is tuple:
        return all(map(deeply_immutable, x))
    if type(x) in promised_immutable():
        return all(deeply_immutable(getattr(x, a.name)) for a in attrs.fields(type(x)))
    own = getattr(x, "__deepcopy__", None)
    return own is not None and own({}) is x


def fingerprint(root: object, opaque: tuple[object, ...]) -> object:
    """Everything reachable from `root`, as plain values: equal worlds give equal prints.

    Objects in `opaque` (a checkpoint's links to the present: the trace and the
    cluster) print as a mark. Aliases of mutable objects print as the order of first sight.
    """
    order: dict[int, int] = {id(x): -1 - i for i, x in enumerate(opaque)}
    keep = []

    def walk(x: object) -> object:
        if isinstance(x, (*_ATOMS, type)):
            return x
        kind = type(x).__name__
        if id(x) in order:
            return ("seen", order[id(x)])
        # Which immutable values are one object, or equal twins, makes no difference.
        if not deeply_immutable(x):
            order[id(x)] = len(order)
            keep.append(x)
        if kind in CACHES:
            return kind
        if type(x) is Chunks:  # a checkpoint's list, as the list it gives back
            return ("list", [walk(item) for part in x.parts for item in part])
        if isinstance(x, (list, tuple, deque)):
            return (kind, [walk(item) for item in x])
        if isinstance(x, dict):
            return (kind, [(walk(k), walk(v)) for k, v in x.items()])
        if isinstance(x, (set, frozenset)):
            return (kind, sorted(map(repr, map(walk, x))))
        if isinstance(x, random.Random):
            return (kind, x.getstate())
        if isinstance(x, types.MethodType):
            return (kind, x.__func__.__qualname__, walk(x.__self__))
        if isinstance(x, types.FunctionType | types.BuiltinFunctionType):
            return (kind, x.__qualname__)
        names = list(getattr(x, "__dict__", {}))
        names += [s for k in type(x).__mro__ for s in getattr(k, "__slots__", ())]
        return (kind, [(n, walk(getattr(x, n))) for n in names if hasattr(x, n)])

    return walk(root)


def world_print(c: Cluster) -> object:
    return fingerprint(c._world, (c._world.trace, c))


def checkpoint_prints(c: Cluster) -> dict[int, object]:
    opaque = (c._world.trace, *c._checkpoints._shared)
    return {p: fingerprint(w, opaque) for p, w in c._checkpoints._worlds.items()}


def test_every_declared_container_holds_deeply_immutable_values():
    c = loaded_run()
    c.submit("cas k1 0 1")
    c.run(0.2)
    for checker in [*c._world.observers, *(n.fsm.state_machine for n in c._world.nodes.values())]:
        for name in declared().get(type(checker), ()):
            held = getattr(checker, name)
            values = [*held, *held.values()] if isinstance(held, dict) else list(held)
            assert all(map(deeply_immutable, values)), f"{type(checker).__name__}.{name}"


def test_every_class_promised_immutable_is_frozen_and_holds_immutable_values():
    c = loaded_run()
    found = {type(x) for x in everything_in(c._world)}
    for cls in promised_immutable():
        assert attrs.has(cls), cls
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            next(x for x in everything_in(c._world) if type(x) is cls).x = 1
    for x in everything_in(c._world):
        if type(x) in promised_immutable():
            assert deeply_immutable(x), x
    assert promised_immutable() <= found  # each promise is still about something


def overwrite_everything(c: Cluster, rounds: int) -> None:
    """Change what the checkpoints hold: overwrite and delete keys, crash, restart, snapshot."""
    for i in range(rounds):
        c.submit(f"set k{i % 7} again{i}")
        c.submit(f"del k{(i + 3) % 7}")
        c.run(0.01)
        if i == 5:
            c.crash("n2")
        if i == 15:
            c.restart("n2")
        if i == 20 and c.leader:
            c.snapshot(c.leader)


@pytest.fixture
def dense(monkeypatch) -> None:
    """A checkpoint every few dozen actions: many of them share with one another."""
    import sim.engine.checkpoints as checkpoints

    monkeypatch.setattr(checkpoints, "SPACING", 0)
    monkeypatch.setattr(checkpoints, "MIN_SPACING", 40)


@pytest.mark.usefixtures("dense")
def test_later_runs_and_travels_leave_every_checkpoint_as_it_was():
    c = Cluster(5, seed=3, snapshot_interval=30)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    overwrite_everything(c, 30)
    before = checkpoint_prints(c)
    assert len(before) >= 4
    overwrite_everything(c, 30)  # the present changes what the checkpoints share
    c.back()
    c.back()
    c.goto(len(c.trace) // 2)  # restored worlds change as they replay
    c.submit("set fork 1")  # and history forks
    overwrite_everything(c, 10)
    after = checkpoint_prints(c)
    kept = before.keys() & after.keys()
    assert kept, "some of the first checkpoints are still kept"
    for position in kept:
        assert after[position] == before[position], f"checkpoint at {position} changed"


def steps(rounds: int) -> list:
    """overwrite_everything's calls one by one, after an election; every third is a run."""
    out = [lambda c: c.run_until(lambda c: c.leader is not None, timeout=3.0)]
    for i in range(rounds):
        out.append(lambda c, i=i: c.submit(f"set k{i % 7} again{i}"))
        out.append(lambda c, i=i: (c.crash("n2") if i == 20 else None, c.submit(f"del k{i % 5}")))
        out.append(lambda c, i=i: (c.restart("n2") if i == 30 else None, c.run(0.01)))
    return out


def played(upto: int, rounds: int = 40) -> Cluster:
    c = Cluster(5, seed=3, snapshot_interval=30)
    for step in steps(rounds)[:upto]:
        step(c)
    return c


@pytest.mark.usefixtures("dense")
@pytest.mark.parametrize("back_to", [35, 62, 101])
def test_back_back_forward_and_a_fork_give_a_fresh_run_s_whole_world(back_to):
    c = played(121)
    marks = []
    probe = Cluster(5, seed=3, snapshot_interval=30)
    for step in steps(40):
        step(probe)
        marks.append(len(probe.trace))
    for _ in range(3):
        c.back()
    c.goto(marks[back_to - 1])  # after a submit: where that call left the clock
    assert world_print(c) == world_print(played(back_to))
    c.goto(marks[-1])  # forward again, through checkpoints taken while travelling
    assert world_print(c) == world_print(played(121))
    c.goto(marks[back_to - 1])
    fork = played(back_to)
    for cluster in (c, fork):
        cluster.submit("set fork 2")  # a new future, the same for both
        overwrite_everything(cluster, 12)
    assert world_print(c) == world_print(fork)
