"""The simulated network: latency, loss, duplication, partitions and one-way cuts.

Every message gets its own latency drawn from a range. By default each link
is first-in first-out, like the TCP connection sofa-jraft and etcd send over:
a message never lands before one sent earlier on the same link. With
`reorder` on, messages on a link may overtake each other (as datagrams do),
and a follower sees gaps that the leader must repair (Raft §5.3). A message
is checked against partitions and cuts both when it is sent and when it would
land: a link that is down when the message arrives loses it. Messages in
flight are kept, so views can show them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from raft import Message


class Flight(NamedTuple):
    """A message on the wire (`text`: the message described once, for the trace; empty
    when the world keeps no trace)."""

    msg_id: int
    message: Message
    sent_us: int
    lands_us: int
    text: str


class Network:
    """Links between nodes and what travels on them."""

    def __init__(
        self,
        rng,
        *,
        latency: tuple[int, int],
        drop: float,
        duplicate: float,
        reorder: bool = False,
    ) -> None:
        self._rng = rng
        self.latency = latency
        self.drop = drop
        self.duplicate = duplicate
        self.reorder = reorder
        # (src, dst) -> when the last message sent on that link lands (FIFO links).
        self._link_clear: dict[tuple[str, str], int] = {}
        # node -> group number; nodes in different groups cannot talk. Empty: no partition.
        self._groups: dict[str, int] = {}
        self._rest = 0
        self.cuts: set[tuple[str, str]] = set()
        self.in_flight: dict[int, Flight] = {}
        # Links held by request: messages arriving there wait (still in flight)
        # until the link is released or the message is delivered or dropped.
        self.held_links: set[tuple[str, str]] = set()
        self.held: dict[int, Flight] = {}
        self._next_id = 0
        self.describe = True  # False: flights carry no text (a world that keeps no trace)

    # -- faults -----------------------------------------------------------

    def partition(self, groups: Iterable[Iterable[str]], everyone: Iterable[str]) -> None:
        """Replace any partition: each group talks only within itself; the rest form one more."""
        self._groups = {}
        for number, group in enumerate(groups):
            for node in group:
                self._groups[node] = number
        # The group of every node not named, including servers created later.
        self._rest = len(self._groups) and max(self._groups.values()) + 1
        for node in everyone:
            self._groups.setdefault(node, self._rest)

    def join(self, node: str) -> None:
        """A server new to the cluster: under a partition, it joins the group of the unnamed."""
        if self._groups:
            self._groups.setdefault(node, self._rest)

    def heal(self) -> None:
        """Remove partitions and cuts (latency, drop and duplicate settings stay)."""
        self._groups = {}
        self.cuts = set()

    @property
    def groups(self) -> list[list[str]]:
        """The current partition as lists of node ids (empty when there is none)."""
        by_number: dict[int, list[str]] = {}
        for node, number in self._groups.items():
            by_number.setdefault(number, []).append(node)
        return [by_number[n] for n in sorted(by_number)] if len(by_number) > 1 else []

    def blocked(self, src: str, dst: str) -> str | None:
        """Why a message from src to dst cannot pass now, or None if it can."""
        if not self.cuts and not self._groups:
            return None  # a healthy network, the common case
        if (src, dst) in self.cuts:
            return f"link {src} -> {dst} is cut"
        groups = self._groups
        if groups and groups.get(src) != groups.get(dst):
            return f"{src} and {dst} are partitioned"
        return None

    # -- traffic ----------------------------------------------------------

    def send(self, message: Message, now: int) -> tuple[list[Flight], str | None]:
        """Put a message on the wire: the flights created, or why it was lost."""
        reason = self.blocked(message.src, message.dst)
        if reason is not None:
            return [], reason
        rng = self._rng
        if self.drop and rng.random() < self.drop:
            return [], f"random loss (drop rate {self.drop:g})"
        copies = 2 if self.duplicate and rng.random() < self.duplicate else 1
        low, high = self.latency
        link = (message.src, message.dst)
        text = str(message) if self.describe else ""
        flights = []
        for _ in range(copies):
            lands = now + rng.randint(low, high)
            if not self.reorder:
                # Equal landing times keep send order: the event heap breaks ties by sequence.
                lands = max(lands, self._link_clear.get(link, 0))
                self._link_clear[link] = lands
            self._next_id += 1
            flight = Flight(self._next_id, message, now, lands, text)
            self.in_flight[flight.msg_id] = flight
            flights.append(flight)
        return flights, None

    def copy(self, msg_id: int) -> Flight:
        """A second copy of a message in flight (a duplicate), landing when the first does."""
        flight = self.in_flight[msg_id]
        self._next_id += 1
        twin = flight._replace(msg_id=self._next_id)
        self.in_flight[twin.msg_id] = twin
        return twin

    def land(self, msg_id: int) -> Flight | None:
        """Take a message off the wire when its time comes (None if it was discarded)."""
        return self.in_flight.pop(msg_id, None)

    def discard_to(self, node: str) -> list[Flight]:
        """A node crashed: every message in flight to it is lost."""
        lost = [f for f in self.in_flight.values() if f.message.dst == node]
        for flight in lost:
            del self.in_flight[flight.msg_id]
            self.held.pop(flight.msg_id, None)
        return lost
