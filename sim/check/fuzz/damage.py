"""What a broken consequence property lost, in one sentence, for people.

Theory of operation: a violation of one of Figure 3's properties names the
property and the nodes, and its text gives the index and the terms involved
(sim/check/checkers/figure3.py). The cluster as the run stopped tells the
rest: which command that entry carried, who applied it, who still holds it,
and what the others hold at that index instead. So a saved story can say
"index 2, 'set x 2' of term 2, committed by the leader of term 4 and applied
by n1, is not in the log of n5, leader of term 5, whose entry 2 is 'set x 3' of
term 3 (as on n2 and n3)" rather than only which property broke.

A `Witness` watches the run and writes the sentence the moment the first
violation is found, before later events blur the picture (the new leader
elected without an entry has not yet overwritten it on its followers). It
reads the violation's sentence, so a reworded checker message only loses the
sentence here (`lost` returns None), never the verdict.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence

from raft import LogEntry
from raft.log_entry import EntryKind
from sim.check.checkers.base import ids
from sim.cluster import Cluster
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation

_ENTRY = re.compile(r"entry (\d+)@(\d+)")
_LEADS = re.compile(r"leads? (?:of )?(?:the later )?term (\d+)")
_BY = re.compile(r"the leader of term (\d+)")
_FOLLOWS = re.compile(
    r"appended entry (\d+)@(\d+) after an entry of term (\d+), but (\S+) holds \S+ "
    r"after an entry of term (\d+)"
)
_APPLIED = re.compile(r"applied (.+?) \((\d+)@(\d+)\)")


class Witness(Observer):
    """Says what the run's first violation lost, as the cluster is when it is found."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.lost: str | None = None
        world = cluster._world  # a fuzz run never travels in time: its one world
        self._violations = world.violations  # the world's own list, read once per input
        world.observers = [*world.observers, self]

    def after_input(self, node: object, now: int) -> Sequence[Violation]:
        if self._violations:
            # The first violation only: the world stops calling after this one.
            world = self.cluster._world
            world.observers = [o for o in world.observers if o is not self]
            self.lost = lost(self._violations[0], self.cluster)
        return NO_VIOLATIONS


def lost(violation: Violation, cluster: Cluster) -> str | None:
    """What `violation` lost, as the cluster shows it now; None if there is nothing to add."""
    describe = _BY_PROPERTY.get(violation.property)
    if describe is None:
        return None
    try:
        return describe(violation, cluster)
    except (AttributeError, IndexError, ValueError, SyntaxError):
        return None  # a message worded otherwise: the violation's own text stands


def _entry_at(cluster: Cluster, node: str, index: int) -> LogEntry | None:
    for entry in cluster.nodes[node].log:
        if entry.index == index:
            return entry
    return None


def _what(entry: LogEntry) -> str:
    if entry.kind is EntryKind.DATA:
        return f"'{entry.command}'"
    if entry.kind is EntryKind.CONFIGURATION:
        return f"the configuration {entry.configuration}"
    return "a no-op"


def _find(cluster: Cluster, index: int, term: int) -> LogEntry | None:
    """The entry (index, term) from any node that still holds it."""
    for node in cluster.nodes:
        entry = _entry_at(cluster, node, index)
        if entry is not None and entry.term == term:
            return entry
    return None


def _applied(cluster: Cluster, index: int, entry: LogEntry | None) -> list[str]:
    """Nodes that applied `entry` at `index` (a command; other entries cannot be told)."""
    if entry is None or entry.kind is not EntryKind.DATA:
        return []
    return [node for node, view in cluster.nodes.items() if (index, entry.command) in view.applied]


def _first_int(pattern: re.Pattern[str], text: str) -> int:
    found = pattern.search(text)
    if found is None:
        raise ValueError(text)
    return int(found.group(1))


