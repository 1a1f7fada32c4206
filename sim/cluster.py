"""`Cluster`: the front door shared by the CLI, notebooks and tests.

See docs/DESIGN.md ("Public API") for the contract. Times given to and returned by
the API are in seconds (floats); the world inside counts integer microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from raft import Configuration, KVStateMachine, RaftOptions
from raft.bugs import check_bugs
from raft.node import READ_MODES
from sim import arguments as arg
from sim.check.checkers import SafetyViolation, Violation, make_checkers
from sim.engine.checkpoints import Checkpoints
from sim.engine.journal import STEP, Action, Call, Journal, Step
from sim.engine.trace import Trace, TraceEvent, TraceSlice
from sim.engine.world import World, WorldSettings
from sim.views import AdminHandle, NodeView, ReadHandle, SubmitHandle

# With keep_history=False: trace events (and applied commands per node) kept.
KEEP_RECENT = 10_000


class Cluster:
    """A simulated Raft cluster, deterministic for a given seed and sequence of calls.

    Nodes are called "n1".."nN". Keyword options (seconds):
    election_timeout=(0.150, 0.300), heartbeat=0.050, rpc_timeout=0.100,
    latency=(0.002, 0.008), drop=0.0, duplicate=0.0, flush_delay=0.002,
    reorder=False (True lets messages on one link overtake each other),
    pre_vote=True, max_inflight=8, max_entries_per_request=16,
    check_quorum=False, membership="joint" (or "single" for single-server
    changes, thesis §4.1), catchup_margin=10 entries, catchup_timeout=0.3,
    snapshot_interval=0 (applied entries between automatic snapshots; 0: off),
    keep_history=True (False: keep only recent trace events, applied commands and
    pending proposals, and no time travel, so that long runs use bounded memory),
    bugs=() (names from raft.bugs.BUGS: well-known mistakes, switched on),
    checkers="all" (the safety checkers to run: "all", "none", or names from
    sim.check.checkers.CHECKERS), strict=False (True: raise SafetyViolation at the
    first violation, once the step that found it is done and traced),
    trace="full" ("off", campaign mode: nodes make no notes and the trace stays
    empty, so nothing is described; everything else, violations included, is the
    same as with the full trace, so a run can be repeated with it to be read;
    `goto`, which counts trace events, is refused).

    `initial_logs` starts nodes with logs already on disk, as in the paper's
    figures: {"n1": [1, 1, 4, (5, "set x 1")]} gives n1 four entries of terms
    1, 1, 4 and 5 (a bare term gets the command "set xI I" for index I). Every
    node then starts in the highest term found in any of these logs.
    """

    def __init__(
        self,
        n: int = 3,
        seed: int = 0,
        *,
        election_timeout: Sequence[float] = (0.150, 0.300),
        heartbeat: float = 0.050,
        rpc_timeout: float = 0.100,
        latency: Sequence[float] = (0.002, 0.008),
        drop: float = 0.0,
        duplicate: float = 0.0,
        flush_delay: float = 0.002,
        reorder: bool = False,
        pre_vote: bool = True,
        max_inflight: int = 8,
        max_entries_per_request: int = 16,
        check_quorum: bool = False,
        membership: str = "joint",
        catchup_margin: int = 10,
        catchup_timeout: float = 0.3,
        snapshot_interval: int = 0,
        bugs: Iterable[str] = (),
        initial_logs: Mapping[str, Sequence[int | tuple[int, str]]] | None = None,
        checkers: str | Iterable[str] = "all",
        strict: bool = False,
        keep_history: bool = True,
        trace: str = "full",
    ) -> None:
        arg.count(n, "n (the number of nodes)", minimum=1, maximum=arg.MAX_NODES)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        raft = RaftOptions(
            election_timeout=arg.seconds_range(election_timeout, "election_timeout"),
            heartbeat_interval=arg.seconds(heartbeat, "heartbeat"),
            rpc_timeout=arg.seconds(rpc_timeout, "rpc_timeout"),
            pre_vote=arg.flag(pre_vote, "pre_vote"),
            max_inflight=arg.count(max_inflight, "max_inflight", minimum=1),
            max_entries_per_request=arg.count(
                max_entries_per_request, "max_entries_per_request", minimum=1
            ),
            check_quorum=arg.flag(check_quorum, "check_quorum"),
            single_server_changes=arg.choice(membership, "membership", ("joint", "single"))
            == "single",
            catchup_margin=arg.count(catchup_margin, "catchup_margin"),
            catchup_timeout=arg.seconds(catchup_timeout, "catchup_timeout"),
            snapshot_interval=arg.count(snapshot_interval, "snapshot_interval"),
            bugs=check_bugs(arg.words(bugs, "bugs")),
        )
        self.seed = seed
        self.settings = WorldSettings(
            raft=raft,
            latency=arg.seconds_range(latency, "latency"),
            drop=arg.probability(drop, "drop"),
            duplicate=arg.probability(duplicate, "duplicate"),
            flush_delay=arg.seconds(flush_delay, "flush_delay"),
            reorder=arg.flag(reorder, "reorder"),
        )
        self._ids = [f"n{i}" for i in range(1, n + 1)]
        logs = arg.initial_logs(initial_logs or {}, self._ids)
        chosen_checkers = make_checkers(
            checkers if isinstance(checkers, str) else arg.words(checkers, "checkers")
        )
        self._trace = Trace()
        self._strict = arg.flag(strict, "strict")
        self._tracing = arg.choice(trace, "trace", ("full", "off")) == "full"
        self._world = World(
            self._ids,
            seed,
            self.settings,
            self._trace,
            logs,
            chosen_checkers,
            tracing=self._tracing,
        )
        self._raise_if_strict(0)
        self._journal = Journal(len(self._trace))
        # Long runs can keep only recent history, so that memory stays bounded.
        self._journal.enabled = self._keep_history = arg.flag(keep_history, "keep_history")
        self._world.forget_settled = not self._keep_history
        self._checkpoints = Checkpoints(self._world, self._journal, shared=(self,))
        self._views: dict[str, NodeView] = {}

    # -- reading ----------------------------------------------------------

    @property
    def now(self) -> float:
        """Simulated time in seconds."""
        return self._world.now / 1_000_000

    @property
    def leader(self) -> str | None:
        """The running leader with the highest term, or None."""
        return self._world.leader()

    @property
    def nodes(self) -> Mapping[str, NodeView]:
        """Every node the cluster has had, by id."""
        views = self._views
        for node_id in self._world.nodes:
            if node_id not in views:
                views[node_id] = NodeView(self, node_id)
        if len(views) == len(self._world.nodes):
            return views
        # Time travel went back to before some node existed.
        return {node_id: views[node_id] for node_id in self._world.nodes}

    @property
    def trace(self) -> Sequence[TraceEvent]:
        """Every event so far."""
        return self._trace

    @property
    def events_processed(self) -> int:
        """How many events `step()` has processed (the unit of benchmarks)."""
        return self._world.events_processed

    @property
    def in_flight(self) -> list:
        """Messages on the wire now: (msg_id, message, sent_us, lands_us) flights."""
        return sorted(self._world.network.in_flight.values(), key=lambda f: f.msg_id)

    @property
    def partitions(self) -> list[list[str]]:
        """The current partition as groups of node ids ([] when there is none)."""
        return self._world.network.groups

    @property
    def cuts(self) -> list[tuple[str, str]]:
        """One-way cuts in force, as (from, to) pairs."""
        return sorted(self._world.network.cuts)

    @property
    def violations(self) -> list[Violation]:
        """Safety violations found so far, checked after every step (see sim.check.checkers)."""
        return list(self._world.violations)

    def explain(self, index: int | None = None):
        """Why entry `index` is or is not committed on the leader; with no index, why there
        is or is no leader. Plain sentences (`str()`), shown as HTML in a notebook."""
        from sim.show.explain import explain_commit
        from sim.show.explain_leader import explain_leader

        return explain_leader(self._world) if index is None else explain_commit(self._world, index)

    # -- time -------------------------------------------------------------

    def step(self) -> TraceSlice:
        """Process exactly one event; returns the trace events added (a lazy sequence,
        see sim.engine.trace.TraceSlice: equal to the list of them)."""
        self._trim_history()
        start = len(self._trace)
        self._replay_recorded_calls()
        self._do(STEP)
        return self._trace[start:]

    def run(self, seconds: float) -> TraceSlice:
        """Advance simulated time by `seconds`; returns the trace events added (lazily)."""
        self._trim_history()
        start = len(self._trace)
        target = self._world.now + arg.seconds(seconds, "run duration")
        self._run_to(target)
        return self._trace[start:]

    def run_until(self, predicate: Callable[[Cluster], bool], timeout: float = 5.0) -> bool:
        """Step until `predicate(cluster)` holds (checked after every step).

        Returns True when it holds, False if `timeout` simulated seconds pass first.
        """
        if not callable(predicate):
            raise ValueError(f"run_until needs a function of the cluster, got {predicate!r}")
        self._trim_history()
        deadline = self._world.now + arg.seconds(timeout, "timeout")
        while not predicate(self):
            if not self._step_before(deadline):
                self._world.advance_to(deadline)
                return False
        return True

    def _trim_history(self) -> None:
        if not self._keep_history:
            self._world.trim_history(KEEP_RECENT)

    def _run_to(self, target: int) -> None:
        if self._journal.in_future or self._strict:
            while self._step_before(target):
                pass
        else:
            # The common case, and the hot loop: nothing recorded to replay and
            # no violation to stop at, so steps need no checks between them
            # (it pauses only when a checkpoint is due).
            journal, checkpoints, world = self._journal, self._checkpoints, self._world
            while journal.record_steps(world.step, target, self._trace.rows, checkpoints.due):
                checkpoints.reached(world)
        self._world.advance_to(target)

    def _step_before(self, limit: int) -> bool:
        """Take the next step if it happens by `limit`; False if none does.

        In the recorded future, calls made strictly before `limit` are redone
        first; a call made exactly at `limit` is left for the caller to make
        (or to pass by).
        """
        journal = self._journal
        if journal.in_future:
            while journal.in_future:
                action = journal.next_action()
                if isinstance(action, Step) or action.time_us >= limit:
                    break
                self._do(action)
            if isinstance(journal.next_action(), Call):
                return False  # the recorded future makes a call before its next step
        # The next action, if any is recorded, is a Step: no fork check needed.
        found = len(self._world.violations)
        if not self._world.step(limit):
            return False
        journal.record(STEP, len(self._trace))
        self._checkpoint_if_due()
        self._raise_if_strict(found)
        return True

    def timeout(self, node_id: str, after: float = 0.0) -> bool:
        """Make a node's election timer expire `after` seconds from now.

        Returns False (and changes nothing) if the node is the leader.
        """
        self._check_id(node_id)
        if not self._world.running[node_id]:
            raise ValueError(f"{node_id} is down")
        return self._call("expire_election_timer", node_id, arg.seconds(after, "after"))

    # -- clients ----------------------------------------------------------

    def submit(self, command: str, to: str | None = None) -> SubmitHandle:
        """Propose a key-value command (to the leader by default); answers at once."""
        if not isinstance(command, str):
            raise ValueError(f"a command must be a string, got {command!r}")
        KVStateMachine.parse(command)
        if to is not None:
            self._check_id(to, "to")
        position = self._journal.cursor
        proposal = self._call("submit", command, to)
        return SubmitHandle(self, proposal.id, position, self._journal.action_at(position))

    def read(self, key: str, mode: str = "read_index", to: str | None = None) -> ReadHandle:
        """Read `key` outside the log (to the leader by default); answers as the cluster runs.

        `mode`: "read_index" (the leader confirms it still leads with a
        heartbeat round, then answers once it has applied its commit index),
        "lease" (skips the round while the leader's lease holds; needs
        check_quorum), or "local" (any node answers at once from its own
        state: may be stale, for teaching). A read through the log is
        `submit("get KEY")`.
        """
        if not isinstance(key, str) or not key or any(c.isspace() for c in key):
            raise ValueError(f"a key must be a non-empty string without spaces, got {key!r}")
        if mode not in READ_MODES:
            raise ValueError(f"unknown read mode {mode!r}: expected one of {', '.join(READ_MODES)}")
        if to is not None:
            self._check_id(to, "to")
        position = self._journal.cursor
        read = self._call("read", key, mode, to)
        return ReadHandle(self, read.id, position, self._journal.action_at(position))

    # -- membership, leadership, snapshots -----------------------------------

    def change_members(self, voters: Iterable[str], learners: Iterable[str] = ()) -> AdminHandle:
        """Change the configuration through the leader (joint consensus by default).

        Ids not seen before become new servers with empty disks.
        """
        voters_, learners_ = arg.words(voters, "voters"), arg.words(learners, "learners")
        if set(voters_) & set(learners_):
            raise ValueError("a node cannot be both a voter and a learner")
        return self._admin("change_members", tuple(voters_), tuple(learners_))

    def add_node(self, node_id: str) -> AdminHandle:
        """Add a voter (a new server if the id is new; a learner is promoted)."""
        arg.word(node_id, "node_id")
        conf = self._leader_configuration()
        learners = [n for n in conf.learners if n != node_id]
        return self.change_members([*conf.voters, node_id], learners)

    def add_learner(self, node_id: str) -> AdminHandle:
        """Add a non-voting member that receives the log (a new server if the id is new).

        A voter named here is demoted to learner.
        """
        arg.word(node_id, "node_id")
        conf = self._leader_configuration()
        voters = [n for n in conf.voters if n != node_id]
        return self.change_members(voters, [*conf.learners, node_id])

    def remove_node(self, node_id: str) -> AdminHandle:
        """Remove a voter or learner through the leader."""
        self._check_id(node_id)
        conf = self._leader_configuration()
        voters = [n for n in conf.voters if n != node_id]
        learners = [n for n in conf.learners if n != node_id]
        return self.change_members(voters, learners)

    def transfer_leadership(self, target: str | None = None) -> AdminHandle:
        """Hand leadership to `target`, or to the most up-to-date voter if None."""
        if target is not None:
            self._check_id(target, "target")
        return self._admin("transfer_leadership", target)

    def snapshot(self, node_id: str) -> AdminHandle:
        """Make a node snapshot what it has applied now, compacting its log."""
        self._check_id(node_id)
        return self._admin("snapshot", node_id)

    def _admin(self, name: str, *args: object) -> AdminHandle:
        position = self._journal.cursor
        request = self._call(name, *args)
        return AdminHandle(self, request.id, position, self._journal.action_at(position))

    def _leader_configuration(self) -> Configuration:
        leader = self.leader
        return self.nodes[leader].members if leader else self._world.initial_configuration

    # -- faults -----------------------------------------------------------

    def crash(self, node_id: str) -> None:
        """Crash a node: volatile state, unflushed writes and messages to it are lost."""
        self._check_id(node_id)
        if not self._world.running[node_id]:
            raise ValueError(f"{node_id} is already down")
        self._call("crash", node_id)

    def restart(self, node_id: str) -> None:
        """Restart a crashed node from its durable state."""
        self._check_id(node_id)
        if self._world.running[node_id]:
            raise ValueError(f"{node_id} is running; crash it before restarting it")
        self._call("restart", node_id)

    def partition(self, *groups: Iterable[str]) -> None:
        """Split the network into groups (nodes not named form one more group)."""
        frozen = tuple(tuple(self._check_ids(group)) for group in groups)
        seen = [node for group in frozen for node in group]
        if len(seen) != len(set(seen)):
            raise ValueError("a node cannot be in two partition groups")
        if not frozen:
            raise ValueError("partition needs at least one group of nodes")
        if not all(frozen):
            raise ValueError("a partition group cannot be empty (heal() removes a partition)")
        self._call("partition", *frozen)

    def isolate(self, node_id: str) -> None:
        """Cut a node off from all others (replaces any partition)."""
        self.partition([node_id])

    def heal(self) -> None:
        """Remove partitions and cuts; network settings stay."""
        self._call("heal")

    def cut(self, src: str, dst: str) -> None:
        """One-way cut: messages from `src` to `dst` are lost."""
        self._check_id(src)
        self._check_id(dst)
        if src == dst:
            raise ValueError("a cut needs two different nodes")
        self._call("cut", src, dst)

    def set_network(
        self,
        *,
        drop: float | None = None,
        duplicate: float | None = None,
        latency: Sequence[float] | None = None,
        reorder: bool | None = None,
    ) -> None:
        """Change loss and duplication probabilities, the latency range (seconds),
        and whether messages on one link may overtake each other."""
        self._call("set_network", *arg.network(drop, duplicate, latency, reorder))

    # -- single messages (for stories that need exact control) -------------------

    def hold(self, src: str, dst: str) -> None:
        """Hold messages from src to dst as they arrive (they stay in flight) until released."""
        self._check_link(src, dst)
        self._call("hold", src, dst)

    def release(self, src: str, dst: str) -> None:
        """Stop holding src -> dst: the messages held there arrive now, oldest first."""
        self._check_link(src, dst)
        self._call("release", src, dst)

    def deliver(self, msg_id: int) -> None:
        """Deliver a message in flight (see `in_flight`) now, held or not."""
        self._check_flight(msg_id)
        self._call("deliver", msg_id)

    def drop(self, msg_id: int) -> None:
        """Lose a message in flight."""
        self._check_flight(msg_id)
        self._call("drop", msg_id)

    def _check_link(self, src: str, dst: str) -> None:
        self._check_id(src)
        self._check_id(dst)
        if src == dst:
            raise ValueError("a link needs two different nodes")

    def _check_flight(self, msg_id: int) -> None:
        if not isinstance(msg_id, int) or msg_id not in self._world.network.in_flight:
            raise ValueError(f"no message {msg_id!r} is in flight (see Cluster.in_flight)")

    # -- time travel ------------------------------------------------------

    def back(self) -> list[TraceEvent]:
        """Return to just before the last step; returns the trace events undone.

        Calls made after that step are undone too; they stay in the recorded
        future and are redone when stepping forward again.
        """
        self._check_time_travel()
        position = self._journal.last_step_before(self._journal.cursor)
        if position is None:
            raise ValueError("nothing to go back to: no step has been taken")
        undone = self._trace[self._journal.mark(position) :]
        self._seek(position)
        return list(undone)

    def goto(self, index: int) -> None:
        """Return to the moment the trace had `index` events (or the last moment before).

        Moving forward replays the recorded future. The nodes' start-up events
        are there from the beginning, so any index up to their count goes back
        to the initial state.
        """
        self._check_time_travel()
        if not self._tracing:
            raise ValueError("goto counts trace events: this Cluster has trace='off'")
        arg.count(index, "goto's trace index")
        self._seek(self._journal.position_for(index))

    def time_travel_stats(self) -> dict:
        """Time travel's checkpoints: how many are kept (`checkpoints`) and at which
        journal `positions`, how many were `taken` (thinning drops most), the `spacing`
        after the newest (the most actions `back()` may replay), about how many `bytes`
        they hold beyond what they share with the present, and how many `future_rows`
        of trace are kept for jumps forward (see sim/engine/checkpoints.py)."""
        return self._checkpoints.stats()

    @property
    def checkpoint_spacing(self) -> int:
        """Actions between time travel's checkpoints per action a copy costs (40). Lower:
        `back()` replays less, and runs spend about 2/spacing of their time on checkpoints
        (`raftsim watch`, paced by the clock, has time to spare: it sets 10)."""
        return self._checkpoints.spacing

    @checkpoint_spacing.setter
    def checkpoint_spacing(self, value: int) -> None:
        self._checkpoints.spacing = arg.count(value, "checkpoint_spacing", minimum=1)

    # -- internals ----------------------------------------------------------

    def _check_time_travel(self) -> None:
        if not self._keep_history:
            raise ValueError(
                "time travel needs the whole history: this Cluster has keep_history=False"
            )

    def _check_id(self, node_id: str, what: str = "a node id") -> str:
        if not isinstance(node_id, str):
            raise ValueError(f"{what} must be a string such as 'n1', got {node_id!r}")
        if node_id not in self._world.nodes:
            known = ", ".join(self._world.nodes)
            raise ValueError(f"unknown node {node_id!r} (this cluster has {known})")
        return node_id

    def _check_ids(self, ids: Iterable[str]) -> list[str]:
        if isinstance(ids, str) or not isinstance(ids, Iterable):
            raise ValueError(f"expected a list of node ids, got {ids!r}")
        return [self._check_id(node_id) for node_id in ids]

    def _call(self, name: str, *args: object):
        """Make an API call on the world, journaled with the time it is made at."""
        return self._do(Call(self._world.now, name, args))

    def _do(self, action: Action):
        """Perform one action on the world and journal it."""
        journal = self._journal
        if journal.in_future and journal.next_action() != action:
            journal.fork()
            self._checkpoints.forget_future()
        found = len(self._world.violations)
        if isinstance(action, Step):
            result = self._world.step()
        else:
            self._world.advance_to(action.time_us)
            result = getattr(self._world, action.name)(*action.args)
        journal.record(action, len(self._trace))
        self._checkpoint_if_due()
        self._raise_if_strict(found)
        return result

    def _raise_if_strict(self, known: int) -> None:
        """Strict mode: the first violation found after the first `known` ones stops the run."""
        if self._strict and len(self._world.violations) > known:
            raise SafetyViolation(self._world.violations[known])

    def _replay_recorded_calls(self) -> None:
        """Before a step in the recorded future, redo the calls made before it."""
        journal = self._journal
        while journal.in_future and not isinstance(journal.next_action(), Step):
            self._do(journal.next_action())

    def _checkpoint_if_due(self) -> None:
        if self._journal.cursor >= self._checkpoints.due:
            self._checkpoints.reached(self._world)

    def _seek(self, position: int) -> None:
        """Go to journal position `position`: from the nearest checkpoint, then replaying."""
        journal, checkpoints = self._journal, self._checkpoints
        self._world = checkpoints.restore(position, self._trace) or self._world
        while journal.cursor < position:
            if isinstance(journal.next_action(), Call) or self._strict:
                self._do(journal.next_action())
            else:  # a run of steps, in replay's fast loop
                stop = min(position, checkpoints.due)
                journal.replay_steps(self._world.step, stop, self._trace.rows)
                self._checkpoint_if_due()

    def _repr_html_(self) -> str:
        """The cluster as a picture in Jupyter (see sim.show.notebook)."""
        from sim.show.notebook import cluster_html

        return cluster_html(self)

    def ring(self, selected: str | None = None) -> str:
        """The cluster now as a ring of servers with the messages in flight (sim.show.ring):
        HTML that Jupyter displays as a picture."""
        from sim.show.notebook import cluster_html

        if selected is not None:
            self._check_id(selected, "selected")
        return cluster_html(self, view="ring", selected=selected)

    def __repr__(self) -> str:
        return (
            f"<Cluster {len(self._ids)} nodes, seed {self.seed}, t={self.now:.3f}s, "
            f"leader {self.leader}>"
        )
