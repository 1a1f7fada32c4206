"""A scenario file told in a notebook, chapter by chapter, with its message diagrams.

`Story` replays a scenario (on `ScenarioPlayer`) up to its next stop and
shows the chapter's title and narration, what happened, and the cluster.
`diagram` wraps `sim.show.diagram`'s message sequence diagram of a story's
last chapter, a cluster's trace or any list of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as _html_escape
from pathlib import Path
from typing import TYPE_CHECKING

from sim.engine.trace import TraceEvent
from sim.show.diagram import sequence_diagram
from sim.show.notebook.display import HTMLText, cluster_html, paragraphs, scrollable, trace_html
from sim.show.render import STORY_KINDS

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.scenario.player import ScenarioPlayer


class Story:
    """A scenario file replayed chapter by chapter, for a notebook.

    `Story("../scenarios/leader-election.scenario")` runs the story once,
    quietly (checking its expectations), and rewinds to its start. Each
    `next()` replays it up to its next stop (a `pause` step or the end of a
    chapter) and returns the story, which Jupyter shows as the chapter's
    title and narration, what happened, and the cluster. `cluster` is the
    live Cluster: step(), back() and goto() work on it as anywhere else.
    """

    def __init__(self, path: str | Path, *, story_only: bool = True, limit: int = 40) -> None:
        from sim.scenario import load, resolve
        from sim.scenario.player import ScenarioPlayer

        self.player: ScenarioPlayer = ScenarioPlayer(load(resolve(str(path))))
        if self.player.failure:
            raise ValueError(f"the story does not replay: {self.player.failure}")
        self.cluster: Cluster = self.player.cluster
        self.story_only = story_only
        self.limit = limit
        self.last_events: list[TraceEvent] = []

    @property
    def title(self) -> str:
        return self.player.scenario.title

    @property
    def chapter(self) -> str | None:
        mark = self.player.current_mark()
        return mark.chapter if mark else None

    @property
    def narration(self) -> str:
        mark = self.player.current_mark()
        return mark.narration if mark else ""

    @property
    def finished(self) -> bool:
        return self.player.finished

    def next(self) -> Story:
        """Replay up to the next stop; `last_events` holds what happened on the way."""
        start = len(self.cluster.trace)
        self.player.run_to_next_pause()
        self.last_events = list(self.cluster.trace[start:])
        return self

    def diagram(self, **options: object) -> HTMLText:
        """A message sequence diagram of the last chapter played (see `diagram`)."""
        return diagram(self, **options)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        return story_html(self)

    def __repr__(self) -> str:
        return f"<Story {self.title!r}, chapter {self.chapter!r}>"


def story_html(story: Story) -> str:
    """The story where it stands: chapter, narration, what happened, the cluster."""
    parts = []
    here = len(story.cluster.trace)
    if not story.last_events and here <= min((m.trace_index for m in story.player.marks),
                                              default=here):  # fmt: skip
        summary = story.player.scenario.summary
        parts.append(f"<h4 style='margin:0.2em 0'>{_html_escape(story.title)}</h4>")
        parts.append(paragraphs(summary))
        parts.append(
            f"<p style='margin:0.3em 0;color:#566573'><b>First:</b> "
            f"{_html_escape(story.chapter or '')}</p>"
        )
    else:
        parts.append(f"<h4 style='margin:0.2em 0'>{_html_escape(story.chapter or '')}</h4>")
        parts.append(f"<div style='color:#1b4f72'>{paragraphs(story.narration)}</div>")
        shown = [e for e in story.last_events if not story.story_only or e.kind in STORY_KINDS]
        parts.append(
            f"<details{' open' if len(shown) <= 25 else ''}>"
            f"<summary style='color:#566573'>what happened ({len(shown)} "
            f"{'story ' if story.story_only else ''}events of {len(story.last_events)})"
            "</summary>"
            + trace_html(story.last_events, story_only=story.story_only, limit=story.limit)
            + "</details>"
        )
    if story.finished:
        parts.append("<p style='margin:0.3em 0;color:#1e8449'><b>The end of the story.</b></p>")
    parts.append(cluster_html(story.cluster))
    return "".join(parts)


def diagram(
    source: Cluster | Story | Sequence[TraceEvent],
    *,
    start: float | None = None,
    end: float | None = None,
    nodes: Sequence[str] | None = None,
    heartbeats: bool = True,
    title: str | None = None,
) -> HTMLText:
    """A message sequence diagram (sim.show.diagram) of `source` between `start` and `end` (s).

    `source` is a list of trace events, a Cluster (its whole trace) or a
    Story (the events of its last chapter).
    """
    if isinstance(source, Story):
        events: Sequence[TraceEvent] = source.last_events
    elif hasattr(source, "trace"):
        events = source.trace  # type: ignore[union-attr]
    else:
        events = source
    svg = sequence_diagram(
        events, nodes=nodes, start=start, end=end, title=title, heartbeats=heartbeats
    )
    return scrollable(svg)
