"""The trace: every event of a run, as sentences a student can read."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class TraceEvent:
    """One thing that happened.

    `component` is the part that acted (Node, LogManager, Replicator,
    BallotBox, StateMachine, Network, Disk, Cluster), `kind` a short machine
    tag (send, receive, drop, vote, commit, apply, ...), and `text` one plain
    sentence. Network events carry `msg_id` so that a send and its delivery
    can be paired (message sequence diagrams).
    """

    index: int
    time_us: int
    node: str | None
    component: str
    kind: str
    text: str
    msg_id: int | None = None

    def __deepcopy__(self, memo: dict) -> TraceEvent:
        return self

    @property
    def time(self) -> float:
        """Simulated time in seconds."""
        return self.time_us / 1_000_000

    def __str__(self) -> str:
        return f"{self.time:9.6f}  {self.text}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (for saving traces)."""
        return attrs.asdict(self)
