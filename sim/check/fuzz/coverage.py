"""Coverage: which protocol situations a campaign reached, and how often.

Theory of operation: a campaign that finds nothing is worth only as much as
what it made happen. Raft's hard cases are rare on a calm network (a split
vote, a follower's log truncated, a leader removed by the change it commits),
so each seed counts the ones it reached, and the campaign shows them all in a
table: one that no seed reached is a blind spot, printed as such.

The counts come from raft's `Note` outputs, which name their decisions
with a kind ("truncate", "stale", "decline", ...) and say the rest in their
sentence. A fuzz run keeps no trace (campaign mode): a `Counter` watches the
world and hears the notes as they are made, only those of the kinds it names
(the nodes make no others), and the crashes. `scan` reads the same from a
trace's rows after a run. A note is first looked up by its kind, and only the
few that may matter are read further, their sentence written out then (a
commit's only when its node leads a term whose first entry it knows). A
situation that takes more than one note (a split vote: two candidates in a
term nobody won) keeps a little state while the notes go by.

`SITUATIONS` lists them all, in the order the table shows them, with the
words the table uses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from raft.outputs import sentence
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation
from sim.engine.trace import text_of

SITUATIONS: dict[str, str] = {
    "split-vote": "split vote (two or more candidates, no leader in the term)",
    "prevote-refused": "pre-vote refused: a leader is alive (thesis §9.6)",
    "vote-refused-log": "vote refused: candidate's log not up to date (§5.4.1)",
    "vote-ignored-leader-alive": "vote ignored: a leader is alive (thesis §4.2.3)",
    "stale-term-refused": "stale-term message refused (§5.1)",
    "step-down-higher-term": "leader stepped down on a higher term",
    "check-quorum-step-down": "leader stepped down: no quorum heard (CheckQuorum)",
    "consistency-reject": "AppendEntries rejected by the consistency check (§5.3)",
    "truncate": "follower log truncated (§5.3)",
    "old-term-declined": "old-term entry held back: not committed by counting (§5.4.2)",
    "old-term-committed-beneath": "earlier-term entry committed beneath a current-term one",
    "joint-committed": "joint configuration committed (§6)",
    "change-failed": "membership change failed",
    "leader-removed": "leader removed from the configuration, stepped down",
    "transfer-done": "leadership transfer: the target took over",
    "transfer-timed-out": "leadership transfer timed out",
    "snapshot-taken": "snapshot taken",
    "install-snapshot": "InstallSnapshot installed on a follower (§7)",
    "crash-lost-writes": "crash lost unflushed writes",
    "lease-read": "lease read served without a heartbeat round",
    "lease-lapsed": "lease read refused: lease lapsed, falls back to ReadIndex",
    "read-index-confirmed": "ReadIndex confirmed by a heartbeat round",
    "reads-failed": "pending reads failed: the leader stepped down",
    "client-unknown": "client operation left with an unknown outcome",
}

_TERM = re.compile(r"term (\d+)")
_FIRST_ENTRY = re.compile(r"as entry (\d+), the first of term")
_SPAN = re.compile(r"index(?:es)? (\d+)(?:\.\.(\d+))? acknowledged")


class _Scan:
    """One pass over one run's trace rows."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.candidates: dict[int, set[str]] = {}  # term -> who campaigned in it
        self.won: set[int] = set()  # terms with a leader
        self.leaders: set[str] = set()  # nodes leading now
        self.first_entry: dict[str, int] = {}  # leader -> index of its term's first entry
        self.told_to_take_over: set[str] = set()  # nodes sent TimeoutNow, not yet campaigning
        self.transfer_term: dict[str, int] = {}  # node -> term it campaigns in as a target

    def row(self, node: str, kind: str, told: Callable[[], str]) -> None:
        """One note of a kind in `_READ`; `told()` writes its sentence."""
        count = self.counts
        if kind in _PLAIN:  # kinds counted as they come
            count[_PLAIN[kind]] += 1
            return
        if kind == "commit":
            first = self.first_entry.get(node)
            match = _SPAN.search(told()) if first and node in self.leaders else None
            if match:
                low, high = int(match.group(1)), int(match.group(2) or match.group(1))
                if low < first <= high:  # type: ignore[operator]
                    count["old-term-committed-beneath"] += 1
            return
        if kind == "crash":
            self.crash(node, "unflushed writes lost: none" not in told())
            return
        text = told()
        if kind == "campaign":
            term = int(_TERM.search(text).group(1))  # type: ignore[union-attr]
            self.candidates.setdefault(term, set()).add(node)
            if node in self.told_to_take_over:
                self.told_to_take_over.discard(node)
                self.transfer_term[node] = term
        elif kind == "leader":
            if "becomes leader" in text:
                term = int(_TERM.search(text).group(1))  # type: ignore[union-attr]
                self.won.add(term)
                self.leaders.add(node)
                if self.transfer_term.pop(node, None) == term:
                    count["transfer-done"] += 1
            elif "the first of term" in text:
                self.first_entry[node] = int(_FIRST_ENTRY.search(text).group(1))  # type: ignore[union-attr]
            elif "stops leading" in text:
                self.leaders.discard(node)
        elif kind == "term":
            if node in self.leaders and "sees term" in text:
                count["step-down-higher-term"] += 1
        elif kind == "vote":
            if "§5.4.1" in text and "refuses" in text:
                count["vote-refused-log"] += 1
            elif "ignores RequestVote" in text:
                count["vote-ignored-leader-alive"] += 1
            elif "refuses pre-vote" in text and ("was heard" in text or "alive" in text):
                count["prevote-refused"] += 1
        elif kind == "membership":
            if "joint configuration committed" in text:
                count["joint-committed"] += 1
            elif "is not a voter" in text and "steps down" in text:
                count["leader-removed"] += 1
            elif "membership change failed" in text:
                count["change-failed"] += 1
        elif kind == "transfer":
            if "told by leader" in text:
                self.told_to_take_over.add(node)
            elif "timed out" in text:
                count["transfer-timed-out"] += 1
        elif kind == "snapshot":
            if " installs " in text:
                count["install-snapshot"] += 1
            elif " saves " in text:
                count["snapshot-taken"] += 1
        elif kind == "read":
            if "lapsed" in text:
                count["lease-lapsed"] += 1
            elif "no heartbeat round" in text:
                count["lease-read"] += 1
            elif "answered by" in text and "still leader" in text:
                count["read-index-confirmed"] += 1
            elif "pending read" in text:
                count["reads-failed"] += 1

    def crash(self, node: str, lost_writes: bool) -> None:
        self.leaders.discard(node)
        if lost_writes:
            self.counts["crash-lost-writes"] += 1

    def finish(self) -> Counter[str]:
        splits = sum(
            1 for term, who in self.candidates.items() if len(who) > 1 and term not in self.won
        )
        if splits:
            self.counts["split-vote"] += splits
        return self.counts


