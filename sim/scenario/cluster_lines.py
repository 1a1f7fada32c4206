"""The lines that set the cluster up: `cluster`, `log` and `network`.

`cluster nodes=5 seed=1 ...` gives the options for `Cluster(...)`, checked
against its signature (name, and the kind of its default), so a misspelt
option is an error with a suggestion rather than a surprise at run time.
`log NODE TERM...` lines give logs already on disk, as in the paper's
figures. `network KEY=VALUE ...` changes the network mid-story, with the
options of `Cluster.set_network`, checked as it checks them (so `raftsim check`
refuses what the run would refuse).
"""

from __future__ import annotations

import inspect

from raft.bugs import BUGS
from sim import arguments as arg
from sim.cluster import Cluster
from sim.scenario import steps
from sim.scenario.model import Step
from sim.scenario.reader import Args, Reader, parameters
from sim.scenario.values import BadValue, is_number, option_value
from sim.scenario.words import close_match, excerpt, quote

# Options whose value is a probability (the other floats are durations).
PROBABILITIES = ("drop", "duplicate")


def cluster(reader: Reader, words: list[str]) -> None:
    """The `cluster` line: the options of the cluster, and so its node ids."""
    known = ["nodes", *parameters(Cluster.__init__, skip=("n", "initial_logs"))]
    args = Args(reader, "cluster nodes=N seed=S [OPTION=VALUE ...]", words, None)
    args.end()
    for key in args.options:
        if key not in known:
            hint = close_match(key, known)
            also = f" (did you mean {hint}=?)" if hint else ""
            raise reader.error(
                f"the cluster has no option {excerpt(key)}={also}; options: {', '.join(known)}"
            )
    options: dict[str, object] = {}
    for key, text in args.options.items():
        if key == "bugs":
            options["bugs"] = _bugs(reader, text)
        else:
            options["n" if key == "nodes" else key] = _value(reader, key, text)
    n = options.get("n", 3)
    if not isinstance(n, int) or not 1 <= n <= arg.MAX_NODES:
        raise reader.error(
            f"bad nodes {quote(args.options['nodes'])}: expected a whole number "
            f"from 1 to {arg.MAX_NODES}"
        )
    reader.options = options
    reader.nodes = [f"n{i}" for i in range(1, n + 1)]
    reader.cluster_line = reader.lineno


def _bugs(reader: Reader, text: str) -> tuple[str, ...]:
    """A list of bug switch names (raft/bugs.py), e.g. bugs=double_vote,no_truncate."""
    names = text.split(",")
    known = ", ".join(sorted(BUGS))
    if not all(names):
        raise reader.error(
            f"bad bugs {quote(text)}: expected names of bug switches separated by commas, "
            f"without empty ones; known: {known}"
        )
    unknown = [name for name in names if name not in BUGS]
    if unknown:
        raise reader.error(f"unknown bug switch {excerpt(unknown[0])}; known: {known}")
    return tuple(names)


def _value(reader: Reader, key: str, text: str) -> object:
    """An option's value, typed by how it is written and of the kind `Cluster` expects."""
    try:
        value = option_value(text, key)
    except BadValue as error:
        raise reader.error(str(error)) from None
    _check_kind(reader, key, text, value)
    return value


def _check_kind(reader: Reader, key: str, text: str, value: object) -> None:
    """An option's value must be of the kind of `Cluster`'s default for it."""
    parameter = inspect.signature(Cluster.__init__).parameters.get("n" if key == "nodes" else key)
    default = None if parameter is None else parameter.default

    def number(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok, expected = isinstance(value, bool), "on or off"
    elif isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif key in PROBABILITIES:
        ok, expected = number(value) and is_number(text), "a probability between 0 and 1"
    elif isinstance(default, float):
        ok, expected = number(value), "a duration such as 50ms, or a number"
    elif isinstance(default, tuple):
        ok = isinstance(value, tuple) and all(map(number, value))
        expected = "a range such as 150ms..300ms"
    else:
        return  # strings and options without a default: the Cluster judges them
    if not ok:
        raise reader.error(f"bad {key} {quote(text)}: expected {expected}")


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
    options = {key: _value(reader, key, text) for key, text in args.options.items()}
    try:
        arg.network(**options)
    except ValueError as error:
        raise reader.error(str(error)) from None
    return steps.Network, {"options": options}
