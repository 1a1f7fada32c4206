"""Bad input never gets a traceback, a hang, or a silent yes.

The promise (README, "Scenarios"): bad input gets one clear line on stderr,
`FILE:LINE: message` where there is a file, and exit code 2; exit code 1 only
for a failed expectation (strict=on makes a safety violation one); Ctrl-C
exits with 130. Each case below is one bad input: a scenario file (run and
checked, since `raftsim check` must refuse what `raftsim run` refuses), a
command line, or a trace file given to `raftsim replay`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import Result
from conftest import raftsim

from sim import Cluster
from sim.scenario import ScenarioError, parse
from sim.scenario.player import ScenarioPlayer
from sim.scenario.words import split
from sim.show.live import Controls, Driver

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """Real time for the live view's driver, set by hand."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


STORY = str(ROOT / "scenarios" / "leader-election.scenario")
HEADER = "title: T\nsummary: S.\n"
MILLION = 1_000_000


def single_line(result: Result, code: int = 2) -> str:
    """The one line on stderr of a command that ended with `code`, never a traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def refused(tmp_path: Path, content: str | bytes, line: int, fragment: str) -> str:
    """Write a scenario file; `run` and `check` refuse it with one line at `line`."""
    path = tmp_path / "story.scenario"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    errors = [single_line(raftsim(command, str(path))) for command in ("run", "check")]
    assert errors[0] == errors[1]
    assert errors[0].startswith(f"{path}:{line}: "), errors[0]
    assert fragment in errors[0], errors[0]
    return errors[0]


# -- scenario files: (body after a title and summary, line, what the error says) ---------

BODIES = {
    # Numbers too large to mean anything, refused when the file is read.
    "heartbeat overflows": ("cluster nodes=3 seed=1 heartbeat=1.0e999", 3, "too large a number"),
    "latency overflows": ("cluster nodes=3\nnetwork latency=0..1.0e999", 4, "too large a number"),
    "twenty-digit nodes": ("cluster nodes=99999999999999999999", 3, "from 1 to 100"),
    "no nodes": ("cluster nodes=0", 3, "from 1 to 100"),
    "101 nodes": ("cluster nodes=101", 3, "from 1 to 100"),
    "run for ages": ("cluster nodes=3\nrun 99999999999999999999s", 4, "at most 86400s"),
    "run a day and a second": ("cluster nodes=3\nrun 86401s", 4, "at most 86400s"),
    "heartbeat of days": ("cluster nodes=3 heartbeat=100000s", 3, "at most 86400s"),
    "timeout of days": ("cluster nodes=3\nrun until leader exists timeout=100000s", 4, "86400s"),
    "timer after days": ("cluster nodes=3\ntimeout n1 after=99999999s", 4, "at most 86400s"),
    "31-digit seed": ("cluster nodes=3 seed=" + "1" * 31, 3, "too large a number"),
    "31-digit index": ("cluster nodes=3\nexpect commit n1 " + "1" * 31, 4, "a whole number"),
    "31-digit term": ("cluster nodes=3\nlog n1 " + "1" * 31, 4, "bad log entry"),
    "31-digit K nodes": (
        "cluster nodes=3\nrun until committed 1 on " + "9" * 31 + " nodes",
        4,
        "bad K",
    ),
    "latency backwards": ("cluster nodes=3\nnetwork latency=8ms..2ms", 4, "latency: low"),
    "cluster latency backwards": ("cluster nodes=3 latency=8ms..2ms", 3, "latency: low"),
    "timeouts backwards": ("cluster nodes=3 election_timeout=300ms..150ms", 3, "is above high"),
    "three-part range": ("cluster nodes=3 latency=1ms..2ms..3ms", 3, "expected a range"),
    "drop above one": ("cluster nodes=3\nnetwork drop=1.5", 4, "between 0 and 1, got 1.5"),
    "negative timer": ("cluster nodes=3\ntimeout n1 after=-1s", 4, "bad after '-1s'"),
    # Values that used to be taken as something else: a silent yes.
    "reorder maybe": ("cluster nodes=3\nnetwork reorder=maybe", 4, "expected on or off"),
    "drop on": ("cluster nodes=3\nnetwork drop=on", 4, "expected a probability"),
    "duplicate yes": ("cluster nodes=3\nnetwork duplicate=yes", 4, "expected a probability"),
    "cluster drop on": ("cluster nodes=3 drop=on", 3, "expected a probability"),
    "drop as a duration": ("cluster nodes=3 drop=50ms", 3, "expected a probability"),
    "reorder as a number": ("cluster nodes=3 reorder=1", 3, "expected on or off"),
    "latency as a word": ("cluster nodes=3\nnetwork latency=fast", 4, "expected a range"),
    "latency of words": ("cluster nodes=3 latency=a..b", 3, "expected a range"),
    "network of nothing": ("cluster nodes=3\nnetwork", 4, "missing settings"),
    # Digits that are not ASCII digits.
    "arabic nodes": ("cluster nodes=٣", 3, "expected a whole number"),
    "arabic duration": ("cluster nodes=3\nrun ١s", 4, "bad duration '١s'"),
    "arabic index": ("cluster nodes=3\nexpect commit n1 ١", 4, "bad commit '١'"),
    "arabic until": ("cluster nodes=3\nrun until committed ١ on all", 4, "bad INDEX '١'"),
    "arabic term": ("cluster nodes=3\nexpect log n1 ٣", 4, "bad log entry '٣'"),
    "arabic session": ('cluster nodes=3\nsubmit "c1#١: set x 1"', 4, "bad session header"),
    "superscript session": ('cluster nodes=3\nsubmit "c1#²: set x 1"', 4, "bad session header"),
    "negative index": ("cluster nodes=3\nrun until committed -1 on all", 4, "bad INDEX '-1'"),
    "word as index": ("cluster nodes=3\nrun until applied x on all", 4, "bad INDEX 'x'"),
    # Names: ids and names are letters, digits and _; one name per submit.
    "id with =": ("cluster nodes=3\nchange-members n1,n2,x=y", 4, "bad node id 'x=y'"),
    "name with =": ('cluster nodes=3\nsubmit "set x 1" as=a=b', 4, "bad name 'a=b'"),
    "two names": ('cluster nodes=3\nsubmit w1 "set x 1" as=w2', 4, "two names for one submit"),
    "id with a dash": ("cluster nodes=3\nadd n-4", 4, "bad node id 'n-4'"),
    "name from a digit": ("cluster nodes=3\nadd n4 as=1x", 4, "bad name '1x'"),
    "too many servers": (
        "cluster nodes=3\nchange-members " + ",".join(f"x{i}" for i in range(101)),
        4,
        "at most 100",
    ),
    # Lists that name nothing.
    "bugs empty": ("cluster nodes=3 bugs=", 3, "without empty ones"),
    "bugs trailing comma": ("cluster nodes=3 bugs=double_vote,", 3, "without empty ones"),
    "bugs leading comma": ("cluster nodes=3 bugs=,double_vote", 3, "without empty ones"),
    "bugs unknown": ("cluster nodes=3 bugs=nope", 3, "unknown bug switch nope"),
    "old empty": ("cluster nodes=3\nexpect members n1 n1,n2,n3 old=", 4, "old= names nothing"),
    "learners empty": ("cluster nodes=3\nexpect members n1 n1,n2 learners=", 4, "learners="),
    "old only commas": ("cluster nodes=3\nrun until members n1,n2,n3 old=,", 4, "old="),
    "new learners empty": ("cluster nodes=3\nchange-members n1,n2,n3 learners=", 4, "learners="),
    # Client reads: the step, and what can be expected of it.
    "read of nothing": ("cluster nodes=3\nread", 4, "missing NAME"),
    "read without a key": ("cluster nodes=3\nread r", 4, "missing KEY"),
    "read on without a key": ("cluster nodes=3\nread r on n1", 4, "missing KEY before 'on'"),
    "read on nobody": ("cluster nodes=3\nread r x on", 4, "missing NODE"),
    "read on a stranger": ("cluster nodes=3\nread r x on n9", 4, "unknown node 'n9'"),
    "read node without on": ("cluster nodes=3\nread r x n1", 4, "unexpected 'n1'"),
    "read to= as submit has": ("cluster nodes=3\nread r x to=n1", 4, "unknown option to="),
    "read mode unknown": ("cluster nodes=3\nread r x mode=fast", 4, "bad mode 'fast'"),
    "read mode misspelt": ("cluster nodes=3\nread r x mode=leese", 4, "did you mean 'lease'"),
    "read mode empty": ("cluster nodes=3\nread r x mode=", 4, "bad mode ''"),
    "read key of two words": ("cluster nodes=3\nread r 'x y'", 4, "bad KEY 'x y'"),
    "read name from a digit": ("cluster nodes=3\nread 1r x", 4, "bad name '1r'"),
    "read name taken": (
        'cluster nodes=3\nsubmit w "set x 1"\nread w x',
        5,
        "'w' already names the submit on line 4",
    ),
    "expect read unnamed": ("cluster nodes=3\nexpect read r 1", 4, "no submit, read or request"),
    "expect read of a submit": (
        'cluster nodes=3\nsubmit w "set x 1"\nexpect read w 1',
        5,
        "'w' names the submit on line 4, not a read",
    ),
    "expect read no value": ("cluster nodes=3\nread r x\nexpect read r", 5, "missing VALUE"),
    "expect read done": ("cluster nodes=3\nread r x\nexpect read r done", 5, "not a value"),
    "expect read two values": ("cluster nodes=3\nread r x\nexpect read r 1 2", 5, "unexpected '2'"),
    "read outcome committed": (
        "cluster nodes=3\nread r x\nexpect outcome r committed",
        5,
        "bad outcome 'committed' for the read r",
    ),
    "until read of a request": (
        "cluster nodes=3\nadd n4 as=a\nrun until read a",
        5,
        "'a' names the request on line 4, not a read",
    ),
    "until read of nothing": ("cluster nodes=3\nrun until read", 4, "missing NAME of a read"),
    # The shape of the file.
    "chapter before cluster": ("## Chapter\ncluster nodes=3", 3, "comes after the 'cluster'"),
    "indented cluster": ("  cluster nodes=3 seed=1\nrun 1s", 3, "is indented"),
    "indented cluster at the end": ("  cluster nodes=3 seed=1", 3, "is indented"),
    "indented cluster, narration": ("  cluster nodes=3\n> hello", 3, "is indented"),
    "second cluster line": ("cluster nodes=3\ncluster nodes=5", 4, "a second 'cluster' line"),
    "open quote": ("cluster nodes=3\nsubmit 'set x 1", 4, "no closing quotation"),
    "trailing backslash": ("cluster nodes=3\ncrash n1 \\", 4, "no escaped character"),
    "comment glued to a word": ("cluster nodes=3\nrun 1s#soon", 4, "bad duration '1s#soon'"),
    "form feed in a word": ("cluster nodes=3\ncrash n1\fn2", 4, "unknown node 'n1\\x0cn2'"),
    "strict start that breaks": (
        'cluster nodes=3 strict=on\nlog n1 1:"set a 1"\nlog n2 1:"set b 1"',
        3,
        "logs on disk already break a safety property",
    ),
}


@pytest.mark.parametrize("body, line, fragment", BODIES.values(), ids=BODIES.keys())
def test_bad_scenario_file_is_one_line_at_its_line(tmp_path, body, line, fragment):
    refused(tmp_path, HEADER + body + "\n", line, fragment)


WHOLE_FILES = {
    "empty file": (b"", 1, "expected a 'title:' line"),
    "blank lines only": (b"\n\n\n", 3, "expected a 'title:' line"),
    "bad byte": (HEADER.encode() + b'cluster nodes=3\nsubmit "set x \xff"\n', 4, "0xff"),
    "bad first byte": (b"\xfetitle: T\n", 1, "not UTF-8 text"),
    "old Mac line ends": (b"title: T\rsummary: S.\rcluster nodes=3\rcrsh n1\r", 4, "'crsh'"),
    "form feed line": (HEADER.encode() + b"\x0c\ncluster nodes=3\ncrsh n1\n", 5, "'crsh'"),
}


@pytest.mark.parametrize("content, line, fragment", WHOLE_FILES.values(), ids=WHOLE_FILES.keys())
def test_bad_whole_file_is_one_line_at_its_line(tmp_path, content, line, fragment):
    refused(tmp_path, content, line, fragment)


HUGE = {
    "huge word": ("cluster nodes=3\ncrash " + "n" * MILLION, "unknown node 'nnnn"),
    "huge step": ("cluster nodes=3\n" + "x" * MILLION, "unknown step 'xxxx"),
    "huge command": ('cluster nodes=3\nsubmit "' + "x" * MILLION + '"', "bad command 'xxxx"),
    "huge duration": ("cluster nodes=3\nrun " + "9" * MILLION + "s", "at most 86400s"),
    "huge seed": ("cluster nodes=3 seed=" + "9" * MILLION, "too large a number"),
    "huge option": ("cluster nodes=3 " + "a" * MILLION + "=1", "has no option aaaa"),
    "huge extra word": ("cluster nodes=3\nrun 1s " + "x" * MILLION, "unexpected 'xxxx"),
}


@pytest.mark.parametrize("body, fragment", HUGE.values(), ids=HUGE.keys())
def test_a_million_character_line_gets_a_short_error(tmp_path, body, fragment):
    line = 3 if body.count("\n") == 0 else 4
    error = refused(tmp_path, HEADER + body + "\n", line, fragment)
    assert len(error) < len(str(tmp_path)) + 500, error[:600]


# -- failed stories and refusals found while running ---------------------------------------


def test_strict_violation_is_a_failed_story_not_a_traceback(tmp_path):
    path = tmp_path / "strict.scenario"
    path.write_text(
        HEADER + "cluster nodes=3 seed=4 pre_vote=off bugs=double_vote strict=on\n"
        "timeout n1\ntimeout n2\nrun 1s\nexpect no violations\n"
    )
    result = raftsim("run", "--quiet", str(path))
    assert result.exit_code == 1 and result.stderr == "" and "Traceback" not in result.output
    [line] = result.stdout.splitlines()
    assert line.startswith(f"FAIL {path}:6: run 1s: expected no safety violation (strict=on)")
    assert "One Vote Per Term violated" in line


def test_strict_violation_in_the_player_is_its_failure(tmp_path):
    text = HEADER + "cluster nodes=3 seed=4 pre_vote=off bugs=double_vote strict=on\n"
    player = ScenarioPlayer(parse(text + "timeout n1\ntimeout n2\nrun 1s\n", "s"))
    assert player.failure is not None and player.failure.startswith("s:6: expected no safety")


def test_strict_violation_pauses_the_live_view_instead_of_ending_it():
    cluster = Cluster(3, seed=4, pre_vote=False, bugs=["double_vote"], strict=True)
    cluster.timeout("n1")
    cluster.timeout("n2")
    clock = FakeClock()
    driver = Driver(cluster, speed=1.0, clock=clock)
    for _ in range(20):
        clock.now += 0.05
        driver.tick()
    assert driver.paused and len(cluster.violations) == 1
    controls = Controls(driver)
    for _ in range(50):  # stepping on, event by event, never raises either
        controls.press("n")
    assert controls.view_state().message is not None


def test_impossible_request_in_the_player_is_bad_input_at_its_line():
    with pytest.raises(ScenarioError) as caught:
        ScenarioPlayer(parse(HEADER + "cluster nodes=3\ncrash n1\ncrash n1\n", "s"))
    assert str(caught.value) == "s:5: n1 is already down"


@pytest.mark.parametrize(
    "body, line, fragment",
    [
        ("crash n1\ncrash n1", 5, "n1 is already down"),
        ("deliver n1 n2", 4, "no message from n1 to n2 is in flight"),
        ("restart n1", 4, "n1 is running"),
    ],
)
def test_request_refused_at_run_time_is_one_line_at_its_line(tmp_path, body, line, fragment):
    path = tmp_path / "story.scenario"
    path.write_text(HEADER + "cluster nodes=3\n" + body + "\n")
    assert raftsim("check", str(path)).exit_code == 0
    error = single_line(raftsim("run", str(path)))
    assert error == f"{path}:{line}: {fragment}" or error.startswith(f"{path}:{line}: {fragment}")


# -- command lines -------------------------------------------------------------------------

COMMAND_LINES = {
    "unknown command": (["frobnicate"], "raftsim: No such command 'frobnicate'."),
    "unknown flag": (["run", "--frob", STORY], "raftsim run: No such option '--frob'"),
    "unknown group flag": (["--frob"], "raftsim: No such option '--frob'"),
    "run without a file": (["run"], "raftsim run: Missing argument 'SCENARIO'"),
    "check without a file": (["check"], "raftsim check: Missing argument"),
    "seed not a number": (["run", "--seed", "abc", STORY], "'abc' is not a valid integer"),
    "demo seed not a number": (["demo", "--seed", "x"], "'x' is not a valid integer"),
    "demo of two": (["demo", "--nodes", "2"], "raftsim demo: Invalid value for '--nodes'"),
    "watch no nodes": (["watch", "--nodes", "0"], "raftsim watch: Invalid value for '--nodes'"),
    "watch 1000 nodes": (["watch", "--nodes", "1000"], "Invalid value for '--nodes'"),
    "watch speed 0": (["watch", "--speed", "0"], "raftsim watch: Invalid value for '--speed'"),
    "watch speed -1": (["watch", "--speed", "-1"], "Invalid value for '--speed'"),
    "fuzz jobs not a number": (["fuzz", "--jobs", "x"], "raftsim fuzz: Invalid value"),
    "option without its value": (["list", "--dir"], "requires an argument"),
    "window backwards": (
        ["run", "--window", "400ms..150ms", "--diagram", "{tmp}/d.svg", STORY],
        "raftsim: bad --window '400ms..150ms': 400ms is after 150ms",
    ),
    "window without diagram": (["run", "--window", "150ms..400ms", STORY], "no --diagram"),
    "window of days": (
        ["run", "--window", "1s..99999999s", "--diagram", "{tmp}/d.svg", STORY],
        "at most 86400s",
    ),
    "window without units": (
        ["run", "--window", "150..400", "--diagram", "{tmp}/d.svg", STORY],
        "expected a number with a unit",
    ),
    "diagram into no folder": (
        ["run", "--diagram", "{tmp}/missing/d.svg", STORY],
        "there is no directory",
    ),
    "trace into no folder": (["run", "--trace", "{tmp}/missing/t.jsonl", STORY], "no directory"),
    "trace onto a folder": (["run", "--trace", "{tmp}", STORY], "is a directory"),
    "svg into no folder": (["watch", "--svg", "{tmp}/missing/w.svg"], "no directory"),
    "ring frames into no folder": (
        ["run", "--ring", "{tmp}/missing/frames", STORY],
        "there is no directory",
    ),
    "ring frames onto a file": (["run", "--ring", STORY, STORY], "is a file, not a directory"),
    "watch ring into no folder": (["watch", "--ring", "{tmp}/missing/r.svg"], "no directory"),
    "replay no file": (["replay", "{tmp}/missing.jsonl"], "cannot read the file"),
    "until a huge step": (["run", "-q", "--until", "9" * 40, STORY], "has steps 1 to 12"),
    "until an arabic step": (["run", "-q", "--until", "١", STORY], "expected a step number"),
    "seed of 5000 digits": (["run", "--seed", "9" * 5000, STORY], "not a valid integer"),
}


@pytest.mark.parametrize("args, fragment", COMMAND_LINES.values(), ids=COMMAND_LINES.keys())
def test_bad_command_line_is_one_line(tmp_path, args, fragment):
    error = single_line(raftsim(*[a.replace("{tmp}", str(tmp_path)) for a in args]))
    assert fragment in error, error
    assert len(error) <= 1003, "an error line stays short"


def test_help_still_works():
    for args in (["--help"], ["run", "--help"], ["watch", "-h"]):
        result = raftsim(*args)
        assert result.exit_code == 0 and "Usage:" in result.stdout, result.output
    assert "150ms..400ms" in raftsim("run", "--help").stdout, "--window shows its units"


def test_diagram_into_a_missing_folder_is_refused_before_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.cli.stories.run_scenario", lambda *a, **k: pytest.fail("it ran"))
    single_line(raftsim("run", "--diagram", str(tmp_path / "no" / "d.svg"), STORY))


@pytest.mark.parametrize(
    "target, args",
    [
        ("sim.cli.stories.run_scenario", ["run", STORY]),
        ("sim.cli.stories.load", ["check", STORY]),
        ("sim.check.fuzz.report.fuzz", ["fuzz", "--seeds", "1"]),
    ],
)
def test_ctrl_c_exits_with_130_and_one_line(monkeypatch, target, args):
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupted)
    assert single_line(raftsim(*args), code=130) == "raftsim: interrupted"


def test_fuzz_jobs_are_capped_at_the_cpus_and_said_so(monkeypatch):
    used: list[int] = []

    def campaign(console, seeds, settings, *, jobs, **_kwargs):
        used.append(jobs)
        return 0

    monkeypatch.setattr("sim.cli.common.cpus", lambda: 2)
    monkeypatch.setattr("sim.check.fuzz.report.fuzz", campaign)
    result = raftsim("fuzz", "--seeds", "10", "--jobs", "1000")
    assert result.exit_code == 0 and used == [2]
    assert "--jobs 1000: 2 at a time (2 CPUs here)" in result.stdout
    result = raftsim("fuzz", "--seeds", "1", "--jobs", "1000")
    assert used == [2, 1] and "--jobs 1000: 1 at a time (1 seed)" in result.stdout


# -- trace files for replay ----------------------------------------------------------------

EVENT = (
    '{"index": 0, "time_us": 0, "node": "n1", "component": "Node", "kind": "start", '
    '"text": "n1 starts", "msg_id": null}'
)
REPLAYS = {
    "empty": ("", 1, "the file has none"),
    "blank lines": ("\n\n", 1, "the file has none"),
    "index as text": (EVENT.replace('"index": 0', '"index": "0"'), 1, "index has the wrong"),
    "index as bool": (EVENT.replace('"index": 0', '"index": true'), 1, "index has the wrong"),
    "node as number": (EVENT.replace('"node": "n1"', '"node": 5'), 1, "node has the wrong"),
    "time overflows": (EVENT.replace('"time_us": 0', '"time_us": 1e999'), 1, "time_us"),
    "time negative": (EVENT.replace('"time_us": 0', '"time_us": -5'), 1, "cannot be negative"),
    "msg_id as text": (EVENT.replace('"msg_id": null', '"msg_id": "3"'), 1, "msg_id has"),
    "field missing": (EVENT.replace(', "msg_id": null', ""), 1, "with the fields"),
    "field extra": (EVENT.replace("}", ', "colour": "red"}'), 1, "with the fields"),
    "not JSON": (EVENT + "\n{oops", 2, "not JSON"),
    "a list": ("[1, 2]", 1, "with the fields"),
    "deep nesting": ("[" * 100_000, 1, "not JSON"),
    "bad byte": (EVENT + '\n{"text": "\udcff"}', 2, "not UTF-8 text"),
}


@pytest.mark.parametrize("content, line, fragment", REPLAYS.values(), ids=REPLAYS.keys())
def test_bad_trace_file_is_one_line_at_its_line(tmp_path, content, line, fragment):
    path = tmp_path / "run.jsonl"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    error = single_line(raftsim("replay", str(path)))
    assert error.startswith(f"{path}:{line}: "), error
    assert fragment in error, error


def test_replay_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + EVENT.encode())
    result = raftsim("replay", str(path))
    assert result.exit_code == 0 and "n1 starts" in result.stdout


# -- good inputs the parser used to refuse or misread --------------------------------------


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(tmp_path):
    path = tmp_path / "bom.scenario"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "cluster nodes=3\ncrsh n1\n").encode())
    assert single_line(raftsim("check", str(path))).startswith(f"{path}:4: unknown step")
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "cluster nodes=3\nrun 1s\n").encode())
    assert raftsim("check", str(path)).exit_code == 0
    path.write_bytes((HEADER + "cluster nodes=3\nrun 1s\n").replace("\n", "\r\n").encode())
    assert raftsim("check", str(path)).exit_code == 0


def test_a_hash_inside_quotes_or_a_word_is_not_a_comment():
    scenario = parse(
        HEADER + 'cluster nodes=3 # five would do\nsubmit w "set x #1"  # comment\n'
        "expect value all x a#b\n"
    )
    submit, expect = scenario.steps
    assert (submit.command, submit.source) == ("set x #1", 'submit w "set x #1"')
    assert expect.expectation.value == "a#b"
    assert scenario.cluster_source == "cluster nodes=3"


def test_the_word_splitter_follows_the_shell():
    line = r"""a "b c" 'd e' f\ g 4:"set x 1" "q\"q" 'r\s' "" x#y"""
    words = ["a", "b c", "d e", "f g", "4:set x 1", 'q"q', "r\\s", "", "x#y"]
    assert split(line + "  # a comment") == (words, line)


