"""Forking a world: an independent copy to try one choice on, made cheaply.

Theory of operation: the explorer tries every choice from every state, so it
copies worlds more than it does anything else. `copy.deepcopy` of a 3-node
world takes about a millisecond, most of it spent copying the 625 words of
each random stream one by one and in the generic machinery. Two things make
a fork much cheaper:

- One choice changes at most one node (a delivery: its receiver; a timer, a
  flush, a crash, a restart, a submit: that node; a loss: none). The fork
  copies that node and its disk and shares the others with its parent, as a
  persistent data structure would. Shared nodes are never changed: a later
  choice that touches one forks it first.
- `clone` is a deep copy specialised for what worlds are made of: plain
  objects, dicts, lists, deques, random streams (copied by state, at C speed),
  and immutable values (messages, log entries, writes, configurations,
  enums, frozen attrs classes), which are shared, never copied. Anything it
  does not know goes to `copy.deepcopy` with the same memo.

A world is full of reference cycles, so one dropped waits for the cycle
collector, which looks over every live object each time it runs; `discard`
takes apart what a fork made once the search is done with it, so that it is
freed at once (breadth first drops nearly every world it makes).

The trace is shared too: the explorer's worlds keep none (`untraced`, campaign
mode: no notes, no sentences); a counterexample is narrated by replaying it
on a `Cluster` with the full trace. So are the random streams: they draw message latencies and
election timeouts, and the search decides both itself (it delivers in an
order of its choosing and makes election timers run out when it pleases), so
no draw changes what happens; sharing saves copying 625 words per stream.
"""

from __future__ import annotations

import copy
import enum
import random
import types
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from sim.engine.trace import Trace
from sim.engine.world import World

# Types whose objects are values: shared by every copy. Starts with the builtins;
# immutable classes (enums, frozen attrs, those whose __deepcopy__ returns
# themselves) join as they are met.
_KEEP: set[type] = {int, str, float, bool, type(None), bytes, complex, range, type, frozenset}
_KEEP |= {types.FunctionType, types.BuiltinFunctionType}
Copier = Callable[[Any, dict], Any]
_CUSTOM_COPY = ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__copy__")


def untraced(world: World) -> World:
    """A deep copy of `world` in campaign mode (as `Cluster(trace="off")`): its nodes make
    no notes, its messages carry no text and its trace stays empty, so that searching
    writes no sentence; a path found is narrated by replaying it with the full trace."""
    copied = copy.deepcopy(world, {id(world.trace): Trace()})
    copied.tracing = copied.network.describe = False
    for node in copied.nodes.values():
        node.outbox.keep_notes = False  # a node booted later gets it from `tracing`
    return copied


def clone(obj: Any, memo: dict) -> Any:
    """A deep copy of `obj`; `memo` maps ids of objects already copied to their copies."""
    cls = type(obj)
    if cls in _KEEP:
        return obj
    found = memo.get(id(obj))
    if found is not None:
        return found
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _learn(cls)
        if cls in _KEEP:
            return obj
    return copier(obj, memo)


def _dict(obj: dict, memo: dict) -> dict:
    new = obj.copy()  # at C speed; then the values that are not values are copied
    memo[id(obj)] = new
    keep, copiers, known = _KEEP, _COPIERS, memo.get
    for key, value in obj.items():
        cls = type(value)
        if cls in keep:
            continue
        found = known(id(value))
        if found is None:
            copier = copiers.get(cls)
            found = clone(value, memo) if copier is None else copier(value, memo)
            if found is value:
                continue  # a tuple of values
        new[key] = found
    return new


def _list(obj: list, memo: dict) -> list:
    keep = _KEEP
    for value in obj:
        if type(value) not in keep:
            break
    else:
        new = obj.copy()  # nothing but values
        memo[id(obj)] = new
        return new
    new = []
    memo[id(obj)] = new
    new.extend([v if type(v) in keep else clone(v, memo) for v in obj])
    return new


def _tuple(obj: tuple, memo: dict) -> tuple:
    keep = _KEEP
    for value in obj:
        if type(value) not in keep:
            break
    else:
        return obj  # nothing but values: the tuple is a value
    items = [v if type(v) in keep else clone(v, memo) for v in obj]
    if all(a is b for a, b in zip(items, obj, strict=True)):
        new = obj  # nothing inside needed a copy: the tuple is a value
    elif type(obj) is tuple:
        new = tuple(items)
    else:
        new = type(obj)(*items)  # a NamedTuple
    memo[id(obj)] = new
    return new


def _set(obj: set, memo: dict) -> set:
    new = set(obj)  # members are hashable, hence values
    memo[id(obj)] = new
    return new


def _deque(obj: deque, memo: dict) -> deque:
    keep = _KEEP
    new = deque((v if type(v) in keep else clone(v, memo) for v in obj), obj.maxlen)
    memo[id(obj)] = new
    return new


def _method(obj: types.MethodType, memo: dict) -> types.MethodType:
    new = types.MethodType(obj.__func__, clone(obj.__self__, memo))
    memo[id(obj)] = new
    return new


def _random(obj: random.Random, memo: dict) -> random.Random:
    new = type(obj).__new__(type(obj))
    new.setstate(obj.getstate())
    memo[id(obj)] = new
    return new


def _instance(obj: Any, memo: dict) -> Any:
    cls = type(obj)
    new = cls.__new__(cls)
    memo[id(obj)] = new
    state = obj.__dict__
    fresh = new.__dict__ = state.copy()  # as _dict, inlined: most objects are instances
    keep, copiers, known = _KEEP, _COPIERS, memo.get
    for key, value in state.items():
        kind = type(value)
        if kind in keep:
            continue
        found = known(id(value))
        if found is None:
            copier = copiers.get(kind)
            found = clone(value, memo) if copier is None else copier(value, memo)
            if found is value:
                continue
        fresh[key] = found
    return new


