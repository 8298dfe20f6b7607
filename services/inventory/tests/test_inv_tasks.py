"""POST /devices/<id>/tasks: validation of every task type, storage, waiting, faults and retry."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from bson import ObjectId
from inv_support import ADMIN, OPERATOR, READONLY, igd_device

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEV = "A1B2C3-Tasker-T0001"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def device(runtime, nbi):
    await runtime.db.devices.insert_one(igd_device(DEV))
    r = await nbi.put("/files/fw-tasks.bin", content=b"firmware", headers={**ADMIN, "fileType": "1 Firmware Upgrade Image"})
    assert r.status_code == 201
    yield DEV
    await runtime.db.devices.delete_one({"_id": DEV})
    await runtime.db.tasks.delete_many({"device": DEV})


VALID = [
    ({"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice.DeviceInfo.", "InternetGatewayDevice.DeviceInfo.UpTime"]},
     {"parameterNames": ["InternetGatewayDevice.DeviceInfo.", "InternetGatewayDevice.DeviceInfo.UpTime"]}),
    ({"name": "setParameterValues", "parameterValues": [
        ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", "11"],
        ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID", "guest", "xsd:string"],
        ["InternetGatewayDevice.X_ACME_New", 5, "xsd:int"]]},
     {"parameterValues": [
        ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", "11", "xsd:unsignedInt"],
        ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID", "guest", "xsd:string"],
        ["InternetGatewayDevice.X_ACME_New", 5, "xsd:int"]]}),
    ({"name": "refreshObject", "objectName": "InternetGatewayDevice.LANDevice."}, {"objectName": "InternetGatewayDevice.LANDevice."}),
    ({"name": "addObject", "objectName": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.",
      "parameterValues": [["SSID", "new"]]},
     {"objectName": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.", "parameterValues": [["SSID", "new"]]}),
    ({"name": "deleteObject", "objectName": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."},
     {"objectName": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."}),
    ({"name": "reboot"}, {}),
    ({"name": "factoryReset"}, {}),
    ({"name": "download", "fileName": "fw-tasks.bin"}, {"fileName": "fw-tasks.bin", "fileType": "1 Firmware Upgrade Image"}),
    ({"name": "getParameterNames", "parameterPath": "InternetGatewayDevice.", "nextLevel": True},
     {"parameterPath": "InternetGatewayDevice.", "nextLevel": True}),
    ({"name": "getParameterAttributes", "parameterNames": ["InternetGatewayDevice.DeviceInfo.UpTime"]},
     {"parameterNames": ["InternetGatewayDevice.DeviceInfo.UpTime"]}),
    ({"name": "setParameterAttributes", "parameterAttributes": [{"name": "InternetGatewayDevice.DeviceInfo.SoftwareVersion", "notification": 2}]},
     {"parameterAttributes": [{"name": "InternetGatewayDevice.DeviceInfo.SoftwareVersion", "notification": 2}]}),
    ({"name": "upload", "fileType": "1 Vendor Configuration File", "commandKey": "up1"},
     {"fileType": "1 Vendor Configuration File", "commandKey": "up1"}),
    ({"name": "scheduleInform", "delaySeconds": 30}, {"delaySeconds": 30}),
    ({"name": "scheduleDownload", "fileName": "fw-tasks.bin", "timeWindows": [
        {"windowStart": 0, "windowEnd": 3600, "windowMode": "1 At Any Time"}]},
     {"fileName": "fw-tasks.bin", "fileType": "1 Firmware Upgrade Image", "timeWindows": [
        {"windowStart": 0, "windowEnd": 3600, "windowMode": "1 At Any Time", "userMessage": "", "maxRetries": 0}]}),
    ({"name": "cancelTransfer", "commandKey": "dl-1"}, {"commandKey": "dl-1"}),
    ({"name": "getAllQueuedTransfers"}, {}),
    ({"name": "getQueuedTransfers"}, {}),
    ({"name": "getRPCMethods"}, {}),
    ({"name": "changeDUState", "operations": [{"type": "install", "url": "http://x/y.ipk", "uuid": "u-1"},
                                              {"type": "uninstall", "uuid": "u-2"}]},
     {"operations": [{"type": "install", "url": "http://x/y.ipk", "uuid": "u-1"}, {"type": "uninstall", "uuid": "u-2"}]}),
    ({"name": "download", "file": "fw-tasks.bin", "commandKey": "fw"},
     {"fileName": "fw-tasks.bin", "fileType": "1 Firmware Upgrade Image", "commandKey": "fw"}),
    ({"name": "ipPing", "host": "192.0.2.1", "numberOfRepetitions": 3},
     {"host": "192.0.2.1", "numberOfRepetitions": 3, "dataModel": "InternetGatewayDevice"}),
    ({"name": "uploadDiagnostics", "uploadURL": "http://192.0.2.1/up", "testFileLength": 1000},
     {"uploadURL": "http://192.0.2.1/up", "testFileLength": 1000, "dataModel": "InternetGatewayDevice"}),
]


@pytest.mark.parametrize("body, args", VALID, ids=[f"{b['name']}-{i}" for i, (b, _) in enumerate(VALID)])
async def test_valid_task_is_stored(nbi, runtime, device, body, args):
    r = await nbi.post(f"/devices/{DEV}/tasks", json=body, headers=OPERATOR)
    assert r.status_code == 202, r.text
    task = r.json()
    stored = await runtime.db.tasks.find_one({"_id": ObjectId(task["_id"])})
    assert stored["device"] == DEV and stored["name"] == body["name"] and stored["status"] == "pending"
    assert stored["retries"] == 0 and isinstance(stored["timestamp"], datetime)
    for key, value in args.items():
        assert stored[key] == value, key
    assert set(stored) - set(args) == {"_id", "device", "name", "timestamp", "status", "retries", "expiry",
                                       "fault", "result", "completedAt"}
    assert task["timestamp"].endswith("Z")


INVALID = [
    {"name": "noSuchTask"},
    {"parameterNames": ["A.B"]},
    {"name": "getParameterValues"},
    {"name": "getParameterValues", "parameterNames": []},
    {"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice..DeviceInfo"]},
    {"name": "getParameterValues", "parameterNames": ["Internet Gateway"]},
    {"name": "getParameterValues", "parameterNames": ["A.B"], "extra": 1},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", "abc"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", -1]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Enable", "maybe"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID", "x", "xsd:unsignedInt"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.X", "1", "xsd:nope"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.", "1"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1", "1"]]},
    {"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.X", {"a": 1}]]},
    {"name": "setParameterValues", "parameterValues": "x"},
    {"name": "deleteObject", "objectName": "InternetGatewayDevice.LANDevice."},
    {"name": "download", "fileName": "missing.bin"},
    {"name": "download", "fileName": "fw-tasks.bin", "fileType": "firmware"},
    {"name": "getParameterNames", "parameterPath": "A.", "nextLevel": "yes"},
    {"name": "setParameterAttributes", "parameterAttributes": [{"name": "A.B"}]},
    {"name": "setParameterAttributes", "parameterAttributes": [{"name": "A.B", "notification": 9}]},
    {"name": "upload"},
    {"name": "scheduleInform", "delaySeconds": 0},
    {"name": "scheduleInform", "delaySeconds": 5, "commandKey": "x" * 33},
    {"name": "scheduleDownload", "fileName": "fw-tasks.bin", "timeWindows": [{"windowStart": 10, "windowEnd": 5, "windowMode": "1 At Any Time"}]},
    {"name": "cancelTransfer"},
    {"name": "changeDUState", "operations": [{"type": "install"}]},
    {"name": "changeDUState", "operations": [{"type": "explode", "uuid": "x"}]},
    {"name": "reboot", "expiry": -5},
    {"name": "reboot", "commandKey": None},
    {"name": "reboot", "device": "other-device"},
    {"name": "scheduleDownload", "file": "fw-tasks.bin", "timeWindows": [{"windowStart": 0, "windowEnd": 5, "windowMode": "1 At Any Time"}]},
    {"name": "scheduleDownload", "fileName": "fw-tasks.bin", "timeWindows": [{"windowStart": 0, "windowEnd": 5, "windowMode": "9 Never"}]},
    {"name": "ipPing", "host": " "},
    {"name": "downloadDiagnostics", "downloadURL": "gopher://192.0.2.1/x"},
    {"name": "uploadDiagnostics", "uploadURL": "http://192.0.2.1/up"},
    [{"name": "reboot"}],
]


@pytest.mark.parametrize("body", INVALID, ids=[str(i) for i in range(len(INVALID))])
async def test_invalid_task_is_refused_and_nothing_stored(nbi, runtime, device, body):
    before = await runtime.db.tasks.count_documents({"device": DEV})
    r = await nbi.post(f"/devices/{DEV}/tasks", json=body, headers=OPERATOR)
    assert r.status_code == 400, r.text
    assert r.json()["error"]
    assert await runtime.db.tasks.count_documents({"device": DEV}) == before


REFUSALS = [
    ({"name": "noSuchTask"}, "unknown task name 'noSuchTask'"),
    ({"name": "getParameterValues", "parameterNames": ["A.B"], "extra": 1}, "unknown arguments for getParameterValues: ['extra']"),
    ({"name": "cancelTransfer"}, "missing argument commandKey"),
    ({"name": "getParameterValues", "parameterNames": ["A..B"]}, "parameterNames.0: invalid parameter path 'A..B'"),
    ({"name": "setParameterValues", "parameterValues": [["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", "abc"]]},
     "value 'abc' does not fit xsd:unsignedInt for InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel"),
    ({"name": "deleteObject", "objectName": "A.B."}, "objectName: deleteObject needs an instance path ending with its number"),
    ({"name": "download", "fileName": "missing.bin"}, "no file named 'missing.bin'"),
    ({"name": "download"}, "missing argument fileName"),
    ({"name": "reboot", "device": "other-device"}, "device in body differs from the URL"),
]


@pytest.mark.parametrize("body, error", REFUSALS, ids=[str(i) for i in range(len(REFUSALS))])
async def test_refusal_names_the_problem(nbi, device, body, error):
    r = await nbi.post(f"/devices/{DEV}/tasks", json=body, headers=OPERATOR)
    assert r.status_code == 400 and r.json()["error"] == error, r.text


async def test_openapi_describes_every_task_body(nbi):
    op = (await nbi.get("/openapi.json")).json()["paths"]["/devices/{device_id}/tasks"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"] == {"propertyName": "name"}
    by_name = {s["properties"]["name"]["const"]: s for s in schema["oneOf"]}
    assert {"getParameterValues", "setParameterValues", "download", "scheduleDownload", "ipPing"} <= set(by_name)
    assert by_name["getParameterValues"]["required"] == ["name", "parameterNames"]
    assert by_name["scheduleInform"]["properties"]["delaySeconds"]["minimum"] == 1
    assert by_name["reboot"]["additionalProperties"] is False
    assert "$ref" not in json.dumps(schema)  # the operation's schema stands alone


async def test_malformed_json_unknown_device_and_roles(nbi, device):
    r = await nbi.post(f"/devices/{DEV}/tasks", content=b"{nope", headers=OPERATOR)
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = await nbi.post("/devices/000000-None-0/tasks", json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 404
    r = await nbi.post(f"/devices/{DEV}/tasks", json={"name": "reboot"}, headers=READONLY)
    assert r.status_code == 403


async def _complete_soon(runtime, delay: float, **fields):
    """Play the scheduler: once the NBI has queued a task for DEV (polled: the POST may be slow on
    a loaded machine), finish the newest pending one ``delay`` later, while the NBI waits for it."""
    since = datetime.now(UTC)
    deadline = asyncio.get_running_loop().time() + 10
    while (task := await runtime.db.tasks.find_one({"device": DEV, "status": "pending", "timestamp": {"$gte": since}},
                                                   sort=[("timestamp", -1)])) is None:
        assert asyncio.get_running_loop().time() < deadline, "the NBI queued no task"
        await asyncio.sleep(0.02)
    await asyncio.sleep(delay)  # the behaviour under test: the task completes this long after it was queued
    await runtime.db.tasks.update_one({"_id": task["_id"]}, {"$set": {"completedAt": datetime.now(UTC), **fields}})


async def test_200_when_task_completes_within_timeout(nbi, runtime, device):
    await runtime.db.tasks.delete_many({"device": DEV})
    finisher = asyncio.create_task(_complete_soon(runtime, 0.3, status="done",
                                                  result={"parameterValues": [["InternetGatewayDevice.DeviceInfo.UpTime", 101]]}))
    t0 = time.monotonic()
    r = await nbi.post(f"/devices/{DEV}/tasks", params={"timeout": "10000"},
                       json={"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice.DeviceInfo.UpTime"]},
                       headers=OPERATOR)
    elapsed = time.monotonic() - t0
    await finisher
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done" and body["result"]["parameterValues"][0][1] == 101
    assert body["completedAt"].endswith("Z")
    assert elapsed < 8.0  # woken by the change stream, not by the 10 s timeout (bound loose for a busy machine)


async def test_202_with_fault_when_task_faults(nbi, runtime, device):
    finisher = asyncio.create_task(_complete_soon(runtime, 0.2, status="fault",
                                                  fault={"code": "cwmp.9005", "message": "Invalid parameter name", "detail": {}}))
    r = await nbi.post(f"/devices/{DEV}/tasks", params={"timeout": "10000"},
                       json={"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice.Nope"]}, headers=OPERATOR)
    await finisher
    assert r.status_code == 202 and r.json()["fault"]["code"] == "cwmp.9005"


async def test_202_after_timeout_while_pending(nbi, runtime, device):
    t0 = time.monotonic()
    r = await nbi.post(f"/devices/{DEV}/tasks", params={"timeout": "500"}, json={"name": "reboot"}, headers=OPERATOR)
    elapsed = time.monotonic() - t0
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert 0.45 <= elapsed < 8.0  # answered at its 500 ms timeout, not before (upper bound loose for a busy machine)


async def test_task_search_delete_and_retry(nbi, runtime, device):
    r = await nbi.post(f"/devices/{DEV}/tasks", json={"name": "factoryReset"}, headers=OPERATOR)
    tid = r.json()["_id"]
    r = await nbi.get("/tasks/", params={"query": json.dumps({"_id": tid})}, headers=READONLY)
    assert [t["_id"] for t in r.json()] == [tid]
    r = await nbi.get("/tasks/", params={"query": json.dumps({"device": DEV, "name": "factoryReset", "timestamp": {"$gt": "2020-01-01T00:00:00Z"}})}, headers=READONLY)
    assert tid in [t["_id"] for t in r.json()]
    # the scheduler faults it
    fault = {"code": "cwmp.9001", "message": "Request denied", "detail": {"faultCode": "9001"}}
    await runtime.db.tasks.update_one({"_id": ObjectId(tid)}, {"$set": {"status": "fault", "fault": fault, "retries": 3}})
    await runtime.db.faults.insert_one({"_id": f"{DEV}:task_{tid}", "device": DEV, "channel": f"task_{tid}",
                                        "timestamp": datetime.now(UTC), **{k: fault[k] for k in ("code", "message", "detail")}, "retries": 3})
    r = await nbi.get("/faults/", params={"query": json.dumps({"device": DEV})}, headers=READONLY)
    assert [f["_id"] for f in r.json()] == [f"{DEV}:task_{tid}"]
    assert (await nbi.post(f"/tasks/{tid}/retry", headers=OPERATOR)).status_code == 200
    stored = await runtime.db.tasks.find_one({"_id": ObjectId(tid)})
    assert stored["status"] == "pending" and stored["retries"] == 0 and stored["fault"] is None
    assert await runtime.db.faults.count_documents({"_id": f"{DEV}:task_{tid}"}) == 0
    # deleting a task's fault deletes the task, as GenieACS does
    await runtime.db.faults.insert_one({"_id": f"{DEV}:task_{tid}", "device": DEV, "channel": f"task_{tid}", "code": "x"})
    assert (await nbi.delete(f"/faults/{DEV}:task_{tid}", headers=OPERATOR)).status_code == 200
    assert await runtime.db.tasks.count_documents({"_id": ObjectId(tid)}) == 0
    assert (await nbi.delete(f"/faults/{DEV}:task_{tid}", headers=OPERATOR)).status_code == 404
    assert (await nbi.post(f"/tasks/{tid}/retry", headers=OPERATOR)).status_code == 404
    # and DELETE /tasks/<id>
    tid2 = (await nbi.post(f"/devices/{DEV}/tasks", json={"name": "getRPCMethods"}, headers=OPERATOR)).json()["_id"]
    assert (await nbi.delete(f"/tasks/{tid2}", headers=READONLY)).status_code == 403
    assert (await nbi.delete(f"/tasks/{tid2}", headers=OPERATOR)).status_code == 200
    assert (await nbi.delete(f"/tasks/{tid2}", headers=OPERATOR)).status_code == 404
    assert (await nbi.delete("/tasks/not-an-id", headers=OPERATOR)).status_code == 404


async def test_pending_gauges(nbi, runtime, device):
    await nbi.post(f"/devices/{DEV}/tasks", json={"name": "getRPCMethods"}, headers=OPERATOR)

    def gauge(text: str, name: str) -> float | None:
        return next((float(line.split()[1]) for line in text.splitlines() if line.startswith(name + " ")), None)

    # the refresher runs every 0.2 s in tests: wait for a refresh that saw the task queued a while
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        text = (await nbi.get("/metrics")).text
        pending, age = gauge(text, "acs_tasks_pending"), gauge(text, "acs_task_queue_oldest_age_seconds")
        if (pending or 0) >= 1 and (age or 0) > 0:
            break
        assert asyncio.get_running_loop().time() < deadline, f"pending={pending} oldest_age={age}"
        await asyncio.sleep(0.05)
