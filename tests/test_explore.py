"""`raftsim explore`: every interleaving of a small cluster, and the shortest counterexample.

The promises: the same command finds the same counterexample; breadth first
finds a shortest one; a state reached two ways is one state; a bug is found
and saved as a scenario that `raftsim run` replays to the same failure
(exit 1); a clean bounded space is exhausted (exit 0); bad input is one line
(exit 2). And the steps the saved scenarios are made of pick one exact
message, timer or flush.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from conftest import one_line_error, raftsim

from sim.check.explore import (
    Budgets,
    Limits,
    Search,
    fresh,
    from_scenario,
    parallel,
    scenario_text,
    step_lines,
)
from sim.check.explore import moves as mv
from sim.check.explore import state as keys
from sim.check.explore.fork import fork
from sim.check.explore.parallel import parallel_bfs
from sim.check.explore.search import discard
from sim.cluster import Cluster
from sim.scenario.choice_steps import choose

ROOT = Path(__file__).resolve().parents[1]
FIGURE8 = str(ROOT / "scenarios" / "figure8-three-servers.scenario")


def double_vote_search(strategy: str = "bfs", **limits: object):
    start = fresh(3, ("double_vote",), "safety")
    return start, Search(start.world, Limits(max_term=2, **limits)).run(strategy)  # type: ignore[arg-type]


def test_the_same_command_finds_the_same_counterexample():
    runs = [double_vote_search() for _ in range(2)]
    (start_a, a), (start_b, b) = runs
    assert a.finding is not None and b.finding is not None
    assert a.finding.moves == b.finding.moves
    assert step_lines(start_a, a.finding.moves, eager=True) == step_lines(
        start_b, b.finding.moves, eager=True
    )
    walks = [double_vote_search("random", depth=12, seed=4)[1] for _ in range(2)]
    assert walks[0].finding is not None and walks[0].finding.moves == walks[1].finding.moves


def test_breadth_first_finds_a_shortest_counterexample():
    _, found = double_vote_search(depth=12)
    assert found.stop == "violation" and found.finding.property == "Election Safety"
    shortest = len(found.finding.moves)
    # Nothing shorter exists: the whole space one move less deep holds no violation.
    _, shorter = double_vote_search(depth=shortest - 1)
    assert shorter.stop == "depth" and shorter.finding is None
    _, deep = double_vote_search("dfs", depth=10)
    assert deep.finding is not None and len(deep.finding.moves) >= shortest


def test_a_state_reached_two_ways_is_one_state():
    start = fresh(3, (), "safety")
    search = Search(start.world, Limits(symmetry=False))
    fire_1, fire_2 = (mv.FIRE, "n1", "election"), (mv.FIRE, "n2", "election")

    def reach(*moves: mv.Move):
        state = search.root
        for move in moves:
            state, finding, _ = search.successor(state, move)
            assert finding is None
        return state

    one, other = reach(fire_1, fire_2), reach(fire_2, fire_1)
    # Different message ids and clocks, one state.
    assert sorted(one.world.network.in_flight) != sorted(other.world.network.in_flight) or (
        [f.message for f in one.world.network.in_flight.values()]
        != [f.message for f in other.world.network.in_flight.values()]
    )
    assert search.key(one) == search.key(other)
    assert search.key(one) != search.key(reach(fire_1))
    # With symmetry, n1 campaigning and n2 campaigning are one state too.
    symmetric = Search(start.world, Limits())
    assert symmetric.symmetry
    assert symmetric.key(symmetric.successor(symmetric.root, fire_1)[0]) == symmetric.key(
        symmetric.successor(symmetric.root, fire_2)[0]
    )


def test_a_fork_leaves_its_parent_as_it_was():
    start = fresh(3, (), "safety")
    search = Search(start.world, Limits(symmetry=False))
    before = search.key(search.root)
    child = fork(start.world, "n1")
    mv.make(child, (mv.FIRE, "n1", "election"), eager=True)
    assert child.nodes["n1"].term == 1 and start.world.nodes["n1"].term == 0
    assert child.nodes["n2"] is start.world.nodes["n2"]  # untouched nodes are shared
    assert search.key(search.root) == before


def test_double_vote_is_found_and_its_saved_scenario_replays_to_exit_1(tmp_path):
    result = raftsim("explore", "--bug", "double_vote", "--save", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "found: Election Safety" in result.output
    assert "leads term 1, which n1 already led" in result.output
    assert "states explored" in result.output and "states / s" in result.output
    saved = list(tmp_path.glob("*.scenario"))
    assert len(saved) == 1
    text = saved[0].read_text()
    assert "fire n1 election" in text and "deliver n" in text
    replay = raftsim("run", str(saved[0]), "--quiet")
    assert replay.exit_code == 1, replay.output
    assert "Election Safety" in replay.output


def test_the_same_explore_command_twice_saves_the_same_counterexample(tmp_path):
    """The command itself, not only the search: same output and the same saved story."""
    runs = []
    for _ in range(2):
        result = raftsim("explore", "--bug", "double_vote", "--save", str(tmp_path))
        assert result.exit_code == 1, result.output
        # Speed and wall time differ from run to run; everything else may not.
        lines = [
            line
            for line in result.stdout.splitlines()
            if "states / s" not in line and "wall time" not in line
        ]
        (saved,) = tmp_path.glob("*.scenario")
        runs.append((lines, saved.read_text()))
    assert "[1] fire n" in "\n".join(runs[0][0]) and "expect no violations" in runs[0][1]
    assert runs[0] == runs[1]


def test_a_clean_small_space_is_exhausted_with_exit_0():
    result = raftsim("explore", "--nodes", "1", "--max-term", "2")
    assert result.exit_code == 0, result.output
    assert "every state within the bounds was explored" in result.output
    bounded = raftsim("explore", "--nodes", "3", "--depth", "4")
    assert bounded.exit_code == 0, bounded.output
    assert "no violation up to depth 4" in bounded.output


def test_figure8_start_with_faults_and_clients_finds_nothing_shallow():
    start = from_scenario(FIGURE8, None, (), "safety")
    budgets = Budgets(crashes=1, losses=1, duplicates=1, clients=1)
    found = Search(start.world, Limits(depth=4, max_term=5, budgets=budgets)).bfs()
    assert found.stop == "depth" and found.finding is None
    assert found.stats.distinct > 100


def test_several_jobs_find_what_one_finds(monkeypatch):
    monkeypatch.setattr(parallel, "SMALL_LEVEL", 0)  # a worker process for every level
    start = fresh(3, ("double_vote",), "safety")
    limits = Limits(max_term=2, symmetry=False)
    one = Search(start.world, limits).bfs()
    two = parallel_bfs(start.world, limits, 2, None)
    assert one.finding is not None and two.finding is not None
    assert one.finding.moves == two.finding.moves


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--nodes", "3", "--from", FIGURE8], "--nodes and --from cannot be used together"),
        (["--until", "2"], "--until needs --from"),
        (["--bug", "typo"], "unknown bug switch typo"),
        (["--from", "no-such-story"], "no-such-story"),
        (["--from", FIGURE8, "--until", "99"], "--until 99: the scenario has steps 1 to 6"),
        (["--depth", "0"], "--depth"),
        (["--strategy", "best"], "--strategy"),
        (["--checkers", "some"], "--checkers"),
    ],
)
def test_bad_explore_input_is_one_line_with_exit_2(args, fragment):
    assert fragment in one_line_error(raftsim("explore", *args))


# -- the exact steps saved scenarios are made of -----------------------------------


def test_exact_steps_pick_one_message_timer_and_flush(tmp_path):
    story = tmp_path / "exact.scenario"
    story.write_text(
        "title: t\nsummary: s\ncluster nodes=3 pre_vote=off\n"
        "fire n2 election\nflush n2\nduplicate n2 -> n1 RequestVote\n"
        "deliver n2 -> n1 RequestVote#2\ndrop n2 n1 RequestVote\n"
        "deliver n2 n3\nflush n3\ndeliver n3 n2 VoteResponse\nexpect leader n2\n"
    )
    result = raftsim("run", str(story))
    assert result.exit_code == 0, result.output
    assert "n2 becomes leader of term 1" in result.output
    # Each exact choice is told in the story, the duplicate as well as the drop.
    assert "n2 -> n1 RequestVote(term 1, last log 0@0) duplicated (by request)" in result.output
    assert "n2 -> n1 RequestVote(term 1, last log 0@0) lost: dropped by request" in result.output


@pytest.mark.parametrize(
    "step, fragment",
    [
        ("fire n1 alarm", "unknown timer 'alarm'"),
        ("fire n1 heartbeat", "n1 has no heartbeat timer set (set: election)"),
        ("flush n1", "n1 has no disk flush pending"),
        ("deliver n1 n2 RequestVote#0", "bad message 'RequestVote#0'"),
        ("deliver n1 n2 RequestVote#2", "no second-oldest RequestVote message from n1 to n2"),
    ],
)
def test_a_bad_exact_step_is_one_line(tmp_path, step, fragment):
    story = tmp_path / "bad.scenario"
    story.write_text(f"title: t\nsummary: s\ncluster nodes=3\n{step}\n")
    assert fragment in one_line_error(raftsim("run", str(story)))


def test_an_election_timer_runs_out_without_moving_the_clock_unless_someone_could_tell():
    cluster = Cluster(3, seed=1, pre_vote=False)
    choose(cluster, "fire", "n3", "election")
    assert cluster.now == 0 and cluster.nodes["n3"].role == "candidate"
    cluster.run_until(lambda c: c.leader is not None)
    leader = cluster.leader
    before = cluster.now
    choose(cluster, "fire", leader, "heartbeat")
    assert cluster.now > before
    with pytest.raises(ValueError, match="no election timer"):
        choose(cluster, "fire", leader, "election")
    # With PreVote, followers judge by the clock whether a leader is alive: time passes.
    timed = Cluster(3, seed=1)
    choose(timed, "fire", "n3", "election")
    assert timed.now > 0 and any("-> pre-vote for term 1" in e.text for e in timed.trace)


def test_exact_choices_are_journaled_so_time_travel_replays_them():
    cluster = Cluster(3, seed=1, pre_vote=False)
    choose(cluster, "fire", "n2", "election")
    choose(cluster, "flush", "n2")
    request = next(f for f in cluster.in_flight if f.message.dst == "n1")
    choose(cluster, "duplicate", request.msg_id)
    cluster.run(0.05)
    ended = [e.text for e in cluster.trace]
    assert any("duplicated (by request)" in text for text in ended)
    cluster.goto(0)
    cluster.goto(len(ended))
    assert [e.text for e in cluster.trace] == ended
    with pytest.raises(ValueError, match="no message 999"):
        choose(cluster, "duplicate", 999)


def test_the_search_writes_no_sentence_and_its_replay_tells_the_path_in_full(tmp_path):
    start = fresh(3, ("double_vote",), "safety")
    found = Search(start.world, Limits(max_term=2)).bfs()
    assert found.finding is not None
    # Every searched world shares the start's trace: had one kept a row, it would be here.
    assert not start.world.tracing and len(start.world.trace) == 0
    assert not any(node.outbox.keep_notes for node in start.world.nodes.values())
    story = tmp_path / "found.scenario"
    story.write_text(scenario_text(start, found, "raftsim explore --nodes 3", eager=found.eager))
    replay = raftsim("run", str(story))
    assert replay.exit_code == 1, replay.output
    assert "n2 grants vote to" in replay.output and "becomes leader of term 1" in replay.output


def test_the_distinct_states_by_depth_stay_what_they_were():
    # Pinned counts: a faster fork or key that shares or skips too much changes them.
    figure8 = from_scenario(FIGURE8, None, (), "safety")
    limits = Limits(depth=6, max_term=figure8.max_term + 2)
    wide = Search(figure8.world, limits).bfs()
    assert wide.stats.by_depth == [1, 3, 12, 40, 124, 352, 934]
    assert wide.stats.explored == 1633
    deep = Search(figure8.world, limits).dfs()
    assert deep.stats.by_depth == wide.stats.by_depth and deep.stats.explored == 3010
    # A fresh (symmetric) cluster with every fault, flushes as choices, all checkers.
    start = fresh(3, (), "all")
    budgets = Budgets(crashes=1, losses=1, duplicates=1, clients=1)
    faulty = Search(start.world, Limits(depth=6, max_term=2, budgets=budgets)).bfs()
    assert faulty.stats.by_depth == [1, 2, 5, 16, 61, 209, 688]
    walks = Search(start.world, Limits(depth=8, max_term=2, walks=30, seed=3)).random_walks()
    assert walks.stats.by_depth == [1, 1, 3, 9, 18, 22, 29, 30, 30]


def test_remembered_node_encodings_give_the_keys_made_afresh():
    for start in (fresh(3, (), "safety"), from_scenario(FIGURE8, None, (), "safety")):
        search = Search(start.world, Limits(max_term=start.max_term + 2))
        states = [search.root]
        for _ in range(3):  # three levels, every move
            states = [search.successor(s, m)[0] for s in states for m in search.moves(s)]
        remembered = [search.key(s) for s in states]
        keys._LOCAL.clear()
        assert [search.key(s) for s in states] == remembered
        assert len(set(remembered)) < len(remembered)  # some states were reached twice


def test_a_dropped_world_is_freed_at_once_and_its_parent_kept():
    start = fresh(3, (), "safety")
    search = Search(start.world, Limits(symmetry=False))
    before = search.key(search.root)
    child, _, _ = search.successor(search.root, (mv.FIRE, "n1", "election"))
    node, world = weakref.ref(child.world.nodes["n1"]), weakref.ref(child.world)
    gc.disable()  # freed without the cycle collector
    try:
        discard(child)
        del child
        assert node() is None and world() is None
    finally:
        gc.enable()
    assert start.world.nodes["n1"].term == 0 and search.key(search.root) == before
