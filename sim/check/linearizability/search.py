"""The search for a linearization of one key's operations.

Wing & Gong's search with Lowe's memo, over a doubly linked list of calls
and returns, and the reductions that keep operations with an unknown outcome
cheap (see `Search`). The loop in `Search.run` is the checker's hot path: it
keeps what it uses in local variables, on purpose.
"""

from __future__ import annotations

from sim.check.history import Operation, Outcome
from sim.check.linearizability.model import (
    APPEND,
    BLIND,
    CAS_FAILED,
    CAS_OK,
    DEL,
    DEL_FOUND,
    DEL_MISSING,
    EXACT,
    GET,
    REJECT,
    SET,
    U_CAS,
    U_DEL,
    U_SET,
    WRITES,
    apply,
    compile_operation,
)
from sim.check.linearizability.verdict import Verdict

_ANY = object()  # `Search._readers`: nothing can be ruled out


class Search:
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

    And one rule prunes states with no future at all (`prune`, see `_Owed`):
    a write is not placed if it leaves a value from which some get still to
    be placed can no longer read what it returned. Appends only extend a
    value, so once no write that resets the key (a set, a del, a cas that
    applied) is left to place, a get that returned v needs the value to be a
    prefix of v now. Without this rule, a get that returned the empty key
    while a dozen appends overlapped it had the search try every order of the
    appends before placing the get first.
    """

    def __init__(self, operations: list[Operation], max_states: int, prune: bool = True) -> None:
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
        self.prune = prune
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
        compiled = [compile_operation(op) for op in ops]
        writes = [c[0] in WRITES for c in compiled]
        blind = [c[0] in BLIND for c in compiled]
        step = apply
        reject = REJECT

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
        owed = _Owed(compiled, nd) if self.prune else None
        if owed is not None and not owed.expected:
            owed = None  # no get to keep satisfiable: nothing to prune
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
                            if (
                                memo not in seen
                                and (not extra or _undominated(frontier.get(memo[:3]), extra))
                                and (owed is None or owed.place(i, new))
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
                            if (
                                memo not in seen
                                and _undominated(frontier.get(memo[:3]), memo[3])
                                and (owed is None or owed.place(u, new))
                            ):
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
                if owed is not None:
                    owed.unplace(i)
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
                if code == CAS_FAILED:
                    if value is None or a.startswith(value):
                        return _ANY
                elif code == DEL_FOUND:
                    if value is None:
                        return _ANY
                elif code in EXACT:
                    wanted.append(None if code == DEL_MISSING else a)
            elif code != APPEND and code != CAS_FAILED:
                break  # the first replacer or exact reader to complete
            entry = nxt[entry]
        for c, group in enumerate(classes):
            if used[c] < len(group) and compiled[group[0]][0] == U_CAS:
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
        if apply(*compiled_blocker, value) is REJECT:
            values = self.rejected.setdefault(blocker, {})
            if len(values) < 8:
                values.setdefault(value, writer)

    def ever_placed(self, i: int) -> bool:
        """Whether some order the search explored placed known operation i."""
        return any(i < low or rel >> (i - low) & 1 for low, rel, _, _ in self.seen)


class _Owed:
    """The gets still to be placed, and the writes that could still give them their value.

    A get (or a del that found nothing) that returned v is an exact reader of
    v: when it is placed, the key must hold v. A reset (a set, a del, a cas
    that applied, known or unknown) leaves a value of its own; an append
    extends the value it finds. So from value w, v can still be read if w
    extends to v by appends (w absent, or a prefix of v), or if some reset
    still to be placed leaves a value that does. `place` refuses a write
    that leaves no way to some reader's value; it counts, per value
    expected, the readers and the resets that could give it still unplaced.
    (A cas that applied is a reader too, but its own reset would count for
    it: left out, which only prunes less.)
    """

    def __init__(self, compiled: list[tuple], known: int) -> None:
        self.expected: list[str | None] = []  # the distinct values readers returned
        self.reader: list[int] = []  # per operation: its value's number, or -1
        index: dict[str | None, int] = {}
        for i, (code, a, _) in enumerate(compiled):
            k = -1
            if i < known and code in (GET, DEL_MISSING):
                wanted = a if code == GET else None
                if wanted not in index:
                    index[wanted] = len(self.expected)
                    self.expected.append(wanted)
                k = index[wanted]
            self.reader.append(k)
        self.pending = [0] * len(self.expected)
        for k in self.reader:
            if k >= 0:
                self.pending[k] += 1
        # Per operation: the expected values its reset could lead to.
        self.gives: list[tuple[int, ...]] = []
        for code, a, b in compiled:
            if code in _RESETS:
                left = b if code in (CAS_OK, U_CAS) else a if code in (SET, U_SET) else None
                self.gives.append(
                    tuple(k for k, v in enumerate(self.expected) if _extends(left, v))
                )
            else:
                self.gives.append(())
        self.writes = [code in WRITES for code, _, _ in compiled]
        self.producers = [0] * len(self.expected)
        for ks in self.gives:
            for k in ks:
                self.producers[k] += 1

    def place(self, i: int, value: str | None) -> bool:
        """Count operation i placed, leaving `value`; False, counting nothing, at a dead end."""
        k = self.reader[i]
        if k >= 0:
            self.pending[k] -= 1  # a reader changes no value: no reader can be hurt
            return True
        if not self.writes[i]:
            return True  # a failed cas leaves the value as it was
        gives, producers = self.gives[i], self.producers
        for k in gives:
            producers[k] -= 1
        pending, expected = self.pending, self.expected
        for k in range(len(expected)):
            if pending[k] and not producers[k] and not _extends(value, expected[k]):
                for g in gives:
                    producers[g] += 1
                return False
        return True

    def unplace(self, i: int) -> None:
        """Undo `place(i, ...)` (backtracking)."""
        k = self.reader[i]
        if k >= 0:
            self.pending[k] += 1
        for k in self.gives[i]:
            self.producers[k] += 1


_RESETS = frozenset({SET, DEL, DEL_FOUND, CAS_OK, U_SET, U_DEL, U_CAS})


def _extends(value: str | None, wanted: str | None) -> bool:
    """Whether appends (none or more) to `value` could give `wanted`."""
    if wanted is None:
        return value is None
    return value is None or wanted.startswith(value)


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
