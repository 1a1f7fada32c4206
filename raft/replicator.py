"""One Replicator per peer on the leader: keeps that peer's log in step.

Theory of operation (sofa-jraft's Replicator, etcd's Progress):

- PROBE: we do not know where the peer's log matches ours. Send one empty
  AppendEntries at `next_index - 1` and wait. A rejection carries a hint (the
  peer's conflicting term and where that term starts, or where its log ends),
  so we jump back a whole term at a time rather than one entry (Raft §5.3).
- REPLICATE: the last probe matched. Stream entries from `next_index`,
  up to `max_entries_per_request` per request and `max_inflight` requests on
  the wire, advancing `next_index` optimistically as we send.

`match_index` only grows, and only from the peer's own acknowledgements of
durable entries; every growth is reported to the BallotBox. A rejection in
REPLICATE (say, a reordered request arrived before its predecessor) drops back
to PROBE from `match_index + 1`. Requests that get no answer within
`rpc_timeout` are presumed lost and the same fallback applies.

- SNAPSHOT: the entries the peer needs were compacted away (Raft §7): send
  the leader's snapshot (InstallSnapshot) and wait for its acknowledgement,
  then replicate from just after it.

Heartbeats bypass the pipeline (as in jraft): they carry no log position, only
leadership and min(commit index, match index).

Invariant: match_index < next_index <= leader's last index + 1.
"""

from __future__ import annotations

import enum
from collections import deque

from raft.ballot_box import BallotBox
from raft.log_manager import LogManager
from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
)
from raft.options import RaftOptions
from raft.outputs import Outbox


