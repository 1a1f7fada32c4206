"""Message sequence (Lamport) diagrams of a trace, as SVG text.

Theory of operation: one vertical lifeline per node, time running downward,
one arrow per message from its send to its delivery. A message that is lost
ends in a cross before the receiver's lifeline; one still on the wire when
the picture ends stops at its bottom edge with an open head. Node events
worth seeing (elections, crashes, truncations, the leader's commits) are
marks on the lifelines, and network changes (partitions, cuts, healing) are
lines across the whole diagram with a note to the right.

Three steps, each a pure function: `model.collect` finds what to draw in the
events, `layout.lay_out` gives every event a row and every label a place where
it covers no other, and `draw.sequence_diagram` writes the SVG.
"""

from sim.show.diagram.draw import sequence_diagram
from sim.show.diagram.model import (
    COLOURS,
    LOST_COLOUR,
    OTHER_COLOUR,
    Arrow,
    Band,
    Mark,
    collect,
    short_label,
)

__all__ = [
    "COLOURS",
    "LOST_COLOUR",
    "OTHER_COLOUR",
    "Arrow",
    "Band",
    "Mark",
    "collect",
    "sequence_diagram",
    "short_label",
]
