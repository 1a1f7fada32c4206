"""The words of a line: split the way a shell splits them, and quoted back in errors.

Theory of operation: a line is read piece by piece with one regular
expression, a piece being a run of blanks, a quoted string, an escaped
character or a run of plain characters, so the work grows with the number
of words, not with their length (a line of a million characters is one
piece). Quoting follows POSIX shells and Python's `shlex`: "double quotes"
(where a backslash escapes `"` and itself), 'single quotes' (no escapes), a
backslash outside quotes escapes the next character, and quoted parts join
the characters around them (`4:"set x 1"` is one word). A `#` at the start
of a word begins a comment; inside quotes or inside a word it is a `#`.

An error that shows a word shows at most `EXCERPT` characters of it, so a
huge word makes a short error line.
"""

from __future__ import annotations

import difflib
import re

EXCERPT = 60
BLANKS = " \t\r\n"

_PIECE = re.compile(
    r"""
      (?P<blank>[ \t\r\n]+)
    | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
    | '(?P<single>[^']*)'
    | \\(?P<escaped>.)
    | (?P<plain>[^ \t\r\n"'\\]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPED_IN_DOUBLE = re.compile(r'\\(["\\])')


class SplitError(ValueError):
    """A line cannot be split into words (an unclosed quote, a backslash at the end)."""


def split(line: str) -> tuple[list[str], str]:
    """The words of `line`, and the line as written up to its comment (stripped)."""
    words: list[str] = []
    word: list[str] | None = None  # the pieces of the word being read, None between words
    position, end = 0, len(line)
    while position < end:
        if word is None and line[position] == "#":
            end = position
            break
        piece = _PIECE.match(line, position)
        if piece is None:
            if line[position] == "\\":
                raise SplitError("no escaped character")
            raise SplitError("no closing quotation")
        position = piece.end()
        kind = piece.lastgroup
        if kind == "blank":
            if word is not None:
                words.append("".join(word))
                word = None
            continue
        text = piece[kind]
        if kind == "double":
            text = _ESCAPED_IN_DOUBLE.sub(r"\1", text)
        if word is None:
            word = []
        word.append(text)
    if word is not None:
        words.append("".join(word))
    return words, line[:end].strip(BLANKS)


def quote(text: str) -> str:
    """`text` as repr() shows it, cut to its first EXCERPT characters if longer."""
    if len(text) <= EXCERPT:
        return repr(text)
    return f"{text[:EXCERPT]!r}… ({len(text):,} characters)"


def excerpt(text: str) -> str:
    """`text` as it is, cut to its first EXCERPT characters if longer."""
    return text if len(text) <= EXCERPT else f"{text[:EXCERPT]}…"


def one_line(message: str, limit: int = 1000) -> str:
    """`message` on one line, its middle left out if it is longer than `limit`
    (the start says what was wrong, the end often what was expected)."""
    message = " ".join(message.splitlines())
    if len(message) <= limit:
        return message
    half = limit // 2
    return f"{message[:half]} … {message[-half:]}"


def close_match(word: str, choices: list[str]) -> str | None:
    """The choice `word` was most likely meant to be (a typo's correction), if any."""
    if len(word) > 2 * max(map(len, choices), default=0):
        return None  # far too long to be a typo; and difflib's cost grows with the length
    found = difflib.get_close_matches(word, choices, n=1)
    return found[0] if found else None
