"""Client proposals and admin requests, and what became of them."""

from __future__ import annotations

import attrs


@attrs.define
class Proposal:
    """One `submit`: refused, or accepted at (index, term) and then followed.

    `outcome` is "refused", "pending", "committed" (the accepting leader
    learned that its entry committed), or "unknown" (the leader lost its
    leadership or crashed first: the entry may still commit under a later
    leader, which is exactly the ambiguity real Raft clients face).
    """

    id: int
    command: str
    node: str | None
    accepted: bool
    index: int | None = None
    term: int | None = None
    reason: str | None = None
    leader_hint: str | None = None
    outcome: str = "pending"
    result: str | None = None
    invoked_us: int = 0  # when the client asked
    settled_us: int | None = None  # when the outcome became final
    result_us: int | None = None  # when the leader's state machine answered (get, cas)

    @property
    def committed(self) -> bool:
        return self.outcome == "committed"


@attrs.define
class AdminRequest:
    """One admin request (membership change, transfer, snapshot) and its fate.

    `outcome` is "refused", "pending" (accepted, still going on), "done" or
    "failed" (with `reason`).
    """

    id: int
    kind: str
    node: str | None
    accepted: bool
    reason: str | None = None
    outcome: str = "pending"

    @property
    def done(self) -> bool:
        return self.outcome == "done"


@attrs.define
class ReadRequest:
    """One `read` outside the log (ReadIndex, lease or local) and its fate.

    `outcome` is "refused", "pending", "done" (with `value`: the value read,
    None for an absent key) or "failed" (with `reason`).
    """

    id: int
    key: str
    mode: str
    node: str | None
    accepted: bool
    reason: str | None = None
    leader_hint: str | None = None
    outcome: str = "pending"
    value: str | None = None
    invoked_us: int = 0  # when the client asked
    settled_us: int | None = None  # when it was answered, refused or failed

    @property
    def done(self) -> bool:
        return self.outcome == "done"
