"""The cluster now as an SVG picture: one box per node beside its log.

`cluster_svg` draws one box per node (role, term, vote, commit, applied,
configuration) beside its log, one cell per entry coloured by term, in the
same palette as the terminal (`sim.show.palette`), and below
them the messages on the wire. It is a pure function of what the `Cluster`
shows now.

Every SVG element that stands for something carries a class and `data-`
attributes (`<g class="node" data-node="n1">`, `<g class="entry committed"
data-index="3" data-term="2">`), so tests and stylesheets can find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from raft import EntryKind
from sim.show.diagram import COLOURS as MESSAGE_COLOURS
from sim.show.diagram import OTHER_COLOUR
from sim.show.diagram.model import family_of
from sim.show.palette import FONT, ROLE_COLOURS, shown_role, term_colour

if TYPE_CHECKING:
    from raft import LogEntry
    from sim.cluster import Cluster
    from sim.views import NodeView

PAD = 12
BOX_W = 292  # the node's box
ROW_H = 62  # one node
CELL_W, CELL_H, PITCH = 24, 28, 27  # one log entry
LOG_X = PAD + BOX_W + 18
TOP = 58  # title and the index header
NOT_DURABLE = "#e67e22"


def _text(x: float, y: float, content: str, **attributes: object) -> str:
    attrs = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{attrs}>{escape(content)}</text>'


def _window(views: Sequence[NodeView], max_entries: int) -> tuple[int, int]:
    """The first and last index drawn: the last `max_entries` indexes any node holds."""
    last = max((v.log[-1].index for v in views if v.log), default=0)
    last = max([last, *(v.snapshot_index for v in views)])
    return max(1, last - max_entries + 1), last


def _configuration_text(view: NodeView) -> tuple[str, str]:
    """The node's configuration as a short line, and its colour (orange while joint)."""
    members = view.members
    if members.is_joint:
        text = "joint {" + ",".join(members.old_voters or ()) + "} + {"
        text += ",".join(members.voters) + "}"
        colour = "#ba4a00"
    else:
        text, colour = "voters {" + ",".join(members.voters) + "}", "#566573"
    if members.learners:
        text += " learners {" + ",".join(members.learners) + "}"
    return text, colour


def _node_box(
    cluster: Cluster, view: NodeView, y: float, members: tuple[str, ...] | None
) -> list[str]:
    role = shown_role(view)
    colour = ROLE_COLOURS.get(role, "#566573")
    running = view.running
    store = ", ".join(f"{k}={v}" for k, v in sorted(view.data.items())) or "empty"
    tooltip = f"{view.id}: {role}, term {view.term}; key-value store: {store}"
    out = [
        f'<g class="node{"" if running else " crashed"}" data-node={quoteattr(view.id)} '
        f'data-role="{role}" data-term="{view.term}" data-running="{str(running).lower()}">'
        f"<title>{escape(tooltip)}</title>",
        f'<rect x="{PAD}" y="{y:.1f}" width="{BOX_W}" height="{ROW_H - 6}" rx="6" '
        f'fill="{"#fbfcfc" if running else "#f2f3f4"}" stroke="{colour}" '
        f'stroke-width="{1.2 if running else 1.5}"'
        f'{"" if running else " stroke-dasharray=" + quoteattr("5 3")}/>',
        f'<rect x="{PAD}" y="{y:.1f}" width="7" height="{ROW_H - 6}" rx="3" fill="{colour}"/>',
        _text(PAD + 16, y + 19, view.id, font_size=15, font_weight="bold",
              fill="#1b2631" if running else "#7b7d7d"),
    ]  # fmt: skip
    label = "crashed" if role == "down" else role
    pill_w = 12 + 6.4 * len(label)
    text_fill = "#1b2631" if role == "pre-candidate" else "white"
    out.append(
        f'<rect x="{PAD + 48}" y="{y + 6:.1f}" width="{pill_w:.1f}" height="17" rx="8" '
        f'fill="{colour}"/>'
    )
    out.append(
        _text(PAD + 48 + pill_w / 2, y + 18.5, label, font_size=10.5, font_weight="bold",
              fill=text_fill, text_anchor="middle")
    )  # fmt: skip
    out.append(
        _text(PAD + 58 + pill_w, y + 19, f"term {view.term}", font_size=12, font_weight="bold",
              fill="#1b2631" if running else "#7b7d7d")
    )  # fmt: skip
    if running and members is not None and view.id not in members:
        out.append(
            _text(PAD + BOX_W - 8, y + 19, "not a member", font_size=10, fill="#7f8c8d",
                  text_anchor="end", font_style="italic")
        )  # fmt: skip
    elif running and view.election_deadline is not None and view.role != "learner":
        left_ms = max(0.0, (view.election_deadline - cluster.now) * 1000)
        out.append(
            _text(PAD + BOX_W - 8, y + 19, f"timer {left_ms:.0f} ms", font_size=10,
                  fill="#7d6608", text_anchor="end")
        )  # fmt: skip
    elif running and view.role == "leader":
        status = "leads"
        if view.transferring_to:
            status = f"transfer → {view.transferring_to}"
        elif view.membership_stage not in ("none", "stable"):
            status = view.membership_stage
        out.append(_text(PAD + BOX_W - 8, y + 19, status, font_size=10, fill=colour,
                         text_anchor="end", font_weight="bold"))  # fmt: skip
    vote = view.voted_for or "-"
    line = f"vote {vote} · commit {view.commit_index} · applied {view.last_applied}"
    if view.snapshot_index:
        line += f" · snapshot {view.snapshot_index}"
    out.append(_text(PAD + 16, y + 36, line, font_size=11, fill="#2c3e50"))
    conf, conf_colour = _configuration_text(view)
    if len(conf) > 44:
        conf = conf[:43] + "…"
    out.append(_text(PAD + 16, y + 50, conf, font_size=10, fill=conf_colour))
    out.append("</g>")
    return out


