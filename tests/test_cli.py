"""The `raftsim` command line: exit codes, one-line errors, and what each command writes.

Exit codes: 0 when every expectation holds, 1 when one fails (expected vs actual,
with the step's file:line), 2 on bad input (one `FILE:LINE: message` line on
stderr, never a traceback).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import one_line_error, raftsim

from sim.cli import main
from sim.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios"

HEADER = "title: A test\nsummary: A scenario written by the tests.\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "story.scenario"
    path.write_text(header + body, encoding="utf-8")
    return path


# -- bad files: one line, file:line, exit code 2 -----------------------------------


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("cluster nodes=3\ncrsh n1\n", 4, "unknown step 'crsh' (did you mean 'crash'?)"),
        ("cluster nodes=3\ncrash n9\n", 4, "unknown node 'n9' (this cluster has n1, n2, n3)"),
        ("cluster nodes=3\nrun 5 seconds\n", 4, "bad duration '5': expected a number with a unit"),
        ("cluster nodes=3\nrun 1.5x\n", 4, "bad duration '1.5x'"),
        ("cluster nodes=3\ncrash\n", 4, "missing NODE: expected 'crash NODE'"),
        ("cluster nodes=3\ncrash n1 n2\n", 4, "unexpected 'n2': expected 'crash NODE'"),
        ("cluster nodes=3\ntimeout n1 afterr=1s\n", 4, "unknown option afterr="),
        ("cluster nodes=3\nrun until leader exists timeout=soon\n", 4, "bad timeout 'soon'"),
        ("cluster nodes=3\nrun until lunch\n", 4, "unknown condition 'lunch'"),
        ("cluster nodes=3\nexpect leeder n1\n", 4, "unknown expectation 'leeder' (did you mean"),
        ("cluster nodes=3\nexpect role n1 boss\n", 4, "bad role 'boss': expected one of follower"),
        ("cluster nodes=3\nexpect commit n1 many\n", 4, "bad commit 'many': expected a whole"),
        ("cluster nodes=3\nexpect committed w1\n", 4, "no submit, read or request named 'w1'"),
        ("cluster nodes=3\nsubmit \"set x\"\n", 4, "bad command 'set x'"),
        ("cluster nodes=3\nsubmit \"set x 1\n", 4, "no closing quotation"),
        ("cluster nodes=3\nsubmit w1 \"set x 1\"\nsubmit w1 \"set x 2\"\n", 5,
         "'w1' already names the submit on line 4"),
        ("cluster nodes=3\npartition n1,n2 | n2,n3\n", 4, "n2 is in two groups"),
        ("cluster nodes=3 colour=red\n", 3, "the cluster has no option colour="),
        ("cluster nodes=three\n", 3, "bad nodes 'three': expected a whole number"),
        ("cluster nodes=3 pre_vote=maybe\n", 3, "bad pre_vote 'maybe': expected on or off"),
        ("cluster nodes=3 max_inflight=lots\n", 3, "bad max_inflight 'lots': expected a whole"),
        ("cluster nodes=3 election_timeout=1s\n", 3, "expected a range such as 150ms..300ms"),
        ("cluster nodes=3 drop=2\n", 3, "drop must be a probability between 0 and 1, got 2"),
        ("cluster nodes=3\nlog n1 2 1\n", 4, "entry terms never decrease in a log: 1 after 2"),
        ("cluster nodes=3\nrun 1s\nlog n1 1\n", 5, "'log' lines (logs already on disk) go right"),
        ("cluster nodes=3\nexpect log n1 1 x\n", 4, "bad log entry 'x'"),
        ("cluster nodes=3\nexpect members n1 n1,n2 learners=n7\n", 4, "unknown node 'n7'"),
        ("> too early\ncluster nodes=3\n", 3, "narration ('>' lines) comes after the 'cluster'"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v and "\n" not in v else None,
)  # fmt: skip
def test_bad_file_gives_one_line_with_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path, body)
    for command in ("run", "check"):
        error = one_line_error(raftsim(command, str(path)))
        assert error.startswith(f"{path}:{line}: "), error
        assert message in error, error


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("cluster nodes=3\n", 1, "expected a 'title:' line before the 'cluster' line"),
        ("title: T\nsummary: S\n", 2, "expected a 'cluster' line"),
        ("title: T\nsumary: S\ncluster\n", 2, "expected 'title:', 'summary:' or the 'cluster'"),
        ("title: T\ntitle: U\n", 2, "the title is given twice"),
    ],
)
def test_bad_header_gives_one_line(tmp_path, text, line, message):
    path = write(tmp_path, text, header="")
    error = one_line_error(raftsim("check", str(path)))
    assert error == f"{path}:{line}: {message}" or error.startswith(f"{path}:{line}: {message}")


def test_missing_file_is_bad_input():
    error = one_line_error(raftsim("run", "no/such/file.scenario"))
    assert error == "no/such/file.scenario: cannot read the file: No such file or directory"


def test_impossible_request_at_run_time_names_its_line(tmp_path):
    path = write(tmp_path, "cluster nodes=3 seed=1\ncrash n1\ncrash n1\n")
    result = raftsim("run", str(path))
    assert one_line_error(result) == f"{path}:5: n1 is already down"
    assert "[1] crash n1" in result.stdout and "n1 crashes" in result.stdout


def test_bad_network_value_is_refused_before_the_run(tmp_path):
    path = write(tmp_path, "cluster nodes=3\nnetwork drop=lots\n")
    for command in ("run", "check"):
        error = one_line_error(raftsim(command, str(path)))
        assert error == f"{path}:4: bad drop 'lots': expected a probability between 0 and 1"


def test_step_needing_a_missing_cluster_method_is_reported(tmp_path, monkeypatch):
    monkeypatch.delattr(Cluster, "transfer_leadership")
    path = write(tmp_path, "cluster nodes=3\ntransfer n2\n")
    error = one_line_error(raftsim("check", str(path)))
    assert error == (
        f"{path}:4: step needs Cluster.transfer_leadership, not available in this version"
    )


def test_quiet_and_verbose_together_are_refused():
    error = one_line_error(raftsim("run", "-q", "-v", str(LIBRARY / "leader-election.scenario")))
    assert error == "raftsim: --quiet and --verbose cannot be used together"


def test_until_a_step_that_does_not_exist_is_bad_input():
    path = LIBRARY / "leader-election.scenario"
    assert one_line_error(raftsim("run", "--until", "99", str(path))) == (
        f"{path}: --until 99: the scenario has steps 1 to 12"
    )
    error = one_line_error(raftsim("run", "--until", "lunch", str(path)))
    assert "expected a step number or words from a chapter title" in error


# -- failed expectations: expected vs actual, exit code 1 --------------------------


def test_failed_expectation_shows_expected_and_actual_and_stops(tmp_path):
    path = write(
        tmp_path,
        "cluster nodes=5 seed=7\nrun until leader exists\nexpect leader n1\nexpect no leader\n",
    )
    result = raftsim("run", str(path))
    assert result.exit_code == 1
    out = result.stdout
    assert f"{path}:5: expect leader n1\n" in out
    assert "    expected: leader n1\n" in out
    assert "    actual:   leader n3 (term 1)\n" in out
    assert "expect no leader" not in out, "the run stops at the first failure"
    assert "PASS" not in out


def test_failed_expectation_in_quiet_mode_is_one_summary_line(tmp_path):
    path = write(tmp_path, "cluster nodes=5 seed=7\nrun until leader exists\nexpect term all 2\n")
    result = raftsim("run", "--quiet", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"FAIL {path}:5: expect term all 2: expected term 2 on all, "
        "actual term n1 1; n2 1; n3 1; n4 1; n5 1"
    ]


def test_run_until_that_times_out_fails_with_what_it_saw(tmp_path):
    path = write(tmp_path, "cluster nodes=3 seed=1\nisolate n1\nrun until leader n1 timeout=1s\n")
    result = raftsim("run", str(path))
    assert result.exit_code == 1
    assert "    expected: leader n1 within 1s\n" in result.stdout
    assert "    actual:   leader n" in result.stdout


# -- the commands ------------------------------------------------------------------


def test_run_passes_and_says_so():
    result = raftsim("run", str(LIBRARY / "leader-election.scenario"))
    assert result.exit_code == 0, result.output
    assert "1. Everyone starts as a follower" in result.stdout
    assert result.stdout.rstrip().endswith("events)")
    assert "PASS" in result.stdout


def test_run_finds_a_library_scenario_by_name():
    result = raftsim("run", "--quiet", "split-vote", "--dir", str(LIBRARY))
    assert result.exit_code == 0, result.output
    assert "split-vote.scenario: all 7 expectations hold" in result.stdout


def test_seed_override_is_shown_and_used(tmp_path):
    path = write(tmp_path, "cluster nodes=5 seed=7\nrun until leader exists\nexpect leader n3\n")
    assert raftsim("run", "-q", str(path)).exit_code == 0
    result = raftsim("run", "--seed", "2", str(path))
    assert f"{path}: cluster nodes=5 seed=2 (--seed)" in result.stdout
    assert result.exit_code == 1 and "actual:   leader n1 (term 1)" in result.stdout


def test_check_validates_without_running():
    files = [str(p) for p in sorted(LIBRARY.glob("*.scenario"))]
    result = raftsim("check", *files)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    assert f"{LIBRARY / 'leader-election.scenario'}: ok (12 steps, 9 expectations)" in lines


def test_list_shows_every_story_with_its_title(tmp_path):
    result = CliRunner().invoke(main, ["list", "--dir", str(LIBRARY)], terminal_width=200)
    assert result.exit_code == 0, result.output
    for path in LIBRARY.glob("*.scenario"):
        assert path.stem in result.stdout
    assert "Figure 7: divergent logs repaired" in result.stdout


def test_list_reports_a_broken_file_without_failing(tmp_path):
    (tmp_path / "broken.scenario").write_text("nonsense\n")
    result = CliRunner().invoke(main, ["list", "--dir", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0
    assert "broken" in result.stdout and "expected 'title:'" in result.stdout


def test_list_without_a_library_is_bad_input(tmp_path):
    error = one_line_error(raftsim("list", "--dir", str(tmp_path / "nowhere")))
    assert "no scenario library found" in error


def test_trace_is_saved_as_json_lines_and_replayed(tmp_path):
    trace = tmp_path / "run.jsonl"
    result = raftsim("run", "-q", "--trace", str(trace), str(LIBRARY / "leader-election.scenario"))
    assert result.exit_code == 0
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(events) > 50
    assert set(events[0]) == {"index", "time_us", "node", "component", "kind", "text", "msg_id"}
    assert [e["index"] for e in events] == list(range(len(events)))
    replay = raftsim("replay", str(trace))
    assert replay.exit_code == 0
    assert "n3 becomes leader of term 1 with votes from n2, n3, n5" in replay.stdout
    assert "receives" not in replay.stdout
    assert "n2 receives RequestVote" in raftsim("replay", "-v", str(trace)).stdout


def test_replay_of_a_bad_trace_names_the_line(tmp_path):
    trace = tmp_path / "bad.jsonl"
    trace.write_text('{"index": 0}\n')
    error = one_line_error(raftsim("replay", str(trace)))
    assert error.startswith(f"{trace}:1: expected a trace event")


def test_diagram_is_written_for_a_time_window(tmp_path):
    svg = tmp_path / "run.svg"
    path = str(LIBRARY / "leader-election.scenario")
    result = raftsim("run", "-q", "--diagram", str(svg), "--window", "150ms..200ms", path)
    assert result.exit_code == 0, result.output
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    error = one_line_error(raftsim("run", "-q", "--diagram", str(svg), "--window", "soon", path))
    assert "bad --window 'soon'" in error


def test_demo_still_works():
    result = raftsim("demo", "--nodes", "3", "--seed", "1")
    assert result.exit_code == 0
    assert "all logs identical" in result.stdout
