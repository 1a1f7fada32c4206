"""Values written in scenario files: durations, ranges, switches, node lists.

Each parser takes the text as written and returns a Python value, or raises
`BadValue` with a message saying what was expected; the caller adds the
file and line.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(us|µs|ms|s)$")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.\d*|\.\d+)(e-?\d+)?$")
SWITCHES = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


class BadValue(ValueError):
    """A value in a scenario file is not what the step expects."""


def duration(text: str, what: str = "duration") -> float:
    """`500ms`, `1.5s`, `200us` or `0`, in seconds."""
    if text == "0":
        return 0.0
    match = _DURATION.match(text)
    if not match:
        raise BadValue(f"bad {what} {text!r}: expected a number with a unit, e.g. 500ms or 1.5s")
    # Round to the microsecond so that 0.1 + 0.2 style noise never reaches the clock.
    return round(float(match[1]) * _UNITS[match[2]], 6)


def duration_range(text: str, what: str) -> tuple[float, float]:
    """`150ms..300ms` as a (low, high) pair of seconds."""
    low, sep, high = text.partition("..")
    if not sep:
        raise BadValue(f"bad {what} {text!r}: expected a range such as 2ms..8ms")
    return duration(low, what), duration(high, what)


def switch(text: str, what: str) -> bool:
    """`on`/`off` (also true/false, yes/no)."""
    try:
        return SWITCHES[text.lower()]
    except KeyError:
        raise BadValue(f"bad {what} {text!r}: expected on or off") from None


def integer(text: str, what: str, *, minimum: int = 0) -> int:
    if not _INT.match(text) or int(text) < minimum:
        raise BadValue(f"bad {what} {text!r}: expected a whole number >= {minimum}")
    return int(text)


def option_value(text: str) -> object:
    """A `key=value` option's value, typed by how it is written.

    on/off -> bool, 3 -> int, 0.25 -> float, 500ms -> seconds, 2ms..8ms ->
    (low, high) seconds; anything else stays a string. The option's owner
    (Cluster, set_network, ...) judges whether the value makes sense, so that
    options added to it later work from scenario files unchanged.
    """
    if text.lower() in SWITCHES:
        return SWITCHES[text.lower()]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if _DURATION.match(text):
        return duration(text)
    low, sep, high = text.partition("..")
    if sep:
        return (option_value(low), option_value(high))
    return text


def show_duration(seconds: float) -> str:
    """Seconds written back the way a scenario would write them."""
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
