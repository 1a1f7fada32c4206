"""Pacing for `raftsim watch`: the driver moves a deterministic cluster in step with a clock.

trio is not the simulation's scheduler (its task order is randomized on
purpose); it only decides *when* the next events are processed. The driver
moves simulated time forward at `speed` times real time by calling the
cluster, so the events processed and their order depend only on the seed and
on the keys pressed, never on the speed. It knows nothing of the terminal, so
tests drive it directly, with trio's MockClock standing in for real time.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from sim.check.checkers import SafetyViolation
from sim.cluster import Cluster
from sim.engine.trace import TraceEvent
from sim.scenario.player import ScenarioPlayer

SPEEDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# The longest stretch of real time one driver tick makes up for: after a stall
# (a slow frame, a suspended terminal) the simulation resumes, it does not race.
MAX_CATCH_UP = 0.25
TICK = 0.02  # real seconds between driver ticks
# Time travel's checkpoints four times as dense as a plain run's: `b` replays a quarter
# as much. They cost about a fifth of the simulation's time, which the clock leaves idle
# anyway (at most speeds the simulation is paced, not busy).
CHECKPOINT_SPACING = 10


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
        cluster.checkpoint_spacing = CHECKPOINT_SPACING
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


__all__ = ["CHECKPOINT_SPACING", "MAX_CATCH_UP", "SPEEDS", "TICK", "Driver"]
