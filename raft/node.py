"""A Raft node built from sofa-jraft's parts, in the sans-IO style.

Theory of operation: a `Node` owns a LogManager, a BallotBox, an FSMCaller
feeding its StateMachine, and (while leader) one Replicator per peer. It never
reads a clock, sleeps, sends or writes: each input method below takes the
current time, changes state, and appends outputs to the outbox, which the
caller drains with `take_outputs()` (see raft/outputs.py for the contract).

Inputs: `start` (boot or restart from durable state), `receive` (a message),
`fire` (a timer), `persisted` (writes durable up to a sequence number),
`propose` (a client command), `read` (a read outside the log: ReadIndex,
lease or local, see `read`), and admin requests: `change_members`,
`transfer_leadership`, `take_snapshot`, `expire_election_timer`.

The work lives in parts, as in jraft, each seeing the node only through a
Protocol (raft/node_view.py); the node routes each input to its part:

- Election (raft/election.py): the election timer, PreVote, votes;
- Follower (raft/follower.py): AppendEntries from the leader;
- SnapshotInstaller (raft/snapshot_install.py): InstallSnapshot from the leader;
- Leadership (raft/leadership.py): taking over, the replicators, heartbeats,
  CheckQuorum, stepping down;
- ReadOnlyService (raft/read_only.py): ReadIndex and lease reads;
- on the leader, ConfigurationCtx (membership change, raft/membership.py)
  and LeadershipTransfer (raft/transfer.py);
- SnapshotExecutor (raft/snapshot_executor.py): taking and loading snapshots.

A node that is not a voter in its configuration (a learner, a new node not
yet added, a removed one) never campaigns.

Roles change only in `become_follower`, `become_candidate` and
`become_leader` (`start` sets the first one); the parts call them.

Durability (Figure 2, "Persistent state ... updated on stable storage before
responding to RPCs"): no message leaves while the latest term/vote write is
not durable, and a follower's acknowledgement also waits for the entries it
vouches for; until then messages wait in `_after_flush`. So a vote is on disk
before it is granted, and a term a node has told anyone survives its crash.
The leader counts its own entries towards a commit only once its flush
completes (jraft's LogManager).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from raft.ballot_box import BallotBox
from raft.configuration import Configuration
from raft.election import ELECTION_TIMER, Election, RandomSource, is_pre_vote_traffic
from raft.follower import Follower
from raft.leadership import CHECK_QUORUM_TIMER, HEARTBEAT_TIMER, Leadership
from raft.log_entry import LogEntry
from raft.log_manager import LogManager
from raft.membership import CATCHUP_TIMER, ConfigurationCtx
from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
    Message,
    RequestVote,
    TimeoutNow,
    VoteResponse,
)
from raft.node_view import Role
from raft.options import RaftOptions
from raft.outputs import Outbox, Output
from raft.read_only import READ_MODES, ReadOnlyService
from raft.replicator import Replicator
from raft.snapshot_executor import SnapshotExecutor
from raft.snapshot_install import SnapshotInstaller
from raft.state_machine import FSMCaller, KVStateMachine, StateMachine
from raft.storage import DurableState, SaveHardState
from raft.transfer import TRANSFER_TIMER, LeadershipTransfer

# The note of an election won, its arguments (term, voters granted, quorum): a reader
# of the trace (sim/show/explain_leader.py) picks it out by this template.
WON = "becomes leader of term {} with votes from {} (quorum {})"
# A campaign begun (term), and a higher term seen (its term, ours, message, sender):
# coverage (sim/check/fuzz/coverage.py) picks them out.
CAMPAIGNS = (
    "becomes candidate for term {}, votes for itself; asks for votes once term and vote are on disk"
)
SEES_TERM = "sees term {0} > {1} in {2} from {3} -> follower of term {0} (Raft §5.1)"


@attrs.frozen
class ProposeResult:
    """Answer to a client proposal: accepted at (index, term), or refused with a reason."""

    accepted: bool
    index: int | None = None
    term: int | None = None
    reason: str | None = None
    leader_hint: str | None = None


@attrs.frozen
class AdminAnswer:
    """Answer to an admin request: refused with a reason, or accepted.

    An accepted request that takes time (a membership change, a leader
    transfer) later ends with a `Finished` output carrying `ticket`.
    """

    accepted: bool
    reason: str | None = None
    ticket: int | None = None
    done: bool = False


class Node:
    """One Raft server."""

    def __init__(
        self,
        node_id: str,
        *,
        initial_configuration: Configuration,
        options: RaftOptions,
        rng: RandomSource,
        durable: DurableState | None = None,
        state_machine: StateMachine | None = None,
    ) -> None:
        durable = durable or DurableState()
        self.id = node_id
        self.options = options
        self._initial_conf = initial_configuration
        self.outbox = Outbox(node_id)
        # Persistent state (Figure 2), as last written; see storage.py for what is durable.
        self.term = durable.term
        self.voted_for = durable.voted_for
        self.log = LogManager(self.outbox, durable)
        self.fsm = FSMCaller(state_machine or KVStateMachine(), self.log, self.outbox)
        self.snapshots = SnapshotExecutor(
            self.log,
            self.fsm,
            self.outbox,
            interval=options.snapshot_interval,
            initial_configuration=initial_configuration,
        )
        self.ballot_box = BallotBox(self.outbox, self._on_committed, options.bugs)
        # A snapshot holds only committed entries.
        self.ballot_box.commit_index = self.log.snapshot_index
        # Volatile state.
        self.role = Role.FOLLOWER
        self.leader_id: str | None = None
        self._after_flush: list[tuple[int, Message, int | None]] = []
        self._hard_state_seq = 0  # write seq of the latest SaveHardState
        self._durable_seq = 0  # every write up to this seq is durable
        self.election = Election(self, rng)
        self.follower = Follower(self)
        self.snapshot_installer = SnapshotInstaller(self)
        self.membership = ConfigurationCtx(self)
        self.transfer = LeadershipTransfer(self)
        self.read_only = ReadOnlyService(self, self.transfer)
        self.leadership = Leadership(
            self, membership=self.membership, transfer=self.transfer, read_only=self.read_only
        )
        # Which part handles each message type (one dictionary lookup per message).
        self._handlers: dict[type, Callable[[Any, int], None]] = {
            RequestVote: self.election.on_request_vote,
            VoteResponse: self.election.on_vote_response,
            TimeoutNow: self.election.on_timeout_now,
            AppendEntries: self.follower.on_append_entries,
            AppendEntriesResponse: self.leadership.on_append_entries_response,
            InstallSnapshot: self.snapshot_installer.on_install_snapshot,
            InstallSnapshotResponse: self.leadership.on_install_snapshot_response,
        }
        self._next_ticket = 0

    # -- views ------------------------------------------------------------

    @property
    def configuration(self) -> Configuration:
        """The configuration this node uses now: the latest in its log."""
        return self.log.configuration(self._initial_conf)

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def is_voter(self) -> bool:
        return self.configuration.is_voter(self.id)

    @property
    def replicators(self) -> dict[str, Replicator]:
        """The leader's replicators by peer (empty unless leading)."""
        return self.leadership.replicators

    @property
    def commit_index(self) -> int:
        return self.ballot_box.commit_index

    @property
    def last_applied(self) -> int:
        return self.fsm.last_applied

    @property
    def election_deadline(self) -> int | None:
        """When the election timer will expire if nothing is heard (None on a leader)."""
        if self.role is Role.LEADER:
            return None
        return self.election.deadline

    @property
    def pre_voting(self) -> bool:
        """True while this follower asks for pre-votes before campaigning (thesis §9.6)."""
        return self.election.pre_voting

    def take_outputs(self) -> list[Output]:
        """Drain the outputs produced by the inputs given so far."""
        return self.outbox.take()

    # -- inputs -----------------------------------------------------------

    def start(self, now: int) -> None:
        """Boot, or restart from the durable state given to the constructor."""
        snapshot = f", {self.log.snapshot}" if self.log.snapshot else ""
        if self.term > 0:
            self.election.restarted_at = now
        self.role = self._follower_role()
        self.note(
            "start",
            "starts as {} in term {} (vote {}, log up to {}@{}{}, configuration {})",
            (self.role.value, self.term, self.voted_for or "-", self.log.last_index)
            + (self.log.last_term, snapshot, str(self.configuration)),
        )
        self.election.arm_timer(now)

    def receive(self, msg: Message, now: int) -> None:
        """A message arrived."""
        kind = type(msg)
        if kind is RequestVote and self.election.ignores_disruptive_vote(msg, now):
            return
        if msg.term > self.term and not is_pre_vote_traffic(msg):
            leader = msg.src if isinstance(msg, (AppendEntries, InstallSnapshot)) else None
            self.note(
                "term",
                SEES_TERM,
                (msg.term, self.term, msg.name, msg.src),
            )
            self.become_follower(msg.term, leader, now)
        handler = self._handlers.get(kind)
        if handler is None:
            raise TypeError(f"unknown message {msg!r}")
        handler(msg, now)

    def fire(self, timer: str, now: int) -> None:
        """A timer set through `SetTimer` expired."""
        if timer == ELECTION_TIMER:
            self.election.on_timer(now)
        elif timer == HEARTBEAT_TIMER:
            self.leadership.on_heartbeat_timer(now)
        elif timer == CHECK_QUORUM_TIMER:
            self.leadership.on_check_quorum_timer(now)
        elif timer == CATCHUP_TIMER:
            self.membership.on_catchup_timer(now)
        elif timer == TRANSFER_TIMER:
            self.transfer.on_timer(now)
        else:
            raise ValueError(f"unknown timer {timer!r}")

    def persisted(self, seq: int, now: int) -> None:
        """Every write up to `seq` is now durable."""
        self._durable_seq = seq
        if self.log.on_flushed(seq) and self.role is Role.LEADER:
            self.ballot_box.commit_at(self.id, self.log.durable_index, now)
        self.election.on_persisted(seq, now)
        if self._after_flush:
            ready = [item for item in self._after_flush if item[0] <= seq]
            self._after_flush = [item for item in self._after_flush if item[0] > seq]
            for _, message, expected_term in ready:
                self._send_after_flush(message, expected_term)

    def expire_election_timer(self, delay: int, now: int) -> bool:
        """Admin request: make the election timer expire `delay` from now.

        Lets a teacher or a scenario decide who times out first. As with any
        timeout, news from a leader before then postpones it. A leader has no
        election timer and refuses (returns False).
        """
        if self.role is Role.LEADER:
            return False
        self.election.expire_timer(delay, now)
        return True

    def propose(self, command: str, now: int) -> ProposeResult:
        """A client asks to replicate `command`. Only a leader accepts (Raft §5.3)."""
        if self.role is not Role.LEADER:
            hint = f"; the leader is {self.leader_id}" if self.leader_id else ""
            reason = f"{self.id} is a {self.role.value}, not the leader{hint}"
            self.note("propose", "refuses {!r}: {}", (command, reason))
            return ProposeResult(False, reason=reason, leader_hint=self.leader_id)
        if self.transfer.busy:
            reason = f"busy: transferring leadership to {self.transfer.target}"
            self.note("propose", "refuses {!r}: {}", (command, reason))
            return ProposeResult(False, reason=reason, leader_hint=self.transfer.target)
        entry = LogEntry(index=self.log.last_index + 1, term=self.term, command=command)
        self.note("propose", "accepts {!r} as entry {}@{}", (command, entry.index, entry.term))
        self.leadership.append(entry, now)
        return ProposeResult(True, index=entry.index, term=entry.term)

    def change_members(
        self, voters: tuple[str, ...], learners: tuple[str, ...], now: int
    ) -> AdminAnswer:
        """Admin request: change the configuration to these voters and learners (Raft §6)."""
        new = Configuration(voters=voters, learners=learners)
        refusal = self._change_refusal(new)
        if refusal is not None:
            self.note("membership", "refuses to change members to {}: {}", (str(new), refusal))
            return AdminAnswer(False, refusal)
        if new == self.configuration:
            return AdminAnswer(True, f"already the configuration {new}", done=True)
        ticket = self._new_ticket()
        self.membership.start(new, ticket, now)
        return AdminAnswer(True, ticket=ticket)

    def transfer_leadership(self, target: str | None, now: int) -> AdminAnswer:
        """Admin request: hand leadership to `target` (None: the most up-to-date voter)."""
        refusal = self._busy_refusal()
        conf = self.configuration
        if refusal is None and target is None:
            peers = [p for p in conf.voters if p != self.id]
            if not peers:
                refusal = "there is no other voter to transfer to"
            else:
                target = max(peers, key=lambda p: self.replicators[p].match_index)
        if refusal is None and target != self.id and not conf.is_voter(target or ""):
            refusal = f"{target} is not a voter in {conf}"
        if refusal is not None:
            self.note("transfer", "refuses to transfer leadership: {}", (refusal,))
            return AdminAnswer(False, refusal)
        assert target is not None
        if target == self.id:
            return AdminAnswer(True, f"{self.id} already leads", done=True)
        ticket = self._new_ticket()
        self.transfer.start(target, ticket, now)
        return AdminAnswer(True, ticket=ticket)

    def take_snapshot(self, now: int) -> AdminAnswer:
        """Admin request: snapshot what has been applied and compact the log (Raft §7)."""
        refusal = self.snapshots.take()
        if refusal is not None:
            self.note("snapshot", "no snapshot: {}", (refusal,), component="SnapshotExecutor")
            return AdminAnswer(False, refusal)
        return AdminAnswer(True, done=True)

    def read(self, key: str, mode: str, now: int) -> AdminAnswer:
        """A client reads `key` without writing to the log (thesis §6.4).

        - "read_index": leader only, once an entry of its term has committed
          (before that its commit index may lag the true one). It notes
          read index = commit index, then confirms it still leads with a
          heartbeat round: answers from a quorum (of both configurations while
          joint) sent after the read began. The read then waits until the
          state machine has applied the read index, and answers.
        - "lease" (needs CheckQuorum): if a quorum answered requests sent
          within 90% of the minimum election timeout, no other leader can
          have been elected since, so the round is skipped; otherwise it
          falls back to "read_index".
        - "local": any node answers at once from its own state machine. Not
          safe: a deposed leader or a lagging follower returns stale values.

        An accepted read ends with a `ReadDone` output carrying the ticket.
        """
        if mode not in READ_MODES:
            raise ValueError(f"unknown read mode {mode!r}: expected one of {', '.join(READ_MODES)}")
        if mode != "local":
            refusal = self._read_refusal(mode)
            if refusal is not None:
                self.note("read", "refuses to read {} ({}): {}", (key, mode, refusal))
                return AdminAnswer(False, refusal)
        ticket = self._new_ticket()
        self.read_only.start(key, mode, ticket, now)
        return AdminAnswer(True, ticket=ticket)

    # -- refusals and tickets ---------------------------------------------

    def _read_refusal(self, mode: str) -> str | None:
        if self.role is not Role.LEADER:
            hint = f"; the leader is {self.leader_id}" if self.leader_id else ""
            return f"{self.id} is a {self.role.value}, not the leader{hint}"
        if not self.leadership.started:
            return (
                f"no entry of term {self.term} has committed yet, so the commit index "
                "may lag (thesis §6.4)"
            )
        if mode == "lease" and not self.options.check_quorum:
            return "lease reads need CheckQuorum (a leader must step down when its lease lapses)"
        return None

    def _change_refusal(self, new: Configuration) -> str | None:
        refusal = self._busy_refusal()
        if refusal is not None:
            return refusal
        old = self.configuration
        if not new.voters:
            return "a configuration needs at least one voter"
        if not self.leadership.started:
            # Thesis §4.1 (the bug fix of 2015): a new leader first commits an entry of its term.
            return f"the leader has not yet committed an entry of term {self.term}"
        if self.options.single_server_changes:
            changed = set(old.voters) ^ set(new.voters)
            if len(changed) > 1:
                return (
                    f"single-server mode changes one voter at a time, this changes "
                    f"{', '.join(sorted(changed))}"
                )
        return None

    def _busy_refusal(self) -> str | None:
        if self.role is not Role.LEADER:
            hint = f"; the leader is {self.leader_id}" if self.leader_id else ""
            return f"{self.id} is a {self.role.value}, not the leader{hint}"
        if self.membership.busy:
            return f"busy: a membership change to {self.membership.new} is in progress"
        if self.transfer.busy:
            return f"busy: transferring leadership to {self.transfer.target}"
        return None

    def _new_ticket(self) -> int:
        self._next_ticket += 1
        return self._next_ticket

    # -- role changes (the only places `role` is assigned) ----------------

    def become_follower(self, term: int, leader: str | None, now: int) -> None:
        """Follow (or, if only a learner in our configuration, learn from) `leader`."""
        was, old_term = self.role, self.term
        if term > self.term:
            self.term, self.voted_for = term, None
            self.save_hard_state()
        if was is Role.LEADER:
            self.leadership.step_down(old_term, now)
        self.election.stop_campaign()
        self.role = self._follower_role()
        self.leader_id = leader
        if leader is not None:
            self.election.heard_at = now
        if was not in (Role.FOLLOWER, Role.LEARNER):
            self.election.arm_timer(now)

    def become_candidate(self, now: int, *, transfer: bool = False) -> None:
        """Campaign for the next term (`transfer`: asked to by the leader, thesis §3.10)."""
        if self.role is Role.LEADER or not self.is_voter:
            raise AssertionError(f"a {self.role.value} that is not a voter cannot campaign")
        self.role = Role.CANDIDATE
        self.leader_id = None
        self.term += 1
        self.voted_for = self.id
        # Save term and vote before asking anyone (jraft): a crash must not forget them.
        self.election.begin_campaign(self.save_hard_state(), transfer=transfer)
        self.note(
            "campaign",
            CAMPAIGNS,
            (self.term,),
        )
        self.election.arm_timer(now)

    def become_leader(self, now: int) -> None:
        """A candidate won its election: take over replication (Raft §5.3)."""
        if self.role is not Role.CANDIDATE:
            raise AssertionError(f"only a candidate can become leader, not a {self.role.value}")
        self.role = Role.LEADER
        self.leader_id = self.id
        conf = self.configuration
        granted = [v for v in conf.all_voters if self.election.votes.get(v)]
        self.note(
            "leader",
            WON,
            (self.term, ", ".join(granted), conf.quorum_text()),
        )
        self.outbox.cancel_timer(ELECTION_TIMER)
        self.leadership.take_over(conf, now)

    def _follower_role(self) -> Role:
        conf = self.configuration
        if self.id in conf.learners and not conf.is_voter(self.id):
            return Role.LEARNER
        return Role.FOLLOWER

    def sync_follower_role(self, now: int) -> None:
        """Our configuration changed: a learner promoted to voter follows, and vice versa."""
        if self.role in (Role.FOLLOWER, Role.LEARNER) and self.role is not self._follower_role():
            self.become_follower(self.term, self.leader_id, now)
            self.note("membership", "is now a {} in {}", (self.role.value, str(self.configuration)))

    def hear_from_leader(self, msg: Message, now: int) -> None:
        """A current-term message from the leader: follow it and reset the election timer."""
        if self.role not in (Role.FOLLOWER, Role.LEARNER):
            # A candidate of the same term learns that someone else won (Raft §5.2).
            self.note(
                "term",
                "learns that {} leads term {} -> {} becomes follower (Raft §5.2)",
                (msg.src, msg.term, self.role.value),
            )
            self.become_follower(msg.term, msg.src, now)
        self.leader_id = msg.src
        self.election.heard_from_leader(msg.src, now)

    # -- durability (Figure 2) ---------------------------------------------

    def save_hard_state(self) -> int:
        """Persist term and vote; returns the write's sequence number."""
        self._hard_state_seq = self.outbox.persist(SaveHardState(self.term, self.voted_for))
        return self._hard_state_seq

    def send(self, message: Message) -> None:
        """Send now, or once the latest term and vote are durable (Figure 2)."""
        if self._hard_state_seq > self._durable_seq:
            self._after_flush.append((self._hard_state_seq, message, None))
        else:
            self.outbox.send(message)

    def send_when_durable(
        self, seq: int, message: Message, expected_term: int | None = None
    ) -> None:
        """Send once write `seq` is durable (Figure 2: a vote, an acknowledgement).

        An acknowledgement of entries up to one of `expected_term` is dropped
        if, by then, that entry was replaced or is no longer durable.
        """
        self._after_flush.append((seq, message, expected_term))

    def _send_after_flush(self, message: Message, expected_term: int | None) -> None:
        # An acknowledgement vouches for (match_index, term): if a later leader has
        # since replaced that entry, the acknowledgement is no longer true.
        if (
            isinstance(message, AppendEntriesResponse)
            and expected_term is not None
            and (
                self.log.term_at(message.match_index) != expected_term
                or self.log.durable_index < message.match_index
            )
        ):
            return
        self.outbox.send(message)

    # -- for the parts ----------------------------------------------------

    def _on_committed(self, commit_index: int, now: int) -> None:
        """The BallotBox advanced the commit index: apply, and let the leader's parts react."""
        self.fsm.on_committed(commit_index)
        self.snapshots.after_apply()
        if self.role is Role.LEADER:
            self.leadership.on_committed(commit_index, now)

    def sync_replicators(self, members: tuple[str, ...], now: int) -> None:
        """Leader: keep exactly one replicator per member other than ourselves."""
        self.leadership.sync_replicators(members, now)

    def append_configuration(self, conf: Configuration, now: int) -> int:
        """Leader: append a configuration entry (in force at once); returns its index."""
        return self.leadership.append_configuration(conf, now)

    def after_membership_change(self, now: int) -> None:
        """A change is done: a leader that is no longer a voter hands over (jraft)."""
        self.leadership.after_membership_change(now)

    def finished(self, ticket: int, ok: bool, reason: str) -> None:
        """An accepted admin request ended."""
        self.outbox.finished(ticket, ok, reason)

    def note(self, kind: str, template: str, args: tuple = (), component: str = "Node") -> None:
        """One sentence for the trace, explaining a decision (see `Outbox.note`)."""
        self.outbox.note(component, kind, template, args)
