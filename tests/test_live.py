"""The live view's driver and keys (sim/show/driver.py, controls.py), without a terminal.

The driver runs under trio with the autojump MockClock standing in for real
time, so "ten real seconds" pass instantly and exactly. DESIGN.md: trio only
paces `step()`; the simulation stays deterministic whatever the speed.
"""

from __future__ import annotations

import io
import signal

import pytest
import trio
import trio.testing
from click.testing import CliRunner
from rich.console import Console

from sim import Cluster
from sim.cli import main
from sim.scenario import load
from sim.scenario.player import ScenarioPlayer
from sim.show.controls import NUMBER_PAUSE, SHIFT_TAB, TAB, Controls
from sim.show.driver import CHECKPOINT_SPACING, MAX_CATCH_UP, TICK, Driver
from sim.show.live import FRAME, _watch, keys_from, run_live

STORY = "scenarios/leader-crash.scenario"
# One driver tick of simulated time at `speed`: how far pacing may lag the clock.
SLACK = TICK + 1e-9


class FakeClock:
    """Real time, set by hand (for the driver's synchronous `tick`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def sim_time_after(driver: Driver, real_seconds: float) -> float:
    """Run the driver for `real_seconds` of (mock) real time; simulated seconds elapsed."""
    start = driver.cluster.now
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        await trio.sleep(real_seconds)
        nursery.cancel_scope.cancel()
    return driver.cluster.now - start


# -- pacing ---------------------------------------------------------------------------


@pytest.mark.trio
@pytest.mark.parametrize("speed", [0.1, 0.5, 2.0])
async def test_n_simulated_seconds_take_n_over_speed_real_seconds(autojump_clock, speed):
    driver = Driver(Cluster(5, seed=7), speed=speed)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        while driver.cluster.now < 1.0:
            await trio.sleep(0.001)
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start == pytest.approx(1.0 / speed, abs=2 * SLACK)


@pytest.mark.trio
async def test_the_same_seed_gives_the_same_events_at_any_speed(autojump_clock):
    slow = Driver(Cluster(5, seed=3), speed=0.1)
    fast = Driver(Cluster(5, seed=3), speed=5.0)
    await sim_time_after(slow, 10.0)  # 1 simulated second
    await sim_time_after(fast, 0.2)  # 1 simulated second
    common = min(len(slow.cluster.trace), len(fast.cluster.trace))
    assert common > 100
    assert [e.text for e in slow.cluster.trace[:common]] == [
        e.text for e in fast.cluster.trace[:common]
    ]


@pytest.mark.trio
async def test_pause_stops_the_simulation_and_resuming_does_not_catch_up(autojump_clock):
    driver = Driver(Cluster(5, seed=7), speed=0.5)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        await trio.sleep(1.0)
        driver.pause()
        paused_at, events = driver.cluster.now, len(driver.cluster.trace)
        await trio.sleep(30.0)
        assert (driver.cluster.now, len(driver.cluster.trace)) == (paused_at, events)
        driver.resume()
        await trio.sleep(2.0)
        nursery.cancel_scope.cancel()
    assert driver.cluster.now - paused_at == pytest.approx(1.0, abs=SLACK)


@pytest.mark.trio
async def test_a_speed_change_applies_from_that_moment(autojump_clock):
    driver = Driver(Cluster(3, seed=1), speed=0.1)
    assert await sim_time_after(driver, 2.0) == pytest.approx(0.2, abs=SLACK)
    driver.faster()
    assert driver.speed == 0.2
    driver.set_speed(1.0)
    assert await sim_time_after(driver, 2.0) == pytest.approx(2.0, abs=SLACK)
    driver.slower()
    assert driver.speed == 0.5
    assert await sim_time_after(driver, 2.0) == pytest.approx(1.0, abs=SLACK)


def test_speed_stays_within_the_ladder():
    driver = Driver(Cluster(3, seed=1), speed=10.0, clock=FakeClock())
    driver.faster()
    assert driver.speed == 10.0
    driver.set_speed(0.001)
    driver.slower()
    assert driver.speed == 0.001
    with pytest.raises(ValueError):
        driver.set_speed(0)


def test_after_a_stall_the_driver_gives_up_the_missed_time_instead_of_racing():
    clock = FakeClock()
    driver = Driver(Cluster(3, seed=1), speed=1.0, clock=clock)
    driver.tick()
    clock.now = 100.0  # the terminal was suspended for 100 s
    driver.tick()
    assert driver.cluster.now == pytest.approx(MAX_CATCH_UP)


# -- stepping -----------------------------------------------------------------------


def test_single_step_pauses_and_processes_exactly_one_event():
    driver = Driver(Cluster(5, seed=7), clock=FakeClock())
    before = driver.cluster.events_processed
    added = driver.step()
    assert driver.paused
    assert driver.cluster.events_processed == before + 1
    assert added and added == list(driver.cluster.trace[-len(added) :])


def test_back_undoes_one_event():
    driver = Driver(Cluster(5, seed=7), clock=FakeClock())
    for _ in range(20):
        driver.step()
    texts = [e.text for e in driver.cluster.trace]
    now = driver.cluster.now
    driver.step()
    undone = driver.back()
    assert undone
    assert [e.text for e in driver.cluster.trace] == texts
    assert driver.cluster.now == now


@pytest.mark.trio
async def test_stepping_while_paused_then_resuming_continues_from_there(autojump_clock):
    driver = Driver(Cluster(5, seed=7), speed=1.0, paused=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        await trio.sleep(5.0)
        assert driver.cluster.events_processed == 0
        driver.step()
        after_step = driver.cluster.now
        driver.resume()
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert driver.cluster.now - after_step == pytest.approx(0.5, abs=SLACK)


# -- scenario pause points ------------------------------------------------------------


@pytest.mark.trio
async def test_the_driver_stops_at_each_pause_point_of_a_scenario(autojump_clock):
    player = ScenarioPlayer(load(STORY))
    stops = [mark.trace_index for mark in player.marks if mark.pause]
    driver = Driver(player.cluster, speed=1.0, player=player)
    controls = Controls(driver)
    reached = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        for _ in stops:
            while not driver.paused:
                await trio.sleep(0.01)
            reached.append(len(player.cluster.trace))
            assert controls.view_state().note
            driver.resume()
        nursery.cancel_scope.cancel()
    assert reached == stops


def test_at_a_chapter_stop_the_view_announces_the_next_chapter():
    player = ScenarioPlayer(load(STORY))
    clock = FakeClock()
    driver = Driver(player.cluster, speed=1.0, player=player, clock=clock)
    controls = Controls(driver)
    while not driver.paused:
        clock.now += 0.05
        driver.tick()
    state = controls.view_state()
    assert state.title == "Leader crash and re-election"
    assert "A leader and one committed command" in (state.note or "")
    assert state.chapter == "next: 2. The leader crashes"
    assert state.narration.startswith("n3 stops.")


def test_a_key_that_changes_the_cluster_forks_the_story_and_drops_its_pause_points():
    player = ScenarioPlayer(load(STORY))
    clock = FakeClock()
    driver = Driver(player.cluster, speed=1.0, player=player, clock=clock)
    controls = Controls(driver)
    controls.press("1")
    controls.press("c")
    assert driver.forked
    assert "changed the story" in (controls.view_state().note or "")
    for _ in range(40):
        clock.now += 0.05
        driver.tick()
    assert not driver.paused


# -- keys -----------------------------------------------------------------------------


def make_controls(nodes: int = 5, clock: FakeClock | None = None) -> tuple[Controls, Cluster]:
    cluster = Cluster(nodes, seed=7)
    cluster.run_until(lambda c: c.leader is not None and c.nodes[c.leader].commit_index >= 1)
    if clock is None:
        return Controls(Driver(cluster, clock=FakeClock())), cluster
    return Controls(Driver(cluster, clock=clock), clock=clock), cluster


def test_keys_that_need_a_node_ask_for_one_first():
    controls, cluster = make_controls()
    controls.press("c")
    assert "select a node" in (controls.view_state().message or "")
    assert all(v.running for v in cluster.nodes.values())
    controls.press("7")
    assert "there is no n7" in (controls.view_state().message or "")


def test_c_crashes_the_selected_node_and_restarts_it():
    controls, cluster = make_controls()
    leader = cluster.leader
    controls.press(leader[1:])
    assert controls.view_state().selected == leader
    controls.press("c")
    assert not cluster.nodes[leader].running
    controls.press("c")
    assert cluster.nodes[leader].running


def test_isolate_heal_timeout_request_transfer_add_remove():
    controls, cluster = make_controls()
    leader = cluster.leader
    other = next(n for n in cluster.nodes if n != leader)
    controls.press(other[1:])
    controls.press("i")
    assert cluster.partitions == [[other], [n for n in cluster.nodes if n != other]]
    controls.press("h")
    assert cluster.partitions == []
    controls.press("t")
    assert "election timer expires now" in (controls.view_state().message or "")
    controls.press("r")
    assert "entry" in (controls.view_state().message or "")
    cluster.run(0.3)
    controls.press("l")
    assert "transfer leadership" in (controls.view_state().message or "")
    assert cluster.run_until(lambda c: c.leader == other, timeout=2.0)
    cluster.run(0.3)
    controls.press("a")
    assert "add n6: accepted" in (controls.view_state().message or "")
    assert cluster.run_until(lambda c: "n6" in c.nodes[c.leader].members.voters, timeout=3.0)
    cluster.run(0.5)
    assert (controls.view_state().message or "").startswith("add n6: done")
    controls.press("6")
    controls.press("d")
    assert cluster.run_until(lambda c: "n6" not in c.nodes[c.leader].members.voters, timeout=3.0)


def test_space_n_b_plus_minus_help_and_quit():
    controls, cluster = make_controls()
    driver = controls.driver
    controls.press(" ")
    assert driver.paused
    processed = cluster.events_processed
    controls.press("n")
    assert cluster.events_processed == processed + 1
    controls.press("b")
    assert cluster.events_processed == processed
    controls.press("+")
    assert driver.speed > 0.1
    controls.press("-")
    controls.press("-")
    assert driver.speed < 0.1
    controls.press("?")
    assert controls.view_state().show_help
    controls.press("x")  # any key closes the help
    assert not controls.view_state().show_help
    controls.press("q")
    assert controls.quit


def test_digits_typed_in_quick_succession_select_n10_and_up():
    clock = FakeClock()
    controls, cluster = make_controls(12, clock)
    controls.press("1")
    assert controls.selected == "n1"  # at once: 1 then c still crashes n1
    clock.now += NUMBER_PAUSE / 2
    controls.press("0")
    assert controls.selected == "n10"
    assert (controls.view_state().message or "").startswith("selected n10")
    controls.press("c")
    assert not cluster.nodes["n10"].running
    controls.press("1")
    controls.press("2")
    assert controls.selected == "n12"


def test_a_digit_after_a_pause_or_past_the_last_node_starts_a_new_number():
    clock = FakeClock()
    controls, _ = make_controls(10, clock)
    controls.press("1")
    clock.now += NUMBER_PAUSE * 2
    controls.press("0")
    assert controls.selected == "n1"
    assert "there is no n0 (nodes: n1-10)" in (controls.view_state().message or "")
    controls.press("1")
    controls.press("2")  # there is no n12: this is n2
    assert controls.selected == "n2"
    controls.press("r")  # another key ends the number
    controls.press("0")
    assert controls.selected == "n2"


def test_a_0_after_the_last_single_digit_node_says_there_is_no_such_node():
    controls, _ = make_controls(5)
    controls.press("1")
    controls.press("0")
    assert "there is no n10" in (controls.view_state().message or "")
    assert controls.selected == "n1"


def test_tab_and_shift_tab_cycle_through_the_nodes():
    controls, cluster = make_controls(10)
    controls.press(TAB)
    assert controls.selected == "n1"
    for _ in range(9):
        controls.press(TAB)
    assert controls.selected == "n10"
    controls.press(TAB)
    assert controls.selected == "n1"
    controls.press(SHIFT_TAB)
    assert controls.selected == "n10"
    controls.press("c")
    assert not cluster.nodes["n10"].running
    fresh, _ = make_controls(3)
    fresh.press(SHIFT_TAB)
    assert fresh.selected == "n3"


def test_a_refused_request_says_why():
    controls, cluster = make_controls()
    cluster.crash(cluster.leader)
    controls.press("r")
    assert "refused" in (controls.view_state().message or "")


def test_escape_sequences_are_not_keys():
    assert keys_from(b"3c\x1b[A q") == ["3", "c", " ", "q"]
    assert keys_from(b"\x1b[15~n") == ["n"]


def test_tab_and_shift_tab_are_keys():
    assert keys_from(b"\t\x1b[Z1") == [TAB, SHIFT_TAB, "1"]


# -- the terminal program -------------------------------------------------------------


RESTORED = "\x1b[?25h\x1b[?1049l"  # the cursor shown, the main screen back


def fake_terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, height=24, force_terminal=True), out


def test_q_from_the_keyboard_ends_the_live_view_and_restores_the_screen():
    controls, _ = make_controls()
    console, out = fake_terminal()
    typed = iter([["1"], ["q"]])

    async def keyboard() -> list[str] | None:
        await trio.sleep(0.05)
        return next(typed)

    run_live(controls, console, keyboard)
    assert controls.selected == "n1" and controls.quit
    screen = out.getvalue()
    assert "leader" in screen  # the dashboard was drawn
    assert screen.endswith(RESTORED)


@pytest.mark.parametrize("when", ["before the first frame", "after a few keys"])
def test_ctrl_c_inside_the_live_view_is_one_plain_keyboard_interrupt(when):
    # Ctrl-C makes trio raise KeyboardInterrupt in whichever task runs: here the
    # keyboard task, inside the nursery, so it leaves the nursery in an exception group.
    controls, cluster = make_controls(10)
    console, out = fake_terminal()
    presses = [] if when == "before the first frame" else [["1", "0"], [" "]]

    async def keyboard() -> list[str] | None:
        if presses:
            await trio.sleep(0.05)
            return presses.pop(0)
        signal.raise_signal(signal.SIGINT)
        await trio.sleep(5)  # not reached: the interrupt lands at the checkpoint at the latest
        return None

    with pytest.raises(KeyboardInterrupt) as caught:
        run_live(controls, console, keyboard)
    assert type(caught.value) is KeyboardInterrupt
    assert out.getvalue().endswith(RESTORED)
    if when == "after a few keys":
        assert controls.selected == "n10" and controls.driver.paused


def test_watch_takes_denser_checkpoints_than_a_plain_run():
    # Its simulation is paced by the clock, so it has time for them: `b` replays less.
    controls, cluster = make_controls()
    assert cluster.checkpoint_spacing == CHECKPOINT_SPACING < Cluster(3).checkpoint_spacing


def test_what_a_key_did_is_drawn_at_once_not_a_frame_later():
    # Trio's mock clock: the times below are the program's own clock, not wall time.
    controls, cluster = make_controls()
    console, _ = fake_terminal()
    frames: list[tuple[float, int]] = []  # (when, trace length drawn)
    typed = [["b"], ["q"]]

    async def keyboard() -> list[str] | None:
        await trio.sleep(FRAME / 4)
        return typed.pop(0)

    def on_frame(c: Controls) -> None:
        frames.append((trio.current_time(), len(c.cluster.trace)))

    start = len(cluster.trace)
    trio.run(
        _watch,
        controls,
        console,
        keyboard,
        on_frame,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    assert frames[0] == (0.0, start)
    # `b` went back at FRAME / 4, and that frame was drawn right then.
    assert (FRAME / 4, len(cluster.trace)) in frames and len(cluster.trace) < start


# -- the command ---------------------------------------------------------------------


def test_watch_svg_saves_a_picture_of_the_dashboard(tmp_path):
    out = tmp_path / "dashboard.svg"
    result = CliRunner().invoke(main, ["watch", "--nodes", "3", "--seed", "2", "--svg", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.startswith("<svg") and "leader" in svg


def test_watch_svg_of_a_scenario_shows_its_first_stop(tmp_path):
    out = tmp_path / "story.svg"
    result = CliRunner().invoke(main, ["watch", STORY, "--svg", str(out)])
    assert result.exit_code == 0, result.output
    assert "leader&#160;crashes" in out.read_text()


def test_watch_without_a_terminal_prints_a_narrated_run():
    result = CliRunner().invoke(main, ["watch", "--nodes", "3"])
    assert result.exit_code == 0, result.output
    assert "not a terminal" in result.output
    assert "becomes leader" in result.output


def test_watch_a_scenario_without_a_terminal_runs_it_as_raftsim_run_does():
    result = CliRunner().invoke(main, ["watch", STORY])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_watch_rejects_nodes_with_a_scenario_and_a_missing_file_in_one_line():
    both = CliRunner().invoke(main, ["watch", STORY, "--nodes", "3"])
    assert both.exit_code == 2 and "--nodes" in both.output
    missing = CliRunner().invoke(main, ["watch", "no-such-story.scenario"])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
