"""sim.show.diagram: message sequence diagrams are well-formed SVG that show every message."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

from sim import Cluster
from sim.show.diagram import sequence_diagram, short_label

SVG = "{http://www.w3.org/2000/svg}"


@functools.cache
def _run() -> Cluster:
    """An election, a command, a partition that loses messages, and a crash."""
    c = Cluster(3, seed=1)
    assert c.run_until(lambda c: c.leader is not None, timeout=2.0)
    handle = c.submit("set x 1")
    assert c.run_until(lambda c: handle.committed, timeout=1.0)
    c.isolate("n3")
    c.run(0.2)
    c.heal()
    c.crash("n2")
    c.run(0.2)
    return c


def _groups(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == css_class]


def test_diagram_is_well_formed_xml_with_one_lifeline_per_node():
    c = _run()
    root = ET.fromstring(sequence_diagram(c.trace, nodes=list(c.nodes)))
    assert root.tag == f"{SVG}svg"
    lifelines = _groups(root, "lifeline")
    assert [g.get("data-node") for g in lifelines] == ["n1", "n2", "n3"]


def test_diagram_draws_one_arrow_per_delivered_message_and_marks_the_lost_ones():
    c = _run()
    root = ET.fromstring(sequence_diagram(c.trace))
    delivered = [e for e in c.trace if e.kind == "receive"]
    lost_on_the_way = [e for e in c.trace if e.kind == "drop"]
    assert len(delivered) > 20 and len(lost_on_the_way) > 3
    assert len(_groups(root, "message delivered")) == len(delivered)
    lost = _groups(root, "message lost")
    assert len(lost) >= len(lost_on_the_way)
    for group in lost:
        assert group.find(f"{SVG}path") is not None, "a lost message ends in a cross"
    tooltips = [g.find(f"{SVG}title").text for g in _groups(root, "message delivered")]
    assert any(" RequestVote(term 1, " in t and "delivered at" in t for t in tooltips)


def test_diagram_marks_elections_and_crashes_on_the_lifelines():
    c = _run()
    root = ET.fromstring(sequence_diagram(c.trace))
    labels = [g.find(f"{SVG}text").text for g in _groups(root, "mark")]
    leader = c.leader
    assert leader is not None
    assert "leader t1" in labels
    assert "CRASH" in labels
    network = [g.find(f"{SVG}text").text for g in _groups(root, "network")]
    assert network == [
        "network partitioned: {n3} | {n1,n2}",
        "network healed: every link works again",
    ]


def test_time_window_keeps_only_what_happens_inside_it():
    c = _run()
    start, end = 0.15, 0.25
    inside = [e for e in c.trace if start <= e.time <= end]
    root = ET.fromstring(sequence_diagram(c.trace, start=start, end=end))
    received = {e.msg_id for e in inside if e.kind == "receive"}
    sent = {e.msg_id for e in inside if e.kind == "send"}
    assert len(_groups(root, "message delivered")) == len(received & sent)
    assert len(_groups(root, "message delivered")) < sum(e.kind == "receive" for e in c.trace)


def test_empty_trace_still_gives_a_valid_diagram():
    root = ET.fromstring(sequence_diagram([], nodes=["n1", "n2"], title="nothing <yet>"))
    assert len(_groups(root, "lifeline")) == 2
    assert "nothing <yet>: empty" in "".join(root.itertext())


def test_arrow_labels_are_short():
    assert short_label("RequestVote(term 3, last log 7@2)") == "RequestVote t3"
    assert short_label("VoteResponse(term 3, granted)") == "vote yes t3"
    assert short_label("PreVoteResponse(term 2, refused)") == "pre-vote no t2"
    assert (
        short_label("AppendEntries(term 1, prev 3@1, entries 4..5, commit 3)") == "Append 4..5 t1"
    )
    assert short_label("AppendEntries(term 1, prev 3@1, no entries, commit 3)") == (
        "Append probe 3@1 t1"
    )
    assert short_label("AppendEntriesResponse(term 1, ok, match 5)") == "ok 5"
    assert short_label("Heartbeat(term 1, commit 3)") == "hb"
    assert short_label("TimeoutNow(term 4)") == "TimeoutNow t4"
    assert short_label("InstallSnapshot(term 1, up to 4@1)") == "Snapshot to 4@1 t1"
    assert short_label("InstallSnapshotResponse(term 1, ok, match 4)") == "snapshot ok 4"
