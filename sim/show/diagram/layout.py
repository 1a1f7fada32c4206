"""Where everything in a sequence diagram goes: a row for each moment, a place for each label.

Theory of operation: time is drawn by rows, not to scale. Each distinct moment
starts a new row below the last; a long silence adds a break. Things that
happen at the same moment share a row only while they leave each other room:
an arrowhead or a dot takes its lifeline's point in the row whole, arrows may
leave one point to the left and to the right, and no label or mark (arrowhead,
cross, dot) may touch another. Otherwise the event takes the next row. Events
are placed in trace order, so within one instant a cause still comes above
its effect. A broadcast (one node sending the same thing to several at once)
is one fan from one point, with one label each way.

Every arrow's label sits just above the arrow's start, on the side it leaves
towards (the arrow runs down and away from it); a mark's label beside its dot,
right or else left; a network note in a lane right of the last lifeline, in a
row of its own. Each is checked against everything placed before it, and a
row further down is always free in the end, so no two labels overlap by
construction. Messages still in flight when the picture ends stop at its
bottom edge, where `bottom` is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from sim.show.diagram.geometry import Box, Obstacles, Text, wrap
from sim.show.diagram.model import Arrow, Band, Mark, short_label

LEFT = 84  # room for the time axis
COLUMN = 170  # distance between lifelines
ROW = 18  # between rows
BREAK = 26  # extra room for a long silence
SILENCE_US = 20_000  # a gap longer than this is drawn as a break
ARROW_SIZE, MARK_SIZE, NOTE_SIZE = 9, 10, 10  # font sizes
NOTE_WIDTH = 300  # network notes wrap at this width
NOTE_LINE = 13  # line height of a wrapped note
HALO = 3.0  # white outline of labels drawn over lines
LOST_AT = 0.85  # a lost message's cross, this far along its way
STUB = 0.3  # a message refused at the sender: a stub this far towards the receiver


@attrs.define
class Layout:
    """Positions for everything drawn; indexes refer to the lists given to `lay_out`."""

    column: Mapping[str, float]
    starts: dict[int, float] = attrs.Factory(dict)  # arrow -> y of its send
    ends: dict[int, tuple[float, float]] = attrs.Factory(dict)  # arrow -> where it stops
    labels: dict[int, Text] = attrs.Factory(dict)  # arrow -> its label
    marks: dict[int, tuple[float, Text]] = attrs.Factory(dict)  # mark -> y, label
    notes: dict[int, tuple[float, list[Text]]] = attrs.Factory(dict)  # band -> y, lines
    ticks: list[tuple[float, int]] = attrs.Factory(list)  # the first row of each moment
    breaks: list[tuple[float, int]] = attrs.Factory(list)  # y of a silence, its length (µs)
    bottom: float = 0.0  # below everything: the last row, and where in-flight arrows stop
    right: float = 0.0  # the rightmost x reached by a label


def columns(lifelines: Sequence[str]) -> dict[str, float]:
    """x of each lifeline."""
    return {node: LEFT + COLUMN / 2 + i * COLUMN for i, node in enumerate(lifelines)}


def note_lane(column: Mapping[str, float]) -> float:
    """x where network notes start: right of the last lifeline."""
    return max(column.values(), default=LEFT) + 18


def note_lines(band: Band) -> list[str]:
    return wrap(band.label, NOTE_SIZE, NOTE_WIDTH)


def mark_label(mark: Mark, x: float, y: float, side: int) -> Text:
    """A mark's label, right (`side` 1) or left (-1) of its dot."""
    anchor = "start" if side > 0 else "end"
    return Text(x + 8 * side, y + 4, mark.label, MARK_SIZE, True, anchor, HALO)


@attrs.define
class _Item:
    """Something to place: `kind` of the things at `indexes`, ordered as in the trace."""

    time: int
    seq: int
    tie: int  # an arrow's end comes after the event that ended it (a crash's dot)
    kind: str  # "send" (a fan of arrows with one label), "stub", "end", "mark" or "band"
    indexes: list[int]


