"""The ring view (sim/show/ring.py): servers on a circle, messages flying between them.

The picture must be geometrically sound (every server inside the picture, no
two overlapping, each message on its link at the fraction of its trip done),
show what matters (roles, timers, partitions, cuts, crashes) as elements a
test can find, and be the same bytes for the same moment. The commands that
write it (`raftsim run --ring DIR`, `raftsim watch --ring FILE`) and the
Player's ring view are checked here too.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim import Cluster
from sim.cli import main
from sim.scenario import load
from sim.scenario.steps import Expect
from sim.show.live import RingFile
from sim.show.ring import GAP, LANE, TIMER, ring_layout, ring_svg

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parent.parent
STORY = ROOT / "scenarios" / "split-vote.scenario"


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _groups(svg: str, cls: str) -> list[ET.Element]:
    return [g for g in _root(svg).iter(f"{SVG}g") if cls in g.get("class", "").split()]


def _servers(svg: str) -> dict[str, tuple[float, float, float]]:
    """Each server's circle: centre and radius, by node id."""
    found = {}
    for g in _groups(svg, "node"):
        circle = next(c for c in g.iter(f"{SVG}circle") if c.get("class") == "server")
        found[g.get("data-node")] = (
            float(circle.get("cx")),
            float(circle.get("cy")),
            float(circle.get("r")),
        )
    return found


def _view_box(svg: str) -> tuple[float, float]:
    _, _, width, height = (float(v) for v in _root(svg).get("viewBox").split())
    return width, height


def _elected(n: int, seed: int = 1) -> Cluster:
    c = Cluster(n, seed=seed)
    assert c.run_until(lambda c: c.leader is not None)
    return c


def _labels_fit(svg: str, n: int) -> None:
    """Every text beside a server stays left of the legend and inside the picture."""
    for text in (t for g in _groups(svg, "node") for t in g.iter(f"{SVG}text")):
        # DejaVu Sans averages under 0.62 em a character, bold included.
        extent = 0.62 * float(text.get("font-size")) * len(text.text)
        x, anchor = float(text.get("x")), text.get("text-anchor")
        left = {"start": x, "end": x - extent, "middle": x - extent / 2}[anchor]
        assert left >= 0 and left + extent <= ring_layout(n).ring_width, text.text


@pytest.mark.parametrize("n", [3, 5, 7, 9])
def test_long_labels_fit_mid_election_and_for_a_server_not_yet_a_member(n):
    c = Cluster(n, seed=2)
    c.run_until(lambda c: any(v.pre_voting or v.role == "candidate" for v in c.nodes.values()))
    c.run(0.004)
    _labels_fit(ring_svg(c), n)
    assert c.run_until(lambda c: c.leader is not None and c.nodes[c.leader].commit_index >= 1)
    assert c.add_node(f"n{n + 1}").accepted
    c.run(0.01)
    svg = ring_svg(c)
    assert "not a member" in svg
    _labels_fit(svg, n + 1)


@pytest.mark.parametrize("n", range(3, 10))
def test_every_server_is_inside_the_picture_and_none_overlap(n):
    svg = ring_svg(_elected(n))
    width, height = _view_box(svg)
    servers = _servers(svg)
    assert len(servers) == n
    for x, y, r in servers.values():
        outer = r + TIMER + 2
        assert outer <= x <= width - outer and outer <= y <= height - outer
    _labels_fit(svg, n)
    centres = list(servers.values())
    for i, (x1, y1, r1) in enumerate(centres):
        for x2, y2, r2 in centres[i + 1 :]:
            assert math.hypot(x2 - x1, y2 - y1) > r1 + r2 + 2 * TIMER + 4


@pytest.mark.parametrize("n", [1, 2, 10, 15, 20])
def test_the_layout_keeps_servers_apart_for_any_cluster_size(n):
    layout = ring_layout(n)
    reach = layout.node_radius + TIMER
    assert layout.node_radius >= 16
    for i, (x1, y1) in enumerate(layout.positions):
        assert reach <= x1 <= layout.ring_width - reach and reach <= y1 <= layout.height - reach
        for x2, y2 in layout.positions[i + 1 :]:
            assert math.hypot(x2 - x1, y2 - y1) > 2 * reach


