"""The keys of `raftsim watch`: what each one does, and the `ViewState` the dashboard draws.

`Controls` knows nothing of the terminal: it is handed keys one by one (tests
press them directly) and acts through a `Driver` and its cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sim.check.checkers import SafetyViolation
from sim.cluster import Cluster
from sim.scenario.player import ScenarioPlayer
from sim.show.dashboard import ViewState, compact_ids
from sim.show.driver import Driver
from sim.views import AdminHandle

MESSAGE_LIFETIME = 8.0  # real seconds an answer to a key stays on screen
WHY_REFRESH = 0.5  # real seconds between fresh explanations (key w) while the cluster runs
# Digits typed within this many real seconds of each other make one node number
# ("1" then "0" selects n10), as long as that node exists.
NUMBER_PAUSE = 1.0
TAB = "\t"
SHIFT_TAB = "\x1b[Z"  # what terminals send for Shift-Tab


class Controls:
    """What each key does, and the `ViewState` the dashboard draws from."""

    def __init__(self, driver: Driver, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.driver = driver
        self.clock = clock
        self.selected: str | None = None
        self.show_help = False
        self.quit = False
        self._message: tuple[str, float] | None = None
        # The last admin request made with a key, to say how it ended.
        self._request: tuple[str, AdminHandle] | None = None
        self._requests = 0
        # The node number being typed, and when its last digit came.
        self._number: tuple[str, float] | None = None
        # Key w: whether the explanation shows, and the last one made (for which moment, when).
        self._why = False
        self._why_made: tuple[object, str, float] | None = None

    @property
    def cluster(self) -> Cluster:
        return self.driver.cluster

    def say(self, message: str) -> None:
        self._message = (message, self.clock())

    def press(self, key: str) -> None:
        """Act on one key."""
        if self.show_help:
            self.show_help = False
            if key in ("?", "\x1b"):
                return
        if len(key) == 1 and key in "0123456789":
            self._digit(key)
            return
        self._number = None
        action = KEYMAP.get(key)
        if action is not None:
            self._request = None  # a new key: its answer replaces the old request's
            try:
                action(self)
            except (ValueError, SafetyViolation) as error:  # strict=on raises the latter
                self.say(str(error))

    # -- keys ---------------------------------------------------------------------

    def _digit(self, digit: str) -> None:
        """Select the node of that number, or of the number being typed if it goes on.

        Each digit selects at once (keys 1-9 act as they always did); one typed
        soon after continues the number when that node exists, so "1" "0"
        selects n1 then n10, and with ten nodes "1" "2" selects n1 then n2.
        There is no n0, so a 0 always continues.
        """
        now = self.clock()
        number = digit
        if self._number is not None and now - self._number[1] <= NUMBER_PAUSE:
            longer = self._number[0] + digit
            if digit == "0" or f"n{longer}" in self.cluster.nodes:
                number = longer
        self._number = (number, now)
        self.select(f"n{number}")

    def select(self, node_id: str) -> None:
        if node_id not in self.cluster.nodes:
            self.say(f"there is no {node_id} (nodes: {compact_ids(self.cluster.nodes)})")
            return
        self.selected = node_id
        self.say(f"selected {node_id}: c crash/restart, i isolate, t time out, l lead, d remove")

    def _target(self) -> str:
        if self.selected is None or self.selected not in self.cluster.nodes:
            raise ValueError("select a node first: Tab, or its number (1 then 0 for n10)")
        return self.selected

    def next_node(self) -> None:
        self._cycle(1)

    def previous_node(self) -> None:
        self._cycle(-1)

    def _cycle(self, step: int) -> None:
        ids = list(self.cluster.nodes)
        if self.selected in ids:
            self.select(ids[(ids.index(self.selected) + step) % len(ids)])
        else:
            self.select(ids[0] if step > 0 else ids[-1])

    def toggle_pause(self) -> None:
        self.driver.toggle_pause()

    def step(self) -> None:
        added = self.driver.step()
        self.say("one event: " + (added[0].text if added else "nothing left to happen"))

    def back(self) -> None:
        undone = self.driver.back()
        self.say("undone: " + (undone[0].text if undone else "nothing"))

    def faster(self) -> None:
        self.driver.faster()
        self.say(f"speed {self.driver.speed:g}x")

    def slower(self) -> None:
        self.driver.slower()
        self.say(f"speed {self.driver.speed:g}x")

    def crash_or_restart(self) -> None:
        node = self._target()
        if self.cluster.nodes[node].running:
            self.cluster.crash(node)
            self.say(f"{node} crashed (c again restarts it)")
        else:
            self.cluster.restart(node)
            self.say(f"{node} restarted from its disk")
        self.driver.changed_story()

    def isolate(self) -> None:
        node = self._target()
        self.cluster.isolate(node)
        self.driver.changed_story()
        self.say(f"{node} isolated from every other node (h heals)")

    def heal(self) -> None:
        self.cluster.heal()
        self.driver.changed_story()
        self.say("network healed")

    def time_out(self) -> None:
        node = self._target()
        fired = self.cluster.timeout(node)
        self.driver.changed_story()
        self.say(
            f"{node}'s election timer expires now"
            if fired
            else f"{node} is the leader: it has no election timer"
        )

    def request(self) -> None:
        self._requests += 1
        n = self._requests
        handle = self.cluster.submit(f"set k{n} {n}")
        self.driver.changed_story()
        if handle.accepted:
            self.say(f"client: 'set k{n} {n}' -> {handle.node}: entry {handle.index}@{handle.term}")
        else:
            self.say(f"client: 'set k{n} {n}' refused: {handle.reason}")

    def transfer(self) -> None:
        node = self._target()
        handle = self.cluster.transfer_leadership(node)
        self.driver.changed_story()
        self._admin_answer(f"transfer leadership to {node}", handle)

    def add(self) -> None:
        new = f"n{len(self.cluster.nodes) + 1}"
        handle = self.cluster.add_node(new)
        self.driver.changed_story()
        self._admin_answer(f"add {new}", handle)

    def remove(self) -> None:
        node = self._target()
        handle = self.cluster.remove_node(node)
        self.driver.changed_story()
        self._admin_answer(f"remove {node}", handle)

    def _admin_answer(self, what: str, handle: AdminHandle) -> None:
        if handle.accepted:
            self.say(f"{what}: accepted by {handle.node}, in progress")
            self._request = (what, handle)
        else:
            self.say(f"{what}: refused: {handle.reason}")

    def _follow_request(self) -> None:
        """Once the last admin request ends, say how."""
        if self._request is None:
            return
        what, handle = self._request
        try:
            outcome, reason = handle.outcome, handle.reason
        except LookupError:  # undone by going back
            outcome, reason = "undone", "went back to before it"
        if outcome == "pending":
            return
        self._request = None
        self.say(f"{what}: {outcome}" + (f" ({reason})" if reason else ""))

    def why(self) -> None:
        """Key w: why the selected node's last entry is (not) committed, or why there is (no)
        leader; shown in place of the story, kept up to date, until w again."""
        self._why = not self._why
        self._why_made = None
        index = self._why_index()
        what = "the leader" if index is None else f"entry {index}"
        self.say(f"why: {what} (w again closes)" if self._why else "explanation closed")

    def _why_index(self) -> int | None:
        """The selected node's last entry (empty: the leader's next to commit), or None."""
        cluster = self.cluster
        view = cluster.nodes.get(self.selected or "")
        if view is None:
            return None
        last = view.log[-1].index if view.log else view.snapshot_index
        if last == 0 and cluster.leader:
            last = cluster.nodes[cluster.leader].commit_index + 1
        return last or None

    def _explanation(self) -> str | None:
        if not self._why:
            return None
        moment = (len(self.cluster.trace), self.cluster.now, self.selected)
        made = self._why_made
        now = self.clock()
        if made is None or (
            made[0] != moment and (self.driver.paused or now - made[2] >= WHY_REFRESH)
        ):
            made = self._why_made = (moment, str(self.cluster.explain(self._why_index())), now)
        return made[1]

    def toggle_help(self) -> None:
        self.show_help = True

    def stop(self) -> None:
        self.quit = True

    # -- what the dashboard shows -------------------------------------------------

    def view_state(self) -> ViewState:
        driver = self.driver
        self._follow_request()
        message = None
        if self._message is not None and self.clock() - self._message[1] < MESSAGE_LIFETIME:
            message = self._message[0]
        title = chapter = note = None
        narration = ""
        player = driver.player
        if player is not None:
            title = player.scenario.title
            chapter, narration, note = self._story(player)
        return ViewState(
            speed=driver.speed,
            paused=driver.paused,
            selected=self.selected if self.selected in self.cluster.nodes else None,
            show_help=self.show_help,
            message=message,
            title=title,
            chapter=chapter,
            narration=narration,
            note=note,
            why=self._explanation(),
        )

    def _story(self, player: ScenarioPlayer) -> tuple[str | None, str, str | None]:
        """Chapter, narration and stop note for where the cluster is in the story."""
        driver = self.driver
        if driver.forked:
            return None, "", "you changed the story: the recording no longer applies"
        here = len(self.cluster.trace)
        if here > player.end or (player.finished and not driver.paused):
            return None, "", "end of the story: the cluster runs on freely"
        mark = player.current_mark()
        if mark is None:
            return None, player.scenario.summary, None
        if driver.stopped_at == here and mark.trace_index == here:
            ahead = next((m for m in player.marks if m.trace_index > here), None)
            if ahead is None:
                return (
                    mark.chapter,
                    mark.narration,
                    "end of the story: space lets the cluster run on",
                )
            done = (mark.chapter or "").split(". ", 1)[-1]
            return f"next: {ahead.chapter}", ahead.narration, f"done: {done}. space: go on"
        narration = mark.narration
        if not narration and player.marks and mark.chapter == player.marks[0].chapter:
            narration = player.scenario.summary
        return mark.chapter, narration, None


KEYMAP: dict[str, Callable[[Controls], None]] = {
    " ": Controls.toggle_pause,
    "n": Controls.step,
    "b": Controls.back,
    "+": Controls.faster,
    "=": Controls.faster,
    "-": Controls.slower,
    "_": Controls.slower,
    "c": Controls.crash_or_restart,
    "i": Controls.isolate,
    "h": Controls.heal,
    "t": Controls.time_out,
    "r": Controls.request,
    "l": Controls.transfer,
    "a": Controls.add,
    "d": Controls.remove,
    "w": Controls.why,
    TAB: Controls.next_node,
    SHIFT_TAB: Controls.previous_node,
    "?": Controls.toggle_help,
    "q": Controls.stop,
    "Q": Controls.stop,
}


__all__ = ["KEYMAP", "NUMBER_PAUSE", "SHIFT_TAB", "TAB", "Controls"]
