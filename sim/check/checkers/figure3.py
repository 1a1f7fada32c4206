"""The five properties of the Raft paper's Figure 3, each checked as the world changes.

Each checker keeps the least it needs to judge the next change:

- Election Safety: the leader of each term.
- Leader Append-Only: each leader's last entry after its previous input.
- Log Matching: for each (index, term) the first entry seen there and the term
  of the entry before it. If every copy of (i, t) has the same entry and the
  same previous term, then by induction on i two logs holding (i, t) agree on
  everything up to i, which is the property (Raft §5.3).
- Leader Completeness: per term, the newest entry its leader committed. With
  Log Matching checked, a leader holding the newest entry committed before its
  term holds all of them (committed entries form one prefix).
- State Machine Safety: the command applied at each index.

What snapshots have compacted on every disk can no longer be appended or
applied again, so Log Matching and State Machine Safety forget it.
"""

from __future__ import annotations

from collections.abc import Sequence

from raft import AppendLog, LogEntry, Node, Role, SaveSnapshot, TruncateLog, Write
from sim.check.checkers.base import NO_VIOLATIONS, Checker, Violation, compaction_horizon
from sim.engine.deep_copy import declare

LEADER = Role.LEADER

# How many more indexes a checker remembers before it asks the disks what it may forget.
FORGET_EVERY = 1024


class ElectionSafety(Checker):
    """Figure 3: at most one leader can be elected in a given term, ever."""

    name = "Election Safety"

    def __init__(self) -> None:
        self._leaders: dict[int, str] = {}
        self._reported: set[tuple[int, str]] = set()

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if node.role is not LEADER:
            return NO_VIOLATIONS
        known = self._leaders.setdefault(node.term, node.id)
        if known == node.id or (node.term, node.id) in self._reported:
            return NO_VIOLATIONS
        self._reported.add((node.term, node.id))
        return self.violation(
            now, (known, node.id), f"{node.id} leads term {node.term}, which {known} already led"
        )


class LeaderAppendOnly(Checker):
    """Figure 3: a leader never overwrites or deletes entries in its log during its term."""

    name = "Leader Append-Only"

    def __init__(self) -> None:
        # node -> (term, last index, term of that entry) after its last input as leader
        self._tips: dict[str, tuple[int, int, int]] = {}

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        if node.role is not LEADER:
            return NO_VIOLATIONS
        log = node.log
        last = log.last_index
        tip = self._tips.get(node.id)
        self._tips[node.id] = (node.term, last, log.last_term)
        if tip is None or tip[0] != node.term:
            return NO_VIOLATIONS
        _, before, before_term = tip
        if last < before:
            return self.violation(
                now,
                (node.id,),
                f"{node.id}, leader of term {node.term}, deleted entries {last + 1}..{before} "
                "of its own log: a leader only appends (Raft §5.3)",
            )
        now_term = log.term_at(before)
        if now_term is not None and now_term != before_term:
            return self.violation(
                now,
                (node.id,),
                f"{node.id}, leader of term {node.term}, overwrote its entry {before} "
                f"(term {before_term}, now term {now_term}): a leader only appends (Raft §5.3)",
            )
        return NO_VIOLATIONS

    def on_write(self, node: Node, write: Write, now: int) -> Sequence[Violation]:
        kind = type(write)
        if node.role is not LEADER:
            return NO_VIOLATIONS
        if kind is TruncateLog:
            what = f"deletes its entries from {write.from_index} on"
        elif kind is SaveSnapshot and write.discard_log:
            what = "discards its whole log for a snapshot"
        else:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id,),
            f"{node.id}, leader of term {node.term}, {what}: a leader only appends (Raft §5.3)",
        )


class LogMatching(Checker):
    """Figure 3: two logs with an entry of the same index and term agree up to it."""

    name = "Log Matching"

    def __init__(self) -> None:
        # (index, term) -> (the entry first seen there, the term before it, who held it).
        # Flat, with immutable keys and values: time travel copies it at C speed.
        self._seen: dict[tuple[int, int], tuple[LogEntry, int | None, str]] = {}
        self._booted: set[str] = set()
        self._floor = 0  # indexes up to here are forgotten (compacted on every disk)
        self._forget_at = FORGET_EVERY

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        # A node's first log is given, not appended (initial logs): learn it once.
        # After a restart the log is what the node appended before, already seen.
        if node.id in self._booted:
            return NO_VIOLATIONS
        self._booted.add(node.id)
        log = node.log
        return self._learn(node.id, log.entries(), log.term_at(log.snapshot_index), now)

    def on_write(self, node: Node, write: Write, now: int) -> Sequence[Violation]:
        if type(write) is not AppendLog:
            return NO_VIOLATIONS
        entries = write.entries
        first = entries[0]
        log = node.log
        # The log now is the log after this input; if the entry was replaced since
        # (never within one input today), its predecessor is unknown.
        before = log.term_at(first.index - 1) if log.term_at(first.index) == first.term else None
        return self._learn(node.id, entries, before, now)

    def _learn(
        self, node_id: str, entries: Sequence[LogEntry], before: int | None, now: int
    ) -> Sequence[Violation]:
        found: list[Violation] = []
        seen, floor = self._seen, self._floor
        for entry in entries:
            index = entry.index
            if index > floor:
                key = (index, entry.term)
                first = seen.get(key)
                if first is None:
                    seen[key] = (entry, before, node_id)
                elif first[0] is not entry and first[0] != entry:
                    found += self._differs(node_id, entry, first, now)
                elif before is not None and first[1] != before:
                    if first[1] is None:
                        seen[key] = (first[0], before, first[2])
                    else:
                        found += self._follows(node_id, entry, before, first, now)
            before = entry.term
        if len(seen) >= self._forget_at:
            self._forget()
        return found

    def _differs(self, node_id, entry, first, now) -> list[Violation]:
        return self.violation(
            now,
            (first[2], node_id),
            f"{node_id} holds entry {entry.describe()} but {first[2]} holds "
            f"{first[0].describe()}: one index and term must name one entry (Raft §5.3)",
        )

    def _follows(self, node_id, entry, before, first, now) -> list[Violation]:
        at = f"{entry.index}@{entry.term}"
        return self.violation(
            now,
            (first[2], node_id),
            f"{node_id} appended entry {at} after an entry of term {before}, but {first[2]} "
            f"holds {at} after an entry of term {first[1]}: logs that share an entry must "
            "agree on everything before it (Raft §5.3)",
        )

    def _forget(self) -> None:
        horizon = compaction_horizon(self.world)
        if horizon > self._floor:
            seen = self._seen
            for key in [key for key in seen if key[0] <= horizon]:
                del seen[key]
            self._floor = horizon
        self._forget_at = len(self._seen) + FORGET_EVERY


