"""Step lines: a keyword and its words, turned into a `Step` with its fields.

Theory of operation: `STEPS` maps each keyword to a function of the reader
and the words after the keyword, which checks them and returns the kind of
step and its fields. Everything that can be checked without running is
checked here: node ids, durations, option names, commands, the names given
to submits and requests, and the conditions `run until` waits for.
Expectations (`expect ...`) have a module of their own, expect_lines.
"""

from __future__ import annotations

from collections.abc import Callable

from raft.election import ELECTION_TIMER
from raft.leadership import CHECK_QUORUM_TIMER, HEARTBEAT_TIMER
from raft.membership import CATCHUP_TIMER
from raft.transfer import TRANSFER_TIMER
from sim.cluster import Cluster
from sim.scenario import (
    choice_steps,
    cluster_lines,
    expect_lines,
    explain_lines,
    read_lines,
    steps,
)
from sim.scenario import conditions as cond
from sim.scenario.model import Step
from sim.scenario.reader import NAME, Args, Reader
from sim.scenario.values import duration, integer, is_whole
from sim.scenario.words import close_match, excerpt, quote

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

StepParser = Callable[[Reader, list[str]], tuple[type[Step], dict]]


def step(reader: Reader, text: str) -> None:
    """Read a step line (or a `log` line) and add its step to the reader's."""
    # The step is shown as written, without a trailing comment.
    words, source = reader.split(text)
    if not words:
        return
    keyword, words = words[0], words[1:]
    if keyword == "log":
        cluster_lines.log(reader, words)
        return
    if keyword == "cluster":
        raise reader.error(f"a second 'cluster' line (the first is line {reader.cluster_line})")
    handler = STEPS.get(keyword)
    if handler is None:
        hint = close_match(keyword, [*STEPS, "log"])
        also = f" (did you mean {hint!r}?)" if hint else ""
        raise reader.error(
            f"unknown step {quote(keyword)}{also}: expected one of {', '.join(STEPS)}"
        )
    kind, fields = handler(reader, words)
    reader.add(kind, reader.lineno, source, **fields)


