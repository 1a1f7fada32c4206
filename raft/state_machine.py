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

import functools
import json

from raft.configuration import Configuration
from raft.log_entry import EntryKind
from raft.log_manager import LogManager
from raft.outputs import Outbox
from raft.snapshot import Snapshot

# KVStateMachine's answer for an absent key (`get`, `del`, a failed `cas`).
NIL = "(nil)"


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
    """A key-value store: `set K V`, `get K`, `del K`, `append K V`, `cas K OLD NEW`.

    `append K V` concatenates V to K's value (an absent key counts as "", like
    Redis APPEND) and answers "ok".

    Client sessions (exactly-once writes, thesis §6.3): a command may start
    with a header naming its client and the client's sequence number, as in
    `c1#5: set x 1`. The store remembers, per client, the last sequence number
    applied and its answer. A command whose number is not above the last one
    is a duplicate (a client retried after a timeout, and both copies were
    committed): it is not applied again and gets the remembered answer.
    Sessions are part of the state, so they go into snapshots.
    """

    USAGE = (
        "expected 'set KEY VALUE', 'get KEY', 'del KEY', 'append KEY VALUE' or "
        "'cas KEY OLD NEW', optionally after a session header 'CLIENT#SEQ:'"
    )
    _ARITY = {"set": 2, "get": 1, "del": 1, "append": 2, "cas": 3}

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        # Per client: (last sequence number applied, its answer).
        self.sessions: dict[str, tuple[int, str]] = {}
        # One sentence about the last `on_apply` when it was not a plain apply.
        self.apply_note: str | None = None

    @staticmethod
    def split_session(command: str) -> tuple[str | None, int | None, str]:
        """Split off a session header: "c1#5: set x 1" -> ("c1", 5, "set x 1").

        A command without a header gives (None, None, command). Raises
        ValueError for a malformed header.
        """
        head, sep, rest = command.partition(":")
        if not sep or "#" not in head or " " in head.strip():
            return None, None, command
        client, _, seq = head.strip().partition("#")
        if not client or not (seq.isascii() and seq.isdigit()):
            raise ValueError(
                f"bad session header {head!r} in {command!r}: expected CLIENT#SEQ, e.g. 'c1#5:'"
            )
        return client, int(seq), rest.strip()

    @classmethod
    def parse(cls, command: str) -> list[str]:
        """Split a command into words; raises ValueError if it is malformed.

        A session header, if any, is left out. Words are separated by white
        space; keys and values cannot contain it.
        """
        return list(cls.decode(command)[2])

    @classmethod
    @functools.lru_cache(maxsize=1024)
    def decode(cls, command: str) -> tuple[str | None, int | None, tuple[str, ...]]:
        """(client, sequence number, words) of a command; raises ValueError if malformed.

        Cached: every node applies every command, so a cluster of five would
        otherwise parse each one five times. (Errors are not cached.)
        """
        client, seq, body = cls.split_session(command)
        words = tuple(body.split())
        if not words or words[0] not in cls._ARITY or len(words) != cls._ARITY[words[0]] + 1:
            raise ValueError(f"bad command {command!r}: {cls.USAGE}")
        return client, seq, words

    def read(self, key: str) -> str:
        """The answer a `get KEY` would give now, without going through the log."""
        return self.data.get(key, NIL)

    def on_apply(self, index: int, command: str) -> str:
        self.apply_note = None
        try:
            client, seq, (op, key, *args) = self.decode(command)
        except ValueError as error:
            return f"error: {error}"
        if client is not None and seq is not None:
            last = self.sessions.get(client)
            if last is not None and seq <= last[0]:
                self.apply_note = (
                    f"skips {index}: {command}: a duplicate (client {client} is at seq "
                    f"{last[0]}), not applied again; answers {last[1]!r} as before"
                )
                return last[1]
        result = self._apply(op, key, args)
        if client is not None and seq is not None:
            self.sessions[client] = (seq, result)
        return result

    def _apply(self, op: str, key: str, args: list[str]) -> str:
        if op == "set":
            self.data[key] = args[0]
            return "ok"
        if op == "get":
            return self.read(key)
        if op == "del":
            return "ok" if self.data.pop(key, None) is not None else NIL
        if op == "append":
            self.data[key] = self.data.get(key, "") + args[0]
            return "ok"
        old, new = args
        if self.data.get(key) == old:
            self.data[key] = new
            return "ok"
        return f"failed: {key} is {self.data.get(key, NIL)}"

    def on_snapshot_save(self) -> str:
        sessions = {c: [seq, result] for c, (seq, result) in self.sessions.items()}
        return json.dumps({"data": self.data, "sessions": sessions}, sort_keys=True)

    def on_snapshot_load(self, data: str) -> None:
        state = json.loads(data)
        if set(state) != {"data", "sessions"}:
            state = {"data": state, "sessions": {}}  # a bare store, without sessions
        self.data = dict(state["data"])
        self.sessions = {c: (int(seq), result) for c, (seq, result) in state["sessions"].items()}


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
                special = getattr(self.state_machine, "apply_note", None)
                if special:
                    self._outbox.note("StateMachine", "duplicate", special)
                else:
                    self._outbox.note(
                        "StateMachine",
                        "apply",
                        "applies {}: {} -> {}",
                        (index, entry.command, result),
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
