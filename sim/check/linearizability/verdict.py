"""What the linearizability checker concludes, per key and for a whole history.

A `KeyResult` holds one key's verdict (and one order that works, or why none
does: a `NotLinearizable`, whose sentences `explanation` writes); a
`CheckResult` gathers the keys of a history. Each explains itself in plain
sentences.
"""

from __future__ import annotations

import enum

import attrs

from sim.check.history import Operation


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
