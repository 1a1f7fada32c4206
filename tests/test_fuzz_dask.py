"""`raftsim fuzz --scheduler`: campaigns on a real Dask cluster give a local run's verdicts.

A `dask scheduler` and two `dask worker` processes (one thread each, no
nanny, so killing one kills it) are started on 127.0.0.1 with random ports,
once for this module. The tests that need Dask are skipped only when it is
not installed (CI installs it: `pip install '.[test,dask]'`); the ones about
running without it always run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from conftest import one_line_error, raftsim
from rich.console import Console

from sim.check.fuzz import FuzzSettings, run_campaign
from sim.check.fuzz.batch import Provenance, made_by, run_batch
from sim.check.fuzz.run import Result

ROOT = Path(__file__).resolve().parent.parent
HAS_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(
    not HAS_DASK, reason="needs raftsim[dask]: pip install '.[test,dask]'"
)

SEEDS = range(40)
SETTINGS = FuzzSettings(duration=1, nodes=3, bugs=("double_vote",))
ARGS = ["fuzz", "--seeds", "40", "--duration", "1", "--nodes", "3", "--bug", "double_vote"]
STARTUP = 60.0  # seconds for the scheduler and workers to come up on a slow machine


def verdicts(results: list[Result]) -> dict[int, str]:
    """Per seed: 'ok', or what failed (the property and the first violation)."""
    return {r.seed: r.headline() for r in results}


def same_run(result: Result) -> Result:
    return attrs.evolve(result, wall=0.0)


@pytest.fixture(scope="module")
def local_results() -> list[Result]:
    return run_campaign(SEEDS, SETTINGS)


# -- a real cluster ---------------------------------------------------------------------


@attrs.define
class DaskProcesses:
    address: str
    scheduler_file: Path
    logs: Path
    processes: list[subprocess.Popen] = attrs.field(factory=list)

    def start(self, *args: str, log: str) -> subprocess.Popen:
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        with open(self.logs / log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.start(
            "worker",
            "--scheduler-file", str(self.scheduler_file),
            "--nthreads", "1",
            "--no-nanny",
            "--no-dashboard",
            "--host", "127.0.0.1",
            "--name", name,
            log=f"{name}.log",
        )  # fmt: skip

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=30)


def _poll(condition, what: str, timeout: float = STARTUP) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[DaskProcesses]:
    from dask.distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    cluster = DaskProcesses(address="", scheduler_file=logs / "scheduler.json", logs=logs)
    try:
        scheduler = cluster.start(
            "scheduler",
            "--host", "127.0.0.1",
            "--port", "0",
            "--no-dashboard",
            "--scheduler-file", str(cluster.scheduler_file),
            log="scheduler.log",
        )  # fmt: skip

        def written() -> bool:
            if scheduler.poll() is not None:
                pytest.fail("the scheduler exited: " + (logs / "scheduler.log").read_text())
            try:
                cluster.address = json.loads(cluster.scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                return False
            return True

        _poll(written, "the scheduler file")
        for name in ("w1", "w2"):
            cluster.start_worker(name)
        with Client(cluster.address, timeout=STARTUP) as client:
            client.wait_for_workers(2, timeout=STARTUP)
        yield cluster
    finally:
        cluster.stop()


# -- the campaign on the cluster -------------------------------------------------------


def _failing_lines(output: str) -> dict[int, str]:
    found = {}
    for line in output.splitlines():
        if line.startswith("seed ") and ": " in line:
            seed, _, said = line.partition(": ")
            found[int(seed.split()[1])] = said
    return found


def _tables(output: str) -> list[tuple[str, ...]]:
    """The summary and coverage tables' cells, without the rows that time the run."""
    timed = ("wall seconds", "simulated s / wall s", "seeds / minute")
    return [
        tuple(cell.strip() for cell in line.strip("│┃ ").split("│"))
        for line in output.splitlines()
        if "│" in line and not any(word in line for word in timed)
    ]


