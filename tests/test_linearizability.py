"""The linearizability checker, against hand-made histories and a brute-force oracle.

The classic cases come from the literature on testing distributed stores
(Herlihy & Wing's register examples, Jepsen's anomalies): a stale read after a
completed write, a read from the future, concurrent writes that may land in
either order, cas races, unknown outcomes, append order. Random small
histories are compared with an oracle that tries every order by brute force.
"""

from __future__ import annotations

import itertools
import random

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.check.history import History, Operation, Outcome, Recorder, reply_value, synthetic_history
from sim.check.linearizability import Verdict, check, check_key
from sim.check.linearizability.search import Search

MS = 1_000  # microseconds


class Script:
    """Writes a history by hand: `op("c1", "set x 1", 0, 100)`; times in ms."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def op(
        self,
        client: str,
        command: str,
        start: float,
        end: float | None,
        value: str | bool | None = None,
        outcome: str = "ok",
    ) -> Operation:
        kind, key, *args = command.split()
        op = Operation(
            id=len(self.ops),
            client=client,
            kind=kind,
            key=key,
            args=args,
            invoked=int(start * MS),
            completed=None if end is None else int(end * MS),
            outcome=Outcome(outcome),
            value=value,
        )
        self.ops.append(op)
        return op

    def history(self) -> History:
        return History(self.ops)


# -- the brute-force oracle ----------------------------------------------------


def fits_real_time(order: list[Operation]) -> bool:
    """No operation comes after one that was invoked after it completed."""
    for i, earlier in enumerate(order):
        for later in order[i + 1 :]:
            if later.outcome is Outcome.OK and later.completed < earlier.invoked:
                return False
    return True


def replays(order: list[Operation]) -> bool:
    """Run `order` on a plain dict; True if every ok operation returns what it reported."""
    store: dict[str, str] = {}
    for op in order:
        current = store.get(op.key)
        seen = op.outcome is Outcome.OK
        if op.kind == "get":
            if seen and current != op.value:
                return False
        elif op.kind == "set":
            store[op.key] = op.args[0]
        elif op.kind == "append":
            store[op.key] = (current or "") + op.args[0]
        elif op.kind == "del":
            if seen and op.value is not None and op.value != (current is not None):
                return False
            store.pop(op.key, None)
        else:
            swapped = current == op.args[0]
            if seen and op.value != swapped:
                return False
            if swapped:
                store[op.key] = op.args[1]
    return True


def brute_force(ops: list[Operation]) -> bool:
    """Linearizable by exhaustion: some subset of the unknown operations plus all
    the ok ones, in some order that fits real time, replays correctly."""
    known = [op for op in ops if op.outcome is Outcome.OK]
    unknown = [op for op in ops if op.outcome is Outcome.UNKNOWN]
    for size in range(len(unknown) + 1):
        for chosen in itertools.combinations(unknown, size):
            for order in itertools.permutations(known + list(chosen)):
                if fits_real_time(list(order)) and replays(list(order)):
                    return True
    return False


def assert_witness(history: History, result) -> None:
    """Each key's linearization holds all its ok operations, fits real time and replays."""
    by_key = history.by_key()
    for key_result in result.keys:
        order = list(key_result.linearization)
        known = {op.id for op in by_key[key_result.key] if op.outcome is Outcome.OK}
        assert known <= {op.id for op in order}
        assert all(op.outcome is not Outcome.FAIL for op in order)
        assert fits_real_time(order)
        assert replays(order)


# -- classic cases ---------------------------------------------------------------


def test_empty_history_is_linearizable():
    assert check(History(())).verdict is Verdict.LINEARIZABLE


def test_sequential_history_that_reads_its_writes_is_linearizable():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "get x", 20, 30, "1")
    s.op("c1", "append x 2", 40, 50)
    s.op("c2", "get x", 60, 70, "12")
    s.op("c1", "del x", 80, 90, True)
    s.op("c2", "get x", 100, 110, None)
    result = check(s.history())
    assert result.ok
    assert_witness(s.history(), result)


