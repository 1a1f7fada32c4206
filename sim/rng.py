"""One seed, split into named random streams.

Each concern (each node's election timeouts, the network, workloads, fault
schedules) draws from its own stream, so that changing how often one draws
never shifts the numbers another sees. Streams are seeded from a string, which
Python hashes with SHA-512: stable across runs and machines.
"""

from __future__ import annotations

import random


class RandomStreams:
    """Named, independently seeded `random.Random` streams derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The stream called `name`, created on first use."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(f"raftsim/{self.seed}/{name}")
        return stream
