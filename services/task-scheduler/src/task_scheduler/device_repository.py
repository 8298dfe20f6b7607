"""The device repository: what the scheduler reads and writes of device documents (and of their
``last_informs`` and ``credentials`` companions), through the batch writer.

A periodic session with nothing to do costs two small writes, folded with other sessions' writes
into bulk writes, and no read of the device document: a replace of the device's tiny
``last_informs`` document, and a device update that applies only when the Inform says something
new, filtered on ``_acs.informHash $ne <digest>``. ``benchmarks/storage.py`` on SecantusDB, a
device holding a 1,002-node data model, in bulks of 20: the plain update costs 5.6 ms of database
CPU per device (88 ops/s), the filtered one 1.35 ms (306 ops/s); ``InformDigests`` spares even
that for the devices this scheduler last wrote.

A session's updates after its Inform are held (``DeviceWrites``) and written together when it
ends: its writes are all or nothing, and what it reads of the device document is the stored one
with its held updates laid over it (read-your-writes without writing first).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence

from pymongo import ReplaceOne, UpdateOne

from acs_contracts import cpe_secrets
from acs_contracts.mongo_collections import CREDENTIALS, DEVICES, INFORM_HASH, LAST_INFORMS

from . import metrics
from .batch_writer import BIG_UPDATE_FIELDS, BatchWriter, DocUpdate
from .device_record import lookup


def copy_document(doc: dict) -> dict:
    """A copy of a document's objects and lists (its other values are immutable): about half the
    cost of building it again from a whole data model's update."""
    return {k: copy_document(v) if type(v) is dict else (list(v) if type(v) is list else v) for k, v in doc.items()}


def _settle(done: asyncio.Future, gathered: asyncio.Future) -> None:
    if done.done():
        return
    if gathered.cancelled():  # shutting down
        done.cancel()
        return
    errors = [r for r in gathered.result() if isinstance(r, BaseException)]
    if errors:
        done.set_exception(errors[0])
    else:
        done.set_result(None)



