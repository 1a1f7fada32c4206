"""sim: the simulated world around raft's nodes, and the tools to watch it.

`Cluster` is the front door (see docs/DESIGN.md, "Public API").
"""

from sim.cluster import Cluster
from sim.engine.trace import TraceEvent
from sim.views import NodeView, SubmitHandle

__all__ = ["Cluster", "NodeView", "SubmitHandle", "TraceEvent"]
