"""Membership change on the leader: sofa-jraft's ConfigurationCtx.

Theory of operation (Raft §6, thesis §4; jraft's NodeImpl.ConfigurationCtx):
one change at a time walks through stages:

- CATCHING_UP: new voters get replicators and receive the log without a
  vote, until each has answered and is within `catchup_margin` entries of
  the leader. If one
  stops making progress for a whole `catchup_timeout`, the change fails
  (thesis §4.2.1: adding a server that cannot keep up would stall commits).
- JOINT: the leader appends C(old,new). From the moment it is appended, on
  every node that has it, elections and commits need a majority of the old
  voters AND of the new ones.
- STABLE: once C(old,new) is committed, the leader appends C(new).
- Once C(new) is committed the change is done: replicators of removed nodes
  stop, and a leader that is no longer a voter steps down.

In single-server mode (thesis §4.1) the leader skips the joint stage and
appends C(new) directly, which is safe only because one voter is added or
removed at a time: any majority of the old set and any majority of the new
one overlap.

A configuration takes effect when appended, not when committed (Raft §6).
"""

from __future__ import annotations

import enum

from raft.configuration import Configuration
from raft.node_view import ChangingNode
from raft.replicator import ReplicatorState

CATCHUP_TIMER = "catchup"
# Notes a reader of the trace picks out by template (sim/check/fuzz/coverage.py):
# the joint configuration committed (the new one), and a change ended ("done" or
# "failed", why).
JOINT_COMMITTED = "joint configuration committed: appends the new configuration {}"
CHANGE_ENDS = "membership change {}: {}"


class Stage(enum.Enum):
    NONE = "none"
    CATCHING_UP = "catching up"
    JOINT = "joint"
    STABLE = "stable"