def _leader_completeness(violation: Violation, cluster: Cluster) -> str:
    text = violation.text
    found = _ENTRY.search(text)
    if found is None:
        raise ValueError(text)
    index, term = int(found.group(1)), int(found.group(2))
    leader = violation.nodes[-1]
    later = max(int(t) for t in _LEADS.findall(text))
    by = _first_int(_BY, text) if _BY.search(text) else cluster.nodes[violation.nodes[0]].term
    entry = _find(cluster, index, term)
    if entry is not None:
        shown, applied = f"{_what(entry)} of term {term}", _applied(cluster, index, entry)
    else:
        # Held nowhere any more. Whoever applied that index applied this entry:
        # two different commands applied there would have broken State Machine Safety.
        appliers = {
            command: node
            for node, view in cluster.nodes.items()
            for at, command in view.applied
            if at == index
        }
        applied = sorted(appliers.values(), key=list(cluster.nodes).index)
        command = next(iter(appliers), None)
        shown = (
            f"'{command}' of term {term}"
            if command
            else f"the entry of term {term} (no node holds it any more)"
        )
    sentence = f"index {index}, {shown}, committed by the leader of term {by}"
    if applied:
        sentence += f" and applied by {ids(applied)}"
    sentence += f", is not in the log of {leader}, leader of term {later}"
    instead = _entry_at(cluster, leader, index)
    if instead is None:
        return sentence + ", whose log ends before it"
    same = [
        node
        for node in cluster.nodes
        if node != leader and _entry_at(cluster, node, index) == instead
    ]
    sentence += f", whose entry {index} is {_what(instead)} of term {instead.term}"
    return sentence + (f" (as on {ids(same)})" if same else "")


def _state_machine_safety(violation: Violation, cluster: Cluster) -> str:
    told = _APPLIED.findall(violation.text)  # the later applier's command first
    index = int(told[0][1])
    by_command: dict[str, list[str]] = {}
    for node, view in cluster.nodes.items():
        for at, command in view.applied:
            if at == index:
                by_command.setdefault(command, []).append(node)
    parts = []
    for (shown, _, term), node in zip(reversed(told), violation.nodes, strict=True):
        command = ast.literal_eval(shown)
        parts.append(f"'{command}' of term {term} by {ids(by_command.get(command, [node]))}")
    return f"index {index} was applied as two different commands: {' and '.join(parts)}"


def _election_safety(violation: Violation, cluster: Cluster) -> str:
    term = _first_int(_LEADS, violation.text)
    first, second = violation.nodes
    return (
        f"term {term} had two leaders, {first} and then {second}: some server's one vote in "
        "that term counted for both, and each leader may commit entries the other overwrites"
    )


def _log_matching(violation: Violation, cluster: Cluster) -> str:
    follows = _FOLLOWS.search(violation.text)
    if follows is not None:
        index, term, before, other, other_before = follows.groups()
        node = violation.nodes[-1]
        return (
            f"entry {index} of term {term} sits on two different histories: after an entry "
            f"of term {before} on {node}, after one of term {other_before} on {other}"
        )
    found = _ENTRY.search(violation.text)
    if found is None:
        raise ValueError(violation.text)
    index, term = int(found.group(1)), int(found.group(2))
    holders: dict[str, list[str]] = {}
    for node in cluster.nodes:
        entry = _entry_at(cluster, node, index)
        if entry is not None and entry.term == term:
            holders.setdefault(_what(entry), []).append(node)
    if len(holders) < 2:
        raise ValueError("the two entries are no longer held")
    told = "; ".join(f"{what} on {ids(nodes)}" for what, nodes in holders.items())
    return f"index {index} of term {term} names two different entries: {told}"


_BY_PROPERTY: dict[str, Callable[[Violation, Cluster], str]] = {
    "Leader Completeness": _leader_completeness,
    "State Machine Safety": _state_machine_safety,
    "Election Safety": _election_safety,
    "Log Matching": _log_matching,
}
