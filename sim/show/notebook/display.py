"""HTML that Jupyter displays: the cluster picture, and the trace as coloured sentences.

`cluster_html` wraps `cluster_svg` or `ring_svg` so that a wide picture scrolls;
`trace_html` writes trace events one a line, each in its component's colour
(the terminal's styles as CSS). Both return `HTMLText`, a string Jupyter
shows as HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _html_escape
from typing import TYPE_CHECKING

from sim.engine.trace import TraceEvent
from sim.show.notebook.picture import cluster_svg
from sim.show.render import STORY_KINDS
from sim.show.ring import ring_svg

if TYPE_CHECKING:
    from sim.cluster import Cluster

# The terminal's component styles (sim.show.render.COMPONENT_STYLES) as CSS.
COMPONENT_COLOURS = {
    "Node": "color:#117a8b",
    "LogManager": "color:#1f4e9c",
    "Replicator": "color:#9a7d0a",
    "BallotBox": "color:#1e8449",
    "StateMachine": "color:#8e44ad",
    "SnapshotExecutor": "color:#117864",
    "Network": "color:#808b96",
    "Disk": "color:#808b96",
    "Cluster": "color:#c0392b;font-weight:bold",
    "Client": "font-weight:bold",
    "Checker": "color:white;background:#c0392b",
}


class HTMLText(str):
    """A string of HTML that Jupyter displays as HTML (and tests read as a string)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<HTML, {len(self)} characters>"


def scrollable(svg: str) -> HTMLText:
    """`svg` in a box that scrolls sideways when the notebook is narrower."""
    return HTMLText(f'<div style="overflow-x:auto;max-width:100%">{svg}</div>')


VIEWS = ("boxes", "ring")


def cluster_html(cluster: Cluster, *, view: str = "boxes", **options: object) -> HTMLText:
    """The cluster's picture wrapped for a notebook: `cluster_svg` (view="boxes", what
    `Cluster._repr_html_` shows) or `ring_svg` (view="ring", what `Cluster.ring()` shows)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    draw = ring_svg if view == "ring" else cluster_svg
    return scrollable(draw(cluster, **options))  # type: ignore[arg-type]


def trace_html(
    events: Iterable[TraceEvent], *, story_only: bool = False, limit: int = 60
) -> HTMLText:
    """Trace events as sentences, one a line: time, then the text in its component's colour.

    With `story_only`, wire traffic, timers and disk flushes are left out (as
    `raftsim run` does without --verbose). At most `limit` lines are shown.
    """
    chosen = [e for e in events if not story_only or e.kind in STORY_KINDS]
    lines = []
    for event in chosen[:limit]:
        style = COMPONENT_COLOURS.get(event.component, "")
        if event.kind in ("send", "receive", "flush", "timer") and event.component != "Cluster":
            style += ";opacity:0.75"
        lines.append(
            f'<div class="event" data-kind="{_html_escape(event.kind)}">'
            f'<span style="color:#999">{event.time:8.4f}s</span>&#160; '
            f'<span style="{style}">{_html_escape(event.text)}</span></div>'
        )
    if not chosen:
        lines.append('<div style="color:#999"><i>no events</i></div>')
    elif len(chosen) > limit:
        lines.append(
            f'<div style="color:#999"><i>… and {len(chosen) - limit} more events</i></div>'
        )
    return HTMLText(
        '<div class="raftsim-trace" style="font-family:DejaVu Sans Mono,Menlo,Consolas,'
        'monospace;font-size:12px;line-height:1.5;white-space:pre-wrap">'
        + "".join(lines)
        + "</div>"
    )


def paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs: a blank line parts them, a single newline is a space."""
    return "".join(
        f'<p style="margin:0.3em 0">{_html_escape(p.replace(chr(10), " "))}</p>'
        for p in text.split("\n\n")
        if p.strip()
    )
