"""Time travel in bounded time: checkpoints taken while running, and the copy they use.

`back()` and `goto()` restore the nearest checkpoint and replay from there
(sim/engine/checkpoints.py). Whatever the checkpoints, the promise of
DESIGN.md stands: a rewound cluster is exactly the cluster a fresh run would
have been at that moment, and it goes on exactly as a fresh one would.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import attrs
import pytest
from conftest import visible_state

import sim.engine.checkpoints as checkpoints
from sim import Cluster
from sim.engine.deep_copy import Chunker, all_immutable, declared, deep_copy

# -- the copy ---------------------------------------------------------------


@attrs.frozen
class Entry:
    index: int

    def __deepcopy__(self, memo: dict) -> Entry:
        return self


class Box:
    def __init__(self, items: list) -> None:
        self.items = items
        self.me = self


def test_a_copy_shares_immutable_values_and_copies_what_can_change():
    entries = [Entry(i) for i in range(100)]
    pairs = [(i, f"c{i}") for i in range(100)]
    table = {i: [i] for i in range(10)}
    original = {"entries": entries, "pairs": pairs, "table": table, "box": Box([1, 2])}
    twin = deep_copy(original)
    assert twin == {**original, "box": twin["box"]}
    assert twin["entries"] is not entries
    assert all(a is b for a, b in zip(twin["entries"], entries, strict=True))
    assert twin["pairs"] is not pairs and twin["pairs"][0] is pairs[0]
    assert all(twin["table"][i] is not table[i] for i in table)
    assert twin["box"] is not original["box"] and twin["box"].me is twin["box"]


def test_a_copy_keeps_aliases_and_shares_what_it_is_told_to():
    shared, inner = [1, 2, 3], [4]
    original = {"a": [inner, inner], "b": inner, "shared": shared}
    twin = deep_copy(original, share=[shared])
    assert twin["a"][0] is twin["a"][1] is twin["b"]
    assert twin["b"] is not inner
    assert twin["shared"] is shared


def test_a_list_that_only_grew_shares_its_old_runs_with_the_last_copy():
    chunker = Chunker()
    log = [Entry(i) for i in range(100)]
    first, _ = chunker.chunks(log)
    chunker.done()
    log += [Entry(i) for i in range(100, 110)]
    second, new = chunker.chunks(log)
    chunker.done()
    assert second.parts[0] is first.parts[0]
    assert new == tuple(log[100:])
    assert copy.deepcopy(second) == log  # copying the chunks gives the list back


def test_a_list_changed_in_the_middle_is_kept_afresh():
    chunker = Chunker()
    log = [Entry(i) for i in range(100)]
    chunker.chunks(log)
    chunker.done()
    del log[50:]  # a conflicting suffix is truncated, and longer one appended
    log += [Entry(1000 + i) for i in range(60)]
    again, new = chunker.chunks(log)
    assert new is None and len(again.parts) == 1
    assert copy.deepcopy(again) == log


# -- what the engine promises the copier ------------------------------------------


def loaded_run(seconds: float = 1.0, seed: int = 2) -> Cluster:
    """Five nodes under client load, with a crash, a restart and a snapshot."""
    c = Cluster(5, seed=seed, snapshot_interval=50)
    assert c.run_until(lambda c: c.leader is not None, timeout=3.0)
    for i in range(round(seconds * 200)):
        c.submit(f"set k{i % 40} {i}")
        c.run(0.005)
        if i == 40:
            c.crash("n4")
        if i == 120:
            c.restart("n4")
    return c


def everything_in(root: object) -> list[object]:
    """Every object reachable from `root` through attributes, lists, tuples and dicts."""
    seen, found, todo = set(), [], [root]
    while todo:
        x = todo.pop()
        if id(x) in seen or isinstance(x, (int, float, str, bytes, type(None))):
            continue
        seen.add(id(x))
        found.append(x)
        if isinstance(x, dict):
            todo += [*x.keys(), *x.values()]
        elif isinstance(x, (list, tuple, set, frozenset)):
            todo += list(x)
        elif hasattr(x, "__dict__") or hasattr(type(x), "__slots__"):
            names = list(getattr(x, "__dict__", {}))
            names += [s for k in type(x).__mro__ for s in getattr(k, "__slots__", ())]
            todo += [getattr(x, name) for name in names if hasattr(x, name)]
    return found


def test_every_container_declared_immutable_holds_only_immutable_values():
    c = loaded_run()
    objects = everything_in(c._world)
    promises = declared()
    checked = set()
    for x in objects:
        for name in promises.get(type(x), ()):
            held = getattr(x, name)
            parts = [list(held), list(held.values())] if isinstance(held, dict) else [list(held)]
            assert all(map(all_immutable, parts)), f"{type(x).__name__}.{name} holds mutable values"
            checked.add((type(x), name))
    # A renamed attribute would silently lose its promise: each one is still there.
    assert checked == {(cls, name) for cls, names in promises.items() for name in names}


# -- back and goto after a long run ---------------------------------------------


Step = Callable[[Cluster], object]


def script() -> list[Step]:
    """Load, a crash and a restart, a partition and a heal: one call per element.

    Elements at odd indexes are submits, after which the clock stands where
    the submit left it. After a run() it stands at the run's end, which `goto`
    does not go to: it goes to the last event (or call) before it.
    """
    steps: list[Step] = [lambda c: c.run_until(lambda c: c.leader is not None, timeout=3.0)]
    for i in range(240):
        steps.append(lambda c, i=i: c.submit(f"set k{i % 30} {i}"))
        steps.append(lambda c: c.run(0.005))
    steps[120] = lambda c: (c.crash("n3"), c.run(0.005))
    steps[240] = lambda c: (c.restart("n3"), c.run(0.005))
    steps[300] = lambda c: (c.partition(["n1", "n2"]), c.run(0.005))
    steps[360] = lambda c: (c.heal(), c.run(0.005))
    return steps


def played(upto: int | None = None, spacing: int | None = None) -> Cluster:
    c = Cluster(5, seed=7)
    if spacing is not None:
        c.checkpoint_spacing = spacing
    for step in script()[:upto]:
        step(c)
    return c


@pytest.fixture(params=["spaced by cost", "dense"])
def spacing(request, monkeypatch) -> None:
    """As shipped, and with a checkpoint due every few actions (thinning works hard)."""
    if request.param == "dense":
        monkeypatch.setattr(checkpoints, "SPACING", 0)
        monkeypatch.setattr(checkpoints, "MIN_SPACING", 25)


def inner_state(c: Cluster, *, clock: bool = True) -> dict:
    """What a caller sees, and the state behind it that decides what comes next."""
    world = c._world
    seen = visible_state(c)
    if not clock:
        del seen["now"]
    return {
        **seen,
        "trace": [tuple(e) for e in c.trace],
        "in_flight": [(f.msg_id, str(f.message), f.sent_us, f.lands_us) for f in c.in_flight],
        "events": c.events_processed,
        "next_event": world.next_event_time(),
        "data": {n: dict(node.fsm.state_machine.data) for n, node in world.nodes.items()},
        "proposals": [(p.id, p.outcome, p.index, p.result) for p in world.proposals.values()],
        "violations": [str(v) for v in c.violations],
    }


@pytest.fixture(scope="module")
def marks() -> list[int]:
    """The trace length after each call of the script."""
    c = Cluster(5, seed=7)
    lengths = []
    for step in script():
        step(c)
        lengths.append(len(c.trace))
    return lengths


@pytest.mark.usefixtures("spacing")
def test_a_long_run_takes_checkpoints_as_it_goes():
    c = played()
    stats = c.time_travel_stats()
    assert stats["checkpoints"] >= 2  # the world as built, and some taken while running
    assert stats["positions"][0] == 0 and stats["positions"] == sorted(stats["positions"])
    assert stats["positions"][-1] > len(c._journal.actions) - stats["spacing"] - 1
    assert stats["bytes"] > 0


@pytest.mark.usefixtures("spacing")
def test_back_after_a_long_run_lands_where_a_fresh_run_was_one_step_earlier():
    c = played()
    last = len(c.trace)
    undone = c.back()
    assert len(c.trace) + len(undone) == last
    fresh = played(upto=len(script()) - 1)  # all but the last run(), which only steps
    while len(fresh.trace) < len(c.trace):
        fresh.step()
    assert inner_state(c) == inner_state(fresh)


@pytest.mark.usefixtures("spacing")
@pytest.mark.parametrize("point", [2, 131, 305, 420])
def test_goto_after_a_long_run_is_exactly_a_fresh_run_to_that_point(marks, point):
    c = played()
    c.goto(marks[point - 1])
    submit = point % 2 == 0
    assert inner_state(c, clock=submit) == inner_state(played(upto=point), clock=submit)


@pytest.mark.usefixtures("spacing")
@pytest.mark.parametrize("point", [132, 306])
def test_a_rewound_cluster_goes_on_as_a_fresh_one_when_history_forks(marks, point):
    c = played()
    c.goto(marks[point - 1])
    fresh = played(upto=point)
    for cluster in (c, fresh):
        cluster.crash("n5")  # not what the recorded future did next: history forks
    # The recorded future is gone, and with it the checkpoints taken in it.
    stats = c.time_travel_stats()
    assert max(stats["positions"]) <= c._journal.cursor and stats["future_rows"] == 0
    for cluster in (c, fresh):
        cluster.submit("set fork 1")
        cluster.run(0.4)
    assert inner_state(c) == inner_state(fresh)


@pytest.mark.usefixtures("spacing")
def test_going_back_and_forth_through_checkpoints_keeps_the_trace_byte_for_byte(marks):
    c = played()
    end = inner_state(c)
    for length in (marks[300], 0, marks[-1], marks[50], marks[200], marks[-1]):
        c.goto(length)
        assert [tuple(e) for e in c.trace] == end["trace"][: len(c.trace)]
    del end["now"]  # the clock stands at the last event, not at the end of the last run()
    assert inner_state(c, clock=False) == end


@pytest.mark.usefixtures("spacing")
def test_checkpoints_change_nothing_in_the_run(monkeypatch):
    with_checkpoints = played()
    monkeypatch.setattr(checkpoints, "SPACING", 10**12)
    without = played()
    assert without.time_travel_stats()["checkpoints"] == 1  # the world as built
    assert inner_state(with_checkpoints) == inner_state(without)


@pytest.mark.usefixtures("spacing")
def test_back_again_and_again_then_forward_is_exactly_a_fresh_run():
    # As `b`, `b`, `b` in watch: the first back() replays from a checkpoint and
    # takes travel checkpoints on its way, which the next ones restore.
    c = played()

    def fresh() -> Cluster:  # a fresh run to where `c` is (all but the last run(), then steps)
        twin = played(upto=len(script()) - 1)
        while len(twin.trace) < len(c.trace):
            twin.step()
        return twin

    for presses in range(1, 7):
        c.back()
        if presses in (1, 2, 6):
            assert inner_state(c) == inner_state(fresh())
    for _ in range(3):  # forward again: the recorded future, replayed
        c.step()
    assert inner_state(c) == inner_state(fresh())
    c.back()
    c.back()
    twin = fresh()
    for cluster in (c, twin):
        cluster.crash("n2")  # history forks after the travel checkpoints
        cluster.submit("set fork 2")
        cluster.run(0.3)
    assert inner_state(c) == inner_state(twin)


def test_a_checkpoint_after_a_restore_shares_the_runs_of_the_one_restored():
    c = played()
    c.back()  # restores a checkpoint, then takes travel checkpoints while replaying
    kept = c._checkpoints
    first = min(kept._travel)
    restored = max(p for p in kept._positions if p < first)
    runs = {id(run) for chunks in kept._chunks[restored] for run in chunks.parts}
    shared = [chunks for chunks in kept._chunks[first] if id(chunks.parts[0]) in runs]
    assert len(shared) >= 2 * len(c.nodes)  # the logs and the disks at least


def test_a_replay_takes_travel_checkpoints_so_the_next_back_replays_little():
    c = played()
    c.back()
    stats, cursor = c.time_travel_stats(), c._journal.cursor
    assert stats["travel"] >= 1
    base = max(p for p in stats["positions"] if p <= cursor)
    cost = stats["spacing"] // checkpoints.SPACING  # of the newest copy, in actions
    travel = max(checkpoints.MIN_SPACING, checkpoints.TRAVEL * cost)
    assert cursor - base < 2 * travel < stats["spacing"]  # the next back() replays little


def test_travel_checkpoints_stay_few_however_much_one_travels(marks):
    c = played()
    most = 0
    for i in range(1, 80):  # back and forth across the whole history
        c.goto(marks[i * 97 % len(marks)])
        c.back()
        most = max(most, c.time_travel_stats()["travel"])
    assert most == checkpoints.TRAVEL_KEPT  # reached, never passed: the others were dropped
    stats = c.time_travel_stats()
    assert stats["taken"] > stats["checkpoints"]


def test_denser_checkpoints_change_nothing_but_how_far_back_replays():
    plain, dense = played(), played(spacing=10)  # as `raftsim watch` sets it
    assert dense.time_travel_stats()["spacing"] * 3 < plain.time_travel_stats()["spacing"]
    assert dense.time_travel_stats()["taken"] > plain.time_travel_stats()["taken"]
    assert inner_state(dense) == inner_state(plain)
    for _ in range(3):
        for cluster in (plain, dense):
            cluster.back()
        assert inner_state(dense) == inner_state(plain)


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True, None])
def test_checkpoint_spacing_is_a_positive_count(value):
    c = Cluster(3)
    with pytest.raises(ValueError, match="checkpoint_spacing"):
        c.checkpoint_spacing = value
    assert c.checkpoint_spacing == checkpoints.SPACING


# -- the policy ------------------------------------------------------------------


def idle_for(c: Cluster, seconds: float) -> None:
    for _ in range(round(seconds)):
        c.run(1.0)


def test_checkpoints_stay_few_as_history_grows(monkeypatch):
    monkeypatch.setattr(checkpoints, "SPACING", 0)
    monkeypatch.setattr(checkpoints, "MIN_SPACING", 50)  # a checkpoint due every 50 actions
    c = Cluster(3, seed=1)
    counts = []
    for seconds in (15, 45, 180):  # the history grows fourfold each time
        idle_for(c, seconds)
        counts.append(c.time_travel_stats()["checkpoints"])
    # Dense near the present, geometric further back: each fourfold growth adds
    # about as many checkpoints as the one before (logarithmic), not four times as many.
    assert counts[2] - counts[1] <= counts[1] - counts[0] + 3
    assert counts[2] < 2 * (checkpoints.THINNING + 1) * math.log(c._journal.cursor / 50)


def test_gaps_grow_with_distance_from_the_present(spacing):
    c = Cluster(3, seed=1)
    idle_for(c, 30)
    kept = c._checkpoints
    end = len(c._journal.actions)
    positions = c.time_travel_stats()["positions"]
    for older, newer in zip(positions, positions[1:], strict=False):
        allowed = max(kept._spacing[older], (end - newer) // checkpoints.THINNING)
        assert newer - older <= allowed + 1
    # So going anywhere replays a bounded number of actions.
    for target in range(0, end, max(1, end // 50)):
        base = max(p for p in positions if p <= target)
        assert target - base <= max(max(kept._spacing.values()), (end - target) // 4) + 1


def test_without_history_no_checkpoint_is_taken():
    c = Cluster(3, seed=1, keep_history=False)
    idle_for(c, 5)
    assert c.time_travel_stats()["checkpoints"] == 0
