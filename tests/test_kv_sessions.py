"""The key-value store's append and its client sessions (exactly-once writes)."""

from __future__ import annotations

import pytest

from raft import KVStateMachine
from sim.cluster import Cluster


def test_append_concatenates_and_absent_key_counts_as_empty():
    kv = KVStateMachine()
    assert kv.on_apply(1, "append x a") == "ok"
    assert kv.on_apply(2, "append x b") == "ok"
    assert kv.data == {"x": "ab"}
    assert kv.on_apply(3, "get x") == "ab"


def test_session_header_is_parsed_and_validated():
    assert KVStateMachine.split_session("c1#5: set x 1") == ("c1", 5, "set x 1")
    assert KVStateMachine.split_session("set x 1") == (None, None, "set x 1")
    assert KVStateMachine.parse("c2#7: append k v") == ["append", "k", "v"]
    with pytest.raises(ValueError, match="session header"):
        KVStateMachine.parse("c1#x: set x 1")
    with pytest.raises(ValueError, match="bad command"):
        KVStateMachine.parse("c1#1: set x")


def test_duplicate_is_not_applied_again_and_gets_the_remembered_answer():
    kv = KVStateMachine()
    assert kv.on_apply(1, "c1#1: append x a") == "ok"
    assert kv.apply_note is None
    assert kv.on_apply(2, "c1#1: append x a") == "ok"
    assert "duplicate" in kv.apply_note
    assert kv.data == {"x": "a"}
    assert kv.on_apply(3, "c2#1: cas x a b") == "ok"
    # c2 retries its cas: a second apply would fail (x is b), the session answers "ok".
    assert kv.on_apply(4, "c2#1: cas x a b") == "ok"
    assert kv.on_apply(5, "c1#2: append x c") == "ok"
    assert kv.data == {"x": "bc"}
    # Commands without a header are never deduplicated.
    kv.on_apply(6, "append y z")
    kv.on_apply(7, "append y z")
    assert kv.data["y"] == "zz"


def test_sessions_go_into_snapshots():
    kv = KVStateMachine()
    kv.on_apply(1, "c1#3: set x 1")
    restored = KVStateMachine()
    restored.on_snapshot_load(kv.on_snapshot_save())
    assert restored.data == {"x": "1"}
    assert restored.sessions == {"c1": (3, "ok")}
    assert restored.on_apply(2, "c1#3: set x 2") == "ok"
    assert restored.data == {"x": "1"}


def test_a_committed_duplicate_applies_once_on_every_node_and_the_trace_says_so():
    c = Cluster(3, seed=1)
    c.run_until(lambda c: c.leader is not None)
    c.run(0.2)
    first = c.submit("c1#1: append x a")
    again = c.submit("c1#1: append x a")
    c.run(0.2)
    assert first.result == "ok" and again.result == "ok"
    for view in c.nodes.values():
        assert view.data == {"x": "a"}
    assert any(e.kind == "duplicate" and "not applied again" in e.text for e in c.trace)
