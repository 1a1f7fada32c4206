"""Snapshots (Raft §7): the state and the configuration they carry, checked as they appear.

A snapshot stands in for a prefix of the log, so it must say what that prefix
says. Two checkers hold it to that:

- Snapshot State Agreement: the state a node loads from a snapshot (installed
  from its leader, or read from its own disk at a restart) is the state the
  nodes that applied the log one entry at a time had after exactly the
  snapshot's last index; so is the state a node saves when it takes one.
  The checker keeps a reference key-value store fed with the commands in log
  order as the first node applies each index, and a digest of its state after
  every index (forgotten below the compaction horizon). A digest is a sum of
  one hash per key and per client session, so it follows each command in
  constant time; a loaded or saved state is hashed whole, once.
- Snapshot Configuration Committed: a snapshot records the configuration in
  force at its last index in the committed log (jraft's SnapshotMeta), never
  one appended after it or not yet committed. The checker mirrors where each
  node's log holds configuration entries it has not yet committed, and learns
  which are committed as commit indexes pass them.

Both judge a snapshot at the end of the input that saved or installed it,
once the commit and the applies of that input are known.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence

from raft import (
    AppendLog,
    Configuration,
    InstallSnapshot,
    KVStateMachine,
    Message,
    Node,
    SaveSnapshot,
    Snapshot,
    TruncateLog,
    Write,
)
from raft.state_machine import NIL
from sim.check.checkers.base import NO_VIOLATIONS, Checker, Violation, compaction_horizon
from sim.engine.deep_copy import declare

# How many more indexes a checker remembers before it asks the disks what it may forget.
FORGET_EVERY = 1024
_MASK = (1 << 64) - 1


def _digest(data: Mapping[str, str], sessions: Mapping[str, tuple[int, str]]) -> int:
    """The digest of a whole key-value state: one hash per (key, value) and per
    (client, session), summed; what the running digest adds up to."""
    return (sum(map(hash, data.items())) + sum(map(hash, sessions.items()))) & _MASK


def _values(
    data: Mapping[str, str],
    sessions: Mapping[str, tuple[int, str]],
    keys: Sequence[str],
    clients: Sequence[str],
) -> str:
    """`x=1, y=(nil), client c1 at seq 4`: a state at the given keys and client sessions."""
    shown = [f"{key}={data.get(key, NIL)}" for key in keys]
    for client in clients:
        session = sessions.get(client)
        shown.append(f"client {client} " + (f"at seq {session[0]}" if session else "unknown"))
    more = f" and {len(shown) - 4} more" if len(shown) > 4 else ""
    return ", ".join(shown[:4]) + more


class SnapshotStateAgreement(Checker):
    """Raft §7: a snapshot holds exactly the state machine's state at its last index, so
    a node that loads one (InstallSnapshot, or its own at a restart) has the state
    the others had after applying that index (jraft: onSnapshotLoad replaces the
    state of onApply up to the snapshot's lastIncludedIndex)."""

    name = "Snapshot State Agreement"

    def __init__(self) -> None:
        # The reference: the state after applying every index up to `_index`.
        self._kv = KVStateMachine()
        self._index = 0
        self._sum = 0  # digest of `_kv`
        # index -> (digest of the state after applying it, the node that applied it first;
        # None only for index 0)
        self._digests: dict[int, tuple[int, str | None]] = {0: (0, None)}
        # data index -> (key, its value before, client, its session before): to rebuild
        # the reference state at an earlier index when a violation is described
        self._undo: dict[int, tuple[str, str | None, str | None, tuple[int, str] | None]] = {}
        self._floor = 0  # indexes below this are forgotten
        self._forget_at = FORGET_EVERY
        # node -> the last index it applied, as far as its applies and loads tell
        self._at: dict[str, int] = {}
        self._installing: dict[str, Snapshot] = {}  # node -> snapshot its leader just sent
        self._loaded: set[str] = set()  # nodes that installed a snapshot in this input
        self._saved: list[tuple[str, Snapshot]] = []  # snapshots taken in this input
        # Recent snapshot data found sound, by last index: nodes that snapshot at the
        # same index save the same data, which need not be hashed again.
        self._sound: dict[int, str] = {}

    # -- following the log -------------------------------------------------

    def on_applied(
        self, node_id: str, index: int, term: int, command: str, now: int
    ) -> Sequence[Violation]:
        at = self._at.get(node_id)
        self._at[node_id] = index
        if index <= self._index or at is None or at > self._index:
            return NO_VIOLATIONS
        # The node applied no command between `at` and `index`: the entries there,
        # and so those after the reference's index, are configurations or no-ops.
        self._skip_to(index - 1, node_id)
        self._apply(index, command, node_id)
        return NO_VIOLATIONS

    def _skip_to(self, index: int, node_id: str) -> None:
        """`node_id` applied entries up to `index` that changed nothing."""
        digest = (self._digests[self._index][0], node_id)
        for skipped in range(self._index + 1, index + 1):
            self._digests[skipped] = digest
        self._index = max(self._index, index)

    def _apply(self, index: int, command: str, node_id: str) -> None:
        kv = self._kv
        try:
            client, _, words = kv.decode(command)
        except ValueError:
            self._skip_to(index, node_id)  # a malformed command changes nothing
            return
        key = words[1]
        value, session = kv.data.get(key), kv.sessions.get(client) if client else None
        kv.on_apply(index, command)
        total = self._sum
        new = kv.data.get(key)
        if new != value:
            if value is not None:
                total -= hash((key, value))
            if new is not None:
                total += hash((key, new))
        if client is not None:
            new_session = kv.sessions.get(client)
            if new_session != session:
                if session is not None:
                    total -= hash((client, session))
                if new_session is not None:
                    total += hash((client, new_session))
        self._sum = total & _MASK
        self._undo[index] = (key, value, client, session)
        self._digests[index] = (self._sum, node_id)
        self._index = index
        if len(self._digests) >= self._forget_at:
            self._forget()

    def _forget(self) -> None:
        horizon = compaction_horizon(self.world)
        # A restart may load a snapshot at the horizon itself: keep its digest.
        for index in range(self._floor, horizon):
            self._digests.pop(index, None)
            self._undo.pop(index, None)
        self._floor = max(self._floor, horizon)
        self._forget_at = len(self._digests) + FORGET_EVERY

    # -- snapshots -----------------------------------------------------------

    def on_deliver(self, message: Message, node: Node, now: int) -> Sequence[Violation]:
        if type(message) is InstallSnapshot:
            self._installing[node.id] = message.snapshot
        return NO_VIOLATIONS

    def on_write(self, node: Node, write: Write, now: int) -> Sequence[Violation]:
        if type(write) is not SaveSnapshot:
            return NO_VIOLATIONS
        snapshot = write.snapshot
        if self._installing.get(node.id) == snapshot:
            self._at[node.id] = snapshot.last_index  # later applies follow the snapshot
            self._loaded.add(node.id)
        else:
            self._saved.append((node.id, snapshot))
        return NO_VIOLATIONS

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        self._installing.pop(node.id, None)
        self._at[node.id] = node.fsm.last_applied
        snapshot = node.log.snapshot
        if snapshot is None:
            return NO_VIOLATIONS
        return self._judge_loaded(
            node, node.fsm.last_applied, f"restarted from its snapshot up to {_at(snapshot)}", now
        )

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        node_id = node.id
        last = node.fsm.last_applied
        at = self._at.get(node_id)
        if at != last:
            if at is not None and at <= self._index < last:
                self._skip_to(last, node_id)  # it applied no command after `at`
            self._at[node_id] = last
        if not self._installing and not self._saved:
            return NO_VIOLATIONS
        snapshot = self._installing.pop(node_id, None)
        found: list[Violation] = []
        if node_id in self._loaded:
            self._loaded.discard(node_id)
            assert snapshot is not None
            how = f"installed {_at(snapshot)}"
            if last > snapshot.last_index:
                how += f" and applied up to {last}"
            found += self._judge_loaded(node, last, how, now)
        if self._saved:
            found += self._judge_saved(node_id, now)
        return found

    def _judge_saved(self, node_id: str, now: int) -> list[Violation]:
        found: list[Violation] = []
        for saver, snapshot in [s for s in self._saved if s[0] == node_id]:
            index, data = snapshot.last_index, snapshot.data
            if self._sound.get(index) == data:
                continue  # the same data as a snapshot already judged there
            what = f"saved {_at(snapshot)} holding"
            judged = self._judge(saver, _stored(snapshot), index, what, now)
            if judged:
                found += judged
            else:
                if len(self._sound) >= 16:
                    self._sound.clear()
                self._sound[index] = data
        self._saved = [s for s in self._saved if s[0] != node_id]
        return found

    def _judge_loaded(self, node: Node, index: int, how: str, now: int) -> list[Violation]:
        state = node.fsm.state_machine
        if not isinstance(state, KVStateMachine):
            return []  # a state machine of the user's: no reference to compare with
        return self._judge(node.id, state, index, f"{how}, and then held", now)

    def _judge(
        self, node_id: str, state: KVStateMachine, index: int, what: str, now: int
    ) -> list[Violation]:
        """Compare `state`, which `node_id` has as of `index`, with the reference there."""
        known = self._digests.get(index) if index <= self._index else None
        if known is None or _digest(state.data, state.sessions) == known[0]:
            return []
        data, sessions = self._state_at(index)
        got_data, got_sessions = state.data, state.sessions
        keys = sorted(k for k in {*got_data, *data} if got_data.get(k) != data.get(k))
        clients = sorted(
            c for c in {*got_sessions, *sessions} if got_sessions.get(c) != sessions.get(c)
        )
        if not keys and not clients:
            return []
        by = known[1] or "the log"
        return self.violation(
            now,
            tuple(dict.fromkeys(n for n in (node_id, known[1]) if n)),
            f"{node_id} {what} {_values(got_data, got_sessions, keys, clients)}, but {by} "
            f"had {_values(data, sessions, keys, clients)} when it applied index {index}: a "
            "snapshot must hold exactly the state at its last index (Raft §7)",
        )

    def _state_at(self, index: int) -> tuple[dict[str, str], dict[str, tuple[int, str]]]:
        """The reference state after applying `index`, rebuilt by undoing later commands."""
        data, sessions = dict(self._kv.data), dict(self._kv.sessions)
        for later in range(self._index, index, -1):
            undo = self._undo.get(later)
            if undo is None:
                continue
            key, value, client, session = undo
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
            if client is not None:
                if session is None:
                    sessions.pop(client, None)
                else:
                    sessions[client] = session
        return data, sessions


def _stored(snapshot: Snapshot) -> KVStateMachine:
    """The state a snapshot stores, read here rather than by the store's own
    `on_snapshot_load`, so that a mistake there shows where the snapshot is loaded."""
    stored = json.loads(snapshot.data)
    state = KVStateMachine()
    state.data = dict(stored["data"])
    state.sessions = {c: (seq, result) for c, (seq, result) in stored["sessions"].items()}
    return state


def _at(snapshot: Snapshot) -> str:
    return f"the snapshot up to {snapshot.last_index}@{snapshot.last_term}"


class SnapshotConfigurationCommitted(Checker):
    """Raft §7: a snapshot records the latest configuration as of its last index, which
    is committed like every entry it covers (jraft's SnapshotMeta: the configuration
    at lastIncludedIndex); recording one appended later, not yet committed, would
    let a node that loads it count votes in a configuration that may never hold."""

    name = "Snapshot Configuration Committed"

    def __init__(self) -> None:
        # node -> configuration entries in its log above its commit index: (index, conf)
        self._pending: dict[str, list[tuple[int, Configuration]]] = {}
        self._commit: dict[str, int] = {}  # node -> its commit index after its last input
        # Committed configuration entries: index -> configuration, and the indexes sorted.
        self._committed: dict[int, Configuration] = {}
        self._indexes: list[int] = []
        self._initial: Configuration | None = None  # in force before any entry
        self._saved: list[tuple[str, Snapshot]] = []  # snapshots written in this input
        self._reported: set[Snapshot] = set()
        self._forget_at = FORGET_EVERY // 16

    def on_start(self, node: Node, now: int) -> Sequence[Violation]:
        log = node.log
        confs = [(e.index, e.configuration) for e in log.entries() if e.configuration is not None]
        if not self._commit and log.snapshot is None and not confs:
            self._initial = node.configuration  # the first node boots the world's configuration
        self._commit[node.id] = node.commit_index
        self._pending[node.id] = [c for c in confs if c[0] > node.commit_index]
        return NO_VIOLATIONS

    def on_write(self, node: Node, write: Write, now: int) -> Sequence[Violation]:
        kind = type(write)
        if kind is AppendLog:
            for entry in write.entries:
                if entry.configuration is not None:
                    pending = self._pending.setdefault(node.id, [])
                    _drop_from(pending, entry.index)
                    pending.append((entry.index, entry.configuration))
        elif kind is TruncateLog:
            _drop_from(self._pending.get(node.id, []), write.from_index)
        elif kind is SaveSnapshot:
            if write.discard_log:
                # The log the snapshot replaces disagreed with it: none of it was committed.
                self._pending[node.id] = []
            self._saved.append((node.id, write.snapshot))
        return NO_VIOLATIONS

    def after_input(self, node: Node, now: int) -> Sequence[Violation]:
        node_id = node.id
        commit = node.ballot_box.commit_index
        if commit > self._commit.get(node_id, 0):
            self._commit[node_id] = commit
            pending = self._pending.get(node_id)
            if pending and pending[0][0] <= commit:
                done = 1
                while done < len(pending) and pending[done][0] <= commit:
                    done += 1
                self._learn(pending[:done])
                del pending[:done]
        if not self._saved:
            return NO_VIOLATIONS
        found: list[Violation] = []
        for saver, snapshot in [s for s in self._saved if s[0] == node_id]:
            found += self._judge(saver, snapshot, now)
        self._saved = [s for s in self._saved if s[0] != node_id]
        return found

    def _learn(self, committed: list[tuple[int, Configuration]]) -> None:
        for index, conf in committed:
            if index not in self._committed:
                self._committed[index] = conf
                bisect.insort(self._indexes, index)
        if len(self._indexes) >= self._forget_at:
            self._forget()

    def _forget(self) -> None:
        # Keep the latest committed configuration at or below the horizon: a snapshot
        # there (a restart) may still be judged by it.
        horizon = compaction_horizon(self.world)
        keep_from = max(bisect.bisect_right(self._indexes, horizon) - 1, 0)
        for index in self._indexes[:keep_from]:
            del self._committed[index]
        del self._indexes[:keep_from]
        self._forget_at = len(self._indexes) + FORGET_EVERY // 16

    def _judge(self, node_id: str, snapshot: Snapshot, now: int) -> Sequence[Violation]:
        position = bisect.bisect_right(self._indexes, snapshot.last_index)
        if position:
            at = self._indexes[position - 1]
            expected: Configuration | None = self._committed[at]
            where = f"entry {at}"
        else:
            expected, where = self._initial, "the initial configuration"
        recorded = snapshot.configuration
        if expected is None or recorded == expected or snapshot in self._reported:
            return NO_VIOLATIONS
        self._reported.add(snapshot)
        committed = [i for i, c in self._committed.items() if c == recorded]
        if committed:
            was = f"committed at entry {committed[-1]}"
        elif recorded == self._initial:
            was = "the initial one"
        else:
            was = "never committed"
        return self.violation(
            now,
            (node_id,),
            f"{node_id} saved the snapshot up to {snapshot.last_index}@{snapshot.last_term} "
            f"with configuration {recorded} ({was}), but the configuration committed as of "
            f"{snapshot.last_index} is {expected} ({where}): a snapshot records the committed "
            "configuration at its last index (Raft §7)",
        )


def _drop_from(pending: list[tuple[int, Configuration]], index: int) -> None:
    """Forget the configuration entries at `index` and after (replaced or truncated)."""
    while pending and pending[-1][0] >= index:
        pending.pop()


# Time travel's checkpoints copy these tables (of nested tuples of atoms) without looking
# inside (sim/engine/deep_copy.py).
declare(SnapshotStateAgreement, "_digests", "_undo")
