"""The scheduler's MongoDB access: batched writes across sessions, the few reads a session needs,
and an in-memory index of devices with pending tasks, kept by polling.

A periodic session with nothing to do costs two small writes, folded with other sessions' writes
into bulk writes (so far less than one round trip per session), and no read: the pending-task
index says there is nothing to look up. The two writes: a replace of the device's tiny
``last_informs`` document, and a device-document update that applies only when the Inform says
something new (its digest differs from ``_acs.informHash``). The database's cost of an update
grows with the size of the document it touches (a whole data model: ~26 ms on the development
database, against ~0.3 ms for a filter that does not match), so repeating Informs never rewrite it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from acs_contracts import cpe_secrets
from acs_contracts.mongo_collections import CREDENTIALS, DEVICES, FAULTS, INFORM_HASH, LAST_INFORMS, TASKS

from . import metrics
from .device_record import BOOTSTRAP_DISCOVERED, BOOTSTRAP_PENDING, apply_update, lookup

log = logging.getLogger(__name__)
_ANY = object()  # an operation whose document the writer cannot tell: later conditionals stay behind it


_TASKS_OVERLAP = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BIG_UPDATE_FIELDS = 256
BIG_DOCS_REMEMBERED = 50_000
DUPLICATE_KEY = 11000


@dataclass(slots=True)
class DocUpdate:
    """An update of one document, kept as data until the writer decides how to send it.

    ``only_if`` names a field and the value it must *not* hold for the update to apply (the
    Inform digest): with ``upsert`` the database then either updates a changed document, inserts
    a missing one, or answers "duplicate key" for an unchanged one, which the writer counts as
    done.
    """

    filter: dict
    update: dict
    upsert: bool = False
    only_if: tuple[str, str] | None = None
    # Further (update, upsert) steps applied after ``update``, in order: a session's held writes
    # (``DeviceWrites``) folded into one read and one write of the document.
    then: tuple[tuple[dict, bool], ...] = ()
    # The document all the steps make from nothing, when already built: inserted as it is if the
    # document does not exist (a new device's, see ``DeviceWrites.overlay``).
    insert_doc: dict | None = None
    # The document all the steps make from the stored one the session read, when already built
    # (a BOOTSTRAP's data model laid over the document its Inform wrote): written without a read,
    # as a ``$set`` of the top-level fields the steps touch (see ``top_level_update``).
    built_doc: dict | None = None

    @property
    def field_count(self) -> int:
        return sum(len(v) for u, _ in self.steps() for v in u.values() if isinstance(v, dict))

    def steps(self) -> tuple[tuple[dict, bool], ...]:
        return ((self.update, self.upsert),) + self.then

    def apply(self, doc: dict | None) -> dict | None:
        """The document after this update (``doc`` is changed in place); None if there is none."""
        for update, upsert in self.steps():
            doc = apply_update(doc, update, self.doc_id, upsert)
        return doc

    @property
    def doc_id(self) -> Any:
        return self.filter.get("_id")

    def as_op(self) -> UpdateOne:
        assert not self.then, "a multi-step update is applied as a read and a replace"
        flt = self.filter if self.only_if is None else {**self.filter, self.only_if[0]: {"$ne": self.only_if[1]}}
        return UpdateOne(flt, self.update, upsert=self.upsert)

    def touched(self) -> set[str]:
        """The top-level fields the steps change in a stored document."""
        return {path.split(".", 1)[0] for u, _ in self.steps() for op in ("$set", "$unset", "$inc") for path in u.get(op) or ()}

    def top_level_update(self) -> dict:
        """``built_doc`` as an update of the top-level fields the steps touch: the same document as
        a replace would leave, but the database writes only those fields (on the development
        database a new data model set this way over a small document costs about half of replacing
        it), and fields nobody here touched (the NBI's ``_tags``) are left as they are."""
        doc = self.built_doc or {}
        touched = self.touched() - {"_id"}
        sets = {k: doc[k] for k in touched if k in doc}
        unsets = {k: "" for k in touched if k not in doc}
        return {**({"$set": sets} if sets else {}), **({"$unset": unsets} if unsets else {})}

    def unchanged(self, doc: dict | None) -> bool:
        """True when ``doc`` already holds what this conditional update would write."""
        if self.only_if is None or doc is None:
            return False
        return lookup(doc, self.only_if[0]) == self.only_if[1]


def _skipped(err: dict, op: Any) -> bool:
    """A conditional upsert whose document is unchanged ends as a duplicate key: nothing to do."""
    return err.get("code") == DUPLICATE_KEY and isinstance(op, DocUpdate) and op.only_if is not None


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
        self.pending_fields = 0  # their size: one whole data model weighs as much as thousands of small writes
        # Documents a big update was applied to (a whole data model): the database's cost of any
        # update grows with the document (~30 ms on the development database for one holding
        # 1,000 parameters, against ~15 ms for a read and a replace), so later updates of these
        # documents are applied as a read and a replace as well.
        self._big: OrderedDict[tuple[str, Any], None] = OrderedDict()
        self._wake = asyncio.Event()  # something to write
        self._full = asyncio.Event()  # a whole batch to write: no reason to wait for more
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
        if self._count >= self._max_batch:
            self._full.set()
        self.pending += 1
        fields = op.field_count if isinstance(op, DocUpdate) else 1
        self.pending_fields += fields
        metrics.PENDING_WRITES.set(self.pending)
        fut.add_done_callback(lambda _f: self._written(fields))
        self._wake.set()
        return fut

    def _written(self, fields: int) -> None:
        self.pending -= 1
        self.pending_fields -= fields
        metrics.PENDING_WRITES.set(self.pending)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._count < self._max_batch:
                # Up to max_delay for more writes to join the batch, less once it is full.
                try:
                    async with asyncio.timeout(self._max_delay):
                        await self._full.wait()
                except TimeoutError:
                    pass
            self._full.clear()  # no await from here to where _flush takes the batch
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
        them on one document take seconds, a replace of the same document milliseconds).

        Conditional updates (``only_if``) that no earlier operation of the batch touches the
        document of go first, as one unordered bulk: most of them end as "duplicate key"
        (unchanged), and in an ordered bulk each of those would stop the bulk."""
        lead, rest, touched = [], [], set()
        for item in items:
            op = item[0]
            key = op.doc_id if isinstance(op, DocUpdate) else _ANY
            if isinstance(op, DocUpdate) and op.only_if is not None and key not in touched \
                    and _ANY not in touched and op.field_count <= BIG_UPDATE_FIELDS and not op.then:
                lead.append(item)
            else:
                rest.append(item)
                touched.add(key)
        if lead:
            await self._bulk(coll, lead, ordered=False)
        items = rest
        start = 0
        for i, (op, fut) in enumerate(items):
            if isinstance(op, DocUpdate) and (op.then or op.field_count > BIG_UPDATE_FIELDS or
                                              (op.only_if is None and self.is_big(coll, op.doc_id))):
                if start < i:
                    await self._bulk(coll, items[start:i])
                await self._replace(coll, op, fut)
                start = i + 1
        if start < len(items):
            await self._bulk(coll, items[start:])

    async def _replace(self, coll: str, op: DocUpdate, fut: asyncio.Future) -> None:
        """Read, apply in Python, write back. A document that does not exist yet is inserted:
        the development database inserts a whole data model for a third of what replacing even a
        tiny document with it costs (~4 ms against ~10-13 ms)."""
        flt = op.filter
        for attempt in itertools.count():
            try:
                t0 = time.perf_counter()
                if attempt == 0 and op.built_doc is not None and not self.is_big(coll, op.doc_id):
                    # Built over the stored document this session read: no read again. A document
                    # gone meanwhile (deleted through the NBI) matches nothing: then as below.
                    update = op.top_level_update()
                    if not update or (await self._db[coll].update_one(flt, update)).matched_count:
                        self._remember_big(coll, op)
                        metrics.MONGO_OP.labels(f"replace_{coll}").observe(time.perf_counter() - t0)
                        break
                    continue
                # A document built already is inserted without a look first: it is missing but
                # for a race, which the duplicate key error below turns into a read and a replace.
                doc = None if attempt == 0 and op.insert_doc is not None else await self._db[coll].find_one(flt)
                new: dict | None
                if doc is None and op.insert_doc is not None:
                    new = op.insert_doc
                else:
                    new = None if op.unchanged(doc) else op.apply(doc)
                if new is not None and doc is None:
                    await self._db[coll].insert_one(new)
                elif new is not None:
                    await self._db[coll].replace_one(flt, new, upsert=True)
                if new is not None:
                    self._remember_big(coll, op)
                metrics.MONGO_OP.labels(f"replace_{coll}").observe(time.perf_counter() - t0)
                break
            except DuplicateKeyError:  # inserted by someone else since the read: read it again
                continue
            except PyMongoError as e:
                if attempt % 10 == 0:
                    log.warning("large update of %s failed (attempt %d), retrying: %s", flt, attempt + 1, e)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
        if not fut.done():
            fut.set_result(None)

    def is_big(self, coll: str, doc_id: Any) -> bool:
        """The document received a whole data model: its updates go as a read and a replace."""
        return (coll, doc_id) in self._big

    def _remember_big(self, coll: str, op: DocUpdate) -> None:
        key = (coll, op.doc_id)
        if op.field_count > BIG_UPDATE_FIELDS or key in self._big:
            self._big[key] = None
            self._big.move_to_end(key)
            while len(self._big) > BIG_DOCS_REMEMBERED:
                self._big.popitem(last=False)

    async def _bulk(self, coll: str, items: list[tuple[Any, asyncio.Future]], ordered: bool = True) -> None:
        """One bulk write of ``items`` (op, future); each future gets whether its upsert inserted.
        An op the server rejects fails alone (its future gets the error, or None when the
        rejection only means "already there", see ``_skipped``); the others are written."""
        t0 = time.perf_counter()
        size = len(items)
        while items:
            ops = [op.as_op() if isinstance(op, DocUpdate) else op for op, _ in items]
            try:
                result = await self._bulk_write(coll, ops, ordered)
            except BulkWriteError as e:
                items = self._rejected(coll, items, e, ordered)
                continue
            _settle_items(items, result.upserted_ids or {})
            break
        metrics.MONGO_OP.labels(f"bulk_write_{coll}").observe(time.perf_counter() - t0)
        metrics.WRITE_BATCH.observe(size)

    async def _bulk_write(self, coll: str, ops: list, ordered: bool) -> Any:
        """``bulk_write``, retried while the server is unreachable or restarting (the writes are
        kept, with a growing pause); an op the server rejects (BulkWriteError) is not retried."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, PyMongoError) and not isinstance(e, BulkWriteError)),
            wait=wait_exponential(multiplier=0.05, max=2.0), before_sleep=_log_retry(coll), reraise=True,
        ):
            with attempt:
                return await self._db[coll].bulk_write(ops, ordered=ordered)
        raise AssertionError("unreachable: AsyncRetrying retries until it returns or re-raises")

    @staticmethod
    def _rejected(coll: str, items: list[tuple[Any, asyncio.Future]], e: BulkWriteError,
                  ordered: bool) -> list[tuple[Any, asyncio.Future]]:
        """Settle what a BulkWriteError decided; the items left to write again."""
        errs = e.details.get("writeErrors") or [{}]
        if not ordered:  # every op was tried; the ones in error failed alone
            failed = {err.get("index", 0): err for err in errs}
            for i, err in failed.items():
                _reject(coll, items[i], err)
            inserted = {u["index"]: u["_id"] for u in e.details.get("upserted") or []}
            _settle_items([it for i, it in enumerate(items) if i not in failed], inserted, offsets=[
                i for i in range(len(items)) if i not in failed])
            return []
        # ordered: everything before the first error applied; the bad op fails alone, the rest goes again
        idx = errs[0].get("index", 0)
        _reject(coll, items[idx], errs[0])
        for _, f in items[:idx]:
            if not f.done():
                f.set_result(None)
        return items[idx + 1 :]