# -- time grows with the size of the input, counted, not timed ----------------------------


def _python_events(function, *args: object) -> int:
    """How many Python-level calls and lines `function` runs (C code, such as a regular
    expression scanning a long word, counts as the one line that calls it)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += 1
        return tracer

    sys.settrace(tracer)
    try:
        function(*args)
    except ScenarioError:
        pass
    finally:
        sys.settrace(None)
    return count


def test_parsing_work_grows_in_proportion_to_the_number_of_steps():
    def steps(n: int) -> str:
        return HEADER + "cluster nodes=3\n" + "crash n1\nrestart n1\n" * (n // 2)

    small, large = _python_events(parse, steps(400)), _python_events(parse, steps(1600))
    # Four times the steps: about four times the work (a recount of earlier steps at each
    # step, as there was, makes it sixteen times).
    assert large < 4.4 * small, (small, large)


def test_splitting_work_does_not_grow_with_the_length_of_a_word():
    split('submit w "x" to=n1')  # first use: the regular expressions' caches fill
    short = _python_events(split, 'submit w "' + "x" * 10 + '" to=n1')
    assert _python_events(split, 'submit w "' + "x" * 100_000 + '" to=n1') == short
    parse(HEADER + "cluster nodes=3\nrun 1s\n")
    short = _python_events(parse, HEADER + "cluster nodes=3\nrun 1s " + "x" * 10)
    assert _python_events(parse, HEADER + "cluster nodes=3\nrun 1s " + "x" * 10_000) == short
