"""`Cluster.explain` says why an entry is (not) committed and why there is (no) leader.

Each test sets up one situation a student asks about and checks that the
answer names the facts that matter: the quorum, the nodes, the Figure 8 rule
(Raft §5.4.2), what is in flight, who is down or cut off, who campaigns.
"""

from __future__ import annotations

import io

import pytest
from conftest import figure8_start, raftsim
from rich.console import Console

from raft.messages import AppendEntries
from sim import Cluster
from sim.scenario import parse, run_scenario
from sim.show.controls import Controls
from sim.show.dashboard import ViewState, dashboard
from sim.show.driver import Driver

FIGURE_8_LOGS = {
    "n1": [1, (2, "set x 2")],
    "n2": [1],
    "n3": [1],
    "n4": [1],
    "n5": [1, (3, "set x 3")],
}


def _with_leader(n: int = 3, seed: int = 1, **options: object) -> Cluster:
    c = Cluster(n, seed=seed, **options)  # type: ignore[arg-type]
    assert c.run_until(lambda c: c.leader is not None)
    c.run(0.1)
    return c


def _carrying(c: Cluster, index: int) -> bool:
    return any(
        isinstance(f.message, AppendEntries) and any(e.index == index for e in f.message.entries)
        for f in c.in_flight
    )


def _figure8_c() -> Cluster:
    """Figure 8 (c): n1 leads term 4; its entry 2 of term 2 is on n1, n2, n3; entry 3 only on n1."""
    c = figure8_start(FIGURE_8_LOGS)
    assert c.run_until(lambda c: c.leader == "n1")
    assert c.run_until(lambda c: all(len(c.nodes[n].log) == 2 for n in ("n2", "n3")))
    c.cut("n1", "n2")
    c.cut("n1", "n3")
    c.run(0.3)
    return c


def test_a_fresh_commit_in_progress_names_the_quorum_the_holders_and_what_is_in_flight():
    c = _with_leader()
    h = c.submit("set x 1")
    assert c.run_until(lambda c: _carrying(c, h.index))
    text = str(c.explain(h.index))
    assert text.startswith(f'Entry {h.index} (term {h.term}, "set x 1") is not committed yet')
    assert f"leader {c.leader}" in text
    assert "It needs 2 of the 3 voters {n1,n2,n3}" in text
    assert "AppendEntries carrying it is in flight, lands in" in text
    assert "replicator for it is replicating" in text
    assert "Figure 8" not in text  # an entry of the leader's own term commits by counting
    c.run_until(lambda c: h.committed)
    done = str(c.explain(h.index))
    assert "is committed on leader" in done
    assert "acknowledged by" in done and "committed it at" in done


def test_an_acknowledgement_on_its_way_back_is_said():
    c = _with_leader()
    h = c.submit("set x 1")
    leader = c.leader
    assert c.run_until(
        lambda c: any(f.message.dst == leader and "ok, match" in f.text for f in c.in_flight)
    )
    assert "its acknowledgement (match 2) is on its way back" in str(c.explain(h.index))


def test_a_follower_down_is_named_and_its_disk_consulted():
    c = _with_leader()
    down = next(n for n in c.nodes if n != c.leader)
    c.crash(down)
    h = c.submit("set x 1")
    c.run(0.001)
    text = str(c.explain(h.index))
    assert f"- {down} is down (crashed); its disk does not hold it" in text
    assert "is not committed yet" in text


def test_a_held_link_keeps_the_entry_waiting_on_it():
    c = _with_leader()
    leader = c.leader
    follower, other = (n for n in c.nodes if n != leader)
    c.hold(leader, follower)
    c.crash(other)
    h = c.submit("set x 1")
    c.run(0.02)
    assert (
        f"- {follower} does not have it yet (its log ends at 1); AppendEntries carrying it is in "
        f"flight, held on the link {leader} -> {follower} until released;"
    ) in str(c.explain(h.index))


def test_a_partition_says_who_is_cut_off_and_that_the_leader_lacks_a_quorum():
    c = _with_leader(5)
    leader = c.leader
    assert leader is not None
    others = [n for n in c.nodes if n != leader]
    c.partition([leader, others[0]], others[1:])
    h = c.submit("set x 1")
    c.run(0.05)
    text = str(c.explain(h.index))
    assert "It needs 3 of the 5 voters" in text
    assert f"the leader has counted 2: {', '.join(sorted([leader, others[0]]))}" in text
    assert f"{leader} and {others[1]} are partitioned" in text
    why = str(c.explain())
    assert f"{leader} is the leader of term" in why
    assert f"{others[1]} is cut off from {leader}" in why
    assert f"{leader} cannot reach a quorum (3 of 5)" in why


