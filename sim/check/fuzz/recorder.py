"""The Recorder: calls the Cluster, and writes each call down as the scenario step that makes it.

Every call a fuzz run makes goes through here (`crash n3`, `run 412ms`,
`submit c7 "set x v7" to=n2`), so the steps recorded are exactly what a
`.scenario` file needs to replay the run (sim.check.fuzz.save). Waits are
written so that a scenario repeats them exactly: a fixed `run DURATION`, or a
`run until` with a condition the scenario language has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from sim.cluster import Cluster
from sim.views import AdminHandle, ReadHandle, SubmitHandle

T = TypeVar("T")


class Stop(Exception):
    """A violation or a liveness failure: the run is over."""


@attrs.frozen(kw_only=True)
class Line:
    """One scenario step the run made, in scenario syntax, with a comment for readers."""

    text: str
    note: str = ""
    kind: str = "call"  # "call", "run" (run DURATION) or "until" (run until ...)
    wait_us: int = 0  # how long a "run" runs, or how long an "until" may wait
    phase: str = "faults"  # "faults" or "healing"
    number: int | None = None  # the schedule action it carries out, if any


def duration_text(us: int) -> str:
    """Microseconds written as a scenario duration, exactly."""
    if us and us % 1_000_000 == 0:
        return f"{us // 1_000_000}s"
    return f"{us // 1000}ms" if us % 1000 == 0 else f"{us}us"


class Recorder:
    """Calls the Cluster, and writes each call down as the scenario step that makes it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.lines: list[Line] = []
        self.phase = "faults"
        self.number: int | None = None  # the action being carried out

    @property
    def now_us(self) -> int:
        return round(self.cluster.now * 1_000_000)

    def _do(
        self,
        text: str,
        call: Callable[[], T],
        note: str | Callable[[T], str] = "",
        *,
        kind: str = "call",
        wait_us: int = 0,
    ) -> T:
        """Make one call and write it down; stop the run if a checker fired during it."""
        try:
            answer = call()
        except Exception:
            # The simulator itself broke: the step stays, so a replay reaches the same spot.
            self.lines.append(
                Line(
                    text=text,
                    kind=kind,
                    wait_us=wait_us,
                    phase=self.phase,
                    number=self.number,
                )
            )
            raise
        if callable(note):
            note = note(answer)
        self.lines.append(
            Line(
                text=text,
                note=note,
                kind=kind,
                wait_us=wait_us,
                phase=self.phase,
                number=self.number,
            )
        )
        if self.cluster.violations:
            raise Stop
        return answer

    def run_to(self, target_us: int) -> None:
        gap = target_us - self.now_us
        if gap > 0:  # never run(0): it would handle events due now, which a replay might not
            seconds = gap / 1_000_000
            self._do(
                f"run {duration_text(gap)}",
                lambda: self.cluster.run(seconds),
                kind="run",
                wait_us=gap,
            )

    def run_watching(self, target_us: int, tripped: Callable[[], bool]) -> None:
        """Run towards `target_us`, stopping early at the step after which `tripped()`.

        Written as `run DURATION` for the time that passed: a replay runs whole
        durations, which comes to the same as long as nothing is done before the
        instant the run stopped in is over (sim.check.fuzz.faults).
        """
        start = self.now_us
        gap = target_us - start
        if gap <= 0:
            return
        # Straight to the world, one event at a time: a fuzz run keeps no journal and
        # takes no checkpoints (sim.check.fuzz.run), so this is all `run_until` would
        # do, without its four calls more per event (half a run's events come here).
        world = self.cluster._world
        try:
            while not tripped():
                if not world.step(target_us):
                    world.advance_to(target_us)
                    break
        finally:
            ran = self.now_us - start
            if ran > 0:
                self.lines.append(
                    Line(
                        text=f"run {duration_text(ran)}",
                        kind="run",
                        wait_us=ran,
                        phase=self.phase,
                        number=self.number,
                    )
                )
        if world.violations:
            raise Stop

    def until(self, condition: str, predicate: Callable[[Cluster], bool], timeout_us: int) -> bool:
        return self._do(
            f"run until {condition} timeout={duration_text(timeout_us)}",
            lambda: self.cluster.run_until(predicate, timeout=timeout_us / 1_000_000),
            kind="until",
            wait_us=timeout_us,
        )

    def crash(self, node: str, note: str = "") -> None:
        self._do(f"crash {node}", lambda: self.cluster.crash(node), note)

    def restart(self, node: str, note: str = "") -> None:
        self._do(f"restart {node}", lambda: self.cluster.restart(node), note)

    def partition(self, *groups: Sequence[str], note: str = "") -> None:
        text = "partition " + " | ".join(",".join(g) for g in groups)
        self._do(text, lambda: self.cluster.partition(*groups), note)

    def isolate(self, node: str, note: str = "") -> None:
        self._do(f"isolate {node}", lambda: self.cluster.isolate(node), note)

    def cut(self, src: str, dst: str, note: str = "") -> None:
        self._do(f"cut {src} {dst}", lambda: self.cluster.cut(src, dst), note)

    def hold(self, src: str, dst: str, note: str = "") -> None:
        self._do(f"hold {src} {dst}", lambda: self.cluster.hold(src, dst), note)

    def release(self, src: str, dst: str, note: str = "") -> None:
        self._do(f"release {src} {dst}", lambda: self.cluster.release(src, dst), note)

    def heal(self, note: str = "") -> None:
        self._do("heal", self.cluster.heal, note)

    def network(self, note: str = "", **settings: object) -> None:
        words = []
        for name, value in settings.items():
            if name == "latency":
                low, high = value  # type: ignore[misc]
                words.append(f"latency={duration_text(low)}..{duration_text(high)}")
                settings[name] = (low / 1_000_000, high / 1_000_000)
            elif isinstance(value, bool):
                words.append(f"{name}={'on' if value else 'off'}")
            else:
                words.append(f"{name}={value:g}")  # type: ignore[str-format]
        text = "network " + " ".join(words)
        self._do(text, lambda: self.cluster.set_network(**settings), note)  # type: ignore[arg-type]

    def submit(self, command: str, to: str | None = None, name: str | None = None) -> SubmitHandle:
        words = ["submit", *([name] if name else []), f'"{command}"', *([f"to={to}"] if to else [])]
        return self._do(
            " ".join(words),
            lambda: self.cluster.submit(command, to=to),
            lambda handle: "" if handle.accepted else f"refused: {handle.reason}",
        )

    def request(self, step: str, method: str, *args: object, note: str = "") -> None:
        shown = " ".join(str(a) for a in args if a is not None)

        def notes(handle: AdminHandle) -> str:
            refused = "" if handle.accepted else f"refused: {handle.reason}"
            return "; ".join(t for t in (note, refused) if t)

        self._do(f"{step} {shown}".strip(), lambda: getattr(self.cluster, method)(*args), notes)

    def change_members(self, voters: list[str], learners: list[str], note: str = "") -> None:
        text = "change-members " + ",".join(voters)
        if learners:
            text += " learners=" + ",".join(learners)

        def notes(handle: AdminHandle) -> str:
            return note if handle.accepted else f"{note}; refused: {handle.reason}"

        self._do(text, lambda: self.cluster.change_members(voters, learners), notes)

    def read(self, name: str, key: str, mode: str, to: str | None) -> ReadHandle:
        """A client read outside the log, as the scenario step `read NAME KEY mode=MODE on NODE`."""
        text = f"read {name} {key} mode={mode}" + (f" on {to}" if to else "")
        return self._do(
            text,
            lambda: self.cluster.read(key, mode, to=to),
            lambda handle: "" if handle.accepted else f"refused: {handle.reason}",
        )
