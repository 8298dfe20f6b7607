"""The batch writer: write operations from many sessions folded into ordered bulk writes.

``submit`` returns a Future resolved once the write is durable (acknowledged by the server): the
consumer commits a CPE event's Kafka offset only after its effects are stored. One bulk write per
collection every few milliseconds carries hundreds of sessions' writes in one round trip.

Everything is MongoDB's own update semantics, sent as it is, but two tricks that
``benchmarks/storage.py`` shows pay on SecantusDB (database CPU per op, 2026-12-07, a device
holding a real gateway's 1,002-node data model, 4,582 fields; figures in ``DocUpdate`` and
``BatchWriter._write``): the conditional upsert of an unchanged device, which answers "duplicate
key", counted as done (1.35 ms against 5.6 ms for the plain update); and the read-and-replace of
documents that receive or hold a whole data model (9.5 ms against 5.2 s for a plain ``$set`` of
the data model's dotted paths; 14 ms against 21.5 ms for a small update of such a document).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from acs_contracts.mongo_collections import TASKS

from . import metrics
from .device_record import apply_update, lookup
from .mongo_retry import until_written

log = logging.getLogger(__name__)
_ANY = object()  # an operation whose document the writer cannot tell: later conditionals stay behind it

BIG_UPDATE_FIELDS = 256
BIG_DOCS_REMEMBERED = 50_000
DUPLICATE_KEY = 11000



@dataclass(slots=True)
class DocUpdate:
    """An update of one document, kept as data until the writer decides how to send it.

    ``only_if`` names a field and the value it must *not* hold for the update to apply (the
    Inform digest), sent as a ``$ne`` filter: with ``upsert`` the database then either updates a
    changed document, inserts a missing one, or answers "duplicate key" for an unchanged one,
    which the writer counts as done. It pays (benchmarks/storage.py, ``unchanged_inform``, bulks
    of 20 periodic Informs of devices holding a data model, SecantusDB): 1.35 ms of database CPU
    and 306 ops/s per device, against 5.6 ms and 88 ops/s for the plain update that rewrites it.
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
        a replace would leave, but the database writes only those fields and reads nothing
        (benchmarks/storage.py, ``bootstrap``: 4.5 ms of database CPU per BOOTSTRAP against 9.5 ms
        for a read and a replace), and fields nobody here touched (the NBI's ``_tags``) are left
        as they are."""
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
        # update grows with the document (benchmarks/storage.py, ``small_update_big_doc``: 21.5 ms
        # of SecantusDB's CPU for a three-field update of one holding 1,000 parameters, against
        # 14 ms for a read and a replace), so later updates of these documents are applied as a
        # read and a replace as well.
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
        in its place in the order (the database walks each dotted path of an update:
        benchmarks/storage.py, ``bootstrap``, a data model's 4,582 dotted paths set on a small
        document cost SecantusDB 5.2 s of CPU, a read and a replace 9.5 ms; a new device's document
        built in Python and inserted 5 ms, its upsert of dotted paths 5.7 s).

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
        """Read, apply in Python (``device_record.apply_update``, checked against the server's
        own operators by tests/test_storage_mongo.py), write back. A document built already over
        the stored one the session read is written without a read (``top_level_update``); one
        built from nothing is inserted without a look first (it is missing but for a race, which
        the duplicate key then turns into a read and a replace)."""
        t0 = time.perf_counter()
        what = f"large update of {op.filter}"
        if not (op.built_doc is not None and not self.is_big(coll, op.doc_id)
                and await until_written(what, functools.partial(self._update_built, coll, op))):
            look = op.insert_doc is None
            while True:
                try:
                    await until_written(what, functools.partial(self._read_and_replace, coll, op, look))
                    break
                except DuplicateKeyError:  # inserted by someone else since the look: look again
                    look = True
        metrics.MONGO_OP.labels(f"replace_{coll}").observe(time.perf_counter() - t0)
        if not fut.done():
            fut.set_result(None)

    async def _update_built(self, coll: str, op: DocUpdate) -> bool:
        """The built document as a ``$set`` of the top-level fields the steps touch; False when
        the document is gone meanwhile (deleted through the NBI): then a read decides."""
        update = op.top_level_update()
        if update and not (await self._db[coll].update_one(op.filter, update)).matched_count:
            return False
        self._remember_big(coll, op)
        return True

    async def _read_and_replace(self, coll: str, op: DocUpdate, look: bool) -> None:
        doc = await self._db[coll].find_one(op.filter) if look else None
        new: dict | None
        if doc is None and op.insert_doc is not None:
            new = op.insert_doc
        else:
            new = None if op.unchanged(doc) else op.apply(doc)
        if new is None:
            return
        if doc is None:
            await self._db[coll].insert_one(new)
        else:
            await self._db[coll].replace_one(op.filter, new, upsert=True)
        self._remember_big(coll, op)

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
        """``bulk_write``, sent again while the server is away (``mongo_retry``); an op the
        server rejects (BulkWriteError) is the caller's to settle."""
        return await until_written(f"bulk write to {coll}", lambda: self._db[coll].bulk_write(ops, ordered=ordered))

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

