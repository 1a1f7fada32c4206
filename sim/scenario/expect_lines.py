"""Expectation lines: `expect CLAIM`, turned into an `Expect` step and its `Expectation`.

Each claim is read the way the cluster would be described: node ids are
checked against the cluster, commands against the key-value state machine,
names against the submits and requests above the line, so a typo is an
error before the run rather than a failed expectation during it.
"""

from __future__ import annotations

from sim.scenario import expectations as exp
from sim.scenario import read_lines, reads, steps
from sim.scenario.model import Step
from sim.scenario.reader import Args, Reader
from sim.scenario.values import integer
from sim.scenario.words import close_match, excerpt, quote

# What became of a submit (SubmitHandle.outcome) or an admin request (AdminHandle.outcome).
OUTCOMES = {
    "submit": ("refused", "pending", "committed", "unknown"),
    "request": ("refused", "pending", "done", "failed"),
    "read": reads.OUTCOMES,
}


def expect(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    """An `expect` line."""
    usage = (
        "leader NODE|exists, no leader, term WHO T, role WHO ROLE, commit WHO INDEX, "
        "durable WHO INDEX, snapshot WHO INDEX, value WHO KEY VALUE, "
        "log WHO TERM..., applied WHO COMMAND..., members WHO NODE..., vote WHO NODE|none, "
        "committed|done|accepted|refused NAME, outcome NAME OUTCOME, result NAME VALUE, "
        "read NAME VALUE|refused|pending|failed, no violations, violation PROPERTY, "
        "linearizable"
    )
    args = Args(reader, f"expect CLAIM with CLAIM one of: {usage}", words, None)
    what = args.next("CLAIM")
    allowed = ("learners", "old") if what == "members" else ()
    for key in args.options:
        if key not in allowed:
            raise reader.error(f"unknown option {excerpt(key)}= for 'expect {excerpt(what)}'")
    expectation = _claim(reader, what, args, usage)
    args.end()
    return steps.Expect, {"expectation": expectation}


def _claim(reader: Reader, what: str, args: Args, usage: str) -> exp.Expectation:
    if what == "linearizable":
        return exp.Linearizable()
    if what == "leader":
        node = args.next("NODE or 'exists'")
        if node == "exists":
            return exp.LeaderIs(None, exists=True)
        return exp.LeaderIs(reader.node(node))
    if what == "no":
        thing = args.next("'leader' or 'violations'")
        if thing == "leader":
            return exp.LeaderIs(None)
        if thing in ("violations", "violation"):
            return exp.NoViolations()
        raise reader.error(
            f"expected 'expect no leader' or 'expect no violations', got {quote(thing)}"
        )
    if what == "violation":
        return exp.ViolationSeen(args.next('"PROPERTY" (e.g. "Election Safety")'))
    if what in ("term", "commit", "durable", "snapshot"):
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        number = args.value(args.next("T" if what == "term" else "INDEX"), integer, what)
        kind = {
            "term": exp.TermIs,
            "commit": exp.CommitIs,
            "durable": exp.DurableIs,
            "snapshot": exp.SnapshotIs,
        }[what]
        return kind(who, number)
    if what == "value":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        key = args.next("KEY")
        value = args.next("VALUE (or none)")
        return exp.ValueIs(who, None if value == "none" else value, key=key)
    if what == "role":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        return exp.RoleIs(who, reader.role(args.next("ROLE")))
    if what == "vote":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        voted = args.next("NODE or none")
        return exp.VoteIs(who, None if voted == "none" else reader.node(voted))
    if what == "log":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        entries = reader.entries(args.rest(), allow_empty=True)
        value = tuple(e if isinstance(e, tuple) else (e, None) for e in entries)
        return exp.LogIs(who, value)
    if what == "applied":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        commands = args.rest()
        if not commands:
            raise reader.error('missing COMMAND: expected commands ("set x 1" ...) or none')
        value = () if commands == ["none"] else tuple(reader.command(c) for c in commands)
        return exp.AppliedIs(who, value)
    if what == "members":
        who = reader.who(args.next("WHO (a node, n1,n2 or all)"))
        ids = [i for w in args.rest() for i in w.split(",") if i]
        return exp.MembersAre(who, reader.configuration(ids, args.options))
    if what in ("committed", "done"):
        kind = "submit" if what == "committed" else "request"
        return exp.HandleIs(reader.handle(args.next("NAME"), kind), "outcome", what)
    if what in ("accepted", "refused"):
        return exp.HandleIs(reader.handle(args.next("NAME")), "accepted", what == "accepted")
    if what == "outcome":
        name = reader.handle(args.next("NAME"))
        outcome = args.next("OUTCOME")
        choices = OUTCOMES[reader.names[name][1]]
        if outcome not in choices:
            raise reader.error(
                f"bad outcome {quote(outcome)} for the {reader.names[name][1]} {name}: "
                f"expected one of {', '.join(choices)}"
            )
        return exp.HandleIs(name, "outcome", outcome)
    if what == "read":
        return read_lines.claim(reader, args)
    if what == "result":
        name = reader.handle(args.next("NAME"), "submit")
        return exp.HandleIs(name, "result", args.next("VALUE"))
    hint = close_match(what, _CLAIMS)
    also = f" (did you mean {hint!r}?)" if hint else ""
    raise reader.error(f"unknown expectation {quote(what)}{also}: expected one of {usage}")


_CLAIMS = [
"leader", "no", "violation", "term", "commit", "durable", "snapshot", "value", "role",
"vote", "log", "applied", "members", "committed", "done", "accepted", "refused", "outcome",
"result", "read",
]  # fmt: skip
