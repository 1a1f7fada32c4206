"""Why there is or is no leader, in plain sentences (the other half of sim/show/explain.py).

`explain_leader(world)` says who leads and since when, who follows and who
is down or cut off; or, with no leader, who campaigns (candidates and
pre-votes, with their tallies), who refuses and why (the voters' recent
refusal notes in the trace), who still trusts a leader that has gone quiet,
how the network is split, and when each election timer fires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from raft import Role
from raft.election import IGNORES, REFUSES
from raft.messages import VoteResponse
from raft.node import WON
from raft.quorum import VoteResult
from sim.engine.trace import args_of, text_of
from sim.show.explain import Explanation, between, fallen_leaders, id_set, ms, names

if TYPE_CHECKING:
    from sim.engine.observer import WorldView

REFUSALS_SHOWN = 6


# -- why is there (no) leader ---------------------------------------------------------


def explain_leader(world: WorldView) -> Explanation:
    """Why there is or is no leader: who leads, campaigns, refuses, is cut off; the timers."""
    leader = world.leader()
    return Explanation(tuple(_with_leader(world, leader) if leader else _no_leader(world)))


def _with_leader(world: WorldView, leader: str) -> list[str]:
    node = world.nodes[leader]
    # The note of its win: (term, voters granted, quorum).
    row = next(
        (
            e
            for e in reversed(world.trace.rows)
            if e[7] == WON and e[2] == leader and args_of(e)[0] == node.term
        ),
        None,
    )
    how = ""
    if row is not None:
        _, granted, quorum = args_of(row)
        how = f": it won at {row[1] / 1e6:.4f}s with votes from {granted} (quorum {quorum})"
    lines = [
        f"{leader} is the leader of term {node.term}{how}.",
        f"It has committed up to {node.commit_index}; its log ends at {node.log.last_index}.",
    ]
    conf = node.configuration
    reached = [leader]
    for peer in (m for m in conf.members if m != leader):
        other = world.nodes[peer]
        if not world.running[peer]:
            lines.append(f"- {peer} is down (crashed).")
        elif blocked := between(world, leader, peer):
            lines.append(f"- {peer} is cut off from {leader} ({blocked}); {_state(world, peer)}.")
        elif other.term > node.term:
            lines.append(
                f"- {peer} is in term {other.term}, ahead of {leader}: its next message makes "
                f"{leader} step down (Raft §5.1)."
            )
        else:
            reached.append(peer)
            heard = other.election.heard_at
            if other.leader_id != leader or heard is None:
                lines.append(f"- {peer} is in term {other.term}, not yet told that {leader} won.")
            else:
                ago = ms(world.now - heard)
                lines.append(f"- {peer} follows {leader} in term {other.term}, heard {ago} ago.")
    for n, other in world.nodes.items():
        if n not in conf.members and world.running[n] and other.role is Role.LEADER:
            lines.append(f"{n} {_state(world, n)}.")
    if world.settings.raft.check_quorum:
        lines.append(
            f"With CheckQuorum, {leader} steps down if fewer than a quorum ({conf.quorum_text()}) "
            f"answer within an election timeout; it reaches {names(reached)}."
        )
    elif conf.vote_result(dict.fromkeys(reached, True)) is not VoteResult.WON:
        lines.append(
            f"{leader} cannot reach a quorum ({conf.quorum_text()}), so it commits nothing new; "
            "without CheckQuorum it stays leader until it hears of a higher term."
        )
    if node.transfer.target:
        lines.append(f"{leader} is handing leadership over to {node.transfer.target}.")
    return lines


def _state(world: WorldView, node_id: str) -> str:
    node = world.nodes[node_id]
    if node.role is Role.CANDIDATE:
        return f"it campaigns for term {node.term}"
    if node.role is Role.LEADER:
        return f"it still believes it leads term {node.term}, but nothing it appends can commit"
    if node.pre_voting:
        return f"it runs a pre-vote for term {node.term + 1}, which cannot win from there"
    if node.election_deadline is None or not node.is_voter:
        return f"a {node.role.value} in term {node.term}"
    return f"its election timer fires in {ms(node.election_deadline - world.now)}"


def _no_leader(world: WorldView) -> list[str]:
    lines = ["There is no leader now.", *fallen_leaders(world)]
    running = [n for n in world.nodes if world.running[n]]
    campaigns = [n for n in running if world.nodes[n].role is Role.CANDIDATE]
    terms = [world.nodes[n].term for n in campaigns]
    campaigns += [n for n in running if world.nodes[n].pre_voting]
    lines += [_tally(world, n) for n in campaigns]
    for term in sorted({t for t in terms if terms.count(t) > 1}):
        who = [n for n in campaigns if world.nodes[n].term == term]
        lines.append(
            f"Split vote: {names(who)} campaign for term {term} at once, each with its own "
            "vote; if none reaches a quorum, the next timeout starts a new election."
        )
    if not campaigns:
        lines.append("Nobody campaigns right now.")
    if refusals := _recent_refusals(world):
        lines += ["Recent refusals (from the trace):", *(f"- {text}" for text in refusals)]
    low = world.settings.raft.election_timeout[0]
    for n in running:
        heard, was = world.nodes[n].election.heard_at, world.nodes[n].leader_id
        if was and heard is not None and world.now - heard < low and n not in campaigns:
            lines.append(
                f"{n} heard from leader {was} {ms(world.now - heard)} ago: it refuses pre-votes "
                f"until {ms(low)} pass without news."
            )
    if down := [n for n in world.nodes if not world.running[n]]:
        lines.append(f"Down: {names(down)}.")
    lines += _network(world, running)
    timers = sorted(
        (deadline, n)
        for n in running
        if world.nodes[n].is_voter and (deadline := world.nodes[n].election_deadline) is not None
    )
    if timers:
        said = ", ".join(f"{n} in {ms(t - world.now)}" for t, n in timers)
        lines.append(f"Next election timeouts: {said}.")
    return lines


def _tally(world: WorldView, node_id: str) -> str:
    node = world.nodes[node_id]
    conf, votes = node.configuration, node.election.votes
    if node.role is Role.CANDIDATE:
        what = f"{node_id} is a candidate for term {node.term}"
    else:
        what = f"{node_id} runs a pre-vote for term {node.term + 1} (its term stays {node.term})"
    if node.election.campaign_seq is not None:
        return f"{what}: it asks for votes once its term and vote are on its disk."
    said = (
        f"{what}: granted by {names(v for v in conf.all_voters if votes.get(v) is True)}; "
        f"refused by {names(v for v in conf.all_voters if votes.get(v) is False)}"
    )
    if conf.vote_result(votes) is VoteResult.LOST:
        return (
            f"{said}; it needs {conf.quorum_text()}, so it has lost and waits for a timeout "
            "(answers after that are not counted)."
        )
    answers = {  # answers on their way back to the candidate
        f.message.src: "granted" if f.message.granted else "refused"
        for f in world.network.in_flight.values()
        if isinstance(f.message, VoteResponse)
        and f.message.dst == node_id
        and f.message.pre_vote == (node.role is not Role.CANDIDATE)
        and (f.message.pre_vote or f.message.term == node.term)
    }
    waiting, coming = [], []
    for v in (v for v in conf.all_voters if v not in votes):
        why = between(world, node_id, v) or (None if world.running[v] else "down")
        if v in answers and not why:
            coming.append(f"{v} {answers[v]}")
        else:
            waiting.append(f"{v} ({why})" if why else v)
    said += f"; no answer yet from {names(waiting)}" if waiting else ""
    said += f"; answers in flight: {names(coming)}" if coming else ""
    return f"{said}; it needs {conf.quorum_text()}."


def _recent_refusals(world: WorldView) -> list[str]:
    """The latest refusal of each voter to each candidate, within the last election timeout."""
    since = world.now - world.settings.raft.election_timeout[1]
    found: dict[tuple[str, str], str] = {}
    for row in reversed(world.trace.rows):
        if row[1] < since:
            break
        # A refusal's arguments: (vote or pre-vote, candidate, ...); an ignored request's:
        # (candidate, ...).
        template = row[7]
        if template == REFUSES:
            candidate = args_of(row)[1]
        elif template == IGNORES:
            candidate = args_of(row)[0]
        else:
            continue
        found.setdefault((row[2], candidate), text_of(row))
    return list(reversed(found.values()))[-REFUSALS_SHOWN:]


def _network(world: WorldView, running: list[str]) -> list[str]:
    lines = []
    if groups := world.network.groups:
        # The voters as the most up-to-date running node sees them (a next leader's, likely).
        best = max(
            running,
            key=lambda n: (world.nodes[n].log.last_term, world.nodes[n].log.last_index),
            default=None,
        )
        conf = world.nodes[best].configuration if best else world.initial_configuration
        able = [
            g
            for g in groups
            if conf.vote_result({n: True for n in g if n in running}) is VoteResult.WON
        ]
        where = (
            f"only {' or '.join(map(id_set, able))} can elect a leader"
            if able
            else "no group holds a quorum of running voters, so no one can win until it heals"
        )
        lines.append(
            f"The network is partitioned {' | '.join(map(id_set, groups))}; with voters {conf} "
            f"({conf.quorum_text()} needed), {where}."
        )
    if world.network.cuts:
        cuts = ", ".join(f"{a} -> {b}" for a, b in sorted(world.network.cuts))
        lines.append(f"Cut links (one way): {cuts}.")
    return lines
