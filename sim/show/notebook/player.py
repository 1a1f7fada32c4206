"""Moving through a cluster's history in a notebook: the Player widget, and `happens`.

`Player` is an ipywidgets control panel (Step, Back, Play/Pause, speed, a
slider over the trace) for a Cluster or a Story. It imports ipywidgets only
when it is built, so the rest of `sim.show.notebook` works without Jupyter.
Its picture shows the cluster as boxes with logs or as a ring of servers
with messages in flight, and the inspector shows one server's details.

Where widgets do not run (a saved notebook read on a code host, an HTML
export) a static picture of where it stands must show instead. So a
displayed Player makes two outputs: the widget, and that picture as plain
HTML, which a stylesheet hides wherever the widget did render (a front end
that knows `:has()`; elsewhere both show).

`happens` is a condition for `Cluster.run_until`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape as _html_escape
from typing import TYPE_CHECKING

from sim.engine.trace import TraceEvent
from sim.show.notebook.display import VIEWS, cluster_html, paragraphs, trace_html
from sim.show.notebook.story import Story
from sim.show.render import STORY_KINDS
from sim.show.ring import node_details

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.player import ScenarioPlayer


def happens(kind: str, node: str | None = None, text: str = "") -> Callable[[Cluster], bool]:
    """A condition for `Cluster.run_until`: an event of `kind` happens (from now on).

    `node` and `text` narrow it to one node's events, and to events whose
    sentence contains `text`: `c.run_until(happens("leader"))` steps until
    someone becomes leader, `happens("vote", "n2", "grants vote")` until n2
    grants a vote.
    """
    seen: list[int] = []

    def condition(cluster: Cluster) -> bool:
        trace = cluster.trace
        if not seen or seen[0] > len(trace):
            seen[:] = [len(trace)]  # the first look, or time travel went back
            return False
        new, seen[0] = trace[seen[0] :], len(trace)
        return any(
            e.kind == kind and (node is None or e.node == node) and text in e.text for e in new
        )

    return condition


class Player:
    """An ipywidgets control panel over a Cluster, a Story or a ScenarioPlayer.

    Step takes one event (or, with "story event" chosen, steps until
    something worth reading happens), Back undoes one step, the slider goes
    to any event index (`Cluster.goto`), Play steps on its own at the chosen
    speed until paused (an asyncio task in the kernel's event loop), and for
    a story "Next stop" replays up to the next pause point, with the
    narration shown above the picture. The handlers are plain methods
    (`step`, `back`, `goto`, `next_stop`, `tick`), so tests can call them.
    """

    TICK = 0.1  # seconds between two frames while playing

    def __init__(
        self, source: Cluster | Story | ScenarioPlayer, *, speed: float = 20.0, view: str = "boxes"
    ) -> None:
        import ipywidgets as w

        from sim.scenario.player import ScenarioPlayer

        if isinstance(source, Story):
            self.scenario: ScenarioPlayer | None = source.player
        elif isinstance(source, ScenarioPlayer):
            self.scenario = source
        else:
            self.scenario = None
        self.cluster: Cluster = self.scenario.cluster if self.scenario else source  # type: ignore
        self.last_events: list[TraceEvent] = []
        self._furthest = max(len(self.cluster.trace), self.scenario.end if self.scenario else 0)
        self._updating = False
        self._task: asyncio.Task | None = None
        layout = w.Layout(width="auto")
        self.back_button = w.Button(description="◀ Back", layout=layout)
        self.step_button = w.Button(description="Step ▶", layout=layout)
        self.stop_button = w.Button(description="Next stop ⏭", layout=layout)
        self.play_button = w.ToggleButton(description="Play", icon="play", value=False)
        self.unit = w.ToggleButtons(
            options=["event", "story event"], value="event", tooltips=[
                "one event per step", "step until something worth reading happens"
            ], style={"button_width": "90px"},
        )  # fmt: skip
        self.speed = w.FloatLogSlider(
            value=speed, base=10, min=0, max=3, step=0.1, description="steps/s",
            readout_format=".0f",
        )  # fmt: skip
        self.slider = w.IntSlider(
            value=len(self.cluster.trace), min=0, max=self._furthest, description="event",
            continuous_update=False, layout=w.Layout(width="95%"),
        )  # fmt: skip
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        self.view = w.ToggleButtons(
            options=list(VIEWS), value=view, tooltips=[
                "each server as a box beside its log", "servers on a ring, messages in flight"
            ], style={"button_width": "60px"},
        )  # fmt: skip
        self.inspect = w.Dropdown(description="inspect", layout=w.Layout(width="160px"))
        self.status = w.HTML()
        self.narration = w.HTML()
        self.picture = w.HTML()
        self.details = w.HTML()
        self.events = w.HTML()
        self.back_button.on_click(lambda _: self.back())
        self.step_button.on_click(lambda _: self.step())
        self.stop_button.on_click(lambda _: self.next_stop())
        self.play_button.observe(self._on_play, names="value")
        self.slider.observe(self._on_slider, names="value")
        self.view.observe(lambda _: self.refresh(), names="value")
        self.inspect.observe(lambda _: self.refresh(), names="value")
        buttons = [self.back_button, self.step_button, self.play_button, self.speed]
        if self.scenario:
            buttons.insert(2, self.stop_button)
        self.widget = w.VBox(
            [
                w.HBox(buttons),
                w.HBox([self.unit, self.view, self.inspect, self.status]),
                self.slider,
                self.narration,
                self.picture,
                self.details,
                self.events,
            ]
        )
        self.widget.add_class("raftsim-player")
        self.refresh()

    # -- the handlers ---------------------------------------------------------

    def step(self) -> list[TraceEvent]:
        """One step forward: one event, or up to the next story event."""
        events = self.cluster.step()
        if self.unit.value == "story event":
            for _ in range(10_000):
                if any(e.kind in STORY_KINDS for e in events):
                    break
                events += self.cluster.step()
        self.last_events = list(events)
        self.refresh()
        return self.last_events

    def back(self) -> list[TraceEvent]:
        """Undo the last step (nothing happens at the start)."""
        try:
            undone = self.cluster.back()
        except ValueError as error:
            self.status.value = f"<span style='color:#922b21'>{_html_escape(str(error))}</span>"
            return []
        self.last_events = self._events_of_last_step()
        self.refresh()
        return undone

    def goto(self, index: int) -> None:
        """Go to the moment the trace had `index` events."""
        before = len(self.cluster.trace)
        self.cluster.goto(index)
        here = len(self.cluster.trace)
        if before < here:
            self.last_events = list(self.cluster.trace[before:here])
        else:
            self.last_events = self._events_of_last_step()
        self.refresh()

    def next_stop(self) -> None:
        """For a story: replay up to its next pause point."""
        if self.scenario is None:
            return
        start = len(self.cluster.trace)
        self.scenario.run_to_next_pause()
        self.last_events = list(self.cluster.trace[start:])
        self.refresh()

    def tick(self) -> bool:
        """One frame of Play: as many steps as the speed asks for. False when done."""
        count = max(1, round(self.speed.value * self.TICK))
        events: list[TraceEvent] = []
        for _ in range(count):
            if self.scenario is not None and self.scenario.finished:
                break
            events += self.cluster.step()
        self.last_events = events
        self.refresh()
        return not (self.scenario is not None and self.scenario.finished)

    # -- internals --------------------------------------------------------------

    def _events_of_last_step(self) -> list[TraceEvent]:
        """The events of the moment the cluster is at (those of its last step, or more)."""
        trace = self.cluster.trace
        if not trace:
            return []
        last = trace[-1].time_us
        start = len(trace)
        while start > 0 and trace[start - 1].time_us == last:
            start -= 1
        return list(trace[start:])

    def _on_play(self, change: dict) -> None:
        self.play_button.description = "Pause" if change["new"] else "Play"
        self.play_button.icon = "pause" if change["new"] else "play"
        if change["new"] and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._play())

    async def _play(self) -> None:
        while self.play_button.value:
            if not self.tick():
                self.play_button.value = False
                break
            await asyncio.sleep(self.TICK)

    def _on_slider(self, change: dict) -> None:
        if not self._updating:
            self.goto(int(change["new"]))

    def refresh(self) -> None:
        """Redraw the picture, the events, the narration and the slider."""
        here = len(self.cluster.trace)
        self._furthest = max(self._furthest, here)
        self._updating = True
        try:
            self.slider.max = self._furthest
            self.slider.value = here
        finally:
            self._updating = False
        nodes = self.cluster.nodes
        options = [("none", ""), *((node, node) for node in nodes)]
        if list(self.inspect.options) != options:
            self.inspect.options = options  # a server joined, or time travel went back
        chosen = self.inspect.value or None
        if self.view.value == "ring":
            self.picture.value = cluster_html(self.cluster, view="ring", selected=chosen)
        else:
            self.picture.value = cluster_html(self.cluster)
        self.details.value = (
            f"<div style='color:#1b4f72;font-family:monospace;font-size:12px'>"
            f"{_html_escape(node_details(self.cluster, nodes[chosen]))}</div>"
            if chosen
            else ""
        )
        self.events.value = trace_html(self.last_events, limit=30)
        leader = self.cluster.leader
        self.status.value = (
            f"<span style='color:#566573'>event {here}, t = {self.cluster.now:.4f} s, "
            f"leader {leader or 'none'}</span>"
        )
        if self.scenario is not None:
            mark = self.scenario.current_mark()
            if mark is not None:
                self.narration.value = (
                    f"<b>{_html_escape(mark.chapter or '')}</b>"
                    f"<div style='color:#1b4f72'>{paragraphs(mark.narration)}</div>"
                    f"<div style='color:#7f8c8d;font-family:monospace'>step: "
                    f"{_html_escape(mark.source)}</div>"
                )

    def static_html(self) -> str:
        """Where the player stands, as plain HTML: what shows where widgets cannot."""
        return (
            f"{STATIC_STYLE}<div class='raftsim-static'><p style='color:#566573'><i>Where the "
            "player stands (a picture: run the notebook in Jupyter to use its buttons)</i></p>"
            + self.narration.value
            + self.picture.value
            + "</div>"
        )

    def _widget_bundle(self, **kwargs: object) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = "Player: open this notebook in Jupyter to use the buttons"
        return data

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._widget_bundle(), raw=True)
        display({"text/html": self.static_html(), "text/plain": "(the player's picture)"},
                raw=True)  # fmt: skip

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        """For front ends that ask for one bundle: the widget, and the picture as HTML."""
        data = self._widget_bundle(**kwargs)
        data["text/html"] = self.static_html()
        return data


# Hides the static picture where the Player's widget rendered beside it, in JupyterLab,
# Notebook 7 and nbconvert's HTML (.jp-OutputArea) and in the classic Notebook (.output).
STATIC_STYLE = (
    "<style>.jp-OutputArea:has(.raftsim-player) .raftsim-static,"
    ".output:has(.raftsim-player) .raftsim-static{display:none}</style>"
)
