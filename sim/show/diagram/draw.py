"""A sequence diagram written out as SVG: the header, then what `layout` placed.

Every label is drawn exactly where the layout put it, with the same size,
weight and anchor the layout measured, so the boxes it kept apart are the
boxes a reader sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import attrs

from sim.engine.trace import TraceEvent
from sim.show.diagram.geometry import Text, text_width, wrap
from sim.show.diagram.layout import (
    COLUMN,
    LEFT,
    MARK_SIZE,
    NOTE_SIZE,
    NOTE_WIDTH,
    Layout,
    columns,
    lay_out,
    note_lane,
    note_lines,
)
from sim.show.diagram.model import (
    COLOURS,
    LOST_COLOUR,
    OTHER_COLOUR,
    Arrow,
    Band,
    Mark,
    collect,
    family_of,
)

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MARGIN = 12
TITLE_SIZE, SMALL = 14, 10
EXPLAIN = (
    "dashed: a reply · x: lost on the way · open head on the bottom line: still on the wire · "
    "time runs down, not to scale (a busy moment takes several rows) · "
    "hover over an arrow for the full message"
)


def _seconds(time_us: int) -> str:
    return f"{time_us / 1e6:.4f}s"


def _silence(gap_us: int) -> str:
    return f"{gap_us / 1000:.1f} ms" if gap_us < 1_000_000 else f"{gap_us / 1e6:.2f} s"


def _text(t: Text, colour: str) -> str:
    """A `<text>` drawn as measured: size, weight, anchor and halo as in `t`."""
    attrs_ = f'x="{t.x:.1f}" y="{t.y:.1f}" font-size="{t.size:g}" fill="{colour}"'
    if t.bold:
        attrs_ += ' font-weight="bold"'
    if t.anchor != "start":
        attrs_ += f' text-anchor="{t.anchor}"'
    if t.halo:
        attrs_ += f' stroke="white" stroke-width="{t.halo:g}" paint-order="stroke"'
    return f"<text {attrs_}>{escape(t.text)}</text>"


def sequence_diagram(
    events: Sequence[TraceEvent],
    *,
    nodes: Sequence[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    title: str | None = None,
    heartbeats: bool = True,
) -> str:
    """An SVG message sequence diagram of `events` between `start` and `end` (seconds).

    `nodes` fixes the lifelines and their order (default: every node the
    events mention). With `heartbeats` False, heartbeats and their replies
    are left out. Messages sent before `start` are not drawn; those still on
    the wire at `end` stop at the bottom edge.
    """
    low = None if start is None else round(start * 1e6)
    high = None if end is None else round(end * 1e6)
    window = [
        e
        for e in events
        if (low is None or e.time_us >= low) and (high is None or e.time_us <= high)
    ]
    arrows, marks, bands, seen = collect(window)
    if not heartbeats:
        arrows = [a for a in arrows if family_of(a.text) != "Heartbeat"]
    lifelines = list(nodes) if nodes is not None else seen
    column = columns(lifelines)
    arrows = [a for a in arrows if a.src in column and a.dst in column]
    marks = [m for m in marks if m.node in column]
    if high is not None:
        arrows = _landing_later(arrows, events, high)

    if window:
        span = f"{_seconds(window[0].time_us if low is None else low)} to "
        span += _seconds(window[-1].time_us if high is None else high)
    else:
        span = "empty"
    heading = f"{title or 'Message sequence diagram'}: {span}"
    width = _body_width(lifelines, marks, bands)
    header, top = _header(heading, arrows, width)
    layout = lay_out(arrows, marks, bands, lifelines, top + 4)
    width = max(width, layout.right + MARGIN, *(_right(t) + MARGIN for t, _ in header))
    in_flight = any(a.ended is None for a in arrows)
    height = layout.bottom + (30 if in_flight else 22)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="11">',
        "<defs>",
    ]
    for name, colour in [*COLOURS.items(), ("other", OTHER_COLOUR)]:
        out.append(
            f'<marker id="head-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>'
            f'<marker id="open-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M1,1 L9,5 L1,9" fill="none" '
            f'stroke="{colour}" stroke-width="1.6"/></marker>'
        )
    out.append("</defs>")
    out.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>')
    out += [_text(t, colour) for t, colour in header]
    _draw_lifelines(out, lifelines, column, marks, layout, top)
    _draw_time(out, layout, width)
    if in_flight:
        x2 = max(column.values()) + 30
        out.append(
            f'<line x1="{LEFT}" x2="{x2:.1f}" y1="{layout.bottom:.1f}" y2="{layout.bottom:.1f}" '
            'stroke="#b3b6b7" stroke-dasharray="1 3"/>'
        )
        end_label = "window end" if high is not None else "end"
        out.append(_text(Text(LEFT - 8, layout.bottom + 3, end_label, 9, anchor="end"), "#7f8c8d"))
    for i, band in enumerate(bands):
        out.append(_band_svg(band, *layout.notes[i], width))
    for i, arrow in enumerate(arrows):
        out.append(_arrow_svg(arrow, i, layout))
    for i, mark in enumerate(marks):
        y, label = layout.marks[i]
        out.append(_mark_svg(mark, column[mark.node], y, label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _landing_later(arrows: list[Arrow], events: Sequence[TraceEvent], high: int) -> list[Arrow]:
    """Messages in flight at the window's end, told when they land (or are lost) after it."""
    later = {
        e.msg_id: e
        for e in events
        if e.time_us > high and e.kind in ("receive", "drop") and e.msg_id is not None
    }
    result = []
    for arrow in arrows:
        landing = later.get(arrow.msg_id) if arrow.ended is None else None
        if landing is not None:
            verb = "lands" if landing.kind == "receive" else "is lost"
            arrow = attrs.evolve(
                arrow, why=f"{verb} at {_seconds(landing.time_us)}, after the window"
            )
        result.append(arrow)
    return result


