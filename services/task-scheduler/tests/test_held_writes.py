"""A session's device updates held until it ends (task_scheduler.store.DeviceWrites, Store.release),
and how the batch writer stores them (the read-and-replace against a real SecantusDB)."""

from __future__ import annotations

import asyncio
import copy
import sys
from pathlib import Path

import pytest

from acs_contracts.mongo_collections import DEVICES, INFORM_HASH
from task_scheduler.device_record import last_inform_doc
from task_scheduler.store import BatchWriter, DeviceWrites, DocUpdate, Store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_inform_writes import DEV, TS, RecordingWriter, _inform  # noqa: E402

ROOT = "InternetGatewayDevice"


class Writer(RecordingWriter):
    def __init__(self) -> None:
        super().__init__()
        self.big: set = set()

    def is_big(self, coll: str, doc_id: object) -> bool:
        return (coll, doc_id) in self.big


def _device_ops(w: Writer) -> list[DocUpdate]:
    return [op for coll, op in w.ops if coll == DEVICES]  # type: ignore[misc]


def _data_model(n: int) -> dict:
    return {f"{ROOT}.X.{i}.Value._value": f"v{i}" for i in range(n)} | {f"{ROOT}.X.{i}.Value._type": "xsd:string" for i in range(n)}


def _stored_by(ops: list[DocUpdate], doc: dict | None = None) -> dict | None:
    """The document the database holds once ``ops`` are applied, in order."""
    for op in ops:
        doc = op.apply(doc)
    return doc


@pytest.mark.asyncio
async def test_a_first_contact_writes_its_inform_at_once_and_the_rest_in_one_write():
    w = Writer()
    store = Store(None, w)  # type: ignore[arg-type]
    held = DeviceWrites(DEV)
    update, unsets = _inform("V1", "0 BOOTSTRAP", "1 BOOT")
    store.record_inform(DEV, update, unsets, True, last_inform_doc(TS, ["0 BOOTSTRAP"]))
    inform_ops = _device_ops(w)  # at once, whatever the session does next: the tree cleared, the Inform
    assert [bool(op.update.get("$setOnInsert")) for op in inform_ops] == [False, True]
    stored = _stored_by(inform_ops)
    assert stored["_deviceId"]["_SerialNumber"] == "X1" and stored["_acs"]["bootstrapPending"] == TS
    w.ops.clear()

    discovered = store.update_device(DEV, {"$set": _data_model(300)}, upsert=False, hold=held)
    provisioned = store.update_device(DEV, {"$set": {f"{ROOT}.ManagementServer.PeriodicInformInterval._value": 300}},
                                      upsert=False, hold=held)
    assert discovered == provisioned == [held.done] and _device_ops(w) == []  # held

    # what the presets read meanwhile: the stored document with every held update applied
    doc = held.overlay(copy.deepcopy(stored))
    assert doc["_deviceId"]["_SerialNumber"] == "X1" and doc[ROOT]["X"]["299"]["Value"]["_value"] == "v299"
    assert doc[ROOT]["ManagementServer"]["PeriodicInformInterval"]["_value"] == 300
    assert doc["_acs"]["informHash"] == ""  # values other than the Inform's were written
    assert held.known_type(f"{ROOT}.X.7.Value") == "xsd:string"

    done = held.done
    written = store.release(held)
    (op,) = _device_ops(w)  # one write, no read: built for the presets already
    assert op.then and op.only_if is None and op.insert_doc is None and op.built_doc == doc
    assert op.apply(copy.deepcopy(stored)) == doc
    top = op.top_level_update()
    assert set(top["$set"]) == {ROOT, "_acs"} and "$unset" not in top  # _deviceId, _tags... left alone
    await asyncio.gather(*written)
    await asyncio.sleep(0)
    assert done.done() and held.done is None and held.ops == []
    assert store.release(held) == []  # nothing more held


