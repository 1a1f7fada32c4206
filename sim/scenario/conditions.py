"""Conditions that `run until` waits for, as predicates over the public Cluster API.

Each condition can say what it waits for (`describe`) and what the cluster
shows instead (`actual`), so a `run until` that times out reads like a failed
expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from sim.scenario.values import show_duration

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.context import RunContext
    from sim.views import NodeView


@attrs.frozen
class Who:
    """The nodes a condition or expectation is about.

    `ids` None means every running node ("all"); `at_least` K means "any K
    running nodes" (`on 3 nodes`); `members` means the members of the
    leader's configuration as it is at each moment (`on members`: voters,
    old voters while joint, and learners; every running node while there is
    no leader). A server removed by a membership change stops counting, as
    Raft promises it nothing more.
    """

    ids: tuple[str, ...] | None = None
    at_least: int | None = None
    members: bool = False

    def nodes(self, cluster: Cluster) -> list[str]:
        if self.ids is not None:
            return list(self.ids)
        leader = cluster.leader
        if self.members and leader is not None:
            return list(cluster.nodes[leader].members.members)
        return [node_id for node_id, view in cluster.nodes.items() if view.running]

    def __str__(self) -> str:
        if self.at_least is not None:
            return f"{self.at_least} nodes"
        if self.members:
            return "members"
        return "all" if self.ids is None else ",".join(self.ids)


class Condition:
    """Something `run until` can wait for."""

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        """A function of the cluster, bound at the start of the step."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def actual(self, run: RunContext) -> str:
        raise NotImplementedError


@attrs.frozen
class LeaderCondition(Condition):
    """`leader exists`, `leader NODE`, `no leader`, or `new leader` (not the one at the start)."""

    mode: str
    node: str | None = None

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        if self.mode == "exists":
            return lambda c: c.leader is not None
        if self.mode == "none":
            return lambda c: c.leader is None
        if self.mode == "new":
            before = run.cluster.leader
            return lambda c: c.leader is not None and c.leader != before
        return lambda c: c.leader == self.node

    def describe(self) -> str:
        return {
            "exists": "a leader",
            "none": "no leader",
            "new": "a new leader",
        }.get(self.mode, f"leader {self.node}")

    def actual(self, run: RunContext) -> str:
        return describe_leader(run.cluster)


def describe_leader(cluster: Cluster) -> str:
    leader = cluster.leader
    if leader is None:
        return "no leader"
    return f"leader {leader} (term {cluster.nodes[leader].term})"


PROGRESS = {
    "committed": ("commit index", lambda v: v.commit_index),
    "applied": ("last applied", lambda v: v.last_applied),
    "appended": ("last log index", lambda v: last_index(v)),
    "durable": ("durable index", lambda v: v.durable_index),
}


def last_index(view: NodeView) -> int:
    log = view.log
    return log[-1].index if log else 0


@attrs.frozen
class ProgressCondition(Condition):
    """`committed|applied|appended|durable INDEX on WHO`: an index reached on nodes."""

    kind: str
    index: int
    who: Who

    def _values(self, cluster: Cluster) -> dict[str, int]:
        measure = PROGRESS[self.kind][1]
        return {node: measure(cluster.nodes[node]) for node in self.who.nodes(cluster)}

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        index, at_least = self.index, self.who.at_least
        if at_least is not None:
            return lambda c: sum(v >= index for v in self._values(c).values()) >= at_least
        return lambda c: all(v >= index for v in self._values(c).values())

    def describe(self) -> str:
        return f"index {self.index} {self.kind} on {self.who}"

    def actual(self, run: RunContext) -> str:
        values = self._values(run.cluster)
        shown = ", ".join(f"{node} {value}" for node, value in values.items())
        return f"{PROGRESS[self.kind][0]}: {shown}"


@attrs.frozen
class TermCondition(Condition):
    """`term T` (some running node reaches it) or `term T on WHO` (each of them does)."""

    term: int
    who: Who | None = None

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        term, who = self.term, self.who
        if who is None:
            return lambda c: any(v.term >= term for v in c.nodes.values() if v.running)
        return lambda c: all(c.nodes[n].term >= term for n in who.nodes(c))

    def describe(self) -> str:
        return f"term {self.term}" + (f" on {self.who}" if self.who else "")

    def actual(self, run: RunContext) -> str:
        cluster = run.cluster
        nodes = self.who.nodes(cluster) if self.who else list(cluster.nodes)
        return "terms: " + ", ".join(f"{n} {cluster.nodes[n].term}" for n in nodes)


@attrs.frozen
class RoleCondition(Condition):
    """`role NODE ROLE`: the node is follower, candidate, leader, learner or down."""

    node: str
    role: str

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        return lambda c: role_of(c.nodes[self.node]) == self.role

    def describe(self) -> str:
        return f"{self.node} {self.role}"

    def actual(self, run: RunContext) -> str:
        return f"{self.node} {role_of(run.cluster.nodes[self.node])}"


def role_of(view: NodeView) -> str:
    return view.role if view.running else "down"


@attrs.frozen
class MembersCondition(Condition):
    """`members NODE... [learners=...] [on WHO]`: the nodes use this configuration."""

    configuration: str
    who: Who

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        return lambda c: all(
            str(c.nodes[n].members) == self.configuration for n in self.who.nodes(c)
        )

    def describe(self) -> str:
        return f"configuration {self.configuration} on {self.who}"

    def actual(self, run: RunContext) -> str:
        cluster = run.cluster
        return "; ".join(f"{n} {cluster.nodes[n].members}" for n in self.who.nodes(cluster))


@attrs.frozen
class QuietCondition(Condition):
    """`quiet DURATION`: no story event (anything but routine traffic) for that long.

    The runner waits for it by running the clock rather than by a predicate.
    """

    seconds: float

    def describe(self) -> str:
        return f"{show_duration(self.seconds)} without a story event"

    def actual(self, run: RunContext) -> str:
        return "events kept happening"


@attrs.frozen
class OutcomeCondition(Condition):
    """`committed NAME` (a submit) or `done NAME` (an admin request)."""

    name: str
    outcome: str

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        handle = run.handles[self.name]
        return lambda c: handle.outcome == self.outcome

    def describe(self) -> str:
        return f"{self.name} {self.outcome}"

    def actual(self, run: RunContext) -> str:
        return f"{self.name} {run.handles[self.name].outcome}"


@attrs.frozen
class ViolationCondition(Condition):
    """`violation` or `violation "PROPERTY"`: a safety checker found a violation."""

    property: str | None = None

    def predicate(self, run: RunContext) -> Callable[[Cluster], bool]:
        wanted = self.property
        return lambda c: any(wanted in (None, v.property) for v in c.violations)

    def describe(self) -> str:
        return f"a {self.property} violation" if self.property else "a safety violation"

    def actual(self, run: RunContext) -> str:
        return describe_violations(run.cluster)


def describe_violations(cluster: Cluster) -> str:
    found = cluster.violations
    if not found:
        return "no violation"
    return "; ".join(str(v) for v in found)
