"""The README's Python examples run as written, and do what their comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_its_three_python_examples():
    assert len(BLOCKS) == 3


@pytest.fixture(scope="module")
def run_examples() -> list[dict]:
    """Each block run in turn, in one namespace as a reader would paste them."""
    namespace: dict = {}
    after = []
    for block in BLOCKS:
        exec(compile(block, str(README), "exec"), namespace)
        after.append(dict(namespace))
    return after


def test_driving_a_cluster(run_examples):
    ns = run_examples[0]
    c = ns["c"]
    # The block ends by travelling back to trace index 120, before the write committed.
    assert ns["h"].accepted and 100 < len(c.trace) <= 120
    with pytest.raises(LookupError, match="undone by time travel"):
        _ = ns["r"].outcome  # the read was made after trace index 120
    assert c.violations == []


def test_membership_transfer_and_snapshot_are_done_as_written(run_examples):
    ns = run_examples[1]
    c = ns["c"]
    n2 = c.nodes["n2"]
    assert n2.members.voters == ("n2", "n3", "n4") and n2.members.learners == ("n5",)
    assert c.leader == "n3"
    assert n2.snapshot_index > 30, "n2's snapshot compacted its log"
    add = next(e.text for e in c.trace if "first catches up n4" in e.text)
    assert "within 10 entries" in add
    assert c.violations == []


def test_figure_7_repairs_every_follower(run_examples):
    c = run_examples[2]["c"]
    leader_log = [(e.index, e.term) for e in c.nodes["n1"].log]
    for node in c.nodes.values():
        assert [(e.index, e.term) for e in node.log][: len(leader_log)] == leader_log
    assert c.violations == []
