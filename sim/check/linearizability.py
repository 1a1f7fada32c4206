"""Linearizability checking of a key-value client history.

Theory of operation. A history is linearizable if every operation can be
given one instant, between its invocation and its completion, at which it
takes effect, so that replaying the operations in the order of those
instants against a plain sequential key-value store gives every result the
clients saw (Herlihy & Wing, 1990). Equivalently: there is a total order of
the operations that respects real time (if A completed before B was invoked,
A comes first) and that the sequential model accepts.

- Per key (P-compositionality). Each operation touches one key, and a key's
  value depends only on that key's operations, so the history is
  linearizable if and only if each key's sub-history is. Each key is checked
  on its own, which turns one huge search into many small ones.
- Outcomes. A failed operation had no effect and is dropped. An operation
  with an unknown outcome may take effect at any instant after its
  invocation, or never: it has no completion, never constrains anything, and
  a solution need not place it at all. An unknown get tells nothing and is
  dropped too.
- Search (Wing & Gong, 1993, as improved by Lowe, 2017, and implemented by
  Porcupine). The key's invocations and completions sit in one list sorted by
  time. The operations that may go next are those invoked before the
  earliest completion of any operation not yet placed: scanning the list
  from the front up to the first completion finds them. The search places one
  (if the model accepts its result from the current value), removes its two
  entries from the list (dancing links, so undoing is O(1)), and goes on;
  when nothing can go next, it backtracks. Known operations are tried before
  unknown ones, so an unknown write that never happened costs nothing, and
  one that did is placed only where a later result needs it.
- Memoisation (Lowe). Two partial orders that placed the same set of
  operations and left the key with the same value have the same future. The
  search remembers every (set placed, value) pair it reached (the set as an
  integer bitset) and never explores one twice. Each new pair is one
  "state"; a budget on states bounds the work, and a key that exceeds it is
  reported as undecided ("gave up"), never as a verdict.
- Unknown operations make the search exponential in general (they stay
  candidates forever), so it prunes what cannot matter, each rule safe
  because an unknown operation is optional and never constrains another
  (see `_Search`): identical unknown operations go in invocation order; an
  unknown operation is not placed if its value is overwritten before
  anything reads it, or if no reader nearby could accept what it leaves;
  and a state with more unknown operations placed than an earlier one, and
  otherwise the same, is skipped.
- Explanation. On failure the search remembers the deepest point it reached:
  the longest order of operations that fits, the operation that could not
  come next there (the culprit: the unplaced operation that completes first),
  and every value the key held whenever the search tried the culprit and the
  model rejected it, with the operation that wrote that value. From these it
  writes plain sentences a student can read.

Equal times: A precedes B only if A completed strictly before B was invoked;
an operation invoked at the very microsecond another completed overlaps it.

The sequential model is the KV store of `raft/state_machine.py` plus append
(see `sim/check/history.py` for what each operation returns): set, get, del,
append (concatenate; an absent key counts as ""), and cas.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

import attrs

from sim.check.history import History, Operation, Outcome

DEFAULT_MAX_STATES = 1_000_000  # per key: about 3 to 10 s of CPython


class Verdict(enum.Enum):
    """What the checker concluded."""

    LINEARIZABLE = "linearizable"
    VIOLATION = "not linearizable"
    GAVE_UP = "gave up"


@attrs.frozen(kw_only=True)
class NotLinearizable:
    """Why one key's history has no linearization, for a student to read."""

    key: str
    culprit: Operation  # the operation that could not be placed
    prefix: tuple[Operation, ...]  # the longest order found that fits
    value: str | None  # the key's value after `prefix`
    # Every value the key held when the search tried the culprit and its result
    # did not fit, with the operation that wrote that value (None: never written).
    values_at_culprit: tuple[tuple[str | None, Operation | None], ...]
    involved: tuple[Operation, ...]  # the operations the sentences name
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        """The explanation as one paragraph."""
        return " ".join(self.sentences)

    def __str__(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class KeyResult:
    """The verdict for one key."""

    key: str
    verdict: Verdict
    operations: int  # operations on the key (failed ones included)
    states: int  # search states explored
    # When linearizable: one order that works (unknown operations it did not need are left out).
    linearization: tuple[Operation, ...] = ()
    violation: NotLinearizable | None = None

    @property
    def ok(self) -> bool:
        """True if the key's history is linearizable."""
        return self.verdict is Verdict.LINEARIZABLE

    def explain(self) -> str:
        """A paragraph a student can read."""
        if self.verdict is Verdict.LINEARIZABLE:
            return (
                f"Key {self.key!r} is linearizable: its {self.operations} operations have an "
                f"order that fits real time and every result ({self.states} states explored)."
            )
        if self.violation is not None:
            return self.violation.text
        return (
            f"Gave up on key {self.key!r} after {self.states:,} states without deciding: its "
            f"{self.operations} operations allow too many orders for the budget. The history "
            f"may or may not be linearizable; raise max_states or check a shorter history."
        )


@attrs.frozen(kw_only=True)
class CheckResult:
    """The verdict for a whole history: one `KeyResult` per key."""

    verdict: Verdict
    keys: tuple[KeyResult, ...]
    max_states: int

    @property
    def ok(self) -> bool:
        """True if the history is linearizable (False for a violation or when gave up)."""
        return self.verdict is Verdict.LINEARIZABLE

    @property
    def violations(self) -> tuple[NotLinearizable, ...]:
        """The explanation for every key that is not linearizable."""
        return tuple(k.violation for k in self.keys if k.violation is not None)

    @property
    def states(self) -> int:
        """Search states explored over all keys."""
        return sum(k.states for k in self.keys)

    @property
    def operations(self) -> int:
        """Operations in the history."""
        return sum(k.operations for k in self.keys)

    def explain(self) -> str:
        """Plain sentences: the verdict, then each broken or undecided key."""
        n_keys = len(self.keys)
        if self.verdict is Verdict.LINEARIZABLE:
            return (
                f"Linearizable: each of the {n_keys} keys ({self.operations} operations) has an "
                f"order that fits real time and every result ({self.states} states explored)."
            )
        lines = []
        if self.verdict is Verdict.VIOLATION:
            bad = [k.key for k in self.keys if k.violation is not None]
            lines.append(f"Not linearizable: {len(bad)} of {n_keys} keys have no valid order.")
        else:
            lines.append(
                f"Undecided: the search gave up on some keys after {self.max_states:,} states each."
            )
        lines += [k.explain() for k in self.keys if not k.ok]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def check(
    history: History | Iterable[Operation],
    *,
    max_states: int = DEFAULT_MAX_STATES,
    progress: Callable[[int, int], None] | None = None,
) -> CheckResult:
    """Check a history for linearizability, key by key.

    `max_states` bounds the search on each key; a key that needs more is
    reported as GAVE_UP. `progress(keys_done, keys_total)` is called after
    each key. The verdict is VIOLATION if any key is not linearizable, else
    GAVE_UP if any key is undecided, else LINEARIZABLE.
    """
    groups: dict[str, list[Operation]] = {}
    for op in history:
        groups.setdefault(op.key, []).append(op)
    results = []
    for n, (key, ops) in enumerate(groups.items(), 1):
        results.append(check_key(key, ops, max_states=max_states))
        if progress is not None:
            progress(n, len(groups))
    verdicts = {r.verdict for r in results}
    verdict = (
        Verdict.VIOLATION
        if Verdict.VIOLATION in verdicts
        else Verdict.GAVE_UP
        if Verdict.GAVE_UP in verdicts
        else Verdict.LINEARIZABLE
    )
    return CheckResult(verdict=verdict, keys=tuple(results), max_states=max_states)


def check_key(
    key: str, operations: Iterable[Operation], *, max_states: int = DEFAULT_MAX_STATES
) -> KeyResult:
    """Check the operations on one key (all of `operations` must be on `key`)."""
    ops = list(operations)
    for op in ops:
        if op.key != key:
            raise ValueError(f"operation {op.id} is on key {op.key!r}, not {key!r}")
    search = _Search(ops, max_states)
    search.run()
    if search.verdict is Verdict.LINEARIZABLE:
        return KeyResult(
            key=key,
            verdict=search.verdict,
            operations=len(ops),
            states=search.states,
            linearization=tuple(search.ops[i] for i in search.order),
        )
    return KeyResult(
        key=key,
        verdict=search.verdict,
        operations=len(ops),
        states=search.states,
        violation=_explain(key, ops, search) if search.verdict is Verdict.VIOLATION else None,
    )


# -- the sequential model -----------------------------------------------------

# What the model does with one operation, by kind and result (see `_compile`).
_GET, _SET, _APPEND, _DEL, _DEL_FOUND, _DEL_MISSING, _CAS_OK, _CAS_FAILED = range(8)
_U_SET, _U_APPEND, _U_DEL, _U_CAS = range(8, 12)  # outcome unknown
_WRITES = frozenset({_SET, _APPEND, _DEL, _DEL_FOUND, _CAS_OK, _U_SET, _U_APPEND, _U_DEL, _U_CAS})
# Writes whose effect does not depend on the value before them.
_BLIND = frozenset({_SET, _DEL, _U_SET, _U_DEL})
# Operations that accept one exact value (a get, a successful cas, a del that found nothing).
_EXACT = frozenset({_GET, _CAS_OK, _DEL_MISSING})
_ANY = object()  # `_Search._readers`: nothing can be ruled out

_REJECT = object()  # the model does not accept the operation's result from this value


def _compile(op: Operation) -> tuple[int, object, object]:
    """(code, a, b): the operation as `_step` reads it."""
    kind, args = op.kind, op.args
    if op.outcome is Outcome.UNKNOWN:
        code = {"set": _U_SET, "append": _U_APPEND, "del": _U_DEL, "cas": _U_CAS}[kind]
        return code, args[0] if args else None, args[1] if len(args) > 1 else None
    if kind == "get":
        return _GET, op.value, None
    if kind == "set":
        return _SET, args[0], None
    if kind == "append":
        return _APPEND, args[0], None
    if kind == "del":
        code = _DEL if op.value is None else _DEL_FOUND if op.value else _DEL_MISSING
        return code, None, None
    return (_CAS_OK if op.value else _CAS_FAILED), args[0], args[1]


def _step(code: int, a, b, value: str | None):
    """The key's value after the operation, or _REJECT if its result does not fit `value`.

    An unknown operation that would change nothing is rejected too: leaving it
    out is the same and keeps the search smaller.
    """
    if code == _GET:
        return value if value == a else _REJECT
    if code == _SET:
        return a
    if code == _APPEND:
        return a if value is None else value + a
    if code == _CAS_OK:
        return b if value == a else _REJECT
    if code == _CAS_FAILED:
        return value if value != a else _REJECT
    if code == _DEL:
        return None
    if code == _DEL_FOUND:
        return None if value is not None else _REJECT
    if code == _DEL_MISSING:
        return None if value is None else _REJECT
    if code == _U_SET:
        return a if value != a else _REJECT
    if code == _U_APPEND:
        new = a if value is None else value + a
        return new if new != value else _REJECT
    if code == _U_DEL:
        return None if value is not None else _REJECT
    return b if value == a and a != b else _REJECT  # _U_CAS


# -- the search ---------------------------------------------------------------


class _Search:
    """Wing & Gong's search with Lowe's memo over one key's operations.

    Operations are numbered 0..n-1: the known ones (outcome ok) first, in
    invocation order, then the unknown ones. Known operation i has a call
    entry 2i and a return entry 2i + 1 in a doubly linked list sorted by time.
    Unknown operations have no return; they are grouped into classes of
    identical operations (same kind and arguments), each sorted by invocation.

    Four reductions keep unknown operations cheap, each safe because an
    unknown operation is optional and never constrains the others:

    - Identical unknown operations are interchangeable, so they are placed in
      invocation order: only the first unplaced one of a class is a candidate.
    - A blind write (set, or del with its result not observed), known or
      unknown, never directly follows an unknown operation: whatever that
      unknown operation did is overwritten, so it could as well be left out.
    - An unknown operation is placed only if some reader that may come next
      could accept the value it leaves, possibly after appends (see
      `_readers`).
    - A state that placed the same known operations and left the same value
      as an earlier one, with a superset of its unknown operations, can reach
      nothing new (see `_undominated`).
    """

    def __init__(self, operations: list[Operation], max_states: int) -> None:
        known = sorted(
            (op for op in operations if op.outcome is Outcome.OK), key=lambda o: o.invoked
        )
        unknown = sorted(
            (op for op in operations if op.outcome is Outcome.UNKNOWN and op.kind != "get"),
            key=lambda o: o.invoked,
        )
        self.ops: list[Operation] = known + unknown
        self.known = len(known)
        self.max_states = max_states
        self.verdict = Verdict.GAVE_UP
        self.states = 0
        self.order: list[int] = []  # the linearization found
        # Deepest dead end: the order placed, the value, and the operation that could not follow.
        self.best_depth = -1
        self.best_path: tuple | None = None
        self.best_value: str | None = None
        self.culprit = -1
        # For each operation that blocked a dead end: value -> writer, where its result did not fit.
        self.rejected: dict[int, dict[str | None, int]] = {}
        # Lowe's memo: every (known placed, value, unknown placed) reached, as
        # (low, rel, value, extra) (see `run`); and per (low, rel, value) the
        # first few unknown sets reached with it, for the dominance test.
        self.seen: set[tuple[int, int, str | None, int]] = set()
        self.frontier: dict[tuple[int, int, str | None], list[int]] = {}

    def run(self) -> None:
        """Search until a linearization is found, none can exist, or the budget runs out."""
        ops, nd = self.ops, self.known
        n = len(ops)
        compiled = [_compile(op) for op in ops]
        writes = [c[0] in _WRITES for c in compiled]
        blind = [c[0] in _BLIND for c in compiled]
        step = _step
        reject = _REJECT

        # The known operations' calls and returns, sorted by time; a call
        # sorts before a return at the same instant (they overlap).
        head, tail = 2 * nd, 2 * nd + 1
        nxt = [0] * (2 * nd + 2)
        prv = [0] * (2 * nd + 2)
        events = [(op.invoked, 0, i) for i, op in enumerate(ops[:nd])]
        events += [(op.completed, 1, i) for i, op in enumerate(ops[:nd])]
        events.sort()
        chain = [head, *(2 * i + kind for _, kind, i in events), tail]
        for x, y in zip(chain, chain[1:], strict=False):
            nxt[x], prv[y] = y, x
        returns_at = [op.completed for op in ops[:nd]]

        # Classes of identical unknown operations, in order of first invocation.
        members: dict[tuple, list[int]] = {}
        for u in range(nd, n):
            members.setdefault(compiled[u], []).append(u)
        classes = list(members.values())
        class_of = {u: c for c, group in enumerate(classes) for u in group}
        used = [0] * len(classes)  # how many of each class are placed
        invoked_at = [op.invoked for op in ops]
        unknown_bit = {u: 1 << (u - nd) for u in range(nd, n)}

        seen, frontier = self.seen, self.frontier
        max_states = self.max_states
        # The known operations placed, as `low` (every operation before it is
        # placed, it is not) and the bitset `rel` of those placed after it (bit
        # j for operation low + j). Operations are placed roughly in order, so
        # `rel` stays as small as the overlap, however long the history.
        low = rel = 0
        extra = 0  # bitset of the unknown operations placed: bit u - nd for u
        value: str | None = None
        writer = -1  # the operation that wrote `value`
        path = None  # the operations placed, newest first, as (op, rest) pairs
        after_unknown = False  # the last operation placed is unknown
        remaining = nd  # known operations not placed yet
        # (op, value, writer, path, low, rel, extra, blocker) before placing op;
        # blocker is -1 for a known op, else the unknown pass it was placed in.
        stack: list[tuple] = []
        states = 0
        entry = nxt[head]
        blocker = -1  # in the unknown pass: the known operation whose return ends it
        c = 0  # in the unknown pass: the next class to try
        while True:
            if remaining == 0:
                self.verdict = Verdict.LINEARIZABLE
                self.order = _unwind(path)
                break
            if blocker < 0:
                # Known operations that may go next: calls before the first return.
                if not entry & 1:
                    i = entry >> 1
                    if not (after_unknown and blind[i]):
                        code, a, b = compiled[i]
                        new = step(code, a, b, value)
                        if new is not reject:
                            if i == low:
                                # Slide past the run of placed operations that follows
                                # (bit 0 of rel, operation low itself, is always clear).
                                shifted = rel >> 1
                                skip = (~shifted & (shifted + 1)).bit_length() - 1
                                new_low, new_rel = low + 1 + skip, shifted >> skip
                            else:
                                new_low, new_rel = low, rel | (1 << (i - low))
                            memo = (new_low, new_rel, new, extra)
                            if memo not in seen and (
                                not extra or _undominated(frontier.get(memo[:3]), extra)
                            ):
                                states += 1
                                if states > max_states:
                                    break
                                _remember(seen, frontier, memo)
                                stack.append((i, value, writer, path, low, rel, extra, -1))
                                if writes[i]:
                                    writer = i
                                value, low, rel = new, new_low, new_rel
                                path = (i, path)
                                after_unknown = False
                                remaining -= 1
                                # Lift the call and the return out of the list.
                                r = entry + 1
                                nxt[prv[entry]] = nxt[entry]
                                prv[nxt[entry]] = prv[entry]
                                nxt[prv[r]] = nxt[r]
                                prv[nxt[r]] = prv[r]
                                entry = nxt[head]
                                continue
                    entry = nxt[entry]
                    continue
                # A return: nothing invoked after it may go before it. Try the unknowns.
                blocker = entry >> 1
                c = 0
            limit = returns_at[blocker]
            wanted = self._readers(value, compiled, nxt, head, classes, used) if classes else _ANY
            while c < len(classes):
                group = classes[c]
                if used[c] < len(group):
                    u = group[used[c]]
                    if invoked_at[u] <= limit and not (after_unknown and blind[u]):
                        code, a, b = compiled[u]
                        new = step(code, a, b, value)
                        if new is not reject and (
                            wanted is _ANY or new is None or _useful(new, wanted)
                        ):
                            memo = (low, rel, new, extra | unknown_bit[u])
                            if memo not in seen and _undominated(frontier.get(memo[:3]), memo[3]):
                                states += 1
                                if states > max_states:
                                    break
                                _remember(seen, frontier, memo)
                                stack.append((u, value, writer, path, low, rel, extra, blocker))
                                writer = u
                                value, extra = new, memo[3]
                                path = (u, path)
                                after_unknown = True
                                used[c] += 1
                                blocker = -1
                                entry = nxt[head]
                                break
                c += 1
            else:
                # Dead end: nothing can go next.
                self._dead_end(len(stack), path, blocker, value, writer, compiled[blocker])
                if not stack:
                    self.verdict = Verdict.VIOLATION
                    break
                i, value, writer, path, low, rel, extra, blocker = stack.pop()
                after_unknown = bool(stack) and stack[-1][0] >= nd
                if i < nd:
                    remaining += 1
                    r = 2 * i + 1
                    nxt[prv[r]] = r
                    prv[nxt[r]] = r
                    nxt[prv[r - 1]] = r - 1
                    prv[nxt[r - 1]] = r - 1
                    entry = nxt[r - 1]
                else:
                    c = class_of[i]
                    used[c] -= 1
                    c += 1
                continue
            if states > max_states:
                break
        self.states = min(states, max_states)

    def _readers(self, value, compiled, nxt, head, classes, used):
        """The values an unknown operation placed now may usefully leave, or _ANY.

        An unknown operation placed now is needed only if a later operation
        sees the difference. Follow the value it leaves: appends extend it and
        failed cases let it through, until the first operation that reads it
        exactly (a get, a successful cas, a del that found nothing, an
        unknown cas that applies) or replaces it (a blind write, a del that
        found the key). If that is an exact reader, the value left must be a
        prefix of the one it accepts. If not, leaving the operation out changes
        nothing unless one of the failed cases (or a del that found the key)
        on the way would then reject: that needs the current value to be a
        prefix of the cas's expected value (or the key to be absent).

        All of these operations come before the known replacer or exact
        reader that completes first, so only the list up to its return needs
        scanning. Returns the exact values accepted (None: absent), or _ANY
        when nothing can be ruled out.
        """
        wanted = []
        entry = nxt[head]
        while True:
            i = entry >> 1
            if i >= self.known:  # the tail: every known operation was scanned
                break
            code, a, _ = compiled[i]
            if not entry & 1:
                if code == _CAS_FAILED:
                    if value is None or a.startswith(value):
                        return _ANY
                elif code == _DEL_FOUND:
                    if value is None:
                        return _ANY
                elif code in _EXACT:
                    wanted.append(None if code == _DEL_MISSING else a)
            elif code != _APPEND and code != _CAS_FAILED:
                break  # the first replacer or exact reader to complete
            entry = nxt[entry]
        for c, group in enumerate(classes):
            if used[c] < len(group) and compiled[group[0]][0] == _U_CAS:
                wanted.append(compiled[group[0]][1])
        return tuple(wanted)

    @property
    def best_prefix(self) -> list[int]:
        """The operations placed at the deepest dead end, in order."""
        return _unwind(self.best_path)

    def _dead_end(self, depth: int, path, blocker: int, value, writer: int, compiled_blocker):
        if depth > self.best_depth:
            self.best_depth, self.best_path = depth, path
            self.best_value = value
            self.culprit = blocker
        if _step(*compiled_blocker, value) is _REJECT:
            values = self.rejected.setdefault(blocker, {})
            if len(values) < 8:
                values.setdefault(value, writer)

    def ever_placed(self, i: int) -> bool:
        """Whether some order the search explored placed known operation i."""
        return any(i < low or rel >> (i - low) & 1 for low, rel, _, _ in self.seen)


def _unwind(path) -> list[int]:
    """The operations of a path of (op, rest) pairs, oldest first."""
    order = []
    while path is not None:
        order.append(path[0])
        path = path[1]
    order.reverse()
    return order


def _useful(value: str, wanted: tuple[str | None, ...]) -> bool:
    """Whether appends to `value` could give one of the `wanted` values."""
    return any(w is not None and w.startswith(value) for w in wanted)


_FRONTIER_SIZE = 16  # unknown sets kept per (known placed, value) for the dominance test


def _remember(seen: set, frontier: dict, memo: tuple[int, int, str | None, int]) -> None:
    seen.add(memo)
    extras = frontier.get(memo[:3])
    if extras is None:
        frontier[memo[:3]] = [memo[3]]
    elif len(extras) < _FRONTIER_SIZE:
        extras.append(memo[3])


def _undominated(earlier: list[int] | None, extra: int) -> bool:
    """Whether no earlier state placed a subset of the unknown operations in `extra`.

    `earlier` holds the unknown sets of earlier states with the same known
    operations placed and the same value. Unknown operations are optional and
    never constrain the others, so a state that placed fewer of them can do
    everything this one can, and more: this one is redundant. (Only the first
    few sets are kept; beyond them the memo only catches exact repeats.)
    """
    if earlier is None:
        return True
    return all(other & ~extra for other in earlier)


# -- explanations -------------------------------------------------------------


def _seconds(us: int) -> str:
    text = f"{us / 1e6:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')} s"


def _value(v: str | None) -> str:
    if v is None:
        return "absent"
    return repr(v) if v == "" else v


def _holds(key: str, v: str | None) -> str:
    """The key holding v, as a noun phrase: "x = 2" or "x absent"."""
    return f"{key} absent" if v is None else f"{key} = {_value(v)}"


def _who(op: Operation) -> str:
    """The client and the operation's times."""
    if op.outcome is Outcome.UNKNOWN:
        return f"client {op.client}, invoked at {_seconds(op.invoked)}, outcome unknown"
    return f"client {op.client}, {_seconds(op.invoked)} to {_seconds(op.completed)}"


def _reported(op: Operation) -> str:
    """What a known operation that reads the key reported, e.g. "get x returned 1"."""
    if op.kind == "get":
        return f"get {op.key} returned {'nothing' if op.value is None else op.value}"
    if op.kind == "cas":
        return f"{op.command} {'succeeded' if op.value else 'failed'}"
    return f"del {op.key} {'found' if op.value else 'did not find'} {op.key}"


def _requirement(op: Operation) -> str:
    """What a known operation that reads the key needs it to hold, e.g. "x = 1"."""
    key = op.key
    if op.kind == "get":
        return _holds(key, op.value)
    if op.kind == "cas":
        return f"{key} = {op.args[0]}" if op.value else f"{key} other than {op.args[0]}"
    return f"{key} present" if op.value else f"{key} absent"


def _origin(
    key: str, v: str | None, writer: Operation | None, culprit: Operation, several: bool
) -> str:
    """Where value v came from, relative to the culprit (naming v if `several` are listed)."""
    if writer is None:
        return f"{key} is absent at first and nothing wrote it before"
    if writer.outcome is Outcome.UNKNOWN:
        return f"{_holds(key, v)} may have been left by {writer.command} ({_who(writer)})"
    if writer.completed < culprit.invoked:
        who = f"{writer.describe()} (client {writer.client})"
        if several:
            who = f"{_holds(key, v)} was left by {who}, which"
        return (
            f"{who} completed at "
            f"{_seconds(writer.completed)}, before this {culprit.kind} began at "
            f"{_seconds(culprit.invoked)}"
        )
    return f"{_holds(key, v)} was left by {writer.describe()} ({_who(writer)}), which overlaps it"


def _writes_value(op: Operation, v: str) -> bool:
    if op.outcome is Outcome.FAIL:
        return False
    if op.kind == "set":
        return op.args[0] == v
    if op.kind == "cas":
        return op.args[1] == v and op.value is not False
    return False


def _list(ops: list[Operation], limit: int = 6) -> str:
    shown = [f"{op.describe()} ({op.client})" for op in ops]
    if len(shown) > limit:
        shown = [f"... {len(shown) - limit + 1} earlier operations", *shown[-(limit - 1) :]]
    return ", ".join(shown)


def _explain(key: str, ops: list[Operation], search: _Search) -> NotLinearizable:
    """Sentences that say why no order of the key's operations works."""
    culprit = search.ops[search.culprit]
    prefix = [search.ops[i] for i in search.best_prefix]
    rejected = search.rejected.get(search.culprit, {})
    values = [(v, search.ops[w] if w >= 0 else None) for v, w in rejected.items()]
    involved: list[Operation] = [culprit]
    considered = sum(op.outcome is not Outcome.FAIL for op in ops)
    sentences = [
        f"Key {key!r} is not linearizable: no order of its {considered} operations "
        f"(failed ones aside) fits both real time and the results the clients saw."
    ]
    if prefix:
        sentences.append(
            f"The longest order found that fits places {len(prefix)} of them: "
            f"{_list(prefix)}; leaving {_holds(key, search.best_value)}."
        )
    else:
        sentences.append("Not even the first operation can be placed.")

    # The culprit reads the key (a write is never refused), and was refused
    # at the deepest dead end, so `values` is not empty.
    also_placed = search.ever_placed(search.culprit)
    found = " or ".join(_holds(key, v) for v, _ in values[:3])
    if len(values) > 3:
        found += f" (or {len(values) - 3} more values)"
    where = "where the search tried it," if also_placed else "every order that fits real time has"
    origins = []
    for v, writer in values[:3]:
        origins.append(_origin(key, v, writer, culprit, len(values) > 1))
        if writer is not None:
            involved.append(writer)
    sentences.append(
        f"{_reported(culprit)} ({_who(culprit)}), so it needs {_requirement(culprit)}, "
        f"but {where} {found} then: {'; '.join(origins)}."
    )
    if also_placed:
        others = [
            (search.ops[b], v, w)
            for b, found_values in sorted(search.rejected.items())
            if b != search.culprit
            for v, w in list(found_values.items())[:1]
        ][:2]
        detail = ""
        for op, v, w in others:
            left = f" (left by {search.ops[w].describe()}, client {search.ops[w].client})"
            detail += (
                f" {op.describe()} (client {op.client}) needs {_requirement(op)} but finds "
                f"{_holds(key, v)}{left if w >= 0 else ''}."
            )
        involved += [op for op, _, _ in others]
        sentences.append(
            f"Orders that let this {culprit.kind} take effect exist, but each of them breaks "
            f"another result later{':' if others else '.'}{detail}"
        )

    if culprit.kind == "get" and culprit.value is not None:
        v = culprit.value
        sources = [op for op in ops if _writes_value(op, v)]
        # Appends that could have left v: those whose argument ends it.
        appends = [
            op
            for op in ops
            if op.kind == "append" and op.outcome is not Outcome.FAIL and v.endswith(op.args[0])
        ]
        if not sources and not appends:
            sentences.append(f"No operation ever wrote {v} to {key}.")
        elif sources and not appends and all(s.invoked > culprit.completed for s in sources):
            first = min(sources, key=lambda s: s.invoked)
            involved.append(first)
            sentences.append(
                f"The only writes of {v} began after this get returned: {first.describe()} "
                f"(client {first.client}) was invoked at {_seconds(first.invoked)}."
            )
    return NotLinearizable(
        key=key,
        culprit=culprit,
        prefix=tuple(prefix),
        value=search.best_value,
        values_at_culprit=tuple(values),
        involved=tuple(dict.fromkeys(involved)),
        sentences=tuple(sentences),
    )
