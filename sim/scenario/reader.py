"""Reading one line of a scenario file: its words, its options, and the names it may use.

Theory of operation: a `Reader` knows where it is in the file (so every error
is `FILE:LINE: message`) and what the lines above it set up: the cluster's
node ids, the names given to submits and requests, the steps so far. `Args`
takes a line's words apart into positional words and `key=value` options.
The checks shared by the kinds of line live here too: node ids, roles,
commands, log entries, configurations.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Collection

from raft import KVStateMachine
from raft.configuration import sort_ids
from sim.arguments import MAX_NODES
from sim.scenario import conditions as cond
from sim.scenario import steps
from sim.scenario.model import ScenarioError, Step
from sim.scenario.values import MAX_DIGITS, BadValue, duration
from sim.scenario.words import EXCERPT, SplitError, excerpt, quote
from sim.scenario.words import split as split_words

# A name: a node id, the name of a submit, read or request, an option's key.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPTION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_ENTRY = re.compile(rf"([0-9]{{1,{MAX_DIGITS}}})(?::(.*))?", re.DOTALL)
ROLES = ("follower", "candidate", "leader", "learner", "down")

Entries = list[int | tuple[int, str]]


def parameters(function: Callable, *, skip: Collection[str] = ()) -> list[str]:
    """The names of a function's parameters (not self, not **kwargs)."""
    return [
        name
        for name, p in inspect.signature(function).parameters.items()
        if name != "self" and name not in skip and p.kind is not p.VAR_KEYWORD
    ]


