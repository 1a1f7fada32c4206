"""The trace: every event of a run, as sentences a student can read."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import NamedTuple, overload


class TraceEvent(NamedTuple):
    """One thing that happened.

    `component` is the part that acted (Node, LogManager, Replicator,
    BallotBox, StateMachine, Network, Disk, Cluster, Client, Checker), `kind`
    a short machine tag (send, receive, drop, vote, commit, apply, ...), and
    `text` one plain sentence. Network events carry `msg_id` so that a send
    and its delivery can be paired (message sequence diagrams).

    A NamedTuple, immutable and cheap to build. The trace itself (`Trace`)
    keeps plain tuples and makes these on the way out.
    """

    index: int
    time_us: int
    node: str | None
    component: str
    kind: str
    text: str
    msg_id: int | None = None

    @property
    def time(self) -> float:
        """Simulated time in seconds."""
        return self.time_us / 1_000_000

    def __str__(self) -> str:
        return f"{self.time:9.6f}  {self.text}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (for saving traces)."""
        return self._asdict()

    @classmethod
    def from_dict(cls, data: object) -> TraceEvent:
        """The event `to_dict` gave (read back from JSON); ValueError if it is not one."""
        if not isinstance(data, dict) or set(data) != set(cls._fields):
            raise ValueError(f"expected a JSON object with the fields {', '.join(cls._fields)}")
        for name, kinds in _FIELD_KINDS.items():
            value = data[name]
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"field {name} has the wrong type ({type(value).__name__})")
        if data["index"] < 0 or data["time_us"] < 0:
            raise ValueError("index and time_us cannot be negative")
        return cls(**data)


_FIELD_KINDS: dict[str, type | tuple[type, ...]] = {
    "index": int,
    "time_us": int,
    "node": (str, type(None)),
    "component": str,
    "kind": str,
    "text": str,
    "msg_id": (int, type(None)),
}


# Row -> TraceEvent without a Python-level call (`run()` hands back every event it added).
_event = tuple.__new__
_as_event = functools.partial(tuple.__new__, TraceEvent)


class Trace(Sequence[TraceEvent]):
    """The trace of a run: a list of `TraceEvent`s that costs the garbage collector nothing.

    Why not a plain list of TraceEvents: CPython's cyclic collector stops
    tracking a tuple once it sees it holds only plain values, but only an
    exact `tuple`, never a subclass such as a NamedTuple. A trace of a million
    TraceEvents was walked by every full collection, a cost that grows with
    the run (about a tenth of the wall time after ten simulated seconds under
    load). So rows are stored as plain tuples, and a `TraceEvent` is made
    when one is read.

    Read it as a sequence (`len`, indexing, slicing, iteration). The engine
    appends rows to `rows` itself, and counts them there: the trace grows
    several times per event, and a Python-level `append` or `__len__` would
    be a call more each time. Time travel and bounded history cut the trace
    with `del trace[i:]` and `del trace[:i]`.
    """

    __slots__ = ("rows",)

    def __init__(self, events: Sequence[TraceEvent] = ()) -> None:
        # Plain tuples in TraceEvent's field order.
        self.rows: list[tuple] = [tuple(event) for event in events]

    @classmethod
    def _of_rows(cls, rows: list[tuple]) -> Trace:
        trace = cls()
        trace.rows.extend(rows)
        return trace

    def __reduce__(self) -> tuple:
        return (Trace._of_rows, (self.rows,))

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> TraceEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceEvent]: ...

    def __getitem__(self, index: int | slice) -> TraceEvent | list[TraceEvent]:
        if isinstance(index, slice):
            return [_event(TraceEvent, row) for row in self.rows[index]]
        return _event(TraceEvent, self.rows[index])

    def __delitem__(self, index: slice) -> None:
        del self.rows[index]

    def __iter__(self) -> Iterator[TraceEvent]:
        return map(_as_event, self.rows)

    def __reversed__(self) -> Iterator[TraceEvent]:
        return map(_as_event, reversed(self.rows))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return self.rows == other.rows
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} events>"
