"""The live view's dashboard: one rich renderable built from a cluster and the viewer's state.

Theory of operation: `dashboard(cluster, state, width, height)` is a pure
function. It reads the cluster (nodes, network, trace) and a `ViewState`
(speed, paused, selected node, narration...) and returns a `Layout` whose
sections have fixed heights chosen for the terminal's size: the status bar,
one row per node, the logs side by side, the network, then the story.
Sections shrink in a fixed order when the terminal is small (fewer messages,
fewer story lines, then nodes whose logs read the same share a row of the log
grid), so that 80x24 still shows what matters, and grow (more of each, framed
panels) when it is big. Nothing here changes the cluster or keeps state
between frames.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs
from rich import box
from rich.console import Group, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from raft import EntryKind
from sim.engine.trace import TraceEvent
from sim.show import render
from sim.show.help_screen import HINT, help_panel

if TYPE_CHECKING:
    from sim.cluster import Cluster
    from sim.views import NodeView

# How far back the trace is searched for story lines and drops on each frame:
# bounds the cost of a frame in a long quiet run (heartbeats only).
SCAN_LIMIT = 20_000
BAR_WIDTH = 8
BLOCKS = " ▏▎▍▌▋▊▉█"
HEADER_STYLE = "on grey19"
WIDE = 100  # from this width on, the node table spells its column headers out


@attrs.frozen(kw_only=True)
class ViewState:
    """What the viewer sees besides the cluster: the live program's side of the picture."""

    speed: float = 0.1
    paused: bool = False
    selected: str | None = None
    show_help: bool = False
    message: str | None = None  # the answer to the last key pressed
    title: str | None = None  # the scenario's title, when watching one
    chapter: str | None = None
    narration: str = ""
    note: str | None = None  # why the view stopped ("end of chapter 1: space continues")
    why: str | None = None  # key w: Cluster.explain's answer, shown in place of the story


# -- small pieces -------------------------------------------------------------


def compact_ids(ids: Iterable[str]) -> str:
    """Node ids in few characters: n1,n2,n3,n5 -> n1-3,5 (other ids are listed)."""
    ids = list(ids)
    if not ids:
        return "-"
    numbers = [int(m[1]) for m in (re.fullmatch(r"n(\d+)", i) for i in ids) if m]
    if len(numbers) != len(ids):
        return ",".join(ids)
    numbers.sort()
    runs: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return "n" + ",".join(runs)


def configuration_text(view: NodeView) -> Text:
    """The configuration a node uses: voters, "old⇒new (joint)" while joint, learners.

    On a leader changing the membership, the stage follows in brackets, said
    once: while joint, "(joint)" is the stage too.
    """
    conf = view.members
    text = Text()
    if conf.is_joint:
        text.append(compact_ids(conf.old_voters or ()), style="yellow")
        text.append("⇒", style="bold yellow")
        text.append(compact_ids(conf.voters), style="yellow")
        text.append(" (joint)", style="bold yellow")
    else:
        text.append(compact_ids(conf.voters))
    if conf.learners:
        text.append(f" +learner {compact_ids(conf.learners)}", style="magenta")
    stage = view.membership_stage
    if view.role == "leader" and stage not in ("none", "") and not conf.is_joint:
        text.append(f" ({stage})", style="yellow")
    return text


def timer_bar(cluster: Cluster, view: NodeView) -> Text:
    """Time left before the node's election timer fires, against the timeout range."""
    if not view.running:
        return Text("crashed", style="bold red")
    deadline = view.election_deadline
    if deadline is None:
        return Text("♥ leading" if view.role == "leader" else "-", style="green")
    low_us, high_us = cluster.settings.raft.election_timeout
    left = max(0.0, deadline - cluster.now)
    eighths = round(min(1.0, left / (high_us / 1e6)) * BAR_WIDTH * 8)
    bar = "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
    # Red once less than the shortest timeout remains: it is among the next to fire.
    style = "green" if left * 1e6 >= low_us else ("yellow" if left * 1e6 >= low_us / 2 else "red")
    text = Text.assemble((f"{bar:<{BAR_WIDTH}}", style))
    text.append(f"{left * 1000:4.0f}ms", style="dim")
    return text


