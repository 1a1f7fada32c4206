"""Replaying a scenario: build the cluster, carry out each step, narrate, check.

Theory of operation: `run_scenario` walks the steps in order. Before a step
it prints the step as written; after it, the trace events the step added
(indented under it, filtered to the story unless verbose), then anything the
step wants to add (a `run until` says when its condition held). The run stops
at the first failed expectation (exit code 1) or bad request (exit code 2),
or after the step named by `until`.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from sim.check.checkers import SafetyViolation
from sim.cluster import Cluster
from sim.scenario.model import Scenario, ScenarioError, Step, Unmet
from sim.scenario.steps import Chapter, Expect
from sim.scenario.values import is_whole
from sim.scenario.words import quote
from sim.show import render

INDENT = 4


@attrs.frozen(kw_only=True)
class Outcome:
    """How a run ended: exit `code` (0 held, 1 failed, 2 bad input), and the cluster."""

    code: int
    cluster: Cluster | None
    passed: int = 0
    failure: str | None = None
    error: ScenarioError | None = None


def build_cluster(scenario: Scenario) -> Cluster:
    """The cluster the scenario's `cluster` and `log` lines describe."""
    options = dict(scenario.options)
    if scenario.initial_logs:
        options["initial_logs"] = scenario.initial_logs
    try:
        return Cluster(**options)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise ScenarioError(scenario.path, scenario.cluster_line, str(error)) from None
    except SafetyViolation as violation:  # no story yet: the `log` lines drew an impossible start
        raise ScenarioError(
            scenario.path,
            scenario.cluster_line,
            f"strict=on, and the logs on disk already break a safety property: {violation}",
        ) from None


def last_step(scenario: Scenario, until: str) -> int:
    """The position (in scenario.steps) of the step `--until` names: a number or a chapter."""
    steps = scenario.steps
    if is_whole(until):
        for position, step in enumerate(steps):
            if str(step.number) == until.lstrip("0"):
                return position
        count = max((s.number or 0 for s in steps), default=0)
        raise ScenarioError(
            scenario.path, None, f"--until {until}: the scenario has steps 1 to {count}"
        )
    chapters = [s.title for s in steps if isinstance(s, Chapter)]
    for title in chapters:
        if until.lower() in title.lower():
            return max(i for i, s in enumerate(steps) if s.chapter == title)
    known = "; ".join(chapters) or "none"
    raise ScenarioError(
        scenario.path,
        None,
        f"--until {quote(until)}: expected a step number or words from a chapter title "
        f"(chapters: {known})",
    )


def as_unmet(failed: Unmet | SafetyViolation) -> Unmet:
    """A failed step as a failed expectation (strict=on makes a violation one)."""
    if isinstance(failed, SafetyViolation):
        return Unmet("no safety violation (strict=on)", str(failed))
    return failed