def test_message_dots_lie_on_their_link_at_the_fraction_of_their_trip():
    c = _elected(5)
    c.submit("set x 1")
    c.run(0.003)
    flights = c.in_flight
    svg = ring_svg(c)
    servers = _servers(svg)
    dots = {int(g.get("data-msg-id")): g for g in _groups(svg, "message")}
    assert len(dots) == len(flights) >= 4
    now_us = round(c.now * 1_000_000)
    between = 0
    for flight in flights:
        (ax, ay, r), (bx, by, _) = servers[flight.message.src], servers[flight.message.dst]
        circle = dots[flight.msg_id].find(f"{SVG}circle")
        x, y = float(circle.get("cx")), float(circle.get("cy"))
        length = math.hypot(bx - ax, by - ay)
        ux, uy = (bx - ax) / length, (by - ay) / length
        # How far right of the centre line, and how far along between the two circles.
        side = (x - ax) * -uy + (y - ay) * ux
        along = ((x - ax) * ux + (y - ay) * uy - (r + GAP)) / (length - 2 * (r + GAP))
        expected = (now_us - flight.sent_us) / (flight.lands_us - flight.sent_us)
        assert side == pytest.approx(LANE, abs=0.15)
        assert along == pytest.approx(expected, abs=0.01)
        assert 0 <= along <= 1
        between += 0.05 < along < 0.95
    assert between, "some message is mid-way"


def test_replies_are_hollow_and_requests_filled():
    c = _elected(3)

    def both(c: Cluster) -> bool:
        replies = {f.text.split("(")[0].endswith("Response") for f in c.in_flight}
        return replies == {True, False}

    assert c.run_until(both)
    kinds = {}
    for g in _groups(ring_svg(c), "message"):
        circle = g.find(f"{SVG}circle")
        kinds["response" in g.get("class").split()] = circle.get("fill")
    assert kinds[False] != "white" and kinds[True] == "white", kinds


def test_messages_are_told_from_the_messages_themselves_even_with_no_trace():
    """With trace="off" the engine writes no sentence for a message; the ring reads the
    message itself, so the colours, the hollow replies and the tooltips stay."""
    pictures = []
    for trace in ("full", "off"):
        c = Cluster(3, seed=1, trace=trace)
        c.run(0.5)
        assert c.run_until(lambda c: len(c.in_flight) >= 2)
        pictures.append(ring_svg(c))
    full, off = (
        [
            (g.get("class"), g.get("data-family"), g.find(f"{SVG}title").text)
            for g in _groups(svg, "message")
        ]
        for svg in pictures
    )
    assert off == full and len(off) >= 2
    assert all(family and tip for _, family, tip in off)
    assert off[0][:2] == ("message", "Heartbeat") and off[0][2].startswith("n1 → n2: Heartbeat(")


def test_a_message_held_on_its_link_waits_at_the_receiver_ringed():
    c = _elected(3)
    follower = next(n for n in c.nodes if n != c.leader)
    c.hold(c.leader, follower)
    c.run(0.06)
    held = [g for g in _groups(ring_svg(c), "message") if "held" in g.get("class").split()]
    assert held and all(g.get("data-progress") == "1.0000" for g in held)
    assert len(held[0].findall(f"{SVG}circle")) == 2


def test_roles_timers_and_the_leader_ring():
    c = _elected(5)
    c.run(0.02)
    nodes = {g.get("data-node"): g for g in _groups(ring_svg(c), "node")}
    leader = nodes.pop(c.leader)
    assert "leader" in leader.get("class").split()
    assert leader.find(f"{SVG}circle[@class='leader-ring']") is not None
    assert leader.get("data-timer") is None
    for node, g in nodes.items():
        assert g.get("data-role") == "follower"
        fraction = float(g.get("data-timer"))
        view = c.nodes[node]
        waited = 1 - (view.election_deadline - c.now) / view.election_timeout
        assert fraction == pytest.approx(waited, abs=0.001) and 0 < fraction < 1
        assert g.find(f"{SVG}path[@class='timer']") is not None


