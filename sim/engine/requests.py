"""What clients and administrators ask of the cluster, and what became of it.

A proposal, a read or an admin request (membership change, leadership
transfer, snapshot) goes to one node; the node answers at once (accepted with
a ticket, or refused with a reason) and settles accepted requests later
through its outputs. The desk keeps each request as a record the caller holds
(sim/engine/proposals.py) and fills in its outcome: a proposal is committed
when the leader that took it knows so, and "unknown" when that leader crashes
or steps down first, since the entry may still commit under the next leader.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING

from raft import Role
from sim.engine.part import WorldPart
from sim.engine.proposals import AdminRequest, Proposal, ReadRequest

if TYPE_CHECKING:
    from raft import AdminAnswer, Configuration, Node


class RequestDesk(WorldPart):
    """The client and admin verbs of `World` (which provides nodes, clock and trace)."""

    running: dict[str, bool]

    if TYPE_CHECKING:

        def _carry_out(self, node_id: str, node: Node) -> None: ...

        def _create_node(self, node_id: str, configuration: Configuration) -> None: ...

        def leader(self) -> str | None: ...

    def _open_desk(self) -> None:
        """No request yet."""
        # Proposals by id; with `forget_settled`, only those still pending are kept.
        self.proposals: dict[int, Proposal] = {}
        self._next_proposal = 0
        self.forget_settled = False
        self._settled_ids: deque[int] = deque()  # with forget_settled: the recent ones kept
        self._keep_settled = 10_000
        self.admin_requests: list[AdminRequest] = []
        self._tickets: dict[tuple[str, int], AdminRequest] = {}
        self.reads: list[ReadRequest] = []
        self._read_tickets: dict[tuple[str, int], ReadRequest] = {}
        # Accepted proposals per leader, oldest first, and by (leader, index) for results.
        self._pending: dict[str, deque[Proposal]] = {}
        self._awaiting_result: dict[tuple[str, int], Proposal] = {}

    def change_members(self, voters: tuple[str, ...], learners: tuple[str, ...]) -> AdminRequest:
        """Ask the leader to change the configuration (Raft §6, thesis §4).

        Servers new to the cluster are created only once the leader accepts, so
        a refused change leaves no server behind. They start believing the
        configuration of the moment before the change, which excludes them.
        """
        leader = self.leader()
        before = self.nodes[leader].configuration if leader else self.initial_configuration
        new = [node_id for node_id in (*voters, *learners) if node_id not in self.nodes]
        return self._admin(
            "membership",
            leader,
            lambda node: node.change_members(voters, learners, self.now),
            on_accept=lambda: [self._create_node(node_id, before) for node_id in new],
        )

    def transfer_leadership(self, target: str | None) -> AdminRequest:
        """Ask the leader to hand over to `target` (None: the most up-to-date voter)."""
        return self._admin(
            "transfer", self.leader(), lambda node: node.transfer_leadership(target, self.now)
        )

    def snapshot(self, node_id: str) -> AdminRequest:
        """Ask a node to snapshot what it has applied and compact its log."""
        return self._admin("snapshot", node_id, lambda node: node.take_snapshot(self.now))

    def _admin(
        self,
        kind: str,
        node_id: str | None,
        ask: Callable[[Node], AdminAnswer],
        on_accept: Callable[[], object] | None = None,
    ) -> AdminRequest:
        request = AdminRequest(id=len(self.admin_requests), kind=kind, node=node_id, accepted=False)
        self.admin_requests.append(request)
        if node_id is None or not self.running[node_id]:
            why = "no leader is known" if node_id is None else f"{node_id} is down"
            request.outcome, request.reason = "refused", why
            self._record(node_id, "Client", "refused", "admin: {} refused: {}", (kind, why))
            return request
        node = self.nodes[node_id]
        answer = ask(node)
        request.accepted, request.reason = answer.accepted, answer.reason
        if answer.accepted and on_accept is not None:
            # Before the node's outputs are carried out: they may be messages to these.
            on_accept()
        if not answer.accepted:
            request.outcome = "refused"
        elif answer.done:
            request.outcome = "done"
        else:
            self._tickets[(node_id, answer.ticket)] = request
        self._carry_out(node_id, node)
        return request

    def submit(self, command: str, to: str | None) -> Proposal:
        """A client proposal to `to` (or the current leader)."""
        target = to if to is not None else self.leader()
        proposal = Proposal(
            id=self._next_proposal,
            command=command,
            node=target,
            accepted=False,
            invoked_us=self.now,
        )
        self._next_proposal += 1
        self.proposals[proposal.id] = proposal
        self._record(target, "Client", "submit", "client -> {}: {!r}", (target or "?", command))
        if target is None:
            proposal.outcome, proposal.reason = "refused", "no leader is known"
            self._record(None, "Client", "refused", "client: {!r} refused: no leader", (command,))
            self._settled(proposal)
            return proposal
        if not self.running[target]:
            proposal.outcome, proposal.reason = "refused", f"{target} is down"
            self._record(
                target, "Client", "refused", "client: {!r} refused: {} is down", (command, target)
            )
            self._settled(proposal)
            return proposal
        node = self.nodes[target]
        answer = node.propose(command, self.now)
        proposal.accepted = answer.accepted
        proposal.index, proposal.term = answer.index, answer.term
        proposal.reason, proposal.leader_hint = answer.reason, answer.leader_hint
        if answer.accepted:
            assert answer.index is not None
            self._pending.setdefault(target, deque()).append(proposal)
            self._awaiting_result[(target, answer.index)] = proposal
        else:
            proposal.outcome = "refused"
            self._settled(proposal)
        self._carry_out(target, node)
        return proposal

    def open_proposals(self) -> list[Proposal]:
        """Proposals whose record may still change: accepted, and not yet resolved.

        Every other proposal's record is final; time travel's checkpoints share them.
        """
        return [*self._awaiting_result.values(), *chain.from_iterable(self._pending.values())]

    def _settled(self, proposal: Proposal) -> None:
        """A proposal's outcome is final; without history, forget the oldest settled ones."""
        proposal.settled_us = self.now
        if self.forget_settled:
            self._settled_ids.append(proposal.id)
            if len(self._settled_ids) > self._keep_settled:
                del self.proposals[self._settled_ids.popleft()]

    def read(self, key: str, mode: str, to: str | None) -> ReadRequest:
        """A client reads `key` outside the log from `to` (or the current leader)."""
        target = to if to is not None else self.leader()
        read = ReadRequest(
            id=len(self.reads), key=key, mode=mode, node=target, accepted=False, invoked_us=self.now
        )
        self.reads.append(read)
        self._record(
            target, "Client", "read", "client -> {}: read {} ({})", (target or "?", key, mode)
        )
        if target is None or not self.running[target]:
            why = "no leader is known" if target is None else f"{target} is down"
            read.outcome, read.reason, read.settled_us = "refused", why, self.now
            self._record(target, "Client", "refused", "client: read {} refused: {}", (key, why))
            return read
        node = self.nodes[target]
        answer = node.read(key, mode, self.now)
        read.accepted, read.reason = answer.accepted, answer.reason
        if answer.accepted:
            self._read_tickets[(target, answer.ticket)] = read
        else:
            read.outcome, read.settled_us = "refused", self.now
            read.leader_hint = node.leader_id if node.leader_id != target else None
        self._carry_out(target, node)
        return read

    def _settle(self, node_id: str) -> None:
        """Resolve proposals accepted by `node_id` that committed, or can no longer be known."""
        pending = self._pending.get(node_id)
        if not pending:
            return
        node = self.nodes[node_id]
        if (
            not self.running[node_id]
            or node.role is not Role.LEADER
            or node.term != pending[0].term
        ):
            why = "crashed" if not self.running[node_id] else "stepped down"
            for proposal in pending:
                proposal.outcome = "unknown"
                proposal.reason = f"leader {why} before it knew the entry committed"
                self._awaiting_result.pop((node_id, proposal.index), None)
                self._settled(proposal)
            pending.clear()
            return
        while pending and pending[0].index <= node.commit_index:
            proposal = pending.popleft()
            proposal.outcome = "committed"
            self._settled(proposal)
