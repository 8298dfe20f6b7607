"""Which writes one Inform costs (task_scheduler.store.Store.record_inform), with a recording writer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from acs_contracts.mongo_collections import DEVICES, INFORM_HASH, LAST_INFORMS
from cwmp import messages as m
from cwmp.events import EventCode
from task_scheduler.device_record import inform_update, last_inform_doc
from task_scheduler.store import DocUpdate, Store

TS = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DEV = "202BC1-BM632w-X1"


class RecordingWriter:
    """Resolves every write at once, as an acknowledged one; ``inserted`` says which upsert inserts."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, object]] = []
        self.inserted = False

    def is_big(self, coll: str, doc_id: object) -> bool:
        return False

    def submit(self, coll: str, op: object) -> asyncio.Future:
        self.ops.append((coll, op))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(self.inserted if coll == LAST_INFORMS else False)
        return fut


def _inform(value: str, *codes: str) -> tuple[dict, list[str]]:
    inform = m.Inform(
        device_id=m.DeviceIdStruct("Huawei", "202BC1", "BM632w", "X1"),
        events=[m.EventStruct(EventCode(c)) for c in codes], max_envelopes=1, current_time=TS, retry_count=0,
        parameter_list=[m.ParameterValueStruct("InternetGatewayDevice.DeviceInfo.SoftwareVersion", value, "xsd:string")])
    return inform_update(inform, source_ip="10.0.0.1", cwmp_ns="urn:dslforum-org:cwmp-1-0", cwmp_version="1.0", ts=TS)


async def _record(store: Store, value: str, *codes: str) -> list:
    update, unsets = _inform(value, *codes)
    futs = store.record_inform(DEV, update, unsets, EventCode.BOOT in codes, last_inform_doc(TS, list(codes)))
    await asyncio.gather(*futs)
    return futs


def _device_ops(w: RecordingWriter) -> list[DocUpdate]:
    return [op for coll, op in w.ops if coll == DEVICES]  # type: ignore[misc]


@pytest.mark.asyncio
async def test_a_repeated_inform_writes_only_last_informs():
    w = RecordingWriter()
    store = Store(None, w)  # type: ignore[arg-type]
    await _record(store, "V1", "1 BOOT")
    (boot,) = _device_ops(w)
    assert boot.only_if is None and boot.upsert  # BOOT: written in full
    w.ops.clear()
    await _record(store, "V1", "2 PERIODIC")
    assert [c for c, _ in w.ops] == [LAST_INFORMS]  # same digest: no device write at all
    w.ops.clear()
    await _record(store, "V2", "2 PERIODIC")
    (changed,) = _device_ops(w)
    assert changed.only_if == (INFORM_HASH, changed.update["$set"][INFORM_HASH])  # new value: conditional write


@pytest.mark.asyncio
async def test_an_unknown_device_gets_a_conditional_write_and_other_writes_blank_the_digest():
    w = RecordingWriter()
    store = Store(None, w)  # type: ignore[arg-type]
    await _record(store, "V1", "2 PERIODIC")
    (first,) = _device_ops(w)
    assert first.only_if is not None and first.upsert  # nothing known: the database decides
    assert first.as_op()._filter == {"_id": DEV, INFORM_HASH: {"$ne": first.only_if[1]}}
    store.update_device(DEV, {"$set": {"InternetGatewayDevice.DeviceInfo.SoftwareVersion._value": "V9"}}, upsert=False)
    assert _device_ops(w)[-1].update["$set"][INFORM_HASH] == ""  # the next Inform must be written
    w.ops.clear()
    await _record(store, "V1", "2 PERIODIC")
    assert len(_device_ops(w)) == 1


@pytest.mark.asyncio
async def test_a_deleted_device_comes_back_when_last_informs_was_inserted():
    w = RecordingWriter()
    store = Store(None, w)  # type: ignore[arg-type]
    await _record(store, "V1", "1 BOOT")
    w.ops.clear()
    w.inserted = True  # last_informs had no document: the device was deleted through the NBI
    await _record(store, "V1", "2 PERIODIC")
    (back,) = _device_ops(w)
    assert back.upsert and back.only_if is None and back.update["$setOnInsert"]["_deviceId"]["_SerialNumber"] == "X1"
