"""Running one schedule: faults, then healing, then the liveness and safety verdict.

Theory of operation: `execute` builds the seed's Cluster and walks the
schedule's timeline (each action, and the end of each window). An action is
resolved against the cluster as it is at that moment ("the leader" becomes
n3; a restart whose crash did nothing does nothing; a triggered fault waits
for its protocol event: sim.check.fuzz.faults) and carried out through the
public Cluster API by a `Recorder` (sim.check.fuzz.recorder), which writes
every call down as the scenario step that makes the same call (`crash n3`,
`run 412ms`): the steps replay the run (sim.check.fuzz.save).

After the schedule everything heals: partitions and cuts go, the network is
restored, crashed nodes restart. Then Raft owes us liveness (a leader within
a bound, a final write that commits, every current member catching up, every
acknowledged write present on every member) and, throughout, safety: the
checkers' `Cluster.violations` must stay empty. The run stops at the first
violation. Last, the clients' history must be linearizable (property
"linearizability"): checked when no checker fired and the simulator did not
raise, and reported before a liveness failure, since what it shows happened
earlier.

The run keeps no trace (campaign mode, `trace="off"`): the protocol
situations it reaches are counted as they happen by an observer
(sim.check.fuzz.coverage), and the result carries a digest of where the run
ended (sim.check.fuzz.digest), so that a re-run can be compared with it. A
failing seed is run again with the full trace when it is to be read or
shrunk (`rerun`): determinism makes that the same run, and the digest checks it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import attrs

from sim.check.checkers import CHECKERS
from sim.check.fuzz import coverage, damage
from sim.check.fuzz.clients import Clients
from sim.check.fuzz.digest import digest
from sim.check.fuzz.faults import Faults
from sim.check.fuzz.recorder import Line, Recorder, Stop, duration_text
from sim.check.fuzz.schedule import Action, Schedule
from sim.check.history import Outcome
from sim.check.linearizability import CheckResult, Verdict
from sim.cluster import Cluster
from sim.engine.checkpoints import Checkpoints
from sim.engine.trace import TraceEvent
from sim.scenario.conditions import Who
from sim.views import SubmitHandle

POLL_US = 50_000  # how often a waiting client looks at its write
RETRY_PAUSE_US = 200_000  # how long a refused client waits before trying again

OK, VIOLATION, LIVENESS, ERROR = "ok", "violation", "liveness", "error"
# Liveness problems, by kind.
NO_LEADER = "no leader after healing"
NO_COMMIT = "final write not committed"
BEHIND = "member not caught up"
LOST_WRITE = "acknowledged write lost"
LINEARIZABILITY = "linearizability"  # the property of the clients' history
# `--checkers safety`: the consequence checkers, the five properties of the Raft
# paper's Figure 3 (and linearizability, always checked); "all" adds the rules.
SAFETY_CHECKERS = tuple(list(CHECKERS)[:5])
# The consequences, by the names violations carry: real damage, not only a broken rule.
CONSEQUENCES = frozenset({*(CHECKERS[name].name for name in SAFETY_CHECKERS), LINEARIZABILITY})


@attrs.frozen(kw_only=True)
class Result:
    """What one seed's run came to. Small and picklable: workers send it back."""

    seed: int
    verdict: str  # OK, VIOLATION, LIVENESS, or ERROR (the simulator raised an exception)
    kind: str | None = None  # the violated property, the liveness problem, the exception
    problem: str | None = None  # the first violation, what liveness found, or where it raised
    at: float | None = None  # simulated seconds at which it was found
    actions: int = 0
    events: int = 0
    simulated: float = 0.0  # simulated seconds run
    wall: float = 0.0  # wall seconds taken
    # The clients' history: operations in it, those answered ok, and whether it
    # was checked linearizable ("linearizable", "gave up", "not linearizable";
    # None when it was not checked: a checker fired first, or the simulator raised).
    operations: int = 0
    answered: int = 0
    history: str | None = None
    # Protocol situations reached (sim.check.fuzz.coverage): (name, times) pairs.
    coverage: tuple[tuple[str, int], ...] = ()
    # Where the run ended (sim.check.fuzz.digest): a re-run must end there too.
    digest: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict != OK

    @property
    def damage(self) -> bool:
        """A consequence broke (a Figure 3 property, or linearizability), not only a rule."""
        return self.verdict == VIOLATION and self.kind in CONSEQUENCES

    def same_failure(self, other: Result) -> bool:
        """Fails the way `other` did: the same property, or the same liveness problem."""
        return self.failed and (self.verdict, self.kind) == (other.verdict, other.kind)

    def headline(self) -> str:
        """One line: what broke."""
        if not self.failed:
            return "ok"
        if self.verdict == VIOLATION:
            return f"{self.kind} violated: {self.problem}"
        if self.verdict == ERROR:
            return f"the simulator raised {self.kind}: {self.problem}"
        return f"liveness ({self.kind}): {self.problem}"


