"""Firmware campaigns: waves, the concurrency cap, the failure threshold, pause/resume/abort, and
progress through the NBI and Prometheus. The scheduler's part (running the download tasks) is
played by the test, which completes or faults the tasks the controller created."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from inv_support import ADMIN, OPERATOR, READONLY, igd_device

from inventory.campaigns import CAMPAIGN_DEVICES, CampaignController, wave_size

pytestmark = pytest.mark.asyncio(loop_scope="session")

PREFIX = "CAFE01-Camp"


@pytest.fixture(scope="module")
async def fleet(nbi, runtime):
    docs = [igd_device(f"{PREFIX}-{i:03d}", tags=["campaign"], cr_url="http://127.0.0.1:1/cr") for i in range(40)]
    await runtime.db.devices.insert_many(docs)
    r = await nbi.put("/files/fw-2.0.bin", content=b"F" * 1000, headers={**ADMIN, "fileType": "1 Firmware Upgrade Image"})
    assert r.status_code in (200, 201)
    return [d["_id"] for d in docs]


async def finish(runtime, states: dict[str, str]) -> None:
    """The scheduler's outcome for some devices' download tasks: "done" or "fault"."""
    for device, status in states.items():
        await runtime.db.tasks.update_one({"device": device, "name": "download", "status": "pending"}, {"$set": {
            "status": status, "completedAt": datetime.now(UTC),
            "fault": {"code": "cwmp.9010", "message": "Download failed"} if status == "fault" else None}})


async def devices_in(runtime, cid: str, state: str) -> list[str]:
    rows = await runtime.db.db[CAMPAIGN_DEVICES].find({"campaign": cid, "state": state}).sort("device", 1).to_list(None)
    return [r["device"] for r in rows]


async def test_wave_sizes():
    c = {"canaryPercent": 5, "waveGrowth": 2, "minWaveSize": 1}
    assert [wave_size(c, 0, 200, 0), wave_size(c, 1, 200, 10), wave_size(c, 2, 200, 20)] == [10, 20, 40]
    assert wave_size({**c, "minWaveSize": 25}, 0, 200, 0) == 25


async def test_waves_threshold_pause_resume_abort(nbi, runtime, fleet):
    await _create_fw2(nbi)
    ctl = CampaignController(runtime)
    try:
        await _canary_wave(ctl, runtime, fleet)
        await _wave_trips_the_failure_threshold(nbi, ctl, runtime)
        await _paused_until_resumed(nbi, ctl, runtime)
        await _abort_cancels_what_has_not_started(nbi, runtime)
    finally:
        await ctl.stop()


async def _create_fw2(nbi) -> None:
    """Campaign fw2 over the 40 devices: operators create it (once), readers may not."""
    body = {"name": "fw2", "fileName": "fw-2.0.bin", "query": json.dumps({"_tags": "campaign"}), "canaryPercent": 10,
            "waveGrowth": 2, "maxConcurrent": 5, "failureThreshold": 0.2, "connectionRequestRate": 500}
    assert (await nbi.post("/campaigns", json=body, headers=READONLY)).status_code == 403
    r = await nbi.post("/campaigns", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    assert r.json()["total"] == 40 and r.json()["counts"]["pending"] == 40
    assert (await nbi.post("/campaigns", json=body, headers=OPERATOR)).status_code == 409


async def _canary_wave(ctl, runtime, fleet) -> None:
    """The canary is 10% of 40, each with its download task; all four succeed."""
    await ctl.tick()  # canary: 10% of 40
    canary = await devices_in(runtime, "fw2", "downloading")
    assert canary == fleet[:4]
    tasks = await runtime.db.tasks.find({"campaign": "fw2"}).to_list(None)
    assert {t["device"] for t in tasks} == set(canary) and all(t["fileName"] == "fw-2.0.bin" for t in tasks)
    await finish(runtime, dict.fromkeys(canary, "done"))


async def _wave_trips_the_failure_threshold(nbi, ctl, runtime) -> None:
    """Wave 1 (8 devices, at most 5 at once): 2 failures of 8 pause the campaign."""
    await ctl.tick()  # wave 1: 8 devices, at most 5 downloading
    assert len(await devices_in(runtime, "fw2", "downloading")) == 5
    assert len(await devices_in(runtime, "fw2", "queued")) == 3
    batch = await devices_in(runtime, "fw2", "downloading")
    await finish(runtime, {batch[0]: "fault", batch[1]: "fault", batch[2]: "done"})
    await ctl.tick()  # 2 of 8 failed: 25% > 20%
    c = (await nbi.get("/campaigns/fw2", headers=READONLY)).json()
    assert c["status"] == "paused"
    assert c["reason"] == {"code": "failure_threshold", "wave": 1, "failed": 2, "size": 8, "ratio": 0.25, "threshold": 0.2}
    assert c["counts"]["done"] == 5 and c["counts"]["failed"] == 2 and c["counts"]["downloading"] == 2
    assert c["waveCounts"]["1"]["failed"] == 2


async def _paused_until_resumed(nbi, ctl, runtime) -> None:
    """Nothing starts while paused (Prometheus shows the failures); resuming starts the wave's last 3."""
    await ctl.tick()
    assert len(await devices_in(runtime, "fw2", "queued")) == 3  # nothing new while paused
    metrics = (await nbi.get("/metrics")).text
    assert 'acs_campaign_devices{campaign="fw2",state="failed"} 2.0' in metrics
    assert (await nbi.post("/campaigns/fw2/resume", headers=OPERATOR)).json()["status"] == "running"
    await ctl.tick()  # the tripped wave is accepted; its last 3 start
    assert len(await devices_in(runtime, "fw2", "downloading")) == 5
    assert (await nbi.post("/campaigns/fw2/resume", headers=OPERATOR)).status_code == 409