@pytest.mark.asyncio
async def test_a_document_holding_a_new_data_model_is_built_once_for_the_presets_and_the_write():
    w = Writer()
    store = Store(None, w)  # type: ignore[arg-type]
    held = DeviceWrites(DEV)
    update, unsets = _inform("V1", "0 BOOTSTRAP", "1 BOOT")
    store.record_inform(DEV, update, unsets, True, last_inform_doc(TS, ["0 BOOTSTRAP"]))
    stored = _stored_by(_device_ops(w))
    w.ops.clear()
    store.update_device(DEV, {"$set": _data_model(300)}, upsert=False, hold=held)
    view = held.overlay(copy.deepcopy(stored))
    view[ROOT]["X"]["3"]["Value"]["_value"] = "changed by the reader"  # the provisioning run changes its view
    store.update_device(DEV, {"$set": {f"{ROOT}.X.4.Value._value": "set later"}}, upsert=False, hold=held)

    store.release(held)
    (op,) = _device_ops(w)
    assert op.built_doc is not None and held.built is None
    assert op.built_doc == op.apply(copy.deepcopy(stored))  # what applying them to it gives, the reader's changes aside
    assert op.built_doc[ROOT]["X"]["3"]["Value"]["_value"] == "v3"
    assert op.built_doc[ROOT]["X"]["4"]["Value"]["_value"] == "set later"


@pytest.mark.asyncio
async def test_a_document_read_for_small_updates_is_not_kept_for_the_write():
    w = Writer()
    store = Store(None, w)  # type: ignore[arg-type]
    held = DeviceWrites(DEV)
    store.update_device(DEV, {"$set": {f"{ROOT}.X.3.Value._value": "a"}}, upsert=False, hold=held)
    store.update_device(DEV, {"$set": {f"{ROOT}.X.4.Value._value": "b"}}, upsert=False, hold=held)
    held.overlay({"_id": DEV, "stored": True})
    assert held.built is None  # no copy of a document for updates the bulk writes carry as they are
    store.release(held)
    assert [bool(op.then) for op in _device_ops(w)] == [False, False]


@pytest.mark.asyncio
async def test_the_inform_digest_is_remembered_once_written_unless_another_update_came():
    w = Writer()
    store = Store(None, w)  # type: ignore[arg-type]
    update, unsets = _inform("V1", "2 PERIODIC")
    await asyncio.gather(*store.record_inform(DEV, update, unsets, False, last_inform_doc(TS, ["2 PERIODIC"])))
    (inform,) = _device_ops(w)
    assert inform.only_if == (INFORM_HASH, update["$set"][INFORM_HASH]) and not inform.then
    assert store.digests.get(DEV) == update["$set"][INFORM_HASH]  # remembered once written

    w.ops.clear()
    held = DeviceWrites(DEV)
    update, unsets = _inform("V2", "6 CONNECTION REQUEST")
    futs = store.record_inform(DEV, update, unsets, False, last_inform_doc(TS, ["6 CONNECTION REQUEST"]))
    # a task's value held before the Inform's write is acknowledged: that digest is not the last word
    store.update_device(DEV, {"$set": {f"{ROOT}.LANDevice.1.WLANConfiguration.1.SSID._value": "x"}},
                        [f"{ROOT}.Old"], upsert=False, hold=held)
    await asyncio.gather(*futs, *store.release(held))
    ops = _device_ops(w)
    assert [bool(op.only_if) for op in ops] == [True, False, False]  # in order, each as it was
    assert list(ops[1].update) == ["$unset"] and ops[2].update["$set"][INFORM_HASH] == ""
    assert store.digests.get(DEV) is None  # a set value blanked it


@pytest.mark.asyncio
async def test_a_document_known_big_gets_even_small_held_updates_folded():
    w = Writer()
    w.big.add((DEVICES, DEV))
    store = Store(None, w)  # type: ignore[arg-type]
    held = DeviceWrites(DEV)
    for i in range(3):
        store.update_device(DEV, {"$set": {f"{ROOT}.A.{i}._value": i}}, upsert=False, hold=held)
    store.release(held)
    (op,) = _device_ops(w)
    assert len(op.steps()) == 3
    assert op.apply({"_id": DEV})[ROOT]["A"] == {"0": {"_value": 0}, "1": {"_value": 1}, "2": {"_value": 2}}
    assert op.apply(None) is None  # updates without upsert do not create a document


