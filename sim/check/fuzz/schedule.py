"""Fault schedules: seeded lists of timed fault actions, kept as data.

Theory of operation: a schedule is drawn from its seed's own random stream
("fuzz/schedule", and "fuzz/cluster" for the cluster's options), so changing
how the cluster draws its numbers never changes the schedule, and the other
way round. It says *what* happens and *when* (on a millisecond grid), not to
*whom*: "crash the leader", "split the network, key 17". Who that is gets
decided when the action runs (sim.check.fuzz.run), from the cluster as it is at that
moment. So any subset of a schedule is still a valid schedule, which is what
minimization (sim.check.fuzz.shrink) needs.

Some actions are windows (`lasts_us` > 0): a partition, a latency spike or a
loss rate that holds for a while and is then undone.
"""

from __future__ import annotations

import random

import attrs

from sim.engine.rng import RandomStreams

# Kinds of faults and how often each is drawn, relative to the others.
FAULT_WEIGHTS: dict[str, float] = {
    "crash": 3.0,
    "split": 1.5,
    "isolate-leader": 1.2,
    "bridge": 0.6,
    "ring": 0.6,
    "one-way": 0.8,
    "drop": 0.8,
    "duplicate": 0.6,
    "latency": 0.8,
    "reorder": 0.6,
    "add": 0.6,
    "add-learner": 0.4,
    "remove": 0.6,
    "swap": 1.0,
    "transfer": 0.8,
    "snapshot": 0.8,
}
SHAPES = ("split", "isolate-leader", "bridge", "ring")
NETWORK = ("drop", "duplicate", "latency", "reorder")
LATENCY_SPIKES_MS = ((20, 80), (50, 200), (1, 150), (100, 300))
BASE_LATENCY_US = (2_000, 8_000)  # Cluster's default, restored when a spike ends
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
}


@attrs.frozen(kw_only=True)
class Action:
    """One timed thing done to the cluster.

    `number` is the action's place in the schedule as generated (from 1); it
    names writes (`set w7 7`) and links a restart to its crash (`of`), and it
    never changes when minimization removes other actions. `key` picks nodes
    when the action runs (which follower, which shuffle of the nodes). `value`
    holds the kind's setting: "leader" or "any" for a crash, a probability for
    drop and duplicate, a latency range in ms, "any" for a write sent to a
    random node instead of the leader.
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
        if kind == "write":
            where = "a random node" if value == "any" else "the leader"
            return f"client write 'set w{self.number} {self.number}' to {where}"
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
    """What a campaign asks of every seed: how long, how many nodes, which bugs."""

    duration: float = 10.0
    nodes: int = 5
    bugs: tuple[str, ...] = ()
    # Liveness bounds after healing (simulated seconds).
    leader_bound: float = 5.0
    commit_bound: float = 10.0
    catchup_bound: float = 5.0


@attrs.frozen(kw_only=True)
class Schedule:
    """Everything one seed's run does: the cluster it builds and the actions it takes."""

    seed: int
    settings: FuzzSettings
    options: dict[str, object]  # keyword options for Cluster (besides n, seed, bugs)
    actions: tuple[Action, ...]

    @property
    def duration_us(self) -> int:
        return round(self.settings.duration * 1_000_000)

    @property
    def pool(self) -> tuple[str, ...]:
        """Ids membership changes draw from: the initial nodes and a few spares."""
        return tuple(f"n{i}" for i in range(1, self.settings.nodes + SPARE_IDS + 1))

    def with_actions(self, actions: tuple[Action, ...]) -> Schedule:
        return attrs.evolve(self, actions=actions)

    def __str__(self) -> str:
        return "\n".join(str(action) for action in self.actions)


def cluster_options(seed: int) -> dict[str, object]:
    """The cluster's timing, pipeline and feature options for this seed."""
    rng = RandomStreams(seed).stream("fuzz/cluster")
    return {
        "pre_vote": rng.random() < 0.7,
        "check_quorum": rng.random() < 0.5,
        "membership": rng.choice(["joint", "single"]),
        "snapshot_interval": rng.choice([0, 0, 5, 20]),
        "max_inflight": rng.choice([1, 2, 8]),
        "max_entries_per_request": rng.choice([1, 3, 16]),
        "flush_delay": rng.choice([0.0005, 0.002, 0.02]),
    }


def generate(seed: int, settings: FuzzSettings) -> Schedule:
    """The schedule of `seed`: faults and client writes over `settings.duration`."""
    rng = RandomStreams(seed).stream("fuzz/schedule")
    end_ms = round(settings.duration * 1000)
    fault_rate = rng.uniform(1.0, 3.0)  # faults per simulated second
    write_rate = rng.uniform(4.0, 12.0)  # client writes per simulated second
    kinds, weights = list(FAULT_WEIGHTS), list(FAULT_WEIGHTS.values())
    drafts: list[dict] = []  # actions before numbering; "crash_of" links restarts

    for at_ms in _poisson(rng, fault_rate, end_ms):
        kind = rng.choices(kinds, weights)[0]
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
        elif kind == "transfer" and rng.random() < 0.3:
            draft["key"] = 0  # to the most up-to-date voter, the leader's choice

    for at_ms in _poisson(rng, write_rate, end_ms):
        to_any = rng.random() < 0.15
        drafts.append(
            {"at_ms": at_ms, "kind": "write", "key": rng.randrange(1 << 30), "value": to_any}
        )

    drafts = [d for d in drafts if d["at_ms"] < end_ms]
    drafts.sort(key=lambda d: d["at_ms"])  # stable: ties keep the order they were drawn in
    numbers = {id(d): n for n, d in enumerate(drafts, start=1)}
    actions = []
    for draft in drafts:
        crash = draft.get("crash_of")
        value = draft.get("value")
        if draft["kind"] == "write":
            value = "any" if value else None
        actions.append(
            Action(
                number=numbers[id(draft)],
                at_us=draft["at_ms"] * 1000,
                kind=draft["kind"],
                key=draft.get("key", 0),
                value=value,
                lasts_us=draft.get("lasts_ms", 0) * 1000,
                of=None if crash is None else numbers.get(id(crash)),
            )
        )
    return Schedule(
        seed=seed, settings=settings, options=cluster_options(seed), actions=tuple(actions)
    )


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
