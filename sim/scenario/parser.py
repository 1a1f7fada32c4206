"""Reading scenario files: one step per line, so every error has a line number.

Theory of operation: a file is a header (`title:`, `summary:`), one
`cluster` line, optional `log` lines (logs already on disk, as in the paper's
figures), then steps. A line is split into words with `shlex` (so "quoted
strings" and `# comments` work as in a shell); `key=value` words are options.
Lines starting with `>` are narration and `##` starts a chapter; neither is
split. Everything that can be checked without running is checked while
reading: step names, node ids, durations, option names, commands, names of
submissions. See scenarios/README.md for the format.

This module reads the file as a whole (header, narration, chapters). A line's
words are taken apart in reader, the lines that set up the cluster are read
in cluster_lines, steps in step_lines and expectations in expect_lines.
"""

from __future__ import annotations

from pathlib import Path

from sim.scenario import cluster_lines, step_lines, steps
from sim.scenario.model import Scenario, ScenarioError
from sim.scenario.reader import Reader

__all__ = ["Scenario", "ScenarioError", "load", "parse"]


class Parser(Reader):
    """Turns the text of one scenario file into a `Scenario` (or a `ScenarioError`)."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(path)
        self.lines = text.splitlines()
        self.title: str | None = None
        self.summary: list[str] = []
        self.cluster_source = ""
        self._in_summary = False

    def parse(self) -> Scenario:
        narration: list[str] = []
        narration_line = 0
        for lineno, raw in enumerate(self.lines, start=1):
            self.lineno = lineno
            text = raw.strip()
            if text.startswith(">"):
                if self.cluster_line is None:
                    raise self.error("narration ('>' lines) comes after the 'cluster' line")
                if not narration:
                    narration_line = self.lineno
                narration.append(text[1:].removeprefix(" ").rstrip())
                continue
            if narration:
                self.add(
                    steps.Narrate, narration_line, "\n".join(narration), text="\n".join(narration)
                )
                narration = []
            if not text:
                self._in_summary = False
                continue
            if self.cluster_line is None:
                self._header(raw, text)
            elif text.startswith("##"):
                title = text.lstrip("#").strip()
                if not title:
                    raise self.error("a chapter ('## ...') needs a title")
                self.chapter = title
                self.add(steps.Chapter, self.lineno, text, title=title)
            elif not text.startswith("#"):
                step_lines.step(self, text)
        if narration:
            self.add(steps.Narrate, narration_line, "\n".join(narration), text="\n".join(narration))
        if self.cluster_line is None:
            self.lineno = len(self.lines)
            if self.title is None:
                raise self.error("expected a 'title:' line, a 'summary:' and a 'cluster' line")
            raise self.error("expected a 'cluster' line (e.g. 'cluster nodes=5 seed=1')")
        return Scenario(
            path=self.path,
            title=self.title or "",
            summary=" ".join(self.summary),
            cluster_line=self.cluster_line,
            cluster_source=self.cluster_source,
            options=self.options,
            initial_logs=self.logs,
            steps=tuple(self.steps),
        )

    def _header(self, raw: str, text: str) -> None:
        if text.startswith("#"):
            return
        if self._in_summary and raw[:1].isspace():
            self.summary.append(text)
            return
        self._in_summary = False
        key, colon, value = text.partition(":")
        if colon and key.strip() == "title":
            if self.title is not None:
                raise self.error("the title is given twice")
            if not value.strip():
                raise self.error("'title:' needs the scenario's title after it")
            self.title = value.strip()
        elif colon and key.strip() == "summary":
            if self.summary:
                raise self.error("the summary is given twice")
            if not value.strip():
                raise self.error("'summary:' needs a sentence after it")
            self.summary.append(value.strip())
            self._in_summary = True
        elif text.split()[0] == "cluster":
            if self.title is None or not self.summary:
                missing = "'title:'" if self.title is None else "'summary:'"
                raise self.error(f"expected a {missing} line before the 'cluster' line")
            cluster_lines.cluster(self, self.split(text)[1:])
            self.cluster_source = text.split(" #")[0].strip()
        else:
            raise self.error(
                f"expected 'title:', 'summary:' or the 'cluster' line, got {text.split()[0]!r}"
            )


def parse(text: str, path: str = "<scenario>") -> Scenario:
    """Parse the text of a scenario file; raises ScenarioError(path, line, message)."""
    return Parser(text, path).parse()


def load(path: str | Path) -> Scenario:
    """Read and parse a scenario file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ScenarioError(str(path), None, f"cannot read the file: {reason}") from None
    return parse(text, str(path))
