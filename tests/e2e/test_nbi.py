"""The northbound API against the running cluster and a simulated CPE: every task type reaches
the CPE as the right RPC, with a connection request, and its result lands in the device record."""

from __future__ import annotations

import json

import httpx
import pytest

from cpe_simulator import SimulatedCpe

from .conftest import cpe_device_id, eventually, full_stack, igd_model, inventory_db, nbi_client

IGD = "InternetGatewayDevice"
SERIAL = "NBI0001"
MODEL = igd_model()  # the real BM632w dump where ../shared has it, else the simulator's built-in gateway
DEVICE = cpe_device_id(MODEL, SERIAL)
SOFTWARE_VERSION = MODEL.node(f"{IGD}.DeviceInfo.SoftwareVersion").value


@pytest.fixture(scope="module")
def nbi_stack():
    with full_stack() as st:
        yield st


@pytest.fixture(scope="module")
def nbi_db(nbi_stack):
    with inventory_db(nbi_stack) as db:
        yield db


@pytest.fixture(scope="module")
async def cpe(nbi_stack, nbi_db):
    device = SimulatedCpe(MODEL, acs_url=nbi_stack.cwmp_url(0), serial=SERIAL)
    # what the bootstrap provisioning stores for later connection requests
    nbi_db.credentials.update_one({"_id": DEVICE}, {"$set": {"connectionRequest": {"username": SERIAL, "password": f"cr-{SERIAL}"}}}, upsert=True)
    await device.start()
    await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, f"{IGD}.ManagementServer.ConnectionRequestURL._value": {"$exists": True}}), timeout=20)
    await device.wait_idle()
    yield device
    await device.stop()


@pytest.fixture
async def nbi(nbi_stack):
    async with nbi_client(nbi_stack) as c:
        yield c


async def run_task(nbi, task: dict, timeout_ms: int = 20000) -> httpx.Response:
    return await nbi.post(f"/devices/{DEVICE}/tasks", params={"connection_request": "", "timeout": timeout_ms}, json=task)


async def test_devices_query_genieacs_style(nbi, cpe):
    r = await nbi.get("/devices/", params={"query": json.dumps({"_deviceId._SerialNumber": SERIAL}),
                                           "projection": f"_deviceId,_lastInform,{IGD}.DeviceInfo.SoftwareVersion"})
    assert r.status_code == 200
    [doc] = r.json()
    assert doc["_id"] == DEVICE and doc["_deviceId"]["_OUI"] == MODEL.identity.oui
    assert doc[IGD]["DeviceInfo"]["SoftwareVersion"]["_value"] == SOFTWARE_VERSION
    r = await nbi.get("/devices/", params={"query": json.dumps({f"{IGD}.DeviceInfo.SoftwareVersion": SOFTWARE_VERSION})})
    assert [d["_id"] for d in r.json()] == [DEVICE]
    assert (await nbi.get("/devices/", params={"query": "{not json"})).status_code == 400


async def test_get_parameter_values_wakes_the_cpe(nbi, cpe, nbi_db):
    path = f"{IGD}.LANDevice.1.WLANConfiguration.1.SSID"
    r = await run_task(nbi, {"name": "getParameterValues", "parameterNames": [path]})
    assert r.status_code == 200, r.text
    doc = nbi_db.devices.find_one({"_id": DEVICE})
    assert doc[IGD]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"]["_value"] == cpe.get(path)


async def test_set_parameter_values_reaches_the_cpe(nbi, cpe, nbi_db):
    path = f"{IGD}.LANDevice.1.WLANConfiguration.1.SSID"
    r = await run_task(nbi, {"name": "setParameterValues", "parameterValues": [[path, "acs-e2e", "xsd:string"]]})
    assert r.status_code == 200, r.text
    assert cpe.get(path) == "acs-e2e"
    await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, f"{path}._value": "acs-e2e"}))


async def test_bad_requests_store_nothing(nbi, cpe, nbi_db):
    interval = f"{IGD}.ManagementServer.PeriodicInformInterval"
    assert (await run_task(nbi, {"name": "getParameterValues", "parameterNames": [interval]})).status_code == 200
    await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, f"{interval}._type": "xsd:unsignedInt"}))
    before = nbi_db.tasks.count_documents({})
    bad = [
        {"name": "setParameterValues", "parameterValues": [[f"{IGD}.ManagementServer.PeriodicInformInterval", "soon"]]},
        {"name": "frobnicate"},
        {"name": "getParameterValues", "parameterNames": ["..bad..path"]},
    ]
    for task in bad:
        r = await nbi.post(f"/devices/{DEVICE}/tasks", json=task)
        assert 400 <= r.status_code < 500 and "error" in r.json(), (task, r.text)
    assert (await nbi.post("/devices/NOPE-NOPE-NOPE/tasks", json={"name": "reboot"})).status_code == 404
    assert nbi_db.tasks.count_documents({}) == before


async def test_refresh_object_rediscovers_a_subtree(nbi, cpe, nbi_db):
    r = await run_task(nbi, {"name": "refreshObject", "objectName": f"{IGD}.LANDevice.1.Hosts"})
    assert r.status_code == 200, r.text
    doc = nbi_db.devices.find_one({"_id": DEVICE})
    host1 = doc[IGD]["LANDevice"]["1"]["Hosts"]["Host"]["1"]
    assert host1["_object"] is True and host1["IPAddress"]["_value"] == MODEL.node(f"{IGD}.LANDevice.1.Hosts.Host.1.IPAddress").value


