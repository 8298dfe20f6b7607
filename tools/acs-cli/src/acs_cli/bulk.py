"""One task on many devices: concurrent POST /devices/<id>/tasks?connection_request&timeout=,
at most ``concurrency`` at a time and ``rate`` started per second, each answer classified.

The NBI answers 200 when the task is done within the timeout and 202 otherwise, with the task as
it stands: ``status`` "fault" (the CPE or the ACS refused it: a fault document exists),
"pending" (still queued: the device did not finish in time, it runs at the next contact), and
``connectionRequest.status`` says whether the device could be woken at all.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from .client import Endpoint, NbiError, async_client, error_of, q, unreachable

OK, FAULT, TIMEOUT, OFFLINE, QUEUED, ERROR = "ok", "fault", "timeout", "offline", "queued", "error"
OUTCOMES = (OK, FAULT, TIMEOUT, OFFLINE, QUEUED, ERROR)
MEANING = {
    OK: "done on the device",
    FAULT: "refused by the device or the ACS (a fault is recorded)",
    TIMEOUT: "woken but not done in time; the task stays queued for its next session",
    OFFLINE: "connection request failed; the task stays queued for its next contact",
    QUEUED: "queued without a connection request",
    ERROR: "refused by the NBI (nothing queued)",
}


@dataclass(slots=True)
class Outcome:
    device: str
    outcome: str
    detail: str = ""
    task_id: str | None = None
    http_status: int = 0
    elapsed_s: float = 0.0
    task: dict[str, Any] | None = field(default=None, repr=False)

    def as_json(self, with_task: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_task:
            d.pop("task")
        return d


class RateLimiter:
    """Starts spaced ``1/rate`` seconds apart (no bursts); no limit when ``rate`` is None."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)  # no await between reading and moving the slot
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def fault_text(fault: dict[str, Any]) -> str:
    """``cwmp.9003: Invalid arguments (...SoftwareVersion 9008: ... is read-only)``."""
    text = f"{fault.get('code', '?')}: {fault.get('message', '')}".strip()
    detail = fault.get("detail")
    spv = detail.get("setParameterValuesFault") if isinstance(detail, dict) else None
    if isinstance(spv, list) and spv:
        parts = []
        for item in spv[:3]:
            if isinstance(item, (list, tuple)) and len(item) >= 2:
                parts.append(f"{item[0]} {item[1]}" + (f": {item[2]}" if len(item) > 2 and item[2] else ""))
        if parts:
            text += " (" + "; ".join(parts) + (" ..." if len(spv) > 3 else "") + ")"
    return text


def classify(device: str, response: httpx.Response, elapsed_s: float, waited: bool = True) -> Outcome:
    """What one POST /devices/<id>/tasks answer means for the device (``waited``: it was asked
    with a connection request and a timeout)."""
    if response.status_code not in (200, 202):
        return Outcome(device, ERROR, str(error_of(response)), None, response.status_code, elapsed_s)
    task = response.json()
    tid = task.get("_id")
    status = task.get("status")
    if response.status_code == 200 or status == "done":
        return Outcome(device, OK, "", tid, response.status_code, elapsed_s, task)
    if status == "fault":
        detail = fault_text(task.get("fault") or {})
        return Outcome(device, FAULT, detail, tid, response.status_code, elapsed_s, task)
    cr = task.get("connectionRequest")
    if cr is not None and cr.get("status") != "ok":
        detail = f"connection request {cr.get('status')}: {cr.get('error') or ''}".strip().rstrip(":")
        return Outcome(device, OFFLINE, detail, tid, response.status_code, elapsed_s, task)
    if not waited:
        return Outcome(device, QUEUED, "", tid, response.status_code, elapsed_s, task)
    return Outcome(device, TIMEOUT, "not done in time", tid, response.status_code, elapsed_s, task)


@dataclass(slots=True)
class BulkOptions:
    rate: float | None = 50.0  # task starts per second
    concurrency: int = 20  # tasks in flight
    timeout_s: float = 30.0  # how long the NBI waits for each task
    connection_request: bool = True
    cancel_unfinished: bool = False  # delete tasks left queued (timeout, offline)


async def _run(endpoint: Endpoint, devices: list[str], body: dict[str, Any], opts: BulkOptions,
               progress: Callable[[Outcome], None] | None) -> list[Outcome]:
    limiter = RateLimiter(opts.rate)
    params: dict[str, str] = {}
    if opts.connection_request:
        params = {"connection_request": "", "timeout": str(int(opts.timeout_s * 1000))}
    # the NBI may spend the connection request's time (and a retry) before it starts waiting
    http_timeout = httpx.Timeout(opts.timeout_s + 30.0, connect=10.0)
    results: list[Outcome | None] = [None] * len(devices)
    todo = iter(enumerate(devices))
    abort: list[NbiError] = []

    async with async_client(endpoint, opts.concurrency) as http:
        async def one(device: str) -> Outcome:
            started = time.monotonic()
            try:
                r = await http.post(f"/devices/{q(device)}/tasks", params=params, json=body, timeout=http_timeout)
            except httpx.HTTPError as e:
                return Outcome(device, ERROR, str(unreachable(e, endpoint.url)), elapsed_s=time.monotonic() - started)
            if r.status_code in (401, 403):
                raise error_of(r)
            out = classify(device, r, time.monotonic() - started, waited=opts.connection_request)
            if opts.cancel_unfinished and out.task_id and out.outcome in (TIMEOUT, OFFLINE):
                try:
                    d = await http.delete(f"/tasks/{q(out.task_id)}")
                    if d.status_code == 200:
                        out.detail += "; task deleted"
                except httpx.HTTPError:
                    pass
            return out

        async def worker() -> None:
            for index, device in todo:
                if abort:
                    return
                await limiter.acquire()
                try:
                    out = await one(device)
                except NbiError as e:
                    abort.append(e)
                    return
                results[index] = out
                if progress is not None:
                    progress(out)

        await asyncio.gather(*(worker() for _ in range(max(1, min(opts.concurrency, len(devices))))))
    if abort:
        raise abort[0]
    return [r for r in results if r is not None]


def run_bulk(endpoint: Endpoint, devices: Iterable[str], body: dict[str, Any], opts: BulkOptions,
             progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run the task ``body`` on every device; the outcomes in the devices' order."""
    return asyncio.run(_run(endpoint, list(devices), body, opts, progress))


def tally(outcomes: Iterable[Outcome]) -> Counter[str]:
    return Counter(o.outcome for o in outcomes)
