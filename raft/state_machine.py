"""The user's state machine, the FSMCaller that feeds it, and a key-value store.

Theory of operation (sofa-jraft's FSMCaller): committed entries reach the
state machine through one queue, in log order, each exactly once per node
lifetime. A restarted node starts with a fresh state machine and applies the
committed log again from the start. Configuration entries and no-ops are not
given to `on_apply`: configuration entries go to `on_configuration_committed`.

A snapshot replaces the applied state at once: loading one sets last_applied
to its last index without replaying entries (so `applied`, which lists
commands applied one by one, does not list what the snapshot covers).

Invariant: last_applied <= commit_index.
"""

from __future__ import annotations

import json

from raft.configuration import Configuration
from raft.log_entry import EntryKind
from raft.log_manager import LogManager
from raft.outputs import Outbox
from raft.snapshot import Snapshot


class StateMachine:
    """Base class with jraft's callbacks; override what you need."""

    def on_apply(self, index: int, command: str) -> str:
        """Apply a committed client command; returns the answer for the client."""
        raise NotImplementedError

    def on_leader_start(self, term: int) -> None:
        """This node leads `term` and its first entry of the term has committed."""

    def on_leader_stop(self) -> None:
        """This node stopped leading."""

    def on_configuration_committed(self, conf: Configuration) -> None:
        """A configuration entry was committed."""

    def on_snapshot_save(self) -> str:
        """The whole state, serialised, for a snapshot."""
        raise NotImplementedError

    def on_snapshot_load(self, data: str) -> None:
        """Replace the whole state with a snapshot's."""
        raise NotImplementedError


class KVStateMachine(StateMachine):
    """A key-value store: `set K V`, `get K`, `del K`, `cas K OLD NEW`."""

    USAGE = "expected 'set KEY VALUE', 'get KEY', 'del KEY' or 'cas KEY OLD NEW'"
    _ARITY = {"set": 2, "get": 1, "del": 1, "cas": 3}

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    @classmethod
    def parse(cls, command: str) -> list[str]:
        """Split a command into words; raises ValueError if it is malformed.

        Words are separated by white space; keys and values cannot contain it.
        """
        words = command.split()
        if not words or words[0] not in cls._ARITY or len(words) != cls._ARITY[words[0]] + 1:
            raise ValueError(f"bad command {command!r}: {cls.USAGE}")
        return words

    def on_apply(self, index: int, command: str) -> str:
        try:
            op, key, *args = self.parse(command)
        except ValueError as error:
            return f"error: {error}"
        if op == "set":
            self.data[key] = args[0]
            return "ok"
        if op == "get":
            return self.data.get(key, "(nil)")
        if op == "del":
            return "ok" if self.data.pop(key, None) is not None else "(nil)"
        old, new = args
        if self.data.get(key) == old:
            self.data[key] = new
            return "ok"
        return f"failed: {key} is {self.data.get(key, '(nil)')}"

    def on_snapshot_save(self) -> str:
        return json.dumps(self.data, sort_keys=True)

    def on_snapshot_load(self, data: str) -> None:
        self.data = json.loads(data)


class FSMCaller:
    """Applies committed entries to the state machine, in order."""

    def __init__(self, state_machine: StateMachine, log: LogManager, outbox: Outbox) -> None:
        self.state_machine = state_machine
        self._log = log
        self._outbox = outbox
        self.last_applied = 0
        # Client commands applied since this node (re)started: (index, command).
        self.applied: list[tuple[int, str]] = []

    def on_committed(self, commit_index: int) -> None:
        """Apply every entry up to `commit_index` not applied yet."""
        for index in range(self.last_applied + 1, commit_index + 1):
            entry = self._log.entry(index)
            if entry.kind is EntryKind.DATA:
                assert entry.command is not None
                result = self.state_machine.on_apply(index, entry.command)
                self.applied.append((index, entry.command))
                self._outbox.applied(index, entry.term, entry.command, result)
                self._outbox.note(
                    "StateMachine", "apply", f"applies {index}: {entry.command} -> {result}"
                )
            elif entry.kind is EntryKind.CONFIGURATION:
                assert entry.configuration is not None
                self.state_machine.on_configuration_committed(entry.configuration)
            self.last_applied = index

    def save_snapshot(self, configuration: Configuration) -> Snapshot:
        """The state machine's state as of the last applied entry."""
        index = self.last_applied
        term = self._log.term_at(index)
        assert term is not None, "the last applied entry is not in the log"
        data = self.state_machine.on_snapshot_save()
        return Snapshot(last_index=index, last_term=term, configuration=configuration, data=data)

    def load_snapshot(self, snapshot: Snapshot) -> None:
        """Replace the state machine's state with the snapshot's (Raft §7)."""
        self.state_machine.on_snapshot_load(snapshot.data)
        self.last_applied = snapshot.last_index
