"""The `explain` step: `explain commit INDEX` and `explain leader` print the answer of
`Cluster.explain` into the story, under the step, at that moment of the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from sim.scenario.model import Step
from sim.scenario.reader import Args, Reader
from sim.scenario.values import integer
from sim.scenario.words import quote

if TYPE_CHECKING:
    from sim.scenario.context import RunContext

USAGE = "explain commit INDEX  or  explain leader"


@attrs.frozen(kw_only=True)
class Explain(Step):
    """`explain commit INDEX` (why that entry is or is not committed on the leader) or
    `explain leader` (why there is or is no leader): `Cluster.explain`, told in the story."""

    index: int | None

    def execute(self, run: RunContext) -> None:
        for line in str(run.cluster.explain(self.index)).splitlines():
            run.note(line)


def explain(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    """Read the words after `explain`."""
    args = Args(reader, USAGE, words)
    what = args.next("'commit INDEX' or 'leader'")
    index = None
    if what == "commit":
        index = args.value(args.next("INDEX"), _index, "index")
    elif what != "leader":
        raise reader.error(f"unknown {quote(what)}: expected '{USAGE}'")
    args.end()
    return Explain, {"index": index}


def _index(text: str, what: str) -> int:
    return integer(text, what, minimum=1)
