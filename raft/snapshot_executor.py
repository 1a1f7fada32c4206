"""Taking, installing and loading snapshots (sofa-jraft's SnapshotExecutor).

Theory of operation (Raft §7): a node snapshots what it has applied, on
request or every `snapshot_interval` applied entries, and compacts its log
up to that point (the paper's rule; jraft keeps one more interval of log for
slow followers). A follower handed a snapshot by its leader loads it into its
state machine and keeps only the part of its log after it, if that part
agrees with the snapshot (Figure 13). A restarted node loads its snapshot
before anything else.
"""

from __future__ import annotations

from raft.configuration import Configuration
from raft.log_manager import LogManager
from raft.outputs import Outbox
from raft.snapshot import Snapshot
from raft.state_machine import FSMCaller

# Notes a reader of the trace picks out by template (sim/check/fuzz/coverage.py):
# a snapshot taken (snapshot, configuration, entries dropped, new first index) and
# one installed from the leader.
SAVES = "saves {} (configuration {}); drops {} log entries, the log now starts at {} (Raft §7)"
INSTALLS = (
    "installs {} from {}: state machine replaced, {} (Raft Figure 13); acknowledges once on disk"
)


class SnapshotExecutor:
    """Snapshot bookkeeping for one node."""

    def __init__(
        self,
        log: LogManager,
        fsm: FSMCaller,
        outbox: Outbox,
        *,
        interval: int,
        initial_configuration: Configuration,
    ) -> None:
        self._log = log
        self._fsm = fsm
        self._outbox = outbox
        self._interval = interval
        self._initial_conf = initial_configuration
        if log.snapshot is not None:
            fsm.load_snapshot(log.snapshot)

    def take(self) -> str | None:
        """Snapshot everything applied; returns why not, or None when done."""
        log, fsm = self._log, self._fsm
        if fsm.last_applied <= log.snapshot_index:
            return f"nothing applied since the last snapshot (up to {log.snapshot_index})"
        if log.term_at(fsm.last_applied) is None:
            # Only a switched-on bug (applying before commit) gets here.
            return f"the last applied entry {fsm.last_applied} is no longer in the log"
        conf = log.configuration_at(fsm.last_applied, self._initial_conf)
        snapshot = fsm.save_snapshot(conf)
        dropped = snapshot.last_index - log.snapshot_index
        log.compact(snapshot)
        self._outbox.note(
            "SnapshotExecutor",
            "snapshot",
            SAVES,
            (str(snapshot), str(conf), dropped, log.first_index),
        )
        return None

    def after_apply(self) -> None:
        """Take a snapshot if `interval` entries were applied since the last one."""
        if self._interval and self._fsm.last_applied - self._log.snapshot_index >= self._interval:
            self.take()

    def install(self, snapshot: Snapshot, leader: str) -> int:
        """Replace state machine and log with a leader's snapshot; returns the write seq."""
        had = self._log.term_at(snapshot.last_index)
        seq, kept = self._log.install(snapshot)
        self._fsm.load_snapshot(snapshot)
        if kept:
            log_fate = f"keeps its entries after {snapshot.last_index}"
        elif had is None:
            log_fate = f"its log lacks entry {snapshot.last_index}: discards the log"
        else:
            log_fate = (
                f"its entry {snapshot.last_index} has term {had}, not {snapshot.last_term}: "
                "discards the log"
            )
        self._outbox.note(
            "SnapshotExecutor",
            "snapshot",
            INSTALLS,
            (str(snapshot), leader, log_fate),
        )
        return seq
