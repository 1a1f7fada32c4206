"""What a node keeps on disk, and the writes that change it.

Theory of operation: Raft's correctness rests on three things surviving a
crash: the current term, the vote cast in it, and the log (Figure 2, "Persistent
state on all servers"). A node never changes them directly on disk: it emits
writes, the world makes them durable later, in order, and tells the node which
ones are durable. A crash loses every write not yet durable. `DurableState` is
the on-disk image; restarting a node rebuilds it from one.
"""

from __future__ import annotations

import attrs

from raft.log_entry import LogEntry


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


Write = SaveHardState | AppendLog | TruncateLog


@attrs.define
class DurableState:
    """The on-disk image of one node."""

    term: int = 0
    voted_for: str | None = None
    entries: list[LogEntry] = attrs.Factory(list)

    def apply(self, write: Write) -> None:
        """Make one write part of the image."""
        if isinstance(write, SaveHardState):
            self.term, self.voted_for = write.term, write.voted_for
        elif isinstance(write, AppendLog):
            expected = len(self.entries) + 1
            if write.entries[0].index != expected:
                raise AssertionError(
                    f"disk append at {write.entries[0].index}, expected {expected}"
                )
            self.entries.extend(write.entries)
        else:
            del self.entries[write.from_index - 1 :]

    def copy(self) -> DurableState:
        """An independent copy (entries are immutable and shared)."""
        return DurableState(self.term, self.voted_for, list(self.entries))
