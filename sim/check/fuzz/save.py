"""A fuzz run written as a scenario file that `raftsim run` replays.

The file is the run's recorded steps (sim.check.fuzz.run.Recorder) under a header
that says which seed found what, with consecutive `run` steps merged (running
300ms then 200ms with no call in between is running 500ms). How it ends
depends on what broke:

- a safety violation: the step during which the checker fired becomes
  `run until violation "PROPERTY"` (when it was a `run`), followed by
  `expect violation "PROPERTY"`, under a sentence that says what was lost
  (sim.check.fuzz.damage) when a Figure 3 property broke. The file *passes* (exit 0) when the
  violation reproduces, like the library's bug demonstrations; once the bug
  is fixed it fails (exit 1) at that line.
- a liveness failure: the file ends with what Raft promises after healing (a
  `run until` that timed out, or an `expect` that did not hold), so it
  *fails* (exit 1) at that step while the problem is there, and passes once
  it is fixed.
- a client history that is not linearizable: the file keeps every step (the
  run went on to the end) and ends with `expect linearizable`, which judges
  the story's named submits and reads as one history. Like a liveness
  failure, it *fails* (exit 1) there while the problem is there, with the
  checker's explanation, and passes once it is fixed. What the culprit
  operation returned when the fuzzer found it (`expect read c17 v3`) is told
  above that line, not expected: a fix may change the answer. Client reads
  outside the log are `read NAME KEY mode=MODE on NODE` steps.
"""

from __future__ import annotations

import attrs

from sim.check.fuzz.recorder import Line, duration_text
from sim.check.fuzz.run import (
    ERROR,
    LINEARIZABILITY,
    LIVENESS,
    SAFETY_CHECKERS,
    VIOLATION,
    Execution,
)
from sim.check.fuzz.schedule import Schedule


def replay_command(schedule: Schedule) -> str:
    """The `raftsim fuzz` command that runs this seed again."""
    settings = schedule.settings
    words = [
        "raftsim fuzz --seeds 1",
        f"--first-seed {schedule.seed}",
        f"--duration {settings.duration:g}",
        *([f"--nodes {settings.nodes}"] if settings.nodes is not None else []),
        *(f"--bug {bug}" for bug in settings.bugs),
        *(["--checkers safety"] if settings.checkers == "safety" else []),
        *(["--unsafe-reads"] if settings.unsafe_reads else []),
    ]
    return " ".join(words)


def cluster_line(schedule: Schedule) -> str:
    words = [f"cluster nodes={schedule.nodes}", f"seed={schedule.seed}"]
    for name, value in schedule.options.items():
        if isinstance(value, bool):
            text = "on" if value else "off"
        elif name == "flush_delay":
            text = duration_text(round(value * 1_000_000))  # type: ignore[operator]
        else:
            text = str(value)
        words.append(f"{name}={text}")
    if schedule.settings.bugs:
        words.append("bugs=" + ",".join(schedule.settings.bugs))
    if schedule.settings.checkers == "safety":
        words.append("checkers=" + ",".join(SAFETY_CHECKERS))
    return " ".join(words)


def _merged(lines: tuple[Line, ...], keep_last: bool) -> list[Line]:
    """Consecutive `run DURATION` lines as one (the last kept apart if `keep_last`)."""
    out: list[Line] = []
    for position, line in enumerate(lines):
        last = keep_last and position == len(lines) - 1
        previous = out[-1] if out else None
        if (
            line.kind == "run"
            and previous is not None
            and previous.kind == "run"
            and previous.phase == line.phase
            and not last
        ):
            total = previous.wait_us + line.wait_us
            out[-1] = attrs.evolve(previous, text=f"run {duration_text(total)}", wait_us=total)
        else:
            out.append(line)
    return out


def _step(line: Line) -> str:
    return f"{line.text}  # {line.note}" if line.note else line.text


def _answered(expectation: str) -> str:
    """What the culprit returned, told from the step that would expect it
    (`expect read c17 v3`, sim.check.fuzz.clients.Clients.expectation)."""
    _, kind, name, value = expectation.split(maxsplit=3)
    verb = {"read": "read", "result": "returned", "outcome": "ended"}[kind]
    return (
        f"When the fuzzer ran it, {name} {verb} {value}: "
        "no order of the clients' operations fits that answer."
    )


def scenario_text(execution: Execution, *, original_actions: int | None = None) -> str:
    """The scenario file that replays `execution` and shows what broke."""
    schedule, result = execution.schedule, execution.result
    if not result.failed:
        raise ValueError("only a failing run makes a scenario")
    bugs = ", ".join(schedule.settings.bugs) or "none"
    what = {
        VIOLATION: f"{result.kind} violated",
        LIVENESS: f"liveness: {result.kind}",
        ERROR: f"the simulator raised {result.kind}",
    }[result.verdict]
    kept = len(schedule.actions)
    shrunk = (
        f"minimized from {original_actions} to {kept} actions"
        if original_actions is not None
        else f"{kept} actions"
    )
    linearizability = result.verdict == VIOLATION and result.kind == LINEARIZABILITY
    ends = {
        VIOLATION: "It passes when the violation reproduces: its last line expects it.",
        LIVENESS: "It fails at its last step while the problem is there (what Raft promises "
        "after the faults heal).",
        ERROR: "Its last step makes the simulator raise the exception again (a traceback).",
    }[result.verdict]
    if linearizability:
        ends = (
            "It fails at its last line while the problem is there: `expect linearizable` judges "
            "the clients' operations as one history and explains why no order fits."
        )
    lost = [f"  What was lost: {execution.lost}."] if execution.lost else []
    header = [
        f"title: Fuzz seed {schedule.seed}: {what}",
        f"summary: Found by `{replay_command(schedule)}` ({shrunk}; bug switches: {bugs}).",
        f"  {result.problem}",
        *lost,
        f"  {ends}",
        "",
        cluster_line(schedule),
        "",
    ]
    before: list[Line] = _merged(execution.lines, keep_last=not linearizability)
    tail: list[str] = []
    if linearizability:
        # The run went on to the end: every step stays, and the whole history is judged.
        assert execution.ending is not None
        tail = [f"> {_answered(execution.ending)}", "expect linearizable"]
    elif execution.ending:  # an expectation that shows what liveness found
        tail = [execution.ending]
    elif before:
        # The step during which it broke (the last one made) goes under "What broke".
        culprit = before.pop()
        tail = [_step(culprit)]
        if result.verdict == VIOLATION and culprit.kind != "call":
            # A wait becomes a wait for the violation: it stops at the very event
            # that broke the property. A call stays as it is.
            timeout = duration_text(culprit.wait_us)
            tail = [f'run until violation "{result.kind}" timeout={timeout}']
    if result.verdict == VIOLATION and not linearizability:
        tail.append(f'expect violation "{result.kind}"')
    body: list[str] = []
    phase = None
    for line in before:
        if line.phase != phase:
            phase = line.phase
            body += ["", "## The faults" if phase == "faults" else "## Healing, then liveness"]
            if phase == "healing":
                body.append("> Every fault is undone; Raft must now elect a leader and commit.")
        body.append(_step(line))
    told = [f"> Lost: {execution.lost}."] if execution.lost else []
    body += ["", "## What broke", *told, *tail, ""]
    return "\n".join(header + body)
