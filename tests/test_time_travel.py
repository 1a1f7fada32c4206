"""Time travel: `Cluster.back`, `Cluster.goto` and the recorded future (DESIGN.md).

"goto(i) returns the cluster to the moment the trace had i events; back() undoes
one step(). Stepping forward after a rewind replays the recorded future,
including the API calls made in it, until the caller does something new: then
the old future is dropped and history forks from there."
"""

from __future__ import annotations

import pytest
from conftest import visible_state

from sim import Cluster


def texts(c: Cluster) -> list[str]:
    return [e.text for e in c.trace]


def elected(seed: int = 1, n: int = 3) -> Cluster:
    c = Cluster(n, seed=seed)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    return c


def step_until_trace_has(c: Cluster, length: int) -> None:
    while len(c.trace) < length:
        assert c.step(), "the simulation ran out of events"


# -- back -------------------------------------------------------------------


def test_back_undoes_exactly_one_step():
    c = elected()
    c.submit("set x 1")
    for _ in range(40):
        before_len, before = len(c.trace), visible_state(c)
        before_texts = texts(c)
        added = c.step()
        assert len(c.trace) > before_len
        undone = c.back()
        assert [e.text for e in undone] == [e.text for e in added]
        assert len(c.trace) == before_len
        assert texts(c) == before_texts
        assert visible_state(c) == before
        c.step()  # move on (replays the step just undone)


def test_run_records_each_step_it_takes_as_step_by_step_does():
    # run() takes its steps in one tight loop; the journal must still hold
    # every step, so that back() and goto() land where step() would have.
    fast, slow = elected(seed=4), elected(seed=4)
    fast.submit("set x 1")
    slow.submit("set x 1")
    fast.run(0.05)
    while slow.now < fast.now and slow._world.next_event_time() <= round(fast.now * 1e6):
        slow.step()
    assert texts(fast) == texts(slow)
    undone = fast.back()
    assert [e.text for e in undone] == [e.text for e in slow.back()]
    assert texts(fast) == texts(slow)
    middle = len(fast.trace) // 2
    fast.goto(middle)
    slow.goto(middle)
    assert texts(fast) == texts(slow)
    assert visible_state(fast) == visible_state(slow)


def test_back_then_step_redoes_the_same_step():
    c = elected()
    c.submit("set x 1")
    c.run(0.01)
    added = [e.text for e in c.step()]
    c.back()
    assert [e.text for e in c.step()] == added


def test_back_repeatedly_walks_back_one_step_at_a_time():
    c = elected()
    boundaries = []
    for _ in range(25):
        boundaries.append((len(c.trace), visible_state(c)))
        c.step()
    for length, seen in reversed(boundaries):
        c.back()
        assert len(c.trace) == length
        assert visible_state(c) == seen


def test_back_undoes_a_step_across_a_crash():
    c = elected()
    c.run(0.1)
    follower = next(i for i in c.nodes if i != c.leader)
    c.crash(follower)
    c.run(0.05)
    before_len, before = len(c.trace), visible_state(c)
    c.step()
    c.back()
    assert len(c.trace) == before_len
    assert visible_state(c) == before
    assert not c.nodes[follower].running


def test_back_with_no_step_taken_raises_value_error():
    c = Cluster(3, seed=1)
    with pytest.raises(ValueError):
        c.back()


# -- goto -------------------------------------------------------------------


def record_timeline(c: Cluster, steps: int) -> list[tuple[int, dict]]:
    """Step `steps` times, noting (trace length, state) at every step boundary."""
    seen = [(len(c.trace), visible_state(c))]
    for _ in range(steps):
        c.step()
        seen.append((len(c.trace), visible_state(c)))
    return seen


def test_goto_returns_to_the_moment_the_trace_had_that_many_events():
    c = elected()
    c.submit("set x 1")
    seen = record_timeline(c, 60)
    for length, expected in [seen[5], seen[30], seen[0], seen[59], seen[17]]:
        c.goto(length)
        assert len(c.trace) == length
        assert visible_state(c) == expected


def test_goto_inside_a_step_lands_on_the_last_boundary_before_it():
    c = elected()
    c.submit("set x 1")
    seen = record_timeline(c, 60)
    lengths = [length for length, _ in seen]
    # A step that added several events: aim between its first and last.
    k = next(k for k in range(1, len(seen)) if lengths[k] - lengths[k - 1] >= 2)
    c.goto(lengths[k] - 1)
    assert len(c.trace) == lengths[k - 1]
    assert visible_state(c) == seen[k - 1][1]


