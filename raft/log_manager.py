"""The log: entries in memory, what of them is durable, and configuration history.

Theory of operation (sofa-jraft's LogManager): the log is held in memory and
every change to it is also queued as a disk write. `durable_index` is the last
index known to be on disk; a node acknowledges entries only up to it (a
follower to its leader, the leader to its own BallotBox). Writes become durable
in order, each identified by the outbox sequence number it was queued with.

Invariants:
- entries[i].index == i + 1 (no snapshots yet: the log starts at index 1);
- durable_index <= last_index, and every entry up to durable_index is on disk
  with the same term as in memory.

Truncation removes a conflicting suffix (Raft §5.3). It lowers durable_index at
once, and any pending flush that covered the removed entries is capped, so an
old write becoming durable never vouches for the new entries that replaced it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from raft.configuration import Configuration
from raft.log_entry import EntryKind, LogEntry
from raft.outputs import Outbox
from raft.storage import AppendLog, TruncateLog


class LogManager:
    """In-memory log with durability tracking, as one node sees it."""

    def __init__(self, outbox: Outbox, durable_entries: Iterable[LogEntry] = ()) -> None:
        self._outbox = outbox
        self._entries: list[LogEntry] = list(durable_entries)
        # Entries loaded from disk are durable by definition.
        self.durable_index = len(self._entries)
        # (write seq, last index that write covers), oldest first.
        self._unflushed: deque[tuple[int, int]] = deque()
        # Indexes of configuration entries, ascending.
        self._conf_indexes = [e.index for e in self._entries if e.kind is EntryKind.CONFIGURATION]

    # -- reading --------------------------------------------------------

    @property
    def last_index(self) -> int:
        return len(self._entries)

    @property
    def last_term(self) -> int:
        return self._entries[-1].term if self._entries else 0

    def term_at(self, index: int) -> int | None:
        """Term of the entry at `index`; 0 for index 0; None if there is none."""
        if index == 0:
            return 0
        if 0 < index <= len(self._entries):
            return self._entries[index - 1].term
        return None

    def entry(self, index: int) -> LogEntry:
        return self._entries[index - 1]

    def slice(self, first: int, last: int) -> tuple[LogEntry, ...]:
        """Entries first..last inclusive."""
        return tuple(self._entries[first - 1 : last])

    def entries(self) -> list[LogEntry]:
        """A copy of the whole log in memory."""
        return list(self._entries)

    def first_index_of_term(self, index: int) -> int:
        """First index of the run of entries sharing the term of `index`."""
        term = self.term_at(index)
        while index > 1 and self._entries[index - 2].term == term:
            index -= 1
        return index

    def last_index_of_term(self, term: int, at_most: int) -> int | None:
        """Last index <= `at_most` whose entry has `term`, if any."""
        index = min(at_most, self.last_index)
        while index > 0:
            entry_term = self._entries[index - 1].term
            if entry_term == term:
                return index
            if entry_term < term:
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
        """The latest configuration in the log (committed or not), else `default`."""
        if not self._conf_indexes:
            return default
        conf = self._entries[self._conf_indexes[-1] - 1].configuration
        assert conf is not None
        return conf

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
        del self._entries[from_index - 1 :]
        while self._conf_indexes and self._conf_indexes[-1] >= from_index:
            self._conf_indexes.pop()
        keep = from_index - 1
        self.durable_index = min(self.durable_index, keep)
        self._unflushed = deque((seq, min(last, keep)) for seq, last in self._unflushed)
        self._outbox.persist(TruncateLog(from_index))

    def on_flushed(self, seq: int) -> bool:
        """Every write up to `seq` is durable; returns whether durable_index grew."""
        grown = False
        while self._unflushed and self._unflushed[0][0] <= seq:
            _, last = self._unflushed.popleft()
            if last > self.durable_index:
                self.durable_index = last
                grown = True
        return grown
