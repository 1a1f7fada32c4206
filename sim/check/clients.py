"""Simulated clients: a key-value workload whose history is checked for linearizability.

Theory of operation: a `Workload` runs N clients against a `Cluster`. Each
client does one operation at a time (set, get, append or cas on a few keys;
every written value is unique, e.g. "c3.17", so a read says which write it
saw). It sends the operation to the node it believes leads, and:

- refused (not the leader): tries the node the refusal names, or another one;
- no answer within `timeout` (the leader may be cut off or dead), or the
  leader stepped down before it knew the outcome: retries elsewhere;
- gives up after `deadline`: the outcome is unknown (a write may still take
  effect later), or failed if the operation surely had no effect (a read, or
  a write that no node ever accepted).

Writes (and reads through the log) carry a session header with the client
and its sequence number (`c1#5: set x c1.5`, raft/state_machine.py); a retry
sends the SAME sequence number, so a write that committed twice applies once.

Reads go by `reads`: "log" (a `get` through the log), "read_index", "lease"
(thesis §6.4) or "local" (any node answers from its own state machine:
unsafe, shows stale reads; sent to a random node).

Everything the clients see goes into a `sim.check.history.Recorder` (integer µs);
`check()` runs `sim.check.linearizability.check` on the history. The workload is
driven by polling between short `Cluster.run` calls, and draws its random
numbers from the world's "workload" stream, so the cluster's other draws
(timeouts, network) are unaffected by how busy the clients are.
"""

from __future__ import annotations

import attrs

from sim.check.history import History, Recorder, reply_value
from sim.check.linearizability import CheckResult, check
from sim.cluster import Cluster

READ_MODES = ("log", "read_index", "lease", "local")
KINDS = (("get", 0.4), ("set", 0.25), ("append", 0.2), ("cas", 0.15))


@attrs.define
class _Client:
    id: str
    seq: int = 0  # session sequence number of the current (or last) log command
    writes: int = 0  # values written, for unique values
    target: str | None = None  # the node believed to lead
    next_at: int = 0  # when to start the next operation (µs)
    # The current operation, if any.
    op_id: int | None = None
    kind: str = ""
    key: str = ""
    command: str = ""  # the KV command, without the session header
    invoked: int = 0
    handle: object = None  # SubmitHandle or ReadHandle of the current attempt
    sent_at: int = 0
    retry_at: int | None = None  # set: no attempt in flight, send again then
    accepted_once: bool = False  # some node accepted the command (it may take effect)


