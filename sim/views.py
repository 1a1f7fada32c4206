"""Read-only views handed to users: they look up the live world on every access.

Because they hold only an id, views stay valid across crashes, restarts and
time travel (`Cluster.goto`), always showing the state of the moment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from raft import Configuration, LogEntry, Node

if TYPE_CHECKING:
    from sim.engine.journal import Action, Journal
    from sim.engine.proposals import AdminRequest, Proposal, ReadRequest
    from sim.engine.world import World


class Timeline(Protocol):
    """What a view reads of its `Cluster`: the world of the moment (a new object
    after time travel, so views look it up on every access) and the journal that
    says whether a request's moment has come yet."""

    _world: World
    _journal: Journal


class NodeView:
    """What one node holds now (the last state it had, if it is down)."""

    def __init__(self, cluster: Timeline, node_id: str) -> None:
        self._cluster = cluster
        self.id = node_id

    @property
    def _node(self) -> Node:
        return self._cluster._world.nodes[self.id]

    @property
    def role(self) -> str:
        """ "follower", "candidate", "leader" or "learner"."""
        return self._node.role.value

    @property
    def term(self) -> int:
        return self._node.term

    @property
    def voted_for(self) -> str | None:
        return self._node.voted_for

    @property
    def leader_id(self) -> str | None:
        """Who this node believes leads its term."""
        return self._node.leader_id

    @property
    def commit_index(self) -> int:
        return self._node.commit_index

    @property
    def last_applied(self) -> int:
        return self._node.last_applied

    @property
    def durable_index(self) -> int:
        """Last log index known to be on this node's disk."""
        return self._node.log.durable_index

    @property
    def running(self) -> bool:
        return self._cluster._world.running[self.id]

    @property
    def pre_voting(self) -> bool:
        return self._node.pre_voting

    @property
    def election_deadline(self) -> float | None:
        """Simulated time (s) at which this node's election timer expires; None on a leader."""
        deadline = self._node.election_deadline
        return None if deadline is None else deadline / 1_000_000

    @property
    def election_timeout(self) -> float | None:
        """The length (s) of the running election timer: it last started counting at
        `election_deadline - election_timeout`. None on a leader."""
        if self.election_deadline is None:
            return None
        return self._node.election.timeout / 1_000_000

    @property
    def votes(self) -> dict[str, bool]:
        """While it campaigns or asks for pre-votes: the answers so far, by voter (True:
        granted, itself included); empty otherwise."""
        if not self.running or not (self.role == "candidate" or self.pre_voting):
            return {}
        return dict(self._node.election.votes)

    @property
    def log(self) -> list[LogEntry]:
        """Entries in memory now, durable or not."""
        return self._node.log.entries()

    @property
    def applied(self) -> list[tuple[int, str]]:
        """Client commands applied since this node last started: (index, command)."""
        return list(self._node.fsm.applied)

    @property
    def members(self) -> Configuration:
        """The configuration this node currently uses (.voters, .old_voters while joint,
        .learners)."""
        return self._node.configuration

    @property
    def snapshot_index(self) -> int:
        """Last index covered by this node's snapshot (0: none); `.log` starts after it."""
        return self._node.log.snapshot_index

    @property
    def membership_stage(self) -> str:
        """On a leader: the stage of its membership change ("none", "catching up", ...)."""
        return self._node.membership.stage.value

    @property
    def replication(self) -> dict[str, dict[str, object]]:
        """On a leader: per peer, its Replicator's state, next and match index, requests
        in flight; empty elsewhere."""
        return {
            peer: {
                "state": r.state.value,
                "next_index": r.next_index,
                "match_index": r.match_index,
                "inflight": len(r.inflight),
            }
            for peer, r in self._node.replicators.items()
        }

    @property
    def transferring_to(self) -> str | None:
        """On a leader: the node it is handing leadership to, if any."""
        return self._node.transfer.target

    @property
    def data(self) -> dict[str, str]:
        """The key-value store's contents on this node."""
        return dict(self._node.fsm.state_machine.data)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        state = self.role if self.running else "down"
        return (
            f"<{self.id} {state} term={self.term} commit={self.commit_index} "
            f"applied={self.last_applied} log={len(self.log)}>"
        )


