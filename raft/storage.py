"""What a node keeps on disk, and the writes that change it.

Theory of operation: Raft's correctness rests on three things surviving a
crash: the current term, the vote cast in it, and the log (Figure 2, "Persistent
state on all servers"). A node never changes them directly on disk: it emits
writes, the world makes them durable later, in order, and tells the node which
ones are durable. A crash loses every write not yet durable. `DurableState` is
the on-disk image; restarting a node rebuilds it from one, snapshot included.
"""

from __future__ import annotations

import attrs

from raft.log_entry import LogEntry
from raft.snapshot import Snapshot


@attrs.frozen
class SaveHardState:
    """Persist the current term and the vote cast in it."""

    term: int
    voted_for: str | None

    def __str__(self) -> str:
        return f"term {self.term}, vote {self.voted_for or '-'}"


@attrs.frozen
class AppendLog:
    """Append entries; the first follows the last entry already on disk."""

    entries: tuple[LogEntry, ...]

    def __deepcopy__(self, memo: dict) -> AppendLog:
        return self

    def __str__(self) -> str:
        first, last = self.entries[0].index, self.entries[-1].index
        return f"entry {first}" if first == last else f"entries {first}..{last}"


@attrs.frozen
class TruncateLog:
    """Delete every entry from `from_index` on (a conflicting suffix)."""

    from_index: int

    def __str__(self) -> str:
        return f"truncate from {self.from_index}"


@attrs.frozen
class SaveSnapshot:
    """Store a snapshot and drop the log it covers (Raft §7).

    With `discard_log`, drop the whole log too: it conflicts with the
    snapshot (Figure 13, InstallSnapshot step 7). Otherwise entries after the
    snapshot's last index stay.
    """

    snapshot: Snapshot
    discard_log: bool = False

    def __deepcopy__(self, memo: dict) -> SaveSnapshot:
        return self

    def __str__(self) -> str:
        return f"{self.snapshot}" + (", log discarded" if self.discard_log else "")


Write = SaveHardState | AppendLog | TruncateLog | SaveSnapshot


@attrs.define
class DurableState:
    """The on-disk image of one node.

    `entries` holds the log after the snapshot: entries[0] has index
    `snapshot.last_index + 1` (or 1 without a snapshot).
    """

    term: int = 0
    voted_for: str | None = None
    entries: list[LogEntry] = attrs.Factory(list)
    snapshot: Snapshot | None = None

    @property
    def log_start(self) -> int:
        """Index of the last entry covered by the snapshot (0 without one)."""
        return self.snapshot.last_index if self.snapshot else 0

    def apply(self, write: Write) -> None:
        """Make one write part of the image."""
        if isinstance(write, SaveHardState):
            self.term, self.voted_for = write.term, write.voted_for
        elif isinstance(write, AppendLog):
            expected = self.log_start + len(self.entries) + 1
            if write.entries[0].index != expected:
                raise AssertionError(
                    f"disk append at {write.entries[0].index}, expected {expected}"
                )
            self.entries.extend(write.entries)
        elif isinstance(write, TruncateLog):
            del self.entries[max(0, write.from_index - self.log_start - 1) :]
        else:
            keep_from = write.snapshot.last_index - self.log_start
            self.entries = [] if write.discard_log else self.entries[max(0, keep_from) :]
            self.snapshot = write.snapshot

    def copy(self) -> DurableState:
        """An independent copy (entries and snapshots are immutable and shared)."""
        return DurableState(self.term, self.voted_for, list(self.entries), self.snapshot)