@needs_dask
def test_a_campaign_on_dask_gives_the_verdicts_and_tables_of_a_local_run(
    dask_cluster, local_results
) -> None:
    remote = raftsim(*ARGS, "--scheduler", dask_cluster.address, "--batch-size", "5")
    assert remote.exit_code == 1, remote.output
    expected = {r.seed: r.headline() for r in local_results if r.failed}
    assert expected, "the bug switch should make some seeds fail"
    assert _failing_lines(remote.output) == expected
    assert f"on Dask at {dask_cluster.address}: 2 workers, 2 threads; " in remote.output
    assert made_by().describe() in remote.output
    assert "40/40 seeds" in remote.output
    assert f"re-ran the {len(expected)} failing seeds here: each gave the same result" in (
        remote.output
    )
    assert "(Dask, 2 workers)" in remote.output
    local = raftsim(*ARGS)
    assert local.exit_code == 1
    assert len(_tables(local.output)) > 30
    assert _tables(remote.output) == _tables(local.output)


@needs_dask
def test_a_worker_killed_mid_campaign_loses_no_seed(dask_cluster, local_results) -> None:
    from sim.check.fuzz.distributed import DaskCampaign

    with DaskCampaign.connect(dask_cluster.address) as dask:
        dask.batch = 2  # 20 batches: most are still to come when the first one is back
        pids = dask.client.run(os.getpid)
        killed: list[str] = []

        def arrived(_result: Result) -> None:
            if killed:
                return
            busy = [w for w, keys in dask.client.processing().items() if keys]
            assert busy, "a worker should be running a batch"
            killed.append(busy[0])
            os.kill(pids[busy[0]], signal.SIGKILL)

        results = dask.run(SEEDS, SETTINGS, on_result=arrived)
        assert killed
        _poll(lambda: killed[0] not in dask.client.nthreads(), "the scheduler to drop the worker")
    assert [same_run(r) for r in results] == [same_run(r) for r in local_results]
    dask_cluster.start_worker("w3")  # two workers again, for the tests after this one
    from dask.distributed import Client

    with Client(dask_cluster.address, timeout=STARTUP) as client:
        client.wait_for_workers(2, timeout=STARTUP)


@needs_dask
def test_every_result_records_the_raftsim_and_commit_that_made_it(
    dask_cluster, local_results
) -> None:
    from sim.check.fuzz.distributed import DaskCampaign

    here = made_by()
    with DaskCampaign.connect(dask_cluster.address) as dask:
        results = dask.run(SEEDS, SETTINGS)
        records = dask.records
        assert set(dask.workers) == set(dask.client.nthreads())
    assert verdicts(results) == verdicts(local_results)
    assert sorted(records) == list(SEEDS)
    makers = {record.made_by for record in records.values()}
    assert here.host not in {m.host for m in makers}  # made by the workers, not here
    for maker in makers:
        assert (maker.version, maker.commit, maker.code) == (here.version, here.commit, here.code)
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if head:  # a checkout: the commit is git's, "-dirty" while sim/ or raft/ has edits
        assert here.commit.removesuffix("-dirty") == head
    # The digest of a seed's run is the same on a worker as here.
    for seed in (0, 1):
        assert records[seed].result.digest == run_batch([seed], SETTINGS)[0].result.digest


@needs_dask
def test_scheduler_local_starts_a_local_cluster_of_jobs_workers() -> None:
    result = raftsim("fuzz", "--seeds", "4", "--duration", "0.5", "--scheduler", "local", "-j", "1")
    assert result.exit_code == 0, result.output
    assert "on a local Dask cluster at tcp://127.0.0.1:" in result.output
    assert ": 1 worker, 1 thread; " in result.output
    assert "no failures in 4 seeds" in result.output


# -- trust: other code refused, nondeterminism reported --------------------------------


def _other(**changes: str) -> Provenance:
    return attrs.evolve(made_by(), host="elsewhere:1", **changes)


@needs_dask
def test_a_worker_with_other_code_is_refused_and_another_commit_only_warned() -> None:
    from sim.check.fuzz.distributed import DaskCampaign, DaskProblem

    dask = DaskCampaign(client=None, address="tcp://nowhere:1")  # type: ignore[arg-type]
    with pytest.raises(DaskProblem, match="runs other raftsim code .* install the same raftsim"):
        dask._compare("tcp://w:1", _other(code="0" * 32))
    assert not dask.warnings
    dask._compare("tcp://w:1", _other(commit="f" * 40))
    assert dask.warnings == [
        f"worker tcp://w:1: the same code, another commit "
        f"(raftsim {made_by().version}, commit ffffffffffff, Python {made_by().python})"
    ]