def _cell_x(index: int, first: int) -> float:
    return LOG_X + (index - first) * PITCH


def _entry(view: NodeView, entry: LogEntry, first: int, y: float) -> str:
    x = _cell_x(entry.index, first)
    committed = entry.index <= view.commit_index
    fill = term_colour(entry.term)
    kind = entry.kind.value
    classes = ["entry", "committed" if committed else "uncommitted"]
    if entry.kind is EntryKind.CONFIGURATION:
        classes.append("configuration")
    durable = entry.index <= view.durable_index
    if not durable:
        classes.append("not-durable")
    tooltip = f"{view.id} entry {entry.describe()}"
    tooltip += "; committed here" if committed else "; not known committed here"
    if not durable:
        tooltip += "; not yet on disk"
    stroke = (
        ' stroke="#34495e" stroke-width="1"'
        if committed
        else ' stroke="#5d6d7e" stroke-width="1" stroke-dasharray="3 2" fill-opacity="0.5"'
    )
    opacity = "" if view.running else ' opacity="0.55"'
    parts = [
        f'<g class="{" ".join(classes)}" data-node={quoteattr(view.id)} '
        f'data-index="{entry.index}" data-term="{entry.term}" data-kind="{kind}"{opacity}>'
        f"<title>{escape(tooltip)}</title>",
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{CELL_W}" height="{CELL_H}" rx="3" '
        f'fill="{fill}"{stroke}/>',
        _text(x + CELL_W / 2, y + 18, str(entry.term), font_size=12, font_weight="bold",
              fill="#1b2631" if committed else "#566573", text_anchor="middle"),
    ]  # fmt: skip
    if entry.kind is EntryKind.CONFIGURATION:
        joint = entry.configuration is not None and entry.configuration.is_joint
        parts.append(
            _text(x + CELL_W - 2, y + 8, "J" if joint else "C", font_size=7.5,
                  font_weight="bold", fill="#ba4a00" if joint else "#1b2631",
                  text_anchor="end")
        )  # fmt: skip
    elif entry.kind is EntryKind.NOOP:
        parts.append(_text(x + CELL_W - 2, y + 8, "·", font_size=9, fill="#1b2631",
                           text_anchor="end"))  # fmt: skip
    if not durable:
        parts.append(
            f'<rect x="{x:.1f}" y="{y + CELL_H + 2:.1f}" width="{CELL_W}" height="3" '
            f'fill="{NOT_DURABLE}"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def _log_row(
    cluster: Cluster, view: NodeView, first: int, last: int, y: float, replication: dict
) -> list[str]:
    out: list[str] = []
    cell_y = y + 8
    if view.snapshot_index >= first:
        span = view.snapshot_index - first + 1
        x = _cell_x(first, first)
        out.append(
            f'<g class="snapshot" data-node={quoteattr(view.id)} '
            f'data-index="{view.snapshot_index}"><title>{escape(view.id)}: indexes up to '
            f"{view.snapshot_index} are in its snapshot (compacted)</title>"
            f'<rect x="{x:.1f}" y="{cell_y:.1f}" width="{span * PITCH - (PITCH - CELL_W)}" '
            f'height="{CELL_H}" rx="3" fill="url(#raftsim-hatch)" stroke="#7f8c8d"/>'
            + _text(x + 4, cell_y + 18, f"snapshot ≤ {view.snapshot_index}" if span > 3
                    else "S", font_size=10, fill="#424949")
            + "</g>"
        )  # fmt: skip
    for entry in view.log:
        if entry.index >= first:
            out.append(_entry(view, entry, first, cell_y))
    progress = replication.get(view.id)
    if progress is not None:
        next_index = int(progress["next_index"])  # type: ignore[call-overload]
        if first <= next_index <= last + 1:
            x = _cell_x(next_index, first) + CELL_W / 2
            ty = cell_y + CELL_H + 7
            tip = (
                f"leader {cluster.leader}'s Replicator for {view.id}: next index {next_index}, "
                f"match index {progress['match_index']}, {progress['state']}, "
                f"{progress['inflight']} request(s) in flight"
            )
            out.append(
                f'<g class="next-index" data-node={quoteattr(view.id)} '
                f'data-index="{next_index}"><title>{escape(tip)}</title>'
                f'<path d="M{x:.1f},{ty:.1f} l-5,8 h10 z" fill="#1e8449"/></g>'
            )
    return out


