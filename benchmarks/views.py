"""View benchmark: milliseconds to draw one live-view frame and one notebook picture.

Run from the repository root:  python benchmarks/views.py [--nodes 5 21]

Builds a cluster that has elected a leader and committed a few commands, then
times (best of --repeats) one frame of `raftsim watch` rendered by rich into
a 120x40 terminal, and one `sim.show.notebook.cluster_svg` picture. The aim
(docs/DESIGN.md) is under 20 ms a frame.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import floor  # noqa: E402

from sim import Cluster  # noqa: E402
from sim.show.dashboard import ViewState, dashboard  # noqa: E402
from sim.show.notebook import cluster_svg  # noqa: E402


def best_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def time_views(nodes: int, repeats: int) -> tuple[float, float]:
    """(live view frame ms, notebook picture ms) for a busy cluster of `nodes`."""
    cluster = Cluster(nodes, seed=7)
    cluster.run_until(lambda c: c.leader is not None, timeout=10.0)
    for i in range(20):
        cluster.submit(f"set k{i} {i}")
    cluster.run(0.3)
    screen = Console(file=io.StringIO(), width=120, height=40, force_terminal=True)
    state = ViewState(selected=cluster.leader)
    frame_ms = best_ms(lambda: screen.print(dashboard(cluster, state, 120, 40)), repeats)
    return frame_ms, best_ms(lambda: cluster_svg(cluster), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[5, 21])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    table = Table(title=f"one frame (best of {args.repeats})")
    for column in (
        "nodes",
        "live view frame (ms)",
        "notebook picture (ms)",
        "aim",
        "frame, in empty-loop events",
    ):
        table.add_column(column, justify="right")
    base = floor()
    for nodes in args.nodes:
        frame_ms, svg_ms = time_views(nodes, args.repeats)
        ok = "met" if max(frame_ms, svg_ms) < 20 else "missed"
        table.add_row(
            str(nodes),
            f"{frame_ms:.1f}",
            f"{svg_ms:.1f}",
            f"< 20 ms: {ok}",
            f"{frame_ms / 1000 * base:,.0f}",
        )
    Console().print(table)
    Console().print(f"empty event loop in this run: {base:,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
