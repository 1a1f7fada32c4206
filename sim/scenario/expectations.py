"""What `expect` lines check, read through the public Cluster API only.

An expectation compares one thing the cluster shows now with what the file
says. When they differ it raises `Unmet` with both sides written the way the
file writes them, so the learner can compare them at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from sim.scenario.conditions import Who, describe_leader, describe_violations, role_of
from sim.scenario.model import Unmet

if TYPE_CHECKING:
    from sim.scenario.context import RunContext
    from sim.views import NodeView


class Expectation:
    """One checkable claim about the cluster."""

    def check(self, run: RunContext) -> None:
        """Return if the claim holds; raise `Unmet(expected, actual)` if not."""
        raise NotImplementedError


@attrs.frozen
class LeaderIs(Expectation):
    """`expect leader NODE`, `expect leader exists`, `expect no leader`."""

    node: str | None  # None with exists=False: no leader
    exists: bool = False

    def check(self, run: RunContext) -> None:
        leader = run.cluster.leader
        if self.exists:
            ok, expected = leader is not None, "a leader"
        elif self.node is None:
            ok, expected = leader is None, "no leader"
        else:
            ok, expected = leader == self.node, f"leader {self.node}"
        if not ok:
            raise Unmet(expected, describe_leader(run.cluster))


@attrs.frozen
class PerNode(Expectation):
    """A value every node named by `who` must have (`all`: every running node)."""

    who: Who
    value: object
    label: str = ""

    def measure(self, view: NodeView) -> object:
        raise NotImplementedError

    def show(self, value: object) -> str:
        return str(value)

    def check(self, run: RunContext) -> None:
        cluster = run.cluster
        nodes = self.who.nodes(cluster)
        actual = {node: self.measure(cluster.nodes[node]) for node in nodes}
        if all(value == self.value for value in actual.values()):
            return
        expected = f"{self.label} {self.show(self.value)} on {self.who}"
        wrong = [node for node in nodes if actual[node] != self.value]
        shown = "; ".join(f"{node} {self.show(actual[node])}" for node in wrong)
        raise Unmet(expected, f"{self.label} {shown}" if wrong else "no running node")


@attrs.frozen
class TermIs(PerNode):
    label: str = "term"

    def measure(self, view: NodeView) -> object:
        return view.term


@attrs.frozen
class RoleIs(PerNode):
    label: str = "role"

    def measure(self, view: NodeView) -> object:
        return role_of(view)


@attrs.frozen
class CommitIs(PerNode):
    label: str = "commit index"

    def measure(self, view: NodeView) -> object:
        return view.commit_index


@attrs.frozen
class DurableIs(PerNode):
    label: str = "durable index"

    def measure(self, view: NodeView) -> object:
        return view.durable_index


@attrs.frozen
class SnapshotIs(PerNode):
    label: str = "snapshot index"

    def measure(self, view: NodeView) -> object:
        return view.snapshot_index


@attrs.frozen
class ValueIs(PerNode):
    """`expect value WHO KEY VALUE`: what the key-value store holds for KEY (`none`: absent)."""

    key: str = ""
    label: str = "value"

    def measure(self, view: NodeView) -> object:
        return view.data.get(self.key)

    def show(self, value: object) -> str:
        return f"{self.key}={'none' if value is None else value}"


@attrs.frozen
class VoteIs(PerNode):
    label: str = "vote"

    def measure(self, view: NodeView) -> object:
        return view.voted_for

    def show(self, value: object) -> str:
        return "none" if value is None else str(value)


def show_entries(entries: Sequence[tuple[int, str | None]]) -> str:
    """Entries the way `expect log` writes them: `1 1 4` or `1 2:"set x 2"`."""
    if not entries:
        return "empty"
    return " ".join(str(t) if c is None else f'{t}:"{c}"' for t, c in entries)


@attrs.frozen
class LogIs(PerNode):
    """`expect log WHO TERM...`: entry terms, and commands where the file gives them."""

    label: str = "log"

    def measure(self, view: NodeView) -> object:
        expected: tuple[tuple[int, str | None], ...] = self.value  # type: ignore[assignment]
        held = []
        for position, entry in enumerate(view.log):
            wanted = expected[position][1] if position < len(expected) else None
            # Compare commands only where the expectation names one.
            held.append((entry.term, entry.command if wanted is not None else None))
        return tuple(held)

    def show(self, value: object) -> str:
        return show_entries(value)  # type: ignore[arg-type]


@attrs.frozen
class AppliedIs(PerNode):
    """`expect applied WHO COMMAND...`: the client commands applied, in order."""

    label: str = "applied"

    def measure(self, view: NodeView) -> object:
        return tuple(command for _, command in view.applied)

    def show(self, value: object) -> str:
        commands: tuple[str, ...] = value  # type: ignore[assignment]
        return " ".join(f'"{c}"' for c in commands) if commands else "none"


@attrs.frozen
class MembersAre(PerNode):
    """`expect members WHO ID...`: the voters of the configuration the node uses."""

    label: str = "members"

    def measure(self, view: NodeView) -> object:
        return str(view.members)

    def show(self, value: object) -> str:
        return str(value)


@attrs.frozen
class HandleIs(Expectation):
    """`expect committed|refused|accepted NAME`, `expect outcome NAME X`, `expect result NAME X`."""

    name: str
    attribute: str
    value: object

    def check(self, run: RunContext) -> None:
        handle = run.handles[self.name]
        actual = getattr(handle, self.attribute)
        if actual == self.value:
            return
        if self.attribute == "accepted":
            expected = f"{self.name} accepted" if self.value else f"{self.name} refused"
            reason = getattr(handle, "reason", None)
            shown = "accepted" if actual else "refused" + (f" ({reason})" if reason else "")
            raise Unmet(expected, f"{self.name} {shown}")
        raise Unmet(f"{self.name} {self.attribute} {self.value}", f"{self.name} {actual}")


@attrs.frozen
class NoViolations(Expectation):
    """`expect no violations`: the safety checkers found nothing so far."""

    def check(self, run: RunContext) -> None:
        if run.cluster.violations:
            raise Unmet("no safety violation", describe_violations(run.cluster))


@attrs.frozen
class ViolationSeen(Expectation):
    """`expect violation "PROPERTY"`: a checker caught this property broken (bug demos)."""

    property: str

    def check(self, run: RunContext) -> None:
        if not any(v.property == self.property for v in run.cluster.violations):
            raise Unmet(f"a {self.property} violation", describe_violations(run.cluster))


@attrs.frozen
class Linearizable(Expectation):
    """`expect linearizable`: the story's client operations so far (its named submits
    and reads) form a linearizable history (sim/check/linearizability)."""

    def check(self, run: RunContext) -> None:
        from sim.check.handles import history_of
        from sim.check.linearizability import check
        from sim.scenario.reads import LogRead
        from sim.views import ReadHandle, SubmitHandle

        named = []
        for name, handle in run.handles.items():
            if isinstance(handle, LogRead):
                handle = handle.submission
            if isinstance(handle, SubmitHandle | ReadHandle):
                named.append((name, handle))
        result = check(history_of(named, run.cluster.now))
        if not result.ok:
            raise Unmet(
                f"the {len(named)} client operations so far are linearizable", result.explain()
            )
