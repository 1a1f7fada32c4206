"""The event heap: the only thing that advances simulated time.

Events are ordered by (time, sequence number); the sequence number breaks ties
in the order events were scheduled, so the order never depends on the payload.
Time is an integer number of microseconds.
"""

from __future__ import annotations

import heapq
from typing import Any

DELIVER = 0  # payload: message id in flight
TIMER = 1  # payload: (node, timer name, token)
FLUSH = 2  # payload: (node, disk generation)


class EventQueue:
    """A min-heap of (time, seq, kind, payload) tuples.

    `heap` is readable (the engine peeks at its head on every step); only
    `push` and `pop` change it.
    """

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0

    def push(self, time: int, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (time, self._seq, kind, payload))

    def pop(self) -> tuple[int, int, int, Any]:
        return heapq.heappop(self.heap)