@attrs.frozen
class _Shape:
    """One way to place an item in a row: what it occupies, and how to record it."""

    uses: Mapping[str, str]  # lifeline -> "point", "right", "left" or "stub"
    boxes: tuple[Box, ...]
    record: tuple[tuple[dict, int, object], ...]  # (table of the Layout, index, value)
    exclusive: bool = False  # a row of its own

    def clashes(self, used: Mapping[str, set[str]]) -> bool:
        """Whether it needs a lifeline already taken in the row (`used`: lifeline -> uses).

        A point on a lifeline (an arrowhead, a dot) takes it whole; arrows may leave
        one point to either side, and stubs may fan out with anything but a point.
        """
        for node, use in self.uses.items():
            taken = used.get(node, set())
            if "point" in taken or (use == "point" and taken) or (use in taken and use != "stub"):
                return True
        return False


def _cross(x: float, y: float) -> Box:
    return Box(x - 6, y - 6, x + 6, y + 6)


class _Placer:
    def __init__(
        self,
        arrows: Sequence[Arrow],
        marks: Sequence[Mark],
        bands: Sequence[Band],
        column: Mapping[str, float],
    ) -> None:
        self.arrows, self.marks, self.bands = arrows, marks, bands
        self.out = Layout(column)
        self.first = min(column.values(), default=LEFT)
        self.lane = note_lane(column)
        self.leaving = Obstacles()  # where arrows start: their lines run there

    def _side(self, i: int) -> int:
        arrow = self.arrows[i]
        return 1 if self.out.column[arrow.dst] > self.out.column[arrow.src] else -1

    def items(self) -> list[_Item]:
        """Everything to place, in trace order.

        Sends from one node at one moment, the same way and with the same label
        (a broadcast), become one fan: one row, one label, as many arrows.
        """
        found = []
        for i, arrow in enumerate(self.arrows):
            if arrow.fate == "lost" and arrow.ended_seq == arrow.sent_seq:
                found.append(_Item(arrow.sent, arrow.sent_seq, 0, "stub", [i]))
                continue
            found.append(_Item(arrow.sent, arrow.sent_seq, 0, "send", [i]))
            if arrow.ended is not None and arrow.ended_seq is not None:
                found.append(_Item(arrow.ended, arrow.ended_seq, 1, "end", [i]))
        found += [_Item(m.time, m.seq, 0, "mark", [i]) for i, m in enumerate(self.marks)]
        found += [_Item(b.time, b.seq, 0, "band", [i]) for i, b in enumerate(self.bands)]
        found.sort(key=lambda item: (item.time, item.seq, item.tie))
        merged: list[_Item] = []
        fans: dict[tuple[int, str, int, str], _Item] = {}
        for item in found:
            if item.kind == "send":
                arrow = self.arrows[item.indexes[0]]
                key = (item.time, arrow.src, self._side(item.indexes[0]), short_label(arrow.text))
                if key in fans:
                    fans[key].indexes.append(item.indexes[0])
                    continue
                fans[key] = item
            elif item.kind in ("mark", "end"):  # something happens on the sender: a new fan
                node = (self.marks[item.indexes[0]].node if item.kind == "mark"
                        else self.arrows[item.indexes[0]].dst)  # fmt: skip
                fans = {k: v for k, v in fans.items() if k[1] != node}
            merged.append(item)
        return merged

    def shapes(self, item: _Item, y: float) -> list[_Shape]:
        """The ways to place `item` in the row at `y`, best first."""
        column, out = self.out.column, self.out
        i = item.indexes[0]
        if item.kind == "mark":
            mark = self.marks[i]
            x = column[mark.node]
            dot = Box(x - 5, y - 5, x + 5, y + 5)
            labels = [
                mark_label(mark, x, y, side) for side in (1, -1) if x > self.first or side > 0
            ]
            # Rather the side no arrow has just left by: its line would cross the label.
            labels.sort(key=lambda label: self.leaving.hit(label.box()))
            return [
                _Shape({mark.node: "point"}, (dot, label.box()), ((out.marks, i, (y, label)),))
                for label in labels
            ]
        if item.kind == "band":
            lines = note_lines(self.bands[i])
            texts = [
                Text(self.lane, y - 4 - NOTE_LINE * (len(lines) - 1 - k), line, NOTE_SIZE)
                for k, line in enumerate(lines)
            ]
            boxes = tuple(t.box() for t in texts)
            record = ((out.notes, i, (y, texts)),)
            return [_Shape(dict.fromkeys(column, "point"), boxes, record, exclusive=True)]
        arrow = self.arrows[i]
        x1, x2 = column[arrow.src], column[arrow.dst]
        side = self._side(i)
        if item.kind == "stub":  # refused at the sender: a short stub and a cross, no label
            end = (x1 + (x2 - x1) * STUB, y + ROW * 0.6)
            record = ((out.starts, i, y), (out.ends, i, end))
            return [_Shape({arrow.src: "stub"}, (_cross(*end),), record)]
        if item.kind == "send":
            anchor = "start" if side > 0 else "end"
            text = short_label(arrow.text)
            label = Text(x1 + 5 * side, y - 3, text, ARROW_SIZE, anchor=anchor, halo=HALO)
            record = ((out.labels, i, label), *((out.starts, j, y) for j in item.indexes))
            use = "right" if side > 0 else "left"
            return [_Shape({arrow.src: use}, (label.box(),), record)]
        y1 = out.starts[i]
        if y <= y1:  # an arrow must run downwards
            return []
        if arrow.fate == "lost":
            end = (x1 + (x2 - x1) * LOST_AT, y1 + (y - y1) * LOST_AT)
            return [_Shape({}, (_cross(*end),), ((out.ends, i, end),))]
        # Delivered: the arrowhead lies on the lifeline, back towards the sender.
        head = (
            Box(x2 - 11, y - 10, x2 + 1, y + 4) if side > 0 else Box(x2 - 1, y - 10, x2 + 11, y + 4)
        )
        return [_Shape({arrow.dst: "point"}, (head,), ((out.ends, i, (x2, y)),))]

    def place(self, top: float) -> Layout:
        taken = Obstacles()
        out = self.out
        last: float | None = None  # the last row used
        moment: int | None = None
        y = top
        used: dict[str, set[str]] = {}
        occupied = exclusive = False
        lowest = top  # the lowest point any box reaches
        for item in self.items():
            new_moment = item.time != moment
            if new_moment:
                gap = 0 if moment is None else item.time - moment
                silence = gap > SILENCE_US
                y = (top if last is None else last) + ROW + (BREAK if silence else 0)
                used, occupied, exclusive = {}, False, False
                moment = item.time
            for _ in range(10_000):
                shape = next(
                    (
                        s
                        for s in self.shapes(item, y)
                        if not s.clashes(used) and not any(map(taken.hit, s.boxes))
                    ),
                    None,
                )
                if shape is not None and not exclusive and not (shape.exclusive and occupied):
                    break
                y += ROW
                used, occupied, exclusive = {}, False, False
            else:  # pragma: no cover - a fresh row lower down always has room
                raise AssertionError(f"no room for {item}")
            for box in shape.boxes:
                taken.add(box)
                lowest = max(lowest, box.y2)
                out.right = max(out.right, box.x2)
            for node, use in shape.uses.items():
                used.setdefault(node, set()).add(use)
            occupied, exclusive = True, shape.exclusive
            for table, index, value in shape.record:
                table[index] = value
            if item.kind in ("send", "stub"):
                x, side = out.column[self.arrows[item.indexes[0]].src], self._side(item.indexes[0])
                self.leaving.add(Box(min(x, x + 60 * side), y, max(x, x + 60 * side), y + 2 * ROW))
            if new_moment:
                if silence and last is not None:
                    out.breaks.append(((last + y) / 2, gap))
                out.ticks.append((y, item.time))
            last = y
        # Room below the last row for arrows still in flight to show which way they go.
        room = 2.5 * ROW if any(a.ended is None for a in self.arrows) else ROW
        out.bottom = max((top if last is None else last) + room, lowest + 8)
        self._in_flight()
        return out

    def _in_flight(self) -> None:
        """Arrows still on the way at the end: cut where they cross the bottom edge."""
        out = self.out
        for i, arrow in enumerate(self.arrows):
            if arrow.ended is None and i in out.starts:
                x1, x2, y1 = out.column[arrow.src], out.column[arrow.dst], out.starts[i]
                # Aimed two rows past the edge, as if the picture went on.
                share = (out.bottom - y1) / (out.bottom + 2 * ROW - y1)
                out.ends[i] = (x1 + (x2 - x1) * share, out.bottom)


def lay_out(
    arrows: Sequence[Arrow],
    marks: Sequence[Mark],
    bands: Sequence[Band],
    lifelines: Sequence[str],
    top: float,
) -> Layout:
    """Rows and label places for the things in a diagram, rows starting below `top`."""
    return _Placer(arrows, marks, bands, columns(lifelines)).place(top)
