"""sim.show.diagram's layout: no label covers another, and nothing is drawn outside the picture.

The checker here reads the SVG as a browser would (xml.etree, no font files):
each `<text>` gets a box from its font size, weight, anchor and character count,
widened by its white halo and turned by its `rotate(...)` transform, and boxes
are compared as rotated rectangles. The width model is its own, made to err on
the wide side for DejaVu Sans (the first font in the diagram's list, and the
widest of them), so it does not just repeat the layout's arithmetic.
"""

from __future__ import annotations

import functools
import io
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import pytest
from rich.console import Console

from sim import Cluster
from sim.scenario import load, run_scenario
from sim.show.diagram import sequence_diagram

SVG = "{http://www.w3.org/2000/svg}"
LIBRARY = Path(__file__).resolve().parent.parent / "scenarios"
SCENARIOS = sorted(LIBRARY.glob("*.scenario"))

Point = tuple[float, float]

# Advance widths in ems, rounded up from DejaVu Sans Book and Bold: narrow glyphs,
# capitals, the widest glyphs; everything else (lower case, digits) is 0.64 em.
_WIDTHS = (
    dict.fromkeys("iljf.,:;'|!()[] ", 0.42)
    | dict.fromkeys("rt", 0.5)
    | dict.fromkeys("ABCDEFGHIJKLNOPQRSTUVXYZ", 0.8)
    | dict.fromkeys("#+<=>^~&µ→×", 0.84)
    | dict.fromkeys("mw@%MW…", 1.0)
)
_BOLD = 1.12


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A generous estimate of how wide `text` is drawn, in px."""
    ems = sum(_WIDTHS.get(ch, 0.64) for ch in text)
    return ems * size * (_BOLD if bold else 1.0)


@attrs.frozen
class Label:
    text: str
    corners: tuple[Point, Point, Point, Point]


def _polygon_overlap(a: tuple[Point, ...], b: tuple[Point, ...]) -> bool:
    """Whether two convex polygons share more than an edge (separating axis theorem)."""
    for poly in (a, b):
        for i, (x1, y1) in enumerate(poly):
            x2, y2 = poly[(i + 1) % len(poly)]
            nx, ny = y1 - y2, x2 - x1
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            scale = math.hypot(nx, ny) or 1.0
            if (min(max(pa), max(pb)) - max(min(pa), min(pb))) / scale <= 0.01:
                return False
    return True


def overlapping(labels: list[Label]) -> list[tuple[str, str]]:
    """Every pair of labels whose boxes intersect."""
    found = []
    boxes = [(label, _extent(label.corners)) for label in labels]
    for i, (a, (ax1, ay1, ax2, ay2)) in enumerate(boxes):
        for b, (bx1, by1, bx2, by2) in boxes[i + 1 :]:
            near = ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2
            if near and _polygon_overlap(a.corners, b.corners):
                found.append((a.text, b.text))
    return found


def _extent(points: tuple[Point, ...]) -> tuple[float, float, float, float]:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


_ROTATE = re.compile(r"^rotate\(\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+)[\s,]+(-?[\d.]+))?\s*\)$")


def _rotate(points: list[Point], transform: str | None) -> tuple[Point, ...]:
    if not transform:
        return tuple(points)
    match = _ROTATE.match(transform.strip())
    assert match, f"the checker does not understand transform={transform!r}"
    angle = math.radians(float(match[1]))
    cx, cy = (float(match[2]), float(match[3])) if match[2] else (0.0, 0.0)
    cos, sin = math.cos(angle), math.sin(angle)
    return tuple(
        (cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos)
        for x, y in points
    )


def _walk(element: ET.Element, inherited: dict[str, str]):
    """Every element with the presentation attributes it inherits."""
    own = {**inherited, **{k: v for k, v in element.attrib.items() if k != "transform"}}
    yield element, own
    for child in element:
        yield from _walk(child, own)


def labels_of(root: ET.Element) -> list[Label]:
    """The box of every drawn text: font size, weight, anchor, halo and rotation included."""
    found = []
    for element, style in _walk(root, {}):
        if element.tag != f"{SVG}text":
            continue
        text = "".join(element.itertext())
        size = float(style.get("font-size", "16"))
        width = text_width(text, size, style.get("font-weight") == "bold")
        x, y = float(element.get("x", "0")), float(element.get("y", "0"))
        anchor = style.get("text-anchor", "start")
        left = x - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        halo = float(style.get("stroke-width", "0")) / 2 if "stroke" in style else 0.0
        x1, x2 = left - halo, left + width + halo
        y1, y2 = y - 0.93 * size - halo, y + 0.24 * size + halo  # ascent and descent
        corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        found.append(Label(text, _rotate(corners, element.get("transform"))))  # type: ignore[arg-type]
    return found


def _points(element: ET.Element) -> list[Point]:
    """The points that bound a drawn shape (text excepted)."""
    tag = element.tag.removeprefix(SVG)
    get = lambda name: float(element.get(name, "0"))  # noqa: E731
    if tag == "line":
        return [(get("x1"), get("y1")), (get("x2"), get("y2"))]
    if tag == "circle":
        r = get("r")
        return [(get("cx") - r, get("cy") - r), (get("cx") + r, get("cy") + r)]
    if tag == "rect":
        x, y = get("x"), get("y")
        return [(x, y), (x + get("width"), y + get("height"))]
    if tag in ("path", "polyline", "polygon"):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", element.get("d") or
                                                element.get("points", ""))]  # fmt: skip
        assert not re.search(r"[a-z]", element.get("d", "")), "relative path commands"
        return list(zip(numbers[::2], numbers[1::2], strict=True))
    return []


def outside(root: ET.Element) -> list[str]:
    """Every drawn thing that reaches outside the viewBox."""
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
    strays = []
    defs = {id(e) for d in root.iter(f"{SVG}defs") for e in d.iter()}
    for label in labels_of(root):
        x1, y1, x2, y2 = _extent(label.corners)
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            strays.append(f"text {label.text!r} at {x1:.0f},{y1:.0f}..{x2:.0f},{y2:.0f}")
    for element in root.iter():
        if id(element) in defs:
            continue
        for x, y in _points(element):
            if not (0 <= x <= width and 0 <= y <= height):
                strays.append(f"{element.tag.removeprefix(SVG)} at {x:.0f},{y:.0f}")
    return strays


def problems(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    pairs = [f"{a!r} on {b!r}" for a, b in overlapping(labels_of(root))]
    return pairs + [f"outside: {stray}" for stray in outside(root)]


# -- the checker can fail ---------------------------------------------------------


def test_the_checker_sees_two_labels_on_top_of_each_other():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100" font-size="10">'
        '<text x="20" y="30">network healed</text>'
        '<text x="40" y="34">network partitioned</text>'
        '<text x="20" y="80">far below</text></svg>'
    )
    assert overlapping(labels_of(ET.fromstring(svg))) == [("network healed", "network partitioned")]


def test_the_checker_turns_rotated_labels_before_comparing():
    # Side by side when level; turned 90 degrees about their left ends, they cross.
    level = '<text x="10" y="50">RequestVote t4</text><text x="110" y="50">RequestVote t4</text>'
    turned = (
        '<text x="50" y="50" transform="rotate(90 50 50)">RequestVote t4</text>'
        '<text x="10" y="90" transform="rotate(0 10 90)">RequestVote t4</text>'
    )
    head = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 300" font-size="10">'
    assert overlapping(labels_of(ET.fromstring(head + level + "</svg>"))) == []
    assert len(overlapping(labels_of(ET.fromstring(head + turned + "</svg>")))) == 1


def test_the_checker_sees_what_runs_past_the_edge():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100" font-size="10">'
        '<line x1="10" y1="10" x2="150" y2="140"/><text x="190" y="50">too long</text></svg>'
    )
    assert [p.split(" at ")[0] for p in outside(ET.fromstring(svg))] == [
        "text 'too long'",
        "line",
    ]


# -- every scenario's diagram -----------------------------------------------------


@functools.cache
def scenario_svg(path: Path, window: tuple[float, float] | None = None) -> str:
    scenario = load(str(path))
    outcome = run_scenario(scenario, Console(file=io.StringIO()), quiet=True)
    assert outcome.cluster is not None
    start, end = window if window else (None, None)
    cluster = outcome.cluster
    return sequence_diagram(
        cluster.trace, nodes=list(cluster.nodes), start=start, end=end, title=scenario.title
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_no_label_covers_another_and_nothing_leaves_the_picture(path):
    assert problems(scenario_svg(path)) == []


@pytest.mark.parametrize("path", SCENARIOS[::3], ids=[p.stem for p in SCENARIOS[::3]])
def test_a_time_window_stays_clean_too(path):
    assert problems(scenario_svg(path, (0.15, 0.4))) == []


@functools.cache
def _notebook_one() -> dict[str, str]:
    """Notebook 01's diagrams, built with the same calls."""
    c = Cluster(5, seed=7)
    c.run_until(lambda c: any(e.kind == "campaign" and e.node == "n3" for e in c.trace))
    start = len(c.trace)
    c.run_until(lambda c: c.leader is not None)
    two = sequence_diagram(c.trace[start - 10 :], title="Two candidates for term 1")
    c.goto(0)
    c.crash("n3")
    c.run_until(lambda c: c.leader is not None)
    c.run(0.5)
    beats = sequence_diagram(c.trace, start=c.now - 0.12, end=c.now, title="Heartbeats")
    s = Cluster(4, seed=6)
    s.run(0.05)
    s.timeout("n1")
    s.timeout("n2")
    s.run_until(lambda s: s.leader is not None)
    split = sequence_diagram(s.trace, heartbeats=False, title="Split votes, then a winner")
    return {"two candidates": two, "heartbeats": beats, "split votes": split}


