"""The follower side of log replication: handling AppendEntries (Raft §5.3).

Theory of operation (Figure 2's receiver rules; jraft's
NodeImpl.handleAppendEntriesRequest), for followers and learners alike, and
for a candidate that learns a leader was elected:

- A request of an older term is refused (§5.1). Any other makes its sender
  the leader we follow and postpones our election timer.
- A heartbeat carries no log position, only min(leader's commit, our match
  index): an index up to which our log is known to match, so it is applied
  without a check.
- Consistency check: the entry just before the new ones must have the
  leader's term. If not, the refusal carries a hint (our term there and where
  it starts, or where our log ends) so the leader's Replicator skips back a
  whole term at a time.
- Merge: an entry we already have is kept, never truncated (Log Matching; a
  reordered, older request must not undo a newer one); from the first
  conflicting entry on, our suffix is deleted and the leader's appended.
- The commit index moves to min(leader's commit, last entry sent): only as
  far as our log is known to match the leader's.
- The acknowledgement vouches for entries on disk, so it waits in the node
  until they are durable, and is dropped if they were replaced meanwhile.

Invariant: committed entries are never truncated (Leader Completeness).
"""

from __future__ import annotations

from raft.log_entry import LogEntry
from raft.messages import AppendEntries, AppendEntriesResponse
from raft.node_view import FollowingNode

# Notes a reader of the trace picks out by template (sim/check/fuzz/coverage.py):
# a stale message refused (name, sender, its term, ours; InstallSnapshot's too), the
# consistency check failed (index, leader, our last index / our term, the leader's),
# and a conflicting suffix deleted (first index, our term, the leader's, last index).
STALE = "rejects {} from {}: term {} < {}"
LOG_ENDS_BEFORE = (
    "rejects entries after {} from {}: our log ends at {} (Raft §5.3 consistency check)"
)
TERMS_DIFFER = (
    "rejects entries after {0} from {1}: our entry {0} has term {2}, leader's has {3} "
    "(Raft §5.3 consistency check)"
)
TRUNCATES = "entry {0} has term {1}, leader's has {2}: deletes entries {0}..{3} (Raft §5.3)"


class Follower:
    """Takes the leader's AppendEntries into one node's log."""

    def __init__(self, node: FollowingNode) -> None:
        self._node = node
        self._log = node.log
        self._ballot_box = node.ballot_box
        self._outbox = node.outbox
        self._bugs = node.options.bugs

    def on_append_entries(self, msg: AppendEntries, now: int) -> None:
        node, log = self._node, self._log
        # BUG SWITCH accept_stale_term skips this rule.
        if msg.term < node.term and "accept_stale_term" not in self._bugs:
            node.note(
                "stale",
                STALE,
                (msg.name, msg.src, msg.term, node.term),
            )
            self._reply(msg, success=False)
            return
        node.hear_from_leader(msg, now)
        if msg.heartbeat:
            # Safe without a log check: the leader sends min(commit, our match index),
            # an index up to which our log is known to match its own.
            self._ballot_box.set_last_committed_index(min(msg.leader_commit, log.last_index), now)
            self._reply(msg, success=True)
            return
        # Entries up to our snapshot are committed, hence identical to the leader's.
        if msg.prev_log_index >= log.snapshot_index:
            prev_term = log.term_at(msg.prev_log_index)
            if prev_term != msg.prev_log_term:
                self._reject_mismatch(msg, prev_term)
                return
        last_new = self._merge_entries(msg)
        node.sync_follower_role(now)
        self._ballot_box.set_last_committed_index(min(msg.leader_commit, last_new), now)
        if "apply_before_commit" in self._bugs:
            node.fsm.on_committed(log.last_index)  # BUG SWITCH apply_before_commit
        reply = self._response(msg, success=True, match_index=last_new)
        # BUG SWITCH ack_before_flush acknowledges at once.
        if log.durable_index >= last_new or "ack_before_flush" in self._bugs:
            node.send(reply)
        else:
            node.send_when_durable(self._outbox.write_seq, reply, log.term_at(last_new))

    def _reject_mismatch(self, msg: AppendEntries, prev_term: int | None) -> None:
        node, log = self._node, self._log
        index = msg.prev_log_index
        if prev_term is None:
            node.note(
                "reject",
                LOG_ENDS_BEFORE,
                (index, msg.src, log.last_index),
            )
            self._reply(msg, success=False, conflict_index=log.last_index + 1)
            return
        first = log.first_index_of_term(index)
        node.note(
            "reject",
            TERMS_DIFFER,
            (index, msg.src, prev_term, msg.prev_log_term),
        )
        self._reply(msg, success=False, conflict_index=first, conflict_term=prev_term)

    def _merge_entries(self, msg: AppendEntries) -> int:
        """Append what is new, truncating a conflicting suffix; returns the last index sent."""
        node, log = self._node, self._log
        new: list[LogEntry] = []
        for entry in msg.entries:
            if new:
                new.append(entry)
                continue
            if entry.index <= log.snapshot_index:
                continue  # in our snapshot already
            ours = log.term_at(entry.index)
            if ours == entry.term:
                continue  # already have it (Log Matching): keep, never truncate a match
            if ours is not None and "no_truncate" in self._bugs:
                continue  # BUG SWITCH no_truncate: keeps our conflicting entry
            if ours is not None:
                # Invariant: committed entries are never truncated (Leader Completeness).
                # Only a switched-on bug can break it; the checkers then report it.
                assert entry.index > node.commit_index or self._bugs, "conflict below commit"
                node.note(
                    "truncate",
                    TRUNCATES,
                    (entry.index, ours, entry.term, log.last_index),
                    component="LogManager",
                )
                log.truncate_suffix(entry.index)
            new.append(entry)
        if new:
            log.append(tuple(new))
            span = (
                f"entry {new[0].index}"
                if len(new) == 1
                else f"entries {new[0].index}..{new[-1].index}"
            )
            node.note(
                "append",
                "appends {} from {} (term {}); acknowledges once on disk",
                (span, msg.src, new[-1].term),
                component="LogManager",
            )
        return msg.prev_log_index + len(msg.entries)

    def _response(self, msg: AppendEntries, **fields: object) -> AppendEntriesResponse:
        return AppendEntriesResponse(
            src=self._node.id,
            dst=msg.src,
            term=self._node.term,
            seq=msg.seq,
            heartbeat=msg.heartbeat,
            read_round=msg.read_round,
            rejected_index=msg.prev_log_index,
            last_log_index=self._log.last_index,
            **fields,  # type: ignore[arg-type]
        )

    def _reply(self, msg: AppendEntries, **fields: object) -> None:
        self._node.send(self._response(msg, **fields))
