"""Elections: the election timer, PreVote, RequestVote, counting votes.

Theory of operation (Raft §5.2, §5.4.1; PreVote: thesis §9.6; jraft's
NodeImpl election code):

- Election timer (jraft's way, paper's timing): hearing from the leader does
  not re-arm the timer; it moves `timer_start`. When the timer fires early, it
  is re-armed for the remaining time, so a follower campaigns only after a
  full timeout without news. Each arming draws a new random timeout.
- PreVote runs while still a follower (as in jraft): it asks for `term + 1`
  without raising its own term, and only a quorum of pre-votes leads to a
  real election, so a node cut off from the rest cannot inflate terms.
- TimeoutNow from the leader (a leadership transfer, thesis §3.10) starts a
  real election at once, without PreVote.
- A candidate asks for votes only once its term and self-vote are durable
  (`campaign_seq`); a voter grants only once its vote is durable (the node
  holds the reply until then).
- Invariants: at most one vote per term; a vote only for a log at least as
  up-to-date as ours (§5.4.1).
- The lease: with `check_quorum`, a voter that heard from a live leader
  within the minimum election timeout, or restarted less than that ago,
  ignores RequestVote (thesis §4.2.3). It relies on CheckQuorum, the
  leader's side (raft/leadership.py): a leader that has not heard from a
  quorum within that time steps down.

Roles change only in node.py (`become_*`); this part decides when.
"""

from __future__ import annotations

from typing import Protocol

from raft.messages import Message, RequestVote, TimeoutNow, VoteResponse
from raft.node_view import ElectingNode, Role
from raft.outputs import ms
from raft.quorum import VoteResult

ELECTION_TIMER = "election"
# Notes a reader of the trace picks out by template (sim/show/explain_leader.py,
# sim/check/fuzz/coverage.py): a refusal's arguments are (vote or pre-vote, candidate,
# term, why), an ignored request's (candidate, term, why). A refusal for a log behind
# ours ends its why with LOG_BEHIND.
REFUSES = "refuses {} to {} for term {}: {}"
IGNORES = "ignores RequestVote from {} for term {}: {} (thesis §4.2.3)"
LOG_BEHIND = "(Raft §5.4.1)"
# A transfer's target told to campaign (the leader).
TOLD_TO_TAKE_OVER = (
    "told by leader {} to take over: campaigns at once, without PreVote (thesis §3.10)"
)


class RandomSource(Protocol):
    """The one random operation a node needs; the world passes a seeded stream."""

    def randrange(self, start: int, stop: int) -> int: ...


def is_pre_vote_traffic(msg: Message) -> bool:
    """A pre-vote request, or a granted pre-vote: neither may raise anyone's term."""
    # A pre-vote request asks about a term nobody holds yet, and a granted
    # pre-vote echoes it.
    if isinstance(msg, RequestVote):
        return msg.pre_vote
    return isinstance(msg, VoteResponse) and msg.pre_vote and msg.granted


