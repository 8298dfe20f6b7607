"""The scheduler's MongoDB access: batched writes across sessions, the few reads a session needs,
and an in-memory index of devices with pending tasks fed by a change stream.

A periodic session with nothing to do costs one device upsert, folded with other sessions'
upserts into one ordered ``bulk_write`` (so less than one round trip per session), and no read:
the pending-task index says there is nothing to look up.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
import logging
import time
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from acs_contracts.mongo_collections import CREDENTIALS, DEVICES, FAULTS, TASKS

from . import metrics
from .device_record import apply_update

log = logging.getLogger(__name__)


BIG_UPDATE_FIELDS = 256


@dataclass(slots=True)
class DocUpdate:
    """An update of one document, kept as data until the writer decides how to send it."""

    filter: dict
    update: dict
    upsert: bool = False

    @property
    def field_count(self) -> int:
        return sum(len(v) for v in self.update.values() if isinstance(v, dict))

    def as_op(self) -> UpdateOne:
        return UpdateOne(self.filter, self.update, upsert=self.upsert)


class BatchWriter:
    """Collects write operations from many sessions and flushes them as ordered bulk writes.

    ``submit`` returns a Future resolved when the write is durable (acknowledged by the
    server), so the consumer commits a Kafka offset only after its effects are stored.
    """

    def __init__(self, db, max_batch: int = 500, max_delay_s: float = 0.005) -> None:
        self._db = db
        self._max_batch = max_batch
        self._max_delay = max_delay_s
        self._ops: dict[str, list[tuple[Any, asyncio.Future]]] = {}
        self._count = 0
        self.pending = 0  # submitted, not yet acknowledged by the database
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._flush()

    def submit(self, collection: str, op: Any) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._ops.setdefault(collection, []).append((op, fut))
        self._count += 1
        self.pending += 1
        metrics.PENDING_WRITES.set(self.pending)
        fut.add_done_callback(self._written)
        self._wake.set()
        return fut

    def _written(self, _fut: asyncio.Future) -> None:
        self.pending -= 1
        metrics.PENDING_WRITES.set(self.pending)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            deadline = time.monotonic() + self._max_delay
            while self._count < self._max_batch and time.monotonic() < deadline:
                await asyncio.sleep(max(0.0, min(0.001, deadline - time.monotonic())))
            await self._flush()

    async def _flush(self) -> None:
        if not self._count:
            return
        batches, self._ops, self._count = self._ops, {}, 0
        # Tasks last: whoever waits for a task's status (the NBI) then finds its effects stored.
        for coll in sorted(batches, key=lambda c: c == TASKS):
            try:
                await self._write(coll, batches[coll])
            except Exception as e:  # a bad operation must never stop the writer: fail that batch, go on
                log.exception("bulk write to %s failed", coll)
                for _, f in batches[coll]:
                    if not f.done():
                        f.set_exception(e)

    async def _write(self, coll: str, items: list[tuple[Any, asyncio.Future]]) -> None:
        """Ordered bulk writes; an update with very many fields is applied as a read and a replace
        in its place in the order (the database walks each dotted path of an update: thousands of
        them on one document take seconds, a replace of the same document milliseconds)."""
        start = 0
        for i, (op, fut) in enumerate(items):
            if isinstance(op, DocUpdate) and op.field_count > BIG_UPDATE_FIELDS:
                if start < i:
                    await self._bulk(coll, items[start:i])
                await self._replace(coll, op, fut)
                start = i + 1
        if start < len(items):
            await self._bulk(coll, items[start:])

    async def _replace(self, coll: str, op: DocUpdate, fut: asyncio.Future) -> None:
        flt = op.filter
        for attempt in itertools.count():
            try:
                t0 = time.perf_counter()
                doc = await self._db[coll].find_one(flt)
                new = apply_update(doc, op.update, flt.get("_id"), op.upsert)
                if new is not None:
                    await self._db[coll].replace_one(flt, new, upsert=True)
                metrics.MONGO_OP.labels(f"replace_{coll}").observe(time.perf_counter() - t0)
                break
            except PyMongoError as e:
                if attempt % 10 == 0:
                    log.warning("large update of %s failed (attempt %d), retrying: %s", flt, attempt + 1, e)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
        if not fut.done():
            fut.set_result(None)

    async def _bulk(self, coll: str, items: list[tuple[Any, asyncio.Future]]) -> None:
        ops = [op.as_op() if isinstance(op, DocUpdate) else op for op, _ in items]
        t0 = time.perf_counter()
        for attempt in itertools.count():
            try:
                await self._db[coll].bulk_write(ops, ordered=True)
                break
            except BulkWriteError as e:
                # ordered: everything before the first error applied; skip the bad op, keep going
                errs = e.details.get("writeErrors") or [{}]
                idx = errs[0].get("index", 0)
                log.error("bulk write to %s: op %d rejected: %s", coll, idx, errs[0].get("errmsg"))
                bad_fut = items[idx][1]
                if not bad_fut.done():
                    bad_fut.set_exception(RuntimeError(errs[0].get("errmsg", "write rejected")))
                for _, f in items[:idx]:
                    if not f.done():
                        f.set_result(None)
                items = items[idx + 1 :]
                ops = ops[idx + 1 :]
                if not ops:
                    break
            except PyMongoError as e:  # server unreachable or restarting: keep the writes, retry
                if attempt % 10 == 0:
                    log.warning("bulk write to %s failed (attempt %d), retrying: %s", coll, attempt + 1, e)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
        metrics.MONGO_OP.labels(f"bulk_write_{coll}").observe(time.perf_counter() - t0)
        metrics.WRITE_BATCH.observe(len(ops))
        for _, f in items:
            if not f.done():
                f.set_result(None)


class Store:
    """Reads and writes of one scheduler instance."""

    def __init__(self, db, writer: BatchWriter) -> None:
        self.db = db
        self.writer = writer
        self.pending_devices: set[str] = set()
        self._watch_task: asyncio.Task | None = None
        self.watch_ok = False

    async def start(self) -> None:
        t0 = time.perf_counter()
        self.pending_devices = set(await self.db[TASKS].distinct("device", {"status": "pending"}))
        metrics.MONGO_OP.labels("distinct_pending").observe(time.perf_counter() - t0)
        self._watch_task = asyncio.create_task(self._watch(), name="tasks-change-stream")

    async def stop(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()

    async def _watch(self) -> None:
        """Keep ``pending_devices`` current from the tasks collection's change stream.

        While the stream is down (database restarting or overloaded) the last known set stays in
        use rather than sending every session to the database; on reconnect the set is reloaded,
        so a task inserted meanwhile is found at that device's next session (connection
        requests, the usual way tasks are hurried, always look).
        """
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}}]
        first = True
        while True:
            try:
                async with await self.db[TASKS].watch(pipeline, full_document="updateLookup") as stream:
                    if not first:
                        self.pending_devices |= set(await self.db[TASKS].distinct("device", {"status": "pending"}))
                    first = False
                    self.watch_ok = True
                    async for change in stream:
                        doc = change.get("fullDocument") or {}
                        if doc.get("status") == "pending" and doc.get("device"):
                            self.pending_devices.add(doc["device"])
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.watch_ok = False
                log.warning("tasks change stream interrupted: %s", e)
                await asyncio.sleep(1.0)

    def may_have_tasks(self, device_id: str) -> bool:
        return device_id in self.pending_devices

    async def pending_tasks(self, device_id: str) -> list[dict]:
        t0 = time.perf_counter()
        cursor = self.db[TASKS].find({"device": device_id, "status": "pending", "transfer": {"$exists": False},
                                      "waitingFor": {"$exists": False}}).sort("timestamp", 1)
        tasks = await cursor.to_list(None)
        metrics.MONGO_OP.labels("find_tasks").observe(time.perf_counter() - t0)
        if not tasks:
            self.pending_devices.discard(device_id)
        return tasks

    async def device_types(self, device_id: str, paths: list[str]) -> dict[str, str]:
        proj = {f"{p}._type": 1 for p in paths}
        doc = await self.db[DEVICES].find_one({"_id": device_id}, proj) or {}
        out = {}
        for p in paths:
            node: Any = doc
            for seg in p.split("."):
                node = node.get(seg) if isinstance(node, dict) else None
            if isinstance(node, dict) and node.get("_type"):
                out[p] = node["_type"]
        return out

    async def wake_tasks(self, device_id: str, event_code: str) -> int:
        """Tasks that waited for ``event_code`` (e.g. diagnostics results) become pending again, in phase 2."""
        t0 = time.perf_counter()
        r = await self.db[TASKS].update_many({"device": device_id, "status": "pending", "waitingFor": event_code},
                                             {"$unset": {"waitingFor": ""}, "$set": {"phase": 2}})
        metrics.MONGO_OP.labels("wake_tasks").observe(time.perf_counter() - t0)
        return r.modified_count

    async def device_doc(self, device_id: str, projection: dict | None = None) -> dict:
        t0 = time.perf_counter()
        doc = await self.db[DEVICES].find_one({"_id": device_id}, projection)
        metrics.MONGO_OP.labels("find_device").observe(time.perf_counter() - t0)
        return doc or {"_id": device_id}

    def set_credentials(self, device_id: str, sets: dict) -> asyncio.Future:
        return self.writer.submit(CREDENTIALS, UpdateOne({"_id": device_id}, {"$set": sets}, upsert=True))

    async def task_by_id(self, task_id: str) -> dict | None:
        try:
            oid = ObjectId(task_id)
        except Exception:
            return None
        return await self.db[TASKS].find_one({"_id": oid})

    async def file_length(self, name: str) -> int:
        doc = await self.db["fs.files"].find_one({"filename": name}, {"length": 1}, sort=[("uploadDate", -1)])
        return int((doc or {}).get("length", 0))

    # ---- writes (batched)
    def update_device(self, device_id: str, update: dict, unsets: list[str] = (), upsert: bool = True) -> list[asyncio.Future]:
        futs = []
        if unsets:
            futs.append(self.writer.submit(DEVICES, DocUpdate({"_id": device_id}, {"$unset": {u: "" for u in unsets}})))
        if update:
            futs.append(self.writer.submit(DEVICES, DocUpdate({"_id": device_id}, update, upsert)))
        return futs

    def update_task(self, task_id: Any, update: dict) -> asyncio.Future:
        return self.writer.submit(TASKS, UpdateOne({"_id": task_id}, update))

    def upsert_fault(self, fault_id: str, doc: dict) -> asyncio.Future:
        return self.writer.submit(FAULTS, UpdateOne({"_id": fault_id}, {"$set": doc}, upsert=True))

    def clear_fault(self, fault_id: str) -> asyncio.Future:
        from pymongo import DeleteOne

        return self.writer.submit(FAULTS, DeleteOne({"_id": fault_id}))
