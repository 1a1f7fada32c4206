"""raft: the Raft algorithm as sofa-jraft structures it, pure (no clock, IO or randomness).

Drive a `Node` with inputs and carry out the outputs it returns; `sim` does
this for a whole simulated cluster.
"""

from raft.ballot_box import BallotBox
from raft.configuration import Configuration
from raft.log_entry import EntryKind, LogEntry
from raft.log_manager import LogManager
from raft.messages import (
    AppendEntries,
    AppendEntriesResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
    Message,
    RequestVote,
    TimeoutNow,
    VoteResponse,
)
from raft.node import ELECTION_TIMER, HEARTBEAT_TIMER, AdminAnswer, Node, ProposeResult, Role
from raft.options import RaftOptions
from raft.outputs import (
    Applied,
    CancelTimer,
    Finished,
    Note,
    Output,
    Persist,
    ReadDone,
    Send,
    SetTimer,
)
from raft.replicator import Replicator, ReplicatorState
from raft.snapshot import Snapshot
from raft.state_machine import FSMCaller, KVStateMachine, StateMachine
from raft.storage import (
    AppendLog,
    DurableState,
    SaveHardState,
    SaveSnapshot,
    TruncateLog,
    Write,
)

__all__ = [
    "AdminAnswer",
    "Finished",
    "InstallSnapshot",
    "InstallSnapshotResponse",
    "SaveSnapshot",
    "Snapshot",
    "TimeoutNow",
    "ELECTION_TIMER",
    "HEARTBEAT_TIMER",
    "AppendEntries",
    "AppendEntriesResponse",
    "AppendLog",
    "Applied",
    "BallotBox",
    "CancelTimer",
    "Configuration",
    "DurableState",
    "EntryKind",
    "FSMCaller",
    "KVStateMachine",
    "LogEntry",
    "LogManager",
    "Message",
    "Node",
    "Note",
    "Output",
    "Persist",
    "ProposeResult",
    "ReadDone",
    "RaftOptions",
    "Replicator",
    "ReplicatorState",
    "RequestVote",
    "Role",
    "SaveHardState",
    "Send",
    "SetTimer",
    "StateMachine",
    "TruncateLog",
    "VoteResponse",
    "Write",
]
