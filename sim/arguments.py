"""What the front door accepts: every argument a user passes to `Cluster` is checked here.

A malformed argument is refused before anything changes, with a `ValueError`
that names the argument and shows what was given, so that a typo in a notebook
reads as one sentence and never as an OverflowError from deep in the engine.
Booleans are not numbers here and strings are not booleans: `drop=True` or
`pre_vote="no"` is a mistake, not a probability of 1 or a yes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from raft import KVStateMachine, LogEntry

# The longest stretch of simulated time any one call may ask for: one simulated
# day. Longer runs are meant as loops of shorter ones (and stay interruptible).
MAX_SECONDS = 86_400
# The most servers a cluster may have: far more than any lesson needs, and few
# enough that building the cluster stays instant.
MAX_NODES = 100


def seconds(value: object, what: str) -> int:
    """A duration in seconds (0 to MAX_SECONDS), in integer microseconds."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}")
    if not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"{what} must be between 0 and {MAX_SECONDS} seconds, got {value!r}")
    return round(value * 1_000_000)


def seconds_range(pair: object, what: str) -> tuple[int, int]:
    """A (low, high) pair of seconds, in integer microseconds."""
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        raise ValueError(f"{what} must be a (low, high) pair of seconds, got {pair!r}")
    low, high = seconds(pair[0], what), seconds(pair[1], what)
    if low > high:
        raise ValueError(f"{what}: low {pair[0]} is above high {pair[1]}")
    return low, high


def probability(value: object, what: str) -> float:
    """A probability, 0 to 1 (True is not 1: it is a mistake)."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or not 0 <= value <= 1
    ):
        raise ValueError(f"{what} must be a probability between 0 and 1, got {value!r}")
    return float(value)


def network(
    drop: object = None, duplicate: object = None, latency: object = None, reorder: object = None
) -> tuple[float | None, float | None, tuple[int, int] | None, bool | None]:
    """The settings `Cluster.set_network` takes, checked (None leaves one as it is);
    the latency range in integer microseconds."""
    return (
        None if drop is None else probability(drop, "drop"),
        None if duplicate is None else probability(duplicate, "duplicate"),
        None if latency is None else seconds_range(latency, "latency"),
        None if reorder is None else flag(reorder, "reorder"),
    )


def flag(value: object, what: str) -> bool:
    """True or False, and nothing that merely looks true ("no" is a non-empty string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


def count(value: object, what: str, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number from `minimum` (to `maximum`)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{what} must be at least {minimum}{upper}, got {value!r}")
    return value


def choice(value: object, what: str, choices: tuple[str, ...]) -> str:
    """One of `choices`."""
    if value not in choices:
        raise ValueError(f"{what} must be {' or '.join(map(repr, choices))}, got {value!r}")
    return value  # type: ignore[return-value]


def word(value: object, what: str) -> str:
    """A non-empty string with no whitespace (a node id, a key)."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(f"{what} must be a non-empty word without spaces, got {value!r}")
    return value


def words(values: object, what: str) -> list[str]:
    """A list of words (one string is a list of one)."""
    if isinstance(values, str):
        return [word(values, what)]
    if not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of names, got {values!r}")
    return [word(value, f"each of {what}") for value in values]


def initial_logs(logs: object, ids: list[str]) -> dict[str, list[LogEntry]]:
    """Logs already on disk, as in the paper's figures: {"n1": [1, 1, 4, (5, "set x 1")]}."""
    if not isinstance(logs, Mapping):
        raise ValueError(f"initial_logs must map node ids to lists of terms, got {logs!r}")
    result = {}
    for node_id, items in logs.items():
        if node_id not in ids:
            raise ValueError(f"initial_logs names unknown node {node_id!r}")
        if isinstance(items, str) or not isinstance(items, Iterable):
            raise ValueError(f"initial_logs[{node_id!r}] must be a list of terms, got {items!r}")
        entries, last_term = [], 0
        for index, item in enumerate(items, start=1):
            where = f"initial_logs[{node_id!r}] entry {index}"
            if isinstance(item, tuple) and len(item) == 2:
                term, command = item
            elif isinstance(item, tuple):
                raise ValueError(
                    f"{where}: expected a term or a (term, command) pair, got {item!r}"
                )
            else:
                term, command = item, f"set x{index} {index}"
            if not isinstance(term, int) or isinstance(term, bool) or term < 1 or term < last_term:
                raise ValueError(
                    f"{where}: terms must be positive and never decrease, got {term!r}"
                )
            if not isinstance(command, str):
                raise ValueError(f"{where}: a command must be a string, got {command!r}")
            KVStateMachine.parse(command)
            entries.append(LogEntry(index=index, term=term, command=command))
            last_term = term
        result[node_id] = entries
    return result
