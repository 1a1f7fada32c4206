"""What a sequence diagram shows, found in a trace: messages, lifeline marks, network notes.

`collect` pairs each send with its delivery or loss (they share
`TraceEvent.msg_id`) and picks out the node events worth a mark (elections,
crashes, truncations, the leader's commits) and the network changes drawn
across the whole diagram. No geometry here: that is `layout`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from raft.configuration import sort_ids
from sim.engine.trace import TraceEvent

COLOURS = {
    "PreVote": "#8e44ad",
    "RequestVote": "#d35400",
    "AppendEntries": "#1f618d",
    "Heartbeat": "#909497",
    "InstallSnapshot": "#117864",
    "TimeoutNow": "#a93226",
}
OTHER_COLOUR = "#2c3e50"
LOST_COLOUR = "#c0392b"

_SEND = re.compile(r"^(\S+) -> (\S+) (.*?)(?: \(duplicated\))?, lands in ")
_LOST_AT_SEND = re.compile(r"^(\S+) -> (\S+) (.*) lost: (.*)$")
_TERM = re.compile(r"term (\d+)")


@attrs.frozen
class Arrow:
    """A message: sent by `src` at `sent`; `ended` is when it landed, was lost, or None."""

    src: str
    dst: str
    sent: int
    ended: int | None
    text: str
    fate: str  # "delivered", "lost" or "in flight"
    why: str = ""
    # Positions in the trace of the send and of its end: they order the rows
    # of events that happen at the same moment.
    sent_seq: int = 0
    ended_seq: int | None = None
    msg_id: int | None = None


@attrs.frozen
class Mark:
    """A node event drawn as a dot on its lifeline."""

    node: str
    time: int
    label: str
    colour: str
    text: str
    seq: int = 0


@attrs.frozen
class Band:
    """A network change (or a safety violation), drawn across the whole diagram."""

    time: int
    label: str
    colour: str
    seq: int = 0


def family_of(text: str) -> str:
    """The message family that picks the colour: PreVote, RequestVote, AppendEntries, ..."""
    name = text.split("(", 1)[0]
    for family in COLOURS:
        if name.startswith(family) or (family == "RequestVote" and name.startswith("Vote")):
            return family
    return name


def short_label(text: str) -> str:
    """A message's description shortened for an arrow: `Append 2..4`, `vote yes t3`."""
    name, _, rest = text.partition("(")
    rest = rest.rstrip(")")
    term = _TERM.search(rest)
    t = f" t{term[1]}" if term else ""
    if name in ("PreVote", "RequestVote"):
        return f"{name}{t}"
    if name in ("PreVoteResponse", "VoteResponse"):
        verdict = "yes" if "granted" in rest else "no"
        return f"{'pre-vote' if name.startswith('Pre') else 'vote'} {verdict}{t}"
    if name == "AppendEntries":
        span = re.search(r"entr(?:y|ies) ([\d.]+)", rest)
        prev = re.search(r"prev (\S+),", rest)
        if span:
            return f"Append {span[1]}{t}"
        return f"Append probe {prev[1] if prev else ''}{t}".replace("  ", " ")
    if name == "AppendEntriesResponse":
        match = re.search(r"match (\d+)", rest)
        return f"ok {match[1]}" if match else "reject"
    if name == "Heartbeat":
        return "hb"
    if name == "HeartbeatResponse":
        return "hb ok"
    if name == "InstallSnapshot":
        span = re.search(r"up to (\S+)\)?$", rest)
        return f"Snapshot to {span[1] if span else '?'}{t}"
    if name == "InstallSnapshotResponse":
        match = re.search(r"match (\d+)", rest)
        return f"snapshot ok {match[1]}" if match else "snapshot refused"
    return f"{name}{t}"


