"""Named random streams and the network's own `randint` (sim/engine/rng.py)."""

from __future__ import annotations

import random

import pytest

from sim.engine.rng import RandomStreams, Stream


def test_streams_are_named_and_independent():
    streams = RandomStreams(7)
    a = [streams.stream("network").randint(0, 1000) for _ in range(20)]
    # Drawing from another stream in between does not shift the first one.
    again = RandomStreams(7)
    b = []
    for _ in range(20):
        again.stream("election/n1").random()
        b.append(again.stream("network").randint(0, 1000))
    assert a == b
    assert a != [RandomStreams(8).stream("network").randint(0, 1000) for _ in range(20)]


@pytest.mark.parametrize("low, high", [(0, 0), (0, 1), (1, 7), (1_000, 15_000), (0, 2**40)])
def test_randint_stays_in_range_and_reaches_both_ends(low, high):
    rng = Stream("range")
    draws = [rng.randint(low, high) for _ in range(4000)]
    assert min(draws) >= low and max(draws) <= high
    if high - low < 10:
        assert set(draws) == set(range(low, high + 1))


def test_randint_draws_what_the_transcripts_were_recorded_with():
    # The first latencies of seed 1's network stream, as CPython 3.11's
    # random.Random.randint drew them when the transcripts were recorded. Ours
    # must go on drawing exactly these, whatever the Python version.
    rng = RandomStreams(1).stream("network")
    assert [rng.randint(1000, 15000) for _ in range(8)] == [
        2150,
        12147,
        12224,
        6271,
        5492,
        11187,
        12670,
        7048,
    ]


def test_randint_agrees_with_the_librarys_on_many_seeds_and_ranges():
    for seed in range(20):
        ours, theirs = Stream(f"seed {seed}"), random.Random(f"seed {seed}")
        for low, high in [(1, 1), (0, 7), (1_000, 15_000), (3, 4)]:
            assert [ours.randint(low, high) for _ in range(100)] == [
                theirs.randint(low, high) for _ in range(100)
            ]


def test_randint_refuses_an_empty_range():
    with pytest.raises(ValueError, match="empty range"):
        Stream("x").randint(5, 4)