def _right(t: Text) -> float:
    return t.box().x2


def _body_width(lifelines: Sequence[str], marks: Sequence[Mark], bands: Sequence[Band]) -> float:
    """Wide enough for the lifelines, the notes' lane, and marks right of the last lifeline."""
    column = columns(lifelines)
    width = LEFT + COLUMN * max(len(lifelines), 1) + 20
    if bands:
        widest = max(text_width(line, NOTE_SIZE) for b in bands for line in note_lines(b))
        width = max(width, note_lane(column) + min(widest, NOTE_WIDTH) + 16)
    if lifelines:
        last = lifelines[-1]
        labels = [text_width(m.label, MARK_SIZE, True) for m in marks if m.node == last]
        width = max(width, column[last] + 8 + max(labels, default=0) + 16)
    return max(width, 480)


def _header(
    heading: str, arrows: Sequence[Arrow], width: float
) -> tuple[list[tuple[Text, str]], float]:
    """The title, the colour legend and the explanation, wrapped to `width`; and their bottom."""
    room = width - 2 * MARGIN
    lines: list[tuple[Text, str]] = []
    y = 6.0
    for line in wrap(heading, TITLE_SIZE, room, bold=True):
        y += 18
        lines.append((Text(MARGIN, y, line, TITLE_SIZE, bold=True), "black"))
    delivered = sum(a.fate == "delivered" for a in arrows)
    lost = sum(a.fate == "lost" for a in arrows)
    flying = sum(a.fate == "in flight" for a in arrows)
    counts = f"{delivered} delivered, {lost} lost" + (f", {flying} on the wire" if flying else "")
    legend = [(counts, OTHER_COLOUR), *COLOURS.items()]
    x, y = float(MARGIN), y + 18
    for label, colour in legend:
        if x > MARGIN and x + text_width(label, SMALL) > width - MARGIN:
            x, y = float(MARGIN), y + 14
        lines.append((Text(x, y, label, SMALL), colour))
        x += text_width(label, SMALL) + 14
    for line in wrap(EXPLAIN, SMALL, room):
        y += 14
        lines.append((Text(MARGIN, y, line, SMALL), "#555"))
    return lines, y + 40


