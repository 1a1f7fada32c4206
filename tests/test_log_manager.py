"""The LogManager (raft/log_manager.py) and the on-disk image (raft/storage.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raft import (
    AppendLog,
    Configuration,
    DurableState,
    EntryKind,
    LogEntry,
    LogManager,
    Persist,
    SaveHardState,
    TruncateLog,
)
from raft.outputs import Outbox

deterministic = settings(derandomize=True, max_examples=200, deadline=None)


def entries(first: int, terms: list[int]) -> tuple[LogEntry, ...]:
    return tuple(
        LogEntry(index=first + i, term=t, command=f"set k{first + i} {t}")
        for i, t in enumerate(terms)
    )


def conf_entry(index: int, term: int, voters: list[str]) -> LogEntry:
    return LogEntry(
        index=index,
        term=term,
        kind=EntryKind.CONFIGURATION,
        configuration=Configuration(voters=voters),
    )


def log_with(terms: list[int]) -> tuple[LogManager, Outbox]:
    outbox = Outbox("n1")
    log = LogManager(outbox)
    if terms:
        log.append(entries(1, terms))
    return log, outbox


# A log's terms never decrease.
monotone_terms = st.lists(st.integers(min_value=1, max_value=4), max_size=12).map(sorted)
nonempty_monotone_terms = st.lists(
    st.integers(min_value=1, max_value=4), min_size=1, max_size=12
).map(sorted)


# -- reading -----------------------------------------------------------------


def test_append_extends_the_log_and_queues_one_disk_write():
    log, outbox = log_with([])
    seq = log.append(entries(1, [1, 1, 2]))
    assert log.last_index == 3 and log.last_term == 2
    assert [e.index for e in log.entries()] == [1, 2, 3]
    persists = [o for o in outbox.take() if isinstance(o, Persist)]
    assert len(persists) == 1
    assert persists[0].seq == seq
    assert persists[0].write == AppendLog(entries(1, [1, 1, 2]))


def test_append_that_does_not_follow_the_last_entry_is_refused():
    log, _ = log_with([1, 1])
    with pytest.raises(AssertionError):
        log.append(entries(4, [1]))
    with pytest.raises(AssertionError):
        log.append(entries(2, [1]))
    assert log.last_index == 2


def test_term_at_knows_index_zero_and_nothing_past_the_end():
    log, _ = log_with([1, 2, 2])
    assert log.term_at(0) == 0
    assert [log.term_at(i) for i in (1, 2, 3)] == [1, 2, 2]
    assert log.term_at(4) is None


def test_slice_is_inclusive_at_both_ends():
    log, _ = log_with([1, 1, 2, 3, 3])
    assert [e.index for e in log.slice(2, 4)] == [2, 3, 4]
    assert [e.index for e in log.slice(5, 5)] == [5]
    assert log.slice(2, 4) == entries(2, [1, 2, 3])


def test_entries_returns_a_copy():
    log, _ = log_with([1, 1])
    copy = log.entries()
    copy.clear()
    assert log.last_index == 2


@deterministic
@given(terms=nonempty_monotone_terms, data=st.data())
def test_first_index_of_term_finds_the_start_of_the_run(terms, data):
    log, _ = log_with(terms)
    index = data.draw(st.integers(min_value=1, max_value=len(terms)))
    expected = min(i for i in range(1, len(terms) + 1) if terms[i - 1] == terms[index - 1])
    assert log.first_index_of_term(index) == expected


@deterministic
@given(
    terms=monotone_terms,
    term=st.integers(min_value=0, max_value=5),
    at_most=st.integers(min_value=0, max_value=14),
)
def test_last_index_of_term_finds_the_last_entry_of_that_term_up_to_a_bound(terms, term, at_most):
    log, _ = log_with(terms)
    matches = [i for i in range(1, min(at_most, len(terms)) + 1) if terms[i - 1] == term]
    assert log.last_index_of_term(term, at_most) == (max(matches) if matches else None)


def test_first_and_last_index_of_term_examples():
    log, _ = log_with([1, 1, 2, 2, 2, 3])
    assert log.first_index_of_term(4) == 3
    assert log.first_index_of_term(1) == 1
    assert log.first_index_of_term(6) == 6
    assert log.last_index_of_term(2, 6) == 5
    assert log.last_index_of_term(2, 4) == 4
    assert log.last_index_of_term(3, 5) is None
    assert log.last_index_of_term(4, 6) is None


@deterministic
@given(
    terms=monotone_terms,
    their_term=st.integers(min_value=0, max_value=5),
    their_index=st.integers(min_value=0, max_value=14),
)
def test_is_up_to_date_compares_last_terms_then_lengths(terms, their_term, their_index):
    log, _ = log_with(terms)
    our_term = terms[-1] if terms else 0
    # Raft §5.4.1: a later last term wins; with equal last terms the longer log wins.
    expected = their_term > our_term if their_term != our_term else their_index >= len(terms)
    assert log.is_up_to_date(their_term, their_index) is expected


def test_is_up_to_date_examples_of_both_branches():
    log, _ = log_with([1, 1, 3])
    # Different last terms: the term decides, whatever the lengths.
    assert log.is_up_to_date(4, 1)
    assert not log.is_up_to_date(2, 10)
    # Same last term: the length decides; equal is up-to-date.
    assert log.is_up_to_date(3, 3)
    assert log.is_up_to_date(3, 5)
    assert not log.is_up_to_date(3, 2)


# -- durability ---------------------------------------------------------------


def test_entries_loaded_from_disk_are_durable():
    log = LogManager(Outbox("n1"), DurableState(entries=list(entries(1, [1, 2]))))
    assert log.durable_index == 2
    assert log.last_index == 2


def test_on_flushed_raises_durable_index_in_write_order():
    log, _ = log_with([])
    first = log.append(entries(1, [1, 1]))
    second = log.append(entries(3, [1]))
    assert log.durable_index == 0
    assert log.on_flushed(first) is True
    assert log.durable_index == 2
    assert log.on_flushed(first) is False
    assert log.on_flushed(second) is True
    assert log.durable_index == 3


def test_on_flushed_of_a_later_seq_covers_every_earlier_write():
    log, _ = log_with([])
    log.append(entries(1, [1]))
    last = log.append(entries(2, [1, 1]))
    assert log.on_flushed(last) is True
    assert log.durable_index == 3


def test_truncate_suffix_lowers_durable_index_at_once():
    log, outbox = log_with([1, 1, 1, 1])
    outbox.take()
    log.on_flushed(1)
    assert log.durable_index == 4
    log.truncate_suffix(3)
    assert log.last_index == 2
    assert log.durable_index == 2
    assert [o.write for o in outbox.take() if isinstance(o, Persist)] == [TruncateLog(3)]


def test_an_old_write_becoming_durable_never_vouches_for_replacement_entries():
    log, _ = log_with([])
    old = log.append(entries(1, [1, 1, 1, 1]))  # entries 1..4 of term 1, not yet durable
    log.truncate_suffix(3)  # a new leader replaces 3..4
    replacement = log.append(entries(3, [2, 2]))
    assert log.on_flushed(old) is True
    # The old write put 1..4 of term 1 on disk; only 1..2 of it are still ours.
    assert log.durable_index == 2
    assert log.on_flushed(replacement) is True
    assert log.durable_index == 4
    assert [e.term for e in log.entries()] == [1, 1, 2, 2]


def test_a_write_entirely_removed_by_truncation_makes_nothing_durable():
    log, _ = log_with([1])
    log.on_flushed(1)
    doomed = log.append(entries(2, [1, 1]))
    log.truncate_suffix(2)
    assert log.on_flushed(doomed) is False
    assert log.durable_index == 1


def test_configuration_is_the_latest_in_the_log_committed_or_not():
    default = Configuration(voters=["n1", "n2", "n3"])
    log, _ = log_with([])
    assert log.configuration(default) == default
    log.append((conf_entry(1, 1, ["n1", "n2"]),))
    log.append(entries(2, [1]))
    log.append((conf_entry(3, 1, ["n1", "n2", "n4"]),))
    assert log.configuration(default) == Configuration(voters=["n1", "n2", "n4"])


def test_configuration_after_truncation_falls_back_to_the_one_before():
    default = Configuration(voters=["n1", "n2", "n3"])
    log, _ = log_with([])
    log.append((conf_entry(1, 1, ["n1", "n2"]),))
    log.append(entries(2, [1]))
    log.append((conf_entry(3, 1, ["n1", "n2", "n4"]),))
    log.truncate_suffix(3)
    assert log.configuration(default) == Configuration(voters=["n1", "n2"])
    log.truncate_suffix(1)
    assert log.configuration(default) == default


def test_configuration_entries_loaded_from_disk_are_found():
    default = Configuration(voters=["n1", "n2", "n3"])
    loaded = (conf_entry(1, 1, ["n1", "n5"]), *entries(2, [1]))
    log = LogManager(Outbox("n1"), DurableState(entries=list(loaded)))
    assert log.configuration(default) == Configuration(voters=["n1", "n5"])


# -- DurableState ---------------------------------------------------------------


def test_durable_state_saves_term_and_vote():
    disk = DurableState()
    disk.apply(SaveHardState(3, "n2"))
    assert (disk.term, disk.voted_for) == (3, "n2")
    disk.apply(SaveHardState(4, None))
    assert (disk.term, disk.voted_for) == (4, None)


def test_durable_state_appends_entries_that_follow():
    disk = DurableState()
    disk.apply(AppendLog(entries(1, [1, 1])))
    disk.apply(AppendLog(entries(3, [2])))
    assert [(e.index, e.term) for e in disk.entries] == [(1, 1), (2, 1), (3, 2)]


def test_durable_state_truncates_a_suffix():
    disk = DurableState(entries=list(entries(1, [1, 1, 2, 2])))
    disk.apply(TruncateLog(3))
    assert [e.index for e in disk.entries] == [1, 2]
    disk.apply(AppendLog(entries(3, [3])))
    assert [(e.index, e.term) for e in disk.entries] == [(1, 1), (2, 1), (3, 3)]


@pytest.mark.parametrize("first", [1, 2, 4])
def test_durable_state_refuses_an_append_at_the_wrong_index(first):
    disk = DurableState(entries=list(entries(1, [1, 1])))
    with pytest.raises(AssertionError, match="expected 3"):
        disk.apply(AppendLog(entries(first, [1])))
    assert len(disk.entries) == 2


def test_durable_state_copy_is_independent():
    disk = DurableState(term=2, voted_for="n1", entries=list(entries(1, [1])))
    copy = disk.copy()
    copy.apply(AppendLog(entries(2, [2])))
    copy.apply(SaveHardState(5, None))
    assert (disk.term, disk.voted_for, len(disk.entries)) == (2, "n1", 1)
