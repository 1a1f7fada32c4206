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
    DEL_FOUND,
    DEL_MISSING,
    EXACT,
    REJECT,
    U_CAS,
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
