"""Reading scenario files: one step per line, so every error has a line number.

Theory of operation: a file is a header (`title:`, `summary:`), one
`cluster` line, optional `log` lines (logs already on disk, as in the paper's
figures), then steps. A line is split into words as a shell splits them (so "quoted
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

import codecs
from pathlib import Path

from sim.scenario import cluster_lines, step_lines, steps
from sim.scenario.model import Scenario, ScenarioError
from sim.scenario.reader import Reader
from sim.scenario.words import quote

__all__ = ["Scenario", "ScenarioError", "load", "parse", "read_text"]


class Parser(Reader):
    """Turns the text of one scenario file into a `Scenario` (or a `ScenarioError`)."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(path)
        self.lines = lines(text)
        self.title: str | None = None
        self.summary: list[str] = []
        self.cluster_source = ""
        self._in_summary = False
        # Indented lines read as the summary's continuation, by line number.
        self._summary_lines: dict[int, str] = {}

    def parse(self) -> Scenario:
        narration: list[str] = []
        narration_line = 0
        for lineno, raw in enumerate(self.lines, start=1):
            self.lineno = lineno
            text = raw.strip()
            if text.startswith(">"):
                if self.cluster_line is None:
                    self._indented_cluster_line()
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
            self.lineno = max(1, len(self.lines))
            self._indented_cluster_line()
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
        if text.startswith("##"):
            self._indented_cluster_line()
            raise self.error("a chapter ('## ...') comes after the 'cluster' line")
        if text.startswith("#"):
            return
        if self._in_summary and raw[:1].isspace():
            self.summary.append(text)
            self._summary_lines[self.lineno] = text
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
            words, self.cluster_source = self.split(text)
            cluster_lines.cluster(self, words[1:])
        else:
            self._indented_cluster_line()
            raise self.error(
                f"expected 'title:', 'summary:' or the 'cluster' line, got {quote(text.split()[0])}"
            )

    def _indented_cluster_line(self) -> None:
        """A `cluster` line indented under the summary reads as the summary's last words:
        say so, at its line, rather than that the cluster line is missing."""
        for lineno, text in self._summary_lines.items():
            if text.split()[0] == "cluster" and "=" in text:
                raise self.error(
                    "this 'cluster' line is indented, so it reads as part of the summary: "
                    "start it at the beginning of the line",
                    lineno,
                )


def parse(text: str, path: str = "<scenario>") -> Scenario:
    """Parse the text of a scenario file; raises ScenarioError(path, line, message)."""
    return Parser(text, path).parse()


def load(path: str | Path) -> Scenario:
    """Read and parse a scenario file."""
    return parse(read_text(path), str(path))


def lines(text: str) -> list[str]:
    """The lines of a text as an editor numbers them: ended by \\n, \\r\\n or \\r only
    (str.splitlines also breaks at form feeds and other separators, which would put
    every later error on the wrong line)."""
    found = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return found[:-1] if found[-1] == "" else found


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (a byte-order mark is allowed); a byte that is not UTF-8 is
    reported at its line, as ScenarioError(path, line, message)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ScenarioError(str(path), None, f"cannot read the file: {reason}") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(lines(data[: error.start].decode("utf-8") + "."))
        byte = data[error.start : error.start + 1].hex()
        raise ScenarioError(
            str(path), line, f"not UTF-8 text: byte 0x{byte} cannot be read ({error.reason})"
        ) from None
