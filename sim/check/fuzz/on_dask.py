"""`raftsim fuzz --scheduler`: the command's side of a campaign run by Dask workers.

Kept apart from sim/check/fuzz/distributed.py, which imports Dask at once: this
module loads without it, and says how to install it when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from sim.check.fuzz.schedule import FuzzSettings


def fuzz_on_dask(
    console: Console,
    scheduler: str,
    local_workers: int,
    batch_size: int | None,
    seeds: range,
    settings: FuzzSettings,
    campaign: dict[str, Any],
    fail: Callable[[str], None],
) -> int:
    """`raftsim fuzz --scheduler`: the same campaign, its seeds run by Dask workers."""
    try:
        from sim.check.fuzz.distributed import DaskCampaign, DaskProblem
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("dask", "distributed"):
            raise
        fail(
            "raftsim fuzz: --scheduler needs Dask, which is not installed here: "
            "pip install 'raftsim[dask]'"
        )
    from sim.check.fuzz.report import fuzz as run_fuzz

    if scheduler == "local":
        plural = "s" * (local_workers != 1)
        console.print(
            Text(f"starting a local Dask cluster of {local_workers} worker{plural}", style="dim")
        )
    else:
        console.print(Text(f"connecting to the Dask scheduler at {scheduler}", style="dim"))
    try:
        with DaskCampaign.connect(scheduler, local_workers=local_workers) as dask:
            dask.batch = batch_size
            return run_fuzz(console, seeds, settings, jobs=1, dask=dask, **campaign)
    except DaskProblem as error:
        fail(f"raftsim fuzz: --scheduler {scheduler}: {error}")
    return 2  # unreachable: _fail exits