def test_figure_8_an_old_term_entry_on_a_majority_waits_for_an_entry_of_the_leaders_term():
    c = _figure8_c()
    text = str(c.explain(2))
    assert 'Entry 2 (term 2, "set x 2") is not committed yet on leader n1 (term 4' in text
    assert "the leader has counted 3: n1, n2, n3" in text
    assert "older than the leader's term 4" in text and "Figure 8" in text
    assert "It does sit on a quorum" in text
    assert "entry 3, the leader's first of term 4. It is counted on n1 and needs 3 of 5" in text
    assert "neither commits yet" in text
    assert "n5 holds a different entry there (term 3), which the leader will overwrite" in text
    assert "link n1 -> n2 is cut" in str(c.explain(3))
    c.heal()
    c.partition(["n1", "n2", "n3"], ["n4", "n5"])
    assert c.run_until(lambda c: c.nodes["n1"].commit_index >= 3, timeout=1.0)
    done = str(c.explain(2))
    assert "is committed on leader n1" in done
    assert "indexes 1..3 acknowledged by n1, n2, n3" in done


def test_a_joint_configuration_needs_both_quorums_and_names_old_and_new_voters():
    c = _with_leader()
    c.add_node("n4")
    leader = c.leader
    assert c.run_until(lambda c: c.nodes[leader].members.is_joint, timeout=2.0)
    index = c.nodes[leader].log[-1].index
    text = str(c.explain(index))
    assert "The configuration is joint, so it needs both quorums" in text
    assert "2 of the old voters {n1,n2,n3} and 3 of the new voters {n1,n2,n3,n4}" in text
    assert "Counted so far: old" in text and "; new" in text


def test_a_learner_is_listed_but_never_counted():
    c = _with_leader()
    add = c.add_learner("n4")
    assert c.run_until(lambda c: add.done, timeout=2.0)
    for voter in [n for n in ("n1", "n2", "n3") if n != c.leader]:
        c.crash(voter)
    h = c.submit("set x 1")
    assert c.run_until(lambda c: c.nodes[c.leader].replication["n4"]["match_index"] >= h.index)
    text = str(c.explain(h.index))
    assert "It needs 2 of the 3 voters {n1,n2,n3}" in text
    assert f"the leader has counted 1: {c.leader}." in text
    assert "- n4 (learner: does not count) holds it on disk; acknowledged." in text


def test_no_leader_during_a_split_vote_names_the_candidates_their_tallies_and_refusals():
    c = Cluster(5, seed=3, pre_vote=False)
    c.timeout("n1")
    c.timeout("n2")
    for _ in range(12):
        c.step()
    assert c.leader is None
    text = str(c.explain())
    assert text.startswith("There is no leader now.")
    assert "n1 is a candidate for term 1: granted by n1" in text
    assert "answers in flight: n4 refused, n5 granted; it needs 3 of 5." in text
    assert "n2 is a candidate for term 1: granted by n2" in text
    assert "Split vote: n1, n2 campaign for term 1" in text
    assert "refuses vote to" in text and "already voted for" in text
    assert "Next election timeouts: " in text
    assert "There is no leader now, so no one counts acknowledgements" in str(c.explain(1))


def test_a_crashed_leader_is_named_and_what_it_committed_stays_committed():
    c = _with_leader()
    h = c.submit("set x 1")
    c.run_until(lambda c: h.committed)
    old = c.leader
    c.crash(old)
    text = str(c.explain(h.index))
    assert f"{old} led term 1 until it crashed" in text
    assert f"It is committed: {old} committed it, then crashed" in text
    assert f"- {old} is down (crashed); its disk holds {h.index}@1" in text
    why = str(c.explain())
    assert "Nobody campaigns right now." in why and f"Down: {old}." in why
    assert f"heard from leader {old}" in why  # the lease: pre-votes refused for a while


def test_a_compacted_index_is_committed_inside_the_snapshot():
    c = _with_leader()
    writes = [c.submit(f"set k{i} {i}") for i in range(5)]
    c.run_until(lambda c: writes[-1].committed)
    c.run(0.1)
    assert c.snapshot(c.leader).done
    text = str(c.explain(3))
    assert f"Entry 3 is committed: it is compacted into {c.leader}'s snapshot up to" in text


def test_an_index_beyond_the_leaders_log_does_not_exist_yet():
    c = _with_leader()
    last = c.nodes[c.leader].log[-1].index
    assert f"Entry {last + 5} does not exist on leader" in str(c.explain(last + 5))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", [2]])
def test_a_malformed_index_is_refused_by_name(bad):
    c = Cluster(3, seed=1)
    with pytest.raises(ValueError, match=r"index must be a whole number ≥ 1"):
        c.explain(bad)


def test_explaining_changes_nothing_and_reads_as_html_in_a_notebook():
    c = _with_leader()
    h = c.submit("set x <1>")
    before = len(c.trace)
    answer = c.explain(h.index)
    assert len(c.trace) == before and c.explain(h.index) == answer
    html = answer._repr_html_()
    assert html.startswith('<div class="raftsim-explain"><p><b>Entry')
    assert "<ul><li>" in html and "&lt;1&gt;" in html and html.endswith("</ul></div>")
    assert repr(answer) == str(answer)


