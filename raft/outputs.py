"""What a node asks the world to do, and the outbox its parts write to.

Theory of operation (the sans-IO contract, as in etcd's Ready): every input
method of `Node` appends outputs to its `Outbox`; the caller then drains them
with `Node.take_outputs()` and carries them out in order:

- `Persist`: queue the write for the disk; when it is durable, call
  `Node.persisted(seq, now)` (writes become durable in `seq` order);
- `Send`: put the message on the network. Sends that must follow a durable
  write (a vote, an acknowledgement) are held back by the node itself and
  only emitted once `persisted` says so;
- `SetTimer` / `CancelTimer`: a timer is named; setting it again replaces it;
  when it fires, call `Node.fire(name, now)`;
- `Applied`: the state machine applied a client command (for clients/checkers);
- `Finished`: an accepted admin request (membership change, transfer) ended;
- `ReadDone`: an accepted read ended, with the value read or why it failed;
- `Note`: one sentence for the trace explaining a decision. It is kept as a
  template and its arguments and written out only when read (`Note.text`):
  a simulator that keeps no trace pays for no sentence.
"""

from __future__ import annotations

from operator import itemgetter
from typing import NamedTuple

from raft.messages import Message
from raft.storage import Write

# Outputs are NamedTuples (but `Note`): immutable values, cheap to build on the hot path.


class Send(NamedTuple):
    message: Message


class Persist(NamedTuple):
    seq: int
    write: Write


class SetTimer(NamedTuple):
    name: str
    delay: int


class CancelTimer(NamedTuple):
    name: str


class Applied(NamedTuple):
    index: int
    term: int
    command: str
    result: str


class Finished(NamedTuple):
    """An admin request the node accepted (membership change, transfer) has ended."""

    ticket: int
    ok: bool
    reason: str


class ReadDone(NamedTuple):
    """A read the node accepted (`Node.read`) has ended: `value` as `get` answers it."""

    ticket: int
    ok: bool
    value: str | None
    reason: str


class Note(tuple):
    """One sentence for the trace, explaining a decision, not yet written out: the
    tuple (component, kind, None, prefix, template, *args).

    The sentence (`text`) is `prefix` (who speaks: "n1 ", "n1 LogManager: ")
    followed by `template` filled with `args` (see `sentence`). The arguments
    are evaluated when the note is made and are plain values (str, int, float,
    bool, None), so the sentence cannot change afterwards, and a trace of them
    costs the garbage collector nothing once it has seen them. Unlike the other
    outputs, not a NamedTuple: the arguments follow in the tuple itself, so a
    note is the tail of its trace row as it is (sim/engine/trace.py); the None
    stands where a row has a message id, which a note never has.
    """

    __slots__ = ()

    component = property(itemgetter(0))
    kind = property(itemgetter(1))
    prefix = property(itemgetter(3))
    template = property(itemgetter(4))

    @property
    def args(self) -> tuple:
        return self[5:]

    @property
    def text(self) -> str:
        return sentence(self[3], self[4], self[5:])


def sentence(prefix: str, template: str, args: tuple) -> str:
    """A note's sentence: `prefix`, then `template.format(*args)`, or `template` as it is
    when there are no arguments (so a sentence without arguments may hold braces)."""
    return prefix + (template.format(*args) if args else template)


def ms(us: int) -> str:
    """A duration in microseconds, as notes write it ("150 ms", "2.5 ms")."""
    return f"{us / 1000:g} ms"


Output = Send | Persist | SetTimer | CancelTimer | Applied | Finished | ReadDone | Note


# Makes a Note without a Python-level call.
_new = tuple.__new__


class Outbox:
    """Collects one node's outputs; shared by the node's components."""

    def __init__(self, node_id: str, write_seq: int = 0) -> None:
        self.node_id = node_id
        self.items: list[Output] = []
        # Numbers every write, so `persisted(seq)` can say how far the disk got.
        self.write_seq = write_seq
        # False: notes are dropped as they are made (a caller that keeps no trace);
        # a set of kinds: only notes of those kinds are kept.
        self.keep_notes: bool | frozenset[str] = True
        self._prefixes = _Prefixes(node_id)

    def send(self, message: Message) -> None:
        self.items.append(Send(message))

    def persist(self, write: Write) -> int:
        """Queue a write; returns its sequence number."""
        self.write_seq += 1
        self.items.append(Persist(self.write_seq, write))
        return self.write_seq

    def set_timer(self, name: str, delay: int) -> None:
        self.items.append(SetTimer(name, delay))

    def cancel_timer(self, name: str) -> None:
        self.items.append(CancelTimer(name))

    def applied(self, index: int, term: int, command: str, result: str) -> None:
        self.items.append(Applied(index, term, command, result))

    def finished(self, ticket: int, ok: bool, reason: str) -> None:
        self.items.append(Finished(ticket, ok, reason))

    def read_done(self, ticket: int, ok: bool, value: str | None, reason: str) -> None:
        self.items.append(ReadDone(ticket, ok, value, reason))

    def note(
        self, component: str, kind: str, template: str, args: tuple = (), label: str = ""
    ) -> None:
        """Record a decision, prefixed with the node and `label` (default: the component).

        The sentence is `template` filled with `args` when it is read (see `Note`).
        """
        keep = self.keep_notes
        if keep is True or (keep and kind in keep):
            prefix = self._prefixes[label or component]
            self.items.append(_new(Note, (component, kind, None, prefix, template) + args))

    def take(self) -> list[Output]:
        items, self.items = self.items, []
        return items


class _Prefixes(dict):
    """How one node's notes begin, by speaker, each string made once."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def __missing__(self, speaker: str) -> str:
        prefix = f"{self.node_id} " if speaker == "Node" else f"{self.node_id} {speaker}: "
        self[speaker] = prefix
        return prefix