class ReplicatorState(enum.Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


class Replicator:
    """Replication state of one peer, owned by the leader."""

    def __init__(
        self,
        *,
        leader_id: str,
        peer: str,
        term: int,
        log: LogManager,
        ballot_box: BallotBox,
        outbox: Outbox,
        options: RaftOptions,
        now: int,
    ) -> None:
        self.leader_id = leader_id
        self.peer = peer
        self.term = term
        self._log = log
        self._ballot_box = ballot_box
        self._outbox = outbox
        self._options = options
        self._label = f"Replicator({peer})"
        self.state = ReplicatorState.PROBE
        self.next_index = log.last_index + 1
        self.match_index = 0
        # (seq, last index carried, sent at) of requests awaiting an answer.
        self.inflight: deque[tuple[int, int, int]] = deque()
        self.last_response_at = now
        # The latest ReadIndex round the peer answered (heartbeats echo it), and
        # when the newest request it answered was sent (for lease reads).
        self.read_round_acked = 0
        self.acked_sent_at: int | None = None
        self._heartbeats_sent: dict[int, int] = {}  # seq -> sent at, awaiting an answer
        self._seq = 0
        self._silence_noted = False  # "no answer" said once per silence, not every timeout

    # -- driven by the leader -------------------------------------------

    def start(self, now: int) -> None:
        """Begin by probing where the peer's log matches ours."""
        self._send_probe(now)

    def on_new_entries(self, now: int) -> None:
        """The leader appended entries: stream them if the pipeline is open."""
        if self.state is ReplicatorState.REPLICATE:
            self._send_entries(now)

    def heartbeat(self, now: int, read_round: int = 0, *, resend: bool = True) -> None:
        """Heartbeat tick: assert leadership, and resend what seems lost.

        `read_round` is the latest ReadIndex round begun; `resend=False` sends
        only the heartbeat (a round started by a read, between ticks).
        """
        seq = self._next_seq()
        # Forget heartbeats that went unanswered for long: their answers no longer matter.
        window = self._options.election_timeout[0]
        for old in [s for s, t in self._heartbeats_sent.items() if now - t >= window]:
            del self._heartbeats_sent[old]
        self._heartbeats_sent[seq] = now
        self._send(
            AppendEntries(
                src=self.leader_id,
                dst=self.peer,
                term=self.term,
                prev_log_index=0,
                prev_log_term=0,
                leader_commit=min(self._ballot_box.commit_index, self.match_index),
                seq=seq,
                heartbeat=True,
                read_round=read_round,
            )
        )
        if resend and self.inflight and now - self.inflight[0][2] >= self._options.rpc_timeout:
            if not self._silence_noted:
                self._silence_noted = True
                waited = (now - self.inflight[0][2]) // 1000
                self._note(
                    "resend",
                    "no answer from {} for {} ms: probing again until it answers",
                    (self.peer, waited),
                )
            self._back_to_probe(self.match_index + 1 if self._replicating else self.next_index)
            self._send_probe(now)

    def on_response(self, resp: AppendEntriesResponse, now: int) -> None:
        """Handle the peer's answer to an AppendEntries or heartbeat of our term."""
        self.last_response_at = now
        self._silence_noted = False
        self.read_round_acked = max(self.read_round_acked, resp.read_round)
        if resp.heartbeat:
            self._acked(self._heartbeats_sent.pop(resp.seq, None))
            return
        self._acked(self._sent_at(resp.seq))
        if resp.success:
            self._on_success(resp, now)
        else:
            self._on_reject(resp, now)

    def _sent_at(self, seq: int) -> int | None:
        """When the request numbered `seq`, still in flight, was sent (None: not in flight)."""
        for sent_seq, _, sent_at in self.inflight:
            if sent_seq == seq:
                return sent_at
        return None

    def _acked(self, sent_at: int | None) -> None:
        """The peer answered a request sent at `sent_at` (None: not known)."""
        if sent_at is not None and (self.acked_sent_at is None or sent_at > self.acked_sent_at):
            self.acked_sent_at = sent_at

    # -- answers ----------------------------------------------------------

    @property
    def _replicating(self) -> bool:
        return self.state is ReplicatorState.REPLICATE

    def _on_success(self, resp: AppendEntriesResponse, now: int) -> None:
        while self.inflight and self.inflight[0][1] <= resp.match_index:
            self.inflight.popleft()
        self._record_match(resp.match_index, now)
        self.next_index = max(self.next_index, self.match_index + 1)
        if self.state is ReplicatorState.PROBE or (
            # A late answer shows the peer has every entry the snapshot would give it.
            self.state is ReplicatorState.SNAPSHOT and self.match_index >= self._log.snapshot_index
        ):
            self._start_replicating("probe", f"{self.peer}'s log matches ours up to")
        self._send_entries(now)

    def _on_reject(self, resp: AppendEntriesResponse, now: int) -> None:
        if resp.rejected_index <= self.match_index:
            return  # a late answer to a request sent before we knew more
        if self.state is ReplicatorState.PROBE and not any(
            seq == resp.seq for seq, _, _ in self.inflight
        ):
            return  # answers a probe we have already given up on
        target = resp.conflict_index
        reason = f"{self.peer}'s log ends at {resp.conflict_index - 1}"
        if resp.conflict_term is not None:
            ours = self._log.last_index_of_term(resp.conflict_term, resp.rejected_index)
            reason = (
                f"{self.peer} has term {resp.conflict_term} at {resp.rejected_index} "
                f"(from {resp.conflict_index})"
            )
            if ours is not None:
                target = ours + 1
                reason += f"; our last entry of term {resp.conflict_term} is {ours}"
        target = max(self.match_index + 1, min(target, resp.rejected_index))
        self._note(
            "reject",
            "{} rejected entries after {}: {} -> next index {} (Raft §5.3)",
            (self.peer, resp.rejected_index, reason, target),
        )
        self._back_to_probe(target)
        self._send_probe(now)

    # -- sending ----------------------------------------------------------

    def _back_to_probe(self, next_index: int) -> None:
        self.state = ReplicatorState.PROBE
        self.next_index = next_index
        self.inflight.clear()

    def on_snapshot_response(self, resp: InstallSnapshotResponse, now: int) -> None:
        """The peer answered our InstallSnapshot."""
        self.last_response_at = now
        self._silence_noted = False
        if self.state is not ReplicatorState.SNAPSHOT or not any(
            seq == resp.seq for seq, _, _ in self.inflight
        ):
            return
        self.inflight.clear()
        if not resp.success:
            self._back_to_probe(self.next_index)
            self._send_probe(now)
            return
        self._record_match(resp.match_index, now)
        self._start_replicating("snapshot", f"{self.peer} installed the snapshot, up to")
        self._send_entries(now)

    def _record_match(self, match_index: int, now: int) -> None:
        """The peer holds every entry up to `match_index` on disk: a ballot for each."""
        if match_index > self.match_index:
            self.match_index = match_index
            self._ballot_box.commit_at(self.peer, match_index, now)

    def _start_replicating(self, kind: str, why: str) -> None:
        """Where the peer's log matches ours is known: stream from just after it."""
        self.inflight.clear()
        self.state = ReplicatorState.REPLICATE
        self.next_index = self.match_index + 1
        self._note(kind, "{} {}: replicating from {}", (why, self.match_index, self.next_index))

    def _send_snapshot(self, now: int) -> None:
        snapshot = self._log.snapshot
        assert snapshot is not None
        self._note(
            "snapshot",
            "{} needs entries from {}, but our log starts at {}: sends {} instead "
            "(InstallSnapshot, Raft §7)",
            (self.peer, self.next_index, self._log.first_index, str(snapshot)),
        )
        self.state = ReplicatorState.SNAPSHOT
        seq = self._next_seq()
        self.inflight.clear()
        self.inflight.append((seq, snapshot.last_index, now))
        self._outbox.send(
            InstallSnapshot(
                src=self.leader_id, dst=self.peer, term=self.term, snapshot=snapshot, seq=seq
            )
        )

    def _send_probe(self, now: int) -> None:
        if self.next_index <= self._log.snapshot_index:
            self._send_snapshot(now)
            return
        prev = self.next_index - 1
        seq = self._next_seq()
        self.inflight.append((seq, prev, now))
        self._send(self._append_entries(prev, (), seq))

    def _send_entries(self, now: int) -> None:
        options = self._options
        while len(self.inflight) < options.max_inflight and self.next_index <= self._log.last_index:
            if self.next_index <= self._log.snapshot_index:
                self._send_snapshot(now)  # compacted while we were streaming
                return
            first = self.next_index
            last = min(self._log.last_index, first + options.max_entries_per_request - 1)
            seq = self._next_seq()
            self.inflight.append((seq, last, now))
            self._send(self._append_entries(first - 1, self._log.slice(first, last), seq))
            self.next_index = last + 1

    def _append_entries(self, prev: int, entries: tuple, seq: int) -> AppendEntries:
        prev_term = self._log.term_at(prev)
        assert prev_term is not None, "next_index beyond the leader's log"
        return AppendEntries(
            src=self.leader_id,
            dst=self.peer,
            term=self.term,
            prev_log_index=prev,
            prev_log_term=prev_term,
            entries=entries,
            leader_commit=self._ballot_box.commit_index,
            seq=seq,
        )

    def _send(self, message: AppendEntries) -> None:
        self._outbox.send(message)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _note(self, kind: str, template: str, args: tuple = ()) -> None:
        self._outbox.note("Replicator", kind, template, args, self._label)
