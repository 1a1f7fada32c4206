"""The scenario library: the `scenarios/` directory and what is in it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import attrs

from sim.scenario.model import ScenarioError
from sim.scenario.parser import load

SUFFIX = ".scenario"


@attrs.frozen
class Entry:
    """One file of the library, with its title and summary (or why it cannot be read)."""

    path: Path
    title: str
    summary: str
    error: str | None = None


def library_dir(directory: str | Path | None = None) -> Path | None:
    """Where the scenarios are: `directory`, $RAFTSIM_SCENARIOS, ./scenarios, or the
    `scenarios/` directory next to the `sim` package (a source checkout), or the copy
    `pip install` puts in the environment's share/raftsim."""
    if directory is not None:
        return Path(directory) if Path(directory).is_dir() else None
    candidates: list[str | Path | None] = [os.environ.get("RAFTSIM_SCENARIOS"), "scenarios"]
    candidates.append(Path(__file__).resolve().parents[2] / "scenarios")
    candidates.append(Path(sys.prefix) / "share" / "raftsim" / "scenarios")  # pip install .
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def entries(directory: Path) -> list[Entry]:
    """Every scenario file in `directory`, by file name."""
    found = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            scenario = load(path)
        except ScenarioError as error:
            found.append(Entry(path, path.stem, "", error=str(error)))
            continue
        found.append(Entry(path, scenario.title, scenario.summary))
    return found


def resolve(name: str, directory: str | Path | None = None) -> Path:
    """A scenario file given by path, or by name from the library (`leader-election`)."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    library = library_dir(directory)
    if library is not None:
        for candidate in (library / name, library / f"{name}{SUFFIX}"):
            if candidate.is_file():
                return candidate
    return path
