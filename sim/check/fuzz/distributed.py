"""Campaigns on a Dask cluster: `raftsim fuzz --scheduler tcp://HOST:PORT` (or `local`).

Theory of operation: the seeds go out in batches (`batch_size`: a few per
worker thread and at most MAX_BATCH, so a task is worth sending and the last
ones do not keep the others waiting), each batch one Dask task that runs
`sim.check.fuzz.batch.run_batch` on a worker. Results come back batch by
batch in the order they finish (`as_completed`) and feed the same progress
bar and summary as a local campaign: a seed's verdict does not depend on
where it ran.

What is trusted, and why:
- Before any seed goes out, every worker says which raftsim it runs. Other
  code than here (a different source fingerprint) is refused: its verdicts
  would not be this code's, and its failing seeds would not replay here. The
  same code under another version, commit or Python is only a warning. A
  batch from a worker that joined later with other code stops the campaign.
- A worker that dies takes its running batch with it; the scheduler gives
  the batch to another worker (up to its `allowed-failures`, 3 by default),
  and a batch that raised is retried RETRIES times: no seed is lost.
- Failing seeds are re-run here (the first REPRODUCE_AT_MOST), with the full
  trace, and must give the same result and the same digest of where the run
  ended (the workers keep no trace), or the campaign reports nondeterminism.
  Minimizing and `--save` run here too.

This module is imported only for `--scheduler`: it is the one that imports Dask.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence

import attrs
from dask.distributed import Client, Future, LocalCluster, as_completed

from sim.check.fuzz.batch import Provenance, Record, made_by, run_batch
from sim.check.fuzz.run import Result, rerun
from sim.check.fuzz.schedule import FuzzSettings, generate

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler, and for a first worker to be there
MAX_BATCH = 200  # seeds per task at most
BATCHES_PER_THREAD = 8  # enough tasks that the last ones do not keep the others waiting
RETRIES = 2  # a batch that raised is run again this often
REPRODUCE_AT_MOST = 20  # failing seeds re-run here per campaign


class DaskProblem(Exception):
    """The cluster cannot be used as asked: one line for the user."""


def batch_size(seeds: int, threads: int) -> int:
    """Seeds per task: BATCHES_PER_THREAD tasks per worker thread, at most MAX_BATCH seeds."""
    return max(1, min(MAX_BATCH, math.ceil(seeds / (max(1, threads) * BATCHES_PER_THREAD))))


def batches(seeds: Sequence[int], size: int) -> list[Sequence[int]]:
    """The seeds in slices of `size` (a range stays a range: a task carries two numbers)."""
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


@attrs.frozen(kw_only=True)
class Mismatch:
    """A failing seed that did not come out the same here as on its worker."""

    record: Record  # what the worker sent
    result: Result  # what the re-run here gave

    def describe(self) -> str:
        theirs, ours = self.record, self.result
        return (
            f"seed {ours.seed}: on {theirs.made_by.host} {theirs.result.headline()} "
            f"(digest {theirs.result.digest[:12]}), here {ours.headline()} "
            f"(digest {ours.digest[:12]})"
        )


@attrs.frozen(kw_only=True)
class Reproduction:
    """The failing seeds re-run here, and those that came out differently."""

    failing: int
    rerun: int
    mismatches: tuple[Mismatch, ...]


class DaskCampaign:
    """A connection to a Dask cluster that runs campaigns; use it as a context manager."""

    def __init__(self, client: Client, address: str, cluster: LocalCluster | None = None) -> None:
        self.client = client
        self.address = address
        self.cluster = cluster
        self.here = made_by()
        self.workers: dict[str, Provenance] = {}
        self.warnings: list[str] = []
        self.batch: int | None = None  # seeds per task; None: batch_size decides
        self.records: dict[int, Record] = {}
        self.ran_on: set[str] = set()  # worker processes that sent results (hostname:pid)

    # -- connecting ----------------------------------------------------------------------

    @classmethod
    def connect(cls, scheduler: str, *, local_workers: int = 1) -> DaskCampaign:
        """Reach the scheduler (or start a local cluster), then check its workers' raftsim.

        DaskProblem if the scheduler cannot be reached within CONNECT_TIMEOUT,
        has no worker by then, or a worker runs other code.
        """
        cluster = None
        try:
            if scheduler == "local":
                cluster = LocalCluster(
                    n_workers=local_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # The scheduler serves HTTP (health checks) even without a
                    # dashboard: on a free port here, not on 8787 everywhere.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
                client = Client(cluster, timeout=CONNECT_TIMEOUT)
            else:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except Exception as error:  # OSError, TimeoutError, ValueError: all one answer
            if cluster is not None:
                cluster.close()
            what = (
                "start a local Dask cluster"
                if scheduler == "local"
                else f"reach a Dask scheduler at {scheduler}"
            )
            raise DaskProblem(
                f"cannot {what} within {CONNECT_TIMEOUT:g} s: {_said(error)}"
            ) from None
        campaign = cls(client, client.scheduler.address, cluster)
        try:
            campaign._check_workers()
        except BaseException:
            campaign.close()
            raise
        return campaign

    def _check_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            raise DaskProblem(
                f"no worker joined the Dask scheduler at {self.address} "
                f"within {CONNECT_TIMEOUT:g} s"
            ) from None
        try:
            self.workers = self.client.run(made_by)
        except Exception as error:
            raise DaskProblem(
                f"the workers at {self.address} cannot run raftsim ({_said(error)}): "
                "install the same raftsim on every worker"
            ) from None
        for worker, theirs in sorted(self.workers.items()):
            self._compare(worker, theirs)

    def _compare(self, worker: str, theirs: Provenance) -> None:
        differences = self.here.differences(theirs)
        if "code" in differences:
            raise DaskProblem(
                f"worker {worker} runs other raftsim code ({theirs.describe()}, "
                f"Python {theirs.python}) than here ({self.here.describe()}, "
                f"Python {self.here.python}): install the same raftsim on every worker"
            )
        if differences:
            said = f"worker {worker}: the same code, another {' and '.join(differences)} ("
            said += f"{theirs.describe()}, Python {theirs.python})"
            if said not in self.warnings:
                self.warnings.append(said)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskCampaign:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- what it is ------------------------------------------------------------------------

    def threads(self) -> int:
        return sum(self.client.nthreads().values())

    def where(self) -> str:
        """Where the campaign runs: the scheduler, its workers, and the raftsim they run."""
        nthreads = self.client.nthreads()
        workers, threads = len(nthreads), sum(nthreads.values())
        kind = "a local Dask cluster" if self.cluster is not None else "Dask"
        same = "the same code on every worker" if not self.warnings else "see the warnings"
        return (
            f"on {kind} at {self.address}: {workers} worker{'s' * (workers != 1)}, "
            f"{threads} thread{'s' * (threads != 1)}; {self.here.describe()} ({same})"
        )

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        seeds: Sequence[int],
        settings: FuzzSettings,
        *,
        on_result: Callable[[Result], None] | None = None,
    ) -> list[Result]:
        """Run every seed on the cluster; returns the results in seed order, like run_campaign."""
        size = self.batch or batch_size(len(seeds), self.threads())
        tag = uuid.uuid4().hex[:8]
        futures: list[Future] = [
            self.client.submit(
                run_batch,
                part,
                settings,
                key=f"raftsim-fuzz-{tag}-{part[0]}-{part[-1]}",
                retries=RETRIES,
                pure=False,
            )
            for part in batches(seeds, size)
        ]
        try:
            for future in as_completed(futures):
                for record in self._arrived(future):
                    self.records[record.result.seed] = record
                    if on_result is not None:
                        on_result(record.result)
        except BaseException:
            self.client.cancel(futures)
            raise
        return sorted((self.records[seed].result for seed in seeds), key=lambda r: r.seed)

    def _arrived(self, future: Future) -> tuple[Record, ...]:
        try:
            records: tuple[Record, ...] = future.result()
        except Exception as error:
            raise DaskProblem(f"a batch of seeds failed on the cluster: {_said(error)}") from None
        for maker in {record.made_by for record in records}:
            self._compare(maker.host, maker)
            self.ran_on.add(maker.host)
        return records

    def reproduce(
        self, failed: Sequence[Result], settings: FuzzSettings, *, at_most: int = REPRODUCE_AT_MOST
    ) -> Reproduction:
        """Re-run failing seeds here, with the full trace: each must give the worker's result
        (its digest included)."""
        mismatches = []
        again = failed[:at_most]
        for result in again:
            record = self.records[result.seed]
            here = rerun(generate(result.seed, settings), record.result)
            if not here.same:
                mismatches.append(Mismatch(record=record, result=here.execution.result))
        return Reproduction(failing=len(failed), rerun=len(again), mismatches=tuple(mismatches))


def _said(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