def role_text(view: NodeView) -> Text:
    if not view.running:
        return Text("down", style="bold red")
    role = view.role
    if view.id not in view.members.members and role != "leader":
        # A removed server, or a new one that has not yet heard its configuration.
        return Text("nonmember", style="magenta")
    if role == "follower" and view.pre_voting:
        return Text("pre-vote", style="yellow")
    text = Text.assemble((role, render.ROLE_STYLES.get(role, "")))
    if view.transferring_to:
        text.append(f"→{view.transferring_to}", style="yellow")
    return text


def _recent(trace: Sequence[TraceEvent], want: int, keep, since: float = -1.0) -> list[TraceEvent]:
    """The last `want` events for which keep(event) holds, oldest first, none before
    simulated time `since` (the trace is in time order: the scan stops there)."""
    found: list[TraceEvent] = []
    stop = max(0, len(trace) - SCAN_LIMIT)
    for i in range(len(trace) - 1, stop - 1, -1):
        if len(found) >= want:
            break
        event = trace[i]
        if event.time < since:
            break
        if keep(event):
            found.append(event)
    found.reverse()
    return found


def _header(text: Text, width: int) -> Text:
    """A section's first line, on a band of colour across the width."""
    text = _line(text)
    text.pad_right(max(0, width - text.cell_len))
    text.stylize_before(HEADER_STYLE)
    return text


def _line(text: Text | str, style: str = "") -> Text:
    line = text if isinstance(text, Text) else Text(text, style=style)
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line


# -- sections -------------------------------------------------------------------


def status_bar(cluster: Cluster, state: ViewState, width: int) -> Text:
    """One line: time, running or paused, speed, seed, leader, violations, selection."""
    leader = cluster.leader
    violations = len(cluster.violations)
    violation_part = (
        f"{violations} violation{'s' if violations != 1 else ''} ",
        "bold white on red" if violations else "dim",
    )
    parts: list[tuple[str, str]] = [
        (
            f" ‖ paused {state.speed:g}x " if state.paused else f" ▶ running {state.speed:g}x ",
            "bold black on yellow" if state.paused else "bold black on green",
        ),
        (f" t={cluster.now:.4f}s ", "bold"),
        (
            f"leader {leader} term {cluster.nodes[leader].term} " if leader else "no leader ",
            "bold green" if leader else "bold yellow",
        ),
        *([violation_part] if violations else []),
        (f"selected {state.selected} " if state.selected else "select: Tab/digits ", "cyan"),
        *([] if violations else [violation_part]),
        (f"seed {cluster.seed} ", "dim"),
    ]
    bar = Text(style="on grey15")
    for text, style in parts:
        if bar.cell_len + len(text) + 1 > width - 7:
            break
        bar.append(text, style=style)
        bar.append(" ")
    bar.append(" " * max(0, width - bar.cell_len - 7))
    bar.append(" ? help", style="bold")
    return _line(bar)


def hint_bar(state: ViewState, width: int) -> Text:
    """The bottom line: the answer to the last key, or the keys to try."""
    if state.message:
        return _line(Text("» " + state.message, style="bold"))
    return _line(Text(HINT, style="dim"))


def node_columns(width: int) -> list[str]:
    """The node table's column headers at this width (some are shortened when narrow)."""
    wide = width >= WIDE
    return [
        "node",
        "role",
        "term",
        "vote",
        *(["commit", "applied"] if wide else ["cmt/app"]),
        "election timer",
        "next",
        "match",
        "inflight" if wide else "fly",
        "configuration",
    ]


def column_legend(width: int) -> list[tuple[str, str]]:
    """What the node table's less obvious columns mean, under the headers shown at this width."""
    wide = width >= WIDE
    return [
        ("commit applied" if wide else "cmt/app", "commit index / last applied index"),
        ("election timer", "the bar empties as the node's election timeout nears"),
        (
            f"next match {'inflight' if wide else 'fly'}",
            "the leader's nextIndex, matchIndex, appends in flight",
        ),
        ("configuration", "the voters; old⇒new (joint) during a membership change"),
    ]


