"""A node's simulated disk: writes become durable only after a flush.

Writes are queued in order. The first write into an empty queue starts a
flush that completes `flush_delay` later and makes everything queued by then
durable (group commit, as jraft's disk writer batches). A crash throws away
whatever is still queued; the durable image survives.
"""

from __future__ import annotations

from raft import DurableState, Write


class Disk:
    """Durable image plus the queue of writes not yet flushed."""

    def __init__(self) -> None:
        self.durable = DurableState()
        self.pending: list[tuple[int, Write]] = []
        # Bumped by a crash, so that a flush scheduled before it completes nothing.
        self.generation = 0
        self.flush_scheduled = False

    def write(self, seq: int, write: Write) -> bool:
        """Queue a write; returns True if a flush must be scheduled for it."""
        self.pending.append((seq, write))
        if self.flush_scheduled:
            return False
        self.flush_scheduled = True
        return True

    def flush(self) -> tuple[int, list[Write]]:
        """Make every queued write durable; returns the last seq and the writes."""
        writes = [write for _, write in self.pending]
        last_seq = self.pending[-1][0]
        for write in writes:
            self.durable.apply(write)
        self.pending = []
        self.flush_scheduled = False
        return last_seq, writes

    def crash(self) -> list[Write]:
        """Lose every write not yet durable; returns what was lost."""
        lost = [write for _, write in self.pending]
        self.pending = []
        self.flush_scheduled = False
        self.generation += 1
        return lost