def _reject(coll: str, item: tuple[Any, asyncio.Future], err: dict) -> None:
    op, f = item
    if f.done():
        return
    if _skipped(err, op):
        f.set_result(None)
        return
    log.error("bulk write to %s rejected an op: %s", coll, err.get("errmsg"))
    f.set_exception(RuntimeError(err.get("errmsg", "write rejected")))


def _settle_items(items: list[tuple[Any, asyncio.Future]], inserted: dict[int, Any],
                  offsets: list[int] | None = None) -> None:
    """Each future gets whether its op (at ``offsets[i]`` in the bulk write, else ``i``) inserted."""
    for i, (_, f) in enumerate(items):
        if not f.done():
            f.set_result((offsets[i] if offsets is not None else i) in inserted)


def _log_retry(coll: str) -> Callable[[RetryCallState], None]:
    def log_it(state: RetryCallState) -> None:
        if state.attempt_number % 10 == 1:
            log.warning("bulk write to %s failed (attempt %d), retrying: %s", coll, state.attempt_number,
                        state.outcome.exception() if state.outcome else None)

    return log_it


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


class Unacknowledged:
    """Writes submitted and not yet acknowledged, by device: ``settled`` waits for a device's
    (a read that must see them waits for the flush already under way, no round trip of its own)."""

    __slots__ = ("_futs",)

    def __init__(self) -> None:
        self._futs: dict[str, list[asyncio.Future]] = {}

    def add(self, device_id: str, futs: list[asyncio.Future]) -> None:
        if futs:
            self._futs[device_id] = [f for f in self._futs.get(device_id, ()) if not f.done()] + futs
            futs[-1].add_done_callback(lambda _f: self._forget(device_id))

    def _forget(self, device_id: str) -> None:
        pending = self._futs.get(device_id)
        if pending is not None and all(f.done() for f in pending):
            del self._futs[device_id]

    async def settled(self, device_id: str) -> None:
        pending = self._futs.get(device_id)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


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