def test_hovering_a_server_tells_its_log_commit_applied_and_vote():
    c = _elected(3)
    c.submit("set x 1")
    c.run(0.1)
    for g in _groups(ring_svg(c), "node"):
        title = g.find(f"{SVG}title").text
        view = c.nodes[g.get("data-node")]
        assert f"commit {view.commit_index}, applied {view.last_applied}" in title
        assert f"log {len(view.log)} entries" in title
        assert f"voted for {view.voted_for}" in title


def test_a_candidate_shows_the_votes_it_has():
    c = Cluster(5, seed=7)
    c.run_until(lambda c: any(v.role == "candidate" and v.votes for v in c.nodes.values()))
    candidate = next(v for v in c.nodes.values() if v.role == "candidate")
    g = next(g for g in _groups(ring_svg(c), "node") if g.get("data-node") == candidate.id)
    assert f"votes: {sum(candidate.votes.values())}" in "".join(g.itertext())


def test_a_partition_tints_each_group_and_cuts_the_links_between_them():
    c = _elected(5)
    c.partition(["n1", "n2"])
    svg = ring_svg(c)
    cut = {(g.get("data-a"), g.get("data-b")) for g in _groups(svg, "partitioned")}
    assert cut == {(a, b) for a in ("n1", "n2") for b in ("n3", "n4", "n5")}
    plain = [e for e in _root(svg).iter(f"{SVG}line") if e.get("class") == "link"]
    assert len(plain) == 1 + 3  # n1-n2, and n3-n4, n3-n5, n4-n5
    groups = {e.get("data-node"): e.get("data-group") for e in _root(svg).iter(f"{SVG}circle")
              if e.get("class") == "group"}  # fmt: skip
    assert groups == {"n1": "1", "n2": "1", "n3": "2", "n4": "2", "n5": "2"}
    assert "partitioned: {n1,n2} | {n3,n4,n5}" in svg
    c.heal()
    assert _groups(ring_svg(c), "partitioned") == [] and "every link works" in ring_svg(c)


def test_a_one_way_cut_is_an_arrow_on_its_lane_only():
    c = _elected(3)
    c.cut("n1", "n2")
    svg = ring_svg(c)
    cuts = _groups(svg, "cut")
    assert [(g.get("data-src"), g.get("data-dst")) for g in cuts] == [("n1", "n2")]
    assert cuts[0].find(f"{SVG}polygon") is not None  # the arrowhead
    assert _groups(svg, "partitioned") == []
    assert "cut: n1 → n2" in svg


def test_a_crashed_server_is_grey_and_crossed_without_a_timer():
    c = _elected(3)
    victim = next(n for n in c.nodes if n != c.leader)
    c.crash(victim)
    g = next(g for g in _groups(ring_svg(c), "node") if g.get("data-node") == victim)
    assert "crashed" in g.get("class").split() and g.get("data-role") == "down"
    assert g.find(f"{SVG}circle[@class='server']").get("fill") == "#e5e8e8"
    assert g.find(f".//{SVG}path") is not None  # the cross
    assert g.get("data-timer") is None
    assert "crashed" in g.find(f"{SVG}title").text


def test_the_legend_and_title_say_what_the_picture_shows():
    c = _elected(3)
    svg = ring_svg(c, caption="after the election")
    texts = ["".join(t.itertext()) for t in _root(svg).iter(f"{SVG}text")]
    assert texts[0].startswith("t = ") and f"leader {c.leader}, term 1" in texts[0]
    assert texts[1] == "after the election"
    legend = "".join(_groups(svg, "legend")[0].itertext())
    for words in ("leader", "crashed", "election timer", "AppendEntries", "one-way cut"):
        assert words in legend


def test_the_same_moment_gives_the_same_bytes():
    def moment() -> str:
        c = _elected(5, seed=4)
        c.submit("set x 1")
        c.partition(["n1"])
        c.run(0.013)
        return ring_svg(c, selected="n2")

    first = moment()
    assert first == moment()
    c = _elected(5, seed=4)
    assert ring_svg(c) == ring_svg(c)
    c.run(0.001)
    assert ring_svg(c) != ring_svg(_elected(5, seed=4)), "a later moment draws differently"


