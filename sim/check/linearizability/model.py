"""The sequential model the search replays: a key-value store, one key at a time.

The store of `raft/state_machine.py` plus append (see `sim/check/history.py`
for what each operation returns). Each operation is compiled once into a
`(code, a, b)` triple, so that the search's inner loop applies it with a few
integer comparisons (`apply`) and never looks at an `Operation` again.
"""

from __future__ import annotations

from sim.check.history import Operation, Outcome

# What the model does with one operation, by kind and result (see `compile_operation`).
GET, SET, APPEND, DEL, DEL_FOUND, DEL_MISSING, CAS_OK, CAS_FAILED = range(8)
U_SET, U_APPEND, U_DEL, U_CAS = range(8, 12)  # outcome unknown
WRITES = frozenset({SET, APPEND, DEL, DEL_FOUND, CAS_OK, U_SET, U_APPEND, U_DEL, U_CAS})
# Writes whose effect does not depend on the value before them.
BLIND = frozenset({SET, DEL, U_SET, U_DEL})
# Operations that accept one exact value (a get, a successful cas, a del that found nothing).
EXACT = frozenset({GET, CAS_OK, DEL_MISSING})

REJECT = object()  # the model does not accept the operation's result from this value


def compile_operation(op: Operation) -> tuple[int, object, object]:
    """(code, a, b): the operation as `apply` reads it."""
    kind, args = op.kind, op.args
    if op.outcome is Outcome.UNKNOWN:
        code = {"set": U_SET, "append": U_APPEND, "del": U_DEL, "cas": U_CAS}[kind]
        return code, args[0] if args else None, args[1] if len(args) > 1 else None
    if kind == "get":
        return GET, op.value, None
    if kind == "set":
        return SET, args[0], None
    if kind == "append":
        return APPEND, args[0], None
    if kind == "del":
        code = DEL if op.value is None else DEL_FOUND if op.value else DEL_MISSING
        return code, None, None
    return (CAS_OK if op.value else CAS_FAILED), args[0], args[1]


def apply(code: int, a, b, value: str | None):
    """The key's value after the operation, or REJECT if its result does not fit `value`.

    An unknown operation that would change nothing is rejected too: leaving it
    out is the same and keeps the search smaller.
    """
    if code == GET:
        return value if value == a else REJECT
    if code == SET:
        return a
    if code == APPEND:
        return a if value is None else value + a
    if code == CAS_OK:
        return b if value == a else REJECT
    if code == CAS_FAILED:
        return value if value != a else REJECT
    if code == DEL:
        return None
    if code == DEL_FOUND:
        return None if value is not None else REJECT
    if code == DEL_MISSING:
        return None if value is None else REJECT
    if code == U_SET:
        return a if value != a else REJECT
    if code == U_APPEND:
        new = a if value is None else value + a
        return new if new != value else REJECT
    if code == U_DEL:
        return None if value is not None else REJECT
    return b if value == a and a != b else REJECT  # U_CAS
