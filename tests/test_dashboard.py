"""The live view's dashboard (sim/show/dashboard.py): a pure picture of a cluster, sized to fit."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from sim import Cluster
from sim.scenario import load
from sim.scenario.player import ScenarioPlayer
from sim.show.dashboard import ViewState, compact_ids, dashboard, log_lines


def screen(cluster: Cluster, state: ViewState | None = None, width=80, height=24) -> list[str]:
    """The dashboard as the lines of a width x height terminal."""
    console = Console(
        file=io.StringIO(), width=width, height=height, record=True, color_system=None
    )
    console.print(dashboard(cluster, state or ViewState(), width, height))
    return console.export_text().splitlines()


def assert_fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, too_wide


def rows_of(lines: list[str]) -> list[str]:
    """The lines without the frames around them."""
    return [line.strip("│ ") for line in lines]


def elected(n: int, seed: int = 7) -> Cluster:
    c = Cluster(n, seed=seed)
    assert c.run_until(lambda c: c.leader is not None and c.nodes[c.leader].commit_index >= 1)
    return c


@pytest.mark.parametrize("nodes", [3, 5, 9])
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 50)])
def test_the_dashboard_fits_the_terminal_and_names_the_leader_and_its_term(nodes, size):
    c = elected(nodes)
    for n in range(3):
        c.submit(f"set k{n} {n}")
    c.run(0.01)
    lines = screen(c, ViewState(selected="n2"), *size)
    assert_fits(lines, *size)
    text = "\n".join(lines)
    leader = c.leader
    assert f"leader {leader} term {c.nodes[leader].term}" in text
    for node in c.nodes:
        assert any(line.lstrip("│ ").startswith(node + " ") for line in lines), node


def test_a_crashed_node_shows_as_down_and_crashed():
    c = elected(5)
    c.crash("n1")
    c.run(0.05)
    text = "\n".join(screen(c))
    assert "down" in text and "crashed" in text
    assert "n1 is down" in text  # messages to it are lost, shown as drops


def test_partitions_and_one_way_cuts_are_shown():
    c = elected(5)
    c.partition(["n1", "n2"], ["n3", "n4", "n5"])
    c.cut("n3", "n4")
    c.run(0.06)
    text = "\n".join(screen(c, width=100, height=30))
    assert "partitioned {n1-2} | {n3-5}" in text
    assert "cut n3→n4" in text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_a_joint_configuration_shows_old_and_new_voters_and_says_joint_once(size):
    c = elected(3)
    c.run(0.2)
    handle = c.add_node("n4")
    assert handle.accepted
    assert c.run_until(lambda c: c.nodes[c.leader].members.is_joint, timeout=3.0)
    lines = screen(c, width=size[0], height=size[1])
    assert_fits(lines, *size)
    leader_row = next(row for row in rows_of(lines) if row.startswith(f"{c.leader} "))
    assert leader_row.endswith("n1-3⇒n1-4 (joint)")
    assert leader_row.count("joint") == 1


def test_a_leader_changing_the_membership_shows_its_stage():
    c = elected(3)
    c.run(0.2)
    c.crash("n2")  # the new server cannot catch up while the leader lacks a quorum to commit
    assert c.add_node("n4").accepted
    c.run(0.001)
    assert c.nodes[c.leader].membership_stage == "catching up"
    lines = screen(c, width=100, height=30)
    leader_row = next(row for row in rows_of(lines) if row.startswith(f"{c.leader} "))
    assert leader_row.endswith("n1-3 (catching up)")


def test_a_snapshot_shows_as_s_cells():
    c = elected(3)
    for n in range(4):
        c.submit(f"set k{n} {n}")
    c.run(0.3)
    assert c.snapshot("n2").accepted
    c.run(0.01)
    lines = screen(c, width=100, height=30)
    rows = [line.strip("│ ") for line in lines]
    grid = rows[rows.index(next(r for r in rows if r.startswith("log "))) :]
    row = next(r for r in grid if r.startswith("n2 "))
    assert " S " in row
    assert_fits(lines, 100, 30)


def test_messages_in_flight_show_type_sender_receiver_and_landing_time():
    c = elected(5)
    c.submit("set x 1")
    c.run(0.001)
    flight = c.in_flight[0]
    text = "\n".join(screen(c, width=100, height=40))
    assert f"{flight.message.name}" in text
    assert f"lands {flight.lands_us / 1e6:.4f}s" in text


def test_paused_status_help_overlay_and_the_answer_to_a_key():
    c = elected(5)
    text = "\n".join(screen(c, ViewState(paused=True, speed=0.5, message="n3 crashed")))
    assert "paused 0.5x" in text and "n3 crashed" in text
    help_text = "\n".join(screen(c, ViewState(show_help=True)))
    assert "crash / restart selected" in help_text
    assert "Tab/S-Tab" in help_text and "(1 0: n10)" in help_text  # n10 and up can be selected
    assert "recorded future is dropped)" in help_text  # the whole help fits 80x24


def test_a_scenario_shows_its_title_chapter_and_narration():
    player = ScenarioPlayer(load("scenarios/leader-crash.scenario"))
    player.run_to_next_pause()
    state = ViewState(
        title=player.scenario.title,
        chapter="next: 2. The leader crashes",
        narration=player.marks[4].narration,
        note="done: A leader and one committed command. space: go on",
        paused=True,
    )
    lines = screen(player.cluster, state)
    assert_fits(lines, 80, 24)
    text = "\n".join(lines)
    assert "Leader crash and re-election" in text
    assert "next: 2. The leader crashes" in text
    assert "n3 stops." in text


def test_node_ids_are_compacted():
    assert compact_ids(["n1", "n2", "n3", "n5"]) == "n1-3,5"
    assert compact_ids(["n4"]) == "n4"
    assert compact_ids(["a", "n1"]) == "a,n1"


def expand_ids(label: str) -> set[str]:
    """The node ids in a compact label: n1-2,4 -> {n1, n2, n4}."""
    ids: set[str] = set()
    for run in label.removeprefix("n").split(","):
        low, _, high = run.partition("-")
        ids.update(f"n{i}" for i in range(int(low), int(high or low) + 1))
    return ids


def log_panel(lines: list[str]) -> tuple[str, list[str]]:
    """The log grid's header line and its rows (as far as the network section)."""
    rows = [line.strip("│ ") for line in lines]
    start = next(i for i, row in enumerate(rows) if re.match(r"log +1\b", row))
    end = next(i for i, row in enumerate(rows) if row.startswith(("network", "╭─ network")))
    return rows[start], [row for row in rows[start + 1 : end] if row and "─" not in row]


