"""Automated provisioning end to end, with simulated CPEs against the running cluster: a
BOOTSTRAP configured by presets in one session with the fewest RPCs, a preset change reaching a
device at its next periodic Inform, a firmware campaign over 200 devices pausing at its failure
threshold, and a ping diagnostics task returning its results."""

from __future__ import annotations

import asyncio
import json

import pytest

from acs_contracts.cpe_secrets import Secrets
from cpe_simulator import Fleet, SimulatedCpe

from .conftest import (
    cpe_device_id,
    eventually,
    full_stack,
    igd_model,
    inventory_db,
    nbi_client,
    put_preset,
    requires_shared,
    tr181_model,
)

IGD_MODEL = igd_model()  # the real BM632w dump where ../shared has it, else the simulator's built-in gateway
SSID = "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID"
SSID1 = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"


@pytest.fixture(scope="module")
def prov_stack(tmp_path_factory):
    functions = tmp_path_factory.mktemp("provisions")
    (functions / "spin.py").write_text("def provision(device, args):\n    while True:\n        pass\n")
    (functions / "broken.py").write_text("def provision(device, args):\n    return 1 / 0\n")
    with full_stack(SCHEDULER_PERIODIC_INFORM_INTERVAL_S="3600", SCHEDULER_PROVISIONS_DIR=str(functions),
                    SCHEDULER_PROVISION_FUNCTION_TIMEOUT_S="0.3", SCHEDULER_PRESETS_POLL_S="0.2") as st:
        yield st


@pytest.fixture(scope="module")
def prov_db(prov_stack):
    with inventory_db(prov_stack) as db:
        yield db


@pytest.fixture
async def nbi(prov_stack):
    async with nbi_client(prov_stack) as c:
        yield c


async def test_bootstrap_is_configured_by_presets_in_one_session(prov_stack, prov_db, nbi):
    await put_preset(prov_stack, nbi, "wifi", {
        "weight": 10, "events": ["0 BOOTSTRAP", "2 PERIODIC"],
        "declarations": [{"path": SSID, "value": "acs-one"},
                         {"path": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "value": 1800}]})
    cpe = SimulatedCpe(IGD_MODEL, acs_url=prov_stack.cwmp_url(0), serial="PROV0001")
    report = await cpe.run_session(events=["0 BOOTSTRAP", "1 BOOT"])
    assert report.ok, report.error
    # the whole data model learnt in one RPC (every value by the root's partial path), then
    # everything the defaults and presets need set at once: two RPCs for a full first contact
    assert report.rpcs == ["GetParameterValues", "SetParameterValues"]
    assert cpe.get(SSID1) == "acs-one"
    assert cpe.get("InternetGatewayDevice.ManagementServer.PeriodicInformInterval") == 1800  # the preset outweighs the default
    assert cpe.get("InternetGatewayDevice.ManagementServer.PeriodicInformEnable") is True
    device = cpe_device_id(IGD_MODEL, "PROV0001")
    creds = await eventually(lambda: prov_db.credentials.find_one({"_id": device}), timeout=10)
    password = Secrets([prov_stack.credentials_keys]).open(creds["connectionRequest"]["password"])  # stored encrypted
    assert (creds["connectionRequest"]["username"], password) == cpe.connection_request_credentials()
    doc = await eventually(lambda: prov_db.devices.find_one({"_id": device, "VirtualParameters.WanIp": {"$exists": True}}))
    assert doc["InternetGatewayDevice"]["DeviceInfo"]["UpTime"]["_type"] == "xsd:unsignedInt"
    assert "_value" not in doc["InternetGatewayDevice"]["ManagementServer"].get("ConnectionRequestPassword", {})
    r = await nbi.get("/devices/", params={"query": json.dumps({"VirtualParameters.WanIp": doc["VirtualParameters"]["WanIp"]["_value"]})})
    assert device in [d["_id"] for d in r.json()]  # virtual parameters are queryable

    # a preset change reaches the device at its next periodic Inform: one SetParameterValues
    await put_preset(prov_stack, nbi, "wifi", {
        "weight": 10, "events": ["0 BOOTSTRAP", "2 PERIODIC"], "declarations": [{"path": SSID, "value": "acs-two"}]})
    report = await cpe.run_session(events=["2 PERIODIC"])
    assert report.ok and report.rpcs == ["SetParameterValues"]
    assert cpe.get(SSID1) == "acs-two"
    report = await cpe.run_session(events=["2 PERIODIC"])
    assert report.ok and report.rpcs == []  # nothing left to do
    await put_preset(prov_stack, nbi, "wifi", None)


