"""The log: entries in memory, what of them is durable, snapshots and configuration history.

Theory of operation (sofa-jraft's LogManager): the log is held in memory and
every change to it is also queued as a disk write. `durable_index` is the last
index known to be on disk; a node acknowledges entries only up to it (a
follower to its leader, the leader to its own BallotBox). Writes become durable
in order, each identified by the outbox sequence number it was queued with.

A snapshot replaces the log up to its last index (Raft §7): the log then
starts at `snapshot_index + 1`, and the snapshot remembers the term of its
last entry, so the consistency check still works at that boundary.

Invariants:
- entries[i].index == snapshot_index + i + 1;
- durable_index <= last_index, and every entry up to durable_index is on disk
  with the same term as in memory (or covered by a durable snapshot).

Truncation removes a conflicting suffix (Raft §5.3). It lowers durable_index at
once, and any pending flush that covered the removed entries is capped, so an
old write becoming durable never vouches for the new entries that replaced it.
"""

from __future__ import annotations

import bisect
from collections import deque

from raft.configuration import Configuration
from raft.log_entry import EntryKind, LogEntry
from raft.outputs import Outbox
from raft.snapshot import Snapshot
from raft.storage import AppendLog, DurableState, SaveSnapshot, TruncateLog


class LogManager:
    """In-memory log with durability tracking, as one node sees it."""

    def __init__(self, outbox: Outbox, durable: DurableState | None = None) -> None:
        durable = durable or DurableState()
        self._outbox = outbox
        self.snapshot: Snapshot | None = durable.snapshot
        self.snapshot_index = durable.log_start
        self._snapshot_term = durable.snapshot.last_term if durable.snapshot else 0
        self._entries: list[LogEntry] = list(durable.entries)
        # What was loaded from disk is durable by definition.
        self.durable_index = self.last_index
        # (write seq, last index that write covers), oldest first.
        self._unflushed: deque[tuple[int, int]] = deque()
        # Indexes of configuration entries in the log, ascending.
        self._conf_indexes = [e.index for e in self._entries if e.kind is EntryKind.CONFIGURATION]

    # -- reading --------------------------------------------------------

    @property
    def last_index(self) -> int:
        return self.snapshot_index + len(self._entries)

    @property
    def last_term(self) -> int:
        return self._entries[-1].term if self._entries else self._snapshot_term

    @property
    def first_index(self) -> int:
        """First index still held as an entry (earlier ones are in the snapshot)."""
        return self.snapshot_index + 1

    def term_at(self, index: int) -> int | None:
        """Term of the entry at `index`; None if there is none or it was compacted.

        Index 0 has term 0, and the snapshot's last index has the snapshot's term.
        """
        offset = index - self.snapshot_index
        if offset == 0:
            return self._snapshot_term
        if 0 < offset <= len(self._entries):
            return self._entries[offset - 1].term
        return None

    def entry(self, index: int) -> LogEntry:
        return self._entries[index - self.snapshot_index - 1]

    def slice(self, first: int, last: int) -> tuple[LogEntry, ...]:
        """Entries first..last inclusive (all after the snapshot)."""
        start = self.snapshot_index + 1
        return tuple(self._entries[first - start : last - start + 1])

    def entries(self) -> list[LogEntry]:
        """A copy of the entries held in memory (after the snapshot)."""
        return list(self._entries)

    def first_index_of_term(self, index: int) -> int:
        """First index (after the snapshot) of the run of entries sharing the term of `index`."""
        term = self.term_at(index)
        while index > self.first_index and self.term_at(index - 1) == term:
            index -= 1
        return index

    def last_index_of_term(self, term: int, at_most: int) -> int | None:
        """Last index <= `at_most` whose entry has `term`, if the log still knows."""
        index = min(at_most, self.last_index)
        while index > 0 and index >= self.snapshot_index:
            entry_term = self.term_at(index)
            if entry_term == term:
                return index
            if entry_term is None or entry_term < term:
                return None
            index -= 1
        return None

    def is_up_to_date(self, last_log_term: int, last_log_index: int) -> bool:
        """Is a log ending at (last_log_index, last_log_term) at least as up-to-date as ours?

        Raft §5.4.1: compare the terms of the last entries; if they are equal,
        the longer log is more up-to-date.
        """
        if last_log_term != self.last_term:
            return last_log_term > self.last_term
        return last_log_index >= self.last_index

    def configuration(self, default: Configuration) -> Configuration:
        """The latest configuration in the log (committed or not), else the snapshot's."""
        return self.configuration_at(self.last_index, default)

    def configuration_at(self, index: int, default: Configuration) -> Configuration:
        """The configuration in force at `index`: the latest one appended up to it."""
        position = bisect.bisect_right(self._conf_indexes, index)
        if position:
            conf = self.entry(self._conf_indexes[position - 1]).configuration
            assert conf is not None
            return conf
        return self.snapshot.configuration if self.snapshot else default

    # -- changing -------------------------------------------------------

    def append(self, entries: tuple[LogEntry, ...]) -> int:
        """Append entries that follow the last one; returns the write's sequence number."""
        if entries[0].index != self.last_index + 1:
            raise AssertionError(f"append at {entries[0].index} after {self.last_index}")
        self._entries.extend(entries)
        for entry in entries:
            if entry.kind is EntryKind.CONFIGURATION:
                self._conf_indexes.append(entry.index)
        seq = self._outbox.persist(AppendLog(entries))
        self._unflushed.append((seq, self.last_index))
        return seq

    def truncate_suffix(self, from_index: int) -> None:
        """Drop entries from `from_index` on, in memory and (by a queued write) on disk."""
        assert from_index > self.snapshot_index, "cannot truncate into the snapshot"
        del self._entries[from_index - self.snapshot_index - 1 :]
        self._forget_after(from_index - 1)
        self._outbox.persist(TruncateLog(from_index))

    def compact(self, snapshot: Snapshot) -> None:
        """A snapshot of our own state machine replaces the log up to its last index."""
        assert self.snapshot_index < snapshot.last_index <= self.last_index
        del self._entries[: snapshot.last_index - self.snapshot_index]
        self._set_snapshot(snapshot)
        self._outbox.persist(SaveSnapshot(snapshot))

    def install(self, snapshot: Snapshot) -> tuple[int, bool]:
        """A leader's snapshot replaces our log (Raft Figure 13).

        If we hold the snapshot's last entry with the same term, the entries
        after it stay; otherwise the whole log goes. Returns the write's
        sequence number and whether the log was kept.
        """
        keep = self.term_at(snapshot.last_index) == snapshot.last_term
        if keep:
            del self._entries[: snapshot.last_index - self.snapshot_index]
        else:
            self._entries = []
            self._forget_after(snapshot.last_index)
        self._set_snapshot(snapshot)
        seq = self._outbox.persist(SaveSnapshot(snapshot, discard_log=not keep))
        self._unflushed.append((seq, snapshot.last_index))
        return seq, keep

    def on_flushed(self, seq: int) -> bool:
        """Every write up to `seq` is durable; returns whether durable_index grew."""
        grown = False
        while self._unflushed and self._unflushed[0][0] <= seq:
            _, last = self._unflushed.popleft()
            if last > self.durable_index:
                self.durable_index = last
                grown = True
        return grown

    def _set_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.snapshot_index = snapshot.last_index
        self._snapshot_term = snapshot.last_term
        self._conf_indexes = [i for i in self._conf_indexes if i > snapshot.last_index]

    def _forget_after(self, keep: int) -> None:
        """Entries after `keep` are gone: nothing beyond it may count as durable."""
        while self._conf_indexes and self._conf_indexes[-1] > keep:
            self._conf_indexes.pop()
        self.durable_index = min(self.durable_index, keep)
        self._unflushed = deque((seq, min(last, keep)) for seq, last in self._unflushed)
