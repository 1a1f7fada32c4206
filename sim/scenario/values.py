"""Values written in scenario files: durations, ranges, switches, node lists.

Each parser takes the text as written and returns a Python value, or raises
`BadValue` with a message saying what was expected; the caller adds the
file and line.
"""

from __future__ import annotations

import math
import re

from sim.arguments import MAX_SECONDS
from sim.scenario.words import quote

# Digits are ASCII digits only: "١" is a digit to str.isdigit() but not a number here.
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_DURATION = re.compile(rf"({_NUMBER})(us|µs|ms|s)")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?([0-9]+\.[0-9]*|\.[0-9]+)(e-?[0-9]+)?")
# More digits than any count, index or seed needs (and int() of a huge string is slow).
MAX_DIGITS = 30
SWITCHES = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


class BadValue(ValueError):
    """A value in a scenario file is not what the step expects."""


def is_whole(text: str) -> bool:
    """`text` is a whole number written in ASCII digits (no sign)."""
    return text.isascii() and text.isdigit()


def is_number(text: str) -> bool:
    """`text` is a plain number: 3, -1, 0.25 (no unit)."""
    return bool(_INT.fullmatch(text) or _FLOAT.fullmatch(text))


def duration(text: str, what: str = "duration") -> float:
    """`500ms`, `1.5s`, `200us` or `0`, in seconds (at most one simulated day)."""
    if text == "0":
        return 0.0
    match = _DURATION.fullmatch(text)
    if not match:
        raise BadValue(
            f"bad {what} {quote(text)}: expected a number with a unit, e.g. 500ms or 1.5s"
        )
    seconds = float(match[1]) * _UNITS[match[2]]
    if not seconds <= MAX_SECONDS:
        raise BadValue(f"bad {what} {quote(text)}: at most {MAX_SECONDS}s (one simulated day)")
    # Round to the microsecond so that 0.1 + 0.2 style noise never reaches the clock.
    return round(seconds, 6)


def duration_range(text: str, what: str) -> tuple[float, float]:
    """`150ms..300ms` as a (low, high) pair of seconds, low not above high."""
    low, sep, high = text.partition("..")
    if not sep:
        raise BadValue(f"bad {what} {quote(text)}: expected a range such as 2ms..8ms")
    pair = duration(low, what), duration(high, what)
    if pair[0] > pair[1]:
        raise BadValue(f"bad {what} {quote(text)}: {low} is after {high}")
    return pair


def switch(text: str, what: str) -> bool:
    """`on`/`off` (also true/false, yes/no)."""
    try:
        return SWITCHES[text.lower()]
    except KeyError:
        raise BadValue(f"bad {what} {quote(text)}: expected on or off") from None


def integer(text: str, what: str, *, minimum: int = 0) -> int:
    """A whole number (ASCII digits, an optional minus) of at least `minimum`."""
    if not _INT.fullmatch(text) or len(text) > MAX_DIGITS or int(text) < minimum:
        raise BadValue(f"bad {what} {quote(text)}: expected a whole number >= {minimum}")
    return int(text)


def option_value(text: str, what: str) -> object:
    """A `key=value` option's value, typed by how it is written.

    on/off -> bool, 3 -> int, 0.25 -> float, 500ms -> seconds, 2ms..8ms ->
    (low, high) seconds; anything else stays a string. The option's owner
    (Cluster, set_network, ...) judges whether the value makes sense, so that
    options added to it later work from scenario files unchanged. A number too
    large to mean anything (1.0e999, thirty-one digits) is refused here.
    """
    if text.lower() in SWITCHES:
        return SWITCHES[text.lower()]
    if _INT.fullmatch(text):
        if len(text.lstrip("-")) > MAX_DIGITS:
            raise BadValue(f"bad {what} {quote(text)}: too large a number")
        return int(text)
    if _FLOAT.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):
            raise BadValue(f"bad {what} {quote(text)}: too large a number")
        return number
    if _DURATION.fullmatch(text):
        return duration(text, what)
    low, sep, high = text.partition("..")
    if sep:
        return (option_value(low, what), option_value(high, what))
    return text


def show_duration(seconds: float) -> str:
    """Seconds written back the way a scenario would write them."""
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
