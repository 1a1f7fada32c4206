"""A deep copy that shares what cannot change, for time travel's checkpoints.

Why not `copy.deepcopy`: after nine simulated seconds at 1,000 commands/s a
world holds some 200,000 references to log entries, applied commands and
client records. `deepcopy` makes a Python-level call for each one, a quarter
of a second per copy, although nearly all of them are immutable and need no
copy at all. This copier follows deepcopy's rules (the memo, keeping
temporaries alive, `__deepcopy__`, `__reduce_ex__`), but copies a container
whose items are all immutable in one C-level call, after a C-level check of
its items' types. A class may also declare which of its attributes hold only
immutable values (`declare`): those containers are copied without the check,
so that a world costs about what copying its arrays of pointers costs.

What counts as immutable: the atomic builtins, tuples of immutable values,
and every class whose `__deepcopy__` returned the very object it was asked to
copy. Such a class declares its instances immutable (raft's log entries,
messages and snapshots say so; enums too), and every class promised
immutable with `immutable` (frozen classes of immutable values). Objects
passed as `share` are shared as they are, whatever their type.
"""

from __future__ import annotations

import copyreg
import gc
import random
import sys
import types
import weakref
from collections import deque
from collections.abc import Iterable
from itertools import chain, compress, count
from operator import and_, is_, not_

_IMMUTABLE: set[type] = {
    type(None),
    type(Ellipsis),
    type(NotImplemented),
    int,
    float,
    bool,
    complex,
    str,
    bytes,
    range,
    type,
    property,
    weakref.ref,
    types.CodeType,
    types.FunctionType,
    types.BuiltinFunctionType,
}
_MUTABLE: set[type] = set()  # classes with a __deepcopy__ that does copy
_CONTAINERS = (list, dict, set, deque)
_DECLARED: dict[type, tuple[str, ...]] = {}
_PROMISED: set[type] = set()  # classes declared immutable with `immutable`
_MISSING = object()
_FEW = 24  # values copied one by one in Python rather than in passes at C speed
# How instances of a class are copied, decided once per class (see `_way`).
_OWN, _PLAIN, _VALUE, _RANDOM, _REDUCE = "own", "plain", "value", "random", "reduce"
_WAYS: dict[type, str] = {}


def _way(cls: type) -> str:
    """How to copy instances of `cls`.

    A class with a `__deepcopy__` copies its instances itself (looked up on
    the class, once). Plain objects (a `__dict__`, no slots, no pickling
    hooks) are rebuilt directly; named tuples and frozensets are values,
    shared when their items are immutable; random generators are rebuilt from
    their state, without their Python-level seeding (seven times the cost);
    everything else goes through `__reduce_ex__`, as deepcopy does.
    """
    if getattr(cls, "__deepcopy__", None) is not None:
        return _OWN
    if issubclass(cls, tuple | frozenset) and not cls.__dictoffset__:
        return _VALUE
    if issubclass(cls, random.Random) and cls.__reduce__ is random.Random.__reduce__:
        return _RANDOM
    hooks = ("__reduce_ex__", "__reduce__", "__getstate__")
    plain = (
        cls.__dictoffset__ != 0
        and cls not in copyreg.dispatch_table
        and all(getattr(cls, hook) is getattr(object, hook) for hook in hooks)
        and not hasattr(cls, "__setstate__")
        and not any("__slots__" in vars(klass) for klass in cls.__mro__)
    )
    return _PLAIN if plain else _REDUCE


def declare(cls: type, *attributes: str) -> None:
    """Promise that these attributes of `cls`'s instances hold containers of immutable values.

    `declare(LogManager, "_entries")`: the copier copies that list of log
    entries without looking at them. A wrong promise would share mutable
    objects between a world and its copies; tests/test_checkpoints.py checks
    every promise against a loaded run.
    """
    _DECLARED[cls] = (*_DECLARED.get(cls, ()), *attributes)


