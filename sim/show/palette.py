"""The colours every SVG picture shares: roles, terms, and the font.

The terminal's role styles (sim.show.render.ROLE_STYLES: green, yellow, cyan,
magenta) become fills dark enough to carry white text; entries take the
terminal's term palette (sim.show.render.TERM_COLOURS). Message colours live
with the sequence diagram that introduced them (sim.show.diagram.COLOURS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.show.render import TERM_COLOURS

if TYPE_CHECKING:
    from sim.views import NodeView

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

# "down" is a crashed node.
ROLE_COLOURS = {
    "leader": "#1e8449",
    "candidate": "#b7950b",
    "pre-candidate": "#d4ac0d",
    "follower": "#1a7f9c",
    "learner": "#8e44ad",
    "down": "#922b21",
}


def term_colour(term: int) -> str:
    """The fill for entries of `term` (the terminal's palette, cycling)."""
    return TERM_COLOURS[(term - 1) % len(TERM_COLOURS)]


def shown_role(view: NodeView) -> str:
    """The role a picture shows: "down" for a crashed node, "pre-candidate" for a
    follower asking for pre-votes, else the node's role."""
    if not view.running:
        return "down"
    if view.role == "follower" and view.pre_voting:
        return "pre-candidate"
    return view.role
