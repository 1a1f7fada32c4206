"""The trace: every event of a run, as sentences a student can read."""

from __future__ import annotations

from typing import NamedTuple


class TraceEvent(NamedTuple):
    """One thing that happened.

    `component` is the part that acted (Node, LogManager, Replicator,
    BallotBox, StateMachine, Network, Disk, Cluster, Client, Checker), `kind`
    a short machine tag (send, receive, drop, vote, commit, apply, ...), and
    `text` one plain sentence. Network events carry `msg_id` so that a send
    and its delivery can be paired (message sequence diagrams).

    A NamedTuple: immutable, cheap to build, and of plain values only, so a
    long trace costs the garbage collector nothing.
    """

    index: int
    time_us: int
    node: str | None
    component: str
    kind: str
    text: str
    msg_id: int | None = None

    @property
    def time(self) -> float:
        """Simulated time in seconds."""
        return self.time_us / 1_000_000

    def __str__(self) -> str:
        return f"{self.time:9.6f}  {self.text}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (for saving traces)."""
        return self._asdict()