def node_table(cluster: Cluster, state: ViewState, width: int) -> Table:
    """One row per node, and the leader's replication state for each follower."""
    wide = width >= WIDE
    table = Table(
        box=None,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
        header_style="bold " + HEADER_STYLE,
        expand=True,
    )
    right = {"term", "commit", "applied", "cmt/app", "next", "match", "inflight", "fly"}
    for header in node_columns(width):
        table.add_column(
            header,
            justify="right" if header in right else "left",
            no_wrap=True,
            min_width={"role": 9, "election timer": BAR_WIDTH + 6}.get(header),
            **({"overflow": "ellipsis", "ratio": 1} if header == "configuration" else {}),
        )
    leader = cluster.leader
    replication = cluster.nodes[leader].replication if leader else {}
    for view in cluster.nodes.values():
        selected = view.id == state.selected
        progress = replication.get(view.id)
        if progress is None:
            follow = ["", "", ""]
        else:
            state_style = {"probe": "yellow", "snapshot": "magenta"}.get(str(progress["state"]), "")
            follow = [
                Text(str(progress["next_index"]), style=state_style),
                str(progress["match_index"]),
                str(progress["inflight"]),
            ]
        commit = (
            [str(view.commit_index), str(view.last_applied)]
            if wide
            else [f"{view.commit_index}/{view.last_applied}"]
        )
        table.add_row(
            Text(view.id, style="bold reverse cyan" if selected else "bold"),
            role_text(view),
            str(view.term),
            view.voted_for or "-",
            *commit,
            timer_bar(cluster, view),
            *follow,
            configuration_text(view),
            style=None if view.running else "dim",
        )
    return table


