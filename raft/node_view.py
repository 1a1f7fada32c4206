"""The node as its parts see it: small Protocols in place of the whole `Node`.

Theory of operation: as in sofa-jraft, a node is made of parts that each hold
on to their node (jraft's ConfigurationCtx holds its NodeImpl). Here a part is
typed against a Protocol naming only what it uses of the node, never against
`Node` itself. So raft/node.py imports its parts and no part imports node.py:
the dependency runs one way, a part can be read knowing only its Protocol,
and a test can drive it with a stand-in.

Members a part only reads are read-only properties here, even where `Node`
has a plain attribute: a part may look at the node's term, never set it.
mypy checks that `Node` satisfies each Protocol where node.py hands itself to
a part. This module must never import a part: that would close a circle.

`Role` lives here rather than in node.py because every part asks it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Protocol

from raft.ballot_box import BallotBox
from raft.configuration import Configuration
from raft.log_manager import LogManager
from raft.messages import Message
from raft.options import RaftOptions
from raft.outputs import Outbox
from raft.replicator import Replicator
from raft.snapshot_executor import SnapshotExecutor
from raft.state_machine import FSMCaller


class Role(enum.Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    LEARNER = "learner"


class NodeCore(Protocol):
    """What every part reads of its node, and how it speaks."""

    @property
    def id(self) -> str: ...

    @property
    def term(self) -> int: ...

    @property
    def options(self) -> RaftOptions: ...

    @property
    def log(self) -> LogManager: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def configuration(self) -> Configuration:
        """The configuration in force: the latest in the log."""
        ...

    def note(self, kind: str, template: str, args: tuple = (), component: str = "Node") -> None:
        """One sentence for the trace, explaining a decision."""
        ...

    def send(self, message: Message) -> None:
        """Send, held back until the node's term and vote are durable (Figure 2)."""
        ...


class ElectingNode(NodeCore, Protocol):
    """A node as its Election sees it: what a campaign reads, and the role changes it asks."""

    @property
    def role(self) -> Role: ...

    @property
    def is_voter(self) -> bool: ...

    leader_id: str | None  # forgotten when a pre-vote begins
    voted_for: str | None  # set when a vote is granted, then saved

    def save_hard_state(self) -> int:
        """Persist term and vote; returns the write's sequence number."""
        ...

    def send_when_durable(
        self, seq: int, message: Message, expected_term: int | None = None
    ) -> None:
        """Send once write `seq` is durable (a vote, an acknowledgement)."""
        ...

    def become_follower(self, term: int, leader: str | None, now: int) -> None: ...

    def become_candidate(self, now: int, *, transfer: bool = False) -> None: ...

    def become_leader(self, now: int) -> None: ...


class FollowingNode(NodeCore, Protocol):
    """A node as the follower side of replication sees it (AppendEntries, InstallSnapshot)."""

    @property
    def fsm(self) -> FSMCaller: ...

    @property
    def ballot_box(self) -> BallotBox: ...

    @property
    def snapshots(self) -> SnapshotExecutor: ...

    @property
    def commit_index(self) -> int: ...

    def send_when_durable(
        self, seq: int, message: Message, expected_term: int | None = None
    ) -> None:
        """Send once write `seq` is durable (a vote, an acknowledgement)."""
        ...

    def hear_from_leader(self, msg: Message, now: int) -> None:
        """A current-term message from the leader: follow it, postpone the election."""
        ...

    def sync_follower_role(self, now: int) -> None:
        """The configuration changed: become a learner, or a follower, as it says."""
        ...


class LeadingNode(NodeCore, Protocol):
    """A node as its Leadership sees it: what taking over and stepping down touch."""

    @property
    def role(self) -> Role: ...

    @property
    def fsm(self) -> FSMCaller: ...

    @property
    def ballot_box(self) -> BallotBox: ...

    def become_follower(self, term: int, leader: str | None, now: int) -> None: ...


class ReadingNode(NodeCore, Protocol):
    """A leader as its ReadOnlyService sees it."""

    @property
    def role(self) -> Role: ...

    @property
    def fsm(self) -> FSMCaller: ...

    @property
    def replicators(self) -> Mapping[str, Replicator]: ...

    @property
    def commit_index(self) -> int: ...

    @property
    def last_applied(self) -> int: ...


class ChangingNode(NodeCore, Protocol):
    """A leader as the parts carrying out a change see it (ConfigurationCtx, LeadershipTransfer)."""

    @property
    def fsm(self) -> FSMCaller: ...

    @property
    def replicators(self) -> Mapping[str, Replicator]:
        """One per peer of the leader's configuration."""
        ...

    def finished(self, ticket: int, ok: bool, reason: str) -> None:
        """An accepted admin request ended."""
        ...

    def sync_replicators(self, members: tuple[str, ...], now: int) -> None:
        """Keep exactly one replicator per member other than the leader."""
        ...

    def append_configuration(self, conf: Configuration, now: int) -> int:
        """Append a configuration entry (in force at once); returns its index."""
        ...

    def after_membership_change(self, now: int) -> None:
        """A change is done: a leader that is no longer a voter hands over."""
        ...
