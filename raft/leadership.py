"""What a node does while it leads: the leader side of replication (Raft §5.3, §5.4.2).

Theory of operation (jraft's NodeImpl leader code and ReplicatorGroup):

- Taking over: the new leader appends its configuration as the first entry
  of its term and tells the BallotBox to count ballots only from there, so
  entries of older terms commit only beneath it (Figure 8, by construction).
  One Replicator per peer starts probing; heartbeats go every
  `heartbeat_interval`.
- Appending: an entry (a proposal, a configuration) goes into the leader's
  log, and the replicators are woken before the leader's own flush, so the
  disk write overlaps replication (jraft); the leader's own ballot counts once
  its flush is done (Node.persisted).
- An acknowledgement goes to its peer's Replicator (only if of our term),
  then to whatever waits on a peer's progress: a member catching up, a
  transfer's target, reads waiting for a heartbeat round.
- Ready: once the first entry of its term commits, the leader's commit index
  is known to be current (StateMachine.on_leader_start); membership changes
  and reads wait for that (thesis §4.1, §6.4).
- CheckQuorum (thesis §6.2): a leader that has not heard from a quorum within
  the minimum election timeout steps down; with it, voters may ignore
  RequestVote while a leader is alive (raft/election.py).
- Stepping down fails pending reads, ends a membership change or transfer,
  and stops the replicators.

Invariant: replicators exist only while leading, one per member of the
configuration in force other than the leader.
"""

from __future__ import annotations

from raft.configuration import Configuration
from raft.log_entry import EntryKind, LogEntry
from raft.membership import ConfigurationCtx
from raft.messages import AppendEntriesResponse, InstallSnapshotResponse, Message, TimeoutNow
from raft.node_view import LeadingNode, Role
from raft.quorum import VoteResult
from raft.read_only import ReadOnlyService
from raft.replicator import Replicator
from raft.transfer import LeadershipTransfer

HEARTBEAT_TIMER = "heartbeat"
CHECK_QUORUM_TIMER = "check_quorum"

# Notes a reader of the trace picks out by template (sim/check/fuzz/coverage.py):
# a new leader's first entry (configuration, index, term), a leader stepping down (its
# term), removed from the configuration (the configuration), or deaf to a quorum (who
# answered, the window in ms, the quorum).
FIRST_OF_TERM = (
    "appends configuration {} as entry {}, the first of term {}: older entries commit "
    "only beneath an entry of the leader's term"
)
STOPS_LEADING = "stops leading term {}"
NOT_A_VOTER = "is not a voter in {}: steps down"
NO_QUORUM_HEARD = "CheckQuorum: only {} answered within {:g} ms (needs {}): steps down"


