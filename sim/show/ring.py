"""The cluster as a ring, in RaftScope's spirit: servers on a circle, messages flying.

Theory of operation: `ring_svg` is a pure function of what a `Cluster` shows
now, so the same moment always gives the same bytes. `ring_layout` places the
servers (the first at the top, then clockwise) and is kept apart from the
drawing so tests can check the geometry. Each server is a circle in its
role's colour with its id and term; around it, the part of its election
timeout that has elapsed (a leader wears a solid ring and a star instead).
Each message in flight is a dot on the link from sender to receiver, at the
fraction of its trip done (`sent_us` to `lands_us`); the two directions of a
link use two lanes, one on each side of it. A partition tints each group and
draws the links between groups red and dashed; a one-way cut is a red arrow
on its lane. Hovering a server or a message shows its details (`<title>`), the
static picture's answer to RaftScope's "click a server".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import attrs

from sim.show.diagram import COLOURS as MESSAGE_COLOURS
from sim.show.diagram import OTHER_COLOUR
from sim.show.diagram.model import family_of
from sim.show.palette import FONT, ROLE_COLOURS, shown_role

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.views import NodeView

TOP = 78  # the title's three lines
LABEL_W, LABEL_H = 130, 34  # room for the two lines beside each server
LEGEND_W = 210
GAP = 11  # a message's trip starts and ends this far outside the circles
LANE = 4.5  # each direction of a link runs this far to its right
TIMER = 6  # the election timer's ring, outside the circle
CUT = "#c0392b"
GROUP_TINTS = [("#d6eaf8", "#2e86c1"), ("#fdebd0", "#ca6f1e"), ("#e8daef", "#7d3c98"),
               ("#d5f5e3", "#229954"), ("#f2d7d5", "#a93226")]  # fmt: skip
LABELS = {"down": "crashed"}


@attrs.frozen
class RingLayout:
    """Where the servers go: centres on a circle of radius `radius` around (cx, cy)."""

    width: float
    height: float
    ring_width: float  # the legend starts here
    cx: float
    cy: float
    radius: float
    node_radius: float
    positions: tuple[tuple[float, float], ...]


def ring_layout(count: int) -> RingLayout:
    """The layout for `count` servers: the first at the top, the others clockwise."""
    radius = max(170.0, 13.0 * count)
    node_r = 30.0 if count < 2 else min(30.0, radius * math.sin(math.pi / count) - 8)
    outer = radius + node_r + TIMER + 4
    ring_width = 2 * (outer + LABEL_W)
    cx, cy = ring_width / 2, TOP + LABEL_H + outer
    height = max(cy + outer + LABEL_H + 14, TOP + 420)
    if count == 1:
        positions: tuple[tuple[float, float], ...] = ((cx, cy),)
    else:
        positions = tuple(
            (
                round(cx + radius * math.cos(-math.pi / 2 + 2 * math.pi * i / count), 1),
                round(cy + radius * math.sin(-math.pi / 2 + 2 * math.pi * i / count), 1),
            )
            for i in range(count)
        )
    return RingLayout(ring_width + LEGEND_W, height, ring_width, cx, cy, radius, node_r, positions)


def _text(x: float, y: float, content: str, **attributes: object) -> str:
    attrs_ = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{value}"' for key, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{attrs_}>{escape(content)}</text>'


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def timer_fraction(cluster: Cluster, view: NodeView) -> float | None:
    """How much of its election timeout a server has waited (0..1); None when it has no
    timer worth showing (a leader, a crashed server, a learner)."""
    deadline, timeout = view.election_deadline, view.election_timeout
    if not view.running or view.role == "learner" or deadline is None or not timeout:
        return None
    return min(1.0, max(0.0, 1 - (deadline - cluster.now) / timeout))


def node_details(cluster: Cluster, view: NodeView) -> str:
    """One server in a sentence: what hovering it shows, and the Player's inspector."""
    role = LABELS.get(shown_role(view), shown_role(view))
    parts = [f"{view.id}: {role}, term {view.term}", f"voted for {view.voted_for or 'nobody'}"]
    log = view.log
    last = log[-1].index if log else view.snapshot_index
    if log:
        parts.append(f"log {len(log)} entries, last {last}@{log[-1].term}")
    else:
        parts.append("log empty" if not last else f"log empty after snapshot {last}")
    parts.append(f"commit {view.commit_index}, applied {view.last_applied}")
    if view.votes:
        answers = ", ".join(f"{v} {'yes' if yes else 'no'}" for v, yes in view.votes.items())
        parts.append(f"{'pre-' if view.pre_voting else ''}votes so far: {answers}")
    if view.durable_index < last:
        parts.append(f"on disk up to {view.durable_index}")
    if view.snapshot_index:
        parts.append(f"snapshot ≤ {view.snapshot_index}")
    fraction = timer_fraction(cluster, view)
    if fraction is not None:
        timeout = view.election_timeout or 0.0
        parts.append(f"election timer {_ms(fraction * timeout)} of {_ms(timeout)}")
    if view.running and view.role != "leader":
        parts.append(f"leader it knows: {view.leader_id or 'none'}")
    members = view.members
    voters = ",".join(members.voters)
    parts.append(
        f"joint {{{','.join(members.old_voters or ())}}} + {{{voters}}}"
        if members.is_joint
        else f"voters {{{voters}}}"
    )
    return "; ".join(parts)


