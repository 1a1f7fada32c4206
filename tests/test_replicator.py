"""The Replicator's state machine (jraft's Replicator; etcd's Progress), driven by hand."""

from __future__ import annotations

from conftest import entries

from raft import AppendEntriesResponse, BallotBox, Configuration, InstallSnapshot, LogManager
from raft.options import RaftOptions
from raft.outputs import Outbox, Send
from raft.replicator import Replicator, ReplicatorState
from raft.snapshot import Snapshot
from raft.storage import DurableState


def _leader_with_compacted_log() -> tuple[Replicator, Outbox, LogManager]:
    """A leader of term 2 whose log 1..6 is compacted up to 4, replicating to n2."""
    outbox = Outbox("n1")
    snapshot = Snapshot(
        last_index=4, last_term=1, configuration=Configuration(["n1", "n2"]), data="{}"
    )
    durable = DurableState(term=2, entries=entries(1, 1, 1, 1, 2, 2)[4:], snapshot=snapshot)
    log = LogManager(outbox, durable)
    box = BallotBox(outbox, lambda index, now: None)
    box.reset_pending_index(5, Configuration(["n1", "n2"]))
    replicator = Replicator(
        leader_id="n1",
        peer="n2",
        term=2,
        log=log,
        ballot_box=box,
        outbox=outbox,
        options=RaftOptions(),
        now=0,
    )
    return replicator, outbox, log


def test_a_peer_behind_the_snapshot_is_sent_the_snapshot():
    replicator, outbox, _ = _leader_with_compacted_log()
    replicator.next_index = 2  # the peer needs entries the leader no longer holds
    replicator.start(now=0)
    sent = [o.message for o in outbox.take() if isinstance(o, Send)]
    assert isinstance(sent[-1], InstallSnapshot) and sent[-1].snapshot.last_index == 4
    assert replicator.state is ReplicatorState.SNAPSHOT


def test_a_late_append_success_past_the_snapshot_ends_the_snapshot_state():
    """Found by `raftsim fuzz` (seed 245): an AppendEntries answer that arrives while a
    snapshot is on its way, and shows the peer already has everything the snapshot
    covers, must resume replication; otherwise the replicator waited forever."""
    replicator, outbox, log = _leader_with_compacted_log()
    replicator.next_index = 2
    replicator.start(now=0)
    outbox.take()
    late = AppendEntriesResponse(
        src="n2", dst="n1", term=2, success=True, seq=99, match_index=5, rejected_index=4
    )
    replicator.on_response(late, now=10)
    assert replicator.state is ReplicatorState.REPLICATE
    assert (replicator.match_index, replicator.next_index) == (5, log.last_index + 1)
    sent = [o.message for o in outbox.take() if isinstance(o, Send)]
    assert [e.index for m in sent for e in m.entries] == [6], "streaming resumes"
