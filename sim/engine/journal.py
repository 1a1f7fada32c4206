"""The journal of everything done to a cluster, which makes time travel possible.

Theory of operation: a world is a pure function of its seed, its settings and
the sequence of actions applied to it: steps and API calls, each call stamped
with the simulated time it was made at. (A clock moved forward with no event,
as at the end of `run`, is not an action: it changes nothing until the next
call, whose stamp carries it.)
The journal records that sequence, and the length of the trace after each
action. To go back, the cluster rebuilds the world from the nearest
checkpoint (sim/engine/checkpoints.py) and replays actions up to the target,
runs of steps in one tight loop. Actions after the cursor are the recorded
future: stepping forward
replays them, until the caller does something different, which drops them
(history forks, as on RaftScope's time slider).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sized

import attrs


@attrs.frozen
class Step:
    """Process one event."""


@attrs.frozen
class Call:
    """An API call on the world at simulated time `time_us`: method name and arguments."""

    time_us: int
    name: str
    args: tuple = ()


Action = Step | Call
STEP = Step()


class Journal:
    """Actions so far plus the recorded future, and trace lengths after each."""

    def __init__(self, initial_mark: int) -> None:
        self.actions: list[Action] = []
        self._marks = array("q")
        self._initial_mark = initial_mark
        self.cursor = 0  # actions[:cursor] are done; the rest is the recorded future
        self.enabled = True  # off for long runs that keep no history (no time travel)

    def mark(self, position: int) -> int:
        """Trace length once the first `position` actions are done."""
        return self._initial_mark if position == 0 else self._marks[position - 1]

    @property
    def in_future(self) -> bool:
        return self.cursor < len(self.actions)

    def next_action(self) -> Action | None:
        return self.actions[self.cursor] if self.in_future else None

    def record(self, action: Action, trace_length: int) -> None:
        """`action` was just done (newly, or replayed from the future)."""
        if not self.enabled:
            return
        if self.cursor == len(self.actions):
            self.actions.append(action)
            self._marks.append(trace_length)
        else:
            assert self.actions[self.cursor] == action
            assert self._marks[self.cursor] == trace_length, "replay diverged from the record"
        self.cursor += 1

    def record_steps(
        self, step: Callable[[int], bool], limit: int, trace: Sized, pause: int = sys.maxsize
    ) -> bool:
        """Take steps while `step(limit)` takes one, recording each (the hot loop of `run`).

        Only for the present: the caller checked there is no recorded future.
        Equivalent to `record(STEP, len(trace))` after every step, without a
        call per step. Stops early once the cursor reaches `pause` (where a
        checkpoint is due), and then returns True: more steps may follow.
        """
        assert not self.in_future
        if not self.enabled:
            while step(limit):
                pass
            return False
        actions, marks = self.actions, self._marks
        cursor = self.cursor
        while cursor < pause and step(limit):
            actions.append(STEP)
            marks.append(len(trace))
            self.cursor = cursor = cursor + 1  # per step: an exception leaves it consistent
        return cursor >= pause

    def replay_steps(self, step: Callable[[], bool], stop: int, trace: Sized) -> None:
        """Redo the recorded steps from the cursor up to the next call or position `stop`.

        The fast loop of replay, as `record_steps` is of `run`: each step must
        take an event and leave the trace as long as it did the first time.
        """
        actions, marks = self.actions, self._marks
        cursor = self.cursor
        while cursor < stop and type(actions[cursor]) is Step:
            if not step():
                raise AssertionError("replay diverged from the record: no event to step")
            self.cursor = cursor = cursor + 1
            assert marks[cursor - 1] == len(trace), "replay diverged from the record"

    def action_at(self, position: int) -> Action | None:
        """The action recorded at `position` (None when the journal is off)."""
        return self.actions[position] if self.enabled else None

    def is_done(self, position: int, action: Action | None) -> bool:
        """Is this very action (not an equal one) done, at `position`?"""
        if not self.enabled:
            return True
        return position < self.cursor and self.actions[position] is action

    def fork(self) -> None:
        """Drop the recorded future."""
        del self.actions[self.cursor :]
        del self._marks[self.cursor :]

    def position_for(self, trace_length: int) -> int:
        """Latest position whose trace length is at most `trace_length`."""
        low, high = 0, len(self.actions)
        while low < high:  # bisect over marks, which never decrease
            mid = (low + high + 1) // 2
            if self.mark(mid) <= trace_length:
                low = mid
            else:
                high = mid - 1
        return low

    def last_step_before(self, position: int) -> int | None:
        """Position just before the last Step among the first `position` actions."""
        for index in range(position - 1, -1, -1):
            if isinstance(self.actions[index], Step):
                return index
        return None
