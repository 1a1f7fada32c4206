"""One seed, split into named random streams.

Each concern (each node's election timeouts, the network, workloads, fault
schedules) draws from its own stream, so that changing how often one draws
never shifts the numbers another sees. Streams are seeded from a string, which
Python hashes with SHA-512: stable across runs and machines.
"""

from __future__ import annotations

import random


class Stream(random.Random):
    """A `random.Random` with a `randint` of our own.

    The network draws a latency for every message, so `randint` is on the hot
    path; the library's goes through three Python calls. Ours draws the very
    same numbers as CPython 3.11's (rejection sampling on `getrandbits`), in
    one call, and being ours it stays the same across Python versions, which
    only promise `random()` and `getrandbits()`.
    """

    def randint(self, a: int, b: int) -> int:
        """A uniform integer in [a, b]."""
        n = b - a + 1
        if n <= 0:
            raise ValueError(f"empty range for randint({a}, {b})")
        k = n.bit_length()
        r = self.getrandbits(k)
        while r >= n:  # fewer than two draws on average
            r = self.getrandbits(k)
        return a + r


class RandomStreams:
    """Named, independently seeded `random.Random` streams derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, Stream] = {}

    def stream(self, name: str) -> Stream:
        """The stream called `name`, created on first use."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(f"raftsim/{self.seed}/{name}")
        return stream