class Reader:
    """Where the reading of one file is, and what the lines read so far set up."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lineno = 0
        self.cluster_line: int | None = None
        self.options: dict[str, object] = {}
        self.logs: dict[str, Entries] = {}
        self.nodes: list[str] = []
        self.names: dict[str, tuple[int, str]] = {}  # name -> (line, "submit"|"request"|"read")
        self.steps: list[Step] = []
        self.numbered = 0  # steps so far that `--until N` can name
        self.chapter: str | None = None

    # -- errors and names --------------------------------------------------

    def error(self, message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError(self.path, line or self.lineno, message)

    def node(self, word: str) -> str:
        if word not in self.nodes:
            known = ", ".join(self.nodes)
            raise self.error(f"unknown node {quote(word)} (this cluster has {known})")
        return word

    def nodes_in(self, word: str) -> tuple[str, ...]:
        """`n1,n2,n3` (or one id) as validated node ids."""
        ids = tuple(self.node(part) for part in word.split(",") if part)
        if not ids:
            raise self.error(f"expected node ids such as n1,n2, got {quote(word)}")
        return ids

    def who(self, word: str) -> cond.Who:
        if word == "members":
            return cond.Who(members=True)
        return cond.Who(None) if word == "all" else cond.Who(self.nodes_in(word))

    def new_node(self, word: str) -> str:
        """A node id that a membership change may introduce."""
        if not NAME.fullmatch(word):
            raise self.error(f"bad node id {quote(word)}: expected letters, digits or _ (e.g. n6)")
        if word not in self.nodes:
            if len(self.nodes) >= MAX_NODES:
                raise self.error(f"too many servers: a scenario has at most {MAX_NODES}")
            self.nodes.append(word)
        return word

    def handle(self, name: str, kind: str | None = None) -> str:
        """A name given earlier to a submit, read or request (of `kind`, if given)."""
        if name not in self.names:
            raise self.error(f"no submit, read or request named {quote(name)} before this line")
        line, actual = self.names[name]
        if kind is not None and actual != kind:
            raise self.error(f"{quote(name)} names the {actual} on line {line}, not a {kind}")
        return name

    def define(self, name: str | None, kind: str) -> str | None:
        if name is None:
            return None
        if not NAME.fullmatch(name):
            raise self.error(f"bad name {quote(name)}: expected letters, digits or _ (e.g. w1)")
        if name in self.names:
            line, earlier = self.names[name]
            raise self.error(f"{quote(name)} already names the {earlier} on line {line}")
        self.names[name] = (self.lineno, kind)
        return name

    # -- words and steps ---------------------------------------------------

    def split(self, text: str) -> tuple[list[str], str]:
        """The words of a line, and the line as written without its comment."""
        try:
            return split_words(text)
        except SplitError as error:
            raise self.error(f"cannot split the line into words: {error}") from None

    def add(self, kind: type[Step], line: int, source: str, **fields: object) -> None:
        number = None
        if kind not in (steps.Narrate, steps.Chapter):
            self.numbered += 1
            number = self.numbered
        self.steps.append(
            kind(line=line, source=source, number=number, chapter=self.chapter, **fields)
        )

    # -- values checked before running -------------------------------------

    def role(self, word: str) -> str:
        if word not in ROLES:
            raise self.error(f"bad role {quote(word)}: expected one of {', '.join(ROLES)}")
        return word

    def command(self, command: str) -> str:
        try:
            KVStateMachine.parse(command)
        except ValueError as error:
            if len(command) > EXCERPT:  # the state machine's message would quote all of it
                raise self.error(f"bad command {quote(command)}: {KVStateMachine.USAGE}") from None
            raise self.error(str(error)) from None
        return command

    def entries(self, words: list[str], *, allow_empty: bool) -> Entries:
        """A log as written: terms (`1 1 4`), or terms with commands (`4:"set x 1"`)."""
        if words == ["empty"] and allow_empty:
            return []
        if not words:
            raise self.error("missing entries: expected terms such as 1 1 4, or 'empty'")
        entries: Entries = []
        last = 0
        for word in words:
            match = _ENTRY.fullmatch(word)
            if not match or int(match[1]) < 1:
                raise self.error(
                    f"bad log entry {quote(word)}: expected a term (e.g. 4) or a term and a "
                    f'command (e.g. 4:"set x 1")'
                )
            term = int(match[1])
            if term < last:
                raise self.error(f"entry terms never decrease in a log: {term} after {last}")
            last = term
            if match[2] is None:
                entries.append(term)
            else:
                entries.append((term, self.command(match[2])))
        return entries

    def configuration(self, voters: list[str], options: dict[str, str]) -> str:
        """A configuration written the way `NodeView.members` shows it: `{n1,n2,n3}`,
        `{n1,n2,n3} + {n1,n2,n4}` while joint (old= gives the old voters),
        `{n1,n2,n3} learners {n4}`."""

        def ids(words: list[str]) -> str:
            return "{" + ",".join(sort_ids({self.node(w) for w in words if w})) + "}"

        if not voters:
            raise self.error("missing NODE: expected the voters, e.g. n1,n2,n3")
        text = ids(voters)
        if "old" in options:
            old = self.listed(options, "old", "the old voters, e.g. old=n1,n2,n3")
            text = ids(old) + " + " + text
        if "learners" in options:
            text += " learners " + ids(
                self.listed(options, "learners", "the learners, e.g. learners=n4")
            )
        return text

    def listed(self, options: dict[str, str], key: str, example: str) -> list[str]:
        """The comma list of option `key`, which must name something."""
        parts = [part for part in options[key].split(",") if part]
        if not parts:
            raise self.error(f"{key}= names nothing: expected {example} (or leave it out)")
        return parts


class Args:
    """The words after a step's keyword: positional words and `key=value` options."""

    def __init__(
        self,
        reader: Reader,
        usage: str,
        words: list[str],
        options: Collection[str] | None = (),
    ) -> None:
        self._reader = reader
        self.usage = usage
        self.words: list[str] = []
        self.options: dict[str, str] = {}
        for word in words:
            match = OPTION.match(word)
            if not match:
                self.words.append(word)
                continue
            key = match[1]
            if options is not None and key not in options:
                raise reader.error(f"unknown option {excerpt(key)}=: expected '{usage}'")
            if key in self.options:
                raise reader.error(f"option {excerpt(key)}= given twice")
            self.options[key] = word[match.end() :]

    def next(self, what: str) -> str:
        if not self.words:
            raise self._reader.error(f"missing {what}: expected '{self.usage}'")
        return self.words.pop(0)

    def node(self, what: str = "NODE") -> str:
        return self._reader.node(self.next(what))

    def rest(self) -> list[str]:
        words, self.words = self.words, []
        return words

    def end(self) -> None:
        if self.words:
            raise self._reader.error(f"unexpected {quote(self.words[0])}: expected '{self.usage}'")

    def value(self, text: str, parse: Callable[[str, str], object], what: str) -> object:
        try:
            return parse(text, what)
        except BadValue as error:
            raise self._reader.error(str(error)) from None

    def duration_option(self, key: str, default: float) -> float:
        if key not in self.options:
            return default
        return self.value(self.options[key], duration, key)  # type: ignore[return-value]
