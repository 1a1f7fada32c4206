"""Carrying out a schedule's faults on a cluster, as it is at that moment.

Theory of operation: a schedule says what happens, not to whom (see
sim.check.fuzz.schedule). `Faults` resolves each fault against the cluster
when it runs ("the leader" becomes n3; a restart whose crash did nothing does
nothing) and carries it out through the Recorder, which writes every call
down as the scenario step that makes it.

It also keeps the faults' own clock between the schedule's actions
(`advance`): the end of what a triggered fault set off (a restart, a heal)
and the tripwires of triggered faults that are armed. While a wire is armed
the cluster runs step by step until it trips (sim.check.fuzz.tripwire); the
fault then fires `delay_us` later, and a fresh wire is armed for the rest of
the window, so that a window of leader churn deposes leader after leader.
Every wait is still written as a plain `run DURATION`, exact to the
microsecond, and nothing is ever done in the middle of an instant (a fault
fires at least 1us after its event), so a replay that runs the same
durations in one go makes the same run.

Who owns the network: the last partition shape applied (a timed shape, an
isolated leader, a joint split) is the one its window's end undoes; a newer
shape replaces an older one. Loss, duplication, latency and reordering are
owned per setting, and held links per link, the same way.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

from sim.check.fuzz.recorder import Recorder, duration_text
from sim.check.fuzz.schedule import (
    BASE_LATENCY_US,
    HOLDS,
    NETWORK,
    SHAPES,
    TRIGGERED,
    Action,
    Schedule,
    Trigger,
)
from sim.check.fuzz.tripwire import Tripwire
from sim.cluster import Cluster

# What a node did, for the notes of a triggered fault's steps.
DID = {
    "ack": "acknowledged entries",
    "elected": "was elected",
    "commit": "committed",
    "lead": "was elected or committed",
    "joint": "adopted a joint configuration",
    "timeout-now": "sent TimeoutNow",
}


class Faults:
    """Carries out the fault actions of one schedule on one cluster."""

    def __init__(self, schedule: Schedule, cluster: Cluster, recorder: Recorder) -> None:
        self.schedule = schedule
        self.cluster = cluster
        self.rec = recorder
        self.crashed_by: dict[int, str] = {}  # crash action number -> the node it crashed
        self.shape: int | None = None  # the action whose partition shape is in force
        self.network_owner: dict[str, int] = {}  # setting -> the action that changed it
        self.hold_owner: dict[tuple[str, str], int] = {}  # held link -> the action holding it
        self.armed: list[tuple[Action, Tripwire]] = []
        self._hit = False  # some armed wire tripped since the last look
        # Consequences of triggered faults, due later: (time, order, action number, step).
        self._due: list[tuple[int, int, int, Callable[[], None]]] = []
        self._order = 0

    def ids(self) -> list[str]:
        return list(self.cluster.nodes)

    def up(self) -> list[str]:
        return [n for n, view in self.cluster.nodes.items() if view.running]

    # -- the clock between actions ------------------------------------------------

    def advance(self, target_us: int) -> None:
        """Run to `target_us`, firing tripped faults and their consequences on the way."""
        rec = self.rec
        while True:
            if self._fire_tripped():
                continue
            due = self._due[0][0] if self._due else None
            stop = target_us if due is None or due > target_us else due
            if self.armed:
                rec.run_watching(stop, self._tripped)
                if self._tripped():
                    continue
            else:
                rec.run_to(stop)
            if due is None or due > stop:
                return
            _, _, number, step = heapq.heappop(self._due)
            outer, rec.number = rec.number, number
            step()
            rec.number = outer

    def _later(self, at_us: int, number: int, step: Callable[[], None]) -> None:
        self._order += 1
        heapq.heappush(self._due, (at_us, self._order, number, step))

    def _tripped(self) -> bool:
        return self._hit

    def _trip(self) -> None:
        self._hit = True

    def _fire_tripped(self) -> bool:
        if not self._hit:
            return False
        self._hit = False
        fired = [(action, wire) for action, wire in self.armed if wire.tripped is not None]
        for action, wire in fired:
            self._disarm(wire)
            if self.rec.now_us < action.at_us + action.lasts_us:
                self._arm(action)  # still armed: the next such event sets it off again
            node, at_us = wire.tripped  # type: ignore[misc]
            trigger: Trigger = action.value  # type: ignore[assignment]
            when = max(at_us + trigger.delay_us, self.rec.now_us + 1)
            self._later(when, action.number, self._responder(action, node, wire))
        return bool(fired)

    def _arm(self, action: Action) -> None:
        trigger: Trigger = action.value  # type: ignore[assignment]
        world = self.cluster._world  # a fuzz run never travels in time: its one world
        wire = Tripwire(trigger.event, world.nodes, self._trip)
        world.observers = [*world.observers, wire]
        self.armed.append((action, wire))

    def _disarm(self, wire: Tripwire) -> None:
        world = self.cluster._world
        world.observers = [o for o in world.observers if o is not wire]
        self.armed = [(a, w) for a, w in self.armed if w is not wire]

    # -- actions --------------------------------------------------------------------

    def apply(self, action: Action) -> None:
        kind, key, rec, cluster = action.kind, action.key, self.rec, self.cluster
        leader = cluster.leader
        if kind == "crash":
            up = self.up()
            if action.value == "leader":
                target, note = leader, "the leader"
            else:
                target, note = (up[key % len(up)] if up else None), ""
            if target is not None:
                rec.crash(target, note)
                self.crashed_by[action.number] = target
        elif kind == "restart":
            node = self.crashed_by.get(action.of)  # type: ignore[arg-type]
            if node is not None and not cluster.nodes[node].running:
                rec.restart(node)
        elif kind in SHAPES:
            self.apply_shape(action)
        elif kind == "one-way":
            ids = self.ids()
            if len(ids) >= 2:
                src, dst = random.Random(key).sample(ids, 2)
                rec.cut(src, dst, "one way")
        elif kind in NETWORK:
            value = action.value
            if kind == "latency":
                value = tuple(ms * 1000 for ms in action.value)  # type: ignore[union-attr]
            elif kind == "reorder":
                value = True
            rec.network(**{kind: value})
            self.network_owner[kind] = action.number
        elif kind in HOLDS:
            self.apply_hold(action, leader)
        elif kind in TRIGGERED:
            self._arm(action)
        elif leader is not None:
            self.apply_admin(action, leader)

    def apply_shape(self, action: Action) -> None:
        rec, leader = self.rec, self.cluster.leader
        ids = self.ids()
        order = list(ids)
        random.Random(action.key).shuffle(order)
        kind = action.kind
        if kind == "isolate-leader" and leader is None:
            return
        if kind == "split" and len(ids) < 2:
            return
        if (kind == "bridge" and len(ids) < 3) or (kind == "ring" and len(ids) < 4):
            return
        self._new_shape(action.number)
        if kind == "isolate-leader":
            rec.isolate(leader, "the leader")  # type: ignore[arg-type]
        elif kind == "split":
            k = 1 + action.key % max(1, (len(ids) - 1) // 2)
            minority, majority = sorted(order[:k], key=ids.index), sorted(order[k:], key=ids.index)
            rec.partition(minority, majority, note="minority | majority")
        elif kind == "bridge":
            bridge, rest = order[0], order[1:]
            left, right = rest[: len(rest) // 2], rest[len(rest) // 2 :]
            note = f"bridge: {bridge} hears both {','.join(left)} and {','.join(right)}"
            for a in left:
                for b in right:
                    rec.cut(a, b, note)
                    rec.cut(b, a, note)
                    note = ""
        else:  # ring
            n = len(order)
            note = "ring " + " - ".join(order)
            for i in range(n):
                for j in range(i + 2, n):
                    if i == 0 and j == n - 1:
                        continue  # neighbours across the ring's seam
                    rec.cut(order[i], order[j], note)
                    rec.cut(order[j], order[i], note)
                    note = ""

    def _new_shape(self, number: int) -> None:
        if self.cluster.partitions or self.cluster.cuts:
            self.rec.heal("a new network shape replaces the old")
        self.shape = number

    def _end_shape(self, number: int, note: str = "the partition ends") -> None:
        if self.shape == number:
            self.shape = None
            self.rec.heal(note)

    def apply_hold(self, action: Action, leader: str | None) -> None:
        """Messages on the links held wait there, still in flight, until the window ends."""
        ids = self.ids()
        if action.kind == "stall-leader":
            if leader is None:
                return
            links = [(leader, other) for other in ids if other != leader]
            note = "the leader's messages wait"
        elif leader is not None and action.key % 2:
            others = [n for n in ids if n != leader]
            links = [(leader, others[action.key // 2 % len(others)])] if others else []
            note = "from the leader"
        else:
            links = [tuple(random.Random(action.key).sample(ids, 2))] if len(ids) >= 2 else []
            note = ""
        for src, dst in links:
            self.rec.hold(src, dst, note)
            self.hold_owner[(src, dst)] = action.number
            note = ""

    def close(self, action: Action) -> None:
        """The end of a window: undo the fault if nothing newer replaced it."""
        kind = action.kind
        if kind in SHAPES:
            self._end_shape(action.number)
        elif kind in NETWORK and self.network_owner.get(kind) == action.number:
            del self.network_owner[kind]
            self.rec.network(**{kind: _base(kind)}, note="back to normal")
        elif kind in HOLDS:
            for link, owner in list(self.hold_owner.items()):
                if owner == action.number:
                    del self.hold_owner[link]
                    self.rec.release(*link)
        elif kind in TRIGGERED:
            for armed, wire in self.armed:
                if armed is action:
                    self._disarm(wire)  # its event never came

    def apply_admin(self, action: Action, leader: str) -> None:
        rec, key = self.rec, action.key
        conf = self.cluster.nodes[leader].members
        pool = self.schedule.pool
        kind = action.kind
        if kind == "add":
            choices = [n for n in pool if n not in conf.voters]
            if choices:
                rec.request("add", "add_node", choices[key % len(choices)])
        elif kind == "add-learner":
            choices = [n for n in pool if n not in conf.members]
            if choices:
                rec.request("add-learner", "add_learner", choices[key % len(choices)])
        elif kind == "remove":
            choices = list(conf.members) if len(conf.voters) > 2 else list(conf.learners)
            if choices:
                rec.request("remove", "remove_node", choices[key % len(choices)])
        elif kind == "swap":
            # Up to two voters out and as many others in, in one change: while joint,
            # the old and the new majorities can differ by more than one server.
            outsiders = [n for n in pool if n not in conf.members]
            may_leave = [n for n in conf.voters if n != leader or action.value != "keep-leader"]
            count = min(1 + key % 2, len(outsiders), len(conf.voters) - 1, len(may_leave))
            if count > 0:
                rng = random.Random(key)
                leaving = rng.sample(may_leave, count)
                joining = rng.sample(outsiders, count)
                voters = [n for n in conf.voters if n not in leaving] + joining
                note = f"{','.join(leaving)} out, {','.join(joining)} in"
                rec.change_members(voters, list(conf.learners), note)
        elif kind == "transfer":
            others = [n for n in conf.voters if n != leader]
            target = others[key % len(others)] if key and others else None
            rec.request("transfer", "transfer_leadership", target)
        elif kind == "snapshot":
            up = self.up()
            if up:
                rec.request("snapshot", "snapshot", up[key % len(up)])

    # -- triggered faults ---------------------------------------------------------------

    def _responder(self, action: Action, node: str, wire: Tripwire) -> Callable[[], None]:
        peer, began = wire.peer, wire.began
        return lambda: self._respond(action, node, peer, began)

    def _respond(
        self, action: Action, node: str, peer: str | None = None, began: int | None = None
    ) -> None:
        """A tripwire went off at `node` (a TimeoutNow: to `peer`, in a transfer that
        `began` then): the fault it was armed with, now."""
        trigger: Trigger = action.value  # type: ignore[assignment]
        rec, cluster, number = self.rec, self.cluster, action.number
        after = f"{duration_text(trigger.delay_us)} after it {DID[trigger.event]}"
        lasts = trigger.lasts_us
        if trigger.response == "crash":
            if not cluster.nodes[node].running:
                return
            rec.crash(node, after)
            if lasts:
                self._later(rec.now_us + lasts, number, lambda: self._restart([node]))
        elif trigger.response == "power":
            up = self.up()
            note = f"power cut, {duration_text(trigger.delay_us)} after {node} {DID[trigger.event]}"
            for each in up:
                rec.crash(each, note)
                note = ""
            if lasts:
                self._later(rec.now_us + lasts, number, lambda: self._restart(up))
        elif trigger.response == "isolate":
            if not cluster.nodes[node].running:
                return
            self._new_shape(number)
            rec.isolate(node, after)
            if lasts:
                self._later(rec.now_us + lasts, number, lambda: self._end_shape(number))
        elif trigger.response == "deafen":
            if peer is None or not cluster.nodes[node].running:
                return
            rec.hold(node, peer, f"{after}: the TimeoutNow to {peer} waits")
            self.hold_owner[(node, peer)] = number
            # It lands `hold_us` after its transfer began: the transfer gives up an
            # election timeout after it began, whenever its TimeoutNow left.
            since = rec.now_us if began is None else began
            lands = max(rec.now_us + 1, since + trigger.hold_us)
            self._later(lands, number, lambda: self._land_late(action, node, peer))
        else:  # split: the old voters from the leader and the new ones
            sides = self._joint_sides(node)
            if sides is None:
                return
            self._new_shape(number)
            rec.partition(*sides, note=f"new | old, {after}")
            if lasts:
                self._later(rec.now_us + lasts, number, lambda: self._end_shape(number))

    def _land_late(self, action: Action, leader: str, target: str) -> None:
        """A held TimeoutNow lands, and the leader that sent it hears no one any more.

        Voters grant a transfer's votes although they heard from the leader within
        its lease (thesis §3.10), so its target may now be elected while the old
        leader, deaf to the newer term, still leads and may still trust its lease.
        """
        if self.hold_owner.get((leader, target)) != action.number:
            return  # a newer hold took the link over, or the healing released it
        rec, number = self.rec, action.number
        note = f"{leader} hears no one: its TimeoutNow is about to land"
        self._new_shape(number)
        for other in self.ids():
            if other != leader:
                rec.cut(other, leader, note)
                note = ""
        del self.hold_owner[(leader, target)]
        rec.release(leader, target, "the TimeoutNow lands late")
        lasts = action.value.lasts_us  # type: ignore[attr-defined]
        if lasts:
            self._later(rec.now_us + lasts, number, lambda: self._end_shape(number))

    def _restart(self, nodes: list[str]) -> None:
        for node in nodes:
            if not self.cluster.nodes[node].running:
                self.rec.restart(node)

    def _joint_sides(self, leader: str) -> tuple[list[str], list[str]] | None:
        """The leader with the new voters and as few others as make a new majority, and
        everyone else: while joint, the side without the old majority must not commit."""
        conf = self.cluster.nodes[leader].members
        if conf.old_voters is None:
            return None
        new = [leader, *(n for n in conf.voters if n not in conf.old_voters and n != leader)]
        staying = [n for n in conf.voters if n not in new]
        missing = len(conf.voters) // 2 + 1 - sum(n in conf.voters for n in new)
        new += staying[: max(0, missing)]
        ids = self.ids()
        return sorted(new, key=ids.index), [n for n in ids if n not in new]

    # -- healing ----------------------------------------------------------------------

    def heal_everything(self) -> None:
        """Every fault undone: armed wires, held links, partitions, the network, crashes."""
        rec = self.rec
        for _, wire in list(self.armed):
            self._disarm(wire)
        self._due.clear()
        for link in list(self.hold_owner):
            rec.release(*link)
        self.hold_owner.clear()
        rec.heal("the faults are over")
        rec.network(
            drop=0, duplicate=0, latency=BASE_LATENCY_US, reorder=False, note="normal network"
        )
        for node_id, view in self.cluster.nodes.items():
            if not view.running:
                rec.restart(node_id)


def _base(setting: str) -> object:
    return {"drop": 0, "duplicate": 0, "latency": BASE_LATENCY_US, "reorder": False}[setting]
