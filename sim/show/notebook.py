"""Pictures and a player for Jupyter: the cluster as SVG, the trace as sentences.

Theory of operation: like `sim.show.render` for the terminal, every renderer here
is a pure function of what a `Cluster` shows now (its node views, the
messages on the wire) or of a list of trace events; none changes anything.
`cluster_svg` draws one box per node (role, term, vote, commit, applied,
configuration) beside its log, one cell per entry coloured by term, in the
same palette as the terminal (`sim.show.render.TERM_COLOURS`). `trace_html` turns
events into coloured sentences, and `diagram` wraps `sim.show.diagram`'s message
sequence diagram for display.

`Story` replays a scenario file chapter by chapter (on `ScenarioPlayer`),
and `Player` is an ipywidgets control panel (Step, Back, Play/Pause, speed,
a slider over the trace) for a Cluster or a Story. Only `Player` needs
ipywidgets, and it imports them when it is built, so the renderers work
without Jupyter installed.

Every SVG element that stands for something carries a class and `data-`
attributes (`<g class="node" data-node="n1">`, `<g class="entry committed"
data-index="3" data-term="2">`), so tests and stylesheets can find them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from html import escape as _html_escape
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from raft import EntryKind
from sim.engine.trace import TraceEvent
from sim.show.diagram import COLOURS as MESSAGE_COLOURS
from sim.show.diagram import OTHER_COLOUR, sequence_diagram
from sim.show.render import STORY_KINDS, TERM_COLOURS

if TYPE_CHECKING:
    from raft import LogEntry
    from sim.cluster import Cluster
    from sim.scenario.player import ScenarioPlayer
    from sim.views import NodeView

__all__ = [
    "COMPONENT_COLOURS",
    "ROLE_COLOURS",
    "Player",
    "Story",
    "cluster_html",
    "cluster_svg",
    "diagram",
    "happens",
    "term_colour",
    "trace_html",
]

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

# The terminal's role styles (sim.show.render.ROLE_STYLES: green, yellow, cyan, magenta),
# as fills dark enough to carry white text; "down" is a crashed node.
ROLE_COLOURS = {
    "leader": "#1e8449",
    "candidate": "#b7950b",
    "pre-candidate": "#d4ac0d",
    "follower": "#1a7f9c",
    "learner": "#8e44ad",
    "down": "#922b21",
}

# The terminal's component styles (sim.show.render.COMPONENT_STYLES) as CSS.
COMPONENT_COLOURS = {
    "Node": "color:#117a8b",
    "LogManager": "color:#1f4e9c",
    "Replicator": "color:#9a7d0a",
    "BallotBox": "color:#1e8449",
    "StateMachine": "color:#8e44ad",
    "SnapshotExecutor": "color:#117864",
    "Network": "color:#808b96",
    "Disk": "color:#808b96",
    "Cluster": "color:#c0392b;font-weight:bold",
    "Client": "font-weight:bold",
    "Checker": "color:white;background:#c0392b",
}

PAD = 12
BOX_W = 292  # the node's box
ROW_H = 62  # one node
CELL_W, CELL_H, PITCH = 24, 28, 27  # one log entry
LOG_X = PAD + BOX_W + 18
TOP = 58  # title and the index header
NOT_DURABLE = "#e67e22"


class HTMLText(str):
    """A string of HTML that Jupyter displays as HTML (and tests read as a string)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<HTML, {len(self)} characters>"


def term_colour(term: int) -> str:
    """The fill for entries of `term` (the terminal's palette, cycling)."""
    return TERM_COLOURS[(term - 1) % len(TERM_COLOURS)]


def _role(view: NodeView) -> str:
    if not view.running:
        return "down"
    if view.role == "follower" and view.pre_voting:
        return "pre-candidate"
    return view.role


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
    role = _role(view)
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