class Election:
    """One node's election timer, campaigns and votes."""

    def __init__(self, node: ElectingNode, rng: RandomSource) -> None:
        self._node = node
        self._rng = rng
        self._options = node.options
        self._log = node.log
        self._outbox = node.outbox
        self._bugs = node.options.bugs
        self.pre_voting = False
        self.votes: dict[str, bool] = {}
        self.campaign_seq: int | None = None  # write that must be durable before RequestVotes
        self.campaign_transfer = False  # this campaign was asked for by TimeoutNow
        self.timer_start = 0
        self.timeout = 0
        self.timer_forced = False  # the running election timer was set by request
        self.heard_at: int | None = None  # last message from the current leader
        # When a node that had lived before (a term on disk) started again.
        self.restarted_at: int | None = None

    # -- the election timer -----------------------------------------------

    @property
    def deadline(self) -> int:
        """When the election timer expires if nothing is heard."""
        return self.timer_start + self.timeout

    def arm_timer(self, now: int) -> None:
        self.timer_forced = False
        self.timer_start = now
        low, high = self._options.election_timeout
        self.timeout = self._rng.randrange(low, high)
        self._outbox.set_timer(ELECTION_TIMER, self.timeout)

    def expire_timer(self, delay: int, now: int) -> None:
        """Make the timer expire `delay` from now (by request)."""
        self.timer_start = now
        self.timeout = delay
        self.timer_forced = True
        self._node.note(
            "timer", "election timer set to expire in {:g} ms (by request)", (delay / 1000,)
        )
        self._outbox.set_timer(ELECTION_TIMER, delay)

    def heard_from_leader(self, leader: str, now: int) -> None:
        """News from the current leader: no campaign, and the timeout counts from now."""
        if self.pre_voting:
            self.pre_voting = False
            self._node.note("pre-vote", "hears from leader {}: abandons its pre-vote", (leader,))
        self.heard_at = now
        self.timer_start = now

    def on_timer(self, now: int) -> None:
        node = self._node
        if node.role is Role.LEADER:
            return
        deadline = self.timer_start + self.timeout
        if deadline > now:
            # Heard from the leader since the timer was armed: wait a full timeout from then.
            node.note(
                "timer",
                "heard from {} {:g} ms ago: election timer re-armed for {:g} ms",
                (node.leader_id or "a candidate", (now - self.timer_start) / 1000)
                + ((deadline - now) / 1000,),
            )
            self._outbox.set_timer(ELECTION_TIMER, deadline - now)
            return
        if not node.is_voter:
            # Learners, new nodes not yet added and removed nodes never campaign (jraft).
            self.arm_timer(now)
            return
        if self.timer_forced:
            reason = "its timer was made to expire (by request)"
        elif node.role is Role.CANDIDATE:
            reason = f"election for term {node.term} timed out without a quorum of votes"
        elif node.leader_id is not None and self.heard_at is not None:
            reason = f"nothing from leader {node.leader_id} for {ms(now - self.heard_at)}"
        else:
            reason = f"no leader heard for {ms(now - self.timer_start)}"
        if self._options.pre_vote:
            self._start_pre_vote(now, reason)
        else:
            node.note("timeout", "election timeout: {}", (reason,))
            node.become_candidate(now)

    # -- campaigning --------------------------------------------------------

    def begin_campaign(self, seq: int, *, transfer: bool) -> None:
        """The node became a candidate; ask for votes once write `seq` is durable."""
        self.campaign_transfer = transfer
        self.pre_voting = False
        self.campaign_seq = seq
        self.votes = {}

    def stop_campaign(self) -> None:
        """The node follows: no pre-vote, and no RequestVote waiting for the disk."""
        self.campaign_seq = None
        self.pre_voting = False

    def on_persisted(self, seq: int, now: int) -> None:
        """Writes up to `seq` are durable: a candidate may now ask for votes."""
        if self.campaign_seq is not None and seq >= self.campaign_seq:
            self.campaign_seq = None
            self._send_vote_requests(now)

    def on_timeout_now(self, msg: TimeoutNow, now: int) -> None:
        node = self._node
        if msg.term != node.term or node.role is not Role.FOLLOWER or not node.is_voter:
            node.note("transfer", "ignores TimeoutNow from {} (term {})", (msg.src, msg.term))
            return
        node.note(
            "transfer",
            TOLD_TO_TAKE_OVER,
            (msg.src,),
        )
        node.become_candidate(now, transfer=True)

    def _start_pre_vote(self, now: int, reason: str) -> None:
        node = self._node
        if node.role is Role.CANDIDATE:
            node.become_follower(node.term, None, now)  # re-arms the timer
        else:
            self.arm_timer(now)
        self.pre_voting = True
        node.leader_id = None
        self.votes = {node.id: True}
        node.note(
            "timeout",
            "election timeout: {} -> pre-vote for term {} (own term stays {})",
            (reason, node.term + 1, node.term),
        )
        self._broadcast_vote_request(pre_vote=True)
        self._count_votes(now)

    def _send_vote_requests(self, now: int) -> None:
        node = self._node
        if node.role is not Role.CANDIDATE:
            return
        self.votes[node.id] = True
        self._broadcast_vote_request(pre_vote=False)
        self._count_votes(now)

    def _broadcast_vote_request(self, *, pre_vote: bool) -> None:
        node, log = self._node, self._log
        term = node.term + 1 if pre_vote else node.term
        for peer in node.configuration.all_voters:
            if peer != node.id:
                node.send(
                    RequestVote(
                        src=node.id,
                        dst=peer,
                        term=term,
                        last_log_index=log.last_index,
                        last_log_term=log.last_term,
                        pre_vote=pre_vote,
                        leadership_transfer=self.campaign_transfer and not pre_vote,
                    )
                )

    def on_vote_response(self, msg: VoteResponse, now: int) -> None:
        node = self._node
        if msg.pre_vote:
            if not self.pre_voting or msg.term != node.term + 1:
                return
        elif node.role is not Role.CANDIDATE or msg.term != node.term:
            return
        if node.configuration.vote_result(self.votes) is not VoteResult.PENDING:
            return  # already decided; late answers change nothing
        self.votes[msg.src] = msg.granted
        self._count_votes(now)

    def _count_votes(self, now: int) -> None:
        node = self._node
        conf = node.configuration
        result = conf.vote_result(self.votes)
        if result is VoteResult.PENDING:
            return
        granted = [v for v in conf.all_voters if self.votes.get(v)]
        if self.pre_voting:
            self.pre_voting = False
            if result is VoteResult.WON:
                node.note(
                    "pre-vote",
                    "pre-vote won with {} (quorum {}): starts a real election",
                    (", ".join(granted), conf.quorum_text()),
                )
                node.become_candidate(now)
            else:
                node.note("pre-vote", "pre-vote for term {} lost: stays follower", (node.term + 1,))
        elif result is VoteResult.WON:
            node.become_leader(now)
        else:
            node.note("vote", "lost the election for term {}: waits for a timeout", (node.term,))

    # -- voting -------------------------------------------------------------

    def on_request_vote(self, msg: RequestVote, now: int) -> None:
        node, log = self._node, self._log
        kind = "pre-vote" if msg.pre_vote else "vote"
        refusal = self._vote_refusal(msg, now)
        if refusal is not None:
            node.note("vote", REFUSES, (kind, msg.src, msg.term, refusal))
            self._reply_vote(msg, granted=False)
            return
        if msg.pre_vote:
            node.note(
                "vote",
                "grants pre-vote to {} for term {}: its log ({}@{}) is at least as up-to-date "
                "as ours ({}@{}) and no leader is alive",
                (msg.src, msg.term, msg.last_log_index, msg.last_log_term)
                + (log.last_index, log.last_term),
            )
            self._reply_vote(msg, granted=True)
            return
        node.voted_for = msg.src
        seq = node.save_hard_state()
        self.timer_start = now  # Raft §5.2: granting a vote resets the election timer.
        node.note(
            "vote",
            "grants vote to {} for term {}: its log ({}@{}) is at least as up-to-date as ours "
            "({}@{}); replies once the vote is on disk",
            (msg.src, msg.term, msg.last_log_index, msg.last_log_term)
            + (log.last_index, log.last_term),
        )
        reply = VoteResponse(src=node.id, dst=msg.src, term=node.term, granted=True)
        if "vote_before_persist" in self._bugs:
            self._outbox.send(reply)  # BUG SWITCH vote_before_persist
            return
        node.send_when_durable(seq, reply)

    def _vote_refusal(self, msg: RequestVote, now: int) -> str | None:
        """Why we will not vote for the sender, or None if we will."""
        node, log = self._node, self._log
        if msg.term < node.term:
            return f"its term {msg.term} < our term {node.term}"
        if (
            not msg.pre_vote
            and msg.term == node.term
            and node.voted_for == node.id
            and "double_vote" not in self._bugs  # BUG SWITCH double_vote
        ):
            # Said first: it is why a candidate refuses a rival, whatever their logs.
            if node.role is Role.CANDIDATE:
                return f"we are a candidate in term {node.term} and voted for ourselves"
            if node.role is Role.LEADER:
                return f"we already lead term {node.term}"
            return f"we voted for ourselves in term {node.term}"
        if not log.is_up_to_date(msg.last_log_term, msg.last_log_index) and (
            "vote_without_log_check" not in self._bugs  # BUG SWITCH vote_without_log_check
        ):
            ours, theirs = (
                (log.last_term, log.last_index),
                (
                    msg.last_log_term,
                    msg.last_log_index,
                ),
            )
            if theirs[0] != ours[0]:
                why = f"candidate's last log term {theirs[0]} < {ours[0]}"
            else:
                why = f"candidate's log ends at {theirs[1]} < {ours[1]} (same last term)"
            return f"{why} {LOG_BEHIND}"
        if msg.pre_vote:
            if node.role is Role.LEADER:
                return "we are the leader and alive"
            if self._leader_alive(now):
                return f"leader {node.leader_id} was heard {ms(now - self.heard_at)} ago"
            if msg.term > node.term:
                return None
        # A real vote (or a pre-vote for the term we are in): one vote per term.
        # BUG SWITCH double_vote skips this rule.
        if node.voted_for not in (None, msg.src) and "double_vote" not in self._bugs:
            if msg.pre_vote:
                whom = "ourselves" if node.voted_for == node.id else node.voted_for
                return f"term {msg.term} is not ahead of ours, and our vote in it went to {whom}"
            return f"already voted for {node.voted_for} in term {node.term}"
        return None

    def _reply_vote(self, msg: RequestVote, *, granted: bool) -> None:
        node = self._node
        # A granted pre-vote echoes the term asked for; a refusal tells our term.
        term = msg.term if (msg.pre_vote and granted) else node.term
        node.send(
            VoteResponse(
                src=node.id, dst=msg.src, term=term, granted=granted, pre_vote=msg.pre_vote
            )
        )

    # -- the lease (thesis §4.2.3) ----------------------------------------------

    def ignores_disruptive_vote(self, msg: Message, now: int) -> bool:
        """Thesis §4.2.3: ignore RequestVote while we know a leader is alive.

        A removed or partitioned server cannot then depose a working leader by
        raising its term. Requests sent on a leader's behalf (TimeoutNow) pass.
        As in etcd, this comes with CheckQuorum: both rest on the leader's
        lease, and without CheckQuorum a leader cut off from its followers would
        keep that lease forever.
        """
        node = self._node
        if (
            not self._options.check_quorum
            or not isinstance(msg, RequestVote)
            or msg.pre_vote
            or msg.leadership_transfer
            or msg.term <= node.term
        ):
            return False
        # A node that restarted has forgotten when it last heard from the leader; a
        # leader's lease (and lease reads) may still rely on it, so it waits one
        # minimum election timeout before voting.
        restarted = self.restarted_at is not None and (
            now - self.restarted_at < self._options.election_timeout[0]
        )
        if node.role is Role.LEADER:
            leader = "we lead"
        elif self._leader_alive(now):
            leader = f"leader {node.leader_id} is alive"
        elif restarted:
            leader = "we restarted less than an election timeout ago and a lease may hold"
        else:
            return False
        node.note(
            "vote",
            IGNORES,
            (msg.src, msg.term, leader),
        )
        return True

    def _leader_alive(self, now: int) -> bool:
        return (
            self._node.leader_id is not None
            and self.heard_at is not None
            and now - self.heard_at < self._options.election_timeout[0]
        )