@needs_dask
def test_a_failing_seed_that_replays_differently_here_is_reported_as_nondeterminism() -> None:
    from sim.check.fuzz.distributed import DaskCampaign
    from sim.check.fuzz.report import fuzz

    class Tampered(DaskCampaign):
        """Runs the batch here, then pretends the worker's run ended elsewhere for seed 3."""

        def where(self) -> str:
            return "on a pretend cluster"

        def run(self, seeds, settings, *, on_result=None):
            for record in run_batch(seeds, settings):
                if record.result.seed == 3:
                    ended = attrs.evolve(record.result, digest="0" * 32)
                    record = attrs.evolve(record, result=ended)
                self.records[record.result.seed] = record
                on_result(record.result)
            return [self.records[seed].result for seed in seeds]

    console = Console(record=True, width=200)
    dask = Tampered(client=None, address="tcp://nowhere:1")  # type: ignore[arg-type]
    code = fuzz(console, range(3, 5), SETTINGS, dask=dask)
    text = console.export_text()
    assert code == 1
    assert "nondeterminism: re-ran the 2 failing seeds here, and 1 came out differently" in text
    assert "seed 3: on " in text and "(digest 000000000000), here " in text


@needs_dask
def test_batches_hold_hundreds_of_seeds_for_a_big_campaign_and_few_for_a_small_one() -> None:
    from sim.check.fuzz.distributed import MAX_BATCH, batch_size, batches

    assert batch_size(100_000, 100) == 125
    assert batch_size(10_000, 2) == MAX_BATCH == 200
    assert batch_size(40, 2) == 3
    assert batch_size(1, 64) == 1
    assert batches(range(10), 4) == [range(0, 4), range(4, 8), range(8, 10)]


# -- bad addresses and missing Dask: one line, exit code 2 -------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_dask
def test_an_unreachable_scheduler_is_one_line(monkeypatch) -> None:
    monkeypatch.setattr("sim.check.fuzz.distributed.CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    line = one_line_error(raftsim("fuzz", "--seeds", "1", "--scheduler", address))
    assert line.startswith(f"raftsim fuzz: --scheduler {address}: cannot reach a Dask scheduler")


@needs_dask
def test_a_malformed_scheduler_address_is_one_line() -> None:
    line = one_line_error(raftsim("fuzz", "--seeds", "1", "--scheduler", "nonsense://x"))
    assert line.startswith("raftsim fuzz: --scheduler nonsense://x: cannot reach")


@pytest.mark.parametrize(
    "args, said",
    [
        (["--scheduler", " "], "raftsim fuzz: --scheduler needs an address"),
        (["--scheduler", "tcp://h:1", "--jobs", "2"], "raftsim fuzz: --jobs does not apply"),
        (["--batch-size", "5"], "raftsim fuzz: --batch-size applies to --scheduler only"),
        (["--scheduler", "local", "--batch-size", "0"], "raftsim fuzz: --batch-size must be"),
    ],
)
def test_scheduler_options_that_cannot_work_are_one_line(args, said) -> None:
    assert one_line_error(raftsim("fuzz", "--seeds", "1", *args)).startswith(said)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_without_dask_scheduler_says_to_install_the_extra() -> None:
    done = _python(
        "import sys\n"
        "sys.modules['dask'] = sys.modules['distributed'] = None  # as if not installed\n"
        "from sim.cli import main\n"
        "main(['fuzz', '--seeds', '1', '--scheduler', 'local'])\n"
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "raftsim fuzz: --scheduler needs Dask, which is not installed here: "
        "pip install 'raftsim[dask]'"
    ]


def test_neither_the_cli_nor_a_local_campaign_imports_dask() -> None:
    done = _python(
        "import sys\n"
        "from sim.cli import main\n"
        "try:\n"
        "    main(['fuzz', '--seeds', '2', '--duration', '0.5'])\n"
        "except SystemExit as end:\n"
        "    assert end.code == 0, end.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "loaded += [m for m in sys.modules if m == 'sim.check.fuzz.distributed']\n"
        "print('loaded:', loaded)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "loaded: []"