class InformDigests:
    """The Inform digest this scheduler last stored in each device document (bounded, least
    recently used out).

    While a device's next Inform has the same digest, its session writes only ``last_informs``.
    Safe because only the scheduler owning a device's partition writes its Informs: the cache is
    cleared when partitions move, an entry is dropped when the scheduler writes other values into
    the document, and a deleted device shows as an insert of its ``last_informs`` document, which
    brings the device document back.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._d: OrderedDict[str, str] = OrderedDict()
        # Digests being written, by device: remembered once written, unless another update of the
        # document came meanwhile (``drop``), which blanks the stored digest.
        self._writing: dict[str, str] = {}

    def writing(self, device_id: str, digest: str) -> None:
        self._writing[device_id] = digest

    def written(self, device_id: str, digest: str, ok: bool = True) -> None:
        """The write of ``digest`` is over (``ok``: acknowledged): remembered if nothing else was
        written to the document since."""
        if self._writing.get(device_id) == digest:
            del self._writing[device_id]
            if ok:
                self.put(device_id, digest)

    def get(self, device_id: str) -> str | None:
        digest = self._d.get(device_id)
        if digest is not None:
            self._d.move_to_end(device_id)
        return digest

    def put(self, device_id: str, digest: str) -> None:
        if self.capacity <= 0:
            return
        self._d[device_id] = digest
        self._d.move_to_end(device_id)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)

    def drop(self, device_id: str) -> None:
        self._d.pop(device_id, None)
        self._writing.pop(device_id, None)

    def clear(self) -> None:
        self._d.clear()
        self._writing.clear()

    def __len__(self) -> int:
        return len(self._d)


class DeviceWrites:
    """A session's device-document updates after its Inform, held back and written together when
    the session ends (normally, at the idle timeout, superseded, or its partition given up) or one
    of its tasks completes.

    The Inform's own update is not held: it is written at once (``Store.record_inform``), so what
    the CPE was acknowledged is stored whatever happens to the session after its InformResponse.
    What the session learns later is held: a first contact learns the whole data model and the
    presets' values one RPC apart; written as they come, that is a replace and another read and
    replace of a 100 KB document. Held, it is one write, built from the document the presets read
    (no read of its own).

    Every event whose updates are held gets ``done`` among its write futures (the Inform's event
    too: ``pending``), so its Kafka offset is committed only once the held updates are stored.
    Whoever ends a session must ``release`` them (``Store.release``), or the partition's commits
    stop there.
    """

    __slots__ = ("device_id", "ops", "done", "built")

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.ops: list[DocUpdate] = []
        self.done: asyncio.Future | None = None
        # The document as the first ``built[0]`` held updates make it from the stored one (a copy
        # of what ``overlay`` built; ``built[2]``: the stored one existed): its write then applies
        # only the later ones, and reads nothing.
        self.built: tuple[int, dict, bool] | None = None

    def pending(self) -> asyncio.Future:
        """Resolved once what is held now or later (until the next ``release``) is stored."""
        if self.done is None:
            self.done = asyncio.get_running_loop().create_future()
        return self.done

    def hold(self, op: DocUpdate) -> asyncio.Future:
        self.ops.append(op)
        return self.pending()

    def unset(self, paths: list[str]) -> asyncio.Future:
        """Hold the removal of ``paths`` (leaves: nothing is set below them), merged into the last
        held update when there is one (no further operation), else as an update of its own."""
        last = self.ops[-1] if self.ops else None
        in_built = self.built is not None and len(self.ops) <= self.built[0]  # applied to the copy already
        if last is None or last.only_if is not None or last.then or in_built:
            return self.hold(DocUpdate({"_id": self.device_id}, {"$unset": dict.fromkeys(paths, "")}))
        update = dict(last.update)
        if "$set" in update:  # a path set and unset by the same update conflicts: unset wins
            update["$set"] = {k: v for k, v in update["$set"].items() if k not in paths}
        update["$unset"] = {**(update.get("$unset") or {}), **dict.fromkeys(paths, "")}
        last.update = update
        return self.pending()

    def overlay(self, doc: dict | None, keep: bool = True) -> dict:
        """``doc`` (as read from the database, None if missing) with the held updates applied:
        what the document will be once they are written. A document built from nothing (a
        first contact) or holding a whole data model just learnt is kept, copied, for the write
        (unless not ``keep``: a document written by a read and a replace anyway); the caller may
        change the one returned."""
        new = doc is None
        for op in self.ops:
            doc = op.apply(doc)
        if doc is None:
            return {"_id": self.device_id}
        if new or (keep and any(op.field_count > BIG_UPDATE_FIELDS for op in self.ops)):
            self.built = (len(self.ops), copy_document(doc), not new)
        return doc

    def built_with(self, ops: list[DocUpdate]) -> tuple[dict, bool] | None:
        """The document ``ops`` make, from the copy ``overlay`` kept if they extend the updates it
        was built from, and whether it was built over a stored document; None without one."""
        if self.built is None:
            return None
        n, built, stored = self.built
        doc: dict | None = built
        for op in ops[n:]:
            doc = op.apply(doc)
        if doc is None:
            return None
        return doc, stored

    def known_type(self, path: str) -> str | None:
        """The parameter type a held update sets for ``path``, the latest one."""
        for op in reversed(self.ops):
            for update, _ in reversed(op.steps()):
                t = (update.get("$set") or {}).get(f"{path}._type")
                if t:
                    return t
        return None



class DeviceRepository:
    """Reads and writes of device documents for one scheduler instance."""

    def __init__(self, db, writer: BatchWriter, digest_cache: int = 200_000) -> None:
        self.db = db
        self.writer = writer
        self.digests = InformDigests(digest_cache)
        # CPE credentials are sealed with ACS_CREDENTIALS_KEYS (task_scheduler.cpe_credentials)
        self.secrets = cpe_secrets.Secrets(cpe_secrets.keys_from_env())

    async def device_doc(self, device_id: str, held: DeviceWrites | None = None) -> dict:
        """The device document, with the session's ``held`` updates applied."""
        await self._settled(device_id)
        t0 = time.perf_counter()
        doc = await self.db[DEVICES].find_one({"_id": device_id})
        metrics.MONGO_OP.labels("find_device").observe(time.perf_counter() - t0)
        if held is not None:
            return held.overlay(doc, keep=not self.writer.is_big(DEVICES, device_id))
        return doc or {"_id": device_id}

    async def device_types(self, device_id: str, paths: list[str], held: DeviceWrites | None = None) -> dict[str, str]:
        """Parameter types as stored, or as the session's ``held`` updates will store them."""
        out = {p: t for p in paths if held is not None and (t := held.known_type(p))}
        paths = [p for p in paths if p not in out]
        if not paths:
            return out
        proj = {f"{p}._type": 1 for p in paths}
        doc = await self.db[DEVICES].find_one({"_id": device_id}, proj) or {}
        for p in paths:
            node = lookup(doc, p)
            if isinstance(node, dict) and node.get("_type"):
                out[p] = node["_type"]
        return out

    async def _settled(self, device_id: str) -> None:
        """Hook: wait for the device's writes submitted and not yet acknowledged (see
        ReadYourWritesStore)."""

    def set_credentials(self, device_id: str, update: dict) -> asyncio.Future:
        """An update of the device's ``credentials`` document (built by task_scheduler.cpe_credentials)."""
        return self.writer.submit(CREDENTIALS, UpdateOne({"_id": device_id}, update, upsert=True))

    async def credentials_doc(self, device_id: str) -> dict | None:
        """The device's stored credentials, still sealed (read only when they are about to change)."""
        t0 = time.perf_counter()
        doc = await self.db[CREDENTIALS].find_one({"_id": device_id})
        metrics.MONGO_OP.labels("find_credentials").observe(time.perf_counter() - t0)
        return doc

    def record_inform(self, device_id: str, update: dict, unsets: list[str], full: bool,
                      last_inform: dict) -> list[asyncio.Future]:
        """The writes of one Inform, at once (in the next batch, whatever the session does next):
        ``last_informs`` always; the device document when ``full`` (BOOT, BOOTSTRAP), or when the
        Inform's digest differs from the one stored there (known from the cache: then no device
        write at all; unknown: a conditional update)."""
        digest = update["$set"][INFORM_HASH]
        hot = self.writer.submit(LAST_INFORMS, ReplaceOne({"_id": device_id}, last_inform, upsert=True))
        if not full and self.digests.get(device_id) == digest:
            return [asyncio.ensure_future(self._unless_new(device_id, update, hot))]
        futs = self.update_device(device_id, update, unsets, only_if=None if full else (INFORM_HASH, digest))
        self.digests.writing(device_id, digest)
        futs[-1].add_done_callback(lambda f: self._remember(device_id, digest, f))
        return futs + [hot]

    async def _unless_new(self, device_id: str, update: dict, hot: asyncio.Future) -> None:
        """Skipped device write, unless ``last_informs`` had no document for the device (deleted
        through the NBI meanwhile): then the device document is written as for a new device."""
        if await hot:
            self.digests.drop(device_id)
            await asyncio.gather(*self.update_device(device_id, update))

    def _remember(self, device_id: str, digest: str, fut: asyncio.Future) -> None:
        self.digests.written(device_id, digest, not fut.cancelled() and fut.exception() is None)

    def update_device(self, device_id: str, update: dict, unsets: Sequence[str] = (), upsert: bool = True,
                      only_if: tuple[str, str] | None = None, hold: DeviceWrites | None = None) -> list[asyncio.Future]:
        """Queue a device-document update, or hold it in the session's ``hold`` until ``release``;
        with ``only_if=(field, value)`` it applies only to a document whose ``field`` differs
        from ``value`` (see ``DocUpdate``).

        Any update that is not an Inform's blanks the stored Inform digest: the values it writes
        may be ones the next Inform reports otherwise, so that Inform must be written in full.
        """
        sets = update.get("$set")
        if update and (sets is None or INFORM_HASH not in sets):
            update = {**update, "$set": {**(sets or {}), INFORM_HASH: ""}}
            self.digests.drop(device_id)
        ops = []
        if unsets:
            ops.append(DocUpdate({"_id": device_id}, {"$unset": dict.fromkeys(unsets, "")}))
        if update:
            ops.append(DocUpdate({"_id": device_id}, update, upsert, only_if))
        if hold is not None:
            return [hold.hold(op) for op in ops][-1:]
        futs = [self.writer.submit(DEVICES, op) for op in ops]
        self._device_written(device_id, futs)
        return futs

    def release(self, held: DeviceWrites) -> list[asyncio.Future]:
        """Write a session's held device updates. When one of them is a whole data model, or the
        document holds one, they are folded into one write of the document: built already when
        the presets read it (an insert for a new device, else an update of the top-level fields
        they touch), else a read and a replace (such a document is read and replaced anyway).
        Otherwise they go as they are, in order, in the batched bulk writes (a read and a replace
        per session would serialise what bulk writes do hundreds at a time). Resolves
        ``held.done`` once stored (at once when nothing was held)."""
        ops, held.ops = held.ops, []
        done, held.done = held.done, None
        built, held.built = held.built_with(ops) if ops else None, None
        if not ops:
            if done is not None and not done.done():
                done.set_result(None)
            return []
        device_id = held.device_id
        if built is not None or (len(ops) > 1 and (any(op.field_count > BIG_UPDATE_FIELDS for op in ops)
                                                   or self.writer.is_big(DEVICES, device_id))):
            steps = tuple(step for op in ops for step in op.steps())
            doc, stored = built if built is not None else (None, False)
            ops = [DocUpdate({"_id": device_id}, steps[0][0], steps[0][1], None, steps[1:],
                             insert_doc=None if stored else doc, built_doc=doc if stored else None)]
        futs = [self.writer.submit(DEVICES, op) for op in ops]
        self._device_written(device_id, futs)
        if done is not None:
            gathered = asyncio.gather(*futs, return_exceptions=True)
            gathered.add_done_callback(lambda g: _settle(done, g))
        return futs

    def _device_written(self, device_id: str, futs: list[asyncio.Future]) -> None:
        """Hook: device writes submitted to the database (see ReadYourWritesStore)."""