def _mark(event: TraceEvent, seq: int) -> Mark | None:
    """The lifeline mark for a node event, if it is one worth drawing."""
    text, node, kind = event.text, event.node, event.kind
    if node is None:
        return None
    if kind == "leader" and "becomes leader" in text:
        term = _TERM.search(text)
        return Mark(
            node, event.time_us, f"leader t{term[1] if term else '?'}", "#1e8449", text, seq
        )
    if kind == "campaign":
        term = _TERM.search(text)
        return Mark(
            node, event.time_us, f"candidate t{term[1] if term else '?'}", "#b9770e", text, seq
        )
    if kind == "timeout" and event.component == "Node":
        return Mark(node, event.time_us, "timeout", "#7d6608", text, seq)
    if kind == "crash":
        return Mark(node, event.time_us, "CRASH", LOST_COLOUR, text, seq)
    if kind == "restart":
        return Mark(node, event.time_us, "restart", "#1f618d", text, seq)
    if kind == "truncate":
        span = re.search(r"deletes entries (\S+)", text)
        label = f"truncate {span[1].rstrip('(').strip()}" if span else "truncate"
        return Mark(node, event.time_us, label, "#6c3483", text, seq)
    later = {"snapshot": "snapshot", "transfer": "transfer", "membership": "configuration"}
    if kind in later:
        return Mark(node, event.time_us, later[kind], "#5b2c6f", text, seq)
    if kind == "check-quorum":
        return Mark(node, event.time_us, "no quorum: steps down", LOST_COLOUR, text, seq)
    if kind == "commit" and "-> committed" in text:
        index = re.search(r"(?:index|indexes) (\S+) acknowledged", text)
        return Mark(
            node, event.time_us, f"commit {index[1] if index else ''}", "#117a65", text, seq
        )
    return None


def _band(event: TraceEvent, seq: int) -> Band | None:
    if event.kind in ("partition", "heal", "cut"):
        return Band(event.time_us, event.text, "#7f8c8d", seq)
    if event.kind == "violation":
        return Band(event.time_us, event.text, LOST_COLOUR, seq)
    return None


def collect(
    events: Iterable[TraceEvent],
) -> tuple[list[Arrow], list[Mark], list[Band], list[str]]:
    """Arrows, marks and bands found in `events`, and the nodes they involve."""
    sends: dict[int, tuple[str, str, int, str, int]] = {}
    ends: dict[int, tuple[int, str, str, int]] = {}
    arrows: list[Arrow] = []
    marks: list[Mark] = []
    bands: list[Band] = []
    crashes: dict[str, list[tuple[int, int]]] = {}
    nodes: set[str] = set()
    for seq, event in enumerate(events):
        if event.node is not None:
            nodes.add(event.node)
        if event.kind == "send" and event.msg_id is not None:
            match = _SEND.match(event.text)
            if match:
                sends[event.msg_id] = (match[1], match[2], event.time_us, match[3], seq)
                nodes.update((match[1], match[2]))
        elif event.kind == "receive" and event.msg_id is not None:
            ends[event.msg_id] = (event.time_us, "delivered", "", seq)
        elif event.kind == "drop":
            match = _LOST_AT_SEND.match(event.text)
            if event.msg_id is not None:
                ends[event.msg_id] = (event.time_us, "lost", match[4] if match else "", seq)
            elif match:  # refused at the sender: partitioned or cut
                arrows.append(
                    Arrow(match[1], match[2], event.time_us, event.time_us, match[3], "lost",
                          match[4], sent_seq=seq, ended_seq=seq)
                )  # fmt: skip
        else:
            if event.kind == "crash" and event.node is not None:
                crashes.setdefault(event.node, []).append((event.time_us, seq))
            mark = _mark(event, seq)
            if mark is not None:
                marks.append(mark)
            band = _band(event, seq)
            if band is not None:
                bands.append(band)
    for msg_id, (src, dst, sent, text, sent_seq) in sends.items():
        if msg_id in ends:
            ended, fate, why, ended_seq = ends[msg_id]
            arrows.append(
                Arrow(src, dst, sent, ended, text, fate, why, sent_seq, ended_seq, msg_id)
            )
            continue
        # Messages in flight to a node that crashes are lost with it.
        crash = next((c for c in crashes.get(dst, []) if c[1] > sent_seq), None)
        if crash is not None:
            arrows.append(
                Arrow(
                    src,
                    dst,
                    sent,
                    crash[0],
                    text,
                    "lost",
                    f"{dst} crashed",
                    sent_seq,
                    crash[1],
                    msg_id,
                )
            )
        else:
            arrows.append(
                Arrow(src, dst, sent, None, text, "in flight", "", sent_seq, None, msg_id)
            )
    arrows.sort(key=lambda a: (a.sent, a.ended if a.ended is not None else a.sent))
    return arrows, marks, bands, sort_ids(nodes)