@pytest.mark.parametrize("name", ["two candidates", "heartbeats", "split votes"])
def test_notebook_one_diagrams_are_clean(name):
    assert problems(_notebook_one()[name]) == []


def test_messages_still_on_the_wire_stop_at_the_bottom_edge_with_an_open_head():
    svg = _notebook_one()["heartbeats"]
    root = ET.fromstring(svg)
    height = float(root.get("height", "0"))
    in_flight = [g for g in root.iter(f"{SVG}g") if g.get("class") == "message in-flight"]
    assert in_flight, "a 120 ms window of heartbeats ends with some on the wire"
    bottoms = set()
    for group in in_flight:
        line = group.find(f"{SVG}line")
        assert line is not None and line.get("marker-end", "").startswith("url(#open-")
        bottoms.add(line.get("y2"))
        assert "still on the wire" in (group.findtext(f"{SVG}title") or "")
    assert len(bottoms) == 1 and float(bottoms.pop()) < height


def test_a_window_tells_when_a_message_cut_off_by_its_end_lands():
    svg = scenario_svg(LIBRARY / "leader-election.scenario", (0.15, 0.2))
    titles = [
        g.findtext(f"{SVG}title") or ""
        for g in ET.fromstring(svg).iter(f"{SVG}g")
        if g.get("class") == "message in-flight"
    ]
    assert titles and all(re.search(r"\(lands at 0\.2\d+s, after the window\)$", t) for t in titles)


def test_a_broadcast_is_one_fan_with_one_label():
    # n3 asks the four others for their votes at one moment: four arrows, one label.
    root = ET.fromstring(_notebook_one()["two candidates"])
    asks = [
        g
        for g in root.iter(f"{SVG}g")
        if (g.findtext(f"{SVG}title") or "").startswith("n3 -> ")
        and "RequestVote(term 1" in (g.findtext(f"{SVG}title") or "")
    ]
    assert len(asks) == 4
    starts = {(g.find(f"{SVG}line").get("x1"), g.find(f"{SVG}line").get("y1")) for g in asks}
    assert len(starts) == 1
    labels = [t.text for g in asks for t in g.iter(f"{SVG}text")]
    assert labels.count("RequestVote t1") == 2  # one each way: to n1,n2 and to n4,n5