class Workload:
    """N clients issuing KV operations against `cluster`; see the module docstring.

    Times are in seconds, as in the Cluster API.
    """

    def __init__(
        self,
        cluster: Cluster,
        clients: int = 3,
        *,
        keys: int = 2,
        reads: str = "log",
        timeout: float = 0.25,
        deadline: float = 2.0,
        think: tuple[float, float] = (0.0, 0.02),
        tick: float = 0.005,
    ) -> None:
        if reads not in READ_MODES:
            modes = ", ".join(READ_MODES)
            raise ValueError(f"unknown read mode {reads!r}: expected one of {modes}")
        if clients < 1 or keys < 1:
            raise ValueError("a workload needs at least one client and one key")
        self.cluster = cluster
        self.reads = reads
        self.keys = [chr(ord("x") + i) if i < 3 else f"k{i}" for i in range(keys)]
        self.recorder = Recorder()
        self._rng = cluster._world.streams.stream("workload")
        self._timeout = round(timeout * 1_000_000)
        self._deadline = round(deadline * 1_000_000)
        self._think = (round(think[0] * 1_000_000), round(think[1] * 1_000_000))
        self._tick = tick
        self.clients = [_Client(f"c{i}") for i in range(1, clients + 1)]
        self._known: dict[str, str | None] = {}  # a value last seen per key, for cas
        self.retries = 0
        self.stopped = False

    # -- driving ------------------------------------------------------------

    @property
    def _now(self) -> int:
        return self.cluster._world.now

    def run(self, seconds: float) -> None:
        """Let the clients work for `seconds` of simulated time."""
        end = self._now + round(seconds * 1_000_000)
        while self._now < end:
            self.poll()
            step = min(self._tick, (end - self._now) / 1_000_000)
            self.cluster.run(step)
        self.poll()

    def drain(self, seconds: float) -> None:
        """Start no new operation; let the current ones finish for up to `seconds`."""
        self.stopped = True
        self.run(seconds)

    def poll(self) -> None:
        """Look at every client once: start, check, retry or give up operations."""
        for client in self.clients:
            self._poll(client)

    def history(self) -> History:
        """The history so far (operations still going count as unknown)."""
        return self.recorder.history()

    def finish(self) -> History:
        """Close every operation still going (writes unknown, reads failed); the history."""
        for client in self.clients:
            if client.op_id is not None:
                self._give_up(client)
        return self.recorder.history()

    def check(self, max_states: int | None = None) -> CheckResult:
        """Finish, then check the history for linearizability."""
        history = self.finish()
        if max_states is None:
            return check(history)
        return check(history, max_states=max_states)

    # -- one client -----------------------------------------------------------

    def _poll(self, client: _Client) -> None:
        now = self._now
        if client.op_id is None:
            if not self.stopped and now >= client.next_at:
                self._start(client)
            return
        if client.retry_at is None:
            self._look(client)
        if client.op_id is None:
            return
        if now - client.invoked >= self._deadline:
            self._give_up(client)
        elif client.retry_at is not None and now >= client.retry_at:
            self._send(client)

    def _start(self, client: _Client) -> None:
        rng = self._rng
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        key = rng.choice(self.keys)
        if kind in ("set", "append"):
            client.writes += 1
            command = f"{kind} {key} {client.id}.{client.writes}"
        elif kind == "cas":
            client.writes += 1
            old = self._known.get(key)
            if old is None or rng.random() < 0.2:
                old = f"{client.id}.{rng.randrange(1, client.writes + 1)}"
            command = f"cas {key} {old} {client.id}.{client.writes}"
        else:
            command = f"get {key}"
        client.kind, client.key, client.command = kind, key, command
        if self._through_log(kind):
            client.seq += 1
        client.op_id = self.recorder.invoke_command(client.id, command, self._now)
        client.invoked = self._now
        client.accepted_once = False
        self._send(client)

    def _through_log(self, kind: str) -> bool:
        return kind != "get" or self.reads == "log"

    def _pick_other(self, avoid: str | None) -> str:
        nodes = [n for n, v in self.cluster.nodes.items() if n != avoid and v.running]
        if not nodes:
            nodes = list(self.cluster.nodes)
        return self._rng.choice(nodes)

    def _send(self, client: _Client) -> None:
        """One attempt: to the believed leader (a random node if none is believed)."""
        if client.target is None or not self.cluster.nodes[client.target].running:
            client.target = self._pick_other(None)
        client.retry_at = None
        client.sent_at = self._now
        if self._through_log(client.kind):
            client.handle = self.cluster.submit(
                f"{client.id}#{client.seq}: {client.command}", to=client.target
            )
        elif self.reads == "local":
            client.handle = self.cluster.read(client.key, "local", to=self._pick_other(None))
        else:
            client.handle = self.cluster.read(client.key, self.reads, to=client.target)
        self._look(client)

    def _look(self, client: _Client) -> None:
        """Check the attempt in flight; complete the operation or schedule a retry."""
        handle = client.handle
        now = self._now
        outcome = handle.outcome  # type: ignore[attr-defined]
        if outcome == "refused":
            hint = handle.leader_hint  # type: ignore[attr-defined]
            client.target = (
                hint if hint and hint != client.target else self._pick_other(client.target)
            )
            self._retry(client, now + 10_000)
            return
        if self._through_log(client.kind):
            client.accepted_once = True
            if outcome == "committed" and handle.result is not None:  # type: ignore[attr-defined]
                value = reply_value(client.kind, handle.result)  # type: ignore[attr-defined]
                self._ok(client, value)
                return
            if outcome == "unknown":
                self._retry(client, now, elsewhere=True)
                return
        else:
            if outcome == "done":
                self._ok(client, handle.value)  # type: ignore[attr-defined]
                return
            if outcome == "failed":
                self._retry(client, now, elsewhere=True)
                return
        if now - client.sent_at >= self._timeout:
            self._retry(client, now, elsewhere=True)

    def _retry(self, client: _Client, at: int, *, elsewhere: bool = False) -> None:
        self.retries += 1
        if elsewhere:
            client.target = self._pick_other(client.target)
        client.handle = None
        client.retry_at = at

    def _ok(self, client: _Client, value: str | bool | None) -> None:
        assert client.op_id is not None
        self.recorder.ok(client.op_id, value, self._now)
        if client.kind == "get":
            self._known[client.key] = value  # type: ignore[assignment]
        elif client.kind == "set" or (client.kind == "cas" and value):
            self._known[client.key] = client.command.split()[-1]
        self._done(client)

    def _give_up(self, client: _Client) -> None:
        assert client.op_id is not None
        if client.kind == "get" or not client.accepted_once:
            self.recorder.fail(client.op_id, self._now)  # surely no effect
        else:
            self.recorder.unknown(client.op_id, self._now)
        self._done(client)

    def _done(self, client: _Client) -> None:
        client.op_id = None
        client.handle = None
        client.retry_at = None
        low, high = self._think
        client.next_at = self._now + self._rng.randint(low, high)
