"""In-session messages read before their session's Inform wait here until it is taken.

The gateway answers InformResponse itself once the Inform is in acs.session-events.v1, so the
CPE's next message (often an empty POST) can reach acs.session-messages.v1, and be read, before
the scheduler has taken that Inform: the two topics are read side by side, and a partition of
session events may be paused at the session cap. Each message says where its Inform lies
(``SessionMessage.inform_partition``/``inform_offset``); it goes on to its device's worker only
once the Inform has been taken, so the worker sees the Inform first.

Bounded without a limit of its own: a CPE sends its next message only once answered, so at most
one message per connected CPE waits here. Sans-I/O: the consumer feeds it offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, NamedTuple, TypeVar

from aiokafka import TopicPartition

T = TypeVar("T")


class _Waiting(NamedTuple, Generic[T]):
    inform_offset: int
    device_id: str
    item: T


class InformGate(Generic[T]):
    """Per session-events partition: the offset of the last record taken, and the messages waiting
    for a later one, in the order they were read."""

    def __init__(self) -> None:
        self.taken: dict[TopicPartition, int] = {}
        self.waiting: dict[TopicPartition, list[_Waiting[T]]] = {}

    def knows(self, events_tp: TopicPartition) -> bool:
        return events_tp in self.taken

    def start(self, events_tp: TopicPartition, position: int) -> None:
        """A partition taken over: everything before ``position`` (its committed offset) was taken
        by this member or its previous owner, whose sessions the driver recovers."""
        self.taken[events_tp] = position - 1

    def hold(self, events_tp: TopicPartition, inform_offset: int, device_id: str, item: T) -> bool:
        """Keep ``item`` back if its Inform has not been taken yet (or an earlier message of the same
        device waits: a device's messages stay in order); False: pass it on now. A message whose
        Inform lies in a partition this member does not own is not held: nothing would release it."""
        taken = self.taken.get(events_tp)
        if taken is None or inform_offset < 0:
            return False
        waiting = self.waiting.get(events_tp)
        if inform_offset <= taken and not (waiting and any(w.device_id == device_id for w in waiting)):
            return False
        self.waiting.setdefault(events_tp, []).append(_Waiting(inform_offset, device_id, item))
        return True

    def took(self, events_tp: TopicPartition, offset: int) -> list[T]:
        """The record at ``offset`` was taken: the messages that waited for it (or for an earlier
        one), in the order they were read."""
        if offset > self.taken.get(events_tp, -1):
            self.taken[events_tp] = offset
        waiting = self.waiting.get(events_tp)
        if not waiting:
            return []
        ready: list[T] = []
        kept: list[_Waiting[T]] = []
        blocked: set[str] = set()  # devices with an earlier message still waiting: theirs stay behind it
        for w in waiting:
            if w.inform_offset <= offset and w.device_id not in blocked:
                ready.append(w.item)
            else:
                kept.append(w)
                blocked.add(w.device_id)
        if kept:
            self.waiting[events_tp] = kept
        else:
            del self.waiting[events_tp]
        return ready

    def forget(self, tps: Iterable[TopicPartition], read_from: Callable[[T], TopicPartition]) -> list[T]:
        """Partitions given up (a rebalance): the messages waiting for an Inform in one of them, or
        read from one of them (``read_from``), dropped here (uncommitted, so the partitions' new
        owner reads them again)."""
        gone = set(tps)
        dropped: list[T] = []
        for tp in gone:
            self.taken.pop(tp, None)
            dropped.extend(w.item for w in self.waiting.pop(tp, ()))
        for events_tp, waiting in list(self.waiting.items()):
            kept = [w for w in waiting if read_from(w.item) not in gone]
            dropped.extend(w.item for w in waiting if read_from(w.item) in gone)
            if kept:
                self.waiting[events_tp] = kept
            else:
                del self.waiting[events_tp]
        return dropped

    def drop(self, unwanted: Callable[[T], bool]) -> list[T]:
        """Drop the waiting messages ``unwanted`` says no one needs any more (their CPE stopped
        waiting: an Inform that never comes, e.g. a topic recreated, must not hold them forever)."""
        dropped: list[T] = []
        for events_tp, waiting in list(self.waiting.items()):
            kept = [w for w in waiting if not unwanted(w.item)]
            if len(kept) == len(waiting):
                continue
            dropped.extend(w.item for w in waiting if unwanted(w.item))
            if kept:
                self.waiting[events_tp] = kept
            else:
                del self.waiting[events_tp]
        return dropped

    def __len__(self) -> int:
        return sum(len(w) for w in self.waiting.values())