@requires_shared
async def test_bootstrap_of_a_tr181_device_with_igd_presets(prov_stack, nbi):
    """A TR-181 device (a real dump: the simulator has no built-in one) bootstraps in the same two
    RPCs while the presets name InternetGatewayDevice paths only: they resolve to nothing."""
    await put_preset(prov_stack, nbi, "wifi", {
        "weight": 10, "events": ["0 BOOTSTRAP", "2 PERIODIC"],
        "declarations": [{"path": SSID, "value": "acs-one"},
                         {"path": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "value": 1800}]})
    try:
        tr181 = SimulatedCpe(tr181_model(), acs_url=prov_stack.cwmp_url(0), serial="PROV0181")
        report = await tr181.run_session(events=["0 BOOTSTRAP", "1 BOOT"])
        assert report.ok and report.rpcs == ["GetParameterValues", "SetParameterValues"]  # the IGD preset resolves to nothing
        assert tr181.get("Device.ManagementServer.PeriodicInformInterval") == 3600
    finally:
        await put_preset(prov_stack, nbi, "wifi", None)


async def test_a_provision_function_that_hangs_or_raises_faults_only_its_channel(prov_stack, prov_db, nbi):
    only = {"_deviceId._SerialNumber": "FUNC0001"}
    await put_preset(prov_stack, nbi, "spin", {"channel": "spin", "events": ["2 PERIODIC"], "precondition": only,
                                               "configurations": [{"type": "provision", "name": "spin"}]})
    await put_preset(prov_stack, nbi, "broken", {"channel": "broken", "events": ["2 PERIODIC"], "precondition": only,
                                                 "configurations": [{"type": "provision", "name": "broken"}]})
    await put_preset(prov_stack, nbi, "fine", {"channel": "fine", "events": ["2 PERIODIC"], "precondition": only,
                                               "declarations": [{"path": SSID1, "value": "still-works"}]})
    cpe = SimulatedCpe(IGD_MODEL, acs_url=prov_stack.cwmp_url(0), serial="FUNC0001")
    assert (await cpe.run_session(events=["0 BOOTSTRAP", "1 BOOT"])).ok
    report = await cpe.run_session(events=["2 PERIODIC"])
    assert report.ok and report.duration_s < 5 and report.rpcs == ["SetParameterValues"]
    assert cpe.get(SSID1) == "still-works"  # the other preset of the same device still applied
    device = cpe_device_id(IGD_MODEL, "FUNC0001")
    faults = await eventually(lambda: {f["channel"]: f for f in prov_db.faults.find({"device": device})}
                              if prov_db.faults.count_documents({"device": device}) == 2 else None)
    assert faults["spin"]["code"] == "timeout" and faults["broken"]["code"] == "provision_error"
    assert "ZeroDivisionError" in faults["broken"]["message"]
    other = SimulatedCpe(IGD_MODEL, acs_url=prov_stack.cwmp_url(0), serial="FUNC0002")
    assert (await other.run_session(events=["0 BOOTSTRAP", "1 BOOT"])).ok  # other devices are not affected
    for name in ("spin", "broken"):
        await put_preset(prov_stack, nbi, name, None)
    assert (await cpe.run_session(events=["2 PERIODIC"])).ok
    await eventually(lambda: prov_db.faults.count_documents({"device": device}) == 0)  # cleared by a clean run
    await put_preset(prov_stack, nbi, "fine", None)


