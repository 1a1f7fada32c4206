"""The trace: every event of a run, as sentences a student can read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, overload

from raft.outputs import sentence


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


# A row: (index, time_us, node, component, kind, msg_id, prefix, template, *args), one
# plain tuple of plain values. Its first five fields are a TraceEvent's; the sentence is
# kept as a template and its arguments and written out only when the row is read
# (`text_of`): `prefix` then `template.format(*args)`, or `template` as it is without
# arguments. A node's note (raft.outputs.Note: component, kind, None, prefix, template,
# *args) is the row's tail, so the engine makes a row of it with one concatenation. The
# arguments are not a tuple of their own: a row stays one object for the garbage
# collector to see once and stop tracking.
Row = tuple

_new = tuple.__new__


def text_of(row: Row) -> str:
    """A row's sentence, written out now (a TraceEvent's `text`)."""
    return sentence(row[6], row[7], row[8:])


def said_of(row: Row) -> str:
    """A row's sentence without the prefix that names who speaks ("n1 BallotBox: ")."""
    return sentence("", row[7], row[8:])


def args_of(row: Row) -> tuple:
    """The values a row's template is filled with (a note's indexes, terms, ids), read
    as they are rather than parsed back out of the sentence; () for a row kept as text."""
    return row[8:]


def event_of(row: Row) -> TraceEvent:
    """The TraceEvent a row stands for, its sentence written out now."""
    text = sentence(row[6], row[7], row[8:])
    return _new(TraceEvent, (row[0], row[1], row[2], row[3], row[4], text, row[5]))


def row_of(event: TraceEvent) -> Row:
    """A row holding `event` as it is (its text is the template, with no arguments)."""
    index, time_us, node, component, kind, text, msg_id = event
    return (index, time_us, node, component, kind, msg_id, "", text)


class TraceSlice(Sequence[TraceEvent]):
    """Some rows of a trace, read as TraceEvents made (and their sentences written) on access.

    `run()` and `step()` return one: most callers never read most events, so
    none is made until asked for. It holds its own list of the rows, so cutting
    the trace later (time travel, bounded history) does not change it. It
    compares equal to a list of the same TraceEvents, and `+` gives a list.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> TraceEvent: ...

    @overload
    def __getitem__(self, index: slice) -> TraceSlice: ...

    def __getitem__(self, index: int | slice) -> TraceEvent | TraceSlice:
        if isinstance(index, slice):
            return TraceSlice(self.rows[index])
        return event_of(self.rows[index])

    def __iter__(self) -> Iterator[TraceEvent]:
        return map(event_of, self.rows)

    def __reversed__(self) -> Iterator[TraceEvent]:
        return map(event_of, reversed(self.rows))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TraceSlice):
            return self.rows == other.rows or list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which have no hash

    def __add__(self, other: Iterable[TraceEvent]) -> list[TraceEvent]:
        return [*self, *other]

    def __radd__(self, other: Iterable[TraceEvent]) -> list[TraceEvent]:
        return [*other, *self]

    def __repr__(self) -> str:
        return repr(list(self))


class Trace(TraceSlice):
    """The trace of a run: a list of `TraceEvent`s that costs the garbage collector nothing.

    Why not a plain list of TraceEvents: CPython's cyclic collector stops
    tracking a tuple once it sees it holds only plain values, but only an
    exact `tuple`, never a subclass such as a NamedTuple. A trace of a million
    TraceEvents was walked by every full collection, a cost that grows with
    the run (about a tenth of the wall time after ten simulated seconds under
    load). So rows are stored as plain tuples of plain values (see `Row`;
    a note's arguments are plain values too), and a `TraceEvent` is made, its
    sentence written out, when one is read.

    Read it as a sequence (`len`, indexing, slicing, iteration); a slice is
    a `TraceSlice`. The engine appends rows to `rows` itself, and counts them
    there: the trace grows several times per event, and a Python-level
    `append` or `__len__` would be a call more each time. Time travel and
    bounded history cut the trace with `del trace[i:]` and `del trace[:i]`.
    """

    __slots__ = ()

    def __init__(self, events: Iterable[TraceEvent] = ()) -> None:
        super().__init__([row_of(event) for event in events])

    @classmethod
    def _of_rows(cls, rows: list[Row]) -> Trace:
        trace = cls()
        trace.rows.extend(rows)
        return trace

    def __reduce__(self) -> tuple:
        return (Trace._of_rows, (self.rows,))

    def __delitem__(self, index: slice) -> None:
        del self.rows[index]

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} events>"