def _draw_lifelines(
    out: list[str],
    lifelines: Sequence[str],
    column: dict[str, float],
    marks: Sequence[Mark],
    layout: Layout,
    top: float,
) -> None:
    for node in lifelines:
        x = column[node]
        out.append(
            f'<g class="lifeline" data-node={quoteattr(node)}>'
            f'<rect x="{x - 28:.1f}" y="{top - 20:.1f}" width="56" height="20" rx="4" '
            f'fill="#eaf2f8" stroke="#5d6d7e"/><text x="{x:.1f}" y="{top - 6:.1f}" '
            f'text-anchor="middle" font-weight="bold">{escape(node)}</text>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{layout.bottom:.1f}" '
            'stroke="#5d6d7e" stroke-width="1.2"/></g>'
        )
        # While a node is down its lifeline is drawn faint red.
        down_since: float | None = None
        for i, mark in enumerate(marks):
            if mark.node != node:
                continue
            y = layout.marks[i][0]
            if mark.label == "CRASH":
                down_since = y
            elif mark.label == "restart":
                out.append(_down(x, top if down_since is None else down_since, y))
                down_since = None
        if down_since is not None:
            out.append(_down(x, down_since, layout.bottom))


def _down(x: float, y1: float, y2: float) -> str:
    return (
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="#f5b7b1" '
        'stroke-width="6" opacity="0.8"/>'
    )


def _draw_time(out: list[str], layout: Layout, width: float) -> None:
    """The time axis: each moment's first row, and the breaks for long silences."""
    for y, gap in layout.breaks:
        out.append(
            f'<line x1="{LEFT - 70}" x2="{width - MARGIN:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d3d4" stroke-dasharray="2 4"/>'
        )
        label = Text(LEFT - 74, y + 4, f"... {_silence(gap)}", 9)
        out.append(_text(label, "#7f8c8d"))
    previous = ""
    for y, time in layout.ticks:
        # Moments closer than the label's precision share one label.
        if _seconds(time) == previous:
            continue
        previous = _seconds(time)
        out.append(_text(Text(LEFT - 8, y + 3, previous, 9, anchor="end"), "#7f8c8d"))


def _band_svg(band: Band, y: float, lines: list[Text], width: float) -> str:
    parts = [
        f'<g class="network"><title>{escape(band.label)}</title>'
        f'<line x1="{LEFT}" x2="{width - MARGIN:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
        f'stroke="{band.colour}" stroke-width="1.5" stroke-dasharray="8 4"/>'
    ]
    parts += [_text(line, band.colour) for line in lines]
    return "".join(parts) + "</g>"


def _arrow_svg(arrow: Arrow, i: int, layout: Layout) -> str:
    family = family_of(arrow.text)
    colour = COLOURS.get(family, OTHER_COLOUR)
    head = family if family in COLOURS else "other"
    x1, y1 = layout.column[arrow.src], layout.starts[i]
    x2, y2 = layout.ends[i]
    dash = ' stroke-dasharray="5 3"' if "Response" in arrow.text.split("(")[0] else ""
    if arrow.fate == "in flight":
        dash = ' stroke-dasharray="2 3"'
        marker = f' marker-end="url(#open-{head})"'
    else:
        marker = "" if arrow.fate == "lost" else f' marker-end="url(#head-{head})"'
    ended = "" if arrow.ended is None else f" {arrow.fate} at {_seconds(arrow.ended)}"
    why = f" ({arrow.why})" if arrow.why else ""
    if arrow.fate == "in flight" and not arrow.why:
        why = " (still on the wire at the end)"
    tooltip = f"{arrow.src} -> {arrow.dst} {arrow.text}: sent at {_seconds(arrow.sent)}{ended}{why}"
    parts = [
        f'<g class="message {arrow.fate.replace(" ", "-")}"><title>{escape(tooltip)}</title>',
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="1.3"{dash}{marker}/>',
    ]
    if arrow.fate == "lost":
        parts.append(
            f'<path d="M{x2 - 5:.1f},{y2 - 5:.1f} L{x2 + 5:.1f},{y2 + 5:.1f} '
            f'M{x2 - 5:.1f},{y2 + 5:.1f} L{x2 + 5:.1f},{y2 - 5:.1f}" stroke="{LOST_COLOUR}" '
            'stroke-width="2"/>'
        )
    if i in layout.labels:  # a stub refused at the sender has none: its tooltip says it all
        parts.append(_text(layout.labels[i], colour))
    parts.append("</g>")
    return "".join(parts)


def _mark_svg(mark: Mark, x: float, y: float, label: Text) -> str:
    return (
        f'<g class="mark"><title>{escape(mark.text)}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{mark.colour}"/>'
        f"{_text(label, mark.colour)}</g>"
    )
