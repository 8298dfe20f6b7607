"""Connection requests at fleet scale: paced, shared by every inventory replica, off the NBI's path.

A bulk operation (a campaign wave, a preset re-apply) queues its devices in MongoDB
(``connection_request_queue``) in *chunks*: one document per ~1 s of sending at the operation's
rate (at most ``CHUNK_MAX`` devices), holding the devices in order, the first one's due time and
the rate; device i of a chunk is due at ``due + i/rate``, so the rate holds however many replicas
send them. Every inventory process runs one loop that claims due chunks (a lease with a claim
token, taken with one atomic find-and-modify per chunk that compares the lease it read: a chunk two
replicas both see goes to one; a replica that dies lets its lease lapse and another one takes the chunk over and sends it
again: at least once, never lost), looks their devices and credentials up, and sends each request
at its due time with at most ``NBI_CR_CONCURRENCY`` in flight. A chunk is deleted once every
request of it was sent. While one claim is being sent the next one is claimed and looked up.

Why chunks and not a document per device: each queued device used to cost three document writes
(insert, lease update, delete), each ~0.5-1.2 ms on the bundled SecantusDB and index upkeep on any
MongoDB; a chunk of 500 costs three writes in all, so the queue's cost per request is negligible
next to the request itself. Device and credential lookups go in ``$in`` lists of ``LOOKUP_IN``
ids, issued together: SecantusDB rechecks every document it fetches against the whole list, so
one 500-id ``$in`` cost ~350 ms where ten 50-id ones cost ~55 ms.

Why MongoDB and not a Kafka topic: the inventory has no Kafka client, entries must survive a
restart, and the queue must answer "what is still to send" for progress. ``submit`` returns at
once and writes in the background, so an NBI call never waits for the inserts, and the loop runs
beside the NBI's handlers without blocking them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from acs_contracts import mongo_collections as mc

from .connection_request import stored_credentials
from .cr_transport import projection

log = logging.getLogger(__name__)

QUEUE = mc.CR_QUEUE
CHUNK_MAX = 500  # devices per queue document at most
CHUNK_SECONDS = 1.0  # a chunk holds about this long's worth of requests at its rate (what a takeover resends)
INSERT_DOCS = 20  # chunks per insert_many
LOOKUP_IN = 50  # ids per $in when looking devices and credentials up (see the module's docstring)
SWEEP_S = 5.0  # how often the oldest claimable chunk is looked up again (finds lapsed leases, late inserts)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the lease of a chunk nobody claimed yet


def _now() -> datetime:
    return datetime.now(UTC)


def due_times(count: int, rate: float, start: datetime) -> list[datetime]:
    """``count`` times from ``start``, 1/rate seconds apart."""
    step = 1.0 / max(rate, 0.001)
    return [start + timedelta(seconds=i * step) for i in range(count)]


def chunk_size(rate: float) -> int:
    """Devices per queue document at ``rate``: about ``CHUNK_SECONDS`` of sending, 1 to ``CHUNK_MAX``."""
    return max(1, min(CHUNK_MAX, math.ceil(rate * CHUNK_SECONDS)))


def chunks(device_ids: list[str], rate: float, start: datetime, batch_id: str) -> list[dict[str, Any]]:
    """The queue documents of one submission: its devices in order, ``chunk_size(rate)`` apiece."""
    size, step = chunk_size(rate), 1.0 / max(rate, 0.001)
    return [{"batch": batch_id, "rate": rate, "due": start + timedelta(seconds=i * step),
             "devices": device_ids[i : i + size], "owner": None, "lease": EPOCH}
            for i in range(0, len(device_ids), size)]


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
        self._done: list[Any] = []  # chunks whose requests were all sent: to delete
        self._open: dict[Any, int] = {}  # chunk _id -> requests not finished yet
        self._floor: datetime | None = None
        self._sweep_at = 0.0
        self._last_sent: dict[str, float] = {}  # submission -> loop time of this replica's last send
        self._writes: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self._ahead: asyncio.Task[Any] | None = None  # the next claim, made while one is sent
        self._flushing: asyncio.Task[None] | None = None  # deleting finished chunks
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
        """Write every chunk now, so a restart loses none; returns how many devices. Devices already
        due when written go out 1/rate apart all the same (the sender spaces them)."""
        start = _now()
        docs = chunks(device_ids, rate, start, secrets.token_hex(6))
        for i in range(0, len(docs), INSERT_DOCS):
            async with self.rt.metrics.mongo("insert_cr_queue"):
                await self.queue.insert_many(docs[i : i + INSERT_DOCS], ordered=False)
            if self._floor is not None and self._floor > start:
                self._floor = start  # written after this replica's floor passed its due time
        return len(device_ids)

    # --- sending --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="connection-request-pacer")

    async def _run(self) -> None:
        while True:  # every replica polls, so chunks another replica queued are shared out
            try:
                ahead, self._ahead = self._ahead, None
                claimed = await ahead if ahead is not None else await self._claim_and_look_up()
                if claimed[0]:
                    self._ahead = asyncio.create_task(self._claim_and_look_up(), name="connection-request-claim")
                    await self._send(*claimed)
                    self._flush_later()  # the deletes (~0.2 s under load) must not hold the sending up
                else:
                    await self._flush_done()
                    await asyncio.sleep(self.idle_s)
            except Exception as e:  # noqa: BLE001 - the database may be failing over: try again
                log.warning("paced connection requests: %s", e)
                await asyncio.sleep(1.0)

    async def _claim_and_look_up(self) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        claimed = await self._claim()
        if not claimed:
            return [], {}, {}
        devices, creds = await self._look_up(list({d for c in claimed for d in c["devices"]}))
        return claimed, devices, creds

    async def _claim(self) -> list[dict[str, Any]]:
        """Claim the chunks due up to the look-ahead, oldest first, until they hold ``batch``
        devices. Candidates are read by a range of due times from ``_floor`` (the oldest claimable
        chunk, looked up at start, when nothing was claimed and every ``SWEEP_S``, which also
        finds chunks a dead replica left), so each query reads about one claim's worth, however
        long the queue."""
        now = _now()
        loop = asyncio.get_running_loop()
        if self._floor is None or loop.time() >= self._sweep_at:
            self._sweep_at = loop.time() + SWEEP_S
            async with self.rt.metrics.mongo("find_cr_queue"):
                oldest = await self.queue.find_one({"lease": {"$lt": now}}, {"due": 1}, sort=[("due", 1)])
            self._floor = None if oldest is None else oldest["due"].replace(tzinfo=UTC)
        if self._floor is None:
            return []
        horizon = now + timedelta(seconds=self.lookahead_s)
        if self._floor > horizon:
            return []
        hi = min(horizon, self._floor + timedelta(seconds=max(self.lookahead_s, CHUNK_SECONDS)))
        async with self.rt.metrics.mongo("find_cr_queue"):
            seen = await self.queue.find({"due": {"$gte": self._floor, "$lte": hi}}, {"due": 1, "lease": 1, "rate": 1}).to_list(None)
        token, claimed, count, rest = secrets.token_hex(8), [], 0, None
        for c in sorted(seen, key=lambda c: c["due"]):
            if c["lease"].replace(tzinfo=UTC) >= now:
                continue  # another replica's (until its lease lapses)
            if count >= self.batch:
                rest = c["due"].replace(tzinfo=UTC)  # the next claim starts here
                break
            # the lease covers the chunk's own sending time (about CHUNK_SECONDS), plus the margin
            span = max(CHUNK_SECONDS, 1.0 / max(float(c.get("rate") or 0.0), 0.001))
            async with self.rt.metrics.mongo("claim_cr_queue"):
                won = await self.queue.find_one_and_update(
                    {"_id": c["_id"], "lease": c["lease"]},  # unchanged since read: nobody took it meanwhile
                    {"$set": {"owner": token, "lease": now + timedelta(seconds=self.lease_s + span)}},
                    return_document=ReturnDocument.AFTER)
            if won is None:
                continue  # another replica was first
            claimed.append(won)
            count += len(won["devices"])
        # new submissions are due from their own start (after now): the floor never passes now
        self._floor = rest if rest is not None else (min(hi, now) if claimed else None)
        for c in claimed:
            self._open[c["_id"]] = len(c["devices"])
        return claimed

    async def _look_up(self, device_ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The devices' reach fields and their credentials, in ``$in`` lists of ``LOOKUP_IN``, together."""
        parts = [device_ids[i : i + LOOKUP_IN] for i in range(0, len(device_ids), LOOKUP_IN)]

        async def find(coll: Any, ids: list[str], fields: dict[str, int]) -> list[dict[str, Any]]:
            return await coll.find({"_id": {"$in": ids}}, fields).to_list(None)

        async with self.rt.metrics.mongo("find_devices_credentials"):
            found = await asyncio.gather(*(find(self.rt.db.devices, p, projection()) for p in parts),
                                         *(find(self.rt.db.credentials, p, {"connectionRequest": 1}) for p in parts))
        devices = {d["_id"]: d for docs in found[: len(parts)] for d in docs}
        creds = {c["_id"]: c for docs in found[len(parts) :] for c in docs}
        return devices, creds

    async def _send(self, claimed: list[dict[str, Any]], devices: dict[str, Any], creds: dict[str, Any]) -> None:
        entries = sorted(
            ((c["due"].replace(tzinfo=UTC) + timedelta(seconds=i / max(float(c.get("rate") or 0.0), 0.001)), n, i)
             for n, c in enumerate(claimed) for i in range(len(c["devices"]))),
            key=lambda e: e[0])
        loop = asyncio.get_running_loop()
        for due, n, i in entries:
            chunk = claimed[n]
            device_id, batch = chunk["devices"][i], chunk["batch"]
            # at its due time, and never closer than 1/rate after this replica's previous one of the
            # same submission: a late loop shifts the rest instead of sending them in a burst
            step = 1.0 / max(float(chunk.get("rate") or 0.0), 0.001)
            not_before = self._last_sent.get(batch, 0.0) + step
            wait = max((due - _now()).total_seconds(), not_before - loop.time())
            if wait > 0.002:  # a shorter wait is not worth a turn of a busy event loop
                await asyncio.sleep(wait)
            self._last_sent[batch] = loop.time()
            if len(self._last_sent) > 1000:
                self._last_sent.clear()
            device = devices.get(device_id)
            if device is None:  # deleted since it was queued
                self._finished(chunk["_id"])
                continue
            await self.sem.acquire()
            t = loop.create_task(self._one(chunk["_id"], device, creds.get(device_id)))
            self._inflight.add(t)
            t.add_done_callback(self._inflight.discard)

    async def _one(self, chunk_id: Any, device: dict[str, Any], cred_doc: dict[str, Any] | None) -> None:
        stopped = False
        try:
            given = stored_credentials(cred_doc, self.rt.cr.secrets)
            outcome = await self.rt.cr.request(device, credentials=given)
            self.outcomes[outcome["status"]] = self.outcomes.get(outcome["status"], 0) + 1
            self.sent += 1
        except asyncio.CancelledError:
            stopped = True  # this replica stops: the chunk stays queued, sent again once its lease lapses
            raise
        except Exception as e:  # noqa: BLE001 - one device must not stop the others
            log.info("connection request to %s failed: %s", device.get("_id"), e)
        finally:
            if not stopped:
                self._finished(chunk_id)
            self.sem.release()

    def _finished(self, chunk_id: Any) -> None:
        """One request of a chunk is done; the chunk is deleted when its last one is."""
        self._open[chunk_id] -= 1
        if self._open[chunk_id] <= 0:
            del self._open[chunk_id]
            self._done.append(chunk_id)

    def _flush_later(self) -> None:
        if self._done and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self._flush_done(), name="connection-request-delete")

    async def _flush_done(self) -> None:
        done, self._done = self._done, []
        if done:
            try:
                async with self.rt.metrics.mongo("delete_cr_queue"):
                    await self.queue.delete_many({"_id": {"$in": done}})
            except Exception as e:  # noqa: BLE001 - kept for the next flush, else sent again after the lease
                self._done.extend(done)
                log.warning("deleting sent connection requests: %s", e)

    async def pending(self) -> int:
        """Devices still queued (every replica's), sent or not within a chunk not finished yet."""
        rows = await self.queue.aggregate([{"$group": {"_id": None, "n": {"$sum": {"$size": "$devices"}}}}]).to_list(None)
        return int(rows[0]["n"]) if rows else 0

    async def stop(self) -> None:
        for t in [self.task, self._ahead, *self._writes, *self._inflight]:
            if t is not None:
                t.cancel()
        for t in [self.task, self._ahead, self._flushing, *self._writes, *self._inflight]:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        with contextlib.suppress(Exception):
            await self._flush_done()
