"""The trace container (sim/engine/trace.py): a sequence of TraceEvents the GC need not walk."""

from __future__ import annotations

import copy
import gc
import pickle

from sim import Cluster
from sim.engine.trace import Trace, TraceEvent


def events(n: int) -> list[TraceEvent]:
    return [TraceEvent(i, i * 10, "n1", "Node", "note", f"event {i}") for i in range(n)]


def test_reads_like_a_list_of_trace_events():
    trace = Trace(events(5))
    assert len(trace) == 5
    assert trace[0] == events(5)[0] and isinstance(trace[0], TraceEvent)
    assert trace[-1].text == "event 4"
    assert trace[1:3] == events(5)[1:3]
    assert list(trace) == events(5)
    assert [e.index for e in reversed(trace)] == [4, 3, 2, 1, 0]
    assert trace == events(5) and trace == Trace(events(5)) and trace != Trace(events(4))


def test_cuts_from_either_end_as_time_travel_and_bounded_history_do():
    trace = Trace(events(10))
    del trace[7:]
    del trace[:2]
    assert [e.index for e in trace] == [2, 3, 4, 5, 6]


def test_the_garbage_collector_stops_tracking_a_clusters_trace():
    # The point of the class: a NamedTuple stays tracked forever, a plain tuple
    # of plain values is untracked at the first collection that sees it.
    c = Cluster(3, seed=1)
    c.run(0.5)
    gc.collect()
    rows = c.trace.rows
    assert len(rows) > 50
    assert not any(gc.is_tracked(row) for row in rows)
    assert gc.is_tracked(TraceEvent(0, 0, None, "Node", "note", "x"))


def test_a_copy_is_a_trace_of_its_own():
    trace = Trace(events(3))
    for twin in (copy.deepcopy(trace), copy.copy(trace), pickle.loads(pickle.dumps(trace))):
        assert twin == trace
        twin.rows.append(tuple(events(4)[3]))
        assert len(twin) == 4 and len(trace) == 3
