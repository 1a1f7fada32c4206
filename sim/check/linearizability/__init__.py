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
  otherwise the same, is skipped. A write that leaves a value from which
  some get still to be placed can never read what it returned is not placed
  (appends only extend a value: a get that returned the empty key, overlapped
  by a dozen appends, no longer has the search try every order of them).
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

Where each part lives: `verdict` (what the checker concludes), `model` (the
sequential key-value store, compiled for the search), `search` (Wing & Gong
with Lowe's memo and the pruning of unknown operations) and `explanation`
(the sentences). This module holds the entry points, `check` and `check_key`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sim.check.history import History, Operation
from sim.check.linearizability.explanation import explain
from sim.check.linearizability.search import Search
from sim.check.linearizability.verdict import CheckResult, KeyResult, NotLinearizable, Verdict

__all__ = [
    "DEFAULT_MAX_STATES",
    "CheckResult",
    "KeyResult",
    "NotLinearizable",
    "Verdict",
    "check",
    "check_key",
]

DEFAULT_MAX_STATES = 1_000_000  # per key: about 3 to 10 s of CPython


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
    search = Search(ops, max_states)
    search.run()
    if search.verdict is Verdict.VIOLATION:
        # The pruned search skips dead ends it can tell apart early, so its deepest
        # dead end need not be the one a reader is best shown. The unpruned search
        # explains (it finds the same verdict, given the budget).
        full = Search(ops, max_states, prune=False)
        full.run()
        if full.verdict is Verdict.VIOLATION:
            search = full
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
        violation=explain(key, ops, search) if search.verdict is Verdict.VIOLATION else None,
    )