def _arc(x: float, y: float, r: float, fraction: float) -> str:
    """An arc of `fraction` of the circle, clockwise from the top."""
    end = 2 * math.pi * fraction
    ex, ey = x + r * math.sin(end), y - r * math.cos(end)
    large = 1 if fraction > 0.5 else 0
    return f"M{x:.1f},{y - r:.1f} A{r:.1f},{r:.1f} 0 {large} 1 {ex:.1f},{ey:.1f}"


def _cross(x: float, y: float, size: float, colour: str, width: float) -> str:
    return (
        f'<path d="M{x - size:.1f},{y - size:.1f} L{x + size:.1f},{y + size:.1f} '
        f'M{x - size:.1f},{y + size:.1f} L{x + size:.1f},{y - size:.1f}" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linecap="round"/>'
    )


def _star(x: float, y: float, r: float) -> str:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append(f"{x + radius * math.cos(angle):.1f},{y + radius * math.sin(angle):.1f}")
    return (
        f'<polygon points="{" ".join(points)}" fill="#f4d03f" stroke="#7d6608" stroke-width="1"/>'
    )


def _lane(
    a: tuple[float, float], b: tuple[float, float], node_r: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The lane from a to b: from just outside a's circle to just outside b's, LANE to the right."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    px, py = -uy * LANE, ux * LANE  # to the right of the direction of travel, on screen
    edge = node_r + GAP
    return (
        (a[0] + ux * edge + px, a[1] + uy * edge + py),
        (b[0] - ux * edge + px, b[1] - uy * edge + py),
    )


@attrs.frozen
class _Seat:
    """A server's place: its centre, its radius, and the way out from the ring's centre."""

    x: float
    y: float
    r: float
    out_x: float
    out_y: float


def _node(cluster: Cluster, view: NodeView, seat: _Seat, *, member: bool, selected: bool,
          short: bool) -> list[str]:  # fmt: skip
    x, y, r = seat.x, seat.y, seat.r
    role = shown_role(view)
    colour = ROLE_COLOURS.get(role, "#566573")
    fraction = timer_fraction(cluster, view)
    classes = ["node", role] + (["crashed"] if role == "down" else [])
    classes += ["selected"] if selected else []
    log = view.log
    last = log[-1].index if log else view.snapshot_index
    out = [
        f'<g class="{" ".join(classes)}" data-node={quoteattr(view.id)} data-role="{role}" '
        f'data-term="{view.term}" data-log="{last}" data-commit="{view.commit_index}" '
        f'data-applied="{view.last_applied}" data-vote={quoteattr(view.voted_for or "")}'
        + (f' data-timer="{fraction:.3f}"' if fraction is not None else "")
        + f"><title>{escape(node_details(cluster, view))}</title>"
    ]
    ring = f'cx="{x:.1f}" cy="{y:.1f}" r="{r + TIMER:.1f}" fill="none"'
    if selected:
        out.append(f'<circle class="selection" cx="{x:.1f}" cy="{y:.1f}" '
                   f'r="{r + TIMER + 7:.1f}" fill="none" stroke="#2e86c1" '
                   'stroke-width="2.5"/>')  # fmt: skip
    if fraction is not None:
        out.append(f'<circle class="timer-track" {ring} stroke="#e5e7e9" stroke-width="4"/>')
        if fraction >= 0.999:
            out.append(f'<circle class="timer" {ring} stroke="#34495e" stroke-width="4"/>')
        elif fraction > 0:
            out.append(f'<path class="timer" d="{_arc(x, y, r + TIMER, fraction)}" fill="none" '
                       'stroke="#34495e" stroke-width="4"/>')  # fmt: skip
    elif role == "leader":
        out.append(f'<circle class="leader-ring" {ring} stroke="{colour}" stroke-width="4"/>')
    body = f'<circle class="server" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    if role == "down":
        out.append(f'{body} fill="#e5e8e8" stroke="{colour}" stroke-width="2" '
                   'stroke-dasharray="5 3"/>')  # fmt: skip
        out.append(f'<g opacity="0.6">{_cross(x, y, r * 0.62, colour, 3.5)}</g>')
    else:
        dash = "" if member else ' stroke-dasharray="4 3"'
        out.append(f'{body} fill="{colour}" stroke="white" stroke-width="2"{dash}/>')
    ink = "#1b2631" if role in ("pre-candidate", "down") else "white"
    roomy = r >= 24
    out.append(_text(x, y + (-1 if roomy else 4), view.id, font_size=15 if roomy else 12,
                     font_weight="bold", fill=ink, text_anchor="middle"))  # fmt: skip
    if roomy:
        out.append(_text(x, y + 13, f"term {view.term}", font_size=10, fill=ink,
                         text_anchor="middle"))  # fmt: skip
    if role == "leader":
        out.append(_star(x + r * 0.74, y - r * 0.74, 8))
    # Kept short: a label beside a server on the left has about LABEL_W to grow in.
    second = f"log {last} · commit {view.commit_index}"
    if view.votes:
        granted = sum(view.votes.values())
        second = f"{'pre-' if view.pre_voting else ''}votes: {granted}"
    if not member:
        second = "not a member"
    out += _label(seat, [LABELS.get(role, role)] + ([] if short else [second]), colour)
    out.append("</g>")
    return out


def _label(seat: _Seat, lines: list[str], colour: str) -> list[str]:
    """Lines beside a server, on the side away from the ring's centre."""
    reach = seat.r + TIMER + 17  # clear of a selection ring or a partition tint
    ax, ay = seat.x + seat.out_x * reach, seat.y + seat.out_y * reach
    anchor = "start" if seat.out_x > 0.35 else "end" if seat.out_x < -0.35 else "middle"
    count = len(lines)
    if seat.out_y < -0.35:  # above the server
        ys = [ay - 2 - 14 * (count - 1 - i) for i in range(count)]
    elif seat.out_y > 0.35:  # below it
        ys = [ay + 10 + 14 * i for i in range(count)]
    else:
        ys = [ay + 4 - 7 * (count - 1) + 14 * i for i in range(count)]
    out = [_text(ax, ys[0], lines[0], font_size=11.5, font_weight="bold", fill=colour,
                 text_anchor=anchor)]  # fmt: skip
    out += [_text(ax, y, line, font_size=10.5, fill="#566573", text_anchor=anchor)
            for line, y in zip(lines[1:], ys[1:], strict=True)]  # fmt: skip
    return out


def _links(
    seats: dict[str, _Seat], groups: dict[str, int], cuts: set[tuple[str, str]]
) -> list[str]:
    """Every pair of servers: a grey line, red and dashed across a partition; one-way cuts."""
    out = []
    ids = list(seats)
    grey = "#d5d8dc" if len(ids) <= 9 else "#eaecee"
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            sa, sb = seats[a], seats[b]
            split = bool(groups) and groups[a] != groups[b]
            line = f'x1="{sa.x:.1f}" y1="{sa.y:.1f}" x2="{sb.x:.1f}" y2="{sb.y:.1f}"'
            if not split:
                out.append(f'<line class="link" data-a="{a}" data-b="{b}" {line} '
                           f'stroke="{grey}" stroke-width="1.2"/>')  # fmt: skip
                continue
            mx, my = (sa.x + sb.x) / 2, (sa.y + sb.y) / 2
            out.append(
                f'<g class="link partitioned" data-a="{a}" data-b="{b}">'
                f"<title>{a} and {b} are partitioned: no message passes</title>"
                f'<line {line} stroke="{CUT}" stroke-width="1.5" stroke-dasharray="6 4" '
                f'opacity="0.7"/>{_cross(mx, my, 5, CUT, 2.5)}</g>'
            )
    for src, dst in sorted(cuts):
        if src not in seats or dst not in seats or (groups and groups[src] != groups[dst]):
            continue
        (x1, y1), (x2, y2) = _lane((seats[src].x, seats[src].y), (seats[dst].x, seats[dst].y),
                                   seats[src].r)  # fmt: skip
        angle = math.atan2(y2 - y1, x2 - x1)
        head = " ".join(
            f"{x2 + 9 * math.cos(angle + da):.1f},{y2 + 9 * math.sin(angle + da):.1f}"
            for da in (math.pi * 0.85, -math.pi * 0.85)
        )
        out.append(
            f'<g class="cut" data-src="{src}" data-dst="{dst}"><title>link {src} → {dst} is '
            f"cut: {src}'s messages to {dst} are lost ({dst}'s still reach {src})</title>"
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{CUT}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
            f'<polygon points="{x2:.1f},{y2:.1f} {head}" fill="{CUT}"/>'
            f"{_cross((x1 + x2) / 2, (y1 + y2) / 2, 5, CUT, 2.5)}</g>"
        )
    return out


def _messages(cluster: Cluster, seats: dict[str, _Seat]) -> list[str]:
    """Each message in flight: a dot on its lane, at the fraction of its trip done.

    One whose landing time has passed is held on its link (`Cluster.hold`): it
    waits at the receiver's end, ringed.
    """
    out = []
    now_us = round(cluster.now * 1_000_000)
    dot = 5.0 if len(seats) <= 9 else 4.0
    for flight in cluster.in_flight:
        src, dst = flight.message.src, flight.message.dst
        if src not in seats or dst not in seats or src == dst:
            continue
        trip = max(1, flight.lands_us - flight.sent_us)
        progress = min(1.0, max(0.0, (now_us - flight.sent_us) / trip))
        (x1, y1), (x2, y2) = _lane((seats[src].x, seats[src].y), (seats[dst].x, seats[dst].y),
                                   seats[src].r)  # fmt: skip
        x, y = x1 + (x2 - x1) * progress, y1 + (y2 - y1) * progress
        held = flight.lands_us < now_us
        name = flight.message.name  # "PreVote", "HeartbeatResponse", ...
        family = family_of(name)
        colour = MESSAGE_COLOURS.get(family, OTHER_COLOUR)
        response = name.endswith("Response")
        classes = ["message"] + (["response"] if response else []) + (
            ["held"] if held else [])  # fmt: skip
        tip = f"{src} → {dst}: {flight.message}; sent at {flight.sent_us / 1e6:.4f} s, " + (
            "held on its link (by request)"
            if held
            else f"lands at {flight.lands_us / 1e6:.4f} s ({progress:.0%} of the way)"
        )
        fill, stroke = ("white", colour) if response else (colour, "white")
        out.append(
            f'<g class="{" ".join(classes)}" data-msg-id="{flight.msg_id}" data-src="{src}" '
            f'data-dst="{dst}" data-family={quoteattr(family)} data-progress="{progress:.4f}">'
            f"<title>{escape(tip)}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{dot}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{2 if response else 1}"/>'
            + (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{dot + 3.5}" fill="none" '
                f'stroke="{colour}" stroke-dasharray="2 2"/>'
                if held
                else ""
            )
            + "</g>"
        )
    return out


def _halos(seats: dict[str, _Seat], groups: dict[str, int]) -> list[str]:
    """Under a partition, each server sits on its group's tint."""
    out = []
    for node, seat in seats.items():
        if node in groups:
            fill, stroke = GROUP_TINTS[groups[node] % len(GROUP_TINTS)]
            out.append(
                f'<circle class="group" data-node="{node}" data-group="{groups[node] + 1}" '
                f'cx="{seat.x:.1f}" cy="{seat.y:.1f}" r="{seat.r + TIMER + 13:.1f}" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
    return out


def _network_line(partitions: list[list[str]], cuts: list[tuple[str, str]]) -> str:
    parts = []
    if partitions:
        parts.append("partitioned: " + " | ".join("{" + ",".join(g) + "}" for g in partitions))
    if cuts:
        parts.append("cut: " + ", ".join(f"{a} → {b}" for a, b in cuts))
    return " · ".join(parts) or "network: every link works"


def ring_svg(
    cluster: Cluster,
    *,
    title: str | None = None,
    caption: str | None = None,
    selected: str | None = None,
) -> str:
    """The cluster now as a ring of servers, with the messages in flight between them.

    The title line gives the time, the leader and its term (or `title`); the
    next line `caption` (by default how many events and messages); the third
    the network's partitions and cuts. `selected` rings one server in blue.
    The same moment always gives the same SVG text.
    """
    views = list(cluster.nodes.values())
    layout = ring_layout(len(views))
    seats = {}
    for view, (x, y) in zip(views, layout.positions, strict=True):
        dx, dy = x - layout.cx, y - layout.cy
        length = math.hypot(dx, dy)
        out_x, out_y = (dx / length, dy / length) if length else (0.0, 1.0)
        seats[view.id] = _Seat(x, y, layout.node_radius, out_x, out_y)
    partitions = cluster.partitions
    groups = {node: i for i, group in enumerate(partitions) for node in group}
    cuts = cluster.cuts
    leader = cluster.leader
    members = cluster.nodes[leader].members.members if leader else None
    flights = cluster.in_flight
    highest = max((v.term for v in views), default=0)
    heading = title or (
        f"t = {cluster.now:.4f} s · "
        + (f"leader {leader}, term {cluster.nodes[leader].term}" if leader else
           f"no leader · highest term {highest}")
    )  # fmt: skip
    caption = caption or (
        f"{len(cluster.trace)} events · {len(flights)} message{'s' if len(flights) != 1 else ''} "
        "in flight"
    )
    width, height = layout.width, layout.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="raftsim-ring" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        _text(14, 24, heading, font_size=16, font_weight="bold", fill="#1b2631"),
        _text(14, 43, caption, font_size=12, fill="#566573"),
        _text(14, 61, _network_line(partitions, cuts), font_size=12,
              fill=CUT if partitions or cuts else "#909497", class_="network"),
    ]  # fmt: skip
    out += _halos(seats, groups)
    out += _links(seats, groups, set(cuts))
    out += _messages(cluster, seats)
    short = len(views) > 12
    for view in views:
        member = members is None or view.id in members
        out += _node(cluster, view, seats[view.id], member=member,
                     selected=view.id == selected, short=short)  # fmt: skip
    out += _legend(layout.ring_width, TOP + 6)
    out.append("</svg>")
    return "".join(out)


def _legend(x: float, y: float) -> list[str]:
    out = [f'<g class="legend" font-size="11" fill="#566573"><line x1="{x - 8:.1f}" '
           f'y1="{y:.1f}" x2="{x - 8:.1f}" y2="{y + 400:.1f}" stroke="#eaeded"/>']  # fmt: skip

    def heading(text: str) -> None:
        nonlocal y
        y += 20
        out.append(_text(x, y, text, font_size=11.5, font_weight="bold", fill="#1b2631"))

    def item(mark: str, text: str) -> None:
        nonlocal y
        y += 17
        out.append(mark.format(x=x + 8, y=y - 4) + _text(x + 22, y, text))

    heading("servers")
    for role, colour in ROLE_COLOURS.items():
        mark = f'<circle cx="{{x}}" cy="{{y}}" r="6.5" fill="{colour}"/>'
        if role == "down":
            mark = (f'<circle cx="{{x}}" cy="{{y}}" r="6.5" fill="#e5e8e8" stroke="{colour}"/>'
                    f'<path d="M{{x}},{{y}} m-4,-4 l8,8 m0,-8 l-8,8" stroke="{colour}" '
                    'stroke-width="2"/>')  # fmt: skip
        item(mark, LABELS.get(role, role))
    item('<circle cx="{x}" cy="{y}" r="6" fill="none" stroke="#e5e7e9" stroke-width="3"/>'
         '<path d="M{x},{y} m0,-6 a6,6 0 1 1 -6,6" fill="none" stroke="#34495e" '
         'stroke-width="3"/>', "election timer: time waited")  # fmt: skip
    item(f'<circle cx="{{x}}" cy="{{y}}" r="6" fill="none" stroke="{ROLE_COLOURS["leader"]}" '
         'stroke-width="3"/>', "leader ring: sends heartbeats")  # fmt: skip
    heading("messages in flight")
    for family, colour in MESSAGE_COLOURS.items():
        item(f'<circle cx="{{x}}" cy="{{y}}" r="5" fill="{colour}"/>', family)
    item(f'<circle cx="{{x}}" cy="{{y}}" r="4.5" fill="white" stroke="{OTHER_COLOUR}" '
         'stroke-width="2"/>', "hollow: a response")  # fmt: skip
    heading("network")
    item(f'<path d="M{{x}},{{y}} m-8,0 h16" stroke="{CUT}" stroke-width="1.5" '
         f'stroke-dasharray="4 3"/><path d="M{{x}},{{y}} m-3,-3 l6,6 m0,-6 l-6,6" '
         f'stroke="{CUT}" stroke-width="2"/>', "partitioned link")  # fmt: skip
    item(f'<path d="M{{x}},{{y}} m-8,0 h12" stroke="{CUT}" stroke-width="2"/><path '
         f'd="M{{x}},{{y}} m8,0 l-6,-4 v8 z" fill="{CUT}"/>', "one-way cut")  # fmt: skip
    fill, stroke = GROUP_TINTS[0]
    item(f'<circle cx="{{x}}" cy="{{y}}" r="7" fill="{fill}" stroke="{stroke}" '
         'stroke-dasharray="3 2"/>', "partition group")  # fmt: skip
    y += 24
    out.append(_text(x, y, "hover a server or a message", font_style="italic", fill="#909497"))
    out.append(_text(x, y + 14, "for its details", font_style="italic", fill="#909497"))
    out.append("</g>")
    return out