class Store:
    """Reads and writes of one scheduler instance."""

    def __init__(self, db, writer: BatchWriter, digest_cache: int = 200_000, tasks_poll_s: float = 0.25,
                 tasks_refresh_s: float = 60.0) -> None:
        self.db = db
        self.writer = writer
        self.digests = InformDigests(digest_cache)
        self.pending_devices: set[str] = set()
        self._poll_s = tasks_poll_s
        self._refresh_s = tasks_refresh_s
        self._poll_task: asyncio.Task | None = None
        self.tasks_poll_ok = False  # the last look at the tasks collection worked
        # Devices whose BOOTSTRAP may not be finished (``BOOTSTRAP_PENDING`` in their document):
        # those this instance began, and those found in the database at start, every
        # ``tasks_refresh_s`` and when partitions move. A session checks the document before
        # finishing a bootstrap, so an entry left behind costs one small read at most.
        self.bootstraps: set[str] = set()
        self._bootstraps_look: asyncio.Task | None = None
        # Task writes of each device submitted and not yet acknowledged: its pending tasks are
        # read only once they are stored (a task just completed is not read back as pending).
        self._task_writes = Unacknowledged()
        # CPE credentials are sealed with ACS_CREDENTIALS_KEYS (task_scheduler.cpe_credentials)
        self.secrets = cpe_secrets.Secrets(cpe_secrets.keys_from_env())

    async def start(self) -> None:
        self.secrets = cpe_secrets.from_env("task-scheduler")  # says so once when credentials stay plaintext
        await self._refresh()
        await self._look_up_bootstraps()
        self._poll_task = asyncio.create_task(self._poll_tasks(), name="tasks-poll")

    async def stop(self) -> None:
        for task in (self._poll_task, self._bootstraps_look):
            if task:
                task.cancel()

    async def _refresh(self) -> datetime:
        """Every device with a pending task; returns when the look began."""
        t0 = time.perf_counter()
        began = datetime.now(UTC)
        self.pending_devices |= set(await self.db[TASKS].distinct("device", {"status": "pending"}))
        metrics.MONGO_OP.labels("distinct_pending").observe(time.perf_counter() - t0)
        return began

    async def _poll_tasks(self) -> None:
        """Keep ``pending_devices`` current by looking for newly queued tasks every
        ``tasks_poll_s`` (an indexed range query on status and timestamp that finds nothing
        most of the time), and at every device with a pending task every ``tasks_refresh_s``
        (tasks set pending again, or queued out of timestamp order).

        A change stream would do this too, but the development database decodes every oplog
        entry for every open stream, whole data models included: ~2.5 ms of its CPU per
        first-contact session. Connection requests and BOOTSTRAP sessions always look tasks
        up, so a task hurried by a connection request never waits for the index.
        """
        since = datetime.now(UTC) - _TASKS_OVERLAP
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                if time.monotonic() - last_refresh >= self._refresh_s:
                    since = min(since, await self._refresh() - _TASKS_OVERLAP)
                    await self._look_up_bootstraps()
                    last_refresh = time.monotonic()
                t0 = time.perf_counter()
                found = await self.db[TASKS].find({"status": "pending", "timestamp": {"$gte": since}},
                                                  {"device": 1, "timestamp": 1}).to_list(None)
                metrics.MONGO_OP.labels("find_new_tasks").observe(time.perf_counter() - t0)
                newest = since + _TASKS_OVERLAP
                for t in found:
                    if t.get("device"):
                        self.pending_devices.add(t["device"])
                    ts = t.get("timestamp")
                    if isinstance(ts, datetime):
                        newest = max(newest, ts if ts.tzinfo else ts.replace(tzinfo=UTC))
                since = newest - _TASKS_OVERLAP  # inserts landing a little out of timestamp order are found too
                self.tasks_poll_ok = True
            except asyncio.CancelledError:
                raise
            except Exception as e:  # database restarting or overloaded: keep the set we have
                if self.tasks_poll_ok:
                    log.warning("looking for new tasks failed: %s", e)
                self.tasks_poll_ok = False

    def may_have_tasks(self, device_id: str) -> bool:
        return device_id in self.pending_devices

    # ---- BOOTSTRAPs not finished (a session cut short)
    async def _look_up_bootstraps(self) -> None:
        """Add the devices whose document says a BOOTSTRAP is pending to ``bootstraps``: an
        indexed query that finds only those (a sparse index, in
        ``acs_contracts.mongo_collections.INDEXES``: other documents have no entry)."""
        try:
            t0 = time.perf_counter()
            found = await self.db[DEVICES].find({BOOTSTRAP_PENDING: {"$gte": _EPOCH}}, {"_id": 1}).to_list(None)
            self.bootstraps.update(d["_id"] for d in found)
            metrics.MONGO_OP.labels("find_bootstraps").observe(time.perf_counter() - t0)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the next look (tasks_refresh_s) tries again
            log.warning("looking for unfinished bootstraps failed: %s", e)

    def look_up_bootstraps_soon(self) -> None:
        """Partitions move: devices another instance began a bootstrap of may be this one's now."""
        if self.db is not None and (self._bootstraps_look is None or self._bootstraps_look.done()):
            self._bootstraps_look = asyncio.ensure_future(self._look_up_bootstraps())

    def may_have_bootstrap(self, device_id: str) -> bool:
        return device_id in self.bootstraps

    def bootstrap_begun(self, device_id: str) -> None:
        self.bootstraps.add(device_id)

    async def pending_bootstrap(self, device_id: str) -> dict | None:
        """What the device document says of an unfinished BOOTSTRAP: ``{"since": <date>,
        "discovered": bool}``, or None (then the device is forgotten here)."""
        await self._settled(device_id)
        t0 = time.perf_counter()
        doc = await self.db[DEVICES].find_one({"_id": device_id}, {BOOTSTRAP_PENDING: 1, BOOTSTRAP_DISCOVERED: 1})
        metrics.MONGO_OP.labels("find_bootstrap").observe(time.perf_counter() - t0)
        since = lookup(doc, BOOTSTRAP_PENDING)
        if since is None:
            self.bootstraps.discard(device_id)
            return None
        return {"since": since, "discovered": bool(lookup(doc, BOOTSTRAP_DISCOVERED))}

    def bootstrap_done(self, device_id: str, held: DeviceWrites) -> list[asyncio.Future]:
        """The session finished the device's BOOTSTRAP: the mark goes with its held updates."""
        self.bootstraps.discard(device_id)
        return [held.unset([BOOTSTRAP_PENDING, BOOTSTRAP_DISCOVERED])]

    async def pending_tasks(self, device_id: str) -> list[dict]:
        """The device's pending tasks, in order, once this instance's writes of its tasks are
        stored: a session that follows at once the one that completed a task (events read in a
        backlog, a session taken over after a move) does not find that task still pending."""
        await self._task_writes.settled(device_id)
        t0 = time.perf_counter()
        cursor = self.db[TASKS].find({"device": device_id, "status": "pending", "transfer": {"$exists": False},
                                      "waitingFor": {"$exists": False}}).sort("timestamp", 1)
        tasks = await cursor.to_list(None)
        metrics.MONGO_OP.labels("find_tasks").observe(time.perf_counter() - t0)
        if tasks:  # (a task queued since the last poll, found by a connection request's session)
            self.pending_devices.add(device_id)
        else:
            self.pending_devices.discard(device_id)
        return tasks

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

    async def wake_tasks(self, device_id: str, event_code: str) -> int:
        """Tasks that waited for ``event_code`` (e.g. diagnostics results) become pending again, in phase 2."""
        t0 = time.perf_counter()
        r = await self.db[TASKS].update_many({"device": device_id, "status": "pending", "waitingFor": event_code},
                                             {"$unset": {"waitingFor": ""}, "$set": {"phase": 2}})
        metrics.MONGO_OP.labels("wake_tasks").observe(time.perf_counter() - t0)
        return r.modified_count

    async def _settled(self, device_id: str) -> None:
        """Hook: wait for the device's writes submitted and not yet acknowledged (see
        ReadYourWritesStore)."""

    async def device_doc(self, device_id: str, held: DeviceWrites | None = None) -> dict:
        """The device document, with the session's ``held`` updates applied."""
        await self._settled(device_id)
        t0 = time.perf_counter()
        doc = await self.db[DEVICES].find_one({"_id": device_id})
        metrics.MONGO_OP.labels("find_device").observe(time.perf_counter() - t0)
        if held is not None:
            return held.overlay(doc, keep=not self.writer.is_big(DEVICES, device_id))
        return doc or {"_id": device_id}

    def set_credentials(self, device_id: str, update: dict) -> asyncio.Future:
        """An update of the device's ``credentials`` document (built by task_scheduler.cpe_credentials)."""
        return self.writer.submit(CREDENTIALS, UpdateOne({"_id": device_id}, update, upsert=True))

    async def credentials_doc(self, device_id: str) -> dict | None:
        """The device's stored credentials, still sealed (read only when they are about to change)."""
        t0 = time.perf_counter()
        doc = await self.db[CREDENTIALS].find_one({"_id": device_id})
        metrics.MONGO_OP.labels("find_credentials").observe(time.perf_counter() - t0)
        return doc

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


    def update_task(self, task_id: Any, update: dict, device_id: str | None = None) -> asyncio.Future:
        """Update a task; with ``device_id``, the device's next ``pending_tasks`` waits for it."""
        fut = self.writer.submit(TASKS, UpdateOne({"_id": task_id}, update))
        if device_id is not None and not fut.done():
            self._task_writes.add(device_id, [fut])
        return fut

    def finish_task(self, task_id: Any, update: dict, device_id: str) -> asyncio.Future:
        """Write a task's final status, only over a pending one: when two schedulers both finish
        the same task (one rebuilt the session after a rebalance), the first outcome stays and a
        task an operator deleted meanwhile is not brought back."""
        fut = self.writer.submit(TASKS, UpdateOne({"_id": task_id, "status": "pending"}, update))
        if not fut.done():
            self._task_writes.add(device_id, [fut])
        return fut

    def upsert_fault(self, fault_id: str, doc: dict) -> asyncio.Future:
        return self.writer.submit(FAULTS, UpdateOne({"_id": fault_id}, {"$set": doc}, upsert=True))

    def clear_fault(self, fault_id: str) -> asyncio.Future:
        from pymongo import DeleteOne

        return self.writer.submit(FAULTS, DeleteOne({"_id": fault_id}))