class SubmitHandle:
    """The answer to `Cluster.submit`, kept up to date as the cluster runs."""

    def __init__(
        self, cluster: Timeline, proposal_id: int, position: int, action: Action | None
    ) -> None:
        self._cluster = cluster
        self._id = proposal_id
        # The journal entry of the submit: if time travel drops it, the handle is void.
        self._position = position
        self._action = action

    @property
    def _proposal(self) -> Proposal:
        if not self._cluster._journal.is_done(self._position, self._action):
            raise LookupError("this submission was undone by time travel (goto/back)")
        proposal = self._cluster._world.proposals.get(self._id)
        if proposal is None:
            raise LookupError(
                "this submission is no longer kept: Cluster(keep_history=False) forgets "
                "settled proposals"
            )
        return proposal

    @property
    def command(self) -> str:
        return self._proposal.command

    @property
    def node(self) -> str | None:
        return self._proposal.node

    @property
    def accepted(self) -> bool:
        return self._proposal.accepted

    @property
    def index(self) -> int | None:
        return self._proposal.index

    @property
    def term(self) -> int | None:
        return self._proposal.term

    @property
    def reason(self) -> str | None:
        return self._proposal.reason

    @property
    def leader_hint(self) -> str | None:
        return self._proposal.leader_hint

    @property
    def committed(self) -> bool:
        """True once the accepting leader learned that the entry committed."""
        return self._proposal.committed

    @property
    def outcome(self) -> str:
        """ "refused", "pending", "committed" or "unknown" (see sim.engine.proposals)."""
        return self._proposal.outcome

    @property
    def result(self) -> str | None:
        """The state machine's answer, once the leader applied the command."""
        return self._proposal.result

    @property
    def invoked_at(self) -> float:
        """When the client submitted, in simulated seconds."""
        return self._proposal.invoked_us / 1_000_000

    @property
    def settled_at(self) -> float | None:
        """When the outcome became final (refused, committed or unknown), or None."""
        return _seconds(self._proposal.settled_us)

    @property
    def result_at(self) -> float | None:
        """When the leader's state machine answered (`result`), or None."""
        return _seconds(self._proposal.result_us)

    def __repr__(self) -> str:
        p = self._proposal
        if not p.accepted:
            return f"<submit {p.command!r} refused: {p.reason}>"
        return f"<submit {p.command!r} at {p.index}@{p.term} on {p.node}: {p.outcome}>"


class AdminHandle:
    """The answer to an admin request (`add_node`, `transfer_leadership`, `snapshot`, ...).

    `.accepted` and `.reason` answer at once; `.outcome` ("refused", "pending",
    "done", "failed") and `.done` follow the request as the cluster runs.
    """

    def __init__(
        self, cluster: Timeline, request_id: int, position: int, action: Action | None
    ) -> None:
        self._cluster = cluster
        self._id = request_id
        self._position = position
        self._action = action

    @property
    def _request(self) -> AdminRequest:
        if not self._cluster._journal.is_done(self._position, self._action):
            raise LookupError("this request was undone by time travel (goto/back)")
        return self._cluster._world.admin_requests[self._id]

    @property
    def kind(self) -> str:
        return self._request.kind

    @property
    def node(self) -> str | None:
        """The node that was asked (the leader, for cluster-wide requests)."""
        return self._request.node

    @property
    def accepted(self) -> bool:
        return self._request.accepted

    @property
    def reason(self) -> str | None:
        return self._request.reason

    @property
    def outcome(self) -> str:
        return self._request.outcome

    @property
    def done(self) -> bool:
        return self._request.done

    def __repr__(self) -> str:
        r = self._request
        why = f": {r.reason}" if r.reason else ""
        return f"<{r.kind} via {r.node}: {r.outcome}{why}>"


class ReadHandle:
    """The answer to `Cluster.read`, kept up to date as the cluster runs.

    `.accepted` and `.reason` answer at once; `.outcome` ("refused",
    "pending", "done", "failed") and `.value` (None for an absent key) follow
    the read as the cluster runs.
    """

    def __init__(
        self, cluster: Timeline, read_id: int, position: int, action: Action | None
    ) -> None:
        self._cluster = cluster
        self._id = read_id
        self._position = position
        self._action = action

    @property
    def _read(self) -> ReadRequest:
        if not self._cluster._journal.is_done(self._position, self._action):
            raise LookupError("this read was undone by time travel (goto/back)")
        return self._cluster._world.reads[self._id]

    @property
    def key(self) -> str:
        return self._read.key

    @property
    def mode(self) -> str:
        return self._read.mode

    @property
    def node(self) -> str | None:
        return self._read.node

    @property
    def accepted(self) -> bool:
        return self._read.accepted

    @property
    def reason(self) -> str | None:
        return self._read.reason

    @property
    def leader_hint(self) -> str | None:
        return self._read.leader_hint

    @property
    def outcome(self) -> str:
        return self._read.outcome

    @property
    def done(self) -> bool:
        return self._read.done

    @property
    def value(self) -> str | None:
        return self._read.value

    @property
    def invoked_at(self) -> float:
        """When the client asked, in simulated seconds."""
        return self._read.invoked_us / 1_000_000

    @property
    def settled_at(self) -> float | None:
        """When the read was answered, refused or failed, or None while pending."""
        return _seconds(self._read.settled_us)

    def __repr__(self) -> str:
        r = self._read
        if r.outcome == "done":
            return f"<read {r.key} ({r.mode}) via {r.node}: {r.value!r}>"
        why = f": {r.reason}" if r.reason else ""
        return f"<read {r.key} ({r.mode}) via {r.node}: {r.outcome}{why}>"


def _seconds(us: int | None) -> float | None:
    return None if us is None else us / 1_000_000
