"""Why a key is not linearizable, in sentences a student can read.

`explain` starts from the deepest dead end the search reached: the longest
order that fits, the operation that could not come next (the culprit), and
the values the key held whenever the culprit was refused, each with the
operation that wrote it.
"""

from __future__ import annotations

from sim.check.history import Operation, Outcome
from sim.check.linearizability.search import Search
from sim.check.linearizability.verdict import NotLinearizable


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


def explain(key: str, ops: list[Operation], search: Search) -> NotLinearizable:
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
