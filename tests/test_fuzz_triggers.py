"""Triggered faults and held links in the fault campaign (sim/check/fuzz/faults.py).

A triggered fault is armed for a window and fires a set delay after the next
protocol event of its kind: a vote granted, entries acknowledged, a leader
elected, a commit, a joint configuration. A held link keeps its messages in
flight until the window ends, then they land at once. Both are resolved while
the run goes, and written down as plain steps that replay it.
"""

from __future__ import annotations

from sim.check.fuzz import Action, FuzzSettings, execute, generate
from sim.check.fuzz.run import _Executor
from sim.check.fuzz.schedule import Trigger

SETTINGS = FuzzSettings(duration=2, nodes=3)


def only(*actions: Action):
    """Seed 1's cluster, with nothing but these actions."""
    return generate(1, SETTINGS).with_actions(actions)


def test_a_follower_crashes_the_given_delay_after_it_acknowledges_and_restarts_later() -> None:
    trigger = Trigger(event="ack", response="crash", delay_us=300, lasts_us=40_000)
    crash_acker = Action(number=1, at_us=1, kind="crash-acker", value=trigger, lasts_us=900_000)
    executor = _Executor(only(crash_acker), trace="full")
    executor.go()
    trace = executor.cluster.trace
    acked = next(
        e
        for e in trace
        if " -> " in e.text
        and "AppendEntriesResponse(term 1, ok" in e.text
        and "match 0)" not in e.text  # a probe's answer acknowledges no entry
    )
    follower = acked.node
    crash = next(e for e in trace if e.text.startswith(f"{follower} crashes"))
    restart = next(e for e in trace if e.text.startswith(f"{follower} restarts"))
    assert crash.time_us == acked.time_us + 300
    assert restart.time_us == crash.time_us + 40_000
    steps = [(line.text, line.note) for line in executor.rec.lines if line.kind == "call"]
    assert (f"crash {follower}", "300us after it acknowledged entries") in steps


def test_a_wire_that_never_trips_does_nothing_and_an_armed_one_fires_again() -> None:
    # Armed before anyone leads and for the whole run: every leader elected is
    # isolated 1 ms later, and the next election isolates the next one.
    depose = Trigger(event="elected", response="isolate", delay_us=1_000, lasts_us=300_000)
    armed = Action(number=1, at_us=1, kind="depose-leader", value=depose, lasts_us=1_500_000)
    execution = execute(only(armed))
    isolated = [line.text for line in execution.lines if line.text.startswith("isolate ")]
    assert len(isolated) >= 2 and len(set(isolated)) >= 2
    # A joint configuration never comes without a membership change: no fault at all.
    joint = Trigger(event="joint", response="split", delay_us=1, lasts_us=300_000)
    waiting = Action(number=1, at_us=1, kind="split-joint", value=joint, lasts_us=1_500_000)
    quiet = execute(only(waiting))
    assert not [line for line in quiet.lines if line.phase == "faults" and line.kind == "call"]
    assert not quiet.result.failed


def test_a_stalled_leader_s_messages_wait_and_land_together_when_the_window_ends() -> None:
    stall = Action(number=1, at_us=500_000, kind="stall-leader", lasts_us=400_000)
    execution = execute(only(stall))
    steps = [line.text for line in execution.lines if line.kind == "call"]
    held = [step for step in steps if step.startswith("hold ")]
    released = [step for step in steps if step.startswith("release ")]
    assert len(held) == 2 and [s.replace("hold", "release") for s in held] == released
    assert not execution.result.failed  # the cluster recovers once the messages land


def test_holds_still_in_force_at_the_end_are_released_by_the_healing() -> None:
    stall = Action(number=1, at_us=1_500_000, kind="stall-leader", lasts_us=2_000_000)
    execution = execute(only(stall))
    healing = [line.text for line in execution.lines if line.phase == "healing"]
    assert any(text.startswith("release ") for text in healing)
    assert not execution.result.failed
