"""The notebook renderers (sim.show.notebook): pictures that say what the cluster holds.

The SVG must parse, carry one element per node and per log entry (so it can
be counted), colour entries by term, and mark what matters: committed or
not, configuration entries, snapshots, crashed nodes. The Player's handlers
must move the cluster (called directly, no browser).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim import Cluster
from sim.show.notebook import (
    Player,
    Story,
    cluster_svg,
    diagram,
    happens,
    term_colour,
    trace_html,
)

SVG = "{http://www.w3.org/2000/svg}"
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

FIGURE7 = {
    "n1": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
    "n2": [1, 1, 1, 4, 4, 5, 5, 6, 6],
    "n3": [1, 1, 1, 4],
    "n4": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    "n5": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    "n6": [1, 1, 1, 4, 4, 4, 4],
    "n7": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}


def _groups(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def _fill(entry: ET.Element) -> str:
    return entry.find(f"{SVG}rect").get("fill")


def _elected(n: int = 3, seed: int = 1, **options) -> Cluster:
    c = Cluster(n, seed=seed, **options)
    assert c.run_until(
        lambda c: c.leader is not None and all(v.commit_index >= 1 for v in c.nodes.values())
    )
    return c


def test_cluster_svg_is_well_formed_with_one_element_per_node_and_per_entry():
    c = Cluster(7, seed=1, initial_logs=FIGURE7)
    svg = cluster_svg(c)
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    nodes = _groups(svg, "node")
    assert [g.get("data-node") for g in nodes] == list(c.nodes)
    entries = _groups(svg, "entry")
    assert len(entries) == sum(len(terms) for terms in FIGURE7.values())
    for node, terms in FIGURE7.items():
        mine = [e for e in entries if e.get("data-node") == node]
        assert [int(e.get("data-term")) for e in mine] == terms
        assert [int(e.get("data-index")) for e in mine] == list(range(1, len(terms) + 1))


def test_entries_are_coloured_by_term_same_term_same_colour():
    c = Cluster(7, seed=1, initial_logs=FIGURE7)
    by_term: dict[int, set[str]] = {}
    for entry in _groups(cluster_svg(c), "entry"):
        by_term.setdefault(int(entry.get("data-term")), set()).add(_fill(entry))
    assert sorted(by_term) == [1, 2, 3, 4, 5, 6, 7]
    assert all(len(fills) == 1 for fills in by_term.values()), by_term
    colours = [by_term[term].pop() for term in sorted(by_term)]
    assert len(set(colours)) == len(colours), "different terms, different colours"
    assert colours == [term_colour(t) for t in sorted(by_term)]


def test_committed_and_uncommitted_entries_are_told_apart():
    c = _elected()
    handle = c.submit("set x 1")
    c.run(0.001)  # appended on the leader, not yet committed anywhere
    svg = cluster_svg(c)
    leader = [e for e in _groups(svg, "entry") if e.get("data-node") == c.leader]
    classes = [set(e.get("class").split()) for e in leader]
    assert "committed" in classes[0] and "uncommitted" in classes[-1]
    assert c.run_until(lambda c: all(v.commit_index >= handle.index for v in c.nodes.values()))
    entries = _groups(cluster_svg(c), "entry")
    assert entries and all("committed" in e.get("class").split() for e in entries)


def test_configuration_entries_and_snapshots_are_marked():
    c = _elected()
    handle = c.submit("set x 1")
    assert c.run_until(lambda c: handle.committed)
    first = _groups(cluster_svg(c), "entry")[0]
    assert "configuration" in first.get("class").split()
    assert first.get("data-kind") == "configuration"
    snap = c.snapshot(c.leader)
    assert c.run_until(lambda c: snap.outcome != "pending")
    snapshots = _groups(cluster_svg(c), "snapshot")
    assert [g.get("data-node") for g in snapshots] == [c.leader]
    assert int(snapshots[0].get("data-index")) == c.nodes[c.leader].snapshot_index


def test_crashed_nodes_are_marked():
    c = _elected()
    c.crash("n2")
    nodes = {g.get("data-node"): g for g in _groups(cluster_svg(c), "node")}
    assert "crashed" in nodes["n2"].get("class").split()
    assert nodes["n2"].get("data-running") == "false"
    assert nodes["n2"].get("data-role") == "down"
    assert all("crashed" not in nodes[n].get("class") for n in ("n1", "n3"))


def test_joint_configuration_is_shown_while_a_change_runs():
    c = _elected(3, seed=7)
    c.add_node("n4")
    assert c.run_until(lambda c: c.nodes[c.leader].members.is_joint, timeout=3)
    svg = cluster_svg(c)
    assert "joint {n1,n2,n3} + {n1,n2,n3,n4}" in svg
    assert len(_groups(svg, "node")) == 4


def test_messages_on_the_wire_are_listed():
    c = Cluster(3, seed=1)
    c.run_until(lambda c: len(c.in_flight) >= 2)
    messages = _groups(cluster_svg(c, messages=8), "message")
    assert len(messages) == min(8, len(c.in_flight))
    assert _groups(cluster_svg(c, messages=0), "message") == []


def test_messages_are_listed_the_same_with_no_trace():
    """trace="off" writes no sentence for a message: the picture describes the message."""
    listed = []
    for trace in ("full", "off"):
        c = Cluster(3, seed=1, trace=trace)
        c.run(0.5)
        assert c.run_until(lambda c: len(c.in_flight) >= 2)
        groups = _groups(cluster_svg(c, messages=8), "message")
        listed.append(["|".join(t.text for t in g.iter(f"{SVG}text")) for g in groups])
    assert listed[0] == listed[1] and len(listed[1]) >= 2
    assert listed[1][0].startswith("n1 → n2|lands in ") and "|Heartbeat(term 1" in listed[1][0]


def test_long_logs_show_only_the_last_indexes():
    c = _elected()
    for i in range(30):
        c.submit(f"set x {i}")
    assert c.run_until(lambda c: all(len(v.log) >= 31 for v in c.nodes.values()))
    entries = _groups(cluster_svg(c, max_entries=10), "entry")
    last = c.nodes[c.leader].log[-1].index
    assert {int(e.get("data-index")) for e in entries} == set(range(last - 9, last + 1))


def test_cluster_displays_itself_in_jupyter():
    c = Cluster(3, seed=1)
    html = c._repr_html_()
    assert "<svg" in html
    ET.fromstring(html)


def test_trace_html_one_line_per_event_escaped():
    c = Cluster(3, seed=1)
    events = c.run(0.3)
    html = trace_html(events, limit=len(events))
    root = ET.fromstring(html)
    lines = [d for d in root.iter("div") if d.get("class") == "event"]
    assert len(lines) == len(events)
    assert "->" not in html or "-&gt;" in html, "sentences are escaped"
    story = ET.fromstring(trace_html(events, story_only=True, limit=1000))
    kinds = {d.get("data-kind") for d in story.iter("div") if d.get("class") == "event"}
    assert kinds and not kinds & {"send", "receive", "flush", "timer"}
    assert "no events" in trace_html([])


def test_diagram_of_a_cluster_is_well_formed_svg():
    c = Cluster(3, seed=1)
    c.run(0.4)
    root = ET.fromstring(diagram(c, start=0.1, end=0.4, title="t"))
    assert root.find(f"{SVG}svg") is not None


def test_happens_waits_for_a_new_event():
    c = Cluster(3, seed=1)
    assert c.run_until(happens("leader", text="becomes leader"), timeout=2)
    assert any("becomes leader" in e.text for e in c.trace[-6:])
    leader = c.leader
    calm = happens("leader", text="becomes leader")
    assert not c.run_until(calm, timeout=0.5), "no new leader in a calm cluster"
    assert c.leader == leader
    c.crash(leader)
    assert c.run_until(calm, timeout=2), "the same condition sees the next election"
    assert c.leader != leader


def test_story_replays_chapter_by_chapter():
    story = Story(SCENARIOS / "leader-election.scenario")
    assert "Leader election" in story._repr_html_()
    chapters = []
    while not story.finished:
        story.next()
        chapters.append(story.chapter)
        html = story._repr_html_()
        assert story.chapter in html and "<svg" in html
    assert chapters[-1].startswith("3.")
    assert story.cluster.leader == "n3"
    assert "The end of the story" in story._repr_html_()


def test_player_buttons_move_the_cluster():
    pytest.importorskip("ipywidgets")
    c = Cluster(3, seed=1)
    player = Player(c)
    start = len(c.trace)
    picture = player.picture.value
    player.step_button.click()
    assert len(c.trace) > start
    assert player.slider.value == len(c.trace)
    assert player.picture.value != picture
    player.back_button.click()
    assert len(c.trace) == start
    player.unit.value = "story event"
    events = player.step()
    assert any(e.kind in ("timeout", "vote", "campaign", "pre-vote") for e in events)
    player.slider.max = 400
    player.slider.value = 300  # the user drags the slider
    assert len(c.trace) <= 300 and player.slider.value == len(c.trace)
    player.slider.value = 20
    assert len(c.trace) <= 20
    assert player.tick() is True
    assert "leader" in player.status.value


def test_player_on_a_story_stops_at_its_pause_points_with_narration():
    pytest.importorskip("ipywidgets")
    story = Story(SCENARIOS / "split-vote.scenario")
    player = Player(story)
    assert player.slider.max == story.player.end
    player.stop_button.click()
    assert story.chapter.startswith("1.") and "Two candidates" in player.narration.value
    player.stop_button.click()
    assert story.chapter.startswith("2.")
    bundle = player._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<svg" in bundle["text/html"]
    while not story.finished:
        player.stop_button.click()
    assert player.tick() is False, "Play stops at the end of the story"
