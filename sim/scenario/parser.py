"""Reading scenario files: one step per line, so every error has a line number.

Theory of operation: a file is a header (`title:`, `summary:`), one
`cluster` line, optional `log` lines (logs already on disk, as in the paper's
figures), then steps. A line is split into words with `shlex` (so "quoted
strings" and `# comments` work as in a shell); `key=value` words are options.
Lines starting with `>` are narration and `##` starts a chapter; neither is
split. Everything that can be checked without running is checked here: step
names, node ids, durations, option names, commands, names of submissions.
See scenarios/README.md for the format.
"""

from __future__ import annotations

import difflib
import inspect
import re
import shlex
from collections.abc import Callable, Collection
from pathlib import Path

from raft import KVStateMachine
from raft.bugs import BUGS
from raft.configuration import sort_ids
from sim.cluster import Cluster
from sim.scenario import conditions as cond
from sim.scenario import expectations as exp
from sim.scenario import steps
from sim.scenario.model import Scenario, ScenarioError, Step
from sim.scenario.values import BadValue, duration, integer, option_value

_OPTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")
_ENTRY = re.compile(r"^(\d+)(?::(.*))?$", re.DOTALL)
ROLES = ("follower", "candidate", "leader", "learner", "down")
# What became of a submit (SubmitHandle.outcome) or an admin request (AdminHandle.outcome).
OUTCOMES = {
    "submit": ("refused", "pending", "committed", "unknown"),
    "request": ("refused", "pending", "done", "failed"),
}
DEFAULT_TIMEOUT = 5.0

# Step name -> the Cluster method it needs (checked with hasattr, so a file
# can be parsed by a version of the simulator that lacks the method).
REQUESTS = {
    "add": "add_node",
    "add-learner": "add_learner",
    "remove": "remove_node",
    "replace": "change_members",
    "change-members": "change_members",
    "transfer": "transfer_leadership",
    "snapshot": "snapshot",
}
REQUEST_USAGE = {
    "add": "add NODE [as=NAME]",
    "add-learner": "add-learner NODE [as=NAME]",
    "remove": "remove NODE [as=NAME]",
    "replace": "replace OLD NEW [as=NAME]",
    "change-members": "change-members NODE... [learners=NODE,...] [as=NAME]",
    "transfer": "transfer [NODE] [as=NAME]",
    "snapshot": "snapshot NODE [as=NAME]",
}


def _parameters(function: Callable, *, skip: Collection[str] = ()) -> list[str]:
    return [
        name
        for name, p in inspect.signature(function).parameters.items()
        if name != "self" and name not in skip and p.kind is not p.VAR_KEYWORD
    ]


class Args:
    """The words after a step's keyword: positional words and `key=value` options."""

    def __init__(
        self,
        parser: Parser,
        usage: str,
        words: list[str],
        options: Collection[str] | None = (),
    ) -> None:
        self._parser = parser
        self.usage = usage
        self.words: list[str] = []
        self.options: dict[str, str] = {}
        for word in words:
            match = _OPTION.match(word)
            if not match:
                self.words.append(word)
                continue
            key = match[1]
            if options is not None and key not in options:
                raise parser.error(f"unknown option {key}=: expected '{usage}'")
            if key in self.options:
                raise parser.error(f"option {key}= given twice")
            self.options[key] = word[match.end() :]

    def next(self, what: str) -> str:
        if not self.words:
            raise self._parser.error(f"missing {what}: expected '{self.usage}'")
        return self.words.pop(0)

    def node(self, what: str = "NODE") -> str:
        return self._parser.node(self.next(what))

    def rest(self) -> list[str]:
        words, self.words = self.words, []
        return words

    def end(self) -> None:
        if self.words:
            raise self._parser.error(f"unexpected {self.words[0]!r}: expected '{self.usage}'")

    def value(self, text: str, parse: Callable[[str, str], object], what: str) -> object:
        try:
            return parse(text, what)
        except BadValue as error:
            raise self._parser.error(str(error)) from None

    def duration_option(self, key: str, default: float) -> float:
        if key not in self.options:
            return default
        return self.value(self.options[key], duration, key)  # type: ignore[return-value]


