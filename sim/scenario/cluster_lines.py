"""The lines that set the cluster up: `cluster`, `log` and `network`.

`cluster nodes=5 seed=1 ...` gives the options for `Cluster(...)`, checked
against its signature (name, and the kind of its default), so a misspelt
option is an error with a suggestion rather than a surprise at run time.
`log NODE TERM...` lines give logs already on disk, as in the paper's
figures. `network KEY=VALUE ...` changes the network mid-story, with the
options of `Cluster.set_network`.
"""

from __future__ import annotations

import difflib
import inspect

from raft.bugs import BUGS
from sim.cluster import Cluster
from sim.scenario import steps
from sim.scenario.model import Step
from sim.scenario.reader import Args, Reader, parameters
from sim.scenario.values import option_value


def cluster(reader: Reader, words: list[str]) -> None:
    """The `cluster` line: the options of the cluster, and so its node ids."""
    known = ["nodes", *parameters(Cluster.__init__, skip=("n", "initial_logs"))]
    args = Args(reader, "cluster nodes=N seed=S [OPTION=VALUE ...]", words, None)
    args.end()
    for key in args.options:
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            also = f" (did you mean {hint[0]}=?)" if hint else ""
            raise reader.error(
                f"the cluster has no option {key}={also}; options: {', '.join(known)}"
            )
    options: dict[str, object] = {}
    for key, text in args.options.items():
        if key == "bugs":
            # A list of bug switch names (raft/bugs.py), e.g. bugs=double_vote,no_truncate.
            unknown = [name for name in text.split(",") if name not in BUGS]
            if unknown:
                raise reader.error(
                    f"unknown bug switch {', '.join(unknown)}; known: {', '.join(sorted(BUGS))}"
                )
            options["bugs"] = tuple(text.split(","))
            continue
        value = option_value(text)
        _check_kind(reader, key, text, value)
        options["n" if key == "nodes" else key] = value
    n = options.get("n", 3)
    if not isinstance(n, int) or n < 1:
        raise reader.error(f"bad nodes {args.options['nodes']!r}: expected a whole number >= 1")
    reader.options = options
    reader.nodes = [f"n{i}" for i in range(1, n + 1)]
    reader.cluster_line = reader.lineno


def _check_kind(reader: Reader, key: str, text: str, value: object) -> None:
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
        raise reader.error(f"bad {key} {text!r}: expected {expected}")


def log(reader: Reader, words: list[str]) -> None:
    """A `log NODE TERM...` line: the log of a node as it is on disk at the start."""
    args = Args(reader, "log NODE TERM...", words)
    if reader.steps:
        raise reader.error("'log' lines (logs already on disk) go right after the 'cluster' line")
    node = args.node()
    if node in reader.logs:
        raise reader.error(f"the log of {node} is given twice")
    reader.logs[node] = reader.entries(args.rest(), allow_empty=False)


def network(reader: Reader, words: list[str]) -> tuple[type[Step], dict]:
    """The `network` step: new settings for the network, from now on."""
    known = parameters(Cluster.set_network)
    args = Args(reader, f"network {' '.join(k + '=...' for k in known)}", words, known)
    args.end()
    if not args.options:
        raise reader.error(f"missing settings: expected '{args.usage}'")
    return steps.Network, {"options": {k: option_value(v) for k, v in args.options.items()}}
