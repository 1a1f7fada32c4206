"""Each benchmark still runs with one command, at a tiny size.

Nothing here is timed: the scripts print their figures, and these tests only
check that they finish, exit 0 and print the tables they promise.
"""

from __future__ import annotations

import os
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
    "explore.py": (["--nodes", "3", "--depth", "3"], "distinct states by depth"),
    "time_travel.py": (
        ["--seconds", "0.05", "--repeats", "1", "--watch-seconds", "1", "--moments", "2"],
        "goto(middle)",
    ),
    # HEAD is in every clone, shallow ones too: the older revision the README
    # compares with may not be. The working tree is "after".
    "compare.py": (
        ["--before", "HEAD", "--seconds", "0.05", "--repeats", "1", "--fuzz", "--fuzz-seeds", "1"]
        + ["--fuzz-duration", "0.5"],
        "after / before",
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


def compare(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / "compare.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_compare_with_a_revision_git_does_not_have_is_one_line_and_exit_2() -> None:
    done = compare("--before", "no-such-revision", "--seconds", "0.05", "--repeats", "1")
    assert done.returncode == 2
    # One line; in a shallow clone it says the clone is shallow instead.
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("compare.py: ") and "no-such-revision" in done.stderr
    assert done.stdout == ""


def test_compare_without_git_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = compare("--before", "HEAD", PATH=str(tmp_path))  # an empty directory: no git on it
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "compare.py: git is not installed, so no revision can be checked out"
    )


def test_compare_fuzz_runs_the_after_code_also_with_the_first_rounds_checks_only() -> None:
    done = compare(
        "--before",
        "HEAD",
        "--seconds",
        "0.05",
        "--repeats",
        "1",
        "--fuzz",
        "--fuzz-seeds",
        "2",
        "--fuzz-duration",
        "0.5",
        COLUMNS="200",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    fuzz = lines[next(i for i, line in enumerate(lines) if line.startswith("fuzz: ")) :]
    rows = [line for line in fuzz if line.startswith("│")]
    labels = [row.split("│")[1].strip() for row in rows]
    # Each row says what it checked: HEAD and the working tree ship the same checkers.
    assert labels[0].startswith("before (") and "clients, linearizability" in labels[0]
    assert labels[1] == labels[0].replace("before", "after", 1)
    assert labels[2] == "after, first round's checks (13 checkers, no clients)"
    assert labels[3:] == ["after / before", "after, first round's checks / before"]
    assert "seeds per CPU minute" in done.stdout
    assert "after gave the same verdicts as before, seed for seed" in done.stdout


def test_compare_in_a_shallow_clone_is_one_line_and_exit_2(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", BENCHMARKS.parent.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    # This checkout's compare.py, in a clone that has only its newest commit.
    script = clone / "benchmarks" / "compare.py"
    script.write_text((BENCHMARKS / "compare.py").read_text())
    done = subprocess.run(
        [sys.executable, str(script), "--before", "HEAD~1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "compare.py: revision HEAD~1 is not in this clone, which is shallow "
        "(git fetch --unshallow brings the history)\n"
    )
    assert done.stdout == ""
