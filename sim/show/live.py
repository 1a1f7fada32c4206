"""`raftsim watch`: the live terminal view, a trio program around a deterministic cluster.

Theory of operation: three tasks share one nursery:

- the driver (`Driver.run`, sim/show/driver.py) keeps the simulation in step
  with real time at the chosen speed;
- the renderer redraws the dashboard about ten times a second from one task
  (rich `Live` with `auto_refresh=False`), and at once after keys, so that
  what a key did shows as soon as it is done (not up to a frame later);
- the keyboard task reads keys in cbreak mode and hands them to `Controls`
  (sim/show/controls.py).

`Driver` and `Controls` know nothing of the terminal, so tests drive them
directly, with trio's MockClock standing in for real time.
"""

from __future__ import annotations

import os
import sys
import termios
import time
import tty
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trio
from rich.console import Console
from rich.live import Live

from sim.cluster import Cluster
from sim.scenario.player import ScenarioPlayer
from sim.show import render
from sim.show.controls import KEYMAP, Controls
from sim.show.dashboard import dashboard
from sim.show.driver import Driver
from sim.show.ring import ring_svg

FRAME = 0.1  # real seconds between redraws


# -- the terminal -------------------------------------------------------------------


def keys_from(data: bytes) -> list[str]:
    """The keys in a chunk read from the terminal.

    An escape sequence that names a key of ours (Shift-Tab) is one key; the
    others (arrows, function keys) are skipped.
    """
    keys: list[str] = []
    text = data.decode("utf-8", errors="ignore")
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b" and i + 1 < len(text) and text[i + 1] in "[O":
            start = i
            i += 2
            while i < len(text) and not text[i].isalpha() and text[i] != "~":
                i += 1
            i += 1
            if text[start:i] in KEYMAP:
                keys.append(text[start:i])
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


# Reads the next keys: waits until some arrive; None once the input has ended.
KeyReader = Callable[[], Awaitable[list[str] | None]]


def terminal_keys(fd: int) -> KeyReader:
    """Keys from a terminal in cbreak mode."""

    async def read() -> list[str] | None:
        await trio.lowlevel.wait_readable(fd)
        # The fd stays blocking (it shares its file description with stdout);
        # after wait_readable a read returns what is there without waiting.
        data = os.read(fd, 64)
        return keys_from(data) if data else None

    return read


class Redraw:
    """Between the keyboard and the renderer: keys were pressed, draw now."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def now(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        """Until a redraw is asked for, or `timeout` seconds at most."""
        with trio.move_on_after(timeout):
            await self._event.wait()
        self._event = trio.Event()


async def _keyboard(
    read_keys: KeyReader, controls: Controls, done: trio.CancelScope, redraw: Redraw
) -> None:
    while not controls.quit:
        keys = await read_keys()
        if keys is None:
            break
        for key in keys:
            controls.press(key)
        redraw.now()
    done.cancel()


# Called after each redraw (to keep a picture file up to date, say).
OnFrame = Callable[[Controls], None]


async def _renderer(
    live: Live, console: Console, controls: Controls, on_frame: OnFrame | None, redraw: Redraw
) -> None:
    while True:
        width, height = console.size
        live.update(dashboard(controls.cluster, controls.view_state(), width, height), refresh=True)
        if on_frame is not None:
            on_frame(controls)
        await redraw.wait(FRAME)


async def _watch(
    controls: Controls, console: Console, read_keys: KeyReader, on_frame: OnFrame | None = None
) -> None:
    with Live(
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        redraw = Redraw()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(controls.driver.run)
            nursery.start_soon(_renderer, live, console, controls, on_frame, redraw)
            nursery.start_soon(_keyboard, read_keys, controls, nursery.cancel_scope, redraw)


def run_live(
    controls: Controls, console: Console, read_keys: KeyReader, on_frame: OnFrame | None = None
) -> None:
    """Show the dashboard on `console` and act on keys until `q` or the end of input.

    Ctrl-C ends it with a plain KeyboardInterrupt, after the screen is restored.
    trio raises it inside whichever task was running, so it leaves the nursery
    inside an exception group (always: the groups are strict here, whatever
    trio's default); any other error in the group still propagates.
    """
    interrupted = False
    try:
        trio.run(_watch, controls, console, read_keys, on_frame, strict_exception_groups=True)
    except* KeyboardInterrupt:
        interrupted = True
    if interrupted:
        raise KeyboardInterrupt


def watch(
    cluster: Cluster,
    *,
    speed: float,
    player: ScenarioPlayer | None = None,
    ring: RingFile | None = None,
) -> None:
    """Run the live view in this terminal until `q` (Ctrl-C raises KeyboardInterrupt).

    With `ring`, its file shows the ring of the moment on screen all along.
    """
    fd = sys.stdin.fileno()
    controls = Controls(Driver(cluster, speed=speed, player=player))
    console = Console(highlight=False)
    on_frame = None if ring is None else lambda c: ring.update(c.cluster, c.selected)
    with cbreak(fd):
        run_live(controls, console, terminal_keys(fd), on_frame)


class RingFile:
    """A file that shows the cluster as a ring (sim.show.ring), rewritten when the moment
    changes. Each version replaces the last whole, so a viewer never reads half a picture."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._drawn: tuple[int, float, str | None] | None = None

    def update(self, cluster: Cluster, selected: str | None = None) -> bool:
        """Draw the moment unless it is the one drawn last; True if the file was written.

        Raises OSError if the file cannot be written.
        """
        moment = (len(cluster.trace), cluster.now, selected)
        if moment == self._drawn:
            return False
        draft = self.path.with_name(f".{self.path.name}.part")
        draft.write_text(ring_svg(cluster, selected=selected), encoding="utf-8")
        os.replace(draft, self.path)
        self._drawn = moment
        return True


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


__all__ = [
    "Controls",
    "Driver",
    "RingFile",
    "first_commits",
    "keys_from",
    "narrated_run",
    "picture",
    "run_live",
    "terminal_keys",
    "watch",
]
