"""Swarm testing: every seed draws its own mix of faults, features and clients.

Theory of operation (Groce et al., "Swarm Testing", ISSTA 2012): a campaign in
which every seed draws from the same mix of everything tests each thing a
little, and seldom hard. So each seed first draws a `Profile`: how many
servers (3 to 7), PreVote and CheckQuorum on or off, the flush delay, which
kinds of fault happen at all and how often each, whether membership changes,
which operations the clients send and how they read. A seed whose profile
says "crash, crash, crash, flush delay 50 ms" hammers lost unflushed writes;
another one with only partitions and lease reads hammers leases.

The profile comes from the seed's own stream ("fuzz/swarm") and from nothing
else: never from the bug switches or the checkers chosen, so the same seed
makes the same schedule with any `--bug`. Every draw is made whatever the
earlier ones said (pinning `--nodes` or asking for unsafe reads changes only
what it names, not the rest of the profile).
"""

from __future__ import annotations

import math

import attrs

from sim.engine.rng import RandomStreams

# Kinds of faults and how often each is drawn, relative to the others, before
# a seed's profile switches some off and weighs the rest.
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
    "hold": 0.8,
    "stall-leader": 2.5,
}
# Triggered faults (sim.check.fuzz.schedule.TRIGGERED), a moment after a protocol
# event, are drawn the same way, at a rate of their own: a seed may hammer the
# moments that matter with few timed faults around to blur them, or the reverse.
TRIGGER_WEIGHTS: dict[str, float] = {
    "crash-acker": 0.6,
    "depose-leader": 3.0,
    "power-cut": 1.2,
    "split-joint": 1.0,
    "late-timeout-now": 2.0,
}
MEMBERSHIP = ("add", "add-learner", "remove", "swap", "split-joint")
BOOSTS = (0.3, 1.0, 1.0, 3.0)  # a kind's weight is multiplied by one of these
SIZES = (3, 7)  # cluster sizes a seed draws from, inclusive
FLUSH_DELAYS = (0.0005, 0.002, 0.002, 0.02, 0.05)  # seconds
# Client operations (a `get` reads in one of the seed's read modes).
OPERATIONS = ("set", "cas", "append", "get")
SAFE_READS = ("log", "read_index", "lease")  # lease only with CheckQuorum
UNSAFE_READS = ("local",)
KEYS = ("x", "y", "z")


@attrs.frozen(kw_only=True)
class Profile:
    """What one seed is about: its cluster, its faults and its clients."""

    nodes: int
    options: dict[str, object]  # keyword options for Cluster (besides n, seed, bugs, checkers)
    faults: tuple[tuple[str, float], ...]  # timed fault kinds that happen, with their weights
    fault_rate: float  # timed faults per simulated second
    triggers: tuple[tuple[str, float], ...]  # triggered fault kinds, with their weights
    trigger_rate: float  # triggered faults armed per simulated second
    write_rate: float  # liveness writes (`set wN N`) per simulated second
    client_rate: float  # client operations per simulated second
    operations: tuple[tuple[str, float], ...]  # client operation kinds and their weights
    read_modes: tuple[str, ...]  # how a client `get` reads
    keys: tuple[str, ...]  # the keys client operations touch

    def describe(self) -> str:
        """The profile in one line, for people."""
        on = [name for name in ("pre_vote", "check_quorum") if self.options.get(name)]
        faults = ", ".join(f"{kind} x{weight:g}" for kind, weight in self.faults) or "none"
        triggers = ", ".join(f"{kind} x{weight:g}" for kind, weight in self.triggers) or "none"
        ops = ", ".join(f"{kind} x{weight:g}" for kind, weight in self.operations if weight)
        flush = self.options["flush_delay"]
        return (
            f"{self.nodes} nodes, {' and '.join(on) or 'no PreVote, no CheckQuorum'}, "
            f"flush {float(flush) * 1000:g}ms; "  # type: ignore[arg-type]
            f"{self.fault_rate:.1f} faults/s ({faults}); "
            f"{self.trigger_rate:.1f} triggered/s ({triggers}); "
            f"{self.client_rate:.1f} client ops/s ({ops}) on {','.join(self.keys)}, "
            f"reads: {', '.join(self.read_modes)}"
        )


def draw_profile(seed: int, *, nodes: int | None = None, unsafe_reads: bool = False) -> Profile:
    """The profile of `seed`. `nodes` pins the cluster size; `unsafe_reads` adds local reads."""
    rng = RandomStreams(seed).stream("fuzz/swarm")
    size = rng.randint(*SIZES)
    check_quorum = rng.random() < 0.5
    options: dict[str, object] = {
        "pre_vote": rng.random() < 0.6,
        "check_quorum": check_quorum,
        "membership": rng.choice(["joint", "single"]),
        "snapshot_interval": rng.choice([0, 0, 5, 20]),
        "max_inflight": rng.choice([1, 2, 8]),
        "max_entries_per_request": rng.choice([1, 3, 16]),
        "flush_delay": rng.choice(FLUSH_DELAYS),
    }
    # Some seeds see few kinds of fault, others nearly all; membership changes
    # come and go as a group.
    density = rng.uniform(0.2, 0.9)
    membership = rng.random() < 0.6
    faults, triggers = [], []
    for kinds, chosen in ((FAULT_WEIGHTS, faults), (TRIGGER_WEIGHTS, triggers)):
        for kind, weight in kinds.items():
            drawn = rng.random() < density
            boost = rng.choice(BOOSTS)
            if drawn and (membership or kind not in MEMBERSHIP):
                chosen.append((kind, weight * boost))
    fault_rate = _log_uniform(rng.random(), 0.5, 5.0)
    trigger_rate = _log_uniform(rng.random(), 0.5, 5.0)
    write_rate = rng.uniform(1.0, 6.0)
    client_rate = _log_uniform(rng.random(), 2.0, 16.0)
    weights = [rng.choice((0.0, 1.0, 1.0, 3.0)) for _ in OPERATIONS]
    if not any(weights):
        weights = [1.0] * len(OPERATIONS)
    modes = [mode for mode in SAFE_READS if rng.random() < 0.6]
    if not check_quorum and "lease" in modes:
        modes.remove("lease")  # a lease needs CheckQuorum (thesis §6.4.1)
    modes = modes or ["log"]
    if unsafe_reads:
        modes += UNSAFE_READS
    keys = KEYS[: rng.randint(1, len(KEYS))]
    return Profile(
        nodes=size if nodes is None else nodes,
        options=options,
        faults=tuple(faults),
        fault_rate=fault_rate,
        triggers=tuple(triggers),
        trigger_rate=trigger_rate,
        write_rate=write_rate,
        client_rate=client_rate,
        operations=tuple(zip(OPERATIONS, weights, strict=True)),
        read_modes=tuple(modes),
        keys=keys,
    )


def _log_uniform(u: float, low: float, high: float) -> float:
    """`u` in [0, 1) mapped onto [low, high) evenly on a log scale: as many slow seeds as fast."""
    return low * math.exp(u * math.log(high / low))