async def test_add_then_delete_object(nbi, cpe, nbi_db):
    table = f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping"
    r = await run_task(nbi, {"name": "addObject", "objectName": table})
    assert r.status_code == 200, r.text
    task = nbi_db.tasks.find_one({"device": DEVICE, "name": "addObject"}, sort=[("timestamp", -1)])
    n = task["result"]["instanceNumber"]
    assert nbi_db.devices.find_one({"_id": DEVICE, f"{table}.{n}._object": True})
    assert (await run_task(nbi, {"name": "getParameterNames", "parameterPath": f"{table}.{n}.", "nextLevel": True})).status_code == 200
    r = await run_task(nbi, {"name": "deleteObject", "objectName": f"{table}.{n}."})
    assert r.status_code == 200, r.text
    await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, f"{table}.{n}": {"$exists": False}}))
    gone = await run_task(nbi, {"name": "getParameterNames", "parameterPath": f"{table}.{n}.", "nextLevel": True})
    assert gone.status_code == 202  # the CPE answers 9005: the instance is gone


async def test_reboot_and_the_cpe_comes_back_with_boot_events(nbi, cpe, nbi_db):
    before = nbi_db.devices.find_one({"_id": DEVICE}).get("_lastBoot")
    r = await run_task(nbi, {"name": "reboot"})
    assert r.status_code == 200, r.text
    doc = await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, "_lastBoot": {"$ne": before}, "_acs.lastEvents": "M Reboot"}), timeout=20)
    assert "1 BOOT" in doc["_acs"]["lastEvents"]
    await cpe.wait_idle()


async def test_firmware_download_completes_on_transfer_complete(nbi_stack, nbi, cpe, nbi_db):
    firmware = b"\x7fFIRMWARE" + bytes(range(256)) * 64
    r = await nbi.put("/files/fw-e2e.bin", content=firmware,
                      headers={"fileType": "1 Firmware Upgrade Image", "oui": MODEL.identity.oui, "productClass": MODEL.identity.product_class, "version": "2.0"})
    assert r.status_code in (200, 201), r.text
    r = await run_task(nbi, {"name": "download", "fileName": "fw-e2e.bin", "fileType": "1 Firmware Upgrade Image"}, timeout_ms=30000)
    assert r.status_code == 200, r.text
    task = nbi_db.tasks.find_one({"device": DEVICE, "name": "download"}, sort=[("timestamp", -1)])
    assert task["status"] == "done" and "transfer" not in task
    await cpe.wait_idle()


@pytest.mark.parametrize("task,check", [
    ({"name": "getParameterNames", "parameterPath": f"{IGD}.ManagementServer.", "nextLevel": True},
     lambda t: any(n[0].endswith("PeriodicInformInterval") for n in t["result"]["parameterNames"])),
    ({"name": "setParameterAttributes", "parameterAttributes": [{"name": f"{IGD}.DeviceInfo.SoftwareVersion", "notification": 2}]},
     lambda t: t["status"] == "done"),
    ({"name": "getParameterAttributes", "parameterNames": [f"{IGD}.DeviceInfo.SoftwareVersion"]},
     lambda t: t["result"]["parameterAttributes"][0]["notification"] == 2),
    ({"name": "getRPCMethods"}, lambda t: "GetParameterValues" in t["result"]["methods"]),
    ({"name": "scheduleInform", "delaySeconds": 1}, lambda t: t["status"] == "done"),
    ({"name": "getAllQueuedTransfers"}, lambda t: isinstance(t["result"]["transfers"], list)),
    ({"name": "getQueuedTransfers"}, lambda t: isinstance(t["result"]["transfers"], list)),
    ({"name": "upload", "fileType": "1 Vendor Configuration File"}, lambda t: t["status"] == "done"),
    ({"name": "changeDUState", "operations": [{"type": "install", "url": "http://127.0.0.1:9/du.ipk", "uuid": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}]},
     lambda t: t["status"] in ("done", "fault")),
])
async def test_every_other_rpc_as_a_task(nbi, cpe, nbi_db, task, check):
    await cpe.wait_idle()
    r = await run_task(nbi, task, timeout_ms=30000)
    assert r.status_code in (200, 202), r.text
    t = await eventually(lambda: nbi_db.tasks.find_one({"device": DEVICE, "name": task["name"], "status": {"$in": ["done", "fault"]}},
                                                      sort=[("timestamp", -1)]), timeout=30)
    assert check(t), t


async def test_cancel_transfer_of_unknown_key_is_a_cpe_fault(nbi, cpe, nbi_db):
    await cpe.wait_idle()
    r = await run_task(nbi, {"name": "cancelTransfer", "commandKey": "no-such-transfer"})
    assert r.status_code == 202  # a CPE fault is not a completion
    t = await eventually(lambda: nbi_db.tasks.find_one({"device": DEVICE, "name": "cancelTransfer", "status": "fault"}))
    assert t["fault"]["code"].startswith("cwmp.9")
    assert nbi_db.faults.find_one({"_id": f"{DEVICE}:task_{t['_id']}"})


async def test_factory_reset_brings_bootstrap(nbi, cpe, nbi_db):
    await cpe.wait_idle()
    r = await run_task(nbi, {"name": "factoryReset"})
    assert r.status_code == 200, r.text
    await eventually(lambda: nbi_db.devices.find_one({"_id": DEVICE, "_lastBootstrap": {"$exists": True}, "_acs.lastEvents": "0 BOOTSTRAP"}), timeout=20)
