"""Boxes and text sizes for laying out a diagram without font metrics.

The diagram is drawn in DejaVu Sans where it can be (the widest of the fonts
it names), so widths are estimated from its advance widths, rounded up by
character class: an estimate that errs wide keeps labels apart in any of the
fonts a browser may pick instead.
"""

from __future__ import annotations

import attrs

# Advance widths in ems, rounded up from DejaVu Sans Book and Bold: narrow glyphs,
# capitals, the widest glyphs; everything else (lower case, digits) is 0.64 em.
_WIDTHS = (
    dict.fromkeys("iljf.,:;'|!()[] ", 0.42)
    | dict.fromkeys("rt", 0.5)
    | dict.fromkeys("ABCDEFGHIJKLNOPQRSTUVXYZ", 0.8)
    | dict.fromkeys("#+<=>^~&µ→×", 0.84)
    | dict.fromkeys("mw@%MW…", 1.0)
)
_BOLD = 1.12
ASCENT, DESCENT = 0.93, 0.24  # of the font size, above and below the baseline


def text_width(text: str, size: float, bold: bool = False) -> float:
    """How wide `text` is drawn at `size` px, erring wide."""
    return sum(_WIDTHS.get(ch, 0.64) for ch in text) * size * (_BOLD if bold else 1.0)


@attrs.frozen
class Box:
    """An axis-aligned rectangle, y growing downwards."""

    x1: float
    y1: float
    x2: float
    y2: float

    def meets(self, other: Box) -> bool:
        """Whether the two share more than an edge."""
        return (
            self.x1 < other.x2 and other.x1 < self.x2 and self.y1 < other.y2 and other.y1 < self.y2
        )

    def grow(self, margin: float) -> Box:
        return Box(self.x1 - margin, self.y1 - margin, self.x2 + margin, self.y2 + margin)


@attrs.frozen
class Text:
    """A label to draw: `y` is its baseline, `anchor` as SVG's text-anchor."""

    x: float
    y: float
    text: str
    size: float
    bold: bool = False
    anchor: str = "start"  # "start", "middle" or "end"
    halo: float = 0.0  # width of the white outline that keeps lines off the letters

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, self.bold)

    def box(self) -> Box:
        """Where the letters (and their halo) can reach."""
        width = self.width
        left = self.x - {"start": 0.0, "middle": width / 2, "end": width}[self.anchor]
        pad = self.halo / 2
        return Box(
            left - pad,
            self.y - ASCENT * self.size - pad,
            left + width + pad,
            self.y + DESCENT * self.size + pad,
        )


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """`text` in lines no wider than `width` where it has spaces to break at."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", size, bold) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


class Obstacles:
    """Boxes already taken, bucketed by height so a lookup reads only its neighbours."""

    BUCKET = 64.0

    def __init__(self) -> None:
        self._buckets: dict[int, list[Box]] = {}

    def _keys(self, box: Box) -> range:
        return range(int(box.y1 // self.BUCKET), int(box.y2 // self.BUCKET) + 1)

    def add(self, box: Box) -> None:
        for key in self._keys(box):
            self._buckets.setdefault(key, []).append(box)

    def hit(self, box: Box) -> bool:
        return any(box.meets(other) for k in self._keys(box) for other in self._buckets.get(k, ()))
