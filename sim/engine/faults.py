"""Faults on demand: partitions, one-way cuts, held links and hand-picked messages.

These are the world's fault-injection verbs (the network's random loss,
duplication and delay are in sim/engine/network.py). Each changes the network
and records one sentence in the trace, so a learner sees when the weather
changed; none of them touches a node: nodes notice only through the messages
that do or do not arrive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.events import DELIVER, EventQueue
from sim.engine.part import WorldPart

if TYPE_CHECKING:
    from sim.engine.network import Network


class NetworkControls(WorldPart):
    """The fault-injection verbs of `World` (which provides the state below)."""

    network: Network
    queue: EventQueue

    if TYPE_CHECKING:

        def _deliver(self, msg_id: int, *, forced: bool = False) -> None: ...

    def partition(self, *groups: tuple[str, ...]) -> None:
        """Replace any partition with these groups (the rest form one more)."""
        self.network.partition(groups, self.nodes)
        shown = " | ".join("{" + ",".join(g) + "}" for g in self.network.groups)
        self._record(None, "Network", "partition", "network partitioned: {}", (shown,))

    def heal(self) -> None:
        """Remove partitions and cuts; latency, loss and duplication stay."""
        self.network.heal()
        self._record(None, "Network", "heal", "network healed: every link works again")

    def cut(self, src: str, dst: str) -> None:
        """Lose every message from `src` to `dst` (one way)."""
        self.network.cuts.add((src, dst))
        self._record(src, "Network", "cut", "link {} -> {} cut (one way)", (src, dst))

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
            "network: drop {:g}, duplicate {:g}, latency {:g}-{:g} ms, {} links",
            (
                network.drop,
                network.duplicate,
                low / 1000,
                high / 1000,
                "reordering" if network.reorder else "FIFO",
            ),
        )

    def hold(self, src: str, dst: str) -> None:
        """Hold messages from src to dst as they arrive, until released."""
        self.network.held_links.add((src, dst))
        self._record(src, "Network", "hold", "link {} -> {} held: messages wait on it", (src, dst))

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
            "link {} -> {} released: {} held message(s) arrive now",
            (src, dst, len(waiting)),
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
            "{} -> {} {} delivered now (by request)",
            (flight.message.src, flight.message.dst, flight.text),
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
            "{} -> {} {} lost: dropped by request",
            (msg.src, msg.dst, flight.text),
            msg_id,
        )
