"""Rich renderables for the terminal: trace lines, node states, logs coloured by term.

Views are pure functions of a cluster's current state; they never change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from raft import EntryKind
from sim.engine.trace import TraceEvent

if TYPE_CHECKING:
    from sim.cluster import Cluster

# One background colour per term, cycling; chosen to stay readable with black text.
TERM_COLOURS = [
    "#8ecae6",
    "#ffb703",
    "#90be6d",
    "#f4a261",
    "#cdb4db",
    "#e9c46a",
    "#84a59d",
    "#f28482",
    "#a2d2ff",
    "#bde0fe",
]

ROLE_STYLES = {
    "leader": "bold green",
    "candidate": "bold yellow",
    "follower": "cyan",
    "learner": "magenta",
}

COMPONENT_STYLES = {
    "Node": "cyan",
    "LogManager": "blue",
    "Replicator": "yellow",
    "BallotBox": "green",
    "StateMachine": "magenta",
    "Network": "grey50",
    "Disk": "grey50",
    "Cluster": "bold red",
    "Client": "bold",
    "Checker": "bold white on red",
}

# Event kinds that tell the story; the rest (wire traffic, timers, flushes) is detail.
STORY_KINDS = frozenset(
    {
        # elections and roles
        "start", "timeout", "vote", "pre-vote", "campaign", "leader", "term", "check-quorum",
        # the log
        "propose", "append", "reject", "truncate", "probe", "resend", "commit", "decline",
        "apply", "snapshot",
        # membership and leadership transfer
        "create", "membership", "transfer",
        # the world and the clients
        "crash", "restart", "partition", "heal", "cut", "settings", "submit", "read", "refused",
        "hold", "release", "deliver", "discard", "duplicate",
        "stale", "violation",
    }
)  # fmt: skip


def term_style(term: int) -> str:
    """Background style for entries of `term`."""
    return f"black on {TERM_COLOURS[(term - 1) % len(TERM_COLOURS)]}"


def trace_line(event: TraceEvent) -> Text:
    """One trace event as a coloured line: time, then the sentence."""
    line = Text()
    line.append(f"{event.time:8.4f}s  ", style="dim")
    line.append(event.text, style=COMPONENT_STYLES.get(event.component, ""))
    return line


def story(events: Iterable[TraceEvent], *, verbose: bool = False) -> list[Text]:
    """The lines worth reading (all of them when verbose)."""
    return [trace_line(e) for e in events if verbose or e.kind in STORY_KINDS]


def node_table(cluster: Cluster) -> Table:
    """One row per node: role, term, vote, commit/applied, log length, configuration."""
    table = Table(title=f"cluster at t = {cluster.now:.3f} s", title_justify="left")
    for column in ("node", "role", "term", "vote", "commit", "applied", "log"):
        table.add_column(column, justify="left" if column in ("node", "role") else "right")
    table.add_column("configuration", overflow="fold")
    for view in cluster.nodes.values():
        role = view.role if view.running else "down"
        table.add_row(
            view.id,
            Text(role, style=ROLE_STYLES.get(role, "dim")),
            str(view.term),
            view.voted_for or "-",
            str(view.commit_index),
            str(view.last_applied),
            str(len(view.log)),
            str(view.members),
        )
    return table


def is_story(event: TraceEvent) -> bool:
    """Whether an event is part of the story (not wire traffic, timers or flushes)."""
    return event.kind in STORY_KINDS


def log_grid(cluster: Cluster, *, width: int = 24) -> Group:
    """The logs side by side: one row per node, one cell per index, coloured by term.

    A cell shows the entry's term ("C" marks a configuration entry) on that
    term's colour; entries not (yet) known committed on that node are dim and
    underlined. Indexes covered by a node's snapshot show as a dim "S". Only
    the last `width` indexes are shown.
    """
    views = list(cluster.nodes.values())
    last = max((v.log[-1].index for v in views if v.log), default=0)
    last = max([last, *(v.snapshot_index for v in views)])
    first = max(1, last - width + 1)
    header = Text("index ", style="dim")
    for index in range(first, last + 1):
        header.append(f"{index:<4}" if index == first or index % 5 == 0 else "    ", style="dim")
    lines = [header]
    for view in views:
        name_style = ROLE_STYLES.get(view.role, "") if view.running else "dim strike"
        row = Text(f"{view.id:<6}", style=name_style)
        by_index = {entry.index: entry for entry in view.log}
        for index in range(first, (view.log[-1].index if view.log else view.snapshot_index) + 1):
            entry = by_index.get(index)
            if entry is None:
                row.append(" S " if index <= view.snapshot_index else "   ", style="dim")
                row.append(" ")
                continue
            label = f"{entry.term}{'C' if entry.kind is EntryKind.CONFIGURATION else ''}"
            style = term_style(entry.term)
            if entry.index > view.commit_index:
                style += " dim underline"
            row.append(f"{label:^3}", style=style)
            row.append(" ")
        lines.append(row)
    lines.append(
        Text(
            "cell = entry's term (C: configuration, S: in a snapshot); "
            "dim underlined = not committed there",
            style="dim italic",
        )
    )
    return Group(*lines)
