"""A client history from the handles `Cluster.submit` and `Cluster.read` returned.

Each handle knows when its client asked and when the answer came
(`invoked_at`, `settled_at`, and for a get or a cas through the log
`result_at`), so the history of a story or a notebook can be judged for
linearizability after the fact, with the exact moments a client saw:

- a submit refused at once, or a read refused or failed: it had no effect (fail);
- a set, append or del committed: ok when the leader learned it committed;
  a get or a cas: ok when the leader's state machine answered, with that answer;
- a submit whose leader lost its leadership or crashed first, still pending,
  or committed with no answer yet: unknown (it may take effect later);
- a read answered: ok, with the value read; a read still pending: it has not
  returned, so it counts as having had no effect (fail).
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.check.history import History, Recorder, reply_value
from sim.views import ReadHandle, SubmitHandle

US = 1_000_000


def history_of(named: Iterable[tuple[str, SubmitHandle | ReadHandle]], now: float) -> History:
    """The history of these client operations, each named by its client, as of `now`."""
    ops = sorted(named, key=lambda item: item[1].invoked_at)
    recorder = Recorder()
    end = round(now * US)
    for name, handle in ops:
        invoked = round(handle.invoked_at * US)
        if isinstance(handle, ReadHandle):
            op_id = recorder.invoke(name, "get", handle.key, time=invoked)
            _close_read(recorder, op_id, handle, end)
        else:
            op_id = recorder.invoke_command(name, handle.command, invoked)
            _close_submit(recorder, op_id, handle, end)
    return recorder.history()


def _close_read(recorder: Recorder, op_id: int, handle: ReadHandle, end: int) -> None:
    settled = handle.settled_at
    if handle.outcome == "done" and settled is not None:
        recorder.ok(op_id, handle.value, round(settled * US))
    else:
        recorder.fail(op_id, end if settled is None else round(settled * US))


def _close_submit(recorder: Recorder, op_id: int, handle: SubmitHandle, end: int) -> None:
    kind = handle.command.split()[0]
    settled = handle.settled_at
    if handle.outcome == "refused":
        recorder.fail(op_id, end if settled is None else round(settled * US))
    elif handle.outcome == "committed" and kind in ("set", "append") and settled is not None:
        recorder.ok(op_id, None, round(settled * US))
    elif handle.outcome == "committed" and handle.result is not None:
        # The client hears when the leader has both learned of the commit and applied it.
        answered = max(t for t in (handle.result_at, settled) if t is not None)
        recorder.ok(op_id, reply_value(kind, handle.result), round(answered * US))
    else:
        recorder.unknown(op_id, end)