def test_a_selected_server_is_ringed():
    c = _elected(3)
    svg = ring_svg(c, selected="n2")
    selected = _groups(svg, "selected")
    assert [g.get("data-node") for g in selected] == ["n2"]


def test_cluster_ring_shows_in_a_notebook():
    c = _elected(3)
    html = c.ring()._repr_html_()
    assert "raftsim-ring" in html and html.count("<svg") == 1
    assert 'class="node leader selected"' in c.ring(selected=c.leader)
    with pytest.raises(ValueError, match="unknown node"):
        c.ring(selected="n9")


def test_the_player_switches_to_the_ring_and_inspects_a_server():
    pytest.importorskip("ipywidgets")
    from sim.show.notebook import Player

    c = _elected(3)
    player = Player(c, view="ring")
    assert "raftsim-ring" in player.picture.value
    player.inspect.value = "n2"
    assert "n2: " in player.details.value and 'data-node="n2"' in player.picture.value
    assert "selected" in player.picture.value
    player.view.value = "boxes"
    assert "raftsim-cluster" in player.picture.value and "n2: " in player.details.value
    player.step()
    assert "raftsim-cluster" in player.picture.value
    with pytest.raises(ValueError, match="view"):
        Player(c, view="circle")


def test_a_displayed_player_is_the_widget_then_its_picture(monkeypatch):
    pytest.importorskip("ipywidgets")
    import IPython.display

    from sim.show.notebook import Player

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw: shown.append(data))
    Player(_elected(3), view="ring")._ipython_display_()
    widget, picture = shown
    assert "application/vnd.jupyter.widget-view+json" in widget and "text/html" not in widget
    assert "<svg" in picture["text/html"] and "raftsim-static" in picture["text/html"]


# -- the commands ----------------------------------------------------------------------


def test_run_ring_writes_one_picture_per_step_that_acts(tmp_path):
    frames = tmp_path / "frames"
    result = CliRunner().invoke(main, ["run", "-q", "--ring", str(frames), str(STORY)])
    assert result.exit_code == 0, result.output
    steps = [s for s in load(str(STORY)).steps if s.number is not None]
    acting = [s for s in steps if not isinstance(s, Expect)]
    written = sorted(p.name for p in frames.iterdir())
    assert written == [f"step-{s.number:03d}.svg" for s in acting]
    assert len(written) < len(steps)  # expectations draw nothing
    last = (frames / written[-1]).read_text()
    assert ET.fromstring(last).get("class") == "raftsim-ring"
    assert f"step {acting[-1].number}: {acting[-1].source}" in last


def test_run_ring_stops_drawing_where_the_run_stops(tmp_path):
    frames = tmp_path / "frames"
    result = CliRunner().invoke(main, ["run", "-q", "--until", "3", "--ring", str(frames),
                                       str(STORY)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in frames.iterdir()) == [
        "step-001.svg", "step-002.svg", "step-003.svg"
    ]  # fmt: skip


def test_watch_ring_without_a_terminal_saves_the_ring_once(tmp_path):
    out = tmp_path / "ring.svg"
    result = CliRunner().invoke(main, ["watch", "--nodes", "3", "--seed", "2", "--ring", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert ET.fromstring(svg).get("class") == "raftsim-ring"
    assert len(_groups(svg, "selected")) == 1  # the leader, as in --svg's picture


def test_the_ring_file_is_rewritten_only_when_the_moment_changes(tmp_path):
    c = _elected(3)
    ring = RingFile(str(tmp_path / "live.svg"))
    assert ring.update(c) is True
    assert ring.update(c) is False
    assert ring.update(c, "n1") is True
    c.step()
    assert ring.update(c, "n1") is True
    assert (tmp_path / "live.svg").read_text() == ring_svg(c, selected="n1")
    assert [p.name for p in tmp_path.iterdir()] == ["live.svg"], "no draft left behind"
