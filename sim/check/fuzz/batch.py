"""A batch of seeds as a remote worker runs it, and what made each result.

A campaign on other machines (sim.check.fuzz.distributed) can trust what
comes back only as far as it can check it. So every result travels with the
raftsim that produced it (`Provenance`: version, git commit, a fingerprint of
the source), and its result with the digest of where the run ended
(sim.check.fuzz.digest; the worker keeps no trace): a failing seed re-run
here, with the full trace, must give the same result and the same digest,
or the campaign was not deterministic and says so.

Nothing here imports Dask: the worker's side of a campaign is plain Python,
`run_batch(seeds, settings)`, and works (and is tested) without it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

import attrs

from sim.check.fuzz.campaign import run_seed
from sim.check.fuzz.run import Result
from sim.check.fuzz.schedule import FuzzSettings

UNKNOWN = "unknown"
# The packages whose source decides what a seed does.
PACKAGES = ("raft", "sim")
_ROOT = Path(__file__).resolve().parents[3]  # the folder holding raft/ and sim/


@attrs.frozen(kw_only=True)
class Provenance:
    """Which raftsim produced a result, and where.

    `code` is a hash of the raft and sim sources as they are on disk, so two
    checkouts of one commit with different uncommitted edits differ in it:
    it, not the commit, decides whether two processes run the same simulator.
    """

    version: str
    commit: str  # `git rev-parse HEAD`, "-dirty" added for uncommitted edits; or UNKNOWN
    code: str
    python: str  # major.minor.micro
    host: str  # hostname:pid of the process

    def describe(self) -> str:
        """'raftsim 0.1.0, commit 1a2b3c4d5e6f' (the commit shortened)."""
        head, dirty, _ = self.commit.partition("-dirty")
        return f"raftsim {self.version}, commit {head[:12]}{dirty}"

    def differences(self, other: Provenance) -> list[str]:
        """What differs between two processes, in words ('code' first: it matters most)."""
        said = []
        if self.code != other.code:
            said.append("code")
        said += [
            name
            for name in ("version", "commit", "python")
            if getattr(self, name) != getattr(other, name)
        ]
        return said


@attrs.frozen(kw_only=True)
class Record:
    """One seed's result as a worker sent it (its digest in it), and its maker."""

    result: Result
    made_by: Provenance


@functools.cache
def made_by() -> Provenance:
    """This process's raftsim (computed once: it runs git)."""
    return Provenance(
        version=_version(),
        commit=_commit(),
        code=_code_fingerprint(),
        python=platform.python_version(),
        host=f"{socket.gethostname()}:{os.getpid()}",
    )


def run_batch(seeds: Sequence[int], settings: FuzzSettings) -> tuple[Record, ...]:
    """The worker's task: run each seed without the trace, keep its result and its maker.

    Only the small records travel back.
    """
    maker = made_by()
    return tuple(Record(result=run_seed(seed, settings).result, made_by=maker) for seed in seeds)


def _version() -> str:
    try:
        return importlib.metadata.version("raftsim")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit() -> str:
    """The commit of the checkout this code runs from; else the one pip recorded."""
    if (_ROOT / ".git").exists() and (_ROOT / "pyproject.toml").exists():
        head = _git("rev-parse", "HEAD")
        if head:
            edited = _git("status", "--porcelain", "--untracked-files=no", "--", *PACKAGES)
            return head + ("-dirty" if edited else "")
    # Installed from a repository (`pip install git+...`): pip wrote down the commit.
    try:
        found = importlib.metadata.distribution("raftsim").read_text("direct_url.json")
        commit = json.loads(found or "{}").get("vcs_info", {}).get("commit_id")
    except (importlib.metadata.PackageNotFoundError, ValueError, AttributeError):
        commit = None
    return commit or UNKNOWN


def _code_fingerprint() -> str:
    digest = hashlib.blake2b(digest_size=16)
    for package in PACKAGES:
        for path in sorted((_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(_ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
