"""Pictures and a player for Jupyter: the cluster as SVG, the trace as sentences.

Theory of operation: like `sim.show.render` for the terminal, every renderer here
is a pure function of what a `Cluster` shows now (its node views, the
messages on the wire) or of a list of trace events; none changes anything.
Only `Player` needs ipywidgets, and it imports them when it is built, so the
renderers work without Jupyter installed.

- `picture`: `cluster_svg`, one box per node beside its log, in the
  terminal's palette.
- `display`: what Jupyter shows as HTML: `cluster_html`, and `trace_html`
  (events as coloured sentences).
- `story`: `Story` replays a scenario file chapter by chapter; `diagram`
  wraps `sim.show.diagram`'s message sequence diagram for display.
- `player`: `Player`, an ipywidgets control panel (Step, Back, Play/Pause,
  speed, a slider over the trace) for a Cluster or a Story, and `happens`, a
  condition for `Cluster.run_until`.
"""

from sim.show.notebook.display import COMPONENT_COLOURS, HTMLText, cluster_html, trace_html
from sim.show.notebook.picture import ROLE_COLOURS, cluster_svg, term_colour
from sim.show.notebook.player import Player, happens
from sim.show.notebook.story import Story, diagram, story_html

__all__ = [
    "COMPONENT_COLOURS",
    "ROLE_COLOURS",
    "HTMLText",
    "Player",
    "Story",
    "cluster_html",
    "cluster_svg",
    "diagram",
    "happens",
    "story_html",
    "term_colour",
    "trace_html",
]
