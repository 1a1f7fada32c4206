"""Read lines: `read NAME KEY [mode=MODE] [on NODE]`, `expect read NAME ...`, `run until read NAME`.

Checked before running, as every line is: the name is new (for `read`) or
names an earlier read, the key is one word a `get` accepts, the mode is known,
the node belongs to the cluster.
"""

from __future__ import annotations

from sim.cluster import Cluster
from sim.scenario import reads
from sim.scenario.model import Step
from sim.scenario.reader import Args, Reader
from sim.scenario.words import close_match, quote

USAGE = "read NAME KEY [mode=log|read_index|lease|local] [on NODE]"
DEFAULT_MODE = "read_index"
# `expect read NAME WORD`: these words are outcomes; any other word is the value read.
EXPECT_USAGE = "expect read NAME VALUE|none|refused|pending|failed"


def read(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    """A `read` step."""
    args = Args(reader, USAGE, words, ("mode",))
    name = args.next("NAME")
    if args.words[:1] == ["on"] and len(args.words) == 2:
        raise reader.error(f"missing KEY before 'on': expected '{USAGE}'")
    key = args.next("KEY")
    if not key or any(c.isspace() for c in key):
        raise reader.error(f"bad KEY {quote(key)}: a key is one word without spaces")
    to = None
    if args.words:
        if args.words[0] != "on":
            raise reader.error(f"unexpected {quote(args.words[0])}: expected '{USAGE}'")
        args.next("'on'")
        to = args.node()
        args.end()
    mode = args.options.get("mode", DEFAULT_MODE)
    if mode not in reads.READ_MODES:
        hint = close_match(mode, reads.READ_MODES)
        also = f" (did you mean {hint!r}?)" if hint else ""
        raise reader.error(
            f"bad mode {quote(mode)}{also}: expected one of {', '.join(reads.READ_MODES)}"
        )
    if mode != "log" and not hasattr(Cluster, "read"):
        raise reader.error("step needs Cluster.read, not available in this version")
    fields = {"name": reader.define(name, "read"), "key": key, "mode": mode, "to": to}
    return reads.Read, fields


def claim(reader: Reader, args: Args) -> reads.ReadIs:
    """The words after `expect read`."""
    sub = Args(reader, EXPECT_USAGE, args.rest())
    name = reader.handle(sub.next("NAME"), "read")
    word = sub.next("VALUE or OUTCOME")
    sub.end()
    if word == "done":
        raise reader.error(
            f"'done' is not a value: expect the value read ('{EXPECT_USAGE}'), "
            f"or write 'expect outcome {name} done'"
        )
    if word in reads.OUTCOMES:
        return reads.ReadIs(name, word)
    return reads.ReadIs(name, "done", None if word == reads.ABSENT else word)


def condition(reader: Reader, args: Args) -> reads.ReadAnswered:
    """The words after `run until read`."""
    return reads.ReadAnswered(reader.handle(args.next("NAME of a read"), "read"))