class Leadership:
    """One node's replicators and leader-only bookkeeping; idle while it does not lead."""

    def __init__(
        self,
        node: LeadingNode,
        *,
        membership: ConfigurationCtx,
        transfer: LeadershipTransfer,
        read_only: ReadOnlyService,
    ) -> None:
        self._node = node
        self._log = node.log
        self._ballot_box = node.ballot_box
        self._outbox = node.outbox
        self._options = node.options
        self._membership = membership
        self._transfer = transfer
        self._read_only = read_only
        self.replicators: dict[str, Replicator] = {}
        self.first_index = 0  # first index of our term while leader
        self.started = False  # an entry of our term has committed

    # -- taking over and stepping down ----------------------------------------

    def take_over(self, conf: Configuration, now: int) -> None:
        """The node just became leader: start replicating, beginning with `conf`."""
        node = self._node
        self.first_index = self._log.last_index + 1
        self.started = False
        self._ballot_box.reset_pending_index(self.first_index, conf)
        self.replicators.clear()
        # jraft appends the configuration as the leader's first entry: earlier
        # entries can then commit as its prefix (Raft §5.4.2, §8).
        entry = LogEntry(
            index=self.first_index,
            term=node.term,
            kind=EntryKind.CONFIGURATION,
            configuration=conf,
        )
        node.note(
            "leader",
            FIRST_OF_TERM,
            (str(conf), entry.index, node.term),
        )
        self.sync_replicators(conf.members, now)
        self.append(entry, now)
        if conf.is_joint:
            self._membership.resume_joint(conf, entry.index)
        self._outbox.set_timer(HEARTBEAT_TIMER, self._options.heartbeat_interval)
        if self._options.check_quorum:
            self._outbox.set_timer(CHECK_QUORUM_TIMER, self._check_quorum_period)

    def step_down(self, old_term: int, now: int) -> None:
        """The node stopped leading `old_term` (its term may already be newer)."""
        node = self._node
        node.note("leader", STOPS_LEADING, (old_term,))
        self._read_only.fail_all(f"{node.id} stopped leading term {old_term}")
        if self._membership.busy:
            self._membership.finish(False, "the leader stepped down", now, still_leading=False)
        self._transfer.on_step_down(node.term, old_term)
        self.replicators.clear()
        self._ballot_box.clear_pending()
        self._outbox.cancel_timer(HEARTBEAT_TIMER)
        self._outbox.cancel_timer(CHECK_QUORUM_TIMER)
        node.fsm.state_machine.on_leader_stop()

    # -- appending and replicating ------------------------------------------------

    def append(self, entry: LogEntry, now: int) -> None:
        """Append an entry of our term and wake the replicators."""
        self._log.append((entry,))
        if entry.configuration is not None:
            # A configuration takes effect when appended (Raft §6).
            self._ballot_box.set_configuration(entry.configuration, now)
        # jraft wakes the replicators before the local flush, so the leader's
        # own disk write overlaps replication.
        for replicator in self.replicators.values():
            replicator.on_new_entries(now)

    def append_configuration(self, conf: Configuration, now: int) -> int:
        """Append a configuration entry (in force at once); returns its index."""
        node = self._node
        entry = LogEntry(
            index=self._log.last_index + 1,
            term=node.term,
            kind=EntryKind.CONFIGURATION,
            configuration=conf,
        )
        self.append(entry, now)
        return entry.index

    def sync_replicators(self, members: tuple[str, ...], now: int) -> None:
        """Keep exactly one replicator per member other than ourselves."""
        node = self._node
        for peer in list(self.replicators):
            if peer not in members:
                del self.replicators[peer]
        for peer in members:
            if peer != node.id and peer not in self.replicators:
                replicator = Replicator(
                    leader_id=node.id,
                    peer=peer,
                    term=node.term,
                    log=self._log,
                    ballot_box=self._ballot_box,
                    outbox=self._outbox,
                    options=self._options,
                    now=now,
                )
                self.replicators[peer] = replicator
                replicator.start(now)

    def on_append_entries_response(self, msg: AppendEntriesResponse, now: int) -> None:
        replicator = self._replicator_for(msg)
        if replicator is not None:
            replicator.on_response(msg, now)
            self._after_peer_progress(msg.src, now)
            self._read_only.check(now)

    def on_install_snapshot_response(self, msg: InstallSnapshotResponse, now: int) -> None:
        replicator = self._replicator_for(msg)
        if replicator is not None:
            replicator.on_snapshot_response(msg, now)
            self._after_peer_progress(msg.src, now)

    def _replicator_for(self, msg: Message) -> Replicator | None:
        node = self._node
        if node.role is not Role.LEADER or msg.term != node.term:
            return None
        return self.replicators.get(msg.src)

    def _after_peer_progress(self, peer: str, now: int) -> None:
        if self._membership.busy:
            self._membership.on_peer_progress(now)
        if self._transfer.busy:
            self._transfer.on_peer_progress(peer)

    def on_heartbeat_timer(self, now: int) -> None:
        if self._node.role is not Role.LEADER:
            return
        for replicator in self.replicators.values():
            replicator.heartbeat(now, self._read_only.round)
        self._outbox.set_timer(HEARTBEAT_TIMER, self._options.heartbeat_interval)

    def on_committed(self, commit_index: int, now: int) -> None:
        """The commit index advanced while we lead: the leader's parts may go on."""
        node = self._node
        if not self.started and commit_index >= self.first_index:
            self.started = True
            node.fsm.state_machine.on_leader_start(node.term)
            node.note(
                "leader",
                "first entry of term {} is committed: leader ready (StateMachine.on_leader_start)",
                (node.term,),
            )
        if self._membership.busy:
            self._membership.on_committed(commit_index, now)
        self._read_only.check(now)

    # -- handing over --------------------------------------------------------------

    def after_membership_change(self, now: int) -> None:
        """A change is done: a leader that is no longer a voter hands over (jraft)."""
        node = self._node
        conf = node.configuration
        if conf.is_voter(node.id):
            return
        successor = max(
            (p for p in conf.voters if p in self.replicators),
            key=lambda p: self.replicators[p].match_index,
            default=None,
        )
        node.note("membership", NOT_A_VOTER, (str(conf),))
        if successor is not None:
            node.send(TimeoutNow(src=node.id, dst=successor, term=node.term))
            node.note("membership", "wakes {} with TimeoutNow to lead next", (successor,))
        node.become_follower(node.term, None, now)

    # -- CheckQuorum (thesis §6.2) ---------------------------------------------------

    @property
    def _check_quorum_period(self) -> int:
        return self._options.election_timeout[0] // 2

    def on_check_quorum_timer(self, now: int) -> None:
        """Step down if a quorum has not answered within the minimum election timeout."""
        node = self._node
        if node.role is not Role.LEADER:
            return
        window = self._options.election_timeout[0]
        heard = {node.id: True}
        for peer, replicator in self.replicators.items():
            heard[peer] = now - replicator.last_response_at < window
        conf = node.configuration
        if conf.vote_result(heard) is VoteResult.WON:
            self._outbox.set_timer(CHECK_QUORUM_TIMER, self._check_quorum_period)
            return
        answered = [v for v in conf.all_voters if heard.get(v)]
        node.note(
            "check-quorum",
            NO_QUORUM_HEARD,
            (", ".join(answered), window / 1000, conf.quorum_text()),
        )
        node.become_follower(node.term, None, now)
