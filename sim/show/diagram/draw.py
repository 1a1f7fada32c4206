"""Message sequence (Lamport) diagrams of a trace, as SVG text.

Theory of operation: one vertical lifeline per node, time running downward,
one arrow per message from its send to its delivery (a send and its delivery
share `TraceEvent.msg_id`). A message that is lost ends in a cross before
the receiver's lifeline; one still on the wire at the end of the window runs
off the bottom, dashed. Node events worth seeing (elections, crashes,
truncations, the leader's commits) are marks on the lifelines, and network
changes (partitions, cuts, healing) are lines across the whole diagram.

Time is drawn by rows, not to scale: each distinct moment gets a row, and a
long silence is drawn as a break labelled with its length. Otherwise a
two-second run with millisecond messages would be either unreadably dense
or mostly empty. `sequence_diagram` is a pure function: events in, SVG out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

from sim.engine.trace import TraceEvent
from sim.show.diagram.model import (
    COLOURS,
    LOST_COLOUR,
    OTHER_COLOUR,
    Arrow,
    Mark,
    collect,
    family_of,
    short_label,
)

LEFT = 84  # room for the time labels
COLUMN = 170  # distance between lifelines
TOP = 92  # title, legend and node names
ROW = 18  # one row per distinct moment
BREAK = 26  # extra room for a long silence
SILENCE_US = 20_000  # a gap longer than this is drawn as a break
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _rows(times: Iterable[int]) -> tuple[dict[int, float], list[tuple[float, int]], float]:
    """y for every distinct time, the breaks (y, silence in µs) and the bottom y."""
    y = float(TOP + ROW)
    rows: dict[int, float] = {}
    breaks: list[tuple[float, int]] = []
    previous: int | None = None
    for time in sorted(set(times)):
        if previous is not None:
            gap = time - previous
            if gap > SILENCE_US:
                breaks.append((y + BREAK / 2, gap))
                y += BREAK
            y += ROW
        rows[time] = y
        previous = time
    return rows, breaks, y + ROW


def _seconds(time_us: int) -> str:
    return f"{time_us / 1e6:.4f}s"


def _silence(gap_us: int) -> str:
    return f"{gap_us / 1000:.1f} ms" if gap_us < 1_000_000 else f"{gap_us / 1e6:.2f} s"


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
    are left out. Messages sent before `start` are not drawn.
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
    column = {node: LEFT + COLUMN // 2 + i * COLUMN for i, node in enumerate(lifelines)}
    arrows = [a for a in arrows if a.src in column and a.dst in column]
    marks = [m for m in marks if m.node in column]
    times = [a.sent for a in arrows] + [a.ended for a in arrows if a.ended is not None]
    times += [m.time for m in marks] + [b.time for b in bands]
    rows, breaks, bottom = _rows(times)
    span = f"{_seconds(window[0].time_us)} to {_seconds(window[-1].time_us)}" if window else "empty"
    heading = f"{title + ': ' if title else ''}{span}"
    delivered = sum(a.fate == "delivered" for a in arrows)
    lost = sum(a.fate == "lost" for a in arrows)
    legend = [(f"{delivered} delivered, {lost} lost", OTHER_COLOUR)]
    legend += [(family, colour) for family, colour in COLOURS.items()]
    # Text widths are estimated (no font metrics here): about 6 px a character at 10 px.
    legend_width = sum(14 + 6 * len(label) for label, _ in legend)
    width = max(LEFT + COLUMN * max(len(lifelines), 1) + 40, legend_width + 24, 9 * len(heading))
    height = bottom + 40

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" font-family="{FONT}" font-size="11">',
        "<defs>",
    ]
    for name, colour in [*COLOURS.items(), ("other", OTHER_COLOUR)]:
        out.append(
            f'<marker id="head-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    out.append(f'<rect width="{width}" height="{height:.0f}" fill="white"/>')

    out.append(f'<text x="12" y="20" font-size="14" font-weight="bold">{escape(heading)}</text>')
    x = 12
    for label, colour in legend:
        out.append(f'<text x="{x}" y="38" fill="{colour}" font-size="10">{escape(label)}</text>')
        x += 14 + 6 * len(label)
    out.append(
        '<text x="12" y="52" font-size="10" fill="#555">dashed: a reply; x: lost on the way; '
        "one row per moment something happened (not to scale); hover for the full message</text>"
    )

    _draw_lifelines(out, lifelines, column, marks, rows, bottom)
    for y, gap in breaks:
        out.append(
            f'<line x1="{LEFT - 70}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d3d4" stroke-dasharray="2 4"/>'
        )
        out.append(
            f'<text x="{LEFT - 74}" y="{y + 4:.1f}" font-size="9" fill="#7f8c8d">'
            f"... {escape(_silence(gap))}</text>"
        )
    previous_label = ""
    for time, y in rows.items():
        # Moments closer than the label's precision share one label.
        if _seconds(time) == previous_label:
            continue
        previous_label = _seconds(time)
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 3:.1f}" font-size="9" fill="#7f8c8d" '
            f'text-anchor="end">{_seconds(time)}</text>'
        )
    for band in bands:
        y = rows[band.time]
        out.append(
            f'<g class="network"><line x1="{LEFT}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{band.colour}" stroke-width="1.5" stroke-dasharray="8 4"/>'
            f'<text x="{LEFT + 4}" y="{y - 3:.1f}" font-size="10" fill="{band.colour}">'
            f"{escape(band.label)}</text></g>"
        )
    for arrow in arrows:
        out.append(_arrow(arrow, column, rows, bottom))
    for mark in marks:
        out.append(_mark_svg(mark, column, rows))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _draw_lifelines(
    out: list[str],
    lifelines: Sequence[str],
    column: dict[str, int],
    marks: Sequence[Mark],
    rows: dict[int, float],
    bottom: float,
) -> None:
    for node in lifelines:
        x = column[node]
        out.append(
            f'<g class="lifeline" data-node={quoteattr(node)}>'
            f'<rect x="{x - 28}" y="{TOP - 24}" width="56" height="20" rx="4" fill="#eaf2f8" '
            f'stroke="#5d6d7e"/><text x="{x}" y="{TOP - 9}" text-anchor="middle" '
            f'font-weight="bold">{escape(node)}</text>'
            f'<line x1="{x}" x2="{x}" y1="{TOP - 4}" y2="{bottom:.1f}" stroke="#5d6d7e" '
            'stroke-width="1.2"/></g>'
        )
        # While a node is down its lifeline is drawn faint red.
        down_since: float | None = None
        for mark in (m for m in marks if m.node == node):
            if mark.label == "CRASH":
                down_since = rows[mark.time]
            elif mark.label == "restart":
                top = down_since if down_since is not None else TOP - 4
                out.append(_down(x, top, rows[mark.time]))
                down_since = None
        if down_since is not None:
            out.append(_down(x, down_since, bottom))


def _down(x: int, y1: float, y2: float) -> str:
    return (
        f'<line x1="{x}" x2="{x}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="#f5b7b1" '
        'stroke-width="6" opacity="0.8"/>'
    )


def _arrow(arrow: Arrow, column: dict[str, int], rows: dict[int, float], bottom: float) -> str:
    family = family_of(arrow.text)
    colour = COLOURS.get(family, OTHER_COLOUR)
    head = family if family in COLOURS else "other"
    x1, y1 = column[arrow.src], rows[arrow.sent]
    x2 = column[arrow.dst]
    if arrow.fate == "in flight":
        x2, y2 = x1 + (x2 - x1) * 0.5, bottom
    elif arrow.fate == "lost" and arrow.ended == arrow.sent:
        # Refused at the sender: a short stub towards the receiver.
        x2, y2 = x1 + (x2 - x1) * 0.3, y1 + ROW * 0.6
    else:
        y2 = rows[arrow.ended]  # type: ignore[index]
        if arrow.fate == "lost":
            x2 = x1 + (x2 - x1) * 0.85
            y2 = y1 + (y2 - y1) * 0.85
    dash = ' stroke-dasharray="5 3"' if "Response" in arrow.text.split("(")[0] else ""
    if arrow.fate == "in flight":
        dash = ' stroke-dasharray="2 3"'
    ended = "" if arrow.ended is None else f" {arrow.fate} at {_seconds(arrow.ended)}"
    why = f" ({arrow.why})" if arrow.why else ""
    tooltip = f"{arrow.src} -> {arrow.dst} {arrow.text}: sent at {_seconds(arrow.sent)}{ended}{why}"
    parts = [
        f'<g class="message {arrow.fate.replace(" ", "-")}"><title>{escape(tooltip)}</title>',
        f'<line x1="{x1}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="1.3"{dash}'
        + ("" if arrow.fate == "lost" else f' marker-end="url(#head-{head})"')
        + "/>",
    ]
    if arrow.fate == "lost":
        parts.append(
            f'<path d="M{x2 - 5:.1f},{y2 - 5:.1f} L{x2 + 5:.1f},{y2 + 5:.1f} '
            f'M{x2 - 5:.1f},{y2 + 5:.1f} L{x2 + 5:.1f},{y2 - 5:.1f}" stroke="{LOST_COLOUR}" '
            'stroke-width="2"/>'
        )
    if arrow.fate == "lost" and arrow.ended == arrow.sent:
        parts.append("</g>")  # a stub has no room for a label: the tooltip says it all
        return "".join(parts)
    # The label sits on the arrow, a third of the way along, turned to follow it.
    lx, ly = x1 + (x2 - x1) / 3, y1 + (y2 - y1) / 3
    angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
    if angle > 90 or angle < -90:
        angle += 180
    parts.append(
        f'<text x="{lx:.1f}" y="{ly - 2:.1f}" font-size="9" fill="{colour}" text-anchor="middle" '
        f'transform="rotate({angle:.1f} {lx:.1f} {ly:.1f})" stroke="white" stroke-width="3" '
        f'paint-order="stroke">{escape(short_label(arrow.text))}</text>'
    )
    parts.append("</g>")
    return "".join(parts)


def _mark_svg(mark: Mark, column: dict[str, int], rows: dict[int, float]) -> str:
    x, y = column[mark.node], rows[mark.time]
    return (
        f'<g class="mark"><title>{escape(mark.text)}</title>'
        f'<circle cx="{x}" cy="{y:.1f}" r="4" fill="{mark.colour}"/>'
        f'<text x="{x + 7}" y="{y + 4:.1f}" font-size="10" font-weight="bold" '
        f'fill="{mark.colour}" stroke="white" stroke-width="3" paint-order="stroke">'
        f"{escape(mark.label)}</text></g>"
    )
