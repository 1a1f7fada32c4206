"""Steps that make one exact choice: this message, this timer, this flush, now.

`raftsim explore` decides every event itself, and saves what it found as a
scenario built from these steps, so that `raftsim run` replays the very same
interleaving: `deliver n1 -> n2 RequestVote#2` (the second-oldest RequestVote
in flight on that link), `drop ...`, `duplicate ...`, `fire n2 election`,
`flush n3`. Delivering and dropping are `Cluster.deliver` and `drop`; the
other three are the world's exact choices (sim/engine/choices.py, which says
how a timer fired early moves the clock), made through `choose` below rather
than methods of `Cluster`: only stories and the explorer need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from sim import arguments as arg
from sim.scenario.model import Step

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.context import RunContext

ORDINALS = {1: "oldest", 2: "second-oldest", 3: "third-oldest"}


CHOICES = ("duplicate", "fire", "flush")


def choose(cluster: Cluster, verb: str, *args: object) -> None:
    """Make one exact choice on the cluster's world: `duplicate MSG_ID`, `fire NODE TIMER`
    or `flush NODE`. It is journaled as the Cluster's own calls are, so time travel
    (back, goto) replays it; the arguments are checked as the Cluster checks its own.

    Not methods of `Cluster` (whose checks and journal it borrows): the front door
    stays the size a reader can hold, and these verbs serve stories and the explorer.
    """
    if verb not in CHOICES:
        raise ValueError(f"unknown exact choice {verb!r} (one of {', '.join(CHOICES)})")
    if verb == "duplicate":
        cluster._check_flight(*args)  # type: ignore[arg-type]
    else:
        cluster._check_id(args[0])  # type: ignore[arg-type]
    if verb == "fire":
        args = (args[0], arg.word(args[1], "timer"))
    cluster._call(verb, *args)


@attrs.frozen(kw_only=True)
class ExactMessage(Step):
    """`deliver|drop|duplicate A B [TYPE[#K]]`: the K-th oldest message of TYPE in flight
    from A to B (the oldest of any type without TYPE) arrives now, is lost, or is doubled."""

    verb: str
    src: str
    dst: str
    message_type: str | None
    nth: int = 1

    def execute(self, run: RunContext) -> None:
        cluster, msg_id = run.cluster, self.msg_id(run)
        if self.verb == "duplicate":
            choose(cluster, "duplicate", msg_id)
        else:
            getattr(cluster, self.verb)(msg_id)  # Cluster.deliver, Cluster.drop

    def msg_id(self, run: RunContext) -> int:
        link = (self.src, self.dst)
        found = [
            flight
            for flight in run.cluster.in_flight  # oldest first
            if (flight.message.src, flight.message.dst) == link
        ]
        matching = [f for f in found if self.message_type in (None, f.message.name)]
        if len(matching) >= self.nth:
            return matching[self.nth - 1].msg_id
        what = f"{self.message_type} " if self.message_type else ""
        ordinal = "" if self.nth == 1 else ORDINALS.get(self.nth, f"{self.nth}th-oldest") + " "
        there = ", ".join(f.message.name for f in found) or "nothing"
        raise ValueError(
            f"no {ordinal}{what}message from {self.src} to {self.dst} is in flight "
            f"(on that link: {there})"
        )


@attrs.frozen(kw_only=True)
class FireTimer(Step):
    """`fire NODE TIMER`: the node's timer fires now (the clock moves on to when it is due)."""

    node: str
    timer: str

    def execute(self, run: RunContext) -> None:
        choose(run.cluster, "fire", self.node, self.timer)


@attrs.frozen(kw_only=True)
class FlushDisk(Step):
    """`flush NODE`: the node's pending disk flush completes now."""

    node: str

    def execute(self, run: RunContext) -> None:
        choose(run.cluster, "flush", self.node)
