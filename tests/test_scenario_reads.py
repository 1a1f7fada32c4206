"""Client reads in scenario files: `read NAME KEY [mode=MODE] [on NODE]`, `expect read`,
`run until read` (thesis §6.4: ReadIndex, lease and log reads, and the unsafe local read)."""

from __future__ import annotations

from io import StringIO

import pytest
from conftest import raftsim
from rich.console import Console

from sim.scenario import parse, run_scenario
from sim.scenario.reads import LogRead, Read, ReadAnswered, ReadIs

HEADER = "title: t\nsummary: s\n"
# n1 leads term 1 and has committed its first entry: reads can start.
READY = HEADER + "cluster nodes=3 seed=1\nrun until leader n1\nrun until committed 1 on all\n"


def outcome(text: str):
    return run_scenario(parse(text, "t.scenario"), Console(file=StringIO()), quiet=True)


def steps_of(body: str) -> list:
    return list(parse(HEADER + "cluster nodes=3\n" + body, "t.scenario").steps)


# -- parsing ---------------------------------------------------------------------------


def test_a_read_names_its_key_mode_and_node():
    (read,) = steps_of("read r1 x mode=lease on n2\n")
    assert isinstance(read, Read)
    assert (read.name, read.key, read.mode, read.to) == ("r1", "x", "lease", "n2")


def test_a_read_goes_through_read_index_at_the_leader_by_default():
    (read,) = steps_of("read r1 x\n")
    assert (read.mode, read.to) == ("read_index", None)


def test_the_fuzzer_s_saved_form_parses_and_options_may_come_anywhere():
    saved, moved = steps_of("read r1 x mode=local on n3\nread r2 x on n3 mode=log\n")
    assert (saved.mode, saved.to) == ("local", "n3")
    assert (moved.mode, moved.to) == ("log", "n3")


def test_expect_read_takes_a_value_none_or_an_outcome():
    _, value, absent, refused, pending, failed = steps_of(
        "read r x\n"
        "expect read r 1\n"
        "expect read r none\n"
        "expect read r refused\n"
        "expect read r pending\n"
        "expect read r failed\n"
    )
    assert value.expectation == ReadIs("r", "done", "1")
    assert absent.expectation == ReadIs("r", "done", None)
    assert refused.expectation == ReadIs("r", "refused")
    assert pending.expectation == ReadIs("r", "pending")
    assert failed.expectation == ReadIs("r", "failed")


def test_run_until_read_waits_for_a_named_read():
    _, until = steps_of("read r x\nrun until read r timeout=1s\n")
    assert until.condition == ReadAnswered("r") and until.timeout == 1.0


# -- running ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["log", "read_index", "local"])
def test_each_mode_reads_the_committed_value(mode):
    text = READY + (
        'submit w "set x 1"\nrun until committed w\n'
        f"read r x mode={mode}\nrun until read r\nexpect read r 1\nexpect outcome r done\n"
    )
    result = outcome(text)
    assert result.code == 0, result.failure or result.error
    assert result.passed == 2


@pytest.mark.parametrize("mode", ["log", "read_index", "local"])
def test_an_absent_key_reads_as_none(mode):
    result = outcome(READY + f"read r y mode={mode}\nrun until read r\nexpect read r none\n")
    assert result.code == 0, result.failure or result.error


def test_a_log_read_is_a_get_through_the_log():
    result = outcome(READY + "read r x mode=log\nexpect read r pending\n")
    assert result.code == 0, result.failure or result.error
    assert result.cluster.nodes["n1"].log[-1].command == "get x"


def test_a_read_at_a_follower_is_refused_with_its_reason_and_a_local_read_is_not():
    text = READY + (
        "read r x on n2\nexpect read r refused\nexpect refused r\n"
        "read l x mode=local on n2\nexpect read l none\n"
    )
    result = outcome(text)
    assert result.code == 0, result.failure or result.error


