"""Quorum arithmetic (raft/quorum.py) and configurations (raft/configuration.py).

The quorum functions are checked against brute-force oracles written as
plainly as the paper states the rules (Raft §5.2, §5.3, §5.4; joint consensus
§6), the way etcd checks its quorum package against a dumb implementation.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raft import quorum
from raft.configuration import Configuration, sort_ids
from raft.quorum import VoteResult

POOL = [f"n{i}" for i in range(1, 10)]

voter_sets = st.sets(st.sampled_from(POOL), min_size=1, max_size=7)
# Acks and votes may name nodes that are not voters: those must not count.
acks = st.dictionaries(st.sampled_from(POOL), st.integers(min_value=0, max_value=12))
votes = st.dictionaries(st.sampled_from(POOL), st.booleans())

deterministic = settings(derandomize=True, max_examples=300, deadline=None)


# -- oracles: the rules as the paper words them ----------------------------


def oracle_committed(voters: set[str], acked: dict[str, int]) -> int:
    """The largest index that more than half of the voters have acknowledged."""
    best = 0
    for candidate in range(0, 13):
        holders = [v for v in voters if acked.get(v, 0) >= candidate]
        if len(holders) * 2 > len(voters):
            best = candidate
    return best


def oracle_joint_committed(old: set[str], new: set[str], acked: dict[str, int]) -> int:
    """The largest index that more than half of `old` AND more than half of `new` acknowledged."""
    best = 0
    for candidate in range(0, 13):
        in_old = [v for v in old if acked.get(v, 0) >= candidate]
        in_new = [v for v in new if acked.get(v, 0) >= candidate]
        if len(in_old) * 2 > len(old) and len(in_new) * 2 > len(new):
            best = candidate
    return best


def oracle_vote(voters: set[str], cast: dict[str, bool]) -> VoteResult:
    """Won with more than half granted; lost once a majority can no longer be reached."""
    granted = sum(1 for v in voters if cast.get(v) is True)
    undecided = sum(1 for v in voters if v not in cast)
    if granted * 2 > len(voters):
        return VoteResult.WON
    if (granted + undecided) * 2 <= len(voters):
        return VoteResult.LOST
    return VoteResult.PENDING


def oracle_joint_vote(old: set[str], new: set[str], cast: dict[str, bool]) -> VoteResult:
    """Won only if both sets elect; lost as soon as either set can no longer elect."""
    results = {oracle_vote(old, cast), oracle_vote(new, cast)}
    if VoteResult.LOST in results:
        return VoteResult.LOST
    if results == {VoteResult.WON}:
        return VoteResult.WON
    return VoteResult.PENDING


# -- quorum functions ------------------------------------------------------


@deterministic
@given(voters=voter_sets, acked=acks)
def test_committed_index_is_the_largest_index_a_majority_acknowledged(voters, acked):
    assert quorum.committed_index(voters, acked) == oracle_committed(voters, acked)


@deterministic
@given(old=voter_sets, new=voter_sets, acked=acks)
def test_joint_committed_index_needs_a_majority_of_both_voter_sets(old, new, acked):
    assert quorum.joint_committed_index(old, new, acked) == oracle_joint_committed(old, new, acked)


@deterministic
@given(voters=voter_sets, cast=votes)
def test_vote_result_is_won_lost_or_pending_as_a_majority_decides(voters, cast):
    assert quorum.vote_result(voters, cast) is oracle_vote(voters, cast)


@deterministic
@given(old=voter_sets, new=voter_sets, cast=votes)
def test_joint_vote_result_needs_both_voter_sets_to_elect(old, new, cast):
    assert quorum.joint_vote_result(old, new, cast) is oracle_joint_vote(old, new, cast)


def test_committed_index_examples_from_the_paper_shape():
    # Five voters, three have index 7: 7 is committed even though n1 has 9.
    acked = {"n1": 9, "n2": 7, "n3": 7, "n4": 2}
    assert quorum.committed_index(["n1", "n2", "n3", "n4", "n5"], acked) == 7
    # Four voters need three acknowledgements; n3 sent none, so only index 2 has three.
    assert quorum.committed_index(["n1", "n2", "n3", "n4"], {"n1": 9, "n2": 7, "n4": 2}) == 2


def test_an_even_split_of_votes_is_not_a_win():
    voters = ["n1", "n2", "n3", "n4"]
    assert quorum.vote_result(voters, {"n1": True, "n2": True}) is VoteResult.PENDING
    assert (
        quorum.vote_result(voters, {"n1": True, "n2": True, "n3": False, "n4": False})
        is VoteResult.LOST
    )
    assert quorum.vote_result(voters, {"n1": True, "n2": True, "n3": True}) is VoteResult.WON


def test_votes_and_acks_of_non_voters_do_not_count():
    assert quorum.vote_result(["n1", "n2", "n3"], {"n1": True, "n7": True, "n8": True}) is (
        VoteResult.PENDING
    )
    assert quorum.committed_index(["n1", "n2", "n3"], {"n1": 5, "n7": 5, "n8": 5}) == 0


def test_quorum_functions_reject_an_empty_voter_set():
    with pytest.raises(ValueError, match="voter"):
        quorum.committed_index([], {"n1": 3})
    with pytest.raises(ValueError, match="voter"):
        quorum.vote_result([], {"n1": True})


def test_majority_is_more_than_half():
    assert [quorum.majority(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


# -- Configuration ---------------------------------------------------------


@deterministic
@given(old=voter_sets, new=voter_sets, acked=acks, cast=votes)
def test_joint_configuration_decides_with_both_voter_sets(old, new, acked, cast):
    conf = Configuration(voters=new, old_voters=old)
    assert conf.is_joint
    assert conf.committed_index(acked) == oracle_joint_committed(old, new, acked)
    assert conf.vote_result(cast) is oracle_joint_vote(old, new, cast)


@deterministic
@given(voters=voter_sets, acked=acks, cast=votes)
def test_stable_configuration_decides_with_its_voters(voters, acked, cast):
    conf = Configuration(voters=voters)
    assert not conf.is_joint
    assert conf.committed_index(acked) == oracle_committed(voters, acked)
    assert conf.vote_result(cast) is oracle_vote(voters, cast)


def test_learners_never_count_towards_a_commit_or_an_election():
    conf = Configuration(voters=["n1", "n2", "n3"], learners=["n4", "n5"])
    assert conf.committed_index({"n1": 4, "n4": 4, "n5": 4}) == 0
    assert conf.vote_result({"n1": True, "n4": True, "n5": True}) is VoteResult.PENDING
    assert not conf.is_voter("n4")
    assert conf.members == ("n1", "n2", "n3", "n4", "n5")


def test_a_joint_configuration_in_which_only_the_new_set_agrees_does_not_commit():
    conf = Configuration(voters=["n4", "n5", "n6"], old_voters=["n1", "n2", "n3"])
    assert conf.committed_index({"n4": 8, "n5": 8, "n6": 8, "n1": 3}) == 0
    assert conf.committed_index({"n4": 8, "n5": 8, "n1": 3, "n2": 5}) == 3


def test_node_ids_sort_naturally():
    assert sort_ids(["n10", "n2", "n1", "n9"]) == ["n1", "n2", "n9", "n10"]
    conf = Configuration(voters=["n10", "n2", "n1", "n2"])
    assert conf.voters == ("n1", "n2", "n10")
    joint = Configuration(voters=["n11", "n3"], old_voters=["n10", "n1"], learners=["n20", "n4"])
    assert joint.all_voters == ("n1", "n3", "n10", "n11")
    assert joint.members == ("n1", "n3", "n4", "n10", "n11", "n20")


def test_configuration_order_does_not_depend_on_how_it_was_built():
    assert Configuration(voters=["n3", "n1", "n2"]) == Configuration(voters=("n1", "n2", "n3"))


def test_str_of_a_stable_configuration_lists_its_voters():
    assert str(Configuration(voters=["n2", "n10", "n1"])) == "{n1,n2,n10}"


def test_str_of_a_joint_configuration_shows_old_then_new():
    conf = Configuration(voters=["n1", "n2", "n4"], old_voters=["n3", "n1", "n2"])
    assert str(conf) == "{n1,n2,n3} + {n1,n2,n4}"


def test_str_of_a_configuration_with_learners_names_them():
    assert str(Configuration(voters=["n1"], learners=["n3", "n2"])) == "{n1} learners {n2,n3}"
    joint = Configuration(voters=["n2"], old_voters=["n1"], learners=["n3"])
    assert str(joint) == "{n1} + {n2} learners {n3}"


def test_quorum_text_names_both_quorums_while_joint():
    assert Configuration(voters=["n1", "n2", "n3"]).quorum_text() == "2 of 3"
    joint = Configuration(voters=["n1", "n2", "n3", "n4", "n5"], old_voters=["n1", "n2", "n3"])
    assert joint.quorum_text() == "2 of 3 (old) and 3 of 5 (new)"
