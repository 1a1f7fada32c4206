"""A run's digest: what it came to, in 32 hex digits, without its trace.

A fuzz run keeps no trace (campaign mode), so two runs of one seed (on a
Dask worker and here, or without the trace and with it) are compared by
where they ended: the events processed, the clock, how many messages were
sent and timers set along the way, each node's state, log, applied commands
and data, and the messages still in flight. Two runs that took different
paths almost never end with all of these equal; the result they reported
(the verdict, the coverage counts) is compared besides.
"""

from __future__ import annotations

import hashlib

from sim.cluster import Cluster


def digest(cluster: Cluster) -> str:
    """A hash of where `cluster`'s run ended (the same for the same run, in any process)."""
    world = cluster._world  # a fuzz run's one world: the counters no view shows
    parts: list[object] = [
        cluster.events_processed,
        world.now,
        world.network._next_id,
        world._next_token,
    ]
    for node_id, view in cluster.nodes.items():
        parts.append(
            (
                node_id,
                view.running,
                view.role,
                view.term,
                view.voted_for,
                view.commit_index,
                view.last_applied,
                view.snapshot_index,
                view.log,
                view.applied,
                sorted(view.data.items()),
            )
        )
    parts.append([(f.msg_id, f.message, f.lands_us) for f in cluster.in_flight])
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