async def test_ping_diagnostics_returns_results(prov_stack, prov_db, nbi):
    cpe = SimulatedCpe(IGD_MODEL, acs_url=prov_stack.cwmp_url(0), serial="PING0001")
    await cpe.start()  # BOOTSTRAP: the defaults store the connection request credentials
    try:
        device = cpe_device_id(IGD_MODEL, "PING0001")
        await eventually(lambda: prov_db.credentials.find_one({"_id": device}), timeout=20)
        await cpe.wait_idle()
        r = await nbi.post(f"/devices/{device}/tasks", params={"connection_request": "", "timeout": 30000},
                           json={"name": "ipPing", "host": "192.0.2.10", "numberOfRepetitions": 3})
        assert r.status_code == 200, r.text
        task = r.json()
        assert task["status"] == "done" and task["result"]["diagnosticsState"] == "Complete"
        res = task["result"]["results"]
        assert res["SuccessCount"] + res["FailureCount"] == 3
        counts = ("SuccessCount", "FailureCount", "MinimumResponseTime", "AverageResponseTime", "MaximumResponseTime")
        assert {k: res[k] for k in counts} == {k: cpe.get(f"InternetGatewayDevice.IPPingDiagnostics.{k}") for k in counts}
        assert res["MinimumResponseTime"] <= res["AverageResponseTime"] <= res["MaximumResponseTime"]
        assert cpe.get("InternetGatewayDevice.IPPingDiagnostics.Host") == "192.0.2.10"
    finally:
        await cpe.stop()


def threshold_wave(fleet: Fleet, threshold: float) -> tuple[int, int, int]:
    """(index, first device, size) of the wave in which the fleet's failing devices first pass the
    threshold (waves of 10, 20, 40, 80, 50 in id order)."""
    failing = {cpe_device_id(IGD_MODEL, c.serial) for c in fleet if c.fail_downloads}
    ids = sorted(cpe_device_id(IGD_MODEL, c.serial) for c in fleet)
    assert len(failing) == 10
    start, size, index = 0, 10, 0
    while start < len(ids):
        wave = ids[start : start + size]
        if sum(d in failing for d in wave) / len(wave) > threshold:
            return index, start, len(wave)
        start, size, index = start + len(wave), size * 2, index + 1
    raise AssertionError("no wave passes the threshold")  # 5% fail overall, so some wave has more than 3%


async def test_campaign_of_200_devices_pauses_at_its_threshold(prov_stack, prov_db, nbi):
    fleet = Fleet(IGD_MODEL, count=200, acs_url=prov_stack.cwmp_url(0), serial_format="CAMP{index:05d}",
                  fail_downloads=0.05, seed=7, boot_delay_s=0.1)
    await fleet.start(boot_within_s=4)
    try:
        await eventually(lambda: prov_db.credentials.count_documents({"_id": {"$regex": "-CAMP"}}) == 200, timeout=60, interval=0.5)
        # device documents are written as each first session ends, just after the credentials
        await eventually(lambda: prov_db.devices.count_documents({"_id": {"$regex": "-CAMP"}}) == 200, timeout=30, interval=0.5)
        r = await nbi.put("/files/fw-campaign.bin", content=b"\x7fFW" * 2000, headers={"fileType": "1 Firmware Upgrade Image"})
        assert r.status_code == 201, r.text
        threshold = 0.03
        r = await nbi.post("/campaigns", json={
            "name": "fw-200", "fileName": "fw-campaign.bin", "query": {"_deviceId._SerialNumber": {"$regex": "^CAMP"}},
            "canaryPercent": 5, "waveGrowth": 2, "maxConcurrent": 40, "failureThreshold": threshold,
            "connectionRequestRate": 200})
        assert r.status_code == 201, r.text
        expected = threshold_wave(fleet, threshold)

        async def paused():
            c = (await nbi.get("/campaigns/fw-200")).json()
            return c if c["status"] == "paused" else None

        c = None
        for _ in range(240):
            c = await paused()
            if c:
                break
            await asyncio.sleep(0.25)
        assert c is not None, (await nbi.get("/campaigns/fw-200")).json()
        reason = c["reason"]
        assert reason["code"] == "failure_threshold" and reason["ratio"] > threshold
        assert (reason["wave"], reason["size"]) == (expected[0], expected[2])
        counts = c["counts"]
        assert sum(counts.values()) == 200 and counts["failed"] >= 1
        assert counts["pending"] == 200 - expected[1] - expected[2]  # no later wave started
        metrics = (await nbi.get("/metrics")).text
        assert 'acs_campaign_devices{campaign="fw-200",state="failed"}' in metrics
        failed = prov_db.tasks.find_one({"campaign": "fw-200", "status": "fault"})
        assert failed["fault"]["code"] == "cwmp.9010"
        done = prov_db.tasks.find_one({"campaign": "fw-200", "status": "done"})
        assert done is not None
        assert (await nbi.post("/campaigns/fw-200/abort")).json()["status"] == "aborted"
    finally:
        await fleet.stop()