def test_stale_read_after_a_completed_write_is_a_violation():
    s = Script()
    s.op("c1", "set x 1", 0, 100)
    s.op("c3", "set x 2", 300, 400)
    s.op("c2", "get x", 450, 520, "1")
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    (violation,) = result.violations
    assert violation.key == "x"
    assert violation.culprit.client == "c2"
    assert violation.values_at_culprit[0][0] == "2"
    assert violation.sentences[1:] == (
        "The longest order found that fits places 2 of them: set x 1 (c1), set x 2 (c3); "
        "leaving x = 2.",
        "get x returned 1 (client c2, 0.45 s to 0.52 s), so it needs x = 1, but every order "
        "that fits real time has x = 2 then: set x 2 (client c3) completed at 0.40 s, before "
        "this get began at 0.45 s.",
    )


def test_concurrent_writes_may_land_in_either_order():
    for seen in ("1", "2"):
        s = Script()
        s.op("c1", "set x 1", 0, 100)
        s.op("c2", "set x 2", 10, 90)
        s.op("c3", "get x", 200, 210, seen)
        s.op("c3", "get x", 220, 230, seen)
        assert check(s.history()).ok, seen


def test_value_cannot_flip_back_without_a_write():
    s = Script()
    s.op("c1", "set x 1", 0, 100)
    s.op("c2", "set x 2", 10, 90)
    s.op("c3", "get x", 200, 210, "2")
    s.op("c4", "get x", 220, 230, "1")
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    assert result.violations[0].culprit.client == "c4"


def test_read_concurrent_with_a_write_may_see_old_or_new():
    for seen in (None, "1"):
        s = Script()
        s.op("c1", "set x 1", 0, 100)
        s.op("c2", "get x", 50, 60, seen)
        assert check(s.history()).ok


def test_read_from_the_future_is_a_violation():
    s = Script()
    s.op("c2", "get x", 0, 300, "5")
    s.op("c1", "set x 5", 600, 700)
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    text = result.violations[0].text
    assert "get x returned 5" in text
    assert "x is absent at first and nothing wrote it before" in text
    assert "The only writes of 5 began after this get returned" in text
    assert "set x 5 (client c1) was invoked at 0.60 s" in text


def test_read_of_a_value_never_written_is_a_violation():
    s = Script()
    s.op("c1", "set x 1", 0, 100)
    s.op("c2", "get x", 200, 300, "7")
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    assert "No operation ever wrote 7 to x." in result.violations[0].text


def test_two_concurrent_cas_from_the_same_value_cannot_both_succeed():
    s = Script()
    s.op("c1", "set x 0", 0, 10)
    s.op("c2", "cas x 0 1", 20, 100, True)
    s.op("c3", "cas x 0 2", 30, 90, True)
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    text = result.violations[0].text
    assert "cas x 0 2 succeeded (client c3, 0.03 s to 0.09 s), so it needs x = 0" in text
    assert "where the search tried it, x = 1 then" in text
    assert "x = 1 was left by cas x 0 1 -> ok (client c2, 0.02 s to 0.10 s), which overlaps" in text
    assert "cas x 0 1 -> ok (client c2) needs x = 0 but finds x = 2" in text


def test_cas_race_with_one_winner_is_linearizable():
    s = Script()
    s.op("c1", "set x 0", 0, 10)
    s.op("c2", "cas x 0 1", 20, 100, True)
    s.op("c3", "cas x 0 2", 30, 90, False)
    s.op("c1", "get x", 200, 210, "1")
    assert check(s.history()).ok


def test_cas_chain_orders_concurrent_operations():
    # Only 0 -> 1 -> 2 works, although c3 invoked its cas first.
    s = Script()
    s.op("c1", "set x 0", 0, 10)
    s.op("c3", "cas x 1 2", 20, 100, True)
    s.op("c2", "cas x 0 1", 30, 90, True)
    s.op("c1", "get x", 200, 210, "2")
    assert check(s.history()).ok


def test_failed_cas_is_a_read():
    s = Script()
    s.op("c1", "set x 0", 0, 10)
    s.op("c2", "cas x 0 1", 20, 30, False)
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    assert "cas x 0 1 failed (client c2, 0.02 s to 0.03 s), so it needs x other than 0" in (
        result.violations[0].text
    )


def test_unknown_write_may_take_effect():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "set x 3", 20, 30, outcome="unknown")
    s.op("c1", "get x", 500, 510, "3")
    assert check(s.history()).ok


