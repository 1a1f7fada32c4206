"""Client histories: what concurrent clients asked of the key-value store, and what they heard.

Theory of operation: a linearizability checker never looks inside the
cluster. It sees only what clients saw: each operation was invoked at some
time, and later the client either heard an answer or gave up. A `Recorder`
collects these facts as a simulated workload runs (`invoke`, then one of `ok`,
`fail` or `unknown`), and `Recorder.history()` freezes them into a `History`
of `Operation` values.

The three outcomes follow Jepsen's ok / fail / info:

- ok: the operation took effect, once, somewhere between its invocation and
  its completion, and `value` is what it returned (a get's value, a cas's
  success, ...).
- fail: it definitely did not take effect (e.g. refused by a node that is not
  the leader before anything was written). The checker ignores it.
- unknown: the client does not know (a timeout, a crashed leader). It may have
  taken effect at any time after its invocation, even long after the client
  gave up, or never. `completed` records when the client gave up, for the
  reader; the checker treats the completion as infinitely late.

An operation still pending when the history is taken is unknown too.

Times are integer microseconds of simulated time, like the rest of `sim/`.
Values are the words of the KV commands (`raft/state_machine.py`); a missing
key is `None`. What `value` holds for an ok operation, by kind:

    get K            the value read, or None if K was absent
    set K V          None (nothing to check)
    append K V       None (V is appended to K's value; an absent K counts as "")
    del K            True if K existed, False if not, None if not observed
    cas K OLD NEW    True if K was OLD and is now NEW, False if K was not OLD

`synthetic_history` builds random histories that are linearizable by
construction (or deliberately damaged), for tests, benchmarks and teaching.
"""

from __future__ import annotations

import enum
import json
import random
from collections.abc import Iterable, Iterator

import attrs

from raft.state_machine import NIL

# Operation kind -> number of arguments after the key.
OP_ARITY: dict[str, int] = {"set": 1, "get": 0, "del": 0, "append": 1, "cas": 2}

FORMAT = "raftsim-history"
FORMAT_VERSION = 1


class Outcome(enum.Enum):
    """How an operation ended, as far as its client knows."""

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


def _check_value(op: Operation, attribute: attrs.Attribute, value: object) -> None:
    if op.outcome is not Outcome.OK:
        if value is not None:
            raise ValueError(f"operation {op.id}: a {op.outcome.value} operation has no value")
        return
    allowed: tuple[type, ...] = {
        "get": (str, type(None)),
        "set": (type(None),),
        "append": (type(None),),
        "del": (bool, type(None)),
        "cas": (bool,),
    }[op.kind]
    if not isinstance(value, allowed):
        names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
        raise ValueError(f"operation {op.id}: an ok {op.kind} returns {names}, not {value!r}")


@attrs.frozen(kw_only=True)
class Operation:
    """One client operation on one key: what was asked, when, and what came back."""

    id: int
    client: str
    kind: str = attrs.field(validator=attrs.validators.in_(OP_ARITY))
    key: str
    args: tuple[str, ...] = attrs.field(converter=tuple)
    invoked: int
    # When the client heard the outcome (or gave up, for unknown); None if it never did.
    completed: int | None = None
    outcome: Outcome = attrs.field(converter=Outcome)
    value: str | bool | None = attrs.field(default=None, validator=_check_value)

    def __attrs_post_init__(self) -> None:
        if len(self.args) != OP_ARITY[self.kind]:
            raise ValueError(
                f"operation {self.id}: {self.kind} takes {OP_ARITY[self.kind]} "
                f"argument(s) after the key, got {list(self.args)}"
            )
        if self.invoked < 0:
            raise ValueError(f"operation {self.id}: invoked at negative time {self.invoked}")
        if self.completed is None:
            if self.outcome is not Outcome.UNKNOWN:
                raise ValueError(
                    f"operation {self.id}: an {self.outcome.value} operation "
                    f"needs a completion time"
                )
        elif self.completed < self.invoked:
            raise ValueError(
                f"operation {self.id}: completed at {self.completed} "
                f"before it was invoked at {self.invoked}"
            )

    def describe(self) -> str:
        """The operation and its result in a few words: "get x -> 1", "cas x 1 2 -> failed"."""
        text = self.command
        if self.outcome is Outcome.FAIL:
            return f"{text} (failed: no effect)"
        if self.outcome is Outcome.UNKNOWN:
            return f"{text} (outcome unknown)"
        if self.kind == "get":
            return f"{text} -> {'nil' if self.value is None else self.value}"
        if self.kind == "cas":
            return f"{text} -> {'ok' if self.value else 'failed'}"
        if self.kind == "del" and self.value is not None:
            return f"{text} -> {'ok' if self.value else 'nil'}"
        return text

    @property
    def command(self) -> str:
        """The KV command, as the state machine reads it: e.g. "cas x 1 2"."""
        return " ".join((self.kind, self.key, *self.args))

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "client": self.client,
            "kind": self.kind,
            "key": self.key,
            "args": list(self.args),
            "invoked": self.invoked,
            "completed": self.completed,
            "outcome": self.outcome.value,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Operation:
        """The operation `to_dict` described; raises ValueError if it is malformed."""
        try:
            return cls(**data)  # type: ignore[arg-type]
        except TypeError as error:
            raise ValueError(f"bad operation {data!r}: {error}") from None


