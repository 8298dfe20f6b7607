"""GET /devices/ against GenieACS-shaped documents: queries, projection, sort, paging, tags."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import pytest_asyncio
from inv_support import ADMIN, OPERATOR, READONLY, igd_device

from inventory.shapes import iso

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDS = ["A1B2C3-Router-D0001", "A1B2C3-Router-D0002", "A1B2C3-Router-D0003", "FFEE00-Modem-D0004"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def devices(runtime):
    docs = [
        igd_device(IDS[0], version="V1", uptime=100, tags=["lab", "north"]),
        igd_device(IDS[1], version="V2", uptime=5000, tags=["north"], last_inform_ago=timedelta(days=10)),
        igd_device(IDS[2], version="V1", uptime=42, last_inform_ago=timedelta(days=3)),
        igd_device(IDS[3], version="V3", uptime=7, tags=["lab"]),
    ]
    await runtime.db.devices.insert_many(docs)
    yield {d["_id"]: d for d in docs}
    await runtime.db.devices.delete_many({"_id": {"$in": IDS}})


async def query(nbi, q, **params):
    """Query, limited to this module's devices (other modules add their own)."""
    scoped = {"$and": [q, {"_id": {"$in": IDS}}]}
    r = await nbi.get("/devices/", params={"query": json.dumps(scoped), **params}, headers=READONLY)
    assert r.status_code == 200, r.text
    return r.json()


async def test_full_document_in_genieacs_shape(nbi, devices):
    got = await query(nbi, {"_id": IDS[0]})
    assert len(got) == 1
    want = devices[IDS[0]]
    doc = got[0]
    assert doc["_deviceId"] == want["_deviceId"]
    assert doc["_lastInform"] == iso(want["_lastInform"])
    assert doc["_lastInform"].endswith(".000Z") and "T" in doc["_lastInform"]
    sv = doc["InternetGatewayDevice"]["DeviceInfo"]["SoftwareVersion"]
    assert sv == {"_value": "V1", "_type": "xsd:string", "_timestamp": "2026-01-01T00:00:00.000Z",
                  "_writable": False, "_object": False}
    wlan = doc["InternetGatewayDevice"]["LANDevice"]["1"]["WLANConfiguration"]["1"]
    assert wlan["_object"] is True and wlan["Enable"]["_value"] is True and wlan["Channel"]["_value"] == 6


async def test_parameter_path_matches_value(nbi, devices):
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": "V1"}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[0], IDS[2]]
    # a string spelling a number matches the typed value, as in GenieACS
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.UpTime": "42"}, projection="_id")
    assert [d["_id"] for d in got] == [IDS[2]]
    got = await query(nbi, {"InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Enable": "true"}, projection="_id")
    assert len(got) == 4
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.UpTime": {"$gt": 99, "$lt": "5000"}}, projection="_id")
    assert [d["_id"] for d in got] == [IDS[0]]
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$ne": "V1"}}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[1], IDS[3]]
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$in": ["V2", "V3"]}}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[1], IDS[3]]
    got = await query(nbi, {"InternetGatewayDevice.DeviceInfo.SoftwareVersion._value": {"$regex": "^v[23]$", "$options": "i"}}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[1], IDS[3]]


async def test_object_exists_and_tags_and_dates(nbi, devices):
    got = await query(nbi, {"InternetGatewayDevice.LANDevice.1": {"$exists": True}, "_tags": "lab"}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[0], IDS[3]]
    got = await query(nbi, {"_tags": {"$all": ["lab", "north"]}}, projection="_id")
    assert [d["_id"] for d in got] == [IDS[0]]
    cutoff = iso(devices[IDS[0]]["_lastInform"] - timedelta(days=1))
    got = await query(nbi, {"_lastInform": {"$lt": cutoff}, "_id": {"$in": IDS}}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[1], IDS[2]]
    got = await query(nbi, {"$or": [{"_tags": "north"}, {"_deviceId._OUI": "FFEE00"}], "_lastInform": {"$gt": cutoff}}, projection="_id")
    assert sorted(d["_id"] for d in got) == [IDS[0], IDS[3]]


async def test_projection_sort_skip_limit(nbi, devices):
    got = await query(nbi, {"_id": {"$in": IDS}},
                      projection="InternetGatewayDevice.DeviceInfo.UpTime,InternetGatewayDevice.DeviceInfo,_tags",
                      sort=json.dumps({"InternetGatewayDevice.DeviceInfo.UpTime": -1}))
    assert [d["_id"] for d in got] == [IDS[1], IDS[0], IDS[2], IDS[3]]
    assert set(got[0]) == {"_id", "_tags", "InternetGatewayDevice"}
    assert set(got[0]["InternetGatewayDevice"]) == {"DeviceInfo"}
    assert got[0]["InternetGatewayDevice"]["DeviceInfo"]["SoftwareVersion"]["_value"] == "V2"
    page = await query(nbi, {"_id": {"$in": IDS}}, projection="_id", sort=json.dumps({"_id": 1}), skip="1", limit="2")
    assert [d["_id"] for d in page] == IDS[1:3]