def cluster_svg(
    cluster: Cluster,
    *,
    max_entries: int = 24,
    messages: int = 8,
    title: str | None = None,
) -> str:
    """The cluster now, as SVG text: one box per node beside its log.

    A box shows the node's role (coloured as in the terminal), term, vote,
    commit and applied indexes, its election timer and its configuration
    ("joint {old} + {new}" while joint); a crashed node is grey and dashed.
    A log cell shows the entry's term on that term's colour: solid when the
    node knows it committed, pale and dashed when not; "C" marks a
    configuration entry ("J" a joint one), an orange bar an entry not yet on
    disk, a hatched block the indexes a snapshot covers, and a green
    triangle the leader's next index for that follower. Only the last
    `max_entries` indexes are drawn. Below, up to `messages` messages on
    the wire (0: none).
    """
    views = list(cluster.nodes.values())
    first, last = _window(views, max_entries)
    leader = cluster.leader
    replication = cluster.nodes[leader].replication if leader else {}
    # Who the leader counts as a member (voter, old voter or learner) now.
    members = cluster.nodes[leader].members.members if leader else None
    flights = cluster.in_flight if messages else []
    shown = flights[:messages]
    rows_bottom = TOP + ROW_H * len(views)
    wire_h = (22 + 15 * len(shown) + (15 if len(flights) > len(shown) else 0)) if flights else 0
    legend_y = rows_bottom + wire_h + 10
    height = legend_y + 40
    longest_flight = max((len(f.text) for f in shown), default=0)
    width = max(
        LOG_X + PITCH * max(last - first + 1, 8) + PAD,
        PAD + 140 + 6.2 * longest_flight,
        780,
    )
    heading = title or (
        f"t = {cluster.now:.4f} s · "
        + (f"leader {leader} (term {cluster.nodes[leader].term})" if leader else "no leader")
        + f" · {len(cluster.trace)} events"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="raftsim-cluster" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
        '<defs><pattern id="raftsim-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e8e8"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#b3b6b7" stroke-width="2"/></pattern></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        _text(PAD, 22, heading, font_size=14, font_weight="bold", fill="#1b2631"),
    ]
    # The index header: every index when there is room, or every fifth.
    if last:
        out.append(
            _text(LOG_X - 6, TOP - 8, "index", font_size=9, fill="#7f8c8d", text_anchor="end")
        )
    if first > 1:
        out.append(_text(LOG_X - 6, TOP + 4, "…", font_size=12, fill="#7f8c8d",
                         text_anchor="end"))  # fmt: skip
    for index in range(first, last + 1):
        if index in (first, last) or index % 5 == 0 or last - first < 12:
            out.append(
                _text(_cell_x(index, first) + CELL_W / 2, TOP - 8, str(index), font_size=9,
                      fill="#7f8c8d", text_anchor="middle")
            )  # fmt: skip
    for i, view in enumerate(views):
        y = TOP + i * ROW_H
        out += _node_box(cluster, view, y, members)
        out += _log_row(cluster, view, first, last, y, replication)
    if flights:
        y = rows_bottom + 14
        out.append(
            _text(PAD, y, f"on the wire: {len(flights)} message(s)", font_size=11,
                  font_weight="bold", fill="#2c3e50")
        )  # fmt: skip
        now_us = round(cluster.now * 1_000_000)
        for flight in shown:
            y += 15
            family = family_of(flight.message.name)  # told by the message, trace or not
            colour = MESSAGE_COLOURS.get(family, OTHER_COLOUR)
            left = max(0, flight.lands_us - now_us) / 1000
            out.append(
                f'<g class="message" data-src={quoteattr(flight.message.src)} '
                f'data-dst={quoteattr(flight.message.dst)}>'
                + _text(PAD + 8, y, f"{flight.message.src} → {flight.message.dst}", font_size=10,
                        font_weight="bold", fill=colour)
                + _text(PAD + 70, y, f"lands in {left:.1f} ms", font_size=10, fill="#7f8c8d")
                + _text(PAD + 150, y, str(flight.message), font_size=10, fill=colour)
                + "</g>"
            )  # fmt: skip
        if len(flights) > len(shown):
            y += 15
            out.append(_text(PAD + 8, y, f"… and {len(flights) - len(shown)} more", font_size=10,
                             fill="#7f8c8d"))  # fmt: skip
    _legend(out, legend_y)
    out.append("</svg>")
    return "".join(out)