class Parser:
    """Turns the text of one scenario file into a `Scenario` (or a `ScenarioError`)."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.lineno = 0
        self.title: str | None = None
        self.summary: list[str] = []
        self.cluster_line: int | None = None
        self.cluster_source = ""
        self.options: dict[str, object] = {}
        self.logs: dict[str, list[int | tuple[int, str]]] = {}
        self.nodes: list[str] = []
        self.names: dict[str, tuple[int, str]] = {}  # name -> (line, "submit"|"request")
        self.steps: list[Step] = []
        self.chapter: str | None = None
        self._in_summary = False

    # -- errors and names --------------------------------------------------

    def error(self, message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError(self.path, line or self.lineno, message)

    def node(self, word: str) -> str:
        if word not in self.nodes:
            known = ", ".join(self.nodes)
            raise self.error(f"unknown node {word!r} (this cluster has {known})")
        return word

    def nodes_in(self, word: str) -> tuple[str, ...]:
        """`n1,n2,n3` (or one id) as validated node ids."""
        ids = tuple(self.node(part) for part in word.split(",") if part)
        if not ids:
            raise self.error(f"expected node ids such as n1,n2, got {word!r}")
        return ids

    def who(self, word: str) -> cond.Who:
        if word == "members":
            return cond.Who(members=True)
        return cond.Who(None) if word == "all" else cond.Who(self.nodes_in(word))

    def new_node(self, word: str) -> str:
        """A node id that a membership change may introduce."""
        if not _OPTION.match(word + "="):
            raise self.error(f"bad node id {word!r}: expected a word such as n6")
        if word not in self.nodes:
            self.nodes.append(word)
        return word

    def handle(self, name: str, kind: str | None = None) -> str:
        """A name given earlier to a submit or request (of `kind`, if given)."""
        if name not in self.names:
            raise self.error(f"no submit or request named {name!r} before this line")
        line, actual = self.names[name]
        if kind is not None and actual != kind:
            raise self.error(f"{name!r} names the {actual} on line {line}, not a {kind}")
        return name

    def define(self, name: str | None, kind: str) -> str | None:
        if name is None:
            return None
        if not _OPTION.match(name + "="):
            raise self.error(f"bad name {name!r}: expected letters, digits or _ (e.g. w1)")
        if name in self.names:
            line = self.names[name][0]
            raise self.error(f"{name!r} already names the {self.names[name][1]} on line {line}")
        self.names[name] = (self.lineno, kind)
        return name

    # -- the file ----------------------------------------------------------

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
                self._add(
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
                self._add(steps.Chapter, self.lineno, text, title=title)
            elif not text.startswith("#"):
                self._step(text)
        if narration:
            self._add(
                steps.Narrate, narration_line, "\n".join(narration), text="\n".join(narration)
            )
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
            self._cluster(self._split(text)[1:])
            self.cluster_source = text.split(" #")[0].strip()
        else:
            raise self.error(
                f"expected 'title:', 'summary:' or the 'cluster' line, got {text.split()[0]!r}"
            )

    def _split(self, text: str) -> list[str]:
        try:
            return shlex.split(text, comments=True)
        except ValueError as error:  # shlex: "No closing quotation", "No escaped character"
            raise self.error(f"cannot split the line into words: {str(error).lower()}") from None

    def _add(self, kind: type[Step], line: int, source: str, **fields: object) -> None:
        numbered = kind not in (steps.Narrate, steps.Chapter)
        number = sum(s.number is not None for s in self.steps) + 1 if numbered else None
        self.steps.append(
            kind(line=line, source=source, number=number, chapter=self.chapter, **fields)
        )

    # -- cluster and initial logs ------------------------------------------

    def _cluster(self, words: list[str]) -> None:
        known = ["nodes", *_parameters(Cluster.__init__, skip=("n", "initial_logs"))]
        args = Args(self, "cluster nodes=N seed=S [OPTION=VALUE ...]", words, None)
        args.end()
        for key in args.options:
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                also = f" (did you mean {hint[0]}=?)" if hint else ""
                raise self.error(
                    f"the cluster has no option {key}={also}; options: {', '.join(known)}"
                )
        options: dict[str, object] = {}
        for key, text in args.options.items():
            if key == "bugs":
                # A list of bug switch names (raft/bugs.py), e.g. bugs=double_vote,no_truncate.
                unknown = [name for name in text.split(",") if name not in BUGS]
                if unknown:
                    raise self.error(
                        f"unknown bug switch {', '.join(unknown)}; known: {', '.join(sorted(BUGS))}"
                    )
                options["bugs"] = tuple(text.split(","))
                continue
            value = option_value(text)
            self._check_kind(key, text, value)
            options["n" if key == "nodes" else key] = value
        n = options.get("n", 3)
        if not isinstance(n, int) or n < 1:
            raise self.error(f"bad nodes {args.options['nodes']!r}: expected a whole number >= 1")
        self.options = options
        self.nodes = [f"n{i}" for i in range(1, n + 1)]
        self.cluster_line = self.lineno

    def _check_kind(self, key: str, text: str, value: object) -> None:
        """An option's value must be of the kind of `Cluster`'s default for it."""
        parameter = inspect.signature(Cluster.__init__).parameters["n" if key == "nodes" else key]
        default = parameter.default
        if isinstance(default, bool):
            ok, expected = isinstance(value, bool), "on or off"
        elif isinstance(default, int):
            ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            expected = "a duration such as 50ms, or a number"
        elif isinstance(default, tuple):
            ok, expected = isinstance(value, tuple), "a range such as 150ms..300ms"
        else:
            return  # strings and options without a default: the Cluster judges them
        if not ok:
            raise self.error(f"bad {key} {text!r}: expected {expected}")

    def _log(self, args: Args) -> None:
        if self.steps:
            raise self.error("'log' lines (logs already on disk) go right after the 'cluster' line")
        node = args.node()
        if node in self.logs:
            raise self.error(f"the log of {node} is given twice")
        self.logs[node] = self._entries(args.rest(), allow_empty=False)

    def _entries(self, words: list[str], *, allow_empty: bool) -> list[int | tuple[int, str]]:
        if words == ["empty"] and allow_empty:
            return []
        if not words:
            raise self.error("missing entries: expected terms such as 1 1 4, or 'empty'")
        entries: list[int | tuple[int, str]] = []
        last = 0
        for word in words:
            match = _ENTRY.match(word)
            if not match or int(match[1]) < 1:
                raise self.error(
                    f"bad log entry {word!r}: expected a term (e.g. 4) or a term and a "
                    f'command (e.g. 4:"set x 1")'
                )
            term = int(match[1])
            if term < last:
                raise self.error(f"entry terms never decrease in a log: {term} after {last}")
            last = term
            if match[2] is None:
                entries.append(term)
            else:
                entries.append((term, self._command(match[2])))
        return entries

    def _command(self, command: str) -> str:
        try:
            KVStateMachine.parse(command)
        except ValueError as error:
            raise self.error(str(error)) from None
        return command

    # -- steps ---------------------------------------------------------------

    def _step(self, text: str) -> None:
        words = self._split(text)
        if not words:
            return
        keyword, words = words[0], words[1:]
        if keyword == "log":
            self._log(Args(self, "log NODE TERM...", words))
            return
        handler = _STEPS.get(keyword)
        if handler is None:
            hint = difflib.get_close_matches(keyword, [*_STEPS, "log"], n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.error(f"unknown step {keyword!r}{also}: expected one of {', '.join(_STEPS)}")
        kind, fields = handler(self, words)
        # Shown as written, without a trailing comment.
        source = text.split(" #")[0].strip()
        if self._split(source) != [keyword, *words]:
            source = text
        self._add(kind, self.lineno, source, **fields)

    def _narrate(self, words: list[str]) -> tuple[type[Step], dict]:
        if not words:
            raise self.error("missing TEXT: expected 'narrate \"TEXT\"'")
        return steps.Narrate, {"text": " ".join(words)}

    def _pause(self, words: list[str]) -> tuple[type[Step], dict]:
        Args(self, "pause", words).end()
        return steps.Pause, {}

    def _run(self, words: list[str]) -> tuple[type[Step], dict]:
        if words[:1] == ["until"]:
            args = Args(self, "run until CONDITION [timeout=DURATION]", words[1:], None)
            timeout = args.duration_option("timeout", DEFAULT_TIMEOUT)
            args.options.pop("timeout", None)
            return steps.RunUntil, {"condition": self._condition(args), "timeout": timeout}
        args = Args(self, "run DURATION  or  run until CONDITION", words)
        seconds = args.value(args.next("DURATION"), duration, "duration")
        args.end()
        return steps.RunFor, {"seconds": seconds}

    def _condition(self, args: Args) -> cond.Condition:
        usage = (
            "leader exists, leader NODE, no leader, new leader, committed|applied|appended|"
            "durable INDEX on NODES|all|K nodes, term T [on NODES], role NODE ROLE, "
            "members NODE... [learners=NODES] [on WHO], quiet DURATION, committed NAME, "
            "done NAME, violation [PROPERTY]"
        )
        sub = Args(self, f"run until CONDITION with CONDITION one of: {usage}", args.rest())
        first = sub.next("CONDITION")
        allowed = ("learners", "old") if first == "members" else ()
        for key in args.options:
            if key not in allowed:
                raise self.error(f"unknown option {key}=: expected '{args.usage}'")
        condition: cond.Condition
        if first == "leader":
            what = sub.next("'exists' or NODE")
            if what == "exists":
                condition = cond.LeaderCondition("exists")
            else:
                condition = cond.LeaderCondition("node", self.node(what))
        elif first in ("no", "new"):
            if sub.next("'leader'") != "leader":
                raise self.error(f"expected '{first} leader'")
            condition = cond.LeaderCondition("none" if first == "no" else "new")
        elif first in cond.PROGRESS and sub.words and not sub.words[0].isdigit():
            if first != "committed":
                raise self.error(f"bad INDEX {sub.words[0]!r}: expected a whole number")
            condition = cond.OutcomeCondition(self.handle(sub.next("NAME"), "submit"), first)
        elif first == "done":
            condition = cond.OutcomeCondition(self.handle(sub.next("NAME"), "request"), "done")
        elif first in cond.PROGRESS:
            index = sub.value(sub.next("INDEX"), integer, "index")
            condition = cond.ProgressCondition(first, index, self._on(sub))
        elif first == "members":
            voters: list[str] = []
            while sub.words and sub.words[0] != "on":
                voters.extend(i for i in sub.words.pop(0).split(",") if i)
            config = self._configuration(voters, args.options)
            condition = cond.MembersCondition(config, self._on(sub) if sub.words else cond.Who())
        elif first == "term":
            term = sub.value(sub.next("T"), integer, "term")
            condition = cond.TermCondition(term, self._on(sub) if sub.words else None)
        elif first == "role":
            node = sub.node()
            condition = cond.RoleCondition(node, self._role(sub.next("ROLE")))
        elif first == "quiet":
            condition = cond.QuietCondition(sub.value(sub.next("DURATION"), duration, "duration"))
        elif first == "violation":
            condition = cond.ViolationCondition(sub.words.pop(0) if sub.words else None)
        else:
            raise self.error(f"unknown condition {first!r}: expected one of: {usage}")
        sub.end()
        return condition

    def _on(self, sub: Args) -> cond.Who:
        if sub.next("'on'") != "on":
            raise self.error(f"expected 'on NODES', 'on all' or 'on K nodes': '{sub.usage}'")
        who = sub.next("NODES")
        if who.isdigit():
            if sub.next("'nodes'") != "nodes":
                raise self.error(f"expected 'on {who} nodes'")
            return cond.Who(None, int(who))
        return self.who(who)

    def _configuration(self, voters: list[str], options: dict[str, str]) -> str:
        """A configuration written the way `NodeView.members` shows it: `{n1,n2,n3}`,
        `{n1,n2,n3} + {n1,n2,n4}` while joint (old= gives the old voters),
        `{n1,n2,n3} learners {n4}`."""

        def ids(words: list[str]) -> str:
            return "{" + ",".join(sort_ids({self.node(w) for w in words if w})) + "}"

        if not voters:
            raise self.error("missing NODE: expected the voters, e.g. n1,n2,n3")
        text = ids(voters)
        if "old" in options:
            text = ids(options["old"].split(",")) + " + " + text
        if options.get("learners"):
            text += " learners " + ids(options["learners"].split(","))
        return text

    def _role(self, word: str) -> str:
        if word not in ROLES:
            raise self.error(f"bad role {word!r}: expected one of {', '.join(ROLES)}")
        return word

    def _partition(self, words: list[str]) -> tuple[type[Step], dict]:
        usage = "partition NODES | NODES [| ...]  (e.g. partition n1,n2 | n3,n4,n5)"
        groups = [g.replace(",", " ").split() for g in " ".join(words).split("|")]
        if not words or any(not g for g in groups):
            raise self.error(f"missing a group of nodes: expected '{usage}'")
        seen: set[str] = set()
        for group in groups:
            for node in group:
                self.node(node)
                if node in seen:
                    raise self.error(f"{node} is in two groups: expected '{usage}'")
                seen.add(node)
        return steps.Partition, {"groups": tuple(tuple(g) for g in groups)}

    def _cut(self, words: list[str]) -> tuple[type[Step], dict]:
        args = Args(self, "cut FROM TO  (one way: FROM's messages to TO are lost)", words)
        src = args.node("FROM")
        if args.words[:1] == ["->"]:
            args.next("->")
        dst = args.node("TO")
        args.end()
        if src == dst:
            raise self.error("a cut needs two different nodes")
        return steps.Cut, {"src": src, "dst": dst}

    def _link(self, verb: str, usage: str) -> Callable[[list[str]], tuple[str, str, list[str]]]:
        def parse_link(words: list[str]) -> tuple[str, str, list[str]]:
            args = Args(self, f"{verb} {usage}", words)
            src = args.node("FROM")
            if args.words[:1] == ["->"]:
                args.next("->")
            dst = args.node("TO")
            rest = args.rest()
            if src == dst:
                raise self.error(f"{verb} needs two different nodes")
            return src, dst, rest

        return parse_link

    def _hold(self, words: list[str]) -> tuple[type[Step], dict]:
        src, dst, rest = self._link("hold", "FROM TO  (messages wait on the link until release)")(
            words
        )
        if rest:
            raise self.error(f"unexpected {rest[0]!r}: expected 'hold FROM TO'")
        return steps.Hold, {"src": src, "dst": dst}

    def _release(self, words: list[str]) -> tuple[type[Step], dict]:
        src, dst, rest = self._link("release", "FROM TO")(words)
        if rest:
            raise self.error(f"unexpected {rest[0]!r}: expected 'release FROM TO'")
        return steps.Release, {"src": src, "dst": dst}

    def _one_message(self, verb: str) -> Callable[[list[str]], tuple[type[Step], dict]]:
        def parse_message(words: list[str]) -> tuple[type[Step], dict]:
            src, dst, rest = self._link(verb, "FROM TO [MESSAGE-TYPE]  (the oldest in flight)")(
                words
            )
            if len(rest) > 1:
                raise self.error(f"unexpected {rest[1]!r}: expected '{verb} FROM TO [TYPE]'")
            kind = steps.DeliverMessage if verb == "deliver" else steps.DropMessage
            return kind, {"src": src, "dst": dst, "message_type": rest[0] if rest else None}

        return parse_message

    def _heal(self, words: list[str]) -> tuple[type[Step], dict]:
        Args(self, "heal", words).end()
        return steps.Heal, {}

    def _network(self, words: list[str]) -> tuple[type[Step], dict]:
        known = _parameters(Cluster.set_network)
        args = Args(self, f"network {' '.join(k + '=...' for k in known)}", words, known)
        args.end()
        if not args.options:
            raise self.error(f"missing settings: expected '{args.usage}'")
        return steps.Network, {"options": {k: option_value(v) for k, v in args.options.items()}}

    def _submit(self, words: list[str]) -> tuple[type[Step], dict]:
        args = Args(self, 'submit [NAME] "COMMAND" [to=NODE]', words, ("to", "as"))
        if len(args.words) > 2:
            raise self.error(
                f"unexpected {args.words[2]!r}: expected '{args.usage}' (quote the command)"
            )
        name = args.next("NAME") if len(args.words) == 2 else args.options.get("as")
        command = self._command(args.next('"COMMAND"'))
        to = self.node(args.options["to"]) if "to" in args.options else None
        return steps.Submit, {"command": command, "to": to, "name": self.define(name, "submit")}

    def _timeout(self, words: list[str]) -> tuple[type[Step], dict]:
        args = Args(self, "timeout NODE [after=DURATION]", words, ("after",))
        node = args.node()
        args.end()
        return steps.Timeout, {"node": node, "after": args.duration_option("after", 0.0)}

    # -- expectations ----------------------------------------------------------

    def _expect(self, words: list[str]) -> tuple[type[Step], dict]:
        usage = (
            "leader NODE|exists, no leader, term WHO T, role WHO ROLE, commit WHO INDEX, "
            "durable WHO INDEX, snapshot WHO INDEX, value WHO KEY VALUE, "
            "log WHO TERM..., applied WHO COMMAND..., members WHO NODE..., vote WHO NODE|none, "
            "committed|done|accepted|refused NAME, outcome NAME OUTCOME, result NAME VALUE, "
            "no violations, violation PROPERTY"
        )
        args = Args(self, f"expect CLAIM with CLAIM one of: {usage}", words, None)
        what = args.next("CLAIM")
        allowed = ("learners", "old") if what == "members" else ()
        for key in args.options:
            if key not in allowed:
                raise self.error(f"unknown option {key}= for 'expect {what}'")
        expectation = self._claim(what, args, usage)
        args.end()
        return steps.Expect, {"expectation": expectation}

    def _claim(self, what: str, args: Args, usage: str) -> exp.Expectation:
        if what == "leader":
            node = args.next("NODE or 'exists'")
            if node == "exists":
                return exp.LeaderIs(None, exists=True)
            return exp.LeaderIs(self.node(node))
        if what == "no":
            thing = args.next("'leader' or 'violations'")
            if thing == "leader":
                return exp.LeaderIs(None)
            if thing in ("violations", "violation"):
                return exp.NoViolations()
            raise self.error(
                f"expected 'expect no leader' or 'expect no violations', got {thing!r}"
            )
        if what == "violation":
            return exp.ViolationSeen(args.next('"PROPERTY" (e.g. "Election Safety")'))
        if what in ("term", "commit", "durable", "snapshot"):
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            number = args.value(args.next("T" if what == "term" else "INDEX"), integer, what)
            kind = {
                "term": exp.TermIs,
                "commit": exp.CommitIs,
                "durable": exp.DurableIs,
                "snapshot": exp.SnapshotIs,
            }[what]
            return kind(who, number)
        if what == "value":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            key = args.next("KEY")
            value = args.next("VALUE (or none)")
            return exp.ValueIs(who, None if value == "none" else value, key=key)
        if what == "role":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            return exp.RoleIs(who, self._role(args.next("ROLE")))
        if what == "vote":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            voted = args.next("NODE or none")
            return exp.VoteIs(who, None if voted == "none" else self.node(voted))
        if what == "log":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            entries = self._entries(args.rest(), allow_empty=True)
            value = tuple(e if isinstance(e, tuple) else (e, None) for e in entries)
            return exp.LogIs(who, value)
        if what == "applied":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            commands = args.rest()
            if not commands:
                raise self.error('missing COMMAND: expected commands ("set x 1" ...) or none')
            value = () if commands == ["none"] else tuple(self._command(c) for c in commands)
            return exp.AppliedIs(who, value)
        if what == "members":
            who = self.who(args.next("WHO (a node, n1,n2 or all)"))
            ids = [i for w in args.rest() for i in w.split(",") if i]
            return exp.MembersAre(who, self._configuration(ids, args.options))
        if what in ("committed", "done"):
            kind = "submit" if what == "committed" else "request"
            return exp.HandleIs(self.handle(args.next("NAME"), kind), "outcome", what)
        if what in ("accepted", "refused"):
            return exp.HandleIs(self.handle(args.next("NAME")), "accepted", what == "accepted")
        if what == "outcome":
            name = self.handle(args.next("NAME"))
            outcome = args.next("OUTCOME")
            choices = OUTCOMES[self.names[name][1]]
            if outcome not in choices:
                raise self.error(
                    f"bad outcome {outcome!r} for the {self.names[name][1]} {name}: "
                    f"expected one of {', '.join(choices)}"
                )
            return exp.HandleIs(name, "outcome", outcome)
        if what == "result":
            name = self.handle(args.next("NAME"), "submit")
            return exp.HandleIs(name, "result", args.next("VALUE"))
        hint = difflib.get_close_matches(what, _CLAIMS, n=1)
        also = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise self.error(f"unknown expectation {what!r}{also}: expected one of {usage}")


_CLAIMS = [
    "leader", "no", "violation", "term", "commit", "durable", "snapshot", "value", "role",
    "vote", "log", "applied", "members", "committed", "done", "accepted", "refused", "outcome",
    "result",
]  # fmt: skip


def _one_node(kind: type[Step], usage: str) -> Callable:
    """The parser of a step that takes one node."""

    def parse(parser: Parser, words: list[str]) -> tuple[type[Step], dict]:
        args = Args(parser, usage, words)
        node = args.node()
        args.end()
        return kind, {"node": node}

    return parse


def _request(keyword: str) -> Callable:
    """The parser of an admin request step (membership, transfer, snapshot)."""

    def parse(parser: Parser, words: list[str]) -> tuple[type[Step], dict]:
        method = REQUESTS[keyword]
        if not hasattr(Cluster, method):
            raise parser.error(f"step needs Cluster.{method}, not available in this version")
        usage = REQUEST_USAGE[keyword]
        allowed = ("as", "learners") if keyword == "change-members" else ("as",)
        args = Args(parser, usage, words, allowed)
        fields: dict[str, object] = {"method": method, "args": (), "options": {}}
        if keyword in ("add", "add-learner"):
            fields["args"] = (parser.new_node(args.next("NODE")),)
        elif keyword == "replace":
            fields["replace"] = (args.node("OLD"), parser.new_node(args.next("NEW")))
        elif keyword == "change-members":
            voters = [parser.new_node(i) for w in args.rest() for i in w.split(",") if i]
            if not voters:
                raise parser.error(f"missing NODE: expected '{usage}'")
            learners = args.options.get("learners", "")
            fields["args"] = (tuple(voters),)
            fields["options"] = {
                "learners": tuple(parser.new_node(i) for i in learners.split(",") if i)
            }
        elif keyword == "transfer":
            fields["args"] = (args.node() if args.words else None,)
        else:
            fields["args"] = (args.node(),)
        args.end()
        fields["name"] = parser.define(args.options.get("as"), "request")
        return steps.Request, fields

    return parse


_STEPS: dict[str, Callable[[Parser, list[str]], tuple[type[Step], dict]]] = {
    "narrate": Parser._narrate,
    "run": Parser._run,
    "crash": _one_node(steps.Crash, "crash NODE"),
    "restart": _one_node(steps.Restart, "restart NODE"),
    "partition": Parser._partition,
    "isolate": _one_node(steps.Isolate, "isolate NODE"),
    "cut": Parser._cut,
    "heal": Parser._heal,
    "hold": Parser._hold,
    "release": Parser._release,
    "deliver": lambda parser, words: parser._one_message("deliver")(words),
    "drop": lambda parser, words: parser._one_message("drop")(words),
    "network": Parser._network,
    "submit": Parser._submit,
    "timeout": Parser._timeout,
    **{k: _request(k) for k in REQUESTS},
    "pause": Parser._pause,
    "expect": Parser._expect,
}


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