@pytest.mark.parametrize("nodes", [3, 5, 7, 8, 10])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_log_panel_stays_on_screen_with_every_node_and_its_recent_entries(nodes, size):
    c = elected(nodes)
    for n in range(3):
        c.submit(f"set k{n} {n}")
    c.run(0.3)
    lines = screen(c, ViewState(selected="n2"), *size)
    assert_fits(lines, *size)
    _, rows = log_panel(lines)
    assert rows, "the log grid shows no node"
    labelled: list[str] = []
    for row in rows:
        label, cells = row.split(maxsplit=1)
        labelled.extend(expand_ids(label))
        assert cells.split() == ["1C", "1", "1", "1"], row  # the newest entries, committed
    assert sorted(labelled) == sorted(c.nodes), "each node's log is shown exactly once"
    if nodes <= 7 or size == (120, 40):
        assert len(rows) == nodes  # room for a row per node
    assert any(row.split()[0] == "n2" for row in rows)  # the selected node keeps its own row


def test_when_rows_run_short_the_leader_and_the_selected_node_stay_and_the_rest_are_named():
    c = elected(10)
    leader = c.leader
    others = [n for n in c.nodes if n != leader]
    # Crash one follower after each new entry: every crashed log is one entry longer.
    for k, node in enumerate(others[:5]):
        c.submit(f"set k{k} {k}")
        assert c.run_until(lambda c, k=k: c.nodes[leader].commit_index >= k + 2, timeout=1.0)
        c.crash(node)
    lines = [line.plain for line in log_lines(c, ViewState(selected=others[0]), 80, rows=4)]
    assert len(lines) == 4
    assert lines[0].startswith("log")
    shown = [line.split()[0] for line in lines[1:3]]
    assert set(shown) == {others[0], leader}
    assert lines[3].startswith("… ") and lines[3].endswith("not shown (no room)")
    hidden = expand_ids(lines[3].split()[1])
    assert hidden | {i for label in shown for i in expand_ids(label)} == set(c.nodes)


@pytest.mark.parametrize("size", [(80, 24), (102, 40), (120, 40)])
def test_the_help_names_the_node_table_columns_as_their_headers_read_at_that_size(size):
    # 102x40 frames its sections: the table is 98 wide and keeps the short headers.
    c = elected(3)
    header = next(row for row in rows_of(screen(c, ViewState(), *size)) if row.startswith("node "))
    headers = set(header.split())
    help_rows = rows_of(screen(c, ViewState(show_help=True), *size))
    start = help_rows.index("Node table columns:") + 1
    legend = help_rows[start : help_rows.index("", start)]
    named = {word for row in legend for word in re.split(r"\s{2,}", row)[0].split()}
    assert named <= headers, f"the help names columns not shown: {named - headers}"
    assert headers - {"node", "role", "term", "vote"} <= named