@attrs.frozen(kw_only=True)
class Execution:
    """A finished run: its result, and the steps that replay it."""

    schedule: Schedule
    result: Result
    lines: tuple[Line, ...]
    # For a liveness failure, the `expect ...` step that shows it; None when the
    # last step made shows it by itself (a `run until` that timed out). For a
    # history that is not linearizable, the step that shows what the culprit
    # operation returned.
    ending: str | None = None
    # The run's full trace; None for a run without it (campaign mode, the default)
    # and for an execution made by hand.
    trace: Sequence[TraceEvent] | None = None
    # For a broken Figure 3 property, what it lost, in one sentence (sim.check.fuzz.damage).
    lost: str | None = None


class _Executor:
    """Carries out one schedule on one cluster."""

    def __init__(self, schedule: Schedule, trace: str = "off") -> None:
        settings = schedule.settings
        self.schedule = schedule
        checkers = SAFETY_CHECKERS if settings.checkers == "safety" else "all"
        self.cluster = Cluster(
            schedule.nodes,
            seed=schedule.seed,
            bugs=settings.bugs,
            checkers=checkers,
            trace=trace,
            **schedule.options,  # type: ignore[arg-type]
        )
        # A fuzz run never travels in time: no journal of its steps, no checkpoints
        # (about a tenth of a seed's time, taking them).
        self.cluster._journal.enabled = False
        self.cluster._checkpoints = Checkpoints(self.cluster._world, self.cluster._journal)
        # Booting made no note the coverage counts: it may start watching now.
        self.coverage = coverage.Watch()
        world = self.cluster._world  # so this is the run's one world
        world.observers = [*world.observers, self.coverage]
        self.rec = Recorder(self.cluster)
        self.clients = Clients(self.cluster, self.rec)
        self.faults = Faults(schedule, self.cluster, self.rec)
        self.witness = damage.Witness(self.cluster)
        self.writes: list[tuple[str, str, SubmitHandle]] = []  # key, value, handle
        self.ending: str | None = None
        self.problem: tuple[str, str] | None = None  # liveness kind, text

    # -- the timeline ------------------------------------------------------------

    def timeline(self) -> list[tuple[int, int, int, Action]]:
        """(time, number, 0 start / 1 end, action), in the order they happen."""
        events = []
        for action in self.schedule.actions:
            events.append((action.at_us, action.number, 0, action))
            if action.lasts_us:
                events.append((action.at_us + action.lasts_us, action.number, 1, action))
        events.sort(key=lambda e: e[:3])
        return events

    def go(self) -> None:
        for at_us, _, end, action in self.timeline():
            if at_us >= self.schedule.duration_us:
                break  # windows still open at the end close with the healing
            self.faults.advance(at_us)
            self.rec.number = action.number
            if end:
                self.faults.close(action)
            else:
                self.apply(action)
            self.rec.number = None
        self.faults.advance(self.schedule.duration_us)
        self.rec.phase = "healing"
        self.faults.heal_everything()
        self.check_liveness()

    def apply(self, action: Action) -> None:
        kind, rec = action.kind, self.rec
        if kind == "client":
            self.clients.send(action)
        elif kind == "write":
            n = action.number
            up = self.faults.up()
            to = up[action.key % len(up)] if action.value == "any" and up else None
            handle = rec.submit(f"set w{n} {n}", to=to)
            self.writes.append((f"w{n}", str(n), handle))
        else:
            self.faults.apply(action)

    # -- healing and liveness ----------------------------------------------------------

    def fail(self, kind: str, text: str, ending: str | None = None) -> None:
        self.problem = (kind, text)
        self.ending = ending
        raise Stop

    def check_liveness(self) -> None:
        settings, rec, cluster = self.schedule.settings, self.rec, self.cluster
        bound = round(settings.leader_bound * 1_000_000)
        if not rec.until("leader exists", _has_leader, bound):
            self.fail(NO_LEADER, f"no leader within {duration_text(bound)} after healing")
        final = self.final_write(round(settings.commit_bound * 1_000_000))
        assert final.node is not None and final.index is not None
        catchup = round(settings.catchup_bound * 1_000_000)
        index = final.index
        # Who must catch up: the members of the leader's configuration at each
        # moment. A membership change still under way may yet remove a server,
        # and Raft promises a removed server nothing (found by seed 50226).
        members = Who(members=True)

        def caught_up(c: Cluster) -> bool:
            return all(c.nodes[m].last_applied >= index for m in members.nodes(c))

        caught = rec.until(f"applied {index} on members", caught_up, catchup)
        members_now = members.nodes(cluster)
        if not caught:
            behind = [m for m in members_now if cluster.nodes[m].last_applied < index]
            shown = ", ".join(f"{m} at {cluster.nodes[m].last_applied}" for m in behind)
            self.fail(
                BEHIND, f"members short of index {index} {duration_text(catchup)} later: {shown}"
            )
        for key, value, handle in self.writes:
            if handle.outcome != "committed":
                continue
            for member in members_now:
                found = cluster.nodes[member].data.get(key)
                if found != value:
                    self.fail(
                        LOST_WRITE,
                        f"'set {key} {value}' was acknowledged but {member} has "
                        f"{key}={found or 'none'}",
                        f"expect value {member} {key} {value}",
                    )

    def final_write(self, bound_us: int) -> SubmitHandle:
        """A client that writes until it succeeds, retrying through refusals."""
        rec, cluster = self.rec, self.cluster
        deadline = rec.now_us + bound_us
        attempt, handle = 0, None
        while rec.now_us < deadline:
            if cluster.leader is None and not rec.until(
                "leader exists", _has_leader, deadline - rec.now_us
            ):
                break
            attempt += 1
            handle = rec.submit("set final 1", name=f"final{attempt}")
            if not handle.accepted:
                rec.run_to(min(deadline, rec.now_us + RETRY_PAUSE_US))
                continue
            while handle.outcome == "pending" and rec.now_us < deadline:
                rec.run_to(min(deadline, rec.now_us + POLL_US))
            if handle.committed:
                return handle
        if handle is None:
            self.fail(NO_COMMIT, f"no leader to write to within {duration_text(bound_us)}")
        assert handle is not None
        self.fail(
            NO_COMMIT,
            f"{attempt} attempt(s) in {duration_text(bound_us)}, the last one {handle.outcome}"
            + (f" ({handle.reason})" if handle.reason else ""),
            f"expect committed final{attempt}",
        )
        raise AssertionError("unreachable")