def immutable(*classes: type) -> None:
    """Promise that instances of these classes never change, nor do the values they hold.

    For frozen classes of immutable values that have no `__deepcopy__` saying
    so (raft's configurations, options): the copier shares them as it shares
    strings. tests/test_checkpoint_sharing.py checks every promise.
    """
    _IMMUTABLE.update(classes)
    _PROMISED.update(classes)


def promised_immutable() -> frozenset[type]:
    """Every class promised immutable with `immutable`."""
    return frozenset(_PROMISED)


def declared() -> dict[type, tuple[str, ...]]:
    """Every promise made with `declare`, by class."""
    return dict(_DECLARED)


def all_immutable(items: list | tuple) -> bool:
    """Are all `items` immutable values? (Tuples are looked into once; at C speed.)"""
    kinds = set(map(type, items))
    if kinds <= _IMMUTABLE or _learn(kinds - _IMMUTABLE, items):
        return True
    if kinds != {tuple}:
        return False
    inner = list(chain.from_iterable(items))
    kinds = set(map(type, inner))
    return kinds <= _IMMUTABLE or _learn(kinds - _IMMUTABLE, inner)


def _learn(kinds: set[type], items: list | tuple) -> bool:
    """Do all these classes declare their instances immutable? Remember the answers."""
    for kind in kinds:
        own = getattr(kind, "__deepcopy__", None)
        if own is None or kind in _MUTABLE:
            return False
        example = next(x for x in items if type(x) is kind)
        if own(example, {}) is not example:
            _MUTABLE.add(kind)
            return False
        _IMMUTABLE.add(kind)
    return True


class Chunks:
    """A declared list as a checkpoint keeps it: the runs of items it grew by.

    Consecutive checkpoints share the runs a list already had (see `Chunker`).
    Copying a `Chunks` gives the list back.
    """

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[tuple, ...]) -> None:
        self.parts = parts

    def __deepcopy__(self, memo: dict) -> list:
        return list(chain.from_iterable(self.parts))


class Chunker:
    """Turns declared lists into `Chunks` that share what each list held at the last copy.

    A list that only grew since then costs a pointer comparison per old item
    (list equality passes over identical items without touching them) and a
    copy of the new ones: its old runs are shared, so they are never copied,
    nor walked by the garbage collector, again. An old item may have been
    replaced by an equal one: declared values are immutable, so equal ones
    are interchangeable.
    """

    MAX_PARTS = 32  # more runs than this are merged into one

    def __init__(self) -> None:
        # id of a list -> (a copy of it, its runs), as of the last copy and of this one
        self._last: dict[int, tuple[list, tuple[tuple, ...]]] = {}
        self._this: dict[int, tuple[list, tuple[tuple, ...]]] = {}

    def chunks(self, x: list) -> tuple[Chunks, tuple | None]:
        """`x` as chunks, and its new run (None when the list is kept afresh in one run)."""
        last = self._last.get(id(x))
        if last is not None and len(x) >= len(last[0]):
            shadow, parts = last
            new = tuple(x[len(shadow) :])
            shadow += new
            if shadow == x:
                if new and len(parts) < self.MAX_PARTS:
                    parts = (*parts, new)
                elif new:
                    parts, new = (tuple(x),), None
                self._this[id(x)] = (shadow, parts)
                return Chunks(parts), new
        parts = (tuple(x),)
        self._this[id(x)] = (x.copy(), parts)
        return Chunks(parts), None

    def done(self) -> None:
        """A copy is over: the next one shares with it."""
        self._last, self._this = self._this, {}

    def adopt(self, restored: Copier) -> None:
        """A world was rebuilt from a copy (`restored` made it): the next copy shares the
        runs of that copy's `Chunks`, which the rebuilt lists start as."""
        self._last = {
            id(y): (y.copy(), x.parts)
            for x in restored.copied()
            if type(x) is Chunks and type(y := restored.memo[id(x)]) is list
        }

    @property
    def size(self) -> int:
        """Bytes of the copies it keeps to compare the next time with."""
        return sum(sys.getsizeof(shadow) for shadow, _ in self._last.values())


