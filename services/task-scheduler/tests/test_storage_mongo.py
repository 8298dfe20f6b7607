"""The storage layer (batch writer, device repository) against a real SecantusDB: what it stores is
what MongoDB's own update semantics store, an unchanged periodic Inform leaves the device document
alone, a session's held writes are all or nothing and read back before they are written, a
server that stops answering for a while is waited out, and the pending-task index follows the
tasks collection."""

from __future__ import annotations

import asyncio
import copy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import UpdateOne

from acs_contracts.mongo_collections import DEVICES, INFORM_HASH, LAST_INFORMS, TASKS
from acs_devstack.servers import Server
from task_scheduler.device_record import apply_update, last_inform_doc
from task_scheduler.device_repository import DeviceWrites
from task_scheduler.pending_tasks import PendingTaskIndex
from task_scheduler.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_inform_writes import DEV, TS, _inform  # noqa: E402

ROOT = "InternetGatewayDevice"


UPDATES = [
    ({"$set": {"a.b.c": 1, "a.b.d": "x", "top": True}}, True),
    ({"$set": {"a.b": 5}}, False),  # an object replaced by a value
    ({"$set": {"a.b.c": 2}, "$unset": {"gone.deep": ""}}, False),
    ({"$unset": {"a": "", "missing.path": ""}}, False),
    ({"$set": {"n.x": 1}, "$setOnInsert": {"_registered": TS, "_tags": []}}, True),
    ({"$inc": {"attempts": 2, "deep.count": 1}}, False),
]


@pytest.mark.parametrize("update, upsert", UPDATES)
async def test_the_python_update_stores_what_the_server_stores(db, update: dict, upsert: bool):
    """device_record.apply_update (what a read and a replace writes, what a session reads back)
    against the server's own update operators, over a stored and a missing document."""
    stored = {"_id": "S", "a": {"b": {"c": 0, "e": 1}}, "gone": {"deep": 1, "kept": 2}, "deep": {"count": 1}, "attempts": 1}
    await db.devices.insert_one(copy.deepcopy(stored))
    await db.devices.update_one({"_id": "S"}, copy.deepcopy(update), upsert=upsert)
    assert apply_update(copy.deepcopy(stored), copy.deepcopy(update), "S", upsert) == await db.devices.find_one({"_id": "S"})
    await db.devices.update_one({"_id": "M"}, copy.deepcopy(update), upsert=upsert)
    assert apply_update(None, copy.deepcopy(update), "M", upsert) == await db.devices.find_one({"_id": "M"})


def _data_model(n: int) -> dict:
    return {f"{ROOT}.X.{i}.Value._value": f"v{i}" for i in range(n)} | {f"{ROOT}.X.{i}.Value._type": "xsd:string" for i in range(n)}


async def _record(store: Store, value: str, *codes: str) -> None:
    update, unsets = _inform(value, *codes)
    await asyncio.gather(*store.record_inform(DEV, update, unsets, "1 BOOT" in codes or "0 BOOTSTRAP" in codes,
                                              last_inform_doc(TS, list(codes))))


async def test_an_unchanged_periodic_inform_does_not_rewrite_the_device_document(db, writer):
    await _record(Store(db, writer), "V1", "1 BOOT")
    await db.devices.update_one({"_id": DEV}, {"$set": {"marker": "untouched"}})  # what a rewrite would keep, but...
    before = await db.devices.find_one({"_id": DEV})

    fresh = Store(db, writer)  # a scheduler that knows nothing of the device: the database decides
    await _record(fresh, "V1", "2 PERIODIC")
    assert await db.devices.find_one({"_id": DEV}) == before  # not written: the digest filter matched nothing
    assert (await db[LAST_INFORMS].find_one({"_id": DEV}))["_acs"]["lastEvents"] == ["2 PERIODIC"]
    assert fresh.digests.get(DEV) == before["_acs"]["informHash"]  # counted as written

    await _record(fresh, "V2", "2 PERIODIC")  # something new: written
    after = await db.devices.find_one({"_id": DEV})
    assert after[ROOT]["DeviceInfo"]["SoftwareVersion"]["_value"] == "V2" and after["_acs"]["informHash"] != before["_acs"]["informHash"]


