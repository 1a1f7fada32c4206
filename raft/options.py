"""Tunable timings and features of a node. Times are integer microseconds."""

from __future__ import annotations

import attrs


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
    """

    election_timeout: tuple[int, int] = (150_000, 300_000)
    heartbeat_interval: int = 50_000
    rpc_timeout: int = 100_000
    max_inflight: int = 8
    max_entries_per_request: int = 16
    pre_vote: bool = True

    def __attrs_post_init__(self) -> None:
        low, high = self.election_timeout
        if not 0 < low < high:
            raise ValueError(f"election timeout range must be 0 < low < high, got {low}, {high}")
        if not 0 < self.heartbeat_interval < low:
            raise ValueError("heartbeat interval must be positive and below the election timeout")
        if self.max_inflight < 1 or self.max_entries_per_request < 1:
            raise ValueError("max_inflight and max_entries_per_request must be at least 1")
