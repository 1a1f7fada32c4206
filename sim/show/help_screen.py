"""The help screen of `raftsim watch` (key ?): the keys, the columns, a few notes.

The node table's headers change with the width, so the dashboard hands in the
legend for the headers it shows (dashboard.column_legend).
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

KEYS = [
    ("space", "pause / resume"),
    ("n", "one event forward"),
    ("b", "one event back"),
    ("+ / -", "faster / slower"),
    ("digits", "select node (1 0: n10)"),
    ("Tab/S-Tab", "select next / previous"),
    ("c", "crash / restart selected"),
    ("i", "isolate selected"),
    ("h", "heal the network"),
    ("t", "time out selected now"),
    ("r", "client request to leader"),
    ("l", "make selected the leader"),
    ("a / d", "add member / remove selected"),
    ("w", "why? explain selected/leader"),
    ("?", "help (any key closes it)"),
    ("q", "quit"),
]
HINT = (
    "space pause  n/b step  +/- speed  Tab/digits select  c crash  r request  w why  ? help  q quit"
)


def help_panel(legend: list[tuple[str, str]]) -> Group:
    """The keys, what the node table's columns mean (`legend`: the headers shown and
    their meaning), and notes."""
    keys = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    keys.add_column(style="bold cyan", no_wrap=True)
    keys.add_column()
    keys.add_column(style="bold cyan", no_wrap=True)
    keys.add_column()
    half = (len(KEYS) + 1) // 2
    right_column = [*KEYS[half:], ("", "")][:half]
    for left, right in zip(KEYS[:half], right_column, strict=True):
        keys.add_row(*left, *right)
    columns = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    columns.add_column(style="bold", no_wrap=True)
    columns.add_column(style="dim")
    for names, meaning in legend:
        columns.add_row(names, meaning)
    return Group(
        keys,
        Text("\nNode table columns:", style="dim"),
        columns,
        *[Text("\n" + n, style="dim") for n in HELP_NOTES],
    )


HELP_NOTES = [
    "Logs: one cell per entry showing its term, on the term's colour (C: a configuration "
    "entry); dim and underlined: not known committed on that node.",
    "Paused, the story shows every event. After going back, doing something new forks "
    "history (a scenario's recorded future is dropped).",
]


__all__ = ["HELP_NOTES", "HINT", "KEYS", "help_panel"]