def _narrate(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    if not words:
        raise reader.error("missing TEXT: expected 'narrate \"TEXT\"'")
    return steps.Narrate, {"text": " ".join(words)}


def _pause(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    Args(reader, "pause", words).end()
    return steps.Pause, {}


# -- run, and the conditions of run until -----------------------------------------


def _run(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    if words[:1] == ["until"]:
        args = Args(reader, "run until CONDITION [timeout=DURATION]", words[1:], None)
        timeout = args.duration_option("timeout", DEFAULT_TIMEOUT)
        args.options.pop("timeout", None)
        return steps.RunUntil, {"condition": _condition(reader, args), "timeout": timeout}
    args = Args(reader, "run DURATION  or  run until CONDITION", words)
    seconds = args.value(args.next("DURATION"), duration, "duration")
    args.end()
    return steps.RunFor, {"seconds": seconds}


def _condition(reader: Reader, args: Args) -> cond.Condition:
    usage = (
        "leader exists, leader NODE, no leader, new leader, committed|applied|appended|"
        "durable INDEX on NODES|all|K nodes, term T [on NODES], role NODE ROLE, "
        "members NODE... [learners=NODES] [on WHO], quiet DURATION, committed NAME, "
        "done NAME, read NAME, violation [PROPERTY]"
    )
    sub = Args(reader, f"run until CONDITION with CONDITION one of: {usage}", args.rest())
    first = sub.next("CONDITION")
    allowed = ("learners", "old") if first == "members" else ()
    for key in args.options:
        if key not in allowed:
            raise reader.error(f"unknown option {excerpt(key)}=: expected '{args.usage}'")
    condition: cond.Condition
    if first == "leader":
        what = sub.next("'exists' or NODE")
        if what == "exists":
            condition = cond.LeaderCondition("exists")
        else:
            condition = cond.LeaderCondition("node", reader.node(what))
    elif first in ("no", "new"):
        if sub.next("'leader'") != "leader":
            raise reader.error(f"expected '{first} leader'")
        condition = cond.LeaderCondition("none" if first == "no" else "new")
    elif first in cond.PROGRESS and sub.words and not is_whole(sub.words[0]):
        if first != "committed" or not NAME.fullmatch(sub.words[0]):
            also = ", or the name of a submit" if first == "committed" else ""
            raise reader.error(f"bad INDEX {quote(sub.words[0])}: expected a whole number{also}")
        condition = cond.OutcomeCondition(reader.handle(sub.next("NAME"), "submit"), first)
    elif first == "done":
        condition = cond.OutcomeCondition(reader.handle(sub.next("NAME"), "request"), "done")
    elif first == "read":
        condition = read_lines.condition(reader, sub)
    elif first in cond.PROGRESS:
        index = sub.value(sub.next("INDEX"), integer, "index")
        condition = cond.ProgressCondition(first, index, _on(reader, sub))
    elif first == "members":
        voters: list[str] = []
        while sub.words and sub.words[0] != "on":
            voters.extend(i for i in sub.words.pop(0).split(",") if i)
        config = reader.configuration(voters, args.options)
        condition = cond.MembersCondition(config, _on(reader, sub) if sub.words else cond.Who())
    elif first == "term":
        term = sub.value(sub.next("T"), integer, "term")
        condition = cond.TermCondition(term, _on(reader, sub) if sub.words else None)
    elif first == "role":
        node = sub.node()
        condition = cond.RoleCondition(node, reader.role(sub.next("ROLE")))
    elif first == "quiet":
        condition = cond.QuietCondition(sub.value(sub.next("DURATION"), duration, "duration"))
    elif first == "violation":
        condition = cond.ViolationCondition(sub.words.pop(0) if sub.words else None)
    else:
        raise reader.error(f"unknown condition {quote(first)}: expected one of: {usage}")
    sub.end()
    return condition


def _on(reader: Reader, sub: Args) -> cond.Who:
    if sub.next("'on'") != "on":
        raise reader.error(f"expected 'on NODES', 'on all' or 'on K nodes': '{sub.usage}'")
    who = sub.next("NODES")
    if is_whole(who):
        if sub.next("'nodes'") != "nodes":
            raise reader.error(f"expected 'on {who} nodes'")
        return cond.Who(None, sub.value(who, integer, "K"))
    return reader.who(who)


# -- faults: crashes, partitions, and single messages -----------------------------


def _one_node(kind: type[Step], usage: str) -> StepParser:
    """The parser of a step that takes one node."""

    def parse(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
        args = Args(reader, usage, words)
        node = args.node()
        args.end()
        return kind, {"node": node}

    return parse


def _partition(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    usage = "partition NODES | NODES [| ...]  (e.g. partition n1,n2 | n3,n4,n5)"
    groups = [g.replace(",", " ").split() for g in " ".join(words).split("|")]
    if not words or any(not g for g in groups):
        raise reader.error(f"missing a group of nodes: expected '{usage}'")
    seen: set[str] = set()
    for group in groups:
        for node in group:
            reader.node(node)
            if node in seen:
                raise reader.error(f"{node} is in two groups: expected '{usage}'")
            seen.add(node)
    return steps.Partition, {"groups": tuple(tuple(g) for g in groups)}


def _cut(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    args = Args(reader, "cut FROM TO  (one way: FROM's messages to TO are lost)", words)
    src = args.node("FROM")
    if args.words[:1] == ["->"]:
        args.next("->")
    dst = args.node("TO")
    args.end()
    if src == dst:
        raise reader.error("a cut needs two different nodes")
    return steps.Cut, {"src": src, "dst": dst}


def _heal(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    Args(reader, "heal", words).end()
    return steps.Heal, {}


def _link(reader: Reader, verb: str, usage: str, words: list[str]) -> tuple[str, str, list[str]]:
    """`FROM TO` or `FROM -> TO`, and the words after them."""
    args = Args(reader, f"{verb} {usage}", words)
    src = args.node("FROM")
    if args.words[:1] == ["->"]:
        args.next("->")
    dst = args.node("TO")
    rest = args.rest()
    if src == dst:
        raise reader.error(f"{verb} needs two different nodes")
    return src, dst, rest


def _hold(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    usage = "FROM TO  (messages wait on the link until release)"
    src, dst, rest = _link(reader, "hold", usage, words)
    if rest:
        raise reader.error(f"unexpected {quote(rest[0])}: expected 'hold FROM TO'")
    return steps.Hold, {"src": src, "dst": dst}


def _release(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    src, dst, rest = _link(reader, "release", "FROM TO", words)
    if rest:
        raise reader.error(f"unexpected {quote(rest[0])}: expected 'release FROM TO'")
    return steps.Release, {"src": src, "dst": dst}


# -- exact choices (what `raftsim explore` saves) ----------------------------------

# The node's timers, by the names raft gives them.
TIMERS = (ELECTION_TIMER, HEARTBEAT_TIMER, CHECK_QUORUM_TIMER, CATCHUP_TIMER, TRANSFER_TIMER)


def _exact_message(verb: str) -> StepParser:
    """`deliver|drop|duplicate FROM TO [TYPE[#K]]`: the oldest message in flight on the
    link (of TYPE), or with `#K` the K-th oldest of TYPE."""

    def parse(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
        usage = "FROM TO [TYPE[#K]]  (the oldest in flight; #K: the K-th oldest of TYPE)"
        src, dst, rest = _link(reader, verb, usage, words)
        if len(rest) > 1:
            raise reader.error(f"unexpected {quote(rest[1])}: expected '{verb} FROM TO [TYPE[#K]]'")
        message_type, nth = rest[0] if rest else None, 1
        if message_type is not None and "#" in message_type:
            message_type, _, count = message_type.partition("#")
            if not message_type or not is_whole(count) or int(count) < 1:
                raise reader.error(
                    f"bad message {quote(rest[0])}: expected TYPE#K with K a whole number "
                    "from 1, e.g. RequestVote#2 (the second-oldest RequestVote on the link)"
                )
            nth = int(count)
        fields = {"verb": verb, "src": src, "dst": dst, "message_type": message_type, "nth": nth}
        return choice_steps.ExactMessage, fields

    return parse


def _fire(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    args = Args(reader, f"fire NODE TIMER  (TIMER: {', '.join(TIMERS)})", words)
    node = args.node()
    timer = args.next("TIMER")
    if timer not in TIMERS:
        hint = close_match(timer, TIMERS)
        also = f" (did you mean {hint!r}?)" if hint else ""
        raise reader.error(
            f"unknown timer {quote(timer)}{also}: expected one of {', '.join(TIMERS)}"
        )
    args.end()
    return choice_steps.FireTimer, {"node": node, "timer": timer}


# -- clients and admin requests ----------------------------------------------------


def _submit(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    args = Args(reader, 'submit [NAME] "COMMAND" [to=NODE]', words, ("to", "as"))
    if len(args.words) > 2:
        raise reader.error(
            f"unexpected {quote(args.words[2])}: expected '{args.usage}' (quote the command)"
        )
    name = args.options.get("as")
    if len(args.words) == 2:
        if name is not None:
            raise reader.error(
                f"two names for one submit: {quote(args.words[0])} and as={quote(name)}"
            )
        name = args.next("NAME")
    command = reader.command(args.next('"COMMAND"'))
    to = reader.node(args.options["to"]) if "to" in args.options else None
    return steps.Submit, {"command": command, "to": to, "name": reader.define(name, "submit")}


def _timeout(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    args = Args(reader, "timeout NODE [after=DURATION]", words, ("after",))
    node = args.node()
    args.end()
    return steps.Timeout, {"node": node, "after": args.duration_option("after", 0.0)}


def _request(keyword: str) -> StepParser:
    """The parser of an admin request step (membership, transfer, snapshot)."""

    def parse(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
        method = REQUESTS[keyword]
        if not hasattr(Cluster, method):
            raise reader.error(f"step needs Cluster.{method}, not available in this version")
        usage = REQUEST_USAGE[keyword]
        allowed = ("as", "learners") if keyword == "change-members" else ("as",)
        args = Args(reader, usage, words, allowed)
        fields: dict[str, object] = {"method": method, "args": (), "options": {}}
        if keyword in ("add", "add-learner"):
            fields["args"] = (reader.new_node(args.next("NODE")),)
        elif keyword == "replace":
            fields["replace"] = (args.node("OLD"), reader.new_node(args.next("NEW")))
        elif keyword == "change-members":
            voters = [reader.new_node(i) for w in args.rest() for i in w.split(",") if i]
            if not voters:
                raise reader.error(f"missing NODE: expected '{usage}'")
            learners = []
            if "learners" in args.options:
                learners = reader.listed(args.options, "learners", "the learners, e.g. learners=n4")
            fields["args"] = (tuple(voters),)
            fields["options"] = {"learners": tuple(reader.new_node(i) for i in learners)}
        elif keyword == "transfer":
            fields["args"] = (args.node() if args.words else None,)
        else:
            fields["args"] = (args.node(),)
        args.end()
        fields["name"] = reader.define(args.options.get("as"), "request")
        return steps.Request, fields

    return parse


# In this order in the error for an unknown step.
STEPS: dict[str, StepParser] = {
    "narrate": _narrate,
    "run": _run,
    "crash": _one_node(steps.Crash, "crash NODE"),
    "restart": _one_node(steps.Restart, "restart NODE"),
    "partition": _partition,
    "isolate": _one_node(steps.Isolate, "isolate NODE"),
    "cut": _cut,
    "heal": _heal,
    "hold": _hold,
    "release": _release,
    "deliver": _exact_message("deliver"),
    "drop": _exact_message("drop"),
    "duplicate": _exact_message("duplicate"),
    "fire": _fire,
    "flush": _one_node(choice_steps.FlushDisk, "flush NODE"),
    "network": cluster_lines.network,
    "submit": _submit,
    "read": read_lines.read,
    "timeout": _timeout,
    **{k: _request(k) for k in REQUESTS},
    "pause": _pause,
    "expect": expect_lines.expect,
    "explain": explain_lines.explain,
}
