"""One entry of the replicated log."""

from __future__ import annotations

import enum

import attrs

from raft.configuration import Configuration


class EntryKind(enum.Enum):
    """What an entry carries: a client command, nothing, or a configuration."""

    DATA = "data"
    NOOP = "noop"
    CONFIGURATION = "configuration"


@attrs.frozen(kw_only=True)
class LogEntry:
    """An entry at `index`, created by the leader of `term`.

    Client commands travel as DATA entries. CONFIGURATION entries carry the
    cluster configuration; like sofa-jraft, a new leader appends one as the
    first entry of its term.
    """

    index: int
    term: int
    command: str | None = None
    kind: EntryKind = EntryKind.DATA
    configuration: Configuration | None = None

    def __deepcopy__(self, memo: dict) -> LogEntry:
        # Immutable: sharing is safe and keeps simulator checkpoints cheap.
        return self

    def describe(self) -> str:
        """Short form for trace sentences: `5@2 set x 1`."""
        if self.kind is EntryKind.DATA:
            return f"{self.index}@{self.term} {self.command}"
        if self.kind is EntryKind.CONFIGURATION:
            return f"{self.index}@{self.term} conf {self.configuration}"
        return f"{self.index}@{self.term} no-op"
