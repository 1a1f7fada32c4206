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
from sim.engine.choices import ExactChoices
from sim.engine.disk import Disk
from sim.engine.events import DELIVER, FLUSH, TIMER, EventQueue
from sim.engine.faults import NetworkControls
from sim.engine.network import Network
from sim.engine.observer import Observer, Violation, by_hook
from sim.engine.requests import RequestDesk
from sim.engine.rng import RandomStreams
from sim.engine.trace import Trace

_SENDS = "{} -> {} {}{}, lands in {:g} ms"
_RECEIVES = "{} receives {} from {}"
# A crash's row (node, the unflushed writes lost or "none", messages lost): coverage
# (sim/check/fuzz/coverage.py) reads its arguments.
CRASHES = (
    "{} crashes: volatile state gone; unflushed writes lost: {}; {} message(s) in flight to it lost"
)


@attrs.frozen(kw_only=True)
class WorldSettings:
    """Everything that shapes a world besides its seed. Times in microseconds."""

    raft: RaftOptions = RaftOptions()
    latency: tuple[int, int] = (2_000, 8_000)
    drop: float = 0.0
    duplicate: float = 0.0
    flush_delay: int = 2_000
    reorder: bool = False


class World(NetworkControls, RequestDesk, ExactChoices):
    """Nodes, network, disks and timers, advanced one event at a time.

    The verbs that inject faults live in `NetworkControls` (sim/engine/faults.py),
    those of clients and administrators in `RequestDesk` (sim/engine/requests.py),
    those that make one pending event happen now in `ExactChoices`
    (sim/engine/choices.py); this class is the engine they share: the clock,
    the heap, and carrying out what nodes ask for.
    """

    def __init__(
        self,
        node_ids: list[str],
        seed: int,
        settings: WorldSettings,
        trace: Trace,
        initial_logs: dict[str, list[LogEntry]] | None = None,
        observers: Sequence[Observer] = (),
        *,
        tracing: bool = True,
    ) -> None:
        self.now = 0
        # False (campaign mode): nodes make no notes and the trace stays empty.
        self.tracing = tracing
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
        self.network.describe = tracing
        self.trace = trace
        self.initial_configuration = Configuration(node_ids)
        # What each node believes before its log says otherwise (later nodes: the
        # configuration of the moment they were created, which excludes them).
        self._initial_confs: dict[str, Configuration] = {}
        self.nodes: dict[str, Node] = {}
        self.running: dict[str, bool] = {}
        self.disks: dict[str, Disk] = {}
        self.events_processed = 0
        self.trace_offset = 0  # trace events dropped from the front by trim_history
        self._open_desk()
        self.violations: list[Violation] = []
        self.observers = observers
        self._timer_tokens: dict[tuple[str, str], int] = {}
        self._next_token = 0
        initial_logs = initial_logs or {}
        # Preloaded logs tell a history in which some leader reached the highest
        # term present; every node starts there, so the next leader's term is new.
        history_term = max((e[-1].term for e in initial_logs.values() if e), default=0)
        for node_id in node_ids:
            disk = self.disks[node_id] = Disk()
            disk.durable = DurableState(term=history_term, entries=initial_logs.get(node_id, []))
            self._boot(node_id)

    @property
    def observers(self) -> list[Observer]:
        """What watches this world through its hooks: in a Cluster, the safety checkers."""
        return self._observers

    @observers.setter
    def observers(self, observers: Sequence[Observer]) -> None:
        self._observers = list(observers)
        for observer in self._observers:
            observer.attach(self)
        # Per hook, only the observers that override it: an unused hook costs nothing.
        hooks = by_hook(self._observers)
        self._after_input = hooks["after_input"]
        self._on_applied = hooks["on_applied"]
        self._on_send = hooks["on_send"]
        self._on_deliver = hooks["on_deliver"]
        self._on_write = hooks["on_write"]
        self._on_durable = hooks["on_durable"]
        self._on_start = hooks["on_start"]
        self._on_crash = hooks["on_crash"]
        self._on_note = hooks["on_note"]
        # Without the trace nodes make only the notes some observer wants (or none).
        kinds = frozenset().union(*(o.note_kinds for o in self._on_note))
        self._keep_notes: bool | frozenset[str] = True if self.tracing else (kinds or False)
        for node in self.nodes.values():
            node.outbox.keep_notes = self._keep_notes

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
                "{} -> {} {} held (link held by request)",
                (link[0], link[1], flight.text),
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
                msg.dst,
                "Network",
                "drop",
                "{} -> {} {} lost: {}",
                (msg.src, msg.dst, flight.text, reason),
                msg_id,
            )
            return
        if self.tracing:  # `_record` written out: the commonest event
            rows = self.trace.rows
            index = self.trace_offset + len(rows)
            rows.append(
                (index, self.now, msg.dst, "Network", "receive", msg_id, "", _RECEIVES)
                + (msg.dst, flight.text, msg.src)
            )
        node = self.nodes[msg.dst]
        for observer in self._on_deliver:
            found = observer.on_deliver(msg, node, self.now)
            if found:
                self._alarm(found)
        node.receive(msg, self.now)
        self._carry_out(msg.dst, node)

    def _fire(self, node_id: str, name: str, token: int) -> None:
        del self._timer_tokens[(node_id, name)]
        self._record(node_id, "Node", "timer", "{} {} timer fires", (node_id, name))
        node = self.nodes[node_id]
        node.fire(name, self.now)
        self._carry_out(node_id, node)

    def _flush(self, node_id: str) -> None:
        last_seq, writes = self.disks[node_id].flush()
        for observer in self._on_durable:
            found = observer.on_durable(node_id, writes, self.now)
            if found:
                self._alarm(found)
        if self.tracing:
            self._record(
                node_id,
                "Disk",
                "flush",
                "{} Disk: flush done, now durable: {}",
                (node_id, "; ".join(map(str, writes))),
            )
        node = self.nodes[node_id]
        node.persisted(last_seq, self.now)
        self._carry_out(node_id, node)

    def _carry_out(self, node_id: str, node: Node) -> None:
        """Carry out a node's outputs, in the order it produced them."""
        rows = self.trace.rows
        tracing, on_note = self.tracing, self._on_note
        for out in node.take_outputs():
            kind = type(out)
            # Commonest first: notes, then messages.
            if kind is Note:
                # A note is the tail of its trace row (sim/engine/trace.py), sentence unwritten.
                if tracing:
                    rows.append((self.trace_offset + len(rows), self.now, node_id) + out)
                for observer in on_note:
                    found = observer.on_note(node_id, out, self.now)
                    if found:
                        self._alarm(found)
            elif kind is Send:
                self._send(out.message)
            elif kind is Persist:
                for observer in self._on_write:
                    found = observer.on_write(node, out.write, self.now)
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
                    read.settled_us = self.now
                    read.value = out.value if out.ok else None
                    if not out.ok:
                        read.reason = out.reason
            elif kind is Applied:
                proposal = self._awaiting_result.pop((node_id, out.index), None)
                if proposal is not None and proposal.term == out.term:
                    proposal.result, proposal.result_us = out.result, self.now
                for observer in self._on_applied:
                    found = observer.on_applied(node_id, out.index, out.term, out.command, self.now)
                    if found:
                        self._alarm(found)
            else:
                raise TypeError(f"unknown output {out!r}")
        if self._pending.get(node_id):
            self._settle(node_id)
        for observer in self._after_input:
            found = observer.after_input(node, self.now)
            if found:
                self._alarm(found)

    def _alarm(self, violations: Sequence[Violation]) -> None:
        for violation in violations:
            self.violations.append(violation)
            self._record(None, "Checker", "violation", "SAFETY VIOLATION: {}", (str(violation),))

    def _send(self, msg: Message) -> None:
        for observer in self._on_send:
            found = observer.on_send(msg, self.now)
            if found:
                self._alarm(found)
        flights, reason = self.network.send(msg, self.now)
        if reason is not None:
            if self.tracing:
                self._record(
                    msg.src,
                    "Network",
                    "drop",
                    "{} -> {} {} lost: {}",
                    (msg.src, msg.dst, str(msg), reason),
                )
            return
        rows = self.trace.rows
        for flight in flights:
            if self.tracing:  # `_record` written out: with receive, the commonest event
                index = self.trace_offset + len(rows)
                copy = " (duplicated)" if len(flights) > 1 else ""
                rows.append(
                    (index, self.now, msg.src, "Network", "send", flight.msg_id, "", _SENDS)
                    + (msg.src, msg.dst, flight.text, copy, (flight.lands_us - self.now) / 1000)
                )
            self.queue.push(flight.lands_us, DELIVER, flight.msg_id)

    def _record(
        self,
        node: str | None,
        component: str,
        kind: str,
        template: str,
        args: tuple = (),
        msg_id: int | None = None,
    ) -> None:
        """Add an event to the trace: its sentence is `template` filled with `args` (plain
        values), written out when it is read (sim/engine/trace.py). Nothing without tracing."""
        if self.tracing:
            rows = self.trace.rows
            index = self.trace_offset + len(rows)
            rows.append((index, self.now, node, component, kind, msg_id, "", template) + args)

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
        node.outbox.keep_notes = self._keep_notes
        self.nodes[node_id] = node
        self.running[node_id] = True
        node.start(self.now)
        for observer in self._on_start:
            found = observer.on_start(node, self.now)
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
        if self.tracing:
            self._record(
                node_id,
                "Cluster",
                "crash",
                CRASHES,
                (node_id, "; ".join(map(str, lost_writes)) or "none", len(lost_messages)),
            )
        for observer in self._on_crash:
            found = observer.on_crash(node_id, lost_writes, self.now)
            if found:
                self._alarm(found)
        self._settle(node_id)
        for (owner, ticket), request in list(self._tickets.items()):
            if owner == node_id:
                request.outcome, request.reason = "failed", f"{node_id} crashed"
                del self._tickets[(owner, ticket)]
        for (owner, ticket), read in list(self._read_tickets.items()):
            if owner == node_id:
                read.outcome, read.reason = "failed", f"{node_id} crashed"
                read.settled_us = self.now
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
            "{} restarts from disk: term {}, vote {}, {} {}{}",
            (node_id, durable.term, durable.voted_for or "-", len(durable.entries))
            + ("entry" if len(durable.entries) == 1 else "entries",)
            + (f", {durable.snapshot}" if durable.snapshot else "",),
        )
        self._boot(node_id)

    def expire_election_timer(self, node_id: str, delay: int) -> bool:
        """Make a node's election timer expire `delay` from now (False on a leader)."""
        node = self.nodes[node_id]
        if not self.running[node_id]:
            raise ValueError(f"{node_id} is down")
        done = node.expire_election_timer(delay, self.now)
        if not done:
            self._record(
                node_id, "Cluster", "timeout", "{} is leader: no election timer", (node_id,)
            )
        self._carry_out(node_id, node)
        return done

    def _create_node(self, node_id: str, configuration: Configuration) -> None:
        """A brand-new server with an empty disk, which believes `configuration`."""
        self._initial_confs[node_id] = configuration
        self.disks[node_id] = Disk()
        self.network.join(node_id)
        self._record(
            node_id, "Cluster", "create", "new server {} starts with an empty disk", (node_id,)
        )
        self._boot(node_id)

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
