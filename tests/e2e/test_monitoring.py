"""Device monitoring end to end (docs/monitoring.md): presets configure each simulated CPE's TR-232
Bulk Data profile (the ``bulkdata_profile`` provision function), the CPEs send real reports (JSON
name-value with gzip, CSV per row) to the collector, the history writer stores them and the NBI
returns them as history and fleet aggregates; a threshold rule raises an alarm when a CPE's value
crosses it and clears it when the value comes back, in the NBI and on acs.alarms.v1."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from acs_contracts.kafka_topics import ALARMS, AlarmEvent
from acs_devstack.stack import Stack
from cpe_simulator import SimulatedCpe

from .conftest import cpe_device_id, eventually, igd_model, nbi_client, put_preset

PROVISIONS = Path(__file__).resolve().parents[2] / "services" / "telemetry" / "provisions"
MODEL = igd_model()
ASSOC = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.TotalAssociations"
WAN_BYTES = "InternetGatewayDevice.WANDevice.1.WANCommonInterfaceConfig.TotalBytesReceived"
ALL_ASSOC = "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.TotalAssociations"


@pytest.fixture(scope="module")
def mon_stack() -> Iterator[Stack]:
    st = Stack(partitions=2).start_servers()
    try:
        st.add_telemetry(TELEMETRY_RULES_REFRESH_S="0.2", TELEMETRY_WRITER_MAX_WAIT_MS="50")  # before the scheduler: it gets the secret
        st.add_inventory()
        st.add_scheduler(SCHEDULER_PROVISIONS_DIR=str(PROVISIONS), SCHEDULER_PRESETS_POLL_S="0.2")
        st.add_gateway()
        yield st
    finally:
        st.stop()


@pytest.fixture
async def nbi(mon_stack):
    async with nbi_client(mon_stack) as c:
        yield c


def profile_preset(serial: str, spec: dict) -> dict:
    return {"weight": 0, "channel": "bulkdata", "events": ["0 BOOTSTRAP", "1 BOOT", "2 PERIODIC"],
            "precondition": {"_deviceId._SerialNumber": serial},
            "configurations": [{"type": "provision", "name": "bulkdata_profile", "args": [spec]}]}


poll = functools.partial(eventually, timeout=90.0, interval=0.3)  # the CPEs report every second


async def bootstrap_with_profiles(st: Stack, cpes: list[SimulatedCpe]) -> None:
    """The CPEs' first sessions (JSON one, CSV the other): the presets configure their Bulk Data
    profiles, so each reports on its own, authenticated."""
    for cpe in cpes:
        cpe.set_local_value(ASSOC, 3)
        report = await cpe.run_session(events=["0 BOOTSTRAP", "1 BOOT"])
        assert report.ok, report.error
    json_cpe, csv_cpe = cpes
    assert json_cpe.get("InternetGatewayDevice.BulkData.Profile.1.Enable") is True
    assert json_cpe.get("InternetGatewayDevice.BulkData.Profile.1.HTTP.URL") == st.bulkdata_url
    assert csv_cpe.get("InternetGatewayDevice.BulkData.Profile.1.EncodingType") == "CSV"


async def test_bulk_data_reports_become_history_and_a_threshold_alarm_raises_and_clears(mon_stack, nbi):
    st = mon_stack
    json_spec = {"url": st.bulkdata_url, "interval": 1, "encoding": "JSON", "format": "NameValuePair",
                 "compression": "GZIP", "parameters": [ASSOC, WAN_BYTES]}
    csv_spec = {"url": st.bulkdata_url, "interval": 1, "encoding": "CSV", "format": "ParameterPerRow",
                "parameters": [ALL_ASSOC]}
    await put_preset(st, nbi, "bulkdata-json", profile_preset("MON0001", json_spec))
    await put_preset(st, nbi, "bulkdata-csv", profile_preset("MON0002", csv_spec))
    r = await nbi.put("/alarm-rules/wifi-crowded", json={"kind": "threshold", "parameter": ALL_ASSOC, "op": ">",
                                                         "value": 20, "clearValue": 10, "severity": "minor"})
    assert r.status_code == 200, r.text
    alarms_topic = AIOKafkaConsumer(ALARMS, bootstrap_servers=st.common_env()["ACS_KAFKA_BOOTSTRAP"], auto_offset_reset="earliest")
    await alarms_topic.start()
    cpes = [SimulatedCpe(MODEL, acs_url=st.cwmp_url(0), serial=s) for s in ("MON0001", "MON0002")]
    try:
        await bootstrap_with_profiles(st, cpes)
        json_cpe, csv_cpe = cpes

        async def reported() -> bool:
            return json_cpe.bulkdata.sent >= 2 and csv_cpe.bulkdata.sent >= 2

        await poll(reported)
        assert json_cpe.bulkdata.last_status == 204 and csv_cpe.bulkdata.last_status == 204

        ids = [cpe_device_id(MODEL, c.serial) for c in cpes]

        async def history(device: str) -> dict:
            r = await nbi.get(f"/devices/{device}/history", params={"parameters": f"{ASSOC},{WAN_BYTES}"})
            assert r.status_code == 200, r.text
            return r.json()["series"]

        series = await poll(lambda: _when(history(ids[0]), lambda s: len(s.get(ASSOC, [])) >= 2 and WAN_BYTES in s))
        assert {p["value"] for p in series[ASSOC]} == {3}
        assert isinstance(series[WAN_BYTES][-1]["value"], int)
        series = await poll(lambda: _when(history(ids[1]), lambda s: len(s.get(ASSOC, [])) >= 2))  # from the CSV reports
        assert {p["value"] for p in series[ASSOC]} == {3} and WAN_BYTES not in series

        # a threshold: crowded Wi-Fi on one CPE raises its alarm, and clears it once it is back under 10
        json_cpe.set_local_value(ASSOC, 25)
        alarm_id = f"{ids[0]}:wifi-crowded"

        async def alarm(state: str) -> dict | None:
            r = await nbi.get("/alarms", params={"device": ids[0], "rule": "wifi-crowded", "state": state})
            assert r.status_code == 200, r.text
            return r.json()[0] if r.json() else None

        raised = await poll(lambda: alarm("raised"))
        assert (raised["_id"], raised["parameter"], raised["value"], raised["severity"]) == (alarm_id, ASSOC, 25, "minor")
        json_cpe.set_local_value(ASSOC, 15)  # under the limit, over the clear value: still raised
        await poll(lambda: _when(history(ids[0]), lambda s: 15 in [p["value"] for p in s.get(ASSOC, [])]))
        assert await alarm("raised") is not None
        json_cpe.set_local_value(ASSOC, 5)
        cleared = await poll(lambda: alarm("cleared"))
        assert cleared["clearValue"] == 5 and cleared["clearedAt"] >= cleared["raisedAt"]
        assert (await nbi.get("/alarms", params={"device": ids[1]})).json() == []  # the other CPE never crossed it

        events = []

        async def on_topic() -> bool:
            batch = await alarms_topic.getmany(timeout_ms=500)
            events.extend(AlarmEvent.decode(rec.value) for recs in batch.values() for rec in recs)
            return [e.state for e in events if e.alarm_id == alarm_id] == ["raised", "cleared"]

        await poll(on_topic, timeout=30)

        # the fleet view: per model, how many devices reported the KPI and how many crossed 20
        r = await nbi.get("/history/aggregate", params={"parameter": ASSOC, "op": ">", "value": "20"})
        [row] = r.json()["models"]
        assert (row["model"], row["devices"], row["over"], row["max"]) == (MODEL.identity.product_class, 2, 1, 25)
    finally:
        for cpe in cpes:
            await cpe.stop()
        await alarms_topic.stop()


async def test_value_changes_of_a_notification_declared_by_a_preset_reach_the_history(mon_stack, nbi):
    """Devices without Bulk Data: a preset turns passive notification on for a KPI; the CPE's next
    Inform carries its change (4 VALUE CHANGE), which reaches the history via acs.parameter-changes.v1."""
    st = mon_stack
    await put_preset(st, nbi, "kpi-notify", {
        "weight": 0, "channel": "notify", "events": ["0 BOOTSTRAP", "1 BOOT", "2 PERIODIC"],
        "precondition": {"_deviceId._SerialNumber": "MON0003"}, "declarations": [{"path": ASSOC, "notification": 1}]})
    cpe = SimulatedCpe(MODEL, acs_url=st.cwmp_url(0), serial="MON0003")
    device = cpe_device_id(MODEL, "MON0003")
    report = await cpe.run_session(events=["0 BOOTSTRAP", "1 BOOT"])
    assert report.ok, report.error
    assert cpe.device.tree.notification(ASSOC) == 1  # set by the preset (SetParameterAttributes)
    cpe.set_local_value(ASSOC, 42)
    report = await cpe.run_session()
    assert report.ok and "4 VALUE CHANGE" in report.events

    async def history() -> list | None:
        r = await nbi.get(f"/devices/{device}/history", params={"parameters": ASSOC})
        assert r.status_code == 200, r.text
        points = r.json()["series"].get(ASSOC, [])
        return points if 42 in [p["value"] for p in points] else None

    await poll(history)


async def test_reports_with_a_wrong_password_or_bad_body_are_refused(mon_stack):
    device = cpe_device_id(MODEL, "MON0009")
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(mon_stack.bulkdata_url, content=b'{"Report": []}', auth=(device, "wrong"),
                         headers={"BBF-Report-Format": "NameValuePair", "Content-Type": "application/json"})
        assert r.status_code == 401 and "Basic" in r.headers["www-authenticate"]
        from telemetry.auth import device_password

        good = (device, device_password(mon_stack.telemetry_secret.encode(), device))
        r = await c.post(mon_stack.bulkdata_url, content=b'{"Report": 5}', auth=good,
                         headers={"BBF-Report-Format": "NameValuePair", "Content-Type": "application/json"})
        assert r.status_code == 400 and "Report" in r.json()["detail"]
        r = await c.post(mon_stack.bulkdata_url, content=b"ReportTimestamp,ParameterName,ParameterValue\n1,Device.A,7\n", auth=good,
                         headers={"BBF-Report-Format": "ParameterPerRow", "Content-Type": "text/csv"})
        assert r.status_code == 204


async def _when(coro, predicate):
    value = await coro
    return value if predicate(value) else None
