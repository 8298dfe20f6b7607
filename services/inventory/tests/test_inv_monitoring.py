"""KPI history and alarms through the NBI: buckets read back by device and time, fleet
aggregates per model, alarm rules validated and stored, alarms listed and acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from inv_support import ADMIN, OPERATOR, READONLY

pytestmark = pytest.mark.asyncio(loop_scope="session")

H = datetime(2026, 3, 1, 10, tzinfo=UTC)
CPU = "Device.DeviceInfo.ProcessStatus.CPUUsage"


def bucket(device: str, model: str, hour: datetime, samples: list[tuple[str, int, object]]) -> dict:
    return {"_id": f"{device}:{hour:%Y%m%d%H}", "device": device, "model": model, "hour": hour,
            "expiresAt": datetime.now(UTC) + timedelta(days=30), "n": len(samples),  # past dates: the TTL monitor deletes them
            "s": [{"p": p, "t": hour + timedelta(seconds=sec), "v": v} for p, sec, v in samples]}


@pytest.fixture(scope="module")
async def history(runtime):
    coll = runtime.db.db.metrics_history
    await coll.delete_many({})
    await coll.insert_many([
        bucket("OUI-A1-1", "A1", H, [(CPU, 60, 20), (CPU, 120, 95), ("Device.X", 60, "up")]),
        bucket("OUI-A1-1", "A1", H + timedelta(hours=1), [(CPU, 30, 40)]),
        bucket("OUI-A1-2", "A1", H, [(CPU, 60, 10)]),
        bucket("OUI-B2-3", "B2", H, [(CPU, 60, 99)]),
        {"_id": "OUI-A1-1:old", "device": "OUI-A1-1", "model": "A1", "hour": H - timedelta(hours=3), "resolution": "1h",
         "agg": [{"p": CPU, "t": H - timedelta(hours=3) + timedelta(minutes=59), "min": 1, "max": 9, "avg": 5, "n": 4, "last": 7}]},
    ])
    yield coll
    await coll.delete_many({})


async def test_device_history_by_parameter_and_time(nbi, history):
    r = await nbi.get("/devices/OUI-A1-1/history", headers=READONLY, params={
        "parameters": CPU, "from": (H - timedelta(hours=4)).isoformat(), "to": str((H + timedelta(hours=2)).timestamp())})
    assert r.status_code == 200, r.text
    body = r.json()
    points = body["series"][CPU]
    assert [p["value"] for p in points] == [7, 20, 95, 40]
    assert points[0]["min"] == 1 and points[0]["avg"] == 5  # a down-sampled hour
    assert list(body["series"]) == [CPU] and body["truncated"] is False
    r = await nbi.get("/devices/OUI-A1-1/history", headers=READONLY,
                      params={"from": H.isoformat(), "to": (H + timedelta(minutes=60)).isoformat()})
    assert {k: [p["value"] for p in v] for k, v in r.json()["series"].items()} == {CPU: [20, 95], "Device.X": ["up"]}


@pytest.mark.parametrize(("params", "error"), [
    ({"from": "yesterday"}, "from must be ISO-8601"),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from must be before to"),
    ({"parameters": "Device..X"}, "parameters must be"),
    ({"limit": "0"}, "limit must be"),
])
async def test_bad_history_queries_are_refused(nbi, history, params, error):
    r = await nbi.get("/devices/OUI-A1-1/history", headers=READONLY, params=params)
    assert r.status_code == 400 and error in r.json()["error"]


async def test_fleet_aggregate_counts_devices_over_a_threshold_per_model(nbi, history):
    r = await nbi.get("/history/aggregate", headers=READONLY, params={
        "parameter": CPU, "op": ">", "value": "90", "from": H.isoformat(), "to": (H + timedelta(hours=2)).isoformat()})
    assert r.status_code == 200, r.text
    models = {m["model"]: m for m in r.json()["models"]}
    assert set(models) == {"A1", "B2"}, r.text
    assert (models["A1"]["devices"], models["A1"]["over"], models["A1"]["max"], models["A1"]["samples"]) == (2, 1, 95, 4)
    assert (models["B2"]["devices"], models["B2"]["over"]) == (1, 1)
    assert models["A1"]["avg"] == pytest.approx((20 + 95 + 40 + 10) / 4)
    r = await nbi.get("/history/aggregate", headers=READONLY, params={"parameter": CPU, "op": "~", "value": "1"})
    assert r.status_code == 400


async def test_alarm_rules_are_validated_and_admin_only(nbi, runtime):
    rule = {"kind": "threshold", "parameter": "Device.WiFi.Radio.*.Stats.ErrorsSent", "op": ">", "value": 100, "clearValue": 50}
    assert (await nbi.put("/alarm-rules/wifi-errors", json=rule, headers=OPERATOR)).status_code == 403
    r = await nbi.put("/alarm-rules/wifi-errors", json=rule, headers=ADMIN)
    assert r.status_code == 200 and r.json()["severity"] == "major"
    for bad, error in (({"kind": "median"}, "kind"), ({**rule, "value": "100"}, "value must be a number"),
                       ({**rule, "parameter": "Device..X"}, "parameter"), ({"kind": "missing-informs"}, "missingS"),
                       ({**rule, "colour": "red"}, "unknown rule fields")):
        r = await nbi.put("/alarm-rules/bad", json=bad, headers=ADMIN)
        assert r.status_code == 400 and error in r.json()["error"], (bad, r.text)
    assert [d["_id"] for d in (await nbi.get("/alarm-rules", headers=READONLY)).json()] == ["wifi-errors"]
    assert (await nbi.delete("/alarm-rules/wifi-errors", headers=ADMIN)).status_code == 200
    assert (await nbi.delete("/alarm-rules/wifi-errors", headers=ADMIN)).status_code == 404


async def test_alarms_are_listed_and_acknowledged(nbi, runtime):
    coll = runtime.db.db.alarms
    await coll.insert_many([
        {"_id": "D1:cpu", "device": "D1", "rule": "cpu", "state": "raised", "severity": "major", "raisedAt": H, "acknowledged": False},
        {"_id": "D2:cpu", "device": "D2", "rule": "cpu", "state": "cleared", "severity": "major", "raisedAt": H - timedelta(hours=1),
         "clearedAt": H, "acknowledged": False},
    ])
    try:
        r = await nbi.get("/alarms", headers=READONLY, params={"state": "raised"})
        assert [a["_id"] for a in r.json()] == ["D1:cpu"]
        assert (await nbi.post("/alarms/D1:cpu/ack", headers=READONLY)).status_code == 403
        assert (await nbi.post("/alarms/D1:cpu/ack", headers=OPERATOR)).status_code == 200
        assert (await nbi.post("/alarms/nope/ack", headers=OPERATOR)).status_code == 404
        r = await nbi.get("/alarms", headers=READONLY, params={"acknowledged": "true"})
        assert [a["_id"] for a in r.json()] == ["D1:cpu"] and r.json()[0]["ackedAt"]
        assert r.json()[0]["ackedBy"]["role"] == "operator" and len(r.json()[0]["ackedBy"]["token"]) == 12  # a fingerprint
    finally:
        await coll.delete_many({})
