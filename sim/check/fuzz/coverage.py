"""Coverage: which protocol situations a campaign reached, and how often.

Theory of operation: a campaign that finds nothing is worth only as much as
what it made happen. Raft's hard cases are rare on a calm network (a split
vote, a follower's log truncated, a leader removed by the change it commits),
so each seed counts the ones it reached, and the campaign shows them all in a
table: one that no seed reached is a blind spot, printed as such.

The counts come from raft's `Note` outputs. A note keeps its sentence as a
template and the template's arguments (raft/outputs.py), and the raft modules
name the templates a reader picks out (raft.TRUNCATES, ...). So a
note is looked up by its template, and the few that matter are read through
their arguments (a term, an index, a reason): no sentence is ever written
out, and a note reworded in raft is still found. A fuzz run keeps no trace
(campaign mode): a `Watch` hears the notes as they are made, only those of
the kinds it names (the nodes make no others), and the crashes. `scan` reads
the same from a trace's rows after a run. A situation that takes more than
one note (a split vote: two candidates in a term nobody won) keeps a little
state while the notes go by.

`SITUATIONS` lists them all, in the order the table shows them, with the
words the table uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from raft.ballot_box import COMMITTED_MANY, COMMITTED_ONE, DECLINES
from raft.election import IGNORES, LOG_BEHIND, REFUSES, TOLD_TO_TAKE_OVER
from raft.follower import LOG_ENDS_BEFORE, STALE, TERMS_DIFFER, TRUNCATES
from raft.leadership import FIRST_OF_TERM, NO_QUORUM_HEARD, NOT_A_VOTER, STOPS_LEADING
from raft.membership import CHANGE_ENDS, JOINT_COMMITTED
from raft.node import CAMPAIGNS, SEES_TERM, WON
from raft.read_only import FAILS_READS, LAPSED, LEASE_FALLS_BACK, LEASE_READ, ROUND_ANSWERED
from raft.snapshot_executor import INSTALLS, SAVES
from raft.transfer import TIMED_OUT
from sim.engine.observer import NO_VIOLATIONS, Observer, Violation
from sim.engine.world import CRASHES

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


class _Scan:
    """One pass over one run's notes (or trace rows), looked up by template."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.candidates: dict[int, set[str]] = {}  # term -> who campaigned in it
        self.won: set[int] = set()  # terms with a leader
        self.leaders: set[str] = set()  # nodes leading now
        self.first_entry: dict[str, int] = {}  # leader -> index of its term's first entry
        self.told_to_take_over: set[str] = set()  # nodes sent TimeoutNow, not yet campaigning
        self.transfer_term: dict[str, int] = {}  # node -> term it campaigns in as a target

    def note(self, node: str, template: str, args: tuple) -> None:
        """One note, or trace row, of `node`: its template and its arguments."""
        situation = _PLAIN.get(template)
        if situation is not None:
            self.counts[situation] += 1
            return
        rule = _RULES.get(template)
        if rule is not None:
            rule(self, node, args)

    def committed(self, node: str, args: tuple) -> None:
        # (first, last, ...): a leader's commit of a span across its term's first entry.
        first = self.first_entry.get(node)
        if first and node in self.leaders and args[0] < first <= args[1]:
            self.counts["old-term-committed-beneath"] += 1

    def crashed(self, node: str, args: tuple) -> None:
        self.crash(node, args[1] != "none")  # (node, the writes lost or "none", messages)

    def campaigns(self, node: str, args: tuple) -> None:
        term = args[0]
        self.candidates.setdefault(term, set()).add(node)
        if node in self.told_to_take_over:
            self.told_to_take_over.discard(node)
            self.transfer_term[node] = term

    def wins(self, node: str, args: tuple) -> None:
        term = args[0]
        self.won.add(term)
        self.leaders.add(node)
        if self.transfer_term.pop(node, None) == term:
            self.counts["transfer-done"] += 1

    def first_of_term(self, node: str, args: tuple) -> None:
        self.first_entry[node] = args[1]  # (configuration, index, term)

    def stops_leading(self, node: str, args: tuple) -> None:
        self.leaders.discard(node)

    def sees_term(self, node: str, args: tuple) -> None:
        if node in self.leaders:
            self.counts["step-down-higher-term"] += 1

    def refuses(self, node: str, args: tuple) -> None:
        kind, why = args[0], args[3]  # (vote or pre-vote, candidate, term, why)
        if why.endswith(LOG_BEHIND):
            self.counts["vote-refused-log"] += 1
        # A pre-vote refused for a leader alive: "we are the leader and alive", or "leader
        # n1 was heard 20 ms ago" (raft/election.py).
        elif kind == "pre-vote" and ("was heard" in why or "alive" in why):
            self.counts["prevote-refused"] += 1

    def change_ends(self, node: str, args: tuple) -> None:
        if args[0] == "failed":  # ("done" or "failed", why)
            self.counts["change-failed"] += 1

    def takes_over(self, node: str, args: tuple) -> None:
        self.told_to_take_over.add(node)

    def lease_falls_back(self, node: str, args: tuple) -> None:
        if args[1].endswith(LAPSED):  # (key, why): the lease lapsed, or a transfer is under way
            self.counts["lease-lapsed"] += 1

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