class Copier:
    """One deep copy; `copy` may be called for several roots that share one memo.

    `size` estimates, with `sys.getsizeof`, the bytes of the containers and
    objects made: the memory the copy holds beyond what it shares (runs of
    `Chunks` aside: they are listed in `chunks`, and may be shared with other
    copies). `items` counts the references copied or looked at, `flat` those
    copied unseen into containers the garbage collector never walks (dicts of
    atoms, copied at memory speed: the commonest big table), and `objects` the
    objects rebuilt one by one: together, a measure of the work done. With a
    `chunker`, declared lists become `Chunks`: a copy to keep, not to use.
    """

    def __init__(self, share: Iterable[object] = (), chunker: Chunker | None = None) -> None:
        self.chunker = chunker
        self.chunks: list[Chunks] = []
        shared = list(share)
        self.memo: dict[int, object] = dict(zip(map(id, shared), shared, strict=True))
        # What was copied stays alive until the copy is done, so that its id is
        # not reused by a temporary (deepcopy keeps this list in the memo too).
        self.memo[id(self.memo)] = self._alive = shared
        self.size = 0
        self.items = 0
        self.flat = 0
        self.objects = 0

    def copy(self, x):
        """A deep copy of `x` (the same object if it is immutable or shared)."""
        memo = self.memo
        y = memo.get(id(x), _MISSING)
        if y is not _MISSING:
            return y
        cls = type(x)
        if cls in _IMMUTABLE:
            return x
        if cls is tuple:
            return self._tuple(x)
        if cls is list:
            y = self._list(x)
        elif cls is dict:
            y = self._dict(x)
        elif cls is set or cls is deque:
            y = self._set_or_deque(x)
        else:
            y = self._object(x, cls)
            if y is x:
                return x
        self.keep(x, y)
        return y

    def keep(self, x: object, y: object) -> None:
        """Record `y` as the copy of `x`."""
        self.memo[id(x)] = y
        self._alive.append(x)

    def copied(self) -> list:
        """The objects copied (and those shared as they are)."""
        return self._alive

    def shallow(self, x: list | dict | set | deque):
        """A copy of a container of immutable values (the caller vouches for them)."""
        y = x.copy()
        if gc.is_tracked(y):
            self.items += len(x)
        else:
            self.flat += len(x)
        self.size += sys.getsizeof(y)
        self.keep(x, y)
        return y

    def _list(self, x: list) -> list:
        self.items += len(x)
        if all_immutable(x):
            y = x.copy()
        else:
            y = []
            self.memo[id(x)] = y  # before the items, which may lead back here
            y += self._copies(x)
        self.size += sys.getsizeof(y)
        return y

    def _copies(self, values: list) -> list:
        """Copies of `values`: atoms and what the memo holds at C speed, the rest one by one."""
        if len(values) < _FEW:  # an object's attributes: fewer than the C way's set-up costs
            memo, atoms, copy = self.memo, _IMMUTABLE, self.copy
            return [
                v if type(v) in atoms else memo[id(v)] if id(v) in memo else copy(v) for v in values
            ]
        copies = list(map(self.memo.get, map(id, values), values))
        atoms = map(_IMMUTABLE.__contains__, map(type, values))
        for i in compress(count(), map(and_, map(is_, copies, values), map(not_, atoms))):
            copies[i] = self.copy(values[i])
        return copies

    def _dict(self, x: dict) -> dict:
        self.items += len(x)
        y: dict = {}
        self.memo[id(x)] = y
        keys = list(x)
        if not all_immutable(keys):
            for key, value in x.items():
                y[self.copy(key)] = self.copy(value)
        else:
            values = list(x.values())
            if all_immutable(values):
                y.update(x)
            else:
                y.update(zip(keys, self._copies(values), strict=True))
        self.size += sys.getsizeof(y)
        return y

    def _tuple(self, x: tuple) -> tuple:
        if all_immutable(x):
            return x
        copies = [self.copy(item) for item in x]
        # A tuple reached again through its own items was copied meanwhile.
        found = self.memo.get(id(x), _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        return x if all(map(is_, copies, x)) else tuple(copies)

    def _set_or_deque(self, x: set | deque) -> set | deque:
        self.items += len(x)
        items = list(x)
        if not all_immutable(items):
            items = [self.copy(item) for item in items]
        y = set(items) if type(x) is set else deque(items, x.maxlen)  # type: ignore[union-attr]
        self.size += sys.getsizeof(y)
        return y

    def _object(self, x, cls: type) -> object:
        if issubclass(cls, type):
            return x
        if cls is types.MethodType:
            return cls(x.__func__, self.copy(x.__self__))
        way = _WAYS.get(cls) or _WAYS.setdefault(cls, _way(cls))
        if way is _OWN:
            y = x.__deepcopy__(self.memo)
            if y is x:
                _IMMUTABLE.add(cls)
            return y
        if way is _VALUE and all_immutable(x):
            return x
        if way is _PLAIN or way is _RANDOM:
            self.objects += 1
            y = cls.__new__(cls)
            self.memo[id(x)] = y
            self.size += sys.getsizeof(y)
            if way is _RANDOM:
                y.setstate(x.getstate())
            state = x.__dict__
            promised = _DECLARED.get(cls)
            if promised:
                self._promised(state, promised)
            # Attribute names are strings: only the values need a look.
            values = list(state.values())
            self.items += len(values)
            y.__dict__.update(zip(state, self._copies(values), strict=True))
            return y
        reductor = copyreg.dispatch_table.get(cls)
        reduced = reductor(x) if reductor else x.__reduce_ex__(4)  # type: ignore[call-overload]
        if isinstance(reduced, str):
            return x
        return self._reconstruct(x, *reduced)

    def _reconstruct(self, x, func, args, state=None, listiter=None, dictiter=None):
        """What `copy._reconstruct` does for a deep copy, with this copier."""
        self.objects += 1
        y = func(*[self.copy(arg) for arg in args])
        self.memo[id(x)] = y
        self.size += sys.getsizeof(y)
        if state is not None:
            promised = _DECLARED.get(type(x), ())
            for part in (state if isinstance(state, tuple) else (state,)) if promised else ():
                if isinstance(part, dict):
                    self._promised(part, promised)
            state = self.copy(state)
            if hasattr(y, "__setstate__"):
                y.__setstate__(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                if state is not None:
                    y.__dict__.update(state)
                for key, value in (slots or {}).items():
                    setattr(y, key, value)
        for item in listiter or ():
            y.append(self.copy(item))
        for key, value in dictiter or ():
            y[self.copy(key)] = self.copy(value)
        return y

    def _promised(self, state: dict, attributes: tuple[str, ...]) -> None:
        """Copy the containers declared to hold immutable values, without looking inside."""
        for name in attributes:
            x = state.get(name)
            if type(x) not in _CONTAINERS or id(x) in self.memo:
                continue
            if self.chunker is None or type(x) is not list:
                self.shallow(x)  # type: ignore[arg-type]
                continue
            chunks, new = self.chunker.chunks(x)  # type: ignore[arg-type]
            # Comparing an old item costs about a thirtieth of copying it.
            self.items += len(x) // 32 + (len(new) if new is not None else len(x))
            self.size += sys.getsizeof(chunks) + sys.getsizeof(chunks.parts)
            self.chunks.append(chunks)
            self.keep(x, chunks)


def deep_copy(x, share: Iterable[object] = ()):
    """A deep copy of `x` that shares immutable values and the objects in `share`."""
    return Copier(share).copy(x)
