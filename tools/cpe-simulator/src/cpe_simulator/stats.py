"""Counters a fleet shares: sessions, RPCs, faults, HTTP errors and session latency.

Cheap to update from thousands of devices (plain ints and a bounded latency sample), read once a
second for the CLI's progress line and once at the end for the JSON summary.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

_SAMPLE = 20_000


@dataclass(slots=True)
class SessionReport:
    """What one CWMP session did, from the device's side."""

    events: list[str] = field(default_factory=list)  # EventCodes in the Inform
    rpcs: list[str] = field(default_factory=list)  # ACS requests received, in order
    http_status: int | None = None  # status of the last HTTP answer
    duration_s: float = 0.0
    faults: list[int] = field(default_factory=list)  # CPE faults answered to ACS requests
    acs_faults: list[int] = field(default_factory=list)  # ACS faults received
    ok: bool = False  # ended by the ACS's empty answer
    error: str | None = None
    retry_after: float | None = None  # from a 503 Retry-After


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


class Stats:
    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self.sessions_started = 0
        self.sessions_ok = 0
        self.sessions_failed = 0
        self.in_flight = 0
        self.events: Counter[str] = Counter()
        self.rpcs: Counter[str] = Counter()
        self.faults: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.connection_requests: Counter[str] = Counter()
        self.transfers: Counter[str] = Counter()
        self._durations: list[float] = []
        self._seen = 0
        self._rng = random.Random(0)
        self._last = (time.monotonic(), 0, 0, 0)

    def session_started(self) -> None:
        self.sessions_started += 1
        self.in_flight += 1

    def session_finished(self, report: SessionReport) -> None:
        self.in_flight -= 1
        self.events.update(report.events)
        self.rpcs.update(report.rpcs)
        self.faults.update(report.faults)
        if report.ok:
            self.sessions_ok += 1
            self._sample(report.duration_s)
        else:
            self.sessions_failed += 1
            self.errors[_error_kind(report)] += 1

    def _sample(self, value: float) -> None:
        """Reservoir sample, so memory stays bounded on long runs."""
        self._seen += 1
        if len(self._durations) < _SAMPLE:
            self._durations.append(value)
        else:
            j = self._rng.randrange(self._seen)
            if j < _SAMPLE:
                self._durations[j] = value

    def tick(self) -> dict:
        """Counts since the previous tick, for a per-second progress line."""
        t = time.monotonic()
        last_t, last_started, last_ok, last_failed = self._last
        self._last = (t, self.sessions_started, self.sessions_ok, self.sessions_failed)
        dt = max(t - last_t, 1e-9)
        return {
            "t": round(t - self.started_at, 1),
            "started_per_s": round((self.sessions_started - last_started) / dt, 1),
            "ok_per_s": round((self.sessions_ok - last_ok) / dt, 1),
            "failed_per_s": round((self.sessions_failed - last_failed) / dt, 1),
            "in_flight": self.in_flight,
            "ok": self.sessions_ok,
            "failed": self.sessions_failed,
        }

    def summary(self) -> dict:
        elapsed = time.monotonic() - self.started_at
        d = sorted(self._durations)
        return {
            "elapsed_s": round(elapsed, 3),
            "sessions": {
                "started": self.sessions_started,
                "ok": self.sessions_ok,
                "failed": self.sessions_failed,
                "ok_per_s": round(self.sessions_ok / elapsed, 2) if elapsed else 0.0,
            },
            "session_duration_ms": {
                "p50": round(percentile(d, 0.50) * 1000, 2),
                "p90": round(percentile(d, 0.90) * 1000, 2),
                "p99": round(percentile(d, 0.99) * 1000, 2),
                "max": round((d[-1] if d else 0.0) * 1000, 2),
            },
            "events": dict(self.events),
            "rpcs": dict(self.rpcs),
            "cpe_faults": {str(k): v for k, v in self.faults.items()},
            "errors": dict(self.errors),
            "connection_requests": dict(self.connection_requests),
            "transfers": dict(self.transfers),
        }


def _error_kind(report: SessionReport) -> str:
    if report.http_status is not None and report.http_status not in (200, 204):
        return f"http_{report.http_status}"
    return (report.error or "unknown").split(":", 1)[0]