# Templates whose every note is one situation.
_PLAIN = {
    STALE: "stale-term-refused",
    NO_QUORUM_HEARD: "check-quorum-step-down",
    LOG_ENDS_BEFORE: "consistency-reject",
    TERMS_DIFFER: "consistency-reject",
    TRUNCATES: "truncate",
    DECLINES: "old-term-declined",
    IGNORES: "vote-ignored-leader-alive",
    NOT_A_VOTER: "leader-removed",
    JOINT_COMMITTED: "joint-committed",
    TIMED_OUT: "transfer-timed-out",
    SAVES: "snapshot-taken",
    INSTALLS: "install-snapshot",
    LEASE_READ: "lease-read",
    ROUND_ANSWERED: "read-index-confirmed",
    FAILS_READS: "reads-failed",
}
# Templates read further, by their arguments or with what came before.
_RULES: dict[str, Callable[[_Scan, str, tuple], None]] = {
    COMMITTED_ONE: _Scan.committed,
    COMMITTED_MANY: _Scan.committed,
    CRASHES: _Scan.crashed,
    CAMPAIGNS: _Scan.campaigns,
    WON: _Scan.wins,
    FIRST_OF_TERM: _Scan.first_of_term,
    STOPS_LEADING: _Scan.stops_leading,
    SEES_TERM: _Scan.sees_term,
    REFUSES: _Scan.refuses,
    CHANGE_ENDS: _Scan.change_ends,
    TOLD_TO_TAKE_OVER: _Scan.takes_over,
    LEASE_FALLS_BACK: _Scan.lease_falls_back,
}
# The kinds of the notes above (the nodes make no others for a `Watch`).
_KINDS = frozenset(
    {"stale", "check-quorum", "reject", "truncate", "decline", "vote", "membership"}
    | {"transfer", "snapshot", "read", "commit", "campaign", "leader", "term"}
)


def scan(rows: Iterable[Sequence]) -> dict[str, int]:
    """The situations one run's trace rows (sim/engine/trace.py `Row`) reached, with counts."""
    state = _Scan()
    for row in rows:
        state.note(row[2], row[7], row[8:])
    return dict(state.finish())


class Watch(Observer):
    """Counts the situations of one run as it goes, from the notes the nodes make.

    It needs no trace: the world makes the nodes keep the notes of the kinds in
    `note_kinds` for it. `counts()` gives what `scan` gives for the same run's
    trace: the crash the trace records as a row of its own comes through
    `on_crash`.
    """

    note_kinds = _KINDS

    def __init__(self) -> None:
        self._scan = _Scan()

    def on_note(self, node_id: str, note: tuple, now: int) -> Sequence[Violation]:
        # A note is (component, kind, None, prefix, template, *args).
        self._scan.note(node_id, note[4], note[5:])
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