def _learn(cls: type) -> Copier:
    """How to copy objects of `cls` (or, for a value type, add it to _KEEP)."""
    copier = _copier_for(cls)
    if copier is _same:
        _KEEP.add(cls)
    else:
        _COPIERS[cls] = copier
    if copier is _instance:
        _APART.add(cls)
    return copier


def _same(obj: Any, memo: dict) -> Any:
    return obj


def _copier_for(cls: type) -> Copier:
    if issubclass(cls, enum.Enum):
        return _same
    if getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs":
        return _same  # a frozen attrs class: a value
    own = [vars(k) for k in cls.__mro__[:-1]]
    deep = next((names["__deepcopy__"] for names in own if "__deepcopy__" in names), None)
    if deep is not None:
        probe = _probe(cls)
        if probe is not None and deep(probe, {}) is probe:
            return _same
        return lambda obj, memo: obj.__deepcopy__(memo)
    if issubclass(cls, random.Random):
        return _random
    if issubclass(cls, tuple):
        return _tuple
    slots = [name for k in cls.__mro__ for name in vars(k).get("__slots__", ())]
    if attrs.has(cls) and slots:
        return _slotted(cls, [s for s in slots if s not in ("__weakref__", "__dict__")])
    if any(name in names for names in own for name in _CUSTOM_COPY):
        return copy.deepcopy  # the class says how it is copied
    if not slots and hasattr(cls, "__dict__"):
        return _instance
    if slots and "__dict__" not in slots:
        return _slotted(cls, [s for s in slots if s != "__weakref__"])
    return copy.deepcopy


def _probe(cls: type) -> Any:
    """An instance of `cls` made without its constructor, to ask its __deepcopy__."""
    try:
        return cls.__new__(cls)
    except TypeError:
        return None


def _slotted(cls: type, names: list[str]) -> Copier:
    def copier(obj: Any, memo: dict) -> Any:
        new = cls.__new__(cls)
        memo[id(obj)] = new
        for name in names:
            if hasattr(obj, name):
                object.__setattr__(new, name, clone(getattr(obj, name), memo))
        return new

    return copier


_COPIERS: dict[type, Copier] = {
    dict: _dict,
    list: _list,
    tuple: _tuple,
    set: _set,
    deque: _deque,
    types.MethodType: _method,
}

# World attributes the fork handles itself; every other one is cloned.
_EMPTY = frozenset({dict, list, set, deque})
_BY_HAND = frozenset({"nodes", "disks", "streams", "network", "queue", "trace", "_observers"})


def _shallow(obj: Any) -> Any:
    new = type(obj).__new__(type(obj))
    new.__dict__ = dict(obj.__dict__)
    return new


def fork(world: World, touched: str | None, memo: dict | None = None) -> World:
    """An independent copy of `world` in which only node `touched` (if any) may change.

    `memo`, if given, is filled with what was copied (see `discard`)."""
    if memo is None:
        memo = {}
    new = World.__new__(World)
    memo[id(world)] = new
    state = world.__dict__
    nodes, disks = dict(world.nodes), dict(world.disks)
    for node_id, node in world.nodes.items():
        if node_id != touched:
            memo[id(node)] = node
            memo[id(disks[node_id])] = disks[node_id]
    for stream in world.streams._streams.values():
        memo[id(stream)] = stream
    network = _shallow(world.network)
    for name in ("in_flight", "_link_clear", "held", "_groups"):
        setattr(network, name, dict(getattr(world.network, name)))
    network.held_links = set(world.network.held_links)
    network.cuts = set(world.network.cuts)
    if touched is not None:
        nodes[touched] = clone(nodes[touched], memo)
        disks[touched] = clone(disks[touched], memo)
    queue = _shallow(world.queue)
    queue.heap = list(world.queue.heap)
    fresh = state.copy()  # then every attribute that is not a value is replaced
    fresh["nodes"], fresh["disks"], fresh["network"], fresh["queue"] = nodes, disks, network, queue
    fresh["_observers"] = [clone(observer, memo) for observer in world._observers]
    observers = {id(o) for o in world._observers}
    keep, by_hand = _KEEP, _BY_HAND
    for name, value in state.items():
        kind = type(value)
        if kind in keep or name in by_hand:
            continue
        if kind is list and value and id(value[0]) in observers:
            fresh[name] = [memo[id(o)] for o in value]  # the observers of one hook
        elif not value and kind in _EMPTY:
            fresh[name] = value.copy()
        else:
            fresh[name] = clone(value, memo)
    new.__dict__ = fresh
    return new


def discard(memo: dict) -> None:
    """Take apart the objects a fork made (its `memo`), once nothing will read them again.

    A world is full of reference cycles (a node and its parts point at each other,
    the world and its checkers too), so a world dropped is freed only when the cycle
    collector next runs, over everything alive. Emptying the objects' attributes
    frees them at once instead: the search runs several times fewer collections.
    Objects the fork shared with the parent (mapped to themselves) are left alone;
    so must be anything still in use that a later fork shared from these copies.
    """
    apart = _APART
    for key, obj in memo.items():
        if type(obj) in apart and id(obj) != key:
            obj.__dict__.clear()
    memo.clear()


# The classes whose objects `discard` empties: those copied by their __dict__.
_APART: set[type] = {World}