@pytest.mark.asyncio
async def test_many_fields_in_small_updates_stay_in_the_bulk_writes():
    """A BOOTSTRAP session of a device with a summary only: the Inform and the presets' values
    add up to hundreds of fields, none a whole data model: they go as updates, batched."""
    w = Writer()
    store = Store(None, w)  # type: ignore[arg-type]
    held = DeviceWrites(DEV)
    for part in range(3):
        store.update_device(DEV, {"$set": {f"{ROOT}.P{part}.{i}._value": i for i in range(200)}}, upsert=False, hold=held)
    store.release(held)
    ops = _device_ops(w)
    assert len(ops) == 3 and not any(op.then for op in ops)


def _built_op() -> DocUpdate:
    steps = ({"$set": {"a._value": 1}}, True), ({"$set": {"b._value": 2}}, False)
    op = DocUpdate({"_id": DEV}, steps[0][0], steps[0][1], None, steps[1:])
    return DocUpdate(op.filter, op.update, op.upsert, None, op.then, op.apply(None))


def _sent(commands) -> list[str]:
    """The commands a write cost, by name (find, insert, update)."""
    return [name for name in commands.names if name in ("find", "insert", "update")]


async def _replace(db, op: DocUpdate) -> asyncio.Future:
    fut = asyncio.get_running_loop().create_future()
    await BatchWriter(db, 500, 0.001)._replace(DEVICES, op, fut)
    return fut


async def test_a_built_document_is_inserted_without_a_read(db, commands):
    op = _built_op()
    fut = await _replace(db, op)
    assert _sent(commands) == ["insert"] and fut.done()
    assert await db.devices.find_one({"_id": DEV}) == op.insert_doc


async def test_a_built_document_that_exists_after_all_gets_the_updates_applied(db, commands):
    await db.devices.insert_one({"_id": DEV, "kept": True})
    commands.clear()
    await _replace(db, _built_op())
    assert _sent(commands) == ["insert", "find", "update"]  # the insert refused (duplicate key): read and replace
    assert await db.devices.find_one({"_id": DEV}) == {"_id": DEV, "kept": True, "a": {"_value": 1}, "b": {"_value": 2}}


def _built_over(stored: dict) -> DocUpdate:
    steps = ({"$set": {"a._value": 1, "_acs.informHash": ""}}, False), ({"$unset": {"gone": ""}}, False)
    op = DocUpdate({"_id": DEV}, steps[0][0], steps[0][1], None, steps[1:])
    return DocUpdate(op.filter, op.update, op.upsert, None, op.then, built_doc=op.apply(copy.deepcopy(stored)))


async def test_a_document_built_over_the_stored_one_is_written_without_a_read_and_spares_other_fields(db, commands):
    stored = {"_id": DEV, "_acs": {"informHash": "h", "lastEvents": ["0 BOOTSTRAP"]}, "gone": 1, "_tags": []}
    op = _built_over(stored)
    await db.devices.insert_one({**copy.deepcopy(stored), "_tags": ["tagged meanwhile"]})  # through the NBI, after the presets read
    commands.clear()
    fut = await _replace(db, op)
    assert _sent(commands) == ["update"] and fut.done()
    assert await db.devices.find_one({"_id": DEV}) == {"_id": DEV, "_acs": {"informHash": "", "lastEvents": ["0 BOOTSTRAP"]},
                                                       "a": {"_value": 1}, "_tags": ["tagged meanwhile"]}


async def test_a_document_built_over_one_deleted_since_is_not_brought_back(db, commands):
    fut = await _replace(db, _built_over({"_id": DEV}))  # deleted through the NBI during the session
    assert _sent(commands) == ["update", "find"] and fut.done()
    assert await db.devices.find_one({"_id": DEV}) is None
