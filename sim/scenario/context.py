"""What a step, a condition or an expectation may use of the run it is part of.

The runner's `Run` provides this; steps, conditions and expectations are
written against this protocol, so they need not import the runner (which
imports them to carry them out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sim.cluster import Cluster


class RunContext(Protocol):
    """The cluster being told about, the named submits and requests, and the narrator."""

    cluster: Cluster
    handles: dict[str, object]  # name -> SubmitHandle, AdminHandle, ReadHandle or LogRead
    passed: int  # expectations that held so far

    def narrate(self, text: str) -> None:
        """Show the author's words as written."""

    def heading(self, title: str) -> None:
        """Start a chapter."""

    def note(self, text: str) -> None:
        """A line to show under the current step, after its trace events."""

    def show_state(self, title: str = "pause") -> None:
        """Show the cluster's nodes and logs."""
