"""`raftsim watch`: the live terminal view, a trio program around a deterministic cluster.

Theory of operation: trio is not the simulation's scheduler (its task order
is randomized on purpose); it only decides *when* the next events are
processed. Three tasks share one nursery:

- the driver (`Driver.run`) moves simulated time forward at `speed` times
  real time by calling the cluster, so the events processed and their order
  depend only on the seed and on the keys pressed, never on the speed;
- the renderer redraws the dashboard about ten times a second from one task
  (rich `Live` with `auto_refresh=False`);
- the keyboard task reads keys in cbreak mode and hands them to `Controls`.

`Driver` and `Controls` know nothing of the terminal, so tests drive them
directly, with trio's MockClock standing in for real time.
"""

from __future__ import annotations

import os
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trio
from rich.console import Console
from rich.live import Live

from sim.check.checkers import SafetyViolation
from sim.cluster import Cluster
from sim.engine.trace import TraceEvent
from sim.scenario.player import ScenarioPlayer
from sim.show import render
from sim.show.dashboard import ViewState, dashboard
from sim.views import AdminHandle

SPEEDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# The longest stretch of real time one driver tick makes up for: after a stall
# (a slow frame, a suspended terminal) the simulation resumes, it does not race.
MAX_CATCH_UP = 0.25
TICK = 0.02  # real seconds between driver ticks
FRAME = 0.1  # real seconds between redraws
MESSAGE_LIFETIME = 8.0  # real seconds an answer to a key stays on screen


class Driver:
    """Paces a cluster against a clock: `speed` simulated seconds per clock second.

    `clock` returns the current time in seconds (trio's clock by default, so
    a MockClock controls it in tests). With a `player`, the driver stops at the
    scenario's pause points. Pausing, stepping, going back and changing speed
    re-anchor the pacing so simulated time never jumps to catch up.
    """

    def __init__(
        self,
        cluster: Cluster,
        *,
        speed: float = 0.1,
        player: ScenarioPlayer | None = None,
        clock: Callable[[], float] = trio.current_time,
        paused: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.cluster = cluster
        self.player = player
        self.clock = clock
        self.speed = speed
        self.paused = paused
        # Set when the viewer changes the story: its pause points no longer apply.
        self.forked = False
        self.stopped_at: int | None = None  # trace index of the pause point we stopped at
        self._anchor: tuple[float, float] | None = None

    # -- pacing -------------------------------------------------------------

    def _reanchor(self) -> tuple[float, float]:
        self._anchor = (self.clock(), self.cluster.now)
        return self._anchor

    @property
    def following_story(self) -> bool:
        return self.player is not None and not self.forked and not self.player.finished

    def tick(self) -> None:
        """Advance the simulation to where the clock says it should be by now."""
        if self.paused:
            return
        real0, sim0 = self._anchor or self._reanchor()
        real = self.clock()
        target = sim0 + (real - real0) * self.speed
        if (target - self.cluster.now) / self.speed > MAX_CATCH_UP:
            # Far behind (a stall): give up the missed time instead of racing through it.
            self._anchor = (real - MAX_CATCH_UP, self.cluster.now)
            target = self.cluster.now + MAX_CATCH_UP * self.speed
        delta = target - self.cluster.now
        if delta <= 0:
            return
        try:
            if self.following_story:
                self._run_towards_pause(delta)
            else:
                self.cluster.run(delta)
        except SafetyViolation:
            # strict=on: the trace shows the violation; stop on it for the viewer to look.
            self.paused = True

    def _run_towards_pause(self, delta: float) -> None:
        player, cluster = self.player, self.cluster
        assert player is not None
        stop = player.next_pause()
        if cluster.run_until(lambda c: len(c.trace) >= stop, timeout=delta):
            if len(cluster.trace) != stop:
                cluster.goto(stop)  # a step can add several events, or follow a call
            self.paused = True
            self.stopped_at = stop

    async def run(self, tick: float = TICK) -> None:
        """Keep the simulation in step with the clock until cancelled."""
        while True:
            self.tick()
            await trio.sleep(tick)

    # -- the viewer's commands -------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.stopped_at = None
        self._reanchor()

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def step(self) -> list[TraceEvent]:
        """Pause, then process exactly one event; returns the trace events it added."""
        self.pause()
        self.stopped_at = None
        added = self.cluster.step()
        self._reanchor()
        return added

    def back(self) -> list[TraceEvent]:
        """Pause, then undo the last event; returns the trace events undone."""
        self.pause()
        self.stopped_at = None
        undone = self.cluster.back()
        self._reanchor()
        return undone

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.speed = speed
        self._reanchor()

    def faster(self) -> None:
        self.set_speed(next((s for s in SPEEDS if s > self.speed * 1.0001), self.speed))

    def slower(self) -> None:
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self.speed / 1.0001), self.speed))

    def changed_story(self) -> None:
        """The viewer did something new: history forks and the recording is dropped."""
        if self.following_story:
            self.forked = True
        self._reanchor()


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
        action = KEYMAP.get(key)
        if action is not None:
            self._request = None  # a new key: its answer replaces the old request's
            try:
                action(self)
            except (ValueError, SafetyViolation) as error:  # strict=on raises the latter
                self.say(str(error))
        elif key.isdigit() and key != "0":
            self.select(f"n{key}")

    # -- keys ---------------------------------------------------------------------

    def select(self, node_id: str) -> None:
        if node_id not in self.cluster.nodes:
            self.say(f"there is no {node_id} (nodes: {', '.join(self.cluster.nodes)})")
            return
        self.selected = node_id
        self.say(f"selected {node_id}: c crash/restart, i isolate, t time out, l lead, d remove")

    def _target(self) -> str:
        if self.selected is None or self.selected not in self.cluster.nodes:
            raise ValueError("select a node first with its number (1-9)")
        return self.selected

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
    "?": Controls.toggle_help,
    "q": Controls.stop,
    "Q": Controls.stop,
}