def test_goto_keeps_the_trace_text_of_the_past():
    c = elected()
    c.run(0.3)
    original = texts(c)
    c.goto(len(original) // 2)
    assert texts(c) == original[: len(c.trace)]
    assert len(c.trace) <= len(original) // 2


def test_goto_zero_returns_to_the_start():
    fresh = Cluster(3, seed=1)
    c = elected()
    c.run(0.5)
    c.goto(0)
    assert texts(c) == texts(fresh)
    assert visible_state(c) == visible_state(fresh)


def test_goto_forward_into_the_recorded_future():
    c = elected()
    c.submit("set x 1")
    c.run(0.2)
    end_texts, end_state = texts(c), visible_state(c)
    middle = len(end_texts) // 2
    c.goto(10)
    c.goto(middle)
    assert texts(c) == end_texts[: len(c.trace)]
    c.goto(len(end_texts))
    assert texts(c) == end_texts
    assert visible_state(c) == end_state


def test_goto_rejects_a_negative_index():
    c = elected()
    with pytest.raises(ValueError):
        c.goto(-1)


# -- the recorded future ------------------------------------------------------


def timeline_with_calls() -> tuple[Cluster, int, list[str], dict]:
    """An elected cluster, then (recorded future) a submit, a crash, another submit, a restart."""
    c = elected()
    fork_point = len(c.trace)
    c.submit("set x 1")
    c.run(0.05)
    c.crash("n2")
    c.submit("set y 2")
    c.run(0.3)
    c.restart("n2")
    c.run(0.3)
    return c, fork_point, texts(c), visible_state(c)


def test_stepping_after_a_rewind_replays_the_recorded_future_including_calls():
    c, fork_point, original, _ = timeline_with_calls()
    c.goto(fork_point)
    assert len(c.trace) == fork_point
    assert c.nodes["n2"].running
    while len(c.trace) < len(original):
        c.step()
    assert texts(c) == original
    # The recorded crash, submits and restart were all redone.
    kinds = [e.kind for e in c.trace[fork_point:]]
    assert kinds.count("crash") == 1 and kinds.count("restart") == 1
    assert kinds.count("submit") == 2


def test_replay_redoes_a_recorded_crash_at_the_same_moment():
    c, fork_point, original, _ = timeline_with_calls()
    crash_at = next(i for i, e in enumerate(c.trace) if e.kind == "crash")
    c.goto(fork_point)
    step_until_trace_has(c, crash_at + 1)
    assert c.trace[crash_at].kind == "crash"
    assert not c.nodes["n2"].running


def test_running_forward_after_a_rewind_replays_the_recorded_future():
    c, fork_point, original, end_state = timeline_with_calls()
    c.goto(0)
    c.run_until(lambda c: len(c.trace) >= len(original), timeout=5.0)
    assert texts(c) == original


def test_running_forward_in_smaller_slices_after_a_rewind_still_replays_the_recorded_crash():
    # Moving time forward is not "doing something new": the recorded crash must come back.
    c = Cluster(3, seed=1)
    c.run(0.5)
    c.crash("n2")
    c.run(0.5)
    original = texts(c)
    c.goto(0)
    for _ in range(10):
        c.run(0.1)
    assert not c.nodes["n2"].running
    assert texts(c) == original


def test_a_different_call_after_a_rewind_forks_history():
    c, fork_point, original, _ = timeline_with_calls()
    c.goto(fork_point)
    c.crash("n3")  # the recorded future began with a submit
    c.run(0.4)
    forked = texts(c)
    assert forked[:fork_point] == original[:fork_point]
    assert forked != original[: len(forked)]
    assert not any("set y 2" in t for t in forked)
    # The old future is gone: going "forward" cannot reach it any more.
    c.goto(fork_point)
    c.goto(len(original))
    assert texts(c) == forked[: len(c.trace)]
    assert len(c.trace) <= len(forked)
    assert not any("set y 2" in t for t in texts(c))
    assert c.nodes["n2"].running


def test_stepping_after_a_fork_does_not_bring_back_old_calls():
    c, fork_point, original, _ = timeline_with_calls()
    c.goto(fork_point)
    c.submit("set z 9")
    for _ in range(300):
        c.step()
    assert all(e.kind != "crash" for e in c.trace)
    assert not any("set y 2" in t for t in texts(c))


def test_submit_handle_still_reads_its_proposal_after_goto_past_it():
    c = elected()
    c.run(0.05)
    handle = c.submit("set x 1")
    after_submit = len(c.trace)
    c.run(0.3)
    assert handle.committed
    index, term = handle.index, handle.term
    c.goto(0)
    c.goto(after_submit)
    assert handle.command == "set x 1"
    assert (handle.index, handle.term) == (index, term)
    assert not handle.committed  # as it was at that moment
    c.goto(len(c.trace) + 10_000)
    assert handle.committed
    assert handle.result == "ok"


def test_submit_handle_from_before_a_rewind_says_it_was_undone():
    c = elected()
    before_submit = len(c.trace)
    handle = c.submit("set x 1")
    c.run(0.2)
    c.goto(before_submit)
    with pytest.raises(LookupError):
        _ = handle.accepted


def test_submit_handle_from_a_dropped_future_never_reports_another_command():
    c = elected()
    before_submit = len(c.trace)
    old = c.submit("set y 2")
    c.run(0.2)
    c.goto(before_submit)
    new = c.submit("set z 3")  # forks: "set y 2" no longer happens
    c.run(0.2)
    assert new.command == "set z 3"
    try:
        command = old.command
    except LookupError:
        return  # an honest "undone" answer keeps the promise
    assert command == "set y 2", f"a handle for 'set y 2' now reports {command!r}"


def test_long_run_goto_zero_and_back_to_the_end_gives_identical_traces():
    c = Cluster(5, seed=3)
    c.run_until(lambda c: c.leader is not None, timeout=3.0)
    for i in range(30):
        c.submit(f"set k{i} {i}")
        for _ in range(60):
            c.step()
    for _ in range(3500):
        c.step()
    original, end_state = texts(c), visible_state(c)
    times = [e.time_us for e in c.trace]
    assert c.events_processed >= 5000
    c.goto(0)
    assert len(c.trace) == 5  # the five nodes' start events
    assert visible_state(c) == visible_state(Cluster(5, seed=3))
    c.goto(len(original))
    assert texts(c) == original
    assert [e.time_us for e in c.trace] == times
    assert visible_state(c) == end_state
    # And the middle, reached backwards from the end (through checkpoints).
    middle = len(original) // 2
    c.goto(middle)
    assert texts(c) == original[: len(c.trace)]
    assert middle - len(c.trace) < 50
    c.goto(len(original))
    assert visible_state(c) == end_state
