"""Schedules: seeded lists of timed faults and client operations, kept as data.

Theory of operation: a seed first draws its profile (sim.check.fuzz.swarm:
cluster size, features, which faults and clients), then its faults, its
liveness writes and its client operations, each from its own random stream
("fuzz/schedule", "fuzz/writes", "fuzz/clients"), so changing how the cluster
draws its numbers never changes the schedule, and asking for other client
reads leaves the faults alone. Nothing here reads the bug switches: the same
seed makes the same schedule with any of them.

A schedule says *what* happens and *when* (on a millisecond grid), not to
*whom*: "crash the leader", "split the network, key 17", "a lease read of x
at the leader". Who that is gets decided when the action runs
(sim.check.fuzz.run), from the cluster as it is at that moment. So any subset
of a schedule is still a valid schedule, which is what minimization
(sim.check.fuzz.shrink) needs.

Some actions are windows (`lasts_us` > 0): a partition, a latency spike, a
loss rate or a held link that holds for a while and is then undone.

Triggered faults (TRIGGERED) are armed for a window and fire at each
protocol event of their kind in it (sim.check.fuzz.tripwire), a moment later:
"power cut 300us after a leader commits" hits the gap between the followers'
acknowledgements and their disk writes, which a fault at a fixed time almost
never does. The event is the protocol's (entries acknowledged, a leader
elected, a commit, a joint configuration, a TimeoutNow sent), so the schedule
still depends on nothing but the seed. A late TimeoutNow comes with the
transfer that sends it and with clients on both sides of it when it lands
(`_handover_clients`): its damage, a stale read at the old leader, lasts only
as long as that leader's lease.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

import attrs

from sim.check.fuzz.swarm import Profile, draw_profile
from sim.engine.rng import RandomStreams

SHAPES = ("split", "isolate-leader", "bridge", "ring")
NETWORK = ("drop", "duplicate", "latency", "reorder")
HOLDS = ("hold", "stall-leader")
# Triggered faults: the protocol events that may set each off (one is drawn; see
# sim.check.fuzz.tripwire) and what it then does to the node it happened on (or
# to every node: "power").
TRIGGERED: dict[str, tuple[tuple[str, ...], str]] = {
    "crash-acker": (("ack",), "crash"),
    "depose-leader": (("lead",), "isolate"),
    "power-cut": (("elected", "commit"), "power"),
    "split-joint": (("joint",), "split"),
    "late-timeout-now": (("timeout-now",), "deafen"),
}
EVENT_WORDS = {
    "ack": "a follower acknowledges entries",
    "elected": "a leader is elected",
    "commit": "a leader commits",
    "lead": "a leader is elected or commits",
    "joint": "a leader adopts a joint configuration",
    "timeout-now": "a leader sends TimeoutNow",
}
RESPONSE_WORDS = {
    "crash": "crash it",
    "isolate": "isolate it",
    "power": "crash every node (a power cut)",
    "split": "partition the leader and the new voters from the old ones",
    "deafen": "hold the TimeoutNow, then let it land while that leader hears no one",
}
LATENCY_SPIKES_MS = ((20, 80), (50, 200), (1, 150), (100, 300))
BASE_LATENCY_US = (2_000, 8_000)  # Cluster's default, restored when a spike ends
# The clients a late TimeoutNow brings (see `_handover_clients`): this many turns of
# a write and reads, one every HANDOVER_GAP_MS.
HANDOVER_TURNS = 16
HANDOVER_GAP_MS = 12
SPARE_IDS = 2  # ids beyond the initial nodes that membership changes may bring in
DESCRIPTIONS = {
    "split": "partition into a majority and a minority",
    "isolate-leader": "isolate the leader",
    "bridge": "bridge: two halves that share one node",
    "ring": "ring: each node hears only its two neighbours",
    "one-way": "one-way cut between two nodes",
    "reorder": "messages may overtake each other",
    "add": "add a server (voter)",
    "add-learner": "add a learner",
    "remove": "remove a member",
    "swap": "swap voters for new ones in one change (joint consensus)",
    "transfer": "transfer leadership",
    "snapshot": "a node takes a snapshot",
    "hold": "hold a link (its messages wait, then land at once)",
    "stall-leader": "hold every link out of the leader (its messages wait, then land at once)",
}
# Where a client sends an operation, and how often: the leader of the moment,
# any running node (followers refuse), or a node that believes it leads (a
# deposed leader cut off from the others still does).
TARGETS = (("leader", 0.7), ("any", 0.15), ("leading", 0.15))
TARGET_WORDS = {"leader": "the leader", "any": "a random node", "leading": "a node that leads"}
# Only the clients a late TimeoutNow brings (see `_handover_clients`) go here, and
# only while two nodes lead: otherwise they do nothing.
TARGET_WORDS["new-leader"] = "the newest of two leaders"
TARGET_WORDS["old-leader"] = "the older of two leaders"
READ_WORDS = {"log": "read", "read_index": "ReadIndex read", "lease": "lease read"}
READ_WORDS["local"] = "local (unsafe) read"
CHECKERS = ("all", "safety")  # what `--checkers` takes


@attrs.frozen(kw_only=True)
class ClientOp:
    """One client operation: what it asks (`command`), how a get reads, where it goes.

    Written values are unique in the schedule (made from the action's number),
    so a read says which write it saw.
    """

    kind: str  # set, cas, append or get
    key: str
    value: str | None = None  # set and append: the value; cas: the new value
    expected: str | None = None  # cas: the value it expects to find
    mode: str = "log"  # get: log (through the log), read_index, lease or local
    to: str = "leader"  # "leader", "any", "leading" (see TARGETS), "new-leader", "old-leader"

    @property
    def command(self) -> str:
        """The key-value command (what a submit proposes)."""
        if self.kind == "cas":
            return f"cas {self.key} {self.expected} {self.value}"
        if self.kind == "get":
            return f"get {self.key}"
        return f"{self.kind} {self.key} {self.value}"

    @property
    def reads_outside_the_log(self) -> bool:
        return self.kind == "get" and self.mode != "log"

    def describe(self) -> str:
        where = "a random node" if self.mode == "local" else TARGET_WORDS[self.to]
        if self.kind == "get":
            return f"client {READ_WORDS[self.mode]} of {self.key} at {where}"
        return f"client '{self.command}' to {where}"


@attrs.frozen(kw_only=True)
class Trigger:
    """What a triggered fault does once its protocol event happens.

    `delay_us` runs from the event to the fault (at least 1: the fault comes
    after the step that made the event, never inside it). `lasts_us` is how
    long a crashed node stays down, or an isolation or a partition holds (0:
    until everything heals). `hold_us` (deafen only): the TimeoutNow waits on
    its held link until that long after its transfer began; the leader then
    hears no one for `lasts_us`.
    """

    event: str  # see sim.check.fuzz.tripwire.EVENTS
    response: str  # crash, isolate, power, split or deafen
    delay_us: int
    lasts_us: int = 0
    hold_us: int = 0

    def describe(self) -> str:
        if self.response == "deafen":
            return (
                f"when {EVENT_WORDS[self.event]}: {_ms(self.delay_us)} later hold it until "
                f"{_ms(self.hold_us)} after its transfer began, then let it land while that "
                "leader hears no one"
                + (f" for {_ms(self.lasts_us)}" if self.lasts_us else " until healing")
            )
        text = f"when {EVENT_WORDS[self.event]}: {RESPONSE_WORDS[self.response]} "
        text += f"{_ms(self.delay_us)} later"
        if self.response in ("crash", "power"):
            them = "them" if self.response == "power" else "it"
            if self.lasts_us:
                return text + f", restart {them} {_ms(self.lasts_us)} after"
            return text + f", {them} stay{'' if them == 'them' else 's'} down until healing"
        return text + (f" for {_ms(self.lasts_us)}" if self.lasts_us else " until healing")


@attrs.frozen(kw_only=True)
class Action:
    """One timed thing done to the cluster.

    `number` is the action's place in the schedule as generated (from 1); it
    names writes (`set w7 7`) and client operations (`c7`), and links a restart
    to its crash (`of`), and it never changes when minimization removes other
    actions. `key` picks nodes when the action runs (which follower, which
    shuffle of the nodes). `value` holds the kind's setting: "leader" or "any"
    for a crash, "keep-leader" for a swap that must not remove the leader,
    a probability for drop and duplicate, a latency range in ms,
    "any" for a write sent to a random node instead of the leader, the
    `ClientOp` of a client operation, the `Trigger` of a triggered fault
    (whose `lasts_us` is how long it stays armed).
    """

    number: int
    at_us: int
    kind: str
    key: int = 0
    value: object = None
    lasts_us: int = 0
    of: int | None = None

    def describe(self) -> str:
        """What the action does, in words (who it hits is decided when it runs)."""
        kind, value = self.kind, self.value
        lasting = f" for {_ms(self.lasts_us)}" if self.lasts_us else ""
        if kind == "crash":
            return "crash the leader" if value == "leader" else "crash a running node"
        if kind == "restart":
            return f"restart the node that action {self.of} crashed"
        if kind == "swap" and value == "keep-leader":
            return DESCRIPTIONS[kind] + ", the leader staying"
        if kind == "write":
            where = "a random node" if value == "any" else "the leader"
            return f"client write 'set w{self.number} {self.number}' to {where}"
        if kind == "client":
            return value.describe()  # type: ignore[attr-defined]
        if kind in TRIGGERED:
            armed = f" (armed for {_ms(self.lasts_us)})" if self.lasts_us else ""
            return value.describe() + armed  # type: ignore[attr-defined]
        if kind == "drop":
            text = f"lose {value:.0%} of messages"
        elif kind == "duplicate":
            text = f"duplicate {value:.0%} of messages"
        elif kind == "latency":
            low, high = value  # type: ignore[misc]
            text = f"latency spike {low}-{high}ms"
        else:
            text = DESCRIPTIONS[kind]
        return text + lasting

    def __str__(self) -> str:
        return f"#{self.number} at {_ms(self.at_us)}: {self.describe()}"


@attrs.frozen(kw_only=True)
class FuzzSettings:
    """What a campaign asks of every seed: how long, which bugs, which checkers.

    `nodes` pins the cluster size (None: each seed draws its own, 3 to 7).
    `checkers` is "all" (every checker) or "safety" (the five properties of the
    Raft paper's Figure 3, and linearizability of the clients' history).
    `unsafe_reads` lets clients read from any node's own state (`local`).
    """

    duration: float = 10.0
    nodes: int | None = None
    bugs: tuple[str, ...] = ()
    checkers: str = attrs.field(default="all", validator=attrs.validators.in_(CHECKERS))
    unsafe_reads: bool = False
    # Liveness bounds after healing (simulated seconds).
    leader_bound: float = 5.0
    commit_bound: float = 10.0
    catchup_bound: float = 5.0


@attrs.frozen(kw_only=True)
class Schedule:
    """Everything one seed's run does: the cluster it builds and the actions it takes."""

    seed: int
    settings: FuzzSettings
    profile: Profile
    actions: tuple[Action, ...]

    @property
    def nodes(self) -> int:
        return self.profile.nodes

    @property
    def options(self) -> dict[str, object]:
        """Keyword options for Cluster (besides n, seed, bugs and checkers)."""
        return self.profile.options

    @property
    def duration_us(self) -> int:
        return round(self.settings.duration * 1_000_000)

    @property
    def pool(self) -> tuple[str, ...]:
        """Ids membership changes draw from: the initial nodes and a few spares."""
        return tuple(f"n{i}" for i in range(1, self.nodes + SPARE_IDS + 1))

    def with_actions(self, actions: tuple[Action, ...]) -> Schedule:
        return attrs.evolve(self, actions=actions)

    def __str__(self) -> str:
        return "\n".join(str(action) for action in self.actions)


def generate(seed: int, settings: FuzzSettings) -> Schedule:
    """The schedule of `seed`: faults, liveness writes and client operations."""
    profile = draw_profile(seed, nodes=settings.nodes, unsafe_reads=settings.unsafe_reads)
    streams = RandomStreams(seed)
    end_ms = round(settings.duration * 1000)
    drafts = _faults(streams.stream("fuzz/schedule"), profile, end_ms)
    drafts += _triggered(streams.stream("fuzz/triggers"), profile, end_ms)
    writes = streams.stream("fuzz/writes")
    for at_ms in _poisson(writes, profile.write_rate, end_ms):
        to_any = writes.random() < 0.15
        drafts.append(
            {"at_ms": at_ms, "kind": "write", "key": writes.randrange(1 << 30), "value": to_any}
        )
    drafts += _client_drafts(streams.stream("fuzz/clients"), profile, end_ms)

    drafts = [d for d in drafts if d["at_ms"] < end_ms]
    drafts.sort(key=lambda d: d["at_ms"])  # stable: ties keep the order they were drawn in
    numbers = {id(d): n for n, d in enumerate(drafts, start=1)}
    actions = []
    for draft in drafts:
        crash = draft.get("crash_of")
        value = draft.get("value")
        number = numbers[id(draft)]
        if draft["kind"] == "write":
            value = "any" if value else None
        elif draft["kind"] == "client":
            value = _client_op(number, numbers, **draft["op"])
        actions.append(
            Action(
                number=number,
                at_us=draft["at_ms"] * 1000,
                kind=draft["kind"],
                key=draft.get("key", 0),
                value=value,
                lasts_us=draft.get("lasts_ms", 0) * 1000,
                of=None if crash is None else numbers.get(id(crash)),
            )
        )
    return Schedule(seed=seed, settings=settings, profile=profile, actions=tuple(actions))


def _faults(rng: random.Random, profile: Profile, end_ms: int) -> list[dict]:
    """Fault drafts (before numbering); "crash_of" links a restart to its crash."""
    drafts: list[dict] = []
    for at_ms, kind in _arrivals(rng, profile.fault_rate, end_ms, profile.faults):
        draft = {"at_ms": at_ms, "kind": kind, "key": rng.randrange(1 << 30)}
        drafts.append(draft)
        if kind == "crash":
            draft["value"] = "leader" if rng.random() < 0.5 else "any"
            if rng.random() < 0.85:  # else it stays down until everything heals
                downtime = rng.choice([rng.randint(50, 500), rng.randint(500, 3000)])
                drafts.append({"at_ms": at_ms + downtime, "kind": "restart", "crash_of": draft})
        elif kind in SHAPES or kind in NETWORK:
            draft["lasts_ms"] = rng.randint(100, 2000)
            if kind == "drop":
                draft["value"] = rng.choice([0.05, 0.1, 0.2, 0.4])
            elif kind == "duplicate":
                draft["value"] = rng.choice([0.05, 0.2])
            elif kind == "latency":
                draft["value"] = rng.choice(LATENCY_SPIKES_MS)
        elif kind in HOLDS:
            draft["lasts_ms"] = rng.choice([rng.randint(20, 300), rng.randint(300, 2000)])
        elif kind == "transfer" and rng.random() < 0.3:
            draft["key"] = 0  # to the most up-to-date voter, the leader's choice
    return drafts


def _triggered(rng: random.Random, profile: Profile, end_ms: int) -> list[dict]:
    """Triggered fault drafts (see `Trigger`), each armed for a while."""
    drafts: list[dict] = []
    for at_ms, kind in _arrivals(rng, profile.trigger_rate, end_ms, profile.triggers):
        events, response = TRIGGERED[kind]
        event = events[0] if len(events) == 1 else rng.choice(events)
        if event == "joint":
            # A change that brings in new voters to cut off once it goes joint; the
            # leader stays, so that its side can hold a majority of the new voters.
            key = rng.randrange(1 << 30)
            drafts.append({"at_ms": at_ms, "kind": "swap", "key": key, "value": "keep-leader"})
        trigger = _trigger(rng, event, response)
        drafts.append(
            {
                "at_ms": at_ms,
                "kind": kind,
                "key": rng.randrange(1 << 30),
                # Armed this long (a change goes joint once its new voters caught up).
                "lasts_ms": rng.randint(300 if event == "joint" else 100, 2000),
                "value": trigger,
            }
        )
        if event == "timeout-now":
            # A transfer whose TimeoutNow to hold (armed first: the wire sees it leave),
            # and clients on both sides of it when it lands.
            drafts.append({"at_ms": at_ms, "kind": "transfer", "key": rng.randrange(1 << 30)})
            lands_ms = at_ms + trigger.hold_us // 1000
            drafts += _handover_clients(rng.choice(profile.keys), profile.read_modes, lands_ms)
    return drafts


def _handover_clients(key: str, modes: tuple[str, ...], lands_ms: int) -> list[dict]:
    """Clients busy on both sides of a late TimeoutNow, from the moment it should land.

    If the transfer's TimeoutNow left at once, the new leader is elected soon
    after `lands_ms`, while the old one (hearing no one) still leads. Turn
    about, while both lead, a write goes to the new leader, then reads go to
    the old one, one in each of the seed's ReadIndex and lease modes (through
    the log, a read only waits there): no read may miss a write the new leader
    already acknowledged. No draw is made, so asking for unsafe reads changes
    no fault.
    """
    reads = [mode for mode in modes if mode in ("read_index", "lease")] or ["log"]
    drafts: list[dict] = []
    for turn in range(HANDOVER_TURNS):
        at_ms = lands_ms + HANDOVER_GAP_MS * (1 + turn)
        write = {"kind": "set", "key": key, "mode": "log", "to": "new-leader", "expected": None}
        drafts.append({"at_ms": at_ms, "kind": "client", "key": turn, "op": write})
        for mode in reads:
            read = {"kind": "get", "key": key, "mode": mode, "to": "old-leader", "expected": None}
            drafts.append(
                {"at_ms": at_ms + HANDOVER_GAP_MS // 2, "kind": "client", "key": turn, "op": read}
            )
    return drafts


def _trigger(rng: random.Random, event: str, response: str) -> Trigger:
    """A triggered fault's timing: soon after its event, often within a disk write.

    The delay is drawn evenly on a log scale from 1us to 20ms, so that as many
    faults land within a 500us flush as between 2 and 20 ms.
    """
    if response == "deafen":
        # The hold must catch the TimeoutNow on the wire (a message takes 2 ms at
        # least); it lands about when the transfer gives up (the longest election
        # timeout after it began, 300 ms): some land before, most soon after.
        delay_us = rng.randint(1, 1_000)
        hold_ms = rng.randint(270, 350)
        down_ms = rng.randint(50, 2000)
        return Trigger(
            event=event,
            response=response,
            delay_us=delay_us,
            lasts_us=down_ms * 1000,
            hold_us=hold_ms * 1000,
        )
    delay_us = round(math.exp(rng.uniform(0.0, math.log(20_000))))
    if response == "crash":
        down_ms = rng.choice([rng.randint(1, 20), rng.randint(20, 1000), 0])
    elif response == "power":
        down_ms = rng.choice([rng.randint(1, 50), rng.randint(50, 1000)])
    else:
        down_ms = rng.randint(50, 2000)
    return Trigger(event=event, response=response, delay_us=delay_us, lasts_us=down_ms * 1000)


def _client_drafts(rng: random.Random, profile: Profile, end_ms: int) -> list[dict]:
    """Client operation drafts (see `_client_op`).

    A cas usually expects the value last written to its key by a set or a cas
    before it in the schedule (so that some succeed), sometimes an older one.
    """
    targets = [name for name, _ in TARGETS]
    target_weights = [weight for _, weight in TARGETS]
    written: dict[str, list[dict]] = {}  # key -> the drafts of the sets and cas on it so far
    drafts: list[dict] = []
    for at_ms, kind in _arrivals(rng, profile.client_rate, end_ms, profile.operations):
        key = rng.choice(profile.keys)
        mode = rng.choice(profile.read_modes) if kind == "get" else "log"
        to = rng.choices(targets, target_weights)[0]
        earlier = written.setdefault(key, [])
        expected = None
        if kind == "cas" and earlier and rng.random() < 0.8:
            expected = earlier[-1] if rng.random() < 0.7 else rng.choice(earlier)
        op = {"kind": kind, "key": key, "mode": mode, "to": to, "expected": expected}
        draft = {"at_ms": at_ms, "kind": "client", "key": rng.randrange(1 << 30), "op": op}
        drafts.append(draft)
        if kind in ("set", "cas"):
            earlier.append(draft)
    return drafts


def _client_op(
    number: int,
    numbers: dict[int, int],
    *,
    kind: str,
    key: str,
    mode: str,
    to: str,
    expected: dict | None,
) -> ClientOp:
    """The ClientOp of client action `number`; values are named by action numbers."""
    value = None
    if kind in ("set", "cas"):
        value = f"v{number}"
    elif kind == "append":
        value = f"+{number}"
    old = None
    if kind == "cas":  # v0 is never written: such a cas fails
        old = "v0" if expected is None else f"v{numbers[id(expected)]}"
    return ClientOp(kind=kind, key=key, value=value, expected=old, mode=mode, to=to)


def _arrivals(
    rng: random.Random, rate: float, end_ms: int, weighted: Sequence[tuple[str, float]]
) -> Iterator[tuple[int, str]]:
    """Each time of a Poisson process (see `_poisson`) with a kind drawn for it from
    `weighted` (kind, weight) pairs; none at all, and no draw, when there is no kind."""
    if not weighted:
        return
    kinds = [kind for kind, _ in weighted]
    weights = [weight for _, weight in weighted]
    for at_ms in _poisson(rng, rate, end_ms):
        yield at_ms, rng.choices(kinds, weights)[0]


def _poisson(rng: random.Random, rate: float, end_ms: int) -> list[int]:
    """Times (whole ms, from 1) of a Poisson process of `rate` per second, before `end_ms`."""
    times, t = [], 0.0
    while True:
        t += rng.expovariate(rate)
        at_ms = max(1, round(t * 1000))
        if at_ms >= end_ms:
            return times
        times.append(at_ms)


def _ms(us: int) -> str:
    return f"{us / 1000:g}ms" if us < 1_000_000 else f"{us / 1_000_000:g}s"