def log_lines(
    cluster: Cluster, state: ViewState, width: int, rows: int | None = None
) -> list[Text]:
    """The logs side by side, as render.log_grid draws them, sized to the width.

    A cell is an entry's term on that term's colour (C: a configuration
    entry); entries not known committed on that node are dim and underlined;
    S marks indexes inside the node's snapshot.

    Given `rows` (the header line included), nodes whose rows read the same
    share one, labelled with their ids; the leader and the selected node keep
    rows of their own. If that is still too many, the leader's, the selected
    node's and the most shared rows are shown, and a last line names the
    nodes left out.
    """
    views = list(cluster.nodes.values())
    last = max((v.log[-1].index for v in views if v.log), default=0)
    last = max([last, *(v.snapshot_index for v in views)])
    name_width = 6

    def first_index() -> int:
        return max(1, last - max(4, (width - name_width) // 4) + 1)

    # Rows alike from this index on are alike from any later one: group them
    # on the widest window, then narrow it for the labels.
    first = first_index()
    groups: dict[object, list[NodeView]] = {}
    for view in views:
        row = _log_cells(view, first)
        alone = view.id in (cluster.leader, state.selected) or rows is None
        key = view.id if alone else (row.plain, tuple(row.spans), view.running, view.role)
        groups.setdefault(key, []).append(view)
    shown = list(groups.values())
    hidden: list[str] = []
    if rows is not None and len(shown) > rows - 1:
        keep = max(0, rows - 2)  # one line says who is left out
        ranked = sorted(
            shown,
            key=lambda g: (not any(v.id in (cluster.leader, state.selected) for v in g), -len(g)),
        )[:keep]
        hidden = [v.id for g in shown if g not in ranked for v in g]
        shown = [g for g in shown if g in ranked]
    labels = [compact_ids(v.id for v in group) for group in shown]
    name_width = max([name_width, *(min(14, len(label) + 1) for label in labels)])
    first = first_index()
    header = Text.assemble(("log".ljust(name_width), "bold"))
    for index in range(first, last + 1):
        label = str(index) if index == first or index % 5 == 0 else ""
        header.append(f"{label:<4}", style="dim")
    if last == 0:
        header.append("(empty: no entries yet)", style="dim")
    lines = [_header(header, width)]
    for group, label in zip(shown, labels, strict=True):
        if len(label) >= name_width:
            label = label[: name_width - 2] + "…"
        line = Text.assemble((label, _log_name_style(group[0], state)))
        line.append(" " * (name_width - len(label)))
        lines.append(_line(line + _log_cells(group[0], first)))
    if hidden:
        lines.append(_line(Text(f"… {compact_ids(hidden)} not shown (no room)", style="dim")))
    return lines


def _log_name_style(view: NodeView, state: ViewState) -> str:
    if not view.running:
        return "dim strike"
    if view.id == state.selected:
        return "bold reverse cyan"
    return render.ROLE_STYLES.get(view.role, "")


def _log_cells(view: NodeView, first: int) -> Text:
    """One node's log from index `first` on, one cell per entry."""
    row = Text()
    by_index = {entry.index: entry for entry in view.log}
    end = view.log[-1].index if view.log else view.snapshot_index
    for index in range(first, end + 1):
        entry = by_index.get(index)
        if entry is None:
            row.append(" S " if index <= view.snapshot_index else "   ", style="dim")
            row.append(" ")
            continue
        label = str(entry.term)
        if entry.kind is EntryKind.CONFIGURATION:
            label = label + "C" if len(label) < 3 else "C"
        style = render.term_style(entry.term)
        if entry.index > view.commit_index:
            style += " dim underline"
        row.append(f"{label:^3}", style=style)
        row.append(" ")
    return row


def network_summary(cluster: Cluster, *, label: bool = True) -> Text:
    """Partitions, cuts and the number of messages in flight, on one line."""
    line = Text.assemble(("network " if label else "", "bold"))
    groups = cluster.partitions
    if groups:
        line.append("partitioned ", style="bold red")
        line.append(" | ".join("{" + compact_ids(g) + "}" for g in groups), style="red")
    if cluster.cuts:
        line.append("  cut " if groups else "cut ", style="bold red")
        line.append(", ".join(f"{a}→{b}" for a, b in cluster.cuts), style="red")
    if not groups and not cluster.cuts:
        line.append("all links up", style="green")
    line.append(f"  ·  {len(cluster.in_flight)} in flight", style="dim")
    return line


def flight_line(cluster: Cluster, flight, width: int) -> Text:
    """A message on the wire: its type, a dot moving from sender to receiver, landing time."""
    msg = flight.message
    now_us = round(cluster.now * 1_000_000)
    span = max(1, flight.lands_us - flight.sent_us)
    track = 10
    pos = min(track - 1, max(0, (now_us - flight.sent_us) * track // span))
    line = Text.assemble((f"{msg.name:<22}", _message_style(msg.name)))
    line.append(f"{msg.src:>3} ")
    line.append("─" * pos, style="dim")
    line.append("●", style=_message_style(msg.name))
    line.append("─" * (track - 1 - pos) + "▶ ", style="dim")
    line.append(f"{msg.dst:<4}")
    line.append(f" lands {flight.lands_us / 1e6:.4f}s", style="dim")
    detail = flight.text[flight.text.find("(") :] if "(" in flight.text else ""
    if width >= 90 and detail:
        line.append(f"  {detail}", style="dim")
    return _line(line)


def _message_style(name: str) -> str:
    if "Vote" in name:
        return "yellow"
    if name.startswith("Heartbeat"):
        return "grey62"
    if "Snapshot" in name or name == "TimeoutNow":
        return "magenta"
    return "cyan"


def drop_line(event: TraceEvent) -> Text:
    line = Text.assemble((f"{event.time:8.4f}s  ", "dim"))
    line.append("✗ " + event.text, style="red")
    return _line(line)


def why_lines(why: str, width: int, rows: int) -> list[Text]:
    """Key w's explanation, wrapped to the width (list items hang), at most `rows` lines."""
    lines: list[Text] = []
    for n, sentence in enumerate(why.splitlines()):
        indent = "  " if sentence.startswith("- ") else ""
        for piece in textwrap.wrap(sentence, max(20, width), subsequent_indent=indent):
            lines.append(_line(Text(piece, style="bold" if n == 0 else "")))
    if len(lines) <= rows:
        return lines
    more = _line(Text("… more: a taller terminal, or Cluster.explain in Python", "dim"))
    return [*lines[: rows - 1], more] if rows > 0 else []


def narration_lines(state: ViewState, width: int) -> list[Text]:
    """The scenario's chapter, narration and why the view stopped, wrapped to the width."""
    lines: list[Text] = []
    if state.note:
        mark = "‖ " if state.paused else "• "
        lines.append(_line(Text(mark + state.note, style="bold yellow")))
    if state.chapter:
        lines.append(_line(Text(state.chapter, style="bold")))
    # Scenario files wrap narration by hand; rewrap it to this width.
    for piece in textwrap.wrap(" ".join(state.narration.split()), max(20, width - 2)):
        lines.append(_line(Text("  " + piece, style="italic cyan")))
    return lines


# -- the whole screen -------------------------------------------------------------


def _section(body: RenderableType, title: str | None, framed: bool) -> RenderableType:
    if not framed:
        return body
    return Panel(body, title=title, title_align="left", box=box.ROUNDED, padding=(0, 1))


def dashboard(cluster: Cluster, state: ViewState, width: int = 80, height: int = 24) -> Layout:
    """The full screen for a `width` x `height` terminal."""
    width, height = max(40, width), max(12, height)
    nodes = len(cluster.nodes)
    flights = sorted(cluster.in_flight, key=lambda f: (f.lands_us, f.msg_id))
    # Drops seen in the last few real seconds (at the current speed).
    since = cluster.now - max(0.3, 5 * state.speed)
    drops = _recent(cluster.trace, 3, lambda e: e.kind == "drop", since)

    # Height budget: status + hint lines, then sections in order of importance.
    fixed = 2
    table_h = nodes + 1
    log_h = nodes + 1
    compact_logs = height - fixed - table_h - log_h < 5
    if compact_logs:
        # Too short for a log row per node: nodes whose logs read the same share
        # a row, in what is left after five lines for the network and the story.
        log_body = log_lines(cluster, state, width, max(2, height - fixed - table_h - 5))
        log_h = len(log_body)
    narration = narration_lines(state, width - 4)
    rest = height - fixed - table_h - log_h
    # Frames cost two lines per section: only when there is room to spare.
    framed = not compact_logs and rest >= 8 + 12 and width >= 60
    inner = width - 4 if framed else width
    if framed:
        rest -= 8
    if not compact_logs:
        log_body = log_lines(cluster, state, inner)
    # An explanation (key w) takes the story's place, and room from the messages.
    flight_rows = min(len(flights), 1 if state.why else max(1, rest // 3), 12)
    drop_rows = min(len(drops), 0 if state.why else 1 if rest < 14 else 3)
    network_h = 1 + flight_rows + drop_rows
    story_h = max(0, rest - network_h)
    story_rows = max(0, story_h - (0 if framed else 1) - len(narration))

    # Network.
    network_body: list[Text] = [_header(network_summary(cluster, label=not framed), inner)]
    shown = flights[:flight_rows]
    for flight in shown:
        network_body.append(flight_line(cluster, flight, inner))
    if len(flights) > len(shown) and shown:
        more = f"  (+{len(flights) - len(shown)} more)"
        network_body[-1] = _line(network_body[-1][: max(0, inner - len(more))] + Text(more, "dim"))
    for event in drops[len(drops) - drop_rows :] if drop_rows else []:
        network_body.append(drop_line(event))

    # Story: narration, then the last events worth reading.
    # Paused, the viewer steps event by event: show every event, not only the story.
    every = state.paused and state.note is None
    keep = (lambda e: True) if every else render.is_story
    events = _recent(cluster.trace, story_rows, keep) if story_rows else []
    story_body: list[Text] = list(narration)
    header = Text.assemble(("story" + (f": {state.title} " if state.title else " "), "bold"))
    header.append(
        "(paused: every event; n/b step)" if every else "(the events that matter)", style="dim"
    )
    if not framed:
        story_body.insert(0, _header(header, inner))
    story_body.extend(_line(line) for line in render.story(events, verbose=True))
    if not events and story_rows:
        story_body.append(_line(Text("  nothing yet", style="dim")))
    if state.why:
        header = Text.assemble(("why ", "bold"), ("(w again closes)", "dim"))
        story_body = why_lines(state.why, inner, story_h - (0 if framed else 1))
        if not framed:
            story_body.insert(0, _header(header, inner))

    layout = Layout()
    parts = [Layout(status_bar(cluster, state, width), size=1)]
    if state.show_help:
        body = help_panel(column_legend(inner))
        parts.append(
            Layout(
                Panel(body, title="keys", title_align="left", border_style="cyan", box=box.ROUNDED)
            )
        )
    else:
        table = node_table(cluster, state, inner)
        parts.append(Layout(_section(table, "nodes", framed), size=table_h + 2 * framed))
        parts.append(Layout(_section(Group(*log_body), "logs", framed), size=log_h + 2 * framed))
        parts.append(
            Layout(
                _section(Group(*network_body), "network", framed),
                size=network_h + 2 * framed,
            )
        )
        title = f"story: {state.title}" if state.title else "story"
        if every:
            title += " (paused: every event)"
        if state.why:
            title = "why (w again closes)"
        parts.append(Layout(_section(Group(*story_body), title, framed)))
    parts.append(Layout(hint_bar(state, width), size=1))
    layout.split_column(*parts)
    return layout