def test_unknown_write_may_take_effect_long_after_its_client_gave_up():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "set x 3", 20, 30, outcome="unknown")
    s.op("c1", "get x", 500, 510, "1")
    s.op("c1", "get x", 900, 910, "3")
    assert check(s.history()).ok


def test_unknown_write_may_never_take_effect():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "append x 3", 20, None, outcome="unknown")
    s.op("c1", "get x", 500, 510, "1")
    assert check(s.history()).ok


def test_unknown_write_takes_effect_at_most_once():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "set x 3", 20, None, outcome="unknown")
    s.op("c1", "get x", 100, 110, "3")
    s.op("c1", "set x 1", 200, 210)
    s.op("c1", "get x", 300, 310, "3")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_unknown_write_cannot_take_effect_before_it_was_invoked():
    s = Script()
    s.op("c1", "get x", 0, 10, "3")
    s.op("c2", "set x 3", 20, None, outcome="unknown")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_two_unknown_appends_may_both_apply_in_either_order():
    for seen in ("ab", "ba", "a", "b", None):
        s = Script()
        s.op("c1", "append x a", 0, None, outcome="unknown")
        s.op("c2", "append x b", 5, None, outcome="unknown")
        s.op("c3", "get x", 100, 110, seen)
        assert check(s.history()).ok, seen


def test_unknown_append_may_take_effect_before_a_known_append():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "append x 2", 20, None, outcome="unknown")
    s.op("c3", "append x 3", 100, 110)
    s.op("c1", "get x", 200, 210, "123")
    assert check(s.history()).ok


def test_unknown_write_may_be_what_makes_a_cas_fail():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "set x 2", 20, None, outcome="unknown")
    s.op("c3", "cas x 1 5", 100, 110, False)
    assert check(s.history()).ok
    s.op("c3", "get x", 200, 210, "1")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_unknown_write_may_be_what_a_del_found():
    s = Script()
    s.op("c2", "append x 2", 0, None, outcome="unknown")
    s.op("c3", "del x", 100, 110, True)
    s.op("c3", "get x", 200, 210, None)
    assert check(s.history()).ok


def test_unknown_cas_operations_may_chain():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "cas x 2 3", 20, None, outcome="unknown")
    s.op("c3", "cas x 1 2", 30, None, outcome="unknown")
    s.op("c1", "get x", 200, 210, "3")
    assert check(s.history()).ok


def test_identical_unknown_appends_count_separately():
    for seen, ok in (("aa", True), ("a", True), ("aaa", False)):
        s = Script()
        s.op("c1", "append x a", 0, None, outcome="unknown")
        s.op("c2", "append x a", 5, None, outcome="unknown")
        s.op("c3", "get x", 100, 110, seen)
        assert check(s.history()).ok is ok, seen


def test_order_that_saves_an_unknown_write_for_later_is_still_explored():
    # Trying set x 1 first needs the unknown set x 1 right away to explain the
    # first get, and then nothing explains the last one. The order that works
    # (append, set, get, set 3, unknown set 1, get) reaches the same value
    # with the unknown write still unused: it must not be taken as a repeat.
    s = Script()
    s.op("c1", "set x 1", 0, 100)
    s.op("c9", "set x 1", 5, None, outcome="unknown")
    s.op("c2", "append x 2", 10, 90)
    s.op("c3", "get x", 95, 120, "1")
    s.op("c1", "set x 3", 200, 210)
    s.op("c3", "get x", 300, 310, "1")
    result = check(s.history())
    assert result.ok
    assert [op.id for op in result.keys[0].linearization] == [2, 0, 3, 4, 1, 5]


def test_failed_write_has_no_effect():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "set x 9", 20, 30, outcome="fail")
    s.op("c1", "get x", 100, 110, "9")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_concurrent_appends_land_in_either_order():
    for seen in ("ab", "ba"):
        s = Script()
        s.op("c1", "append x a", 0, 100)
        s.op("c2", "append x b", 10, 90)
        s.op("c3", "get x", 200, 210, seen)
        assert check(s.history()).ok, seen


