"""Message sequence (Lamport) diagrams of a trace, as SVG text.

`model.collect` finds what to draw in the events; `draw.sequence_diagram`
writes the SVG.
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
