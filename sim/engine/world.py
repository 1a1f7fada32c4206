"""The simulated world: nodes, network, disks and timers around one event heap.

Theory of operation: the world owns the clock (integer microseconds) and an
event heap of message deliveries, timer expiries and disk flushes. `step()`
pops the next event, hands it to the node it concerns as an input, and carries
out the outputs the node returns (raft/outputs.py), recording every event in
the trace. All randomness comes from named streams of one seed, so the same
seed and the same calls produce the same trace.

Stale events (a timer set again or cancelled, a flush of a disk that crashed,
a message lost with its receiver) stay in the heap and are skipped silently
when they surface; they never count as a step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from heapq import heappop

import attrs

from raft import (
    Applied,
    CancelTimer,
    Configuration,
    DurableState,
    Finished,
    KVStateMachine,
    LogEntry,
    Message,
    Node,
    Note,
    Persist,
    RaftOptions,
    ReadDone,
    Role,
    Send,
    SetTimer,
)
from sim.check.checkers import Checker, Violation, default_checkers, overriding
from sim.engine.disk import Disk
from sim.engine.events import DELIVER, FLUSH, TIMER, EventQueue
from sim.engine.network import Network
from sim.engine.proposals import AdminRequest, Proposal, ReadRequest
from sim.engine.rng import RandomStreams
from sim.engine.trace import Trace


@attrs.frozen(kw_only=True)
class WorldSettings:
    """Everything that shapes a world besides its seed. Times in microseconds."""

    raft: RaftOptions = RaftOptions()
    latency: tuple[int, int] = (2_000, 8_000)
    drop: float = 0.0
    duplicate: float = 0.0
    flush_delay: int = 2_000
    reorder: bool = False


class World:
    """Nodes, network, disks and timers, advanced one event at a time."""

    def __init__(
        self,
        node_ids: list[str],
        seed: int,
        settings: WorldSettings,
        trace: Trace,
        initial_logs: dict[str, list[LogEntry]] | None = None,
        checkers: Sequence[Checker] | None = None,
    ) -> None:
        self.now = 0
        self.settings = settings
        self.streams = RandomStreams(seed)
        self.queue = EventQueue()
        self.network = Network(
            self.streams.stream("network"),
            latency=settings.latency,
            drop=settings.drop,
            duplicate=settings.duplicate,
            reorder=settings.reorder,
        )
        self.trace = trace
        self.initial_configuration = Configuration(node_ids)
        # What each node believes before its log says otherwise (later nodes: the
        # configuration of the moment they were created, which excludes them).
        self._initial_confs: dict[str, Configuration] = {}
        self.nodes: dict[str, Node] = {}
        self.running: dict[str, bool] = {}
        self.disks: dict[str, Disk] = {}
        self.events_processed = 0
        # Proposals by id; with `forget_settled`, only those still pending are kept.
        self.proposals: dict[int, Proposal] = {}
        self._next_proposal = 0
        self.forget_settled = False
        self._settled_ids: deque[int] = deque()  # with forget_settled: the recent ones kept
        self.trace_offset = 0  # trace events dropped from the front by trim_history
        self._keep_settled = 10_000
        self.admin_requests: list[AdminRequest] = []
        self._tickets: dict[tuple[str, int], AdminRequest] = {}
        self.reads: list[ReadRequest] = []
        self._read_tickets: dict[tuple[str, int], ReadRequest] = {}
        self.violations: list[Violation] = []
        self.checkers = default_checkers() if checkers is None else list(checkers)
        self._timer_tokens: dict[tuple[str, str], int] = {}
        self._next_token = 0
        self._pending: dict[str, deque[Proposal]] = {}
        self._awaiting_result: dict[tuple[str, int], Proposal] = {}
        initial_logs = initial_logs or {}
        # Preloaded logs tell a history in which some leader reached the highest
        # term present; every node starts there, so the next leader's term is new.
        history_term = max((e[-1].term for e in initial_logs.values() if e), default=0)
        for node_id in node_ids:
            disk = self.disks[node_id] = Disk()
            disk.durable = DurableState(term=history_term, entries=initial_logs.get(node_id, []))
            self._boot(node_id)

    @property
    def checkers(self) -> list[Checker]:
        """The safety checkers watching this world (sim/check/checkers)."""
        return self._checkers

    @checkers.setter
    def checkers(self, checkers: Sequence[Checker]) -> None:
        self._checkers = list(checkers)
        for checker in self._checkers:
            checker.attach(self)
        # Per hook, only the checkers that override it: an unused hook costs nothing.
        self._after_input = overriding(checkers, "after_input")
        self._on_applied = overriding(checkers, "on_applied")
        self._on_send = overriding(checkers, "on_send")
        self._on_deliver = overriding(checkers, "on_deliver")
        self._on_write = overriding(checkers, "on_write")
        self._on_durable = overriding(checkers, "on_durable")
        self._on_start = overriding(checkers, "on_start")

    # -- the engine -------------------------------------------------------

    def next_event_time(self) -> int | None:
        """Time of the next live event (stale ones at the head are discarded)."""
        queue = self.queue
        while queue.heap:
            time, _, kind, payload = queue.heap[0]
            if not self._is_stale(kind, payload):
                return time
            queue.pop()
        return None

    def step(self, limit: int | None = None) -> bool:
        """Process the next live event if it happens by `limit`; False if none does."""
        heap = self.queue.heap
        in_flight = self.network.in_flight
        while heap:
            time, _, kind, payload = heap[0]
            # Messages, the commonest event, are checked inline: this is the hot loop.
            if (payload not in in_flight) if kind == DELIVER else self._is_stale(kind, payload):
                heappop(heap)
                continue
            if limit is not None and time > limit:
                return False
            heappop(heap)
            self.now = time
            self.events_processed += 1
            if kind == DELIVER:
                self._deliver(payload)
            elif kind == TIMER:
                self._fire(*payload)
            else:
                self._flush(payload[0])
            return True
        return False

    def advance_to(self, time_us: int) -> None:
        """Move the clock forward with no event (the caller checked none is due)."""
        if time_us < self.now:
            raise ValueError("time cannot go backwards")
        self.now = time_us

    def _is_stale(self, kind: int, payload) -> bool:
        if kind == DELIVER:
            return payload not in self.network.in_flight
        if kind == TIMER:
            node, name, token = payload
            return self._timer_tokens.get((node, name)) != token
        node, generation = payload
        return self.disks[node].generation != generation

    def _deliver(self, msg_id: int, *, forced: bool = False) -> None:
        network = self.network
        flight = network.in_flight[msg_id]
        link = (flight.message.src, flight.message.dst)
        if link in network.held_links and not forced:
            network.held[msg_id] = flight  # stays in flight, waiting for release
            self._record(
                flight.message.dst,
                "Network",
                "hold",
                f"{link[0]} -> {link[1]} {flight.text} held (link held by request)",
                msg_id,
            )
            return
        network.held.pop(msg_id, None)
        network.land(msg_id)
        msg = flight.message
        # The sender cannot know the receiver is down: the message travels and is lost.
        reason = f"{msg.dst} is down" if not self.running[msg.dst] else None
        reason = reason or self.network.blocked(msg.src, msg.dst)
        if reason is not None:
            self._record(
                msg.dst, "Network", "drop", f"{msg.src} -> {msg.dst} {msg} lost: {reason}", msg_id
            )
            return
        self._record(
            msg.dst,
            "Network",
            "receive",
            f"{msg.dst} receives {flight.text} from {msg.src}",
            msg_id,
        )
        node = self.nodes[msg.dst]
        for checker in self._on_deliver:
            found = checker.on_deliver(msg, node, self.now)
            if found:
                self._alarm(found)
        node.receive(msg, self.now)
        self._carry_out(msg.dst, node)

    def _fire(self, node_id: str, name: str, token: int) -> None:
        del self._timer_tokens[(node_id, name)]
        self._record(node_id, "Node", "timer", f"{node_id} {name} timer fires")
        node = self.nodes[node_id]
        node.fire(name, self.now)
        self._carry_out(node_id, node)

    def _flush(self, node_id: str) -> None:
        last_seq, writes = self.disks[node_id].flush()
        for checker in self._on_durable:
            found = checker.on_durable(node_id, writes, self.now)
            if found:
                self._alarm(found)
        self._record(
            node_id,
            "Disk",
            "flush",
            f"{node_id} Disk: flush done, now durable: {'; '.join(map(str, writes))}",
        )
        node = self.nodes[node_id]
        node.persisted(last_seq, self.now)
        self._carry_out(node_id, node)

    def _carry_out(self, node_id: str, node: Node) -> None:
        """Carry out a node's outputs, in the order it produced them."""
        for out in node.take_outputs():
            kind = type(out)
            # Commonest first: notes, then messages.
            if kind is Note:
                self._record(node_id, out.component, out.kind, out.text)
            elif kind is Send:
                self._send(out.message)
            elif kind is Persist:
                for checker in self._on_write:
                    found = checker.on_write(node, out.write, self.now)
                    if found:
                        self._alarm(found)
                disk = self.disks[node_id]
                if disk.write(out.seq, out.write):
                    self.queue.push(
                        self.now + self.settings.flush_delay, FLUSH, (node_id, disk.generation)
                    )
            elif kind is SetTimer:
                self._next_token += 1
                self._timer_tokens[(node_id, out.name)] = self._next_token
                self.queue.push(self.now + out.delay, TIMER, (node_id, out.name, self._next_token))
            elif kind is CancelTimer:
                self._timer_tokens.pop((node_id, out.name), None)
            elif kind is Finished:
                request = self._tickets.pop((node_id, out.ticket), None)
                if request is not None:
                    request.outcome = "done" if out.ok else "failed"
                    request.reason = out.reason
            elif kind is ReadDone:
                read = self._read_tickets.pop((node_id, out.ticket), None)
                if read is not None:
                    read.outcome = "done" if out.ok else "failed"
                    read.value = out.value if out.ok else None
                    if not out.ok:
                        read.reason = out.reason
            elif kind is Applied:
                proposal = self._awaiting_result.pop((node_id, out.index), None)
                if proposal is not None and proposal.term == out.term:
                    proposal.result = out.result
                for checker in self._on_applied:
                    found = checker.on_applied(node_id, out.index, out.term, out.command, self.now)
                    if found:
                        self._alarm(found)
            else:
                raise TypeError(f"unknown output {out!r}")
        if self._pending.get(node_id):
            self._settle(node_id)
        for checker in self._after_input:
            found = checker.after_input(node, self.now)
            if found:
                self._alarm(found)

    def _alarm(self, violations: Sequence[Violation]) -> None:
        for violation in violations:
            self.violations.append(violation)
            self._record(None, "Checker", "violation", f"SAFETY VIOLATION: {violation}")

    def _send(self, msg: Message) -> None:
        for checker in self._on_send:
            found = checker.on_send(msg, self.now)
            if found:
                self._alarm(found)
        flights, reason = self.network.send(msg, self.now)
        if reason is not None:
            self._record(msg.src, "Network", "drop", f"{msg.src} -> {msg.dst} {msg} lost: {reason}")
            return
        for flight in flights:
            copy = " (duplicated)" if len(flights) > 1 else ""
            self._record(
                msg.src,
                "Network",
                "send",
                f"{msg.src} -> {msg.dst} {flight.text}{copy}, lands in "
                f"{(flight.lands_us - self.now) / 1000:g} ms",
                flight.msg_id,
            )
            self.queue.push(flight.lands_us, DELIVER, flight.msg_id)

    def _record(
        self, node: str | None, component: str, kind: str, text: str, msg_id: int | None = None
    ) -> None:
        rows = self.trace.rows
        rows.append((self.trace_offset + len(rows), self.now, node, component, kind, text, msg_id))

    def trim_history(self, keep: int) -> None:
        """Forget all but the last `keep` trace events and applied commands per node,
        and settled proposals, so that memory stays bounded in long runs."""
        trace = self.trace
        if len(trace) > 2 * keep:
            dropped = len(trace) - keep
            del trace[:dropped]
            self.trace_offset += dropped
        for node in self.nodes.values():
            if len(node.fsm.applied) > 2 * keep:
                del node.fsm.applied[:-keep]
        self._keep_settled = keep

    # -- nodes ------------------------------------------------------------

    def _boot(self, node_id: str) -> None:
        node = Node(
            node_id,
            initial_configuration=self._initial_confs.get(node_id, self.initial_configuration),
            options=self.settings.raft,
            rng=self.streams.stream(f"election/{node_id}"),
            durable=self.disks[node_id].durable.copy(),
            state_machine=KVStateMachine(),
        )
        self.nodes[node_id] = node
        self.running[node_id] = True
        node.start(self.now)
        for checker in self._on_start:
            found = checker.on_start(node, self.now)
            if found:
                self._alarm(found)
        self._carry_out(node_id, node)

    def crash(self, node_id: str) -> None:
        """Stop a node: it loses volatile state, unflushed writes and messages to it."""
        if not self.running[node_id]:
            raise ValueError(f"{node_id} is already down")
        self.running[node_id] = False
        lost_writes = self.disks[node_id].crash()
        lost_messages = self.network.discard_to(node_id)
        for key in [k for k in self._timer_tokens if k[0] == node_id]:
            del self._timer_tokens[key]
        self.nodes[node_id].take_outputs()
        writes = "; ".join(map(str, lost_writes)) or "none"
        self._record(
            node_id,
            "Cluster",
            "crash",
            f"{node_id} crashes: volatile state gone; unflushed writes lost: {writes}; "
            f"{len(lost_messages)} message(s) in flight to it lost",
        )
        self._settle(node_id)
        for (owner, ticket), request in list(self._tickets.items()):
            if owner == node_id:
                request.outcome, request.reason = "failed", f"{node_id} crashed"
                del self._tickets[(owner, ticket)]
        for (owner, ticket), read in list(self._read_tickets.items()):
            if owner == node_id:
                read.outcome, read.reason = "failed", f"{node_id} crashed"
                del self._read_tickets[(owner, ticket)]

    def restart(self, node_id: str) -> None:
        """Start a crashed node again from what its disk holds."""
        if self.running[node_id]:
            raise ValueError(f"{node_id} is running; crash it first")
        durable = self.disks[node_id].durable
        self._record(
            node_id,
            "Cluster",
            "restart",
            f"{node_id} restarts from disk: term {durable.term}, vote {durable.voted_for or '-'}, "
            f"{len(durable.entries)} {'entry' if len(durable.entries) == 1 else 'entries'}"
            + (f", {durable.snapshot}" if durable.snapshot else ""),
        )
        self._boot(node_id)

    def expire_election_timer(self, node_id: str, delay: int) -> bool:
        """Make a node's election timer expire `delay` from now (False on a leader)."""
        node = self.nodes[node_id]
        if not self.running[node_id]:
            raise ValueError(f"{node_id} is down")
        done = node.expire_election_timer(delay, self.now)
        if not done:
            self._record(node_id, "Cluster", "timeout", f"{node_id} is leader: no election timer")
        self._carry_out(node_id, node)
        return done

    # -- the network ------------------------------------------------------

    def partition(self, *groups: tuple[str, ...]) -> None:
        """Replace any partition with these groups (the rest form one more)."""
        self.network.partition(groups, self.nodes)
        shown = " | ".join("{" + ",".join(g) + "}" for g in self.network.groups)
        self._record(None, "Network", "partition", f"network partitioned: {shown}")

    def heal(self) -> None:
        """Remove partitions and cuts; latency, loss and duplication stay."""
        self.network.heal()
        self._record(None, "Network", "heal", "network healed: every link works again")

    def cut(self, src: str, dst: str) -> None:
        """Lose every message from `src` to `dst` (one way)."""
        self.network.cuts.add((src, dst))
        self._record(src, "Network", "cut", f"link {src} -> {dst} cut (one way)")

    def set_network(
        self,
        drop: float | None,
        duplicate: float | None,
        latency: tuple[int, int] | None,
        reorder: bool | None,
    ) -> None:
        """Change the settings given (None keeps a setting as it is)."""
        network = self.network
        if drop is not None:
            network.drop = drop
        if duplicate is not None:
            network.duplicate = duplicate
        if latency is not None:
            network.latency = latency
        if reorder is not None:
            network.reorder = reorder
        low, high = network.latency
        self._record(
            None,
            "Network",
            "settings",
            f"network: drop {network.drop:g}, duplicate {network.duplicate:g}, "
            f"latency {low / 1000:g}-{high / 1000:g} ms, "
            f"{'reordering' if network.reorder else 'FIFO'} links",
        )

    # -- admin requests (through the leader) --------------------------------

    def change_members(self, voters: tuple[str, ...], learners: tuple[str, ...]) -> AdminRequest:
        """Ask the leader to change the configuration (Raft §6, thesis §4)."""
        for node_id in (*voters, *learners):
            if node_id not in self.nodes:
                self._create_node(node_id)
        return self._admin(
            "membership",
            self.leader(),
            lambda node: node.change_members(voters, learners, self.now),
        )

    def transfer_leadership(self, target: str | None) -> AdminRequest:
        """Ask the leader to hand over to `target` (None: the most up-to-date voter)."""
        return self._admin(
            "transfer", self.leader(), lambda node: node.transfer_leadership(target, self.now)
        )

    def snapshot(self, node_id: str) -> AdminRequest:
        """Ask a node to snapshot what it has applied and compact its log."""
        return self._admin("snapshot", node_id, lambda node: node.take_snapshot(self.now))

    def _admin(self, kind: str, node_id: str | None, ask) -> AdminRequest:
        request = AdminRequest(id=len(self.admin_requests), kind=kind, node=node_id, accepted=False)
        self.admin_requests.append(request)
        if node_id is None or not self.running[node_id]:
            why = "no leader is known" if node_id is None else f"{node_id} is down"
            request.outcome, request.reason = "refused", why
            self._record(node_id, "Client", "refused", f"admin: {kind} refused: {why}")
            return request
        node = self.nodes[node_id]
        answer = ask(node)
        request.accepted, request.reason = answer.accepted, answer.reason
        if not answer.accepted:
            request.outcome = "refused"
        elif answer.done:
            request.outcome = "done"
        else:
            self._tickets[(node_id, answer.ticket)] = request
        self._carry_out(node_id, node)
        return request

    def _create_node(self, node_id: str) -> None:
        """A brand-new server with an empty disk, which knows the current configuration."""
        leader = self.leader()
        conf = self.nodes[leader].configuration if leader else self.initial_configuration
        self._initial_confs[node_id] = conf
        self.disks[node_id] = Disk()
        self._record(
            node_id, "Cluster", "create", f"new server {node_id} starts with an empty disk"
        )
        self._boot(node_id)

    def hold(self, src: str, dst: str) -> None:
        """Hold messages from src to dst as they arrive, until released."""
        self.network.held_links.add((src, dst))
        self._record(src, "Network", "hold", f"link {src} -> {dst} held: messages wait on it")

    def release(self, src: str, dst: str) -> None:
        """Stop holding src -> dst; the messages held there arrive now, in order."""
        self.network.held_links.discard((src, dst))
        waiting = sorted(
            (f for f in self.network.held.values() if (f.message.src, f.message.dst) == (src, dst)),
            key=lambda f: f.msg_id,
        )
        self._record(
            src,
            "Network",
            "release",
            f"link {src} -> {dst} released: {len(waiting)} held message(s) arrive now",
        )
        for flight in waiting:
            self.queue.push(self.now, DELIVER, flight.msg_id)

    def deliver(self, msg_id: int) -> None:
        """Deliver a message in flight now, ahead of its time (held or not)."""
        flight = self.network.in_flight[msg_id]
        self._record(
            flight.message.dst,
            "Network",
            "deliver",
            f"{flight.message.src} -> {flight.message.dst} {flight.text} delivered now "
            "(by request)",
            msg_id,
        )
        self._deliver(msg_id, forced=True)

    def drop(self, msg_id: int) -> None:
        """Lose a message in flight."""
        flight = self.network.land(msg_id)
        assert flight is not None
        self.network.held.pop(msg_id, None)
        msg = flight.message
        self._record(
            msg.dst,
            "Network",
            "discard",
            f"{msg.src} -> {msg.dst} {flight.text} lost: dropped by request",
            msg_id,
        )

    # -- clients ----------------------------------------------------------

    def submit(self, command: str, to: str | None) -> Proposal:
        """A client proposal to `to` (or the current leader)."""
        target = to if to is not None else self.leader()
        proposal = Proposal(id=self._next_proposal, command=command, node=target, accepted=False)
        self._next_proposal += 1
        self.proposals[proposal.id] = proposal
        self._record(target, "Client", "submit", f"client -> {target or '?'}: {command!r}")
        if target is None:
            proposal.outcome, proposal.reason = "refused", "no leader is known"
            self._record(None, "Client", "refused", f"client: {command!r} refused: no leader")
            self._settled(proposal)
            return proposal
        if not self.running[target]:
            proposal.outcome, proposal.reason = "refused", f"{target} is down"
            self._record(
                target, "Client", "refused", f"client: {command!r} refused: {target} is down"
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

    def _settled(self, proposal: Proposal) -> None:
        """A proposal's outcome is final; without history, forget the oldest settled ones."""
        if self.forget_settled:
            self._settled_ids.append(proposal.id)
            if len(self._settled_ids) > self._keep_settled:
                del self.proposals[self._settled_ids.popleft()]

    def read(self, key: str, mode: str, to: str | None) -> ReadRequest:
        """A client reads `key` outside the log from `to` (or the current leader)."""
        target = to if to is not None else self.leader()
        read = ReadRequest(id=len(self.reads), key=key, mode=mode, node=target, accepted=False)
        self.reads.append(read)
        self._record(target, "Client", "read", f"client -> {target or '?'}: read {key} ({mode})")
        if target is None or not self.running[target]:
            why = "no leader is known" if target is None else f"{target} is down"
            read.outcome, read.reason = "refused", why
            self._record(target, "Client", "refused", f"client: read {key} refused: {why}")
            return read
        node = self.nodes[target]
        answer = node.read(key, mode, self.now)
        read.accepted, read.reason = answer.accepted, answer.reason
        if answer.accepted:
            self._read_tickets[(target, answer.ticket)] = read
        else:
            read.outcome = "refused"
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

    def leader(self) -> str | None:
        """The running leader with the highest term, if any."""
        best: tuple[int, str] | None = None
        for node_id, node in self.nodes.items():
            if (
                self.running[node_id]
                and node.role is Role.LEADER
                and (best is None or node.term > best[0])
            ):
                best = (node.term, node_id)
        return best[1] if best else None