def test_sequential_appends_keep_their_order():
    s = Script()
    s.op("c1", "append x a", 0, 10)
    s.op("c2", "append x b", 20, 30)
    s.op("c3", "get x", 40, 50, "ba")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_completed_append_is_never_lost():
    s = Script()
    s.op("c1", "append x a", 0, 10)
    s.op("c2", "append x b", 5, 30)
    s.op("c3", "get x", 40, 50, "a")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_del_reports_whether_the_key_existed():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c2", "del x", 20, 30, True)
    s.op("c3", "del x", 40, 50, False)
    s.op("c3", "get x", 60, 70, None)
    assert check(s.history()).ok
    s.op("c1", "del x", 80, 90, True)
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    assert "del x found x (client c1, 0.08 s to 0.09 s), so it needs x present" in (
        result.violations[0].text
    )


def test_an_operation_invoked_as_another_completes_overlaps_it():
    # Equal times: c2's get began the very microsecond c1's set completed.
    s = Script()
    s.op("c0", "set x 0", 0, 1)
    s.op("c1", "set x 1", 10, 100)
    s.op("c2", "get x", 100, 110, "0")
    assert check(s.history()).ok
    s.op("c3", "get x", 111, 120, "0")
    assert check(s.history()).verdict is Verdict.VIOLATION


def test_keys_are_checked_independently():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c1", "set y 1", 0, 10)
    s.op("c2", "get y", 20, 30, "1")
    s.op("c2", "get x", 40, 50, "2")
    result = check(s.history())
    assert result.verdict is Verdict.VIOLATION
    assert [v.key for v in result.violations] == ["x"]
    assert [k.ok for k in result.keys] == [False, True]
    assert "Not linearizable: 1 of 2 keys have no valid order." in result.explain()


def test_check_key_refuses_operations_on_other_keys():
    s = Script()
    s.op("c1", "set y 1", 0, 10)
    with pytest.raises(ValueError, match="on key 'y', not 'x'"):
        check_key("x", s.ops)


def test_search_gives_up_when_over_budget():
    s = Script()
    for c in range(6):
        s.op(f"c{c}", f"append x {c}", 0, 100)
    s.op("c9", "get x", 200, 210, "543210")
    result = check(s.history(), max_states=5)
    assert result.verdict is Verdict.GAVE_UP
    assert not result.ok
    assert result.states == 5
    assert "Gave up on key 'x' after 5 states without deciding" in result.explain()
    assert check(s.history()).ok


def test_linearizable_result_explains_itself():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    result = check(s.history())
    assert result.explain().startswith("Linearizable: each of the 1 keys (1 operations)")
    assert str(result) == result.explain()


def test_violation_names_the_longest_prefix():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c1", "get x", 20, 30, "1")
    s.op("c1", "append x 2", 40, 50)
    s.op("c2", "get x", 60, 70, "1")
    violation = check(s.history()).violations[0]
    assert [op.id for op in violation.prefix] == [0, 1, 2]
    assert violation.value == "12"
    assert violation.culprit.id == 3
    assert violation.involved[0] == violation.culprit


def test_progress_is_reported_per_key():
    s = Script()
    s.op("c1", "set x 1", 0, 10)
    s.op("c1", "set y 1", 0, 10)
    calls = []
    check(s.history(), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]


# -- the history model ------------------------------------------------------------


def test_recorder_builds_a_history_in_invocation_order():
    rec = Recorder()
    a = rec.invoke("c1", "set", "x", "1", time=0)
    b = rec.invoke_command("c2", "cas x 1 2", time=5)
    c = rec.invoke("c3", "get", "x", time=6)
    d = rec.invoke("c4", "del", "x", time=7)
    rec.ok(b, True, time=20)
    rec.ok(a, None, time=10)
    rec.fail(d, time=9)
    assert rec.pending() == [c]
    history = rec.history()
    assert [op.id for op in history] == [0, 1, 2, 3]
    assert history.operations[2].outcome is Outcome.UNKNOWN
    assert history.operations[2].completed is None
    assert history.operations[1].command == "cas x 1 2"
    assert history.operations[1].describe() == "cas x 1 2 -> ok"
    assert history.operations[3].describe() == "del x (failed: no effect)"