# -- the scenario steps: `explain commit N` and `explain leader` -------------------------

STORY_HEADER = "title: T\nsummary: S.\ncluster nodes=3 seed=1\n"


def test_the_explain_steps_print_the_answer_into_the_story():
    scenario = parse(
        STORY_HEADER
        + "explain leader\n"
        + "run until leader exists\n"
        + 'submit w "set x 1"\n'
        + "explain commit 2\n"
        + "run until committed w\n"
        + "explain commit 2\n"
        + "explain leader\n",
        "story.scenario",
    )
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    assert run_scenario(scenario, console).code == 0
    text = out.getvalue()
    assert "[1] explain leader\n    There is no leader now.\n" in text
    assert '[4] explain commit 2\n    Entry 2 (term 1, "set x 1") is not committed yet' in text
    assert '[6] explain commit 2\n    Entry 2 (term 1, "set x 1") is committed on leader' in text
    assert "[7] explain leader\n    n" in text and "is the leader of term 1" in text
    assert "    - n" in text  # list items stay under the step


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("explain commit 0", "bad index '0': expected a whole number >= 1"),
        ("explain commit x", "bad index 'x'"),
        ("explain commit", "missing INDEX: expected 'explain commit INDEX  or  explain leader'"),
        ("explain", "missing 'commit INDEX' or 'leader'"),
        ("explain why", "unknown 'why': expected 'explain commit INDEX  or  explain leader'"),
        ("explain leader now", "unexpected 'now'"),
        ("explain commit 2 3", "unexpected '3'"),
    ],
)
def test_a_bad_explain_step_is_refused_at_its_line(tmp_path, line, fragment):
    path = tmp_path / "story.scenario"
    path.write_text(STORY_HEADER + line + "\n", encoding="utf-8")
    for command in ("run", "check"):
        result = raftsim(command, str(path))
        assert result.exit_code == 2, result.output
        [error] = result.stderr.splitlines()
        assert error.startswith(f"{path}:4: ") and fragment in error, error


# -- key w in `raftsim watch` ---------------------------------------------------------


class FakeClock:
    """Real time, set by hand."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


def _controls() -> tuple[Controls, Cluster, FakeClock]:
    c = _with_leader(5)
    clock = FakeClock()
    return Controls(Driver(c, clock=clock), clock=clock), c, clock


def _screen(c: Cluster, state: ViewState, width: int = 80, height: int = 24) -> list[str]:
    console = Console(file=io.StringIO(), width=width, height=height, record=True)
    console.print(dashboard(c, state, width, height))
    return console.export_text().splitlines()


def test_key_w_explains_the_selected_nodes_last_entry_and_follows_the_cluster():
    controls, c, clock = _controls()
    controls.press(" ")  # paused: every step refreshes the answer
    h = c.submit("set x 1")
    follower = next(n for n in c.nodes if n != c.leader)
    controls.press(c.leader[1:])
    controls.press("w")
    state = controls.view_state()
    assert state.message == f"why: entry {h.index} (w again closes)"
    assert (state.why or "").startswith(f'Entry {h.index} (term 1, "set x 1") is not committed yet')
    while not h.committed:
        controls.press("n")
    assert f'Entry {h.index} (term 1, "set x 1") is committed' in (controls.view_state().why or "")
    controls.press(follower[1:])  # the answer follows the selection
    assert (controls.view_state().why or "").startswith(f"Entry {h.index} ")
    controls.press("w")
    assert controls.view_state().why is None
    assert controls.view_state().message == "explanation closed"


def test_key_w_without_a_selection_explains_the_leader_and_runs_refresh_it_at_most_twice_a_second():
    controls, c, clock = _controls()
    controls.press("w")
    first = controls.view_state().why or ""
    assert first.startswith(f"{c.leader} is the leader of term 1")
    assert controls.view_state().message == "why: the leader (w again closes)"
    c.crash(c.leader)
    assert controls.view_state().why == first  # running: the same answer for half a second
    clock.now += 0.5
    assert (controls.view_state().why or "").startswith("There is no leader now.")


def test_the_explanation_takes_the_storys_place_within_the_screen_and_the_help_names_w():
    c = _with_leader(5)
    why = str(c.explain()) + "\n" + "\n".join(f"- line {i} " + "word " * 30 for i in range(30))
    for width, height in ((80, 24), (120, 40)):
        lines = _screen(c, ViewState(why=why), width, height)
        assert len(lines) <= height and all(len(line) <= width for line in lines)
        text = "\n".join(lines)
        assert "why (w again closes)" in text and f"{c.leader} is the leader" in text
        assert "… more: a taller terminal, or Cluster.explain in Python" in text
    help_text = "\n".join(_screen(c, ViewState(show_help=True)))
    assert "why? explain selected/leader" in help_text
    assert "recorded future is dropped)" in help_text  # the whole help still fits 80x24
