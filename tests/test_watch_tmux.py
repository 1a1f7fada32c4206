"""End to end: `raftsim watch` in a real terminal (tmux), driven with keys, read off the screen.

The promise: a newcomer runs `raftsim watch`, sees an election happen,
crashes the leader with two keys, sees the new leader, and `q` leaves the
terminal clean. With ten servers on a small terminal, every server can be
selected, the logs stay on screen, the help names the columns shown, and
Ctrl-C leaves as cleanly as `q` (exit 130). Timeouts here are generous
wall-clock limits for a real terminal, not timing assertions.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEADER = re.compile(r"leader (n\d+) term (\d+)")


def watch_command(*args: str) -> str:
    # Run from the checkout (the shell starts in ROOT): an installed `raftsim`
    # script may belong to another copy of the project.
    command = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]
    return shlex.join([*command, "watch", *args])


class Terminal:
    """A detached tmux session on a private server: send keys, read the screen."""

    def __init__(self, tmux: str, command: str, width: int = 100, height: int = 30) -> None:
        self.tmux = [tmux, "-L", f"raftsim-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"]
        self.env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        # The shell stays after raftsim exits, so its exit code and any traceback stay visible.
        shell = f"{command}; echo RAFTSIM-EXIT=$?; sleep 120"
        self._run(
            "new-session", "-d", "-s", "watch", "-c", str(ROOT),
            "-x", str(width), "-y", str(height), shell,
        )  # fmt: skip

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [*self.tmux, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return result.stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "watch")

    def keys(self, *keys: str) -> None:
        """Type these strings (each sent at once, so "10" arrives as one quick burst)."""
        for key in keys:
            self._run("send-keys", "-t", "watch", "-l", key)
            time.sleep(0.1)

    def press(self, *names: str) -> None:
        """Press keys by tmux's names for them: BTab (Shift-Tab), C-c..."""
        for name in names:
            self._run("send-keys", "-t", "watch", name)
            time.sleep(0.1)

    def wait_for(self, what: str, found: Callable[[str], object], timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            result = found(screen)
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"waited {timeout:g}s for {what}; the screen shows:\n{screen}")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], env=self.env, capture_output=True, timeout=10)


def test_watch_shows_an_election_a_crash_a_new_leader_and_quits_cleanly():
    tmux = shutil.which("tmux")
    assert tmux, "tmux is not installed: this test needs it (.ci/run installs it with apt-get)"
    term = Terminal(tmux, watch_command("--nodes", "5", "--seed", "7"))
    try:
        first = term.wait_for("a leader", LEADER.search)
        leader, term_number = first[1], int(first[2])
        term.keys(leader[1:], "c")  # select the leader by its number, crash it
        term.wait_for(
            f"{leader} shown as crashed",
            lambda s: re.search(rf"(?m)^\W*{leader}\s+down\b", s) and f"{leader} crashed" in s,
        )
        second = term.wait_for(
            "a new leader",
            lambda s: (m := LEADER.search(s)) and m[1] != leader and m,
            timeout=20.0,
        )
        assert int(second[2]) > term_number
        term.keys("q")
        screen = term.wait_for("raftsim to exit", lambda s: "RAFTSIM-EXIT=" in s and s)
        assert "RAFTSIM-EXIT=0" in screen
        assert "Traceback" not in screen
        assert "leader" not in screen, "the dashboard should be gone (alternate screen left)"
    finally:
        term.close()


TEN_SERVERS = """\
title: Ten servers
summary: A ten-server cluster elects a leader and commits one command.

cluster nodes=10 seed=7
run until leader exists timeout=2s
submit w1 "set x 1"
run until committed w1
run 100ms
"""


def complete_log_rows(screen: str) -> list[str] | None:
    """The log grid's rows once every one holds the configuration entry and the command."""
    rows = log_rows(screen)
    return rows if rows and all(row.split()[1:] == ["1C", "1"] for row in rows) else None


def ids_in(label: str) -> set[str]:
    """The node ids in a log row's label: n1-2,4 -> {n1, n2, n4}."""
    ids: set[str] = set()
    for run in label.removeprefix("n").split(","):
        low, _, high = run.partition("-")
        ids.update(f"n{i}" for i in range(int(low), int(high or low) + 1))
    return ids


def log_rows(screen: str) -> list[str] | None:
    """The log grid's rows as shown, or None while it is not on screen."""
    rows = [line.strip("│ ") for line in screen.splitlines()]
    start = next((i for i, row in enumerate(rows) if re.match(r"log +1\b", row)), None)
    if start is None:
        return None
    end = next(i for i, row in enumerate(rows) if row.startswith(("network", "╭─ network")))
    return [row for row in rows[start + 1 : end] if row and "─" not in row] or None


@pytest.mark.parametrize(
    ("size", "flight_column"), [((80, 24), "fly"), ((120, 40), "inflight")], ids=str
)
def test_ten_servers_can_each_be_selected_the_logs_stay_and_ctrl_c_exits_130(
    tmp_path, size, flight_column
):
    tmux = shutil.which("tmux")
    assert tmux, "tmux is not installed: this test needs it (.ci/run installs it with apt-get)"
    story = tmp_path / "ten.scenario"
    story.write_text(TEN_SERVERS)
    term = Terminal(tmux, watch_command(str(story)), *size)
    try:
        # The story ends paused, its one command on every server.
        rows = term.wait_for("every log holding the command", complete_log_rows)
        servers = {f"n{i}" for i in range(1, 11)}
        assert set().union(*(ids_in(row.split()[0]) for row in rows)) == servers, rows
        assert any(row.startswith("n10 ") for row in term.screen().splitlines())  # node table

        term.keys("10")  # two digits in quick succession: n10
        term.wait_for("n10 selected", lambda s: "selected n10" in s)
        term.press("Tab")  # after the last server comes the first
        term.wait_for("n1 selected by Tab", lambda s: re.search(r"selected n1\b", s))
        term.press("BTab")
        term.wait_for("n10 selected by Shift-Tab", lambda s: "selected n10" in s)

        term.keys("?")
        help_screen = term.wait_for("the help", lambda s: "Node table columns:" in s and s)
        assert f"next match {flight_column} " in help_screen
        term.keys("?")
        term.wait_for("the help closed", lambda s: "Node table columns:" not in s and log_rows(s))

        term.keys("b")
        term.wait_for("one event undone", lambda s: "undone:" in s)

        term.press("C-c")
        screen = term.wait_for("raftsim to exit", lambda s: "RAFTSIM-EXIT=" in s and s)
        # Nothing but the exit code is left: no traceback, the dashboard gone.
        lines = [line for line in screen.splitlines() if line.strip()]
        assert lines == ["raftsim: interrupted", "RAFTSIM-EXIT=130"]
    finally:
        term.close()
