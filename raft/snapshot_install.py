"""Installing the leader's snapshot on a follower: InstallSnapshot (Raft §7, Figure 13).

Theory of operation: when a peer needs entries the leader has compacted
away, the leader's Replicator enters its SNAPSHOT state and sends its latest
snapshot whole, in one InstallSnapshot (raft/replicator.py; the paper's
chunks are left out). The receiver, as in jraft's handleInstallSnapshot:

- refuses a request of an older term (§5.1), and otherwise follows its sender
  like any message from the current leader;
- ignores a snapshot that brings nothing new (it ends at or below our commit
  index, so our log already holds the same entries), and acknowledges as far
  as its log is durable, so the leader moves on;
- otherwise has the SnapshotExecutor replace the state machine and keep only
  the part of the log after the snapshot that agrees with it, and raises its
  commit index to the snapshot's last index (a snapshot holds only committed
  entries);
- acknowledges an installed snapshot only once it is durable; the leader
  then replicates from just after it.

Invariant: the commit index never goes back: a snapshot at or below it is
never installed.
"""

from __future__ import annotations

from raft.follower import STALE
from raft.messages import InstallSnapshot, InstallSnapshotResponse
from raft.node_view import FollowingNode


class SnapshotInstaller:
    """Installs the snapshots one node's leader sends it."""

    def __init__(self, node: FollowingNode) -> None:
        self._node = node

    def on_install_snapshot(self, msg: InstallSnapshot, now: int) -> None:
        node = self._node
        if msg.term < node.term:
            node.note(
                "stale",
                STALE,
                (msg.name, msg.src, msg.term, node.term),
            )
            node.send(self._response(msg, False))
            return
        node.hear_from_leader(msg, now)
        snapshot = msg.snapshot
        if snapshot.last_index <= node.commit_index:
            node.note(
                "snapshot",
                "already has committed entries up to {}: ignores {}",
                (node.commit_index, str(snapshot)),
                component="SnapshotExecutor",
            )
            node.send(self._response(msg, True, min(snapshot.last_index, node.log.durable_index)))
            return
        seq = node.snapshots.install(snapshot, msg.src)
        node.ballot_box.set_last_committed_index(snapshot.last_index, now)
        node.sync_follower_role(now)
        node.send_when_durable(seq, self._response(msg, True, snapshot.last_index))

    def _response(
        self, msg: InstallSnapshot, success: bool, match_index: int = 0
    ) -> InstallSnapshotResponse:
        return InstallSnapshotResponse(
            src=self._node.id,
            dst=msg.src,
            term=self._node.term,
            success=success,
            match_index=match_index,
            seq=msg.seq,
        )
