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


def errors(
    tmp_path: Path, how: str, given: str | bytes | list[str], code: int
) -> tuple[str, list[str]]:
    """Where an error must point (the file; "" for a command line), and the one line on
    stderr of each command that must refuse the input, each ended with exit code `code`.

    `how` says what `given` is: "story", a scenario file's lines after its title and
    summary (its first line is line 3); "file", a scenario file's every byte; "at run",
    the steps after `cluster nodes=3` (line 4 on) of a file `check` accepts and `run`
    refuses; "trace", a trace file for `raftsim replay` (lone surrogates stand for
    bytes that are not UTF-8); "args", a command line ("{tmp}" is a fresh directory).
    """
    if how == "args":
        assert isinstance(given, list)
        return "", [single_line(raftsim(*[w.replace("{tmp}", str(tmp_path)) for w in given]), code)]
    assert not isinstance(given, list)
    content = {
        "story": lambda text: (HEADER + text + "\n").encode(),
        "file": lambda data: data,
        "at run": lambda text: (HEADER + "cluster nodes=3\n" + text + "\n").encode(),
        "trace": lambda text: text.encode("utf-8", "surrogateescape"),
    }[how](given)
    path = tmp_path / ("run.jsonl" if how == "trace" else "story.scenario")
    path.write_bytes(content)
    if how == "at run":
        assert raftsim("check", str(path)).exit_code == 0
    commands = {"story": ["run", "check"], "file": ["run", "check"], "at run": ["run"]}
    said = [single_line(raftsim(c, str(path)), code) for c in commands.get(how, ["replay"])]
    return str(path), said


# -- every bad input: how it is given (the first word of its id), then the text or the
# arguments, the exit code, the line the error names (None: no file), what the error says --

EVENT = (
    '{"index": 0, "time_us": 0, "node": "n1", "component": "Node", "kind": "start", '
    '"text": "n1 starts", "msg_id": null}'
)