# -- the terminal -------------------------------------------------------------------


def keys_from(data: bytes) -> list[str]:
    """The keys in a chunk read from the terminal; escape sequences (arrows) are skipped."""
    keys: list[str] = []
    text = data.decode("utf-8", errors="ignore")
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b" and i + 1 < len(text) and text[i + 1] in "[O":
            i += 2
            while i < len(text) and not text[i].isalpha() and text[i] != "~":
                i += 1
            i += 1
            continue
        keys.append(ch)
        i += 1
    return keys


@contextmanager
def cbreak(fd: int) -> Iterator[None]:
    """Keys arrive one by one, unechoed; the terminal is restored however we leave."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def _keyboard(fd: int, controls: Controls, done: trio.CancelScope) -> None:
    while not controls.quit:
        await trio.lowlevel.wait_readable(fd)
        # The fd stays blocking (it shares its file description with stdout);
        # after wait_readable a read returns what is there without waiting.
        data = os.read(fd, 64)
        if not data:
            break
        for key in keys_from(data):
            controls.press(key)
    done.cancel()


async def _renderer(live: Live, console: Console, controls: Controls) -> None:
    while True:
        width, height = console.size
        live.update(dashboard(controls.cluster, controls.view_state(), width, height), refresh=True)
        await trio.sleep(FRAME)


async def _watch(controls: Controls, console: Console, fd: int) -> None:
    with Live(
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(controls.driver.run)
            nursery.start_soon(_renderer, live, console, controls)
            nursery.start_soon(_keyboard, fd, controls, nursery.cancel_scope)


def watch(cluster: Cluster, *, speed: float, player: ScenarioPlayer | None = None) -> None:
    """Run the live view in this terminal until `q` (Ctrl-C raises KeyboardInterrupt)."""
    fd = sys.stdin.fileno()
    controls = Controls(Driver(cluster, speed=speed, player=player))
    console = Console(highlight=False)
    with cbreak(fd):
        trio.run(_watch, controls, console, fd)


def first_commits(cluster: Cluster, commands: int = 3) -> None:
    """Bring a fresh cluster to a moment worth a picture: a leader, a few committed
    entries, and one more on its way (uncommitted, with messages in flight)."""
    cluster.run_until(lambda c: c.leader is not None, timeout=5.0)
    for n in range(1, commands + 1):
        cluster.submit(f"set k{n} {n}")
        cluster.run(0.02)
    cluster.run(0.1)
    cluster.submit(f"set k{commands + 1} {commands + 1}")
    cluster.run(0.004)


def picture(
    cluster: Cluster,
    *,
    speed: float = 0.1,
    player: ScenarioPlayer | None = None,
    selected: str | None = None,
    width: int = 100,
    height: int = 30,
    title: str = "raftsim watch",
) -> str:
    """The dashboard of this moment as an SVG image (for docs)."""
    driver = Driver(cluster, speed=speed, player=player, clock=time.monotonic)
    if player is not None:
        driver.paused = True
        driver.stopped_at = len(cluster.trace)
    controls = Controls(driver)
    controls.selected = selected
    console = Console(record=True, width=width, height=height, file=_Null(), force_terminal=True)
    console.print(dashboard(cluster, controls.view_state(), width, height))
    return console.export_svg(title=title)


def narrated_run(cluster: Cluster, console: Console, seconds: float = 1.0) -> None:
    """What `raftsim watch` prints when it has no terminal: a short run, narrated."""
    console.print(
        f"[bold]raftsim watch[/]: not a terminal, so here is {seconds:g} simulated second(s) "
        f"of {len(cluster.nodes)} nodes (seed {cluster.seed}), narrated."
    )
    for line in render.story(cluster.run(seconds)):
        console.print(line, soft_wrap=True)
    console.print(render.node_table(cluster))
    console.print(render.log_grid(cluster))


class _Null:
    """A file that discards what is written (the recording console keeps it)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


__all__ = ["Controls", "Driver", "first_commits", "keys_from", "narrated_run", "picture", "watch"]