async def _abort_cancels_what_has_not_started(nbi, runtime) -> None:
    r = await nbi.post("/campaigns/fw2/abort", headers=OPERATOR)
    c = r.json()
    assert c["status"] == "aborted" and c["counts"]["pending"] == 0 and c["counts"]["queued"] == 0
    # 5 done, 2 failed; the 5 whose tasks no CPE had started yet and the 28 never reached are cancelled
    assert (c["counts"]["done"], c["counts"]["failed"], c["counts"]["cancelled"]) == (5, 2, 33)
    assert await runtime.db.tasks.count_documents({"campaign": "fw2", "status": "pending"}) == 0


async def test_abort_keeps_transfers_in_progress(nbi, runtime, fleet):
    body = {"name": "fw3", "fileName": "fw-2.0.bin", "query": {"_tags": "campaign"}, "canaryPercent": 5,
            "maxConcurrent": 2}
    assert (await nbi.post("/campaigns", json=body, headers=OPERATOR)).status_code == 201
    ctl = CampaignController(runtime)
    try:
        await ctl.tick()
        started = await devices_in(runtime, "fw3", "downloading")
        assert len(started) == 2
        await runtime.db.tasks.update_one({"campaign": "fw3", "device": started[0]}, {"$set": {"transfer": "in_progress", "attempts": 1}})
        c = (await nbi.post("/campaigns/fw3/abort", headers=OPERATOR)).json()
        assert c["counts"]["downloading"] == 1 and c["counts"]["cancelled"] == 39
        assert await runtime.db.tasks.count_documents({"campaign": "fw3"}) == 1
        await finish(runtime, {started[0]: "done"})
        await ctl.tick()
        c = (await nbi.get("/campaigns/fw3", headers=READONLY)).json()
        assert c["counts"]["done"] == 1 and c["status"] == "aborted"
        assert [x["_id"] for x in (await nbi.get("/campaigns", headers=READONLY)).json()][:2] == ["fw3", "fw2"]
    finally:
        await ctl.stop()


@pytest.mark.parametrize("body, error", [
    ({"fileName": "nope.bin", "query": {}}, "no file named"),
    ({"fileName": "fw-2.0.bin"}, "query is required"),
    ({"fileName": "fw-2.0.bin", "query": {"_tags": "nobody"}}, "selects no device"),
    ({"fileName": "fw-2.0.bin", "query": {}, "failureThreshold": 2}, "failureThreshold"),
    ({"fileName": "fw-2.0.bin", "query": {"$where": "1"}}, "not allowed"),
    ({"fileName": "fw-2.0.bin", "query": {}, "colour": "red"}, "unknown campaign fields"),
    ({"fileName": "fw-2.0.bin", "query": {}, "name": "a b"}, "name"),
])
async def test_bad_campaigns(nbi, fleet, body, error):
    r = await nbi.post("/campaigns", json=body, headers=OPERATOR)
    assert r.status_code == 400 and error in r.json()["error"] + str(r.json()["detail"]), r.json()


async def test_devices_that_never_answer_fail_after_the_device_timeout(nbi, runtime, fleet):
    body = {"name": "fw4", "fileName": "fw-2.0.bin", "query": {"_tags": "campaign"}, "canaryPercent": 5,
            "maxConcurrent": 2, "deviceTimeoutS": 0.3}
    assert (await nbi.post("/campaigns", json=body, headers=OPERATOR)).status_code == 201
    ctl = CampaignController(runtime)
    try:
        await ctl.tick()
        assert len(await devices_in(runtime, "fw4", "downloading")) == 2
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # once the 0.3 s device timeout has run out, a tick fails both
            await ctl.tick()
            c = (await nbi.get("/campaigns/fw4", headers=READONLY)).json()
            if c["counts"].get("failed") or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert c["counts"]["failed"] == 2 and c["status"] == "paused" and c["reason"]["code"] == "failure_threshold"
        assert await runtime.db.tasks.count_documents({"campaign": "fw4"}) == 0  # withdrawn: no CPE had started them
        row = await runtime.db.db[CAMPAIGN_DEVICES].find_one({"campaign": "fw4", "state": "failed"})
        assert row["fault"]["code"] == "timeout"
    finally:
        await ctl.stop()
        await nbi.post("/campaigns/fw4/abort", headers=OPERATOR)


async def test_unknown_campaign(nbi):
    assert (await nbi.get("/campaigns/none", headers=READONLY)).status_code == 404
    assert (await nbi.post("/campaigns/none/pause", headers=OPERATOR)).status_code == 404
