"""The trace container (sim/engine/trace.py): a sequence of TraceEvents the GC need not walk."""

from __future__ import annotations

import copy
import gc
import pickle

from raft.outputs import Note, sentence
from sim import Cluster
from sim.engine.trace import Trace, TraceEvent, TraceSlice, row_of, text_of


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
        twin.rows.append(row_of(events(4)[3]))
        assert len(twin) == 4 and len(trace) == 3 and twin[3] == events(4)[3]


# -- sentences written out when read ----------------------------------------------


def test_a_sentence_is_its_template_filled_with_its_arguments_when_read():
    assert sentence("n1 ", "accepts {!r} as entry {}@{}", ("set x 1", 4, 2)) == (
        "n1 accepts 'set x 1' as entry 4@2"
    )
    assert sentence("", "lands in {:g} ms", (2.5,)) == "lands in 2.5 ms"
    # Without arguments the template is the sentence as it is, braces and all.
    assert sentence("n1 ", "is now a follower in {n1,n2}", ()) == "n1 is now a follower in {n1,n2}"
    note = ("LogManager", "append", None, "n2 LogManager: ", "appends {}", "entry 3")
    note = tuple.__new__(Note, note)
    assert (note.component, note.kind, note.args) == ("LogManager", "append", ("entry 3",))
    assert note.text == "n2 LogManager: appends entry 3"


def test_every_trace_row_holds_plain_values_so_no_sentence_can_change_after_the_fact():
    # Elections, load, a crash and a restart, a partition, a lossy network, a snapshot,
    # a membership change and a transfer: every kind of note and event the engine makes.
    c = Cluster(5, seed=3, drop=0.1, duplicate=0.1, snapshot_interval=5)
    c.run_until(lambda c: c.leader is not None)
    for i in range(20):
        c.submit(f"set k{i} {i}")
        c.run(0.01)
    c.crash(c.leader)
    c.partition(["n1", "n2"])
    c.run(1.0)
    c.heal()
    c.restart(next(n for n, v in c.nodes.items() if not v.running))
    c.run(1.0)
    c.add_node("n6")
    c.run(1.0)
    c.transfer_leadership()
    c.run(1.0)
    plain = (str, int, float, bool, type(None))
    assert len({row[4] for row in c.trace.rows}) > 20
    assert all(type(value) in plain for row in c.trace.rows for value in row[8:])
    assert all(type(row[7]) is str for row in c.trace.rows)
    # A row begins as its TraceEvent does, so readers of rows find node, component and kind.
    assert all(row[:5] == event[:5] for row, event in zip(c.trace.rows, c.trace, strict=True))
    assert [text_of(row) for row in c.trace.rows] == [event.text for event in c.trace]


def test_run_and_step_return_lazy_slices_that_read_like_lists():
    c = Cluster(3, seed=1)
    start = len(c.trace)  # the nodes' start-up notes
    added = c.run(0.5)
    assert isinstance(added, TraceSlice) and len(added) > 50
    assert added == list(c.trace)[start:] and added == c.trace[start:]
    assert added[3] == c.trace[start + 3] and added[-1] == c.trace[-1]
    assert added[2:5] == list(c.trace)[start + 2 : start + 5]
    assert repr(added[:2]) == repr(list(c.trace)[start : start + 2])
    step = c.step()
    both = added + step
    assert isinstance(both, list) and both == list(c.trace)[start:]
    events = []
    events += step
    assert events == step and [*step] == events
    assert c.run(0.0) == [] and not c.run(0.0)


def test_a_returned_slice_keeps_its_events_when_the_trace_is_cut_later():
    c = Cluster(3, seed=1)
    c.run(0.5)
    added = c.run(0.2)
    before = list(added)
    assert before
    c.goto(10)
    assert len(c.trace) < len(before) and added == before
