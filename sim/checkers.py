"""Safety checkers, run incrementally as the world changes.

Theory of operation: a checker is told about each node after it handled an
input (`after_input`) and about each command a node applied (`on_applied`).
It keeps only what it needs to judge the next change, so checking costs work
proportional to what changed, never a rescan of history. What it finds is a
`Violation`; the world records it in the trace as an alarm and carries on, so
a learner can watch the damage.

This module holds the first two of the paper's Figure 3 properties; the rest
(Leader Append-Only, Log Matching, Leader Completeness, the Figure 2 rules)
arrive with issue #4 on the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from raft import Node, Role


@attrs.frozen(kw_only=True)
class Violation:
    """A broken safety property: which, when, where, and the values involved."""

    property: str
    time_us: int
    nodes: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"{self.property} violated at {self.time_us / 1e6:.6f}s: {self.text}"


class Checker:
    """Base class: override the hooks you need; return violations found."""

    name = "checker"

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        return ()

    def on_applied(
        self, node_id: str, index: int, term: int, command: str, now: int
    ) -> Sequence[Violation]:
        return ()


class ElectionSafety(Checker):
    """Figure 3: at most one leader can be elected in a given term, ever."""

    name = "Election Safety"

    def __init__(self) -> None:
        self._leaders: dict[int, str] = {}

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if node.role is not Role.LEADER:
            return ()
        known = self._leaders.setdefault(node.term, node.id)
        if known == node.id:
            return ()
        return [
            Violation(
                property=self.name,
                time_us=now,
                nodes=(known, node.id),
                text=f"{node.id} leads term {node.term}, which {known} already led",
            )
        ]


class StateMachineSafety(Checker):
    """Figure 3: no two nodes ever apply different commands at the same index."""

    name = "State Machine Safety"

    def __init__(self) -> None:
        self._applied: dict[int, tuple[int, str, str]] = {}

    def on_applied(
        self, node_id: str, index: int, term: int, command: str, now: int
    ) -> Sequence[Violation]:
        first = self._applied.setdefault(index, (term, command, node_id))
        if first[0] == term and first[1] == command:
            return ()
        return [
            Violation(
                property=self.name,
                time_us=now,
                nodes=(first[2], node_id),
                text=(
                    f"{node_id} applied {command!r} ({index}@{term}) but {first[2]} "
                    f"applied {first[1]!r} ({index}@{first[0]}) at the same index"
                ),
            )
        ]


def default_checkers() -> list[Checker]:
    """The checkers every world runs."""
    return [ElectionSafety(), StateMachineSafety()]
