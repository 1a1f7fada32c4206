"""End to end: `raftsim watch` in a real terminal (tmux), driven with keys, read off the screen.

The promise: a newcomer runs `raftsim watch`, sees an election happen,
crashes the leader with two keys, sees the new leader, and `q` leaves the
terminal clean. Timeouts here are generous wall-clock limits for a real
terminal, not timing assertions.
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

ROOT = Path(__file__).resolve().parents[1]
LEADER = re.compile(r"leader (n\d+) term (\d+)")


def watch_command(*args: str) -> str:
    script = Path(sys.executable).with_name("raftsim")
    if script.exists():
        command = [str(script)]
    else:
        command = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]
    return shlex.join([*command, "watch", *args])


class Terminal:
    """A detached tmux session on a private server: send keys, read the screen."""

    def __init__(self, tmux: str, command: str, width: int = 100, height: int = 30) -> None:
        self.tmux = [tmux, "-L", f"raftsim-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"]
        self.env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        # The shell stays after raftsim exits, so its exit code and any traceback stay visible.
        shell = f"{command}; echo RAFTSIM-EXIT=$?; sleep 120"
        self._run("new-session", "-d", "-s", "watch", "-x", str(width), "-y", str(height), shell)

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
        for key in keys:
            self._run("send-keys", "-t", "watch", "-l", key)
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
