"""Steps that make one exact choice: this message, this timer, this flush, now.

`raftsim explore` decides every event itself, and saves what it found as a
scenario built from these steps, so that `raftsim run` replays the very same
interleaving: `deliver n1 -> n2 RequestVote#2` (the second-oldest RequestVote
in flight on that link), `drop ...`, `duplicate ...`, `fire n2 election`,
`flush n3`. They call `Cluster.deliver`, `drop`, `duplicate`, `fire` and
`flush` (sim/engine/choices.py says how a timer fired early moves the clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from sim.scenario.model import Step

if TYPE_CHECKING:
    from sim.scenario.context import RunContext

ORDINALS = {1: "oldest", 2: "second-oldest", 3: "third-oldest"}


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
        cluster = run.cluster
        getattr(cluster, self.verb)(self.msg_id(run))

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
        run.cluster.fire(self.node, self.timer)


@attrs.frozen(kw_only=True)
class FlushDisk(Step):
    """`flush NODE`: the node's pending disk flush completes now."""

    node: str

    def execute(self, run: RunContext) -> None:
        run.cluster.flush(self.node)