async def test_held_writes_are_read_back_and_stored_all_together(db, writer):
    store = Store(db, writer)
    await _record(store, "V1", "0 BOOTSTRAP", "1 BOOT")
    stored = await db.devices.find_one({"_id": DEV})
    held = DeviceWrites(DEV)
    store.update_device(DEV, {"$set": _data_model(400)}, upsert=False, hold=held)  # a whole data model learnt
    store.update_device(DEV, {"$set": {f"{ROOT}.X.3.Value._value": "preset"}}, [f"{ROOT}.X.7"], upsert=False, hold=held)
    view = await store.device_doc(DEV, held)  # read-your-writes: the held updates laid over the stored document
    assert view[ROOT]["X"]["3"]["Value"]["_value"] == "preset" and "7" not in view[ROOT]["X"]
    assert await db.devices.find_one({"_id": DEV}) == stored  # nothing written yet

    await db.devices.update_one({"_id": DEV}, {"$set": {"_tags": ["tagged meanwhile"]}})  # through the NBI
    done = held.pending()
    await asyncio.gather(*store.release(held))
    assert done.done() and done.exception() is None
    after = await db.devices.find_one({"_id": DEV})
    assert after[ROOT]["X"]["3"]["Value"]["_value"] == "preset" and after[ROOT]["X"]["399"]["Value"]["_value"] == "v399"
    assert "7" not in after[ROOT]["X"] and after["_tags"] == ["tagged meanwhile"] and after["_acs"][INFORM_HASH.split(".")[1]] == ""

    # later small updates of a document holding a data model: the same result as the server's own
    held = DeviceWrites(DEV)
    store.update_device(DEV, {"$set": {f"{ROOT}.X.5.Value._value": "later"}}, upsert=False, hold=held)
    await asyncio.gather(*store.release(held))
    assert (await db.devices.find_one({"_id": DEV}))[ROOT]["X"]["5"]["Value"]["_value"] == "later"


async def test_a_first_contact_built_for_its_presets_is_stored_as_built(db, writer):
    store = Store(db, writer)
    held = DeviceWrites("NEW-1")
    store.update_device("NEW-1", {"$set": {"a.b._value": 1}, "$setOnInsert": {"_registered": TS}}, hold=held)
    store.update_device("NEW-1", {"$set": _data_model(300)}, upsert=False, hold=held)
    view = await store.device_doc("NEW-1", held)  # nothing stored: built from nothing
    await asyncio.gather(*store.release(held))
    assert await db.devices.find_one({"_id": "NEW-1"}) == view


async def test_a_rejected_write_fails_alone_and_the_others_are_stored(db, writer):
    ok1 = writer.submit(DEVICES, UpdateOne({"_id": "R1"}, {"$set": {"x": 1}}, upsert=True))
    bad = writer.submit(DEVICES, UpdateOne({"_id": "R2"}, {"$set": {"x": 1}, "$unset": {"x": ""}}, upsert=True))  # conflicting paths
    ok2 = writer.submit(DEVICES, UpdateOne({"_id": "R3"}, {"$set": {"x": 3}}, upsert=True))
    results = await asyncio.gather(ok1, bad, ok2, return_exceptions=True)
    assert not isinstance(results[0], Exception) and results[2] is True  # (written again after the rejected one: inserted)
    assert isinstance(results[1], RuntimeError) and "conflict" in str(results[1])
    assert {d["_id"] for d in await db.devices.find({"_id": {"$in": ["R1", "R2", "R3"]}}).to_list(None)} == {"R1", "R3"}


async def test_a_server_that_stops_answering_is_waited_out(storage_server: Server, db, writer):
    storage_server.pause()  # hung: holds its state, answers nothing
    try:
        futs = [writer.submit(DEVICES, UpdateOne({"_id": f"P{i}"}, {"$set": {"i": i}}, upsert=True)) for i in range(3)]
        await asyncio.sleep(0.5)  # the writer's first tries time out meanwhile: nothing may be lost or settled early
        assert not any(f.done() for f in futs)
    finally:
        storage_server.resume()
    assert await asyncio.wait_for(asyncio.gather(*futs), 120) == [True, True, True]
    assert await db.devices.count_documents({"_id": {"$in": ["P0", "P1", "P2"]}}) == 3


async def _until(cond, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def test_the_pending_task_index_follows_the_tasks_collection(db):
    now = datetime.now(UTC)
    await db[TASKS].insert_one({"device": "A", "status": "pending", "timestamp": now - timedelta(days=1)})
    await db[DEVICES].insert_one({"_id": "BS", "_acs": {"bootstrapPending": now}})
    index = PendingTaskIndex(db, tasks_poll_s=0.02, tasks_refresh_s=0.5)
    await index.start()
    try:
        assert index.may_have_tasks("A") and not index.may_have_tasks("B")  # loaded at start
        assert index.may_have_bootstrap("BS") and not index.may_have_bootstrap("A")
        await db[TASKS].insert_one({"device": "B", "status": "pending", "timestamp": datetime.now(UTC)})
        await _until(lambda: index.may_have_tasks("B"))  # queued now: found by the poll
        assert index.tasks_poll_ok
        # set pending again long after it was queued: the refresh finds it
        await db[TASKS].insert_one({"device": "C", "status": "done", "timestamp": now - timedelta(hours=1)})
        await db[TASKS].update_one({"device": "C"}, {"$set": {"status": "pending"}})
        await _until(lambda: index.may_have_tasks("C"))
    finally:
        await index.stop()