class Run:
    """The state of one replay, and the narrator that prints it.

    Steps see it as a `RunContext` (sim/scenario/context.py).
    """

    def __init__(self, scenario: Scenario, console: Console, *, verbose: bool, quiet: bool) -> None:
        self.scenario = scenario
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self.cluster = build_cluster(scenario)
        self.handles: dict[str, object] = {}
        self.passed = 0
        self._shown = 0
        self._notes: list[str] = []

    # -- called by steps ------------------------------------------------------

    def narrate(self, text: str) -> None:
        if not self.quiet:
            # The author's line breaks are kept: narration is written to be read as laid out.
            self.console.print(Text(text, style="italic"), soft_wrap=True)

    def heading(self, title: str) -> None:
        if not self.quiet:
            self.console.print()
            self.console.print(Rule(Text(title, style="bold")))

    def note(self, text: str) -> None:
        """A line to show under the step, after its trace events."""
        self._notes.append(text)

    def show_state(self, title: str = "pause") -> None:
        if self.quiet:
            return
        self.flush()
        self.console.print(Rule(Text(title, style="dim")))
        self.console.print(render.node_table(self.cluster))
        self.console.print(render.log_grid(self.cluster))

    # -- output -------------------------------------------------------------------

    def flush(self) -> None:
        """Print the trace events not shown yet, then the notes of the step."""
        trace = self.cluster.trace
        events = trace[self._shown :]
        self._shown = len(trace)
        if self.quiet:
            self._notes.clear()
            return
        for line in render.story(events, verbose=self.verbose):
            self.console.print(Text(" " * INDENT) + line, soft_wrap=True)
        for text in self._notes:
            self.console.print(Text(" " * INDENT + text, style="dim"), soft_wrap=True)
        self._notes.clear()

    def echo(self, step: Step, mark: str = "", style: str = "bold") -> None:
        if self.quiet:
            return
        line = Text(f"[{step.number}] ", style="dim")
        line.append(step.source, style=style)
        if mark:
            line.append(f"  {mark}", style="green" if mark == "ok" else "bold red")
        self.console.print(line, soft_wrap=True)

    def header(self) -> None:
        if self.quiet:
            return
        scenario = self.scenario
        self.console.print(Rule(Text(scenario.title, style="bold"), characters="="))
        self.console.print(Text(scenario.summary, style="italic"))
        self.console.print(
            Text(f"{scenario.path}: {scenario.cluster_source}", style="dim"), soft_wrap=True
        )
        self.flush()

    def report_unmet(self, step: Step, unmet: Unmet) -> str:
        """Print a failed expectation; returns its one-line summary."""
        where = f"{self.scenario.path}:{step.line}"
        summary = f"{where}: {step.source}: expected {unmet.expected}, actual {unmet.actual}"
        console = self.console
        if self.quiet:
            console.print(Text(f"FAIL {summary}", style="bold red"), soft_wrap=True)
            return summary
        if isinstance(step, Expect):
            self.echo(step, "FAILED", style="bold red")
        console.print(Text(f"{where}: {step.source}", style="bold red"), soft_wrap=True)
        console.print(Text(f"    expected: {unmet.expected}"), soft_wrap=True)
        console.print(Text(f"    actual:   {unmet.actual}"), soft_wrap=True)
        return summary


def run_scenario(
    scenario: Scenario,
    console: Console,
    *,
    verbose: bool = False,
    quiet: bool = False,
    until: str | None = None,
    after_step: Callable[[Step, Cluster], None] | None = None,
) -> Outcome:
    """Replay a scenario, printing its story to `console`.

    Raises ScenarioError for bad input found before the first step (cluster
    options, `until`); bad requests met later end the run with code 2 and
    the error in the outcome, so the cluster (and its trace) stays available.
    `after_step` is called after each step that succeeded (to draw it, say).
    """
    stop = last_step(scenario, until) if until is not None else None
    run = Run(scenario, console, verbose=verbose, quiet=quiet)
    run.header()
    for position, step in enumerate(scenario.steps):
        if step.number is not None and not isinstance(step, Expect):
            run.echo(step)
        try:
            step.execute(run)
        except (Unmet, SafetyViolation) as failed:  # strict=on: a violation ends the story
            run.flush()
            failure = run.report_unmet(step, as_unmet(failed))
            return Outcome(code=1, cluster=run.cluster, passed=run.passed, failure=failure)
        except ValueError as error:  # the Cluster API's answer to an impossible request
            run.flush()
            bad = ScenarioError(scenario.path, step.line, str(error))
            return Outcome(code=2, cluster=run.cluster, passed=run.passed, error=bad)
        if isinstance(step, Expect):
            run.echo(step, "ok")
        run.flush()
        if after_step is not None:
            after_step(step, run.cluster)
        if position == stop:
            where = f"step {step.number}" if step.number is not None else f"line {step.line}"
            run.show_state(f"stopped after {where} (--until {until})")
            break
    else:
        run.show_state("end")
    cluster = run.cluster
    count = f"{run.passed} expectation{'s' if run.passed != 1 else ''}"
    verdict = f"all {count} hold" if stop is None else f"{count} checked so far hold"
    console.print(
        Text(
            f"PASS {scenario.path}: {verdict} "
            f"({cluster.now:.3f} simulated seconds, {cluster.events_processed} events)",
            style="bold green",
        ),
        soft_wrap=True,
    )
    return Outcome(code=0, cluster=cluster, passed=run.passed)