def _legend(out: list[str], y: float) -> None:
    rows = [
        [
            ("solid", "committed on that node"),
            ("pale", "not known committed there"),
            ("C", "configuration entry (J: joint)"),
        ],
        [
            ("bar", "not yet on disk"),
            ("hatch", "covered by a snapshot"),
            ("next", "the leader's next index for that follower"),
        ],
    ]
    out.append('<g class="legend" font-size="10" fill="#566573">')
    for row, items in enumerate(rows):
        x, ly = PAD, y + row * 18
        for kind, label in items:
            if kind in ("solid", "pale"):
                style = (
                    'stroke="#34495e"'
                    if kind == "solid"
                    else 'fill-opacity="0.5" stroke="#5d6d7e" stroke-dasharray="3 2"'
                )
                out.append(f'<rect x="{x}" y="{ly}" width="12" height="14" rx="2" '
                           f'fill="{term_colour(1)}" {style}/>')  # fmt: skip
            elif kind == "C":
                out.append(_text(x + 2, ly + 11, "C", font_size=10, font_weight="bold",
                                 fill="#1b2631"))  # fmt: skip
            elif kind == "bar":
                out.append(f'<rect x="{x}" y="{ly + 9}" width="12" height="3" '
                           f'fill="{NOT_DURABLE}"/>')  # fmt: skip
            elif kind == "hatch":
                out.append(f'<rect x="{x}" y="{ly}" width="12" height="14" rx="2" '
                           'fill="url(#raftsim-hatch)" stroke="#7f8c8d"/>')  # fmt: skip
            else:
                out.append(f'<path d="M{x + 6},{ly + 3} l-5,8 h10 z" fill="#1e8449"/>')
            out.append(_text(x + 16, ly + 11, label))
            x += 250
    out.append("</g>")