def _has_leader(cluster: Cluster) -> bool:
    return cluster.leader is not None


def _where(error: Exception) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1]
    where = "/".join(Path(frame.filename).parts[-2:])
    return f"{error or 'no message'} ({where}:{frame.lineno}, in {frame.name})"


def execute(schedule: Schedule, *, trace: str = "off") -> Execution:
    """Run `schedule` on a fresh cluster; stops at the first violation.

    Without the trace by default (campaign mode); `trace="full"` keeps it, and
    changes nothing else (see `rerun`).
    """
    started = time.perf_counter()
    executor = _Executor(schedule, trace)
    error: Exception | None = None
    try:
        executor.go()
    except Stop:
        pass
    except Exception as exc:  # a bug in the simulator (or a bug switch it did not foresee)
        error = exc
    cluster, clients = executor.cluster, executor.clients
    history = clients.finish()
    checked: CheckResult | None = None
    if not cluster.violations and error is None:
        checked = clients.check(history)
    reached = executor.coverage.counts()
    unknown = sum(op.outcome is Outcome.UNKNOWN for op in history)
    if unknown:
        reached["client-unknown"] = unknown
    common = {
        "seed": schedule.seed,
        "actions": len(schedule.actions),
        "events": cluster.events_processed,
        "simulated": cluster.now,
        "operations": len(history),
        "answered": sum(op.outcome is Outcome.OK for op in history),
        "history": None if checked is None else checked.verdict.value,
        "coverage": tuple(sorted(reached.items())),
        "digest": digest(cluster),
    }
    ending = lost = None
    if cluster.violations:
        first = cluster.violations[0]
        lost = executor.witness.lost
        found = {
            "verdict": VIOLATION,
            "kind": first.property,
            "problem": first.text,
            "at": first.time_us / 1_000_000,
        }
    elif error is not None:
        found = {"verdict": ERROR, "kind": type(error).__name__, "problem": _where(error)}
    elif checked is not None and checked.verdict is Verdict.VIOLATION:
        broken = checked.violations[0]
        culprit = broken.culprit
        found = {
            "verdict": VIOLATION,
            "kind": LINEARIZABILITY,
            "problem": broken.text,
            "at": (culprit.completed or culprit.invoked) / 1_000_000,
        }
        ending = clients.expectation(culprit.client)
    elif executor.problem is not None:
        kind, text = executor.problem
        found = {"verdict": LIVENESS, "kind": kind, "problem": text, "at": cluster.now}
        ending = executor.ending
    else:
        found = {"verdict": OK}
    result = Result(**found, **common, wall=time.perf_counter() - started)  # type: ignore[arg-type]
    return Execution(
        schedule=schedule,
        result=result,
        lines=tuple(executor.rec.lines),
        ending=ending,
        trace=cluster.trace if trace == "full" else None,
        lost=lost,
    )


def same_run(a: Result, b: Result) -> bool:
    """The same seed run twice came to the same thing, digest included (wall time aside)."""
    return attrs.evolve(a, wall=0.0) == attrs.evolve(b, wall=0.0)


@attrs.frozen(kw_only=True)
class Rerun:
    """A failing run made again with the full trace, to be read: the same run, or not."""

    execution: Execution
    same: bool  # it came to the same result and ended in the same state (digest)


def rerun(schedule: Schedule, result: Result) -> Rerun:
    """Run `schedule` again with the full trace and say whether it came out as `result` did."""
    again = execute(schedule, trace="full")
    return Rerun(execution=again, same=same_run(again.result, result))
