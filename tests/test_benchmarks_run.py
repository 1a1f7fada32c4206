"""Each benchmark still runs with one command, at a tiny size.

Nothing here is timed: the scripts print their figures, and these tests only
check that they finish, exit 0 and print the tables they promise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

RUNS = {
    "throughput.py": (["--seconds", "0.05", "--no-sweep"], "aims (DESIGN.md, Performance)"),
    "scale.py": (["--nodes", "3", "--commands", "20"], "elect, then commit"),
    "fuzz_rate.py": (["--seeds", "2", "--duration", "1", "--jobs", "2"], "seeds per minute"),
    "bug_hunt.py": (
        ["--seeds", "2", "--duration", "1", "--bug", "double_vote", "--clean"],
        "seeds to first damage",
    ),
    "linearizability.py": (["--ops", "200", "--repeat", "1"], "history checked in under 1 s"),
    "views.py": (["--nodes", "3", "--repeats", "1"], "one frame"),
    "time_travel.py": (
        ["--seconds", "0.05", "--repeats", "1", "--watch-seconds", "1", "--moments", "2"],
        "goto(middle)",
    ),
    "long_run.py": (
        ["--entries", "2000", "--snapshot-interval", "500", "--samples", "2"],
        "entries, snapshot every",
    ),
}


@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_runs_with_one_command(script: str) -> None:
    args, promised = RUNS[script]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert promised in done.stdout, done.stdout[-2000:]
    assert "empty" in done.stdout  # each prints the empty-loop floor of its own run
