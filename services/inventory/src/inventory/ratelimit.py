"""In-process rate limits: a token bucket per API token, sliding windows for sign-in attempts and
invalid tokens per client address. Per NBI process: behind N replicas the limits are N times
as generous, which still stops a brute force (docs/security.md)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

MAX_KEYS = 100_000  # oldest keys are forgotten past this, so a flood of addresses cannot exhaust memory


class TokenBuckets:
    """``rate`` calls per second sustained, ``burst`` at once, per key."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the call may go ahead, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        level, last = self._buckets.pop(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - last) * self.rate)
        wait = 0.0
        if level >= 1.0:
            level -= 1.0
        else:
            wait = (1.0 - level) / self.rate
        self._buckets[key] = (level, now)
        if len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return wait


class Window:
    """At most ``limit`` events per key within ``span`` seconds."""

    def __init__(self, limit: int, span: float = 60.0) -> None:
        self.limit = limit
        self.span = span
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.span:
            events.popleft()
        self._events[key] = events
        if len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)
        return events

    def blocked(self, key: str, now: float | None = None) -> float:
        """0 when under the limit, else the seconds until the oldest event leaves the window."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        events = self._recent(key, now)
        return max(0.0, events[0] + self.span - now) if len(events) >= self.limit else 0.0

    def add(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(key, now).append(now)