# Kinds whose every row is one situation.
_PLAIN = {
    "stale": "stale-term-refused",
    "check-quorum": "check-quorum-step-down",
    "reject": "consistency-reject",
    "truncate": "truncate",
    "decline": "old-term-declined",
}
_READ = frozenset(
    {"campaign", "leader", "term", "commit", "vote", "membership", "transfer"}
    | {"snapshot", "read", "crash", *_PLAIN}
)


def scan(rows: Iterable[Sequence]) -> dict[str, int]:
    """The situations one run's trace rows (TraceEvent field order) reached, with counts."""
    state = _Scan()
    wanted = _READ
    for row in rows:
        kind = row[4]
        if kind in wanted and row[3] != "Replicator":
            state.row(row[2], kind, lambda row=row: text_of(row))
    return dict(state.finish())


class Watch(Observer):
    """Counts the situations of one run as it goes, from the notes the nodes make.

    It needs no trace: the world makes the nodes keep the notes of the kinds in
    `note_kinds` for it. `counts()` gives what `scan` gives for the same run's
    trace: the crash the trace records as a row of its own comes through
    `on_crash`.
    """

    note_kinds = _READ - {"crash"}

    def __init__(self) -> None:
        self._scan = _Scan()

    def on_note(self, node_id: str, note: tuple, now: int) -> Sequence[Violation]:
        kind = note[1]
        if kind in _READ and note[0] != "Replicator":
            self._scan.row(node_id, kind, lambda: sentence(note[3], note[4], note[5:]))
        return NO_VIOLATIONS

    def on_crash(self, node_id: str, lost: Sequence[object], now: int) -> Sequence[Violation]:
        self._scan.crash(node_id, bool(lost))
        return NO_VIOLATIONS

    def counts(self) -> dict[str, int]:
        """The situations reached so far, with counts (call once, at the end)."""
        return dict(self._scan.finish())


def merge(per_seed: Iterable[Mapping[str, int]]) -> dict[str, tuple[int, int]]:
    """Per situation: (times reached, seeds that reached it), over many seeds."""
    times: Counter[str] = Counter()
    seeds: Counter[str] = Counter()
    for counts in per_seed:
        for name, n in counts.items():
            if n:
                times[name] += n
                seeds[name] += 1
    return {name: (times[name], seeds[name]) for name in SITUATIONS}