def _message_family(text: str) -> str:
    name = text.split("(", 1)[0]
    for family in MESSAGE_COLOURS:
        if name.startswith(family) or (family == "RequestVote" and name.startswith("Vote")):
            return family
    return name


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
            family = _message_family(flight.text)
            colour = MESSAGE_COLOURS.get(family, OTHER_COLOUR)
            left = max(0, flight.lands_us - now_us) / 1000
            out.append(
                f'<g class="message" data-src={quoteattr(flight.message.src)} '
                f'data-dst={quoteattr(flight.message.dst)}>'
                + _text(PAD + 8, y, f"{flight.message.src} → {flight.message.dst}", font_size=10,
                        font_weight="bold", fill=colour)
                + _text(PAD + 70, y, f"lands in {left:.1f} ms", font_size=10, fill="#7f8c8d")
                + _text(PAD + 150, y, flight.text, font_size=10, fill=colour)
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


def _scrollable(svg: str) -> HTMLText:
    return HTMLText(f'<div style="overflow-x:auto;max-width:100%">{svg}</div>')


def cluster_html(cluster: Cluster, **options: object) -> HTMLText:
    """`cluster_svg` wrapped for a notebook (what `Cluster._repr_html_` shows)."""
    return _scrollable(cluster_svg(cluster, **options))  # type: ignore[arg-type]


def trace_html(
    events: Iterable[TraceEvent], *, story_only: bool = False, limit: int = 60
) -> HTMLText:
    """Trace events as sentences, one a line: time, then the text in its component's colour.

    With `story_only`, wire traffic, timers and disk flushes are left out (as
    `raftsim run` does without --verbose). At most `limit` lines are shown.
    """
    chosen = [e for e in events if not story_only or e.kind in STORY_KINDS]
    lines = []
    for event in chosen[:limit]:
        style = COMPONENT_COLOURS.get(event.component, "")
        if event.kind in ("send", "receive", "flush", "timer") and event.component != "Cluster":
            style += ";opacity:0.75"
        lines.append(
            f'<div class="event" data-kind="{_html_escape(event.kind)}">'
            f'<span style="color:#999">{event.time:8.4f}s</span>&#160; '
            f'<span style="{style}">{_html_escape(event.text)}</span></div>'
        )
    if not chosen:
        lines.append('<div style="color:#999"><i>no events</i></div>')
    elif len(chosen) > limit:
        lines.append(
            f'<div style="color:#999"><i>… and {len(chosen) - limit} more events</i></div>'
        )
    return HTMLText(
        '<div class="raftsim-trace" style="font-family:DejaVu Sans Mono,Menlo,Consolas,'
        'monospace;font-size:12px;line-height:1.5;white-space:pre-wrap">'
        + "".join(lines)
        + "</div>"
    )


def diagram(
    source: Cluster | Story | Sequence[TraceEvent],
    *,
    start: float | None = None,
    end: float | None = None,
    nodes: Sequence[str] | None = None,
    heartbeats: bool = True,
    title: str | None = None,
) -> HTMLText:
    """A message sequence diagram (sim.show.diagram) of `source` between `start` and `end` (s).

    `source` is a list of trace events, a Cluster (its whole trace) or a
    Story (the events of its last chapter).
    """
    if isinstance(source, Story):
        events: Sequence[TraceEvent] = source.last_events
    elif hasattr(source, "trace"):
        events = source.trace  # type: ignore[union-attr]
    else:
        events = source
    svg = sequence_diagram(
        events, nodes=nodes, start=start, end=end, title=title, heartbeats=heartbeats
    )
    return _scrollable(svg)


def happens(kind: str, node: str | None = None, text: str = "") -> Callable[[Cluster], bool]:
    """A condition for `Cluster.run_until`: an event of `kind` happens (from now on).

    `node` and `text` narrow it to one node's events, and to events whose
    sentence contains `text`: `c.run_until(happens("leader"))` steps until
    someone becomes leader, `happens("vote", "n2", "grants vote")` until n2
    grants a vote.
    """
    seen: list[int] = []

    def condition(cluster: Cluster) -> bool:
        trace = cluster.trace
        if not seen or seen[0] > len(trace):
            seen[:] = [len(trace)]  # the first look, or time travel went back
            return False
        new, seen[0] = trace[seen[0] :], len(trace)
        return any(
            e.kind == kind and (node is None or e.node == node) and text in e.text for e in new
        )

    return condition


class Story:
    """A scenario file replayed chapter by chapter, for a notebook.

    `Story("../scenarios/leader-election.scenario")` runs the story once,
    quietly (checking its expectations), and rewinds to its start. Each
    `next()` replays it up to its next stop (a `pause` step or the end of a
    chapter) and returns the story, which Jupyter shows as the chapter's
    title and narration, what happened, and the cluster. `cluster` is the
    live Cluster: step(), back() and goto() work on it as anywhere else.
    """

    def __init__(self, path: str | Path, *, story_only: bool = True, limit: int = 40) -> None:
        from sim.scenario import load, resolve
        from sim.scenario.player import ScenarioPlayer

        self.player: ScenarioPlayer = ScenarioPlayer(load(resolve(str(path))))
        if self.player.failure:
            raise ValueError(f"the story does not replay: {self.player.failure}")
        self.cluster: Cluster = self.player.cluster
        self.story_only = story_only
        self.limit = limit
        self.last_events: list[TraceEvent] = []

    @property
    def title(self) -> str:
        return self.player.scenario.title

    @property
    def chapter(self) -> str | None:
        mark = self.player.current_mark()
        return mark.chapter if mark else None

    @property
    def narration(self) -> str:
        mark = self.player.current_mark()
        return mark.narration if mark else ""

    @property
    def finished(self) -> bool:
        return self.player.finished

    def next(self) -> Story:
        """Replay up to the next stop; `last_events` holds what happened on the way."""
        start = len(self.cluster.trace)
        self.player.run_to_next_pause()
        self.last_events = list(self.cluster.trace[start:])
        return self

    def diagram(self, **options: object) -> HTMLText:
        """A message sequence diagram of the last chapter played (see `diagram`)."""
        return diagram(self, **options)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        return story_html(self)

    def __repr__(self) -> str:
        return f"<Story {self.title!r}, chapter {self.chapter!r}>"


def _paragraphs(text: str) -> str:
    return "".join(
        f'<p style="margin:0.3em 0">{_html_escape(p.replace(chr(10), " "))}</p>'
        for p in text.split("\n\n")
        if p.strip()
    )


def story_html(story: Story) -> str:
    """The story where it stands: chapter, narration, what happened, the cluster."""
    parts = []
    here = len(story.cluster.trace)
    if not story.last_events and here <= min((m.trace_index for m in story.player.marks),
                                              default=here):  # fmt: skip
        summary = story.player.scenario.summary
        parts.append(f"<h4 style='margin:0.2em 0'>{_html_escape(story.title)}</h4>")
        parts.append(_paragraphs(summary))
        parts.append(
            f"<p style='margin:0.3em 0;color:#566573'><b>First:</b> "
            f"{_html_escape(story.chapter or '')}</p>"
        )
    else:
        parts.append(f"<h4 style='margin:0.2em 0'>{_html_escape(story.chapter or '')}</h4>")
        parts.append(f"<div style='color:#1b4f72'>{_paragraphs(story.narration)}</div>")
        shown = [e for e in story.last_events if not story.story_only or e.kind in STORY_KINDS]
        parts.append(
            f"<details{' open' if len(shown) <= 25 else ''}>"
            f"<summary style='color:#566573'>what happened ({len(shown)} "
            f"{'story ' if story.story_only else ''}events of {len(story.last_events)})"
            "</summary>"
            + trace_html(story.last_events, story_only=story.story_only, limit=story.limit)
            + "</details>"
        )
    if story.finished:
        parts.append("<p style='margin:0.3em 0;color:#1e8449'><b>The end of the story.</b></p>")
    parts.append(cluster_html(story.cluster))
    return "".join(parts)


class Player:
    """An ipywidgets control panel over a Cluster, a Story or a ScenarioPlayer.

    Step takes one event (or, with "story event" chosen, steps until
    something worth reading happens), Back undoes one step, the slider goes
    to any event index (`Cluster.goto`), Play steps on its own at the chosen
    speed until paused (an asyncio task in the kernel's event loop), and for
    a story "Next stop" replays up to the next pause point, with the
    narration shown above the picture. The handlers are plain methods
    (`step`, `back`, `goto`, `next_stop`, `tick`), so tests can call them.
    """

    TICK = 0.1  # seconds between two frames while playing

    def __init__(self, source: Cluster | Story | ScenarioPlayer, *, speed: float = 20.0) -> None:
        import ipywidgets as w

        from sim.scenario.player import ScenarioPlayer

        if isinstance(source, Story):
            self.scenario: ScenarioPlayer | None = source.player
        elif isinstance(source, ScenarioPlayer):
            self.scenario = source
        else:
            self.scenario = None
        self.cluster: Cluster = self.scenario.cluster if self.scenario else source  # type: ignore
        self.last_events: list[TraceEvent] = []
        self._furthest = max(len(self.cluster.trace), self.scenario.end if self.scenario else 0)
        self._updating = False
        self._task: asyncio.Task | None = None
        layout = w.Layout(width="auto")
        self.back_button = w.Button(description="◀ Back", layout=layout)
        self.step_button = w.Button(description="Step ▶", layout=layout)
        self.stop_button = w.Button(description="Next stop ⏭", layout=layout)
        self.play_button = w.ToggleButton(description="Play", icon="play", value=False)
        self.unit = w.ToggleButtons(
            options=["event", "story event"], value="event", tooltips=[
                "one event per step", "step until something worth reading happens"
            ], style={"button_width": "90px"},
        )  # fmt: skip
        self.speed = w.FloatLogSlider(
            value=speed, base=10, min=0, max=3, step=0.1, description="steps/s",
            readout_format=".0f",
        )  # fmt: skip
        self.slider = w.IntSlider(
            value=len(self.cluster.trace), min=0, max=self._furthest, description="event",
            continuous_update=False, layout=w.Layout(width="95%"),
        )  # fmt: skip
        self.status = w.HTML()
        self.narration = w.HTML()
        self.picture = w.HTML()
        self.events = w.HTML()
        self.back_button.on_click(lambda _: self.back())
        self.step_button.on_click(lambda _: self.step())
        self.stop_button.on_click(lambda _: self.next_stop())
        self.play_button.observe(self._on_play, names="value")
        self.slider.observe(self._on_slider, names="value")
        buttons = [self.back_button, self.step_button, self.play_button, self.speed]
        if self.scenario:
            buttons.insert(2, self.stop_button)
        self.widget = w.VBox(
            [
                w.HBox(buttons),
                w.HBox([self.unit, self.status]),
                self.slider,
                self.narration,
                self.picture,
                self.events,
            ]
        )
        self.refresh()

    # -- the handlers ---------------------------------------------------------

    def step(self) -> list[TraceEvent]:
        """One step forward: one event, or up to the next story event."""
        events = self.cluster.step()
        if self.unit.value == "story event":
            for _ in range(10_000):
                if any(e.kind in STORY_KINDS for e in events):
                    break
                events += self.cluster.step()
        self.last_events = list(events)
        self.refresh()
        return self.last_events

    def back(self) -> list[TraceEvent]:
        """Undo the last step (nothing happens at the start)."""
        try:
            undone = self.cluster.back()
        except ValueError as error:
            self.status.value = f"<span style='color:#922b21'>{_html_escape(str(error))}</span>"
            return []
        self.last_events = self._events_of_last_step()
        self.refresh()
        return undone

    def goto(self, index: int) -> None:
        """Go to the moment the trace had `index` events."""
        before = len(self.cluster.trace)
        self.cluster.goto(index)
        here = len(self.cluster.trace)
        if before < here:
            self.last_events = list(self.cluster.trace[before:here])
        else:
            self.last_events = self._events_of_last_step()
        self.refresh()

    def next_stop(self) -> None:
        """For a story: replay up to its next pause point."""
        if self.scenario is None:
            return
        start = len(self.cluster.trace)
        self.scenario.run_to_next_pause()
        self.last_events = list(self.cluster.trace[start:])
        self.refresh()

    def tick(self) -> bool:
        """One frame of Play: as many steps as the speed asks for. False when done."""
        count = max(1, round(self.speed.value * self.TICK))
        events: list[TraceEvent] = []
        for _ in range(count):
            if self.scenario is not None and self.scenario.finished:
                break
            events += self.cluster.step()
        self.last_events = events
        self.refresh()
        return not (self.scenario is not None and self.scenario.finished)

    # -- internals --------------------------------------------------------------

    def _events_of_last_step(self) -> list[TraceEvent]:
        """The events of the moment the cluster is at (those of its last step, or more)."""
        trace = self.cluster.trace
        if not trace:
            return []
        last = trace[-1].time_us
        start = len(trace)
        while start > 0 and trace[start - 1].time_us == last:
            start -= 1
        return list(trace[start:])

    def _on_play(self, change: dict) -> None:
        self.play_button.description = "Pause" if change["new"] else "Play"
        self.play_button.icon = "pause" if change["new"] else "play"
        if change["new"] and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._play())

    async def _play(self) -> None:
        while self.play_button.value:
            if not self.tick():
                self.play_button.value = False
                break
            await asyncio.sleep(self.TICK)

    def _on_slider(self, change: dict) -> None:
        if not self._updating:
            self.goto(int(change["new"]))

    def refresh(self) -> None:
        """Redraw the picture, the events, the narration and the slider."""
        here = len(self.cluster.trace)
        self._furthest = max(self._furthest, here)
        self._updating = True
        try:
            self.slider.max = self._furthest
            self.slider.value = here
        finally:
            self._updating = False
        self.picture.value = cluster_html(self.cluster)
        self.events.value = trace_html(self.last_events, limit=30)
        leader = self.cluster.leader
        self.status.value = (
            f"<span style='color:#566573'>event {here}, t = {self.cluster.now:.4f} s, "
            f"leader {leader or 'none'}</span>"
        )
        if self.scenario is not None:
            mark = self.scenario.current_mark()
            if mark is not None:
                self.narration.value = (
                    f"<b>{_html_escape(mark.chapter or '')}</b>"
                    f"<div style='color:#1b4f72'>{_paragraphs(mark.narration)}</div>"
                    f"<div style='color:#7f8c8d;font-family:monospace'>step: "
                    f"{_html_escape(mark.source)}</div>"
                )

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/plain"] = "Player: open this notebook in Jupyter to use the buttons"
        data["text/html"] = (
            "<p style='color:#566573'><i>An interactive player: run the notebook in Jupyter "
            "to use its buttons. Where it stands now:</i></p>"
            + self.narration.value
            + self.picture.value
        )
        return bundle
