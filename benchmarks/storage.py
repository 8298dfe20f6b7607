"""The scheduler's storage tricks against their plain MongoDB form, on SecantusDB (issue 22).

Each figure pair measures one write the scheduler makes, the plain way (an update operator sent
to the server) and the way a trick makes it, on realistic documents: a device document holding
a whole data model (tools/cpe-simulator's, or the real dump in ../shared) with the summary an
Inform writes. Figures: ops per second (one client, awaited one after the other, as the
scheduler's batch writer does) and the database's CPU milliseconds per op (procstats).

- ``unchanged_inform``: a periodic Inform of an unchanged device, in bulks of 20 as the batch
  writer sends them: the device update as it is (``plain``) or filtered on
  ``_acs.informHash $ne digest`` (``ne_filter``: an upsert that answers duplicate key, counted
  as unchanged).
- ``bootstrap``: a BOOTSTRAP's data model written into the document its Inform made: a ``$set``
  of every dotted path (``plain``), against a read, the update applied in Python and a replace
  (``read_replace``) or a ``$set`` of the top-level fields of the document built in Python for
  the session's presets, without a read (``top_level_set``); and for a device the database does not hold yet, an upsert of dotted paths
  (``plain_new``) against an insert of the document built in Python (``insert_built``).
- ``small_update_big_doc``: a session's few held values written into a document holding a data
  model: an update (``plain``) against a read and a replace (``read_replace``).
- ``change_stream``: the database's CPU per BOOTSTRAP write with no change stream open and with
  one on the tasks collection (what a pending-task index fed by a change stream costs), and the
  CPU of one poll of the tasks collection (``poll_ms``, four a second by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne
from pymongo.errors import BulkWriteError

from acs_contracts.mongo_collections import DEVICES, INFORM_HASH, TASKS, ensure_indexes
from acs_devstack.servers import mongo_server, mongo_uri, new_workdir
from cwmp.messages import ParameterInfoStruct, ParameterValueStruct
from task_scheduler.device_record import apply_update, parameter_info_sets, parameter_sets

from .procstats import cpu_seconds
from .scenarios import igd_model

TS = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def data_model_sets() -> dict[str, Any]:
    """A BOOTSTRAP's discovery of the simulator's data model: names, then values, as the session writes them."""
    model = igd_model()
    infos = [ParameterInfoStruct(p, n.writable) for p, n in model.nodes.items()]
    values = [ParameterValueStruct(p, n.value, n.type or "xsd:string") for p, n in model.nodes.items() if not n.is_object]
    return {**parameter_info_sets(infos, TS), **parameter_sets(values, TS)}


def inform_sets(digest: str) -> dict[str, Any]:
    return {"_lastInform": TS, "_acs.lastEvents": ["2 PERIODIC"], "_acs.sourceIp": "10.0.0.1",
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion._value": "V1",
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion._type": "xsd:string", INFORM_HASH: digest}


class Bench:
    def __init__(self, db, db_pid: int) -> None:
        self.db = db
        self.pid = db_pid

    async def measure(self, fn: Callable[[int], Awaitable[Any]], n: int, per_call: int = 1) -> dict[str, float]:
        await fn(0)  # warm: the first call pays for the collection's caches
        c0, t0 = cpu_seconds(self.pid), time.perf_counter()
        for i in range(1, n + 1):
            await fn(i)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(self.pid) - c0
        ops = (n * per_call)
        return {"ops_per_s": round(ops / elapsed, 1), "db_cpu_ms_per_op": round(cpu * 1000 / ops, 3)}

    async def big_devices(self, prefix: str, count: int, model: dict) -> list[str]:
        ids = [f"{prefix}-{i}" for i in range(count)]
        docs = [apply_update(None, {"$set": {**model, **inform_sets("h")}}, d, True) for d in ids]
        await self.db[DEVICES].insert_many(docs)
        return ids

    async def unchanged_inform(self, model: dict, n: int) -> dict:
        ids = await self.big_devices("UI", 20, model)
        update = {"$set": inform_sets("h")}

        async def plain(_i: int) -> None:
            await self.db[DEVICES].bulk_write([UpdateOne({"_id": d}, update, upsert=True) for d in ids], ordered=False)

        async def ne_filter(_i: int) -> None:
            try:
                await self.db[DEVICES].bulk_write([UpdateOne({"_id": d, INFORM_HASH: {"$ne": "h"}}, update, upsert=True)
                                                   for d in ids], ordered=False)
            except BulkWriteError as e:  # every one a duplicate key: unchanged
                assert all(err["code"] == 11000 for err in e.details["writeErrors"])

        return {"plain": await self.measure(plain, n, len(ids)), "ne_filter": await self.measure(ne_filter, n, len(ids))}

    async def bootstrap(self, model: dict, n: int, n_plain: int) -> dict:
        """``n_plain``: few (none with ``--short``), a plain ``$set`` of a whole data model takes
        seconds on SecantusDB."""
        coll = self.db[DEVICES]
        update = {"$set": model}

        async def summary(name: str, i: int) -> str:
            d = f"{name}-{i}"
            await coll.insert_one(apply_update(None, {"$set": inform_sets("h")}, d, True))
            return d

        async def plain(i: int) -> None:
            d = await summary("BP", i)
            await coll.update_one({"_id": d}, update)

        async def read_replace(i: int) -> None:
            d = await summary("BR", i)
            doc = await coll.find_one({"_id": d})
            await coll.replace_one({"_id": d}, apply_update(doc, copy.deepcopy(update), d, False))

        async def top_level_set(i: int) -> None:  # the document built already for the presets: no read
            d = await summary("BT", i)
            built = apply_update(apply_update(None, {"$set": inform_sets("h")}, d, True), copy.deepcopy(update), d, False)
            assert built is not None
            await coll.update_one({"_id": d}, {"$set": {k: built[k] for k in {p.split(".", 1)[0] for p in model}}})

        async def plain_new(i: int) -> None:
            await coll.update_one({"_id": f"BN-{i}"}, update, upsert=True)

        async def insert_built(i: int) -> None:
            await coll.insert_one(apply_update(None, copy.deepcopy(update), f"BI-{i}", True))

        # the summary inserts are in both forms alike (measured alone, they are the floor)
        async def floor(i: int) -> None:
            await summary("BF", i)

        async def slow(fn: Callable[[int], Awaitable[Any]]) -> dict:
            return await self.measure(fn, n_plain) if n_plain else {"skipped": "--short: seconds per op"}

        return {"summary_insert_floor": await self.measure(floor, n), "plain": await slow(plain),
                "read_replace": await self.measure(read_replace, n), "top_level_set": await self.measure(top_level_set, n),
                "plain_new": await slow(plain_new),
                "insert_built": await self.measure(insert_built, n)}

    async def small_update_big_doc(self, model: dict, n: int) -> dict:
        ids = await self.big_devices("SU", 10, model)
        coll = self.db[DEVICES]

        def update(i: int) -> dict:
            return {"$set": {"InternetGatewayDevice.ManagementServer.PeriodicInformInterval._value": 300 + i,
                             "InternetGatewayDevice.ManagementServer.PeriodicInformEnable._value": True, INFORM_HASH: ""}}

        async def plain(i: int) -> None:
            await coll.update_one({"_id": ids[i % len(ids)]}, update(i))

        async def read_replace(i: int) -> None:
            d = ids[i % len(ids)]
            doc = await coll.find_one({"_id": d})
            await coll.replace_one({"_id": d}, apply_update(doc, update(i), d, False))

        return {"plain": await self.measure(plain, n), "read_replace": await self.measure(read_replace, n)}

    async def change_stream(self, model: dict, n: int) -> dict:
        coll = self.db[DEVICES]

        def writer(prefix: str) -> Callable[[int], Awaitable[None]]:
            async def write(i: int) -> None:
                await coll.insert_one(apply_update(None, {"$set": {**model, **inform_sets("h")}}, f"{prefix}-{i}", True))
                await self.db[TASKS].insert_one({"device": f"{prefix}-{i}", "status": "pending", "timestamp": datetime.now(UTC)})
            return write

        without = await self.measure(writer("CS0"), n)
        seen, all_seen = 0, asyncio.Event()
        async with await self.db[TASKS].watch([{"$match": {"operationType": "insert"}}], max_await_time_ms=250) as stream:

            async def drain() -> None:
                nonlocal seen
                while True:
                    if await stream.try_next() is not None:
                        seen += 1
                        if seen > n:
                            all_seen.set()
                    else:
                        await asyncio.sleep(0.01)

            task = asyncio.create_task(drain())
            try:
                with_stream = await self.measure(writer("CS1"), n)
                with contextlib.suppress(TimeoutError):  # the stream's own latency is not what is measured
                    await asyncio.wait_for(all_seen.wait(), 30)
            finally:
                task.cancel()
        since = datetime.now(UTC)

        async def poll(_i: int) -> None:
            await self.db[TASKS].find({"status": "pending", "timestamp": {"$gte": since}}, {"device": 1, "timestamp": 1}).to_list(None)

        polled = await self.measure(poll, n * 4)
        return {"no_stream": without, "one_stream": with_stream, "events_seen": seen,
                "stream_db_cpu_ms_per_session": round(with_stream["db_cpu_ms_per_op"] - without["db_cpu_ms_per_op"], 3),
                "poll": polled}


async def _figures(short: bool) -> dict:
    server = mongo_server(new_workdir("bench-storage-")).start()
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(server.port), serverSelectionTimeoutMS=10000)
    try:
        db = client["bench_storage"]
        await ensure_indexes(db)
        assert server.proc is not None
        bench = Bench(db, server.proc.pid)
        model = data_model_sets()
        n = 5 if short else 40
        out: dict = {"data_model_fields": len(model)}
        out["unchanged_inform"] = await bench.unchanged_inform(model, n)
        print("storage unchanged_inform", out["unchanged_inform"], flush=True)
        out["bootstrap"] = await bench.bootstrap(model, n // 2 or 1, 0 if short else 3)
        print("storage bootstrap", out["bootstrap"], flush=True)
        out["small_update_big_doc"] = await bench.small_update_big_doc(model, n)
        print("storage small_update_big_doc", out["small_update_big_doc"], flush=True)
        out["change_stream"] = await bench.change_stream(model, n // 2 or 1)
        print("storage change_stream", out["change_stream"], flush=True)
        return out
    finally:
        await client.close()
        server.stop()


def figures(short: bool) -> dict:
    """The storage figures (runs its own event loop and SecantusDB)."""
    return asyncio.run(_figures(short))


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(figures("--short" in sys.argv), indent=1, default=str))