def test_recorder_rejects_mistakes():
    rec = Recorder()
    with pytest.raises(ValueError, match="takes 1 argument"):
        rec.invoke("c1", "set", "x", time=0)
    with pytest.raises(ValueError):
        rec.invoke("c1", "incr", "x", time=0)
    with pytest.raises(ValueError, match="expected an operation and a key"):
        rec.invoke_command("c1", "get", time=0)
    op = rec.invoke("c1", "get", "x", time=10)
    with pytest.raises(ValueError, match="completed at 5 before it was invoked at 10"):
        rec.ok(op, "1", time=5)
    with pytest.raises(ValueError, match="an ok cas returns bool"):
        rec.ok(rec.invoke("c1", "cas", "x", "1", "2", time=10), "ok", time=20)
    rec.unknown(op, time=30)
    with pytest.raises(ValueError, match="already completed"):
        rec.ok(op, "1", time=40)
    with pytest.raises(ValueError, match="never invoked"):
        rec.fail(99, time=40)


def test_history_round_trips_through_json():
    history = synthetic_history(random.Random(3), operations=200, unknown=0.1, fail=0.1)
    assert History.from_json(history.to_json()) == history
    assert History.from_json(history.to_json(indent=2)) == history


def test_history_json_errors_are_clear():
    with pytest.raises(ValueError, match="not JSON"):
        History.from_json("{")
    with pytest.raises(ValueError, match="not a raftsim-history document"):
        History.from_json("[]")
    with pytest.raises(ValueError, match="'operations' must be a list"):
        History.from_json('{"format": "raftsim-history", "version": 1}')
    with pytest.raises(ValueError, match="bad operation"):
        History.from_json('{"format": "raftsim-history", "version": 1, "operations": [{}]}')


def test_duplicate_operation_ids_are_refused():
    s = Script()
    op = s.op("c1", "set x 1", 0, 10)
    with pytest.raises(ValueError, match="appears twice"):
        History([op, op])


def test_state_machine_replies_translate_to_values():
    assert reply_value("get", "(nil)") is None
    assert reply_value("get", "7") == "7"
    assert reply_value("set", "ok") is None
    assert reply_value("del", "ok") is True
    assert reply_value("del", "(nil)") is False
    assert reply_value("cas", "ok") is True
    assert reply_value("cas", "failed: x is 3") is False
    with pytest.raises(ValueError):
        reply_value("get", "error: bad command")


# -- random histories against the oracle ---------------------------------------------

VALUES = ["1", "2"]


@st.composite
def operations(draw, truthful: bool) -> list[Operation]:
    """A few operations on keys x and y with small, overlapping intervals.

    Truthful: results come from executing the operations at random instants
    inside their intervals (then one result may be damaged). Otherwise the
    results are random.
    """
    count = draw(st.integers(1, 6))
    plans = []
    for n in range(count):
        kind = draw(st.sampled_from(["get", "set", "append", "del", "cas"]))
        key = draw(st.sampled_from(["x", "x", "y"]))
        arity = {"get": 0, "del": 0, "set": 1, "append": 1, "cas": 2}[kind]
        args = tuple(draw(st.sampled_from(VALUES)) for _ in range(arity))
        start = draw(st.integers(0, 8))
        end = start + draw(st.integers(0, 6))
        outcome = draw(st.sampled_from([Outcome.OK] * 3 + [Outcome.UNKNOWN, Outcome.FAIL]))
        plans.append([n, kind, key, args, start, end, outcome])
    results: dict[int, object] = {}
    if truthful:
        instants = {p[0]: draw(st.integers(p[4], p[5])) for p in plans}
        applies = {n: plans[n][6] is Outcome.OK or draw(st.booleans()) for n in range(count)}
        store: dict[str, str] = {}
        for n in sorted(range(count), key=lambda n: (instants[n], n)):
            _, kind, key, args, *_ = plans[n]
            if plans[n][6] is not Outcome.FAIL and applies[n]:
                results[n] = _execute(store, kind, key, args)
        if draw(st.booleans()):
            results[draw(st.integers(0, count - 1))] = None
    ops = []
    for n, kind, key, args, start, end, outcome in plans:
        value = None
        if outcome is Outcome.OK:
            random_value = {
                "get": st.sampled_from([None, "1", "2", "11", "12", "21"]),
                "del": st.sampled_from([None, True, False]),
                "cas": st.booleans(),
            }.get(kind, st.none())
            value = results[n] if n in results else draw(random_value)
            if kind == "cas" and value is None:
                value = draw(st.booleans())
        ops.append(
            Operation(
                id=n,
                client=f"c{n}",
                kind=kind,
                key=key,
                args=args,
                invoked=start,
                completed=None if outcome is Outcome.UNKNOWN and draw(st.booleans()) else end,
                outcome=outcome,
                value=value,
            )
        )
    return ops