# fmt: off
BAD_INPUTS = {
    # Scenario files.
    # Numbers too large to mean anything, refused when the file is read.
    "story: heartbeat overflows":
        ("cluster nodes=3 seed=1 heartbeat=1.0e999", 2, 3, "too large a number"),
    "story: latency overflows":
        ("cluster nodes=3\nnetwork latency=0..1.0e999", 2, 4, "too large a number"),
    "story: twenty-digit nodes": ("cluster nodes=99999999999999999999", 2, 3, "from 1 to 100"),
    "story: no nodes": ("cluster nodes=0", 2, 3, "from 1 to 100"),
    "story: 101 nodes": ("cluster nodes=101", 2, 3, "from 1 to 100"),
    "story: run for ages": ("cluster nodes=3\nrun 99999999999999999999s", 2, 4, "at most 86400s"),
    "story: run a day and a second": ("cluster nodes=3\nrun 86401s", 2, 4, "at most 86400s"),
    "story: heartbeat of days": ("cluster nodes=3 heartbeat=100000s", 2, 3, "at most 86400s"),
    "story: timeout of days":
        ("cluster nodes=3\nrun until leader exists timeout=100000s", 2, 4, "86400s"),
    "story: timer after days":
        ("cluster nodes=3\ntimeout n1 after=99999999s", 2, 4, "at most 86400s"),
    "story: 31-digit seed": ("cluster nodes=3 seed=" + "1" * 31, 2, 3, "too large a number"),
    "story: 31-digit index":
        ("cluster nodes=3\nexpect commit n1 " + "1" * 31, 2, 4, "a whole number"),
    "story: 31-digit term": ("cluster nodes=3\nlog n1 " + "1" * 31, 2, 4, "bad log entry"),
    "story: 31-digit K nodes":
        ("cluster nodes=3\nrun until committed 1 on " + "9" * 31 + " nodes", 2, 4, "bad K"),
    "story: latency backwards": ("cluster nodes=3\nnetwork latency=8ms..2ms", 2, 4, "latency: low"),
    "story: cluster latency backwards": ("cluster nodes=3 latency=8ms..2ms", 2, 3, "latency: low"),
    "story: timeouts backwards":
        ("cluster nodes=3 election_timeout=300ms..150ms", 2, 3, "is above high"),
    "story: three-part range": ("cluster nodes=3 latency=1ms..2ms..3ms", 2, 3, "expected a range"),
    "story: drop above one":
        ("cluster nodes=3\nnetwork drop=1.5", 2, 4, "between 0 and 1, got 1.5"),
    "story: negative timer": ("cluster nodes=3\ntimeout n1 after=-1s", 2, 4, "bad after '-1s'"),
    # Values that used to be taken as something else: a silent yes.
    "story: reorder maybe": ("cluster nodes=3\nnetwork reorder=maybe", 2, 4, "expected on or off"),
    "story: drop on": ("cluster nodes=3\nnetwork drop=on", 2, 4, "expected a probability"),
    "story: duplicate yes":
        ("cluster nodes=3\nnetwork duplicate=yes", 2, 4, "expected a probability"),
    "story: cluster drop on": ("cluster nodes=3 drop=on", 2, 3, "expected a probability"),
    "story: drop as a duration": ("cluster nodes=3 drop=50ms", 2, 3, "expected a probability"),
    "story: reorder as a number": ("cluster nodes=3 reorder=1", 2, 3, "expected on or off"),
    "story: latency as a word": ("cluster nodes=3\nnetwork latency=fast", 2, 4, "expected a range"),
    "story: latency of words": ("cluster nodes=3 latency=a..b", 2, 3, "expected a range"),
    "story: network of nothing": ("cluster nodes=3\nnetwork", 2, 4, "missing settings"),
    # Digits that are not ASCII digits.
    "story: arabic nodes": ("cluster nodes=٣", 2, 3, "expected a whole number"),
    "story: arabic duration": ("cluster nodes=3\nrun ١s", 2, 4, "bad duration '١s'"),
    "story: arabic index": ("cluster nodes=3\nexpect commit n1 ١", 2, 4, "bad commit '١'"),
    "story: arabic until": ("cluster nodes=3\nrun until committed ١ on all", 2, 4, "bad INDEX '١'"),
    "story: arabic term": ("cluster nodes=3\nexpect log n1 ٣", 2, 4, "bad log entry '٣'"),
    "story: arabic session":
        ('cluster nodes=3\nsubmit "c1#١: set x 1"', 2, 4, "bad session header"),
    "story: superscript session":
        ('cluster nodes=3\nsubmit "c1#²: set x 1"', 2, 4, "bad session header"),
    "story: negative index":
        ("cluster nodes=3\nrun until committed -1 on all", 2, 4, "bad INDEX '-1'"),
    "story: word as index": ("cluster nodes=3\nrun until applied x on all", 2, 4, "bad INDEX 'x'"),
    # Names: ids and names are letters, digits and _; one name per submit.
    "story: id with =": ("cluster nodes=3\nchange-members n1,n2,x=y", 2, 4, "bad node id 'x=y'"),
    "story: name with =": ('cluster nodes=3\nsubmit "set x 1" as=a=b', 2, 4, "bad name 'a=b'"),
    "story: two names":
        ('cluster nodes=3\nsubmit w1 "set x 1" as=w2', 2, 4, "two names for one submit"),
    "story: id with a dash": ("cluster nodes=3\nadd n-4", 2, 4, "bad node id 'n-4'"),
    "story: name from a digit": ("cluster nodes=3\nadd n4 as=1x", 2, 4, "bad name '1x'"),
    "story: too many servers": (
        "cluster nodes=3\nchange-members " + ",".join(f"x{i}" for i in range(101)),
        2,
        4,
        "at most 100",
    ),
    # Lists that name nothing.
    "story: bugs empty": ("cluster nodes=3 bugs=", 2, 3, "without empty ones"),
    "story: bugs trailing comma": ("cluster nodes=3 bugs=double_vote,", 2, 3, "without empty ones"),
    "story: bugs leading comma": ("cluster nodes=3 bugs=,double_vote", 2, 3, "without empty ones"),
    "story: bugs unknown": ("cluster nodes=3 bugs=nope", 2, 3, "unknown bug switch nope"),
    "story: old empty":
        ("cluster nodes=3\nexpect members n1 n1,n2,n3 old=", 2, 4, "old= names nothing"),
    "story: learners empty":
        ("cluster nodes=3\nexpect members n1 n1,n2 learners=", 2, 4, "learners="),
    "story: old only commas": ("cluster nodes=3\nrun until members n1,n2,n3 old=,", 2, 4, "old="),
    "story: new learners empty":
        ("cluster nodes=3\nchange-members n1,n2,n3 learners=", 2, 4, "learners="),
    # Client reads: the step, and what can be expected of it.
    "story: read of nothing": ("cluster nodes=3\nread", 2, 4, "missing NAME"),
    "story: read without a key": ("cluster nodes=3\nread r", 2, 4, "missing KEY"),
    "story: read on without a key":
        ("cluster nodes=3\nread r on n1", 2, 4, "missing KEY before 'on'"),
    "story: read on nobody": ("cluster nodes=3\nread r x on", 2, 4, "missing NODE"),
    "story: read on a stranger": ("cluster nodes=3\nread r x on n9", 2, 4, "unknown node 'n9'"),
    "story: read node without on": ("cluster nodes=3\nread r x n1", 2, 4, "unexpected 'n1'"),
    "story: read to= as submit has":
        ("cluster nodes=3\nread r x to=n1", 2, 4, "unknown option to="),
    "story: read mode unknown": ("cluster nodes=3\nread r x mode=fast", 2, 4, "bad mode 'fast'"),
    "story: read mode misspelt":
        ("cluster nodes=3\nread r x mode=leese", 2, 4, "did you mean 'lease'"),
    "story: read mode empty": ("cluster nodes=3\nread r x mode=", 2, 4, "bad mode ''"),
    "story: read key of two words": ("cluster nodes=3\nread r 'x y'", 2, 4, "bad KEY 'x y'"),
    "story: read name from a digit": ("cluster nodes=3\nread 1r x", 2, 4, "bad name '1r'"),
    "story: read name taken": (
        'cluster nodes=3\nsubmit w "set x 1"\nread w x',
        2,
        5,
        "'w' already names the submit on line 4",
    ),
    "story: expect read unnamed":
        ("cluster nodes=3\nexpect read r 1", 2, 4, "no submit, read or request"),
    "story: expect read of a submit": (
        'cluster nodes=3\nsubmit w "set x 1"\nexpect read w 1',
        2,
        5,
        "'w' names the submit on line 4, not a read",
    ),
    "story: expect read no value":
        ("cluster nodes=3\nread r x\nexpect read r", 2, 5, "missing VALUE"),
    "story: expect read done":
        ("cluster nodes=3\nread r x\nexpect read r done", 2, 5, "not a value"),
    "story: expect read two values":
        ("cluster nodes=3\nread r x\nexpect read r 1 2", 2, 5, "unexpected '2'"),
    "story: read outcome committed": (
        "cluster nodes=3\nread r x\nexpect outcome r committed",
        2,
        5,
        "bad outcome 'committed' for the read r",
    ),
    "story: until read of a request": (
        "cluster nodes=3\nadd n4 as=a\nrun until read a",
        2,
        5,
        "'a' names the request on line 4, not a read",
    ),
    "story: until read of nothing":
        ("cluster nodes=3\nrun until read", 2, 4, "missing NAME of a read"),
    # The shape of the file.
    "story: chapter before cluster":
        ("## Chapter\ncluster nodes=3", 2, 3, "comes after the 'cluster'"),
    "story: indented cluster": ("  cluster nodes=3 seed=1\nrun 1s", 2, 3, "is indented"),
    "story: indented cluster at the end": ("  cluster nodes=3 seed=1", 2, 3, "is indented"),
    "story: indented cluster, narration": ("  cluster nodes=3\n> hello", 2, 3, "is indented"),
    "story: second cluster line":
        ("cluster nodes=3\ncluster nodes=5", 2, 4, "a second 'cluster' line"),
    "story: open quote": ("cluster nodes=3\nsubmit 'set x 1", 2, 4, "no closing quotation"),
    "story: trailing backslash": ("cluster nodes=3\ncrash n1 \\", 2, 4, "no escaped character"),
    "story: comment glued to a word":
        ("cluster nodes=3\nrun 1s#soon", 2, 4, "bad duration '1s#soon'"),
    "story: form feed in a word":
        ("cluster nodes=3\ncrash n1\fn2", 2, 4, "unknown node 'n1\\x0cn2'"),
    "story: strict start that breaks": (
        'cluster nodes=3 strict=on\nlog n1 1:"set a 1"\nlog n2 1:"set b 1"',
        2,
        3,
        "logs on disk already break a safety property",
    ),
    # Whole files, every byte given.
    "file: empty file": (b"", 2, 1, "expected a 'title:' line"),
    "file: blank lines only": (b"\n\n\n", 2, 3, "expected a 'title:' line"),
    "file: bad byte": (HEADER.encode() + b'cluster nodes=3\nsubmit "set x \xff"\n', 2, 4, "0xff"),
    "file: bad first byte": (b"\xfetitle: T\n", 2, 1, "not UTF-8 text"),
    "file: old Mac line ends":
        (b"title: T\rsummary: S.\rcluster nodes=3\rcrsh n1\r", 2, 4, "'crsh'"),
    "file: form feed line": (HEADER.encode() + b"\x0c\ncluster nodes=3\ncrsh n1\n", 2, 5, "'crsh'"),
    # A million characters on a line: the error quotes a few.
    "story: huge word": ("cluster nodes=3\ncrash " + "n" * MILLION, 2, 4, "unknown node 'nnnn"),
    "story: huge step": ("cluster nodes=3\n" + "x" * MILLION, 2, 4, "unknown step 'xxxx"),
    "story: huge command":
        ('cluster nodes=3\nsubmit "' + "x" * MILLION + '"', 2, 4, "bad command 'xxxx"),
    "story: huge duration": ("cluster nodes=3\nrun " + "9" * MILLION + "s", 2, 4, "at most 86400s"),
    "story: huge seed": ("cluster nodes=3 seed=" + "9" * MILLION, 2, 3, "too large a number"),
    "story: huge option": ("cluster nodes=3 " + "a" * MILLION + "=1", 2, 3, "has no option aaaa"),
    "story: huge extra word":
        ("cluster nodes=3\nrun 1s " + "x" * MILLION, 2, 4, "unexpected 'xxxx"),
    # Steps a file may hold that the run refuses when it comes to them (check lets them be).
    "at run: crash a node that is down": ("crash n1\ncrash n1", 2, 5, "n1 is already down"),
    "at run: deliver what is not in flight":
        ("deliver n1 n2", 2, 4, "no message from n1 to n2 is in flight"),
    "at run: restart a running node": ("restart n1", 2, 4, "n1 is running"),
    # Command lines.
    "args: unknown command": (["frobnicate"], 2, None, "raftsim: No such command 'frobnicate'."),
    "args: unknown flag":
        (["run", "--frob", STORY], 2, None, "raftsim run: No such option '--frob'"),
    "args: unknown group flag": (["--frob"], 2, None, "raftsim: No such option '--frob'"),
    "args: run without a file": (["run"], 2, None, "raftsim run: Missing argument 'SCENARIO'"),
    "args: check without a file": (["check"], 2, None, "raftsim check: Missing argument"),
    "args: seed not a number":
        (["run", "--seed", "abc", STORY], 2, None, "'abc' is not a valid integer"),
    "args: demo seed not a number":
        (["demo", "--seed", "x"], 2, None, "'x' is not a valid integer"),
    "args: demo of two":
        (["demo", "--nodes", "2"], 2, None, "raftsim demo: Invalid value for '--nodes'"),
    "args: watch no nodes":
        (["watch", "--nodes", "0"], 2, None, "raftsim watch: Invalid value for '--nodes'"),
    "args: watch 1000 nodes":
        (["watch", "--nodes", "1000"], 2, None, "Invalid value for '--nodes'"),
    "args: watch speed 0":
        (["watch", "--speed", "0"], 2, None, "raftsim watch: Invalid value for '--speed'"),
    "args: watch speed -1": (["watch", "--speed", "-1"], 2, None, "Invalid value for '--speed'"),
    "args: fuzz jobs not a number":
        (["fuzz", "--jobs", "x"], 2, None, "raftsim fuzz: Invalid value"),
    "args: option without its value": (["list", "--dir"], 2, None, "requires an argument"),
    "args: window backwards": (
        ["run", "--window", "400ms..150ms", "--diagram", "{tmp}/d.svg", STORY],
        2,
        None,
        "raftsim: bad --window '400ms..150ms': 400ms is after 150ms",
    ),
    "args: window without diagram":
        (["run", "--window", "150ms..400ms", STORY], 2, None, "no --diagram"),
    "args: window of days": (
        ["run", "--window", "1s..99999999s", "--diagram", "{tmp}/d.svg", STORY],
        2,
        None,
        "at most 86400s",
    ),
    "args: window without units": (
        ["run", "--window", "150..400", "--diagram", "{tmp}/d.svg", STORY],
        2,
        None,
        "expected a number with a unit",
    ),
    "args: diagram into no folder":
        (["run", "--diagram", "{tmp}/missing/d.svg", STORY], 2, None, "there is no directory"),
    "args: trace into no folder":
        (["run", "--trace", "{tmp}/missing/t.jsonl", STORY], 2, None, "no directory"),
    "args: trace onto a folder": (["run", "--trace", "{tmp}", STORY], 2, None, "is a directory"),
    "args: svg into no folder":
        (["watch", "--svg", "{tmp}/missing/w.svg"], 2, None, "no directory"),
    "args: ring frames into no folder":
        (["run", "--ring", "{tmp}/missing/frames", STORY], 2, None, "there is no directory"),
    "args: ring frames onto a file":
        (["run", "--ring", STORY, STORY], 2, None, "is a file, not a directory"),
    "args: watch ring into no folder":
        (["watch", "--ring", "{tmp}/missing/r.svg"], 2, None, "no directory"),
    "args: replay no file": (["replay", "{tmp}/missing.jsonl"], 2, None, "cannot read the file"),
    "args: until a huge step":
        (["run", "-q", "--until", "9" * 40, STORY], 2, None, "has steps 1 to 12"),
    "args: until an arabic step":
        (["run", "-q", "--until", "١", STORY], 2, None, "expected a step number"),
    "args: seed of 5000 digits":
        (["run", "--seed", "9" * 5000, STORY], 2, None, "not a valid integer"),
    # Trace files for replay.
    "trace: empty": ("", 2, 1, "the file has none"),
    "trace: blank lines": ("\n\n", 2, 1, "the file has none"),
    "trace: index as text":
        (EVENT.replace('"index": 0', '"index": "0"'), 2, 1, "index has the wrong"),
    "trace: index as bool":
        (EVENT.replace('"index": 0', '"index": true'), 2, 1, "index has the wrong"),
    "trace: node as number":
        (EVENT.replace('"node": "n1"', '"node": 5'), 2, 1, "node has the wrong"),
    "trace: time overflows": (EVENT.replace('"time_us": 0', '"time_us": 1e999'), 2, 1, "time_us"),
    "trace: time negative":
        (EVENT.replace('"time_us": 0', '"time_us": -5'), 2, 1, "cannot be negative"),
    "trace: msg_id as text": (EVENT.replace('"msg_id": null', '"msg_id": "3"'), 2, 1, "msg_id has"),
    "trace: field missing": (EVENT.replace(', "msg_id": null', ""), 2, 1, "with the fields"),
    "trace: field extra": (EVENT.replace("}", ', "colour": "red"}'), 2, 1, "with the fields"),
    "trace: not JSON": (EVENT + "\n{oops", 2, 2, "not JSON"),
    "trace: a list": ("[1, 2]", 2, 1, "with the fields"),
    "trace: deep nesting": ("[" * 100_000, 2, 1, "not JSON"),
    "trace: bad byte": (EVENT + '\n{"text": "\udcff"}', 2, 2, "not UTF-8 text"),
}
# fmt: on


@pytest.mark.parametrize(
    "case, given, code, line, fragment",
    [(case, *expected) for case, expected in BAD_INPUTS.items()],
    ids=BAD_INPUTS.keys(),
)
def test_bad_input_is_one_short_line_at_its_line(tmp_path, case, given, code, line, fragment):
    how = case.partition(":")[0]
    where, said = errors(tmp_path, how, given, code)
    error = said[0]
    assert all(other == error for other in said), said  # run and check refuse alike
    if line is not None:
        assert error.startswith(f"{where}:{line}: "), error
    if how == "at run":  # the request's refusal, as the cluster words it, right after
        assert error.startswith(f"{where}:{line}: {fragment}"), error
    assert fragment in error, error
    # Short, whatever the size of the input (a file's error quotes a few characters of it).
    assert len(error) <= (1003 if how == "args" else len(str(tmp_path)) + 499), error[:600]


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


# -- command lines -------------------------------------------------------------------------


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
