"""Tunable timings and features of a node. Times are integer microseconds."""

from __future__ import annotations

import attrs

from raft.bugs import check_bugs


@attrs.frozen(kw_only=True)
class RaftOptions:
    """Defaults follow the Raft paper's spirit, faster than sofa-jraft's for teaching.

    `election_timeout` is the range each election timeout is drawn from
    (Raft §5.2: 150-300 ms). `heartbeat_interval` must be well below its lower
    bound. `rpc_timeout` is how long a replicator waits for an answer before it
    assumes the request was lost and probes again. `max_inflight` caps the
    AppendEntries requests one replicator has on the wire (jraft: 256), and
    `max_entries_per_request` the entries in one request (jraft: 1024); both
    are small by default so that pipelining and batching show in a trace.

    `check_quorum` makes a leader step down when a quorum has not answered
    within the minimum election timeout (thesis §6.2), and makes nodes ignore
    RequestVote while they know a leader is alive (thesis §4.2.3). `single_server_changes`
    changes membership one voter at a time without a joint configuration
    (thesis §4.1). A new voter must come within `catchup_margin` entries of
    the leader, making progress at least every `catchup_timeout`.
    `snapshot_interval` takes a snapshot every so many applied entries (0: only
    on request). `bugs` switches on well-known mistakes (raft/bugs.py), for
    showing that the checkers catch them.
    """

    election_timeout: tuple[int, int] = (150_000, 300_000)
    heartbeat_interval: int = 50_000
    rpc_timeout: int = 100_000
    max_inflight: int = 8
    max_entries_per_request: int = 16
    pre_vote: bool = True
    check_quorum: bool = False
    single_server_changes: bool = False
    catchup_margin: int = 10
    catchup_timeout: int = 300_000
    snapshot_interval: int = 0
    bugs: frozenset[str] = frozenset()

    def __attrs_post_init__(self) -> None:
        low, high = self.election_timeout
        if not 0 < low < high:
            raise ValueError(f"election timeout range must be 0 < low < high, got {low}, {high}")
        if not 0 < self.heartbeat_interval < low:
            raise ValueError("heartbeat interval must be positive and below the election timeout")
        if self.max_inflight < 1 or self.max_entries_per_request < 1:
            raise ValueError("max_inflight and max_entries_per_request must be at least 1")
        check_bugs(self.bugs)
        if self.catchup_margin < 0 or self.catchup_timeout <= 0 or self.snapshot_interval < 0:
            raise ValueError("catch-up margin, catch-up timeout and snapshot interval must be >= 0")
