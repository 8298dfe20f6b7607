"""Connection requests at fleet scale: paced, shared by every inventory replica, off the NBI's path.

A bulk operation (a campaign wave, a preset re-apply) queues its devices in MongoDB
(``connection_request_queue``), each with the time it is due: one every 1/rate seconds from now,
so the rate holds however many replicas send them. Every inventory process runs one loop that
claims a batch of due entries (a lease with a claim token: an entry two replicas both see goes to
one; a replica that dies lets its lease lapse and another one takes the entries over), looks their
devices and credentials up in two queries per batch, and sends each request at its due time with
at most ``NBI_CR_CONCURRENCY`` in flight. A sent entry is deleted.

Why MongoDB and not a Kafka topic: the inventory has no Kafka client, entries must survive a
restart, and the queue must answer "what is still to send" for progress; a claim is two round
trips (an update over a window of due times about one batch long, a find by claim token) and a
batch is deleted by its token, far below what the requests themselves cost.
``submit`` returns at once and writes in the background, so an NBI call never waits for 100k
inserts, and the loop runs beside the NBI's handlers without blocking them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from acs_contracts import mongo_collections as mc

from .connection_request import stored_credentials
from .cr_transport import projection

log = logging.getLogger(__name__)

QUEUE = mc.CR_QUEUE
INSERT_CHUNK = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the lease of an entry nobody claimed yet


def _now() -> datetime:
    return datetime.now(UTC)


def due_times(count: int, rate: float, start: datetime) -> list[datetime]:
    """``count`` times from ``start``, 1/rate seconds apart."""
    step = 1.0 / max(rate, 0.001)
    return [start + timedelta(seconds=i * step) for i in range(count)]


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("queueing connection requests failed (those not written are not sent): %s", task.exception())


class Pacer:
    """One per process (``for_runtime``): the queue's writer and this replica's sender."""

    def __init__(self, rt: Any, *, concurrency: int | None = None, batch: int = 500,
                 lease_s: float = 30.0, lookahead_s: float = 0.5, idle_s: float = 0.25) -> None:
        self.rt = rt
        self.queue = rt.db.db[QUEUE]
        self.concurrency = concurrency or rt.settings.cr_concurrency
        self.batch, self.lease_s, self.lookahead_s, self.idle_s = batch, lease_s, lookahead_s, idle_s
        self.sem = asyncio.Semaphore(self.concurrency)
        self.sent = 0  # requests this replica sent
        self.outcomes: dict[str, int] = {}
        self._done: list[str] = []  # claim tokens whose entries were all sent: to delete
        self._open: dict[str, int] = {}  # claim token -> entries not sent yet
        self._floor: datetime | None = None
        self._sweep_at = 0.0
        self._last_sent: dict[str, float] = {}  # submission -> loop time of this replica's last send
        self._writes: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def for_runtime(cls, rt: Any) -> "Pacer":
        pacer = getattr(rt, "_cr_pacer", None)
        if pacer is None:
            pacer = rt._cr_pacer = cls(rt)
        return pacer

    # --- writing the queue ----------------------------------------------------------------------

    def submit(self, device_ids: Iterable[str], rate: float | None = None) -> None:
        """Queue ``device_ids`` at ``rate`` per second (at most NBI_CR_RATE); returns at once."""
        ids = list(device_ids)
        pace = min(float(rate or self.rt.settings.cr_rate), self.rt.settings.cr_rate)
        write = asyncio.create_task(self.enqueue(ids, pace), name="connection-request-enqueue")
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        write.add_done_callback(_log_failure)
        self.start()

    async def enqueue(self, device_ids: list[str], rate: float) -> int:
        """Write every entry now (in chunks), so a restart loses none; returns how many. Entries
        already due when written go out 1/rate apart all the same (the sender spaces them)."""
        batch_id = secrets.token_hex(6)
        dues = due_times(len(device_ids), rate, _now())
        for i in range(0, len(device_ids), INSERT_CHUNK):
            docs = [{"device": d, "due": t, "batch": batch_id, "rate": rate, "owner": None, "lease": EPOCH}
                    for d, t in zip(device_ids[i : i + INSERT_CHUNK], dues[i : i + INSERT_CHUNK], strict=True)]
            async with self.rt.metrics.mongo("insert_cr_queue"):
                await self.queue.insert_many(docs, ordered=False)
        return len(device_ids)

    # --- sending --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="connection-request-pacer")

    async def _run(self) -> None:
        while True:  # every replica polls, so entries another replica queued are shared out
            try:
                claimed = await self._claim()
                if claimed:
                    await self._send_batch(claimed)
                    await self._flush_done()
                else:
                    await self._flush_done()
                    await asyncio.sleep(self.idle_s)
            except Exception as e:  # noqa: BLE001 - the database may be failing over: try again
                log.warning("paced connection requests: %s", e)
                await asyncio.sleep(1.0)

    async def _claim(self) -> list[dict[str, Any]]:
        """Claim the entries due in the next window: from ``_floor`` (the oldest unclaimed entry,
        looked up at start, when a window came back empty and every lease period, which also
        finds entries a dead replica left) over ``batch`` entries' worth of time at NBI_CR_RATE,
        up to the look-ahead. Claimed by the window itself, not by a list of ids: each query
        matches about one batch, however long the queue."""
        now = _now()
        loop = asyncio.get_running_loop()
        if self._floor is None or loop.time() >= self._sweep_at:
            self._sweep_at = loop.time() + self.lease_s
            async with self.rt.metrics.mongo("find_cr_queue"):
                oldest = await self.queue.find_one({"lease": {"$lt": now}}, {"due": 1}, sort=[("due", 1)])
            self._floor = None if oldest is None else oldest["due"]
        if self._floor is None:
            return []
        horizon = now + timedelta(seconds=self.lookahead_s)
        if self._floor > horizon:
            return []
        hi = min(horizon, self._floor + timedelta(seconds=self.batch / max(self.rt.settings.cr_rate, 1.0)))
        window = {"due": {"$gte": self._floor, "$lte": hi}, "lease": {"$lt": now}}
        token = secrets.token_hex(8)
        async with self.rt.metrics.mongo("claim_cr_queue"):
            await self.queue.update_many(window, {"$set": {"owner": token, "lease": now + timedelta(seconds=self.lease_s)}})
            claimed = await self.queue.find({"owner": token}).to_list(None)
        # new submissions are due from their own start (after now): the floor never passes now
        self._floor = min(hi, now) if claimed else None
        if claimed:
            self._open[token] = len(claimed)
        return sorted(claimed, key=lambda e: e["due"])

    async def _send_batch(self, entries: list[dict[str, Any]]) -> None:
        device_ids = list({e["device"] for e in entries})
        async with self.rt.metrics.mongo("find_devices"):
            devices = {d["_id"]: d for d in await self.rt.db.devices.find({"_id": {"$in": device_ids}}, projection()).to_list(None)}
        async with self.rt.metrics.mongo("find_credentials"):
            creds = {c["_id"]: c for c in await self.rt.db.credentials.find(
                {"_id": {"$in": device_ids}}, {"connectionRequest": 1}).to_list(None)}
        loop = asyncio.get_running_loop()
        for entry in entries:
            # at its due time, and never closer than 1/rate after this replica's previous one of the
            # same submission: a late loop shifts the rest instead of sending them in a burst
            step = 1.0 / max(float(entry.get("rate") or 0.0), 0.001)
            not_before = self._last_sent.get(entry["batch"], 0.0) + step
            wait = max((entry["due"].replace(tzinfo=UTC) - _now()).total_seconds(), not_before - loop.time())
            if wait > 0.002:  # a shorter wait is not worth a turn of a busy event loop
                await asyncio.sleep(wait)
            self._last_sent[entry["batch"]] = loop.time()
            if len(self._last_sent) > 1000:
                self._last_sent.clear()
            device = devices.get(entry["device"])
            if device is None:  # deleted since it was queued
                self._finished(entry["owner"])
                continue
            await self.sem.acquire()
            t = loop.create_task(self._one(entry["owner"], device, creds.get(entry["device"])))
            self._inflight.add(t)
            t.add_done_callback(self._inflight.discard)

    async def _one(self, token: str, device: dict[str, Any], cred_doc: dict[str, Any] | None) -> None:
        try:
            given = stored_credentials(cred_doc, self.rt.cr.secrets)
            outcome = await self.rt.cr.request(device, credentials=given)
            self.outcomes[outcome["status"]] = self.outcomes.get(outcome["status"], 0) + 1
            self.sent += 1
        except Exception as e:  # noqa: BLE001 - one device must not stop the others
            log.info("connection request to %s failed: %s", device.get("_id"), e)
        finally:
            self._finished(token)
            self.sem.release()

    def _finished(self, token: str) -> None:
        """One entry of a claim is done; the whole claim is deleted when its last one is."""
        self._open[token] -= 1
        if self._open[token] <= 0:
            del self._open[token]
            self._done.append(token)

    async def _flush_done(self) -> None:
        done, self._done = self._done, []
        if done:
            async with self.rt.metrics.mongo("delete_cr_queue"):
                await self.queue.delete_many({"owner": {"$in": done}})

    async def pending(self) -> int:
        """Entries still queued (every replica's)."""
        return await self.queue.count_documents({})

    async def stop(self) -> None:
        for t in [self.task, *self._writes, *self._inflight]:
            if t is not None:
                t.cancel()
        for t in [self.task, *self._writes, *self._inflight]:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        with contextlib.suppress(Exception):
            await self._flush_done()