@attrs.frozen
class History:
    """A finished client history: operations in the order they were invoked."""

    operations: tuple[Operation, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[int] = set()
        for op in self.operations:
            if op.id in seen:
                raise ValueError(f"operation id {op.id} appears twice")
            seen.add(op.id)

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def keys(self) -> list[str]:
        """The keys operated on, in order of first use."""
        return list(dict.fromkeys(op.key for op in self.operations))

    def by_key(self) -> dict[str, list[Operation]]:
        """Each key's operations, keys in order of first use."""
        groups: dict[str, list[Operation]] = {}
        for op in self.operations:
            groups.setdefault(op.key, []).append(op)
        return groups

    def to_json(self, indent: int | None = None) -> str:
        """The history as JSON text (see `from_json`)."""
        return json.dumps(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "operations": [op.to_dict() for op in self.operations],
            },
            indent=indent,
        )

    @classmethod
    def from_json(cls, text: str) -> History:
        """Read a history written by `to_json`; raises ValueError if it is malformed."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not JSON: {error}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported {FORMAT} version {data.get('version')!r}")
        items = data.get("operations")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ValueError("'operations' must be a list of objects")
        return cls(Operation.from_dict(item) for item in items)


@attrs.frozen(kw_only=True)
class _Pending:
    client: str
    kind: str
    key: str
    args: tuple[str, ...]
    invoked: int


class Recorder:
    """Records a history as clients run: `invoke`, then `ok`, `fail` or `unknown`.

    Operation ids are handed out in invocation order, from 0.
    """

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}
        self._done: dict[int, Operation] = {}
        self._next_id = 0

    def invoke(self, client: str, kind: str, key: str, *args: str, time: int) -> int:
        """A client starts an operation, e.g. `invoke("c1", "cas", "x", "1", "2", time=t)`.

        Returns the operation's id, for `ok`, `fail` or `unknown`.
        """
        op_id = self._next_id
        # Validate now, where the workload's mistake is, not when the history is taken.
        Operation(
            id=op_id,
            client=client,
            kind=kind,
            key=key,
            args=args,
            invoked=time,
            outcome=Outcome.UNKNOWN,
        )
        self._next_id += 1
        self._pending[op_id] = _Pending(client=client, kind=kind, key=key, args=args, invoked=time)
        return op_id

    def invoke_command(self, client: str, command: str, time: int) -> int:
        """`invoke` from a KV command string such as "set x 1"."""
        words = command.split()
        if len(words) < 2:
            raise ValueError(f"bad command {command!r}: expected an operation and a key")
        kind, key, *args = words
        return self.invoke(client, kind, key, *args, time=time)

    def ok(self, op_id: int, value: str | bool | None, time: int) -> None:
        """The operation took effect and returned `value` (see the module docstring)."""
        self._complete(op_id, Outcome.OK, time, value)

    def fail(self, op_id: int, time: int) -> None:
        """The operation definitely did not take effect."""
        self._complete(op_id, Outcome.FAIL, time, None)

    def unknown(self, op_id: int, time: int | None = None) -> None:
        """The client gave up at `time` without knowing whether the operation took effect."""
        self._complete(op_id, Outcome.UNKNOWN, time, None)

    def pending(self) -> list[int]:
        """Ids of operations invoked and not yet completed."""
        return list(self._pending)

    def history(self) -> History:
        """The history so far; operations still pending count as unknown."""
        ops = dict(self._done)
        for op_id, p in self._pending.items():
            ops[op_id] = Operation(
                id=op_id,
                client=p.client,
                kind=p.kind,
                key=p.key,
                args=p.args,
                invoked=p.invoked,
                outcome=Outcome.UNKNOWN,
            )
        return History(ops[op_id] for op_id in sorted(ops))

    def _complete(
        self, op_id: int, outcome: Outcome, time: int | None, value: str | bool | None
    ) -> None:
        p = self._pending.get(op_id)
        if p is None:
            state = "already completed" if op_id in self._done else "never invoked"
            raise ValueError(f"operation {op_id} was {state}")
        self._done[op_id] = Operation(
            id=op_id,
            client=p.client,
            kind=p.kind,
            key=p.key,
            args=p.args,
            invoked=p.invoked,
            completed=time,
            outcome=outcome,
            value=value,
        )
        del self._pending[op_id]


def reply_value(kind: str, reply: str) -> str | bool | None:
    """Translate a `KVStateMachine` reply into an ok operation's `value`.

    Raises ValueError for an error reply (the command was malformed).
    """
    if reply.startswith("error:"):
        raise ValueError(f"the state machine refused the command: {reply}")
    if kind == "get":
        return None if reply == NIL else reply
    if kind == "del":
        return reply == "ok"
    if kind == "cas":
        return reply == "ok"
    return None


# -- synthetic histories ------------------------------------------------------


def synthetic_history(
    rng: random.Random,
    *,
    operations: int = 1000,
    keys: int = 3,
    clients: int = 4,
    values: int = 5,
    kinds: Iterable[tuple[str, float]] = (
        ("get", 0.4),
        ("set", 0.25),
        ("append", 0.15),
        ("cas", 0.15),
        ("del", 0.05),
    ),
    unknown: float = 0.02,
    fail: float = 0.02,
    latency_us: tuple[int, int] = (100, 5_000),
    think_us: tuple[int, int] = (0, 2_000),
) -> History:
    """A random history that is linearizable by construction.

    Each client runs one operation at a time: it is invoked, takes effect at a
    random instant inside its interval, and completes. The effects are applied
    to a plain dict in the order of those instants, which gives each result, so
    the instants are a valid linearization. Values are small numbers (`values`
    of them), so different orders often give the same results and the checker
    has to search. With probability `unknown` an operation's client hears
    nothing (and the operation takes effect or not, at random); with
    probability `fail` it is refused and has no effect.
    """
    table = list(kinds)
    names = [k for k, _ in table]
    weights = [w for _, w in table]
    key_names = [f"k{i}" for i in range(keys)]
    # (instant of effect, tie-break, client, invoked, completed, kind, key, args, fate)
    plans = []
    free_at = [0] * clients
    for n in range(operations):
        c = min(range(clients), key=lambda i: (free_at[i], i))
        invoked = free_at[c] + rng.randint(*think_us)
        completed = invoked + rng.randint(*latency_us)
        effect = rng.randint(invoked, completed)
        free_at[c] = completed + 1
        kind = rng.choices(names, weights)[0]
        key = rng.choice(key_names)
        if kind in ("set", "append"):
            args: tuple[str, ...] = (str(rng.randrange(values)),)
        elif kind == "cas":
            args = (str(rng.randrange(values)), str(rng.randrange(values)))
        else:
            args = ()
        roll = rng.random()
        fate = "unknown" if roll < unknown else "fail" if roll < unknown + fail else "ok"
        applied = fate == "ok" or (fate == "unknown" and rng.random() < 0.5)
        plans.append((effect, n, f"c{c + 1}", invoked, completed, kind, key, args, fate, applied))
    store: dict[str, str] = {}
    results: dict[int, str | bool | None] = {}
    for _effect, n, _c, _i, _done, kind, key, args, _fate, applied in sorted(plans):
        if applied:
            results[n] = _apply(store, kind, key, args)
    ops = []
    # Ids in invocation order, as a Recorder would hand them out.
    by_invocation = sorted(plans, key=lambda p: (p[3], p[1]))
    for op_id, (_e, n, client, invoked, completed, kind, key, args, fate, _a) in enumerate(
        by_invocation
    ):
        ops.append(
            Operation(
                id=op_id,
                client=client,
                kind=kind,
                key=key,
                args=args,
                invoked=invoked,
                completed=None if fate == "unknown" else completed,
                outcome=Outcome(fate),
                value=results[n] if fate == "ok" else None,
            )
        )
    return History(ops)


def _apply(store: dict[str, str], kind: str, key: str, args: tuple[str, ...]) -> str | bool | None:
    """Apply one operation to a plain dict; returns what an ok operation reports."""
    current = store.get(key)
    if kind == "get":
        return current
    if kind == "set":
        store[key] = args[0]
        return None
    if kind == "append":
        store[key] = (current or "") + args[0]
        return None
    if kind == "del":
        store.pop(key, None)
        return current is not None
    if current == args[0]:
        store[key] = args[1]
        return True
    return False
