"""Triggered faults and held links in the fault campaign (sim/check/fuzz/faults.py).

A triggered fault is armed for a window and fires a set delay after the next
protocol event of its kind: a vote granted, entries acknowledged, a leader
elected, a commit, a joint configuration. A held link keeps its messages in
flight until the window ends, then they land at once. Both are resolved while
the run goes, and written down as plain steps that replay it.
"""

from __future__ import annotations

import pytest

from raft.bugs import BUGS
from sim.check.fuzz import Action, FuzzSettings, execute, generate
from sim.check.fuzz.run import _Executor
from sim.check.fuzz.schedule import Trigger
from sim.check.fuzz.swarm import draw_profile

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


def test_a_late_timeout_now_is_held_until_its_transfer_gave_up_then_lands_on_a_deaf_leader():
    # Armed before the transfer it watches (the same instant, the lower number first).
    late = Trigger(
        event="timeout-now", response="deafen", delay_us=100, hold_us=330_000, lasts_us=400_000
    )
    armed = Action(number=1, at_us=500_000, kind="late-timeout-now", value=late, lasts_us=200_000)
    transfer = Action(number=2, at_us=500_000, kind="transfer", key=1)
    execution = execute(only(armed, transfer), trace="full")  # the test reads the sentences
    trace = execution.trace
    sent = next(e for e in trace if "sends it TimeoutNow" in e.text)
    leader, target = sent.node, sent.text.split()[2]  # "n1 sees n2 has every entry ..."
    steps = {line.text: line for line in execution.lines if line.kind == "call"}
    assert steps[f"hold {leader} {target}"].note.startswith("100us after it sent TimeoutNow")
    link = f"link {leader} -> {target}"
    held = next(e.time_us for e in trace if e.text.startswith(f"{link} held"))
    released = next(e.time_us for e in trace if e.text.startswith(f"{link} released"))
    gave_up = next(e.time_us for e in trace if "timed out: resumes leading" in e.text)
    assert held == sent.time_us + 100
    assert released == sent.time_us + 330_000 > gave_up  # the transfer began as it sent
    # Before it lands, the leader stops hearing anyone; 400 ms later it hears them again.
    others = [n for n in execution.schedule.pool[:3] if n != leader]
    assert all(f"cut {other} {leader}" in steps for other in others)
    healed = next(e.time_us for e in trace if e.text.startswith("network healed"))
    assert healed == released + 400_000
    assert not execution.result.failed


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_late_timeout_nows_and_their_clients_are_the_seed_s_alone(bug: str) -> None:
    """The late hand-overs a seed draws, with their transfers and clients, are the same
    with any bug switch on (lease_after_transfer among them): only what they find differs."""
    seeds = [s for s in range(40) if "late-timeout-now" in dict(draw_profile(s).triggers)]
    drawn = 0
    for seed in seeds:
        clean = generate(seed, FuzzSettings(duration=5))
        buggy = generate(seed, FuzzSettings(duration=5, bugs=(bug,), checkers="safety"))
        assert (buggy.profile, buggy.actions) == (clean.profile, clean.actions)
        drawn += any(a.kind == "late-timeout-now" for a in clean.actions)
    assert drawn >= 5