@pytest.mark.parametrize("raw, status", [
    ("{not json", 400),
    (json.dumps({"$where": "this.x == 1"}), 400),
    (json.dumps({"_id": {"$expr": 1}}), 400),
    (json.dumps({"_id": {"$regex": "("}}), 400),
    (json.dumps(["_id"]), 400),
    (json.dumps({"$or": []}), 400),
    (json.dumps({"bad key!": 1}), 400),
])
async def test_bad_queries(nbi, devices, raw, status):
    r = await nbi.get("/devices/", params={"query": raw}, headers=READONLY)
    assert r.status_code == status
    body = r.json()
    assert body["error"] and "detail" in body


async def test_bad_paging_and_sort(nbi, devices):
    for params in ({"skip": "-1"}, {"limit": "x"}, {"sort": "{\"_id\": 2}"}, {"projection": "a..b"}):
        r = await nbi.get("/devices/", params=params, headers=READONLY)
        assert r.status_code == 400, params


async def test_tags(nbi, devices, runtime):
    r = await nbi.post(f"/devices/{IDS[2]}/tags/new-tag", headers=OPERATOR)
    assert r.status_code == 200
    got = await query(nbi, {"_tags": "new-tag"}, projection="_id,_tags")
    assert got == [{"_id": IDS[2], "_tags": ["new-tag"]}]
    assert (await nbi.delete(f"/devices/{IDS[2]}/tags/new-tag", headers=OPERATOR)).status_code == 200
    assert await query(nbi, {"_tags": "new-tag"}) == []
    assert (await nbi.post("/devices/nope-x-y/tags/t", headers=OPERATOR)).status_code == 404
    assert (await nbi.post(f"/devices/{IDS[2]}/tags/a.b", headers=OPERATOR)).status_code == 400
    assert (await nbi.post(f"/devices/{IDS[2]}/tags/t", headers=READONLY)).status_code == 403


async def test_delete_device_removes_its_tasks_and_faults(nbi, runtime):
    dev = igd_device("AAAAAA-Gone-1")
    await runtime.db.devices.insert_one(dev)
    r = await nbi.post("/devices/AAAAAA-Gone-1/tasks", json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 202
    await runtime.db.faults.insert_one({"_id": "AAAAAA-Gone-1:default", "device": "AAAAAA-Gone-1", "channel": "default"})
    assert (await nbi.delete("/devices/AAAAAA-Gone-1", headers=OPERATOR)).status_code == 403
    assert (await nbi.delete("/devices/AAAAAA-Gone-1", headers=ADMIN)).status_code == 200
    assert await runtime.db.tasks.count_documents({"device": "AAAAAA-Gone-1"}) == 0
    assert await runtime.db.faults.count_documents({"device": "AAAAAA-Gone-1"}) == 0
    assert (await nbi.delete("/devices/AAAAAA-Gone-1", headers=ADMIN)).status_code == 404


async def test_last_contact_comes_from_last_informs(nbi, runtime, devices):
    """A periodic Inform that repeats the last one rewrites only last_informs: the NBI shows and
    queries the exact last contact from there, and judges documents without a twin on their own."""
    older = devices[IDS[1]]["_lastInform"]  # 10 days ago in the device document
    recent = older + timedelta(days=9, hours=12)
    await runtime.db.devices.update_one({"_id": IDS[1]}, {"$set": {"_acs.informHash": "h1", "_acs.lastEvents": ["1 BOOT"]}})
    await runtime.db.last_informs.insert_one({"_id": IDS[1], "_lastInform": recent, "_acs": {"lastEvents": ["2 PERIODIC"]}})
    try:
        cutoff = iso(recent - timedelta(hours=1))
        got = await query(nbi, {"_lastInform": {"$gt": cutoff}}, projection="_id,_lastInform,_acs")
        assert sorted(d["_id"] for d in got) == [IDS[0], IDS[1], IDS[3]]
        twin = next(d for d in got if d["_id"] == IDS[1])
        assert twin["_lastInform"] == iso(recent) and twin["_acs"]["lastEvents"] == ["2 PERIODIC"]
        got = await query(nbi, {"$or": [{"_acs.lastEvents": "2 PERIODIC"}, {"_tags": "nothing"}]}, projection="_id")
        assert [d["_id"] for d in got] == [IDS[1]]
        got = await query(nbi, {"_lastInform": {"$lt": cutoff}}, projection="_id,_tags")
        assert [d["_id"] for d in got] == [IDS[2]] and "_lastInform" not in got[0]
    finally:
        await runtime.db.last_informs.delete_one({"_id": IDS[1]})
        await runtime.db.devices.update_one({"_id": IDS[1]}, {"$unset": {"_acs": ""}})
