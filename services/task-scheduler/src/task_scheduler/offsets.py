"""Which Kafka offsets are safe to commit: those whose effects are durable.

Events of different devices in one partition finish out of order (their sessions run
concurrently); a partition's commit point is the lowest offset still unfinished, or one past
the highest seen when all are done. Sans-I/O, so the consumer loop stays simple.
"""

from __future__ import annotations

from collections.abc import Hashable


class OffsetTracker:
    def __init__(self) -> None:
        self._pending: dict[Hashable, set[int]] = {}
        self._high: dict[Hashable, int] = {}
        self._committed: dict[Hashable, int] = {}

    def add(self, tp: Hashable, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        if offset > self._high.get(tp, -1):
            self._high[tp] = offset

    def done(self, tp: Hashable, offset: int) -> None:
        p = self._pending.get(tp)
        if p is not None:
            p.discard(offset)

    def commit_points(self) -> dict[Hashable, int]:
        """Offsets to commit now (the next offset to read, Kafka's convention), changed ones only."""
        out = {}
        for tp, high in self._high.items():
            pending = self._pending.get(tp)
            point = min(pending) if pending else high + 1
            if point > self._committed.get(tp, -1):
                out[tp] = point
        return out

    def committed(self, points: dict[Hashable, int]) -> None:
        self._committed.update(points)

    def forget(self, tps) -> None:
        for tp in tps:
            self._pending.pop(tp, None)
            self._high.pop(tp, None)
            self._committed.pop(tp, None)

    def in_flight(self) -> int:
        return sum(len(p) for p in self._pending.values())