class ConfigurationCtx:
    """The membership change a leader is carrying out, if any."""

    def __init__(self, node: ChangingNode) -> None:
        self._node = node
        self.stage = Stage.NONE
        self.old: Configuration | None = None
        self.new: Configuration | None = None
        self._ticket = 0
        self._wait_index = 0  # the configuration entry whose commit ends the stage
        self._progress: dict[str, int] = {}  # catching-up peers' match at the last check

    @property
    def busy(self) -> bool:
        return self.stage is not Stage.NONE

    def start(self, new: Configuration, ticket: int, now: int) -> None:
        """Begin changing the node's (stable) configuration to `new`."""
        node = self._node
        self.old, self.new, self._ticket = node.configuration, new, ticket
        self.stage = Stage.CATCHING_UP
        node.sync_replicators(self.old.members + new.members, now)
        lagging = self._lagging()
        if not lagging:
            self._leave_catch_up(now)
            return
        self._progress = {peer: node.replicators[peer].match_index for peer in lagging}
        margin = node.options.catchup_margin
        entries = "entry" if margin == 1 else "entries"
        node.note(
            "membership",
            "changes {} -> {}: first catches up {} without a vote "
            "(each must answer and come within {} {} of {})",
            (str(self.old), str(new), ", ".join(lagging), margin, entries, node.log.last_index),
        )
        node.outbox.set_timer(CATCHUP_TIMER, node.options.catchup_timeout)

    def resume_joint(self, joint: Configuration, first_index: int) -> None:
        """A new leader found a joint configuration in its log: finish that change.

        The old leader was deposed mid-change; nobody waits for the result
        (ticket 0), but C(new) must still be appended once C(old,new) commits.
        """
        assert joint.old_voters is not None
        self.old = Configuration(voters=joint.old_voters, learners=joint.learners)
        self.new = Configuration(voters=joint.voters, learners=joint.learners)
        self.stage, self._ticket, self._wait_index = Stage.JOINT, 0, first_index
        self._node.note(
            "membership",
            "inherits the joint configuration {}: will append {} once its own first entry commits",
            (str(joint), str(self.new)),
        )

    def on_peer_progress(self, now: int) -> None:
        """A peer acknowledged entries: maybe every new voter has caught up."""
        if self.stage is Stage.CATCHING_UP and not self._lagging():
            self._node.outbox.cancel_timer(CATCHUP_TIMER)
            self._leave_catch_up(now)

    def on_catchup_timer(self, now: int) -> None:
        """The catch-up deadline passed: go on, wait while progress is made, or fail."""
        if self.stage is not Stage.CATCHING_UP:
            return
        node = self._node
        lagging = self._lagging()
        if not lagging:
            self._leave_catch_up(now)
            return
        # A peer that had caught up may fall behind again (its replicator probing
        # after a timeout): with no earlier mark, it counts as moving.
        moving = [p for p in lagging if node.replicators[p].match_index > self._progress.get(p, -1)]
        if moving:
            self._progress = {peer: node.replicators[peer].match_index for peer in lagging}
            node.note("membership", "{} still catching up: waits longer", (", ".join(moving),))
            node.outbox.set_timer(CATCHUP_TIMER, node.options.catchup_timeout)
            return
        status = ", ".join(f"{p} at {node.replicators[p].match_index}" for p in lagging)
        self.finish(
            False,
            f"catch-up failed: {status}, leader at {node.log.last_index}, "
            f"no progress for {node.options.catchup_timeout // 1000} ms",
            now,
        )

    def on_committed(self, commit_index: int, now: int) -> None:
        """The commit index advanced: the next stage may begin."""
        if self.stage is Stage.JOINT and commit_index >= self._wait_index:
            assert self.new is not None
            self.stage = Stage.STABLE
            self._node.note(
                "membership",
                JOINT_COMMITTED,
                (str(self.new),),
            )
            self._wait_index = self._node.log.last_index + 1
            self._node.append_configuration(self.new, now)
        elif self.stage is Stage.STABLE and commit_index >= self._wait_index:
            self.finish(True, f"configuration {self.new} committed", now)

    def finish(self, ok: bool, reason: str, now: int, *, still_leading: bool = True) -> None:
        """End the change (done, failed, or abandoned because we stepped down)."""
        node = self._node
        if self.stage is Stage.CATCHING_UP:
            node.outbox.cancel_timer(CATCHUP_TIMER)
        self.stage = Stage.NONE
        node.note("membership", CHANGE_ENDS, ("done" if ok else "failed", reason))
        node.finished(self._ticket, ok, reason)
        if still_leading:
            node.sync_replicators(node.configuration.members, now)
            node.after_membership_change(now)

    def _lagging(self) -> list[str]:
        """New voters that have not answered yet or are beyond the catch-up margin."""
        assert self.old is not None and self.new is not None
        node = self._node
        goal = node.log.last_index - node.options.catchup_margin
        lagging = []
        for peer in self.new.voters:
            if peer in self.old.voters or peer == node.id:
                continue
            replicator = node.replicators[peer]
            if replicator.state is not ReplicatorState.REPLICATE or replicator.match_index < goal:
                lagging.append(peer)
        return lagging

    def _leave_catch_up(self, now: int) -> None:
        assert self.old is not None and self.new is not None
        node = self._node
        if self.old.voters == self.new.voters or node.options.single_server_changes:
            self.stage = Stage.STABLE
            if self.old.voters == self.new.voters:
                template = "only learners change: appends {} directly (majorities unchanged)"
            else:
                template = (
                    "single-server change: appends {} directly (thesis §4.1: with one "
                    "voter added or removed, old and new majorities always overlap)"
                )
            node.note("membership", template, (str(self.new),))
            self._wait_index = node.log.last_index + 1
            node.append_configuration(self.new, now)
            return
        joint = Configuration(
            voters=self.new.voters, old_voters=self.old.voters, learners=self.new.learners
        )
        self.stage = Stage.JOINT
        node.note(
            "membership",
            "enters joint configuration {}: commits and elections now need {} (Raft §6)",
            (str(joint), joint.quorum_text()),
        )
        self._wait_index = node.log.last_index + 1
        node.append_configuration(joint, now)