def _execute(store: dict[str, str], kind: str, key: str, args: tuple[str, ...]):
    """Apply one operation to a plain dict; returns what an ok operation reports."""
    current = store.get(key)
    if kind == "get":
        return current
    if kind == "set":
        store[key] = args[0]
        return None
    if kind == "append":
        store[key] = (current or "") + args[0]
        return None
    if kind == "del":
        store.pop(key, None)
        return current is not None
    if current == args[0]:
        store[key] = args[1]
        return True
    return False


ORACLE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=600,
    suppress_health_check=[HealthCheck.too_slow],
)


@ORACLE
@given(st.booleans().flatmap(operations))
def test_checker_agrees_with_brute_force_on_small_histories(ops):
    history = History(ops)
    result = check(history)
    expected = brute_force(ops)
    assert result.ok == expected, history.to_json(indent=1)
    if expected:
        assert_witness(history, result)
    else:
        assert result.violations


# -- a long history, linearizable by construction ---------------------------------------


def test_long_generated_history_is_accepted():
    history = synthetic_history(
        random.Random(2024), operations=3000, keys=5, clients=6, unknown=0.03, fail=0.02
    )
    result = check(history)
    assert result.verdict is Verdict.LINEARIZABLE, result.explain()
    assert_witness(history, result)


def test_long_history_with_one_bad_read_is_rejected_and_explained():
    history = synthetic_history(random.Random(5), operations=400, keys=2, clients=4, unknown=0)
    ops = list(history.operations)
    end = max(op.completed for op in ops if op.completed is not None) + 1
    bad = Operation(
        id=len(ops),
        client="c9",
        kind="get",
        key="k0",
        args=(),
        invoked=end,
        completed=end + 10,
        outcome=Outcome.OK,
        value="never-written",
    )
    result = check(History([*ops, bad]))
    assert result.verdict is Verdict.VIOLATION
    (violation,) = result.violations
    assert violation.culprit == bad
    assert len(violation.prefix) == sum(op.key == "k0" and op.outcome is Outcome.OK for op in ops)
    assert "No operation ever wrote never-written to k0." in violation.text


# -- pruning states with no future ---------------------------------------------------


def test_a_get_of_the_empty_key_overlapped_by_many_appends_is_placed_first_at_once():
    # Found by the fuzzer: the search used to try every order of the appends
    # (each leaving another value, so the memo could not help) before placing
    # the get first, and gave up after a million states.
    s = Script()
    for c in range(12):
        s.op(f"c{c}", f"append x +{c}", 100, 10_000)
    s.op("c20", "get x", 150, 9_000, None)
    s.op("c21", "get x", 10_100, 10_200, "".join(f"+{c}" for c in range(12)))
    result = check(s.history(), max_states=5_000)
    assert result.verdict is Verdict.LINEARIZABLE, result.explain()
    assert result.states < 100
    assert_witness(s.history(), result)


@pytest.mark.parametrize("seed", range(40))
def test_pruning_never_changes_a_verdict(seed: int):
    # Random histories with appends and gets that overlap a lot, some of them
    # damaged: the pruned search decides what the unpruned one decides.
    rng = random.Random(seed)
    history = synthetic_history(
        rng,
        operations=60,
        keys=2,
        clients=5,
        values=3,
        kinds=(("get", 0.4), ("append", 0.3), ("set", 0.1), ("cas", 0.15), ("del", 0.05)),
        unknown=0.1,
        latency_us=(100, 20_000),
    )
    ops = list(history.operations)
    if seed % 2:  # damage one read
        i = next(
            (i for i, op in enumerate(ops) if op.kind == "get" and op.outcome is Outcome.OK), None
        )
        if i is not None:
            ops[i] = attrs.evolve(ops[i], value=(ops[i].value or "") + "?")
    for key in {op.key for op in ops}:
        mine = [op for op in ops if op.key == key]
        pruned, full = Search(mine, 200_000), Search(mine, 200_000, prune=False)
        pruned.run()
        full.run()
        if full.verdict is not Verdict.GAVE_UP:
            assert pruned.verdict is full.verdict
        assert pruned.states <= full.states or full.verdict is Verdict.GAVE_UP