# Time travel's checkpoints copy these tables without looking inside (sim/engine/deep_copy.py).
declare(LogMatching, "_seen")


class LeaderCompleteness(Checker):
    """Figure 3: an entry committed in a term is in the log of every leader of a later term."""

    name = "Leader Completeness"

    def __init__(self) -> None:
        # leader's term -> (highest index it committed, that entry's term)
        self._newest: dict[int, tuple[int, int]] = {}
        # node -> [term, commit index] after its last input, while it leads
        self._leading: dict[str, list[int]] = {}

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        leading = self._leading
        if node.role is not LEADER:
            if node.id in leading:
                del leading[node.id]
            return NO_VIOLATIONS
        seen = leading.get(node.id)
        if seen is None or seen[0] != node.term:
            leading[node.id] = [node.term, node.commit_index]
            return self._check_new_leader(node, now)
        commit = node.commit_index
        if commit <= seen[1]:
            return NO_VIOLATIONS
        seen[1] = commit
        return self._record_commit(node, commit, now)

    def _check_new_leader(self, node: Node, now: int) -> Sequence[Violation]:
        earlier = [
            (index, term, by) for by, (index, term) in self._newest.items() if by < node.term
        ]
        if not earlier:
            return NO_VIOLATIONS
        index, term, by = max(earlier)
        lacks = self._lacks(node, index, term)
        if lacks is None:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (node.id,),
            f"{node.id} leads term {node.term} without entry {index}@{term}, which the leader "
            f"of term {by} committed ({lacks}): a leader must hold every entry committed "
            "before its term (Raft §5.4)",
        )

    def _record_commit(self, node: Node, commit: int, now: int) -> Sequence[Violation]:
        term = node.log.term_at(commit)
        if term is None:
            return NO_VIOLATIONS
        newest = self._newest.get(node.term)
        if newest is None or commit > newest[0]:
            self._newest[node.term] = (commit, term)
        found: list[Violation] = []
        world = self.world
        for other_id, (other_term, _) in self._leading.items():
            if other_term <= node.term or not world.running[other_id]:
                continue
            lacks = self._lacks(world.nodes[other_id], commit, term)
            if lacks is not None:
                found += self.violation(
                    now,
                    (node.id, other_id),
                    f"{node.id}, leader of term {node.term}, committed entry {commit}@{term}, "
                    f"but {other_id}, leader of the later term {other_term}, lacks it ({lacks}): "
                    "a leader must hold every entry committed before its term (Raft §5.4)",
                )
        return found

    @staticmethod
    def _lacks(node: Node, index: int, term: int) -> str | None:
        """Why `node`'s log lacks entry (index, term), or None if it holds it."""
        log = node.log
        held = log.term_at(index)
        if held == term or (held is None and index < log.snapshot_index):
            return None  # held, or inside its snapshot (which holds only committed entries)
        if held is None:
            return f"its log ends at {log.last_index}"
        return f"its entry {index} has term {held}"


class StateMachineSafety(Checker):
    """Figure 3: no two nodes ever apply different commands at the same index."""

    name = "State Machine Safety"

    def __init__(self) -> None:
        self._applied: dict[int, tuple[int, str, str]] = {}
        self._floor = 0  # indexes up to here are forgotten (compacted on every disk)
        self._forget_at = FORGET_EVERY

    def on_applied(
        self, node_id: str, index: int, term: int, command: str, now: int
    ) -> Sequence[Violation]:
        if index <= self._floor:
            return NO_VIOLATIONS
        first = self._applied.setdefault(index, (term, command, node_id))
        if len(self._applied) >= self._forget_at:
            self._forget()
        if first[0] == term and first[1] == command:
            return NO_VIOLATIONS
        return self.violation(
            now,
            (first[2], node_id),
            f"{node_id} applied {command!r} ({index}@{term}) but {first[2]} "
            f"applied {first[1]!r} ({index}@{first[0]}) at the same index",
        )

    def _forget(self) -> None:
        horizon = compaction_horizon(self.world)
        for index in range(self._floor + 1, horizon + 1):
            self._applied.pop(index, None)
        self._floor = max(self._floor, horizon)
        self._forget_at = len(self._applied) + FORGET_EVERY


declare(StateMachineSafety, "_applied")
