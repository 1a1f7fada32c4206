"""The scenario player: a recorded story replayed at the viewer's pace."""

from __future__ import annotations

import io

from rich.console import Console

from sim.scenario import load, run_scenario
from sim.scenario.player import ScenarioPlayer

STORY = "scenarios/membership-change.scenario"


def test_replaying_step_by_step_gives_the_same_trace_as_running_straight_through():
    straight = run_scenario(load(STORY), Console(file=io.StringIO()), quiet=True).cluster
    player = ScenarioPlayer(load(STORY))
    assert player.failure is None
    assert len(player.cluster.trace) < player.end, "the player starts at the beginning"
    while not player.finished:
        player.cluster.step()
    assert [e.text for e in player.cluster.trace] == [e.text for e in straight.trace]


def test_the_player_stops_at_the_end_of_every_chapter():
    player = ScenarioPlayer(load(STORY))
    chapters = {mark.chapter for mark in player.marks}
    stops = []
    while not player.finished:
        player.run_to_next_pause()
        stops.append(len(player.cluster.trace))
    assert stops == sorted(set(stops)), "each stop moves forward"
    assert len(stops) == len(chapters)
    assert stops[-1] == player.end


def test_stepping_back_from_a_stop_point_undoes_one_event():
    player = ScenarioPlayer(load(STORY))
    player.run_to_next_pause()
    here = len(player.cluster.trace)
    undone = player.cluster.back()
    assert undone and len(player.cluster.trace) == here - len(undone)
    player.cluster.step()
    assert len(player.cluster.trace) == here