def test_a_wrong_value_fails_with_expected_and_actual():
    text = READY + 'submit w "set x 1"\nrun until committed w\nread r x\nrun until read r\n'
    result = outcome(text + "expect read r 2\n")
    assert result.code == 1
    assert result.failure == (
        "t.scenario:10: expect read r 2: expected r read x=2, actual r read x=1 at n1"
    )


def test_a_pending_read_is_not_a_value():
    # Everything to the leader is lost: its heartbeat round is never answered.
    text = READY + "cut n2 n1\ncut n3 n1\nread r x\nrun 10ms\n"
    result = outcome(text + "expect read r none\n")
    assert result.code == 1
    assert "expected r read x=none, actual r pending at n1" in str(result.failure)
    assert outcome(text + "expect read r pending\n").code == 0


def test_a_refused_read_is_not_a_value_and_says_why():
    result = outcome(READY + "read r x mode=lease\nexpect read r none\n")
    assert result.code == 1
    assert "actual r refused at n1 (lease reads need CheckQuorum" in str(result.failure)


def test_a_read_that_never_ends_times_out_like_an_expectation():
    text = READY + "cut n2 n1\ncut n3 n1\nread r x\nrun until read r timeout=50ms\n"
    result = outcome(text)
    assert result.code == 1
    assert "expected read r over within 50ms, actual r pending at n1" in str(result.failure)


def test_a_read_whose_leader_steps_down_fails():
    text = (
        HEADER + "cluster nodes=3 seed=1 check_quorum=on\n"
        "run until leader n1\nrun until committed 1 on all\n"
        "cut n2 n1\ncut n3 n1\nread r x\nrun until read r\n"
        "expect read r failed\nexpect role n1 follower\n"
    )
    result = outcome(text)
    assert result.code == 0, result.failure or result.error


def test_a_log_read_at_a_follower_is_refused():
    result = outcome(READY + "read r x mode=log on n2\nexpect read r refused\n")
    assert result.code == 0, result.failure or result.error


def test_a_log_read_without_a_known_answer_failed():
    handle = type("Unknown", (), {"accepted": True, "outcome": "unknown", "result": None})()
    read = LogRead(handle, "x")  # type: ignore[arg-type]
    assert (read.outcome, read.value) == ("failed", None)


def test_a_failed_read_exits_1_from_the_command_line(tmp_path):
    path = tmp_path / "story.scenario"
    path.write_text(
        READY + 'submit w "set x 1"\nrun until committed w\nread r x\n'
        "run until read r\nexpect read r 2\n"
    )
    result = raftsim("run", "--quiet", str(path))
    assert result.exit_code == 1 and result.stderr == ""
    assert result.stdout.strip() == (
        f"FAIL {path}:10: expect read r 2: expected r read x=2, actual r read x=1 at n1"
    )


# -- linearizability of the story's clients ---------------------------------------------

STALE = (
    HEADER
    + "cluster nodes=3 seed=1\nrun until leader exists timeout=2s\n"
    + 'submit w1 "set x 1"\nrun until committed w1\nisolate n3\nrun 0.5s\n'
    + 'submit w2 "set x 2"\nrun until committed w2\n'
)


def test_expect_linearizable_holds_for_reads_that_ask_a_quorum():
    text = STALE + "read r x mode=read_index\nrun until read r\nexpect read r 2\n"
    result = outcome(text + 'submit g "get x"\nrun until committed g\nexpect linearizable\n')
    assert result.code == 0, result.failure or result.error


def test_expect_linearizable_fails_on_a_stale_local_read_and_explains_why():
    text = STALE + "read r x mode=local on n3\nexpect read r none\nexpect linearizable\n"
    result = outcome(text)
    assert result.code == 1
    assert result.failure.startswith(
        "t.scenario:13: expect linearizable: expected the 3 client operations so far are "
        "linearizable, actual Not linearizable"
    )
    assert "get x returned nothing (client r" in result.failure


def test_a_log_read_counts_in_the_history():
    text = STALE + "read g x mode=log\nrun until read g\nexpect read g 2\nexpect linearizable\n"
    result = outcome(text)
    assert result.code == 0, result.failure or result.error
