"""Snapshots: the state machine's state up to an index, replacing the log before it.

Theory of operation (Raft §7, Figure 13; sofa-jraft's SnapshotExecutor): a
node saves its state machine's state as of `last_index` (which it has
applied, so it is committed), with the term of that entry and the
configuration in force there. The log up to `last_index` can then be
dropped. A follower that needs entries the leader has dropped receives the
snapshot instead (InstallSnapshot) and loads it into its state machine.
"""

from __future__ import annotations

import attrs

from raft.configuration import Configuration


@attrs.frozen(kw_only=True)
class Snapshot:
    """State machine data as of (last_index, last_term), plus the configuration then."""

    last_index: int
    last_term: int
    configuration: Configuration
    data: str

    def __deepcopy__(self, memo: dict) -> Snapshot:
        return self

    def __str__(self) -> str:
        return f"snapshot up to {self.last_index}@{self.last_term}"
