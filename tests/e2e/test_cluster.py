"""The cluster end to end: gateway, broker, scheduler, store, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId

from cwmp import messages as m

from .conftest import eventually
from .scripted_cpe import ROOT, ScriptedCpe
from .topics import TopicReader


def _task(db, device: str, name: str, **args) -> ObjectId:
    doc = {"device": device, "name": name, "timestamp": datetime.now(UTC), "status": "pending", **args}
    return db.tasks.insert_one(doc).inserted_id


async def test_periodic_session_updates_the_device(stack, db, http):
    cpe = ScriptedCpe("PERIODIC1", [stack.cwmp_url(0)])
    a = await cpe.inform(http, ["2 PERIODIC"], params={f"{ROOT}.DeviceInfo.UpTime": (1234, "xsd:unsignedInt")})
    assert a.status == 200 and isinstance(a.body, m.InformResponse)
    assert a.envelope.id == "inform-1"  # cwmp:ID echoed
    assert "acs_session" in cpe.cookies
    b = await cpe.empty(http)
    assert b.status == 204
    dev = await eventually(lambda: db.devices.find_one({"_id": "202BC1-BM632w-PERIODIC1"}))
    assert dev["_deviceId"] == {"_Manufacturer": "Huawei", "_OUI": "202BC1", "_ProductClass": "BM632w", "_SerialNumber": "PERIODIC1"}
    assert dev[ROOT]["DeviceInfo"]["UpTime"]["_value"] == 1234
    assert dev[ROOT]["DeviceInfo"]["UpTime"]["_type"] == "xsd:unsignedInt"
    assert dev["_acs"]["lastEvents"] == ["2 PERIODIC"] and dev["_acs"]["sourceIp"] == "127.0.0.1"
    assert "_lastInform" in dev and "_registered" in dev


async def test_repeated_informs_touch_only_the_last_informs_document(stack, db, http):
    """A periodic Inform that says nothing new rewrites only the device's small last_informs
    document; one with a new value (or BOOT) writes the device document too."""
    device = "202BC1-BM632w-REPEAT1"
    cpe = ScriptedCpe("REPEAT1", [stack.cwmp_url(0)])
    uptime = f"{ROOT}.DeviceInfo.X_Counter"
    await cpe.inform(http, ["1 BOOT"], params={uptime: (1, "xsd:unsignedInt")})
    assert (await cpe.empty(http)).status == 204
    first = await eventually(lambda: db.devices.find_one({"_id": device}))
    for _ in range(2):
        await cpe.inform(http, ["2 PERIODIC"], params={uptime: (1, "xsd:unsignedInt")})
        assert (await cpe.empty(http)).status == 204
    last = await eventually(lambda: db.last_informs.find_one({"_id": device, "_acs.lastEvents": ["2 PERIODIC"],
                                                              "_lastInform": {"$gt": first["_lastInform"]}}))
    unchanged = db.devices.find_one({"_id": device})
    assert unchanged["_lastInform"] == first["_lastInform"] and unchanged["_acs"]["lastEvents"] == ["1 BOOT"]
    assert unchanged[ROOT]["DeviceInfo"]["X_Counter"]["_timestamp"] == first[ROOT]["DeviceInfo"]["X_Counter"]["_timestamp"]
    await cpe.inform(http, ["2 PERIODIC"], params={uptime: (2, "xsd:unsignedInt")})
    assert (await cpe.empty(http)).status == 204
    changed = await eventually(lambda: db.devices.find_one({"_id": device, f"{uptime}._value": 2}))
    assert changed["_lastInform"] > last["_lastInform"] and changed["_acs"]["lastEvents"] == ["2 PERIODIC"]
    assert changed["_acs"]["informHash"] != first["_acs"]["informHash"]
    # a device deleted (as the NBI does: both documents) comes back whole at its next Inform
    db.devices.delete_one({"_id": device})
    db.last_informs.delete_one({"_id": device})
    await cpe.inform(http, ["2 PERIODIC"], params={uptime: (2, "xsd:unsignedInt")})
    assert (await cpe.empty(http)).status == 204
    back = await eventually(lambda: db.devices.find_one({"_id": device}))
    assert back["_deviceId"]["_SerialNumber"] == "REPEAT1" and back[ROOT]["DeviceInfo"]["X_Counter"]["_value"] == 2


async def test_bootstrap_relearns_the_data_model(stack, db, http):
    cpe = ScriptedCpe("BOOT1", [stack.cwmp_url(0)])
    await cpe.inform(http, ["1 BOOT"], params={f"{ROOT}.X_Old.Value": ("stale", "xsd:string")})
    assert (await cpe.empty(http)).status == 204
    await eventually(lambda: db.devices.find_one({"_id": "202BC1-BM632w-BOOT1", f"{ROOT}.X_Old": {"$exists": True}}))
    await cpe.inform(http, ["0 BOOTSTRAP", "1 BOOT"])
    assert (await cpe.empty(http)).status == 204
    dev = await eventually(lambda: db.devices.find_one({"_id": "202BC1-BM632w-BOOT1", "_lastBootstrap": {"$exists": True}}))
    assert "X_Old" not in dev[ROOT] and dev[ROOT]["DeviceInfo"]["SoftwareVersion"]["_value"] == "V100R001"
    assert "_lastBoot" in dev


async def _gpv_then_spv_session(stack, db, http, serial: str, gateways: list[str]):
    device = f"202BC1-BM632w-{serial}"
    gpv = _task(db, device, "getParameterValues", parameterNames=[f"{ROOT}.DeviceInfo.UpTime"])
    spv = _task(db, device, "setParameterValues", parameterValues=[[f"{ROOT}.ManagementServer.PeriodicInformInterval", 600, "xsd:unsignedInt"]])
    cpe = ScriptedCpe(serial, gateways)
    assert (await cpe.inform(http, ["6 CONNECTION REQUEST"])).status == 200
    req = await cpe.empty(http)
    assert req.status == 200 and isinstance(req.body, m.GetParameterValues)
    assert req.body.parameter_names == [f"{ROOT}.DeviceInfo.UpTime"]
    req = await cpe.respond(http, req, m.GetParameterValuesResponse([m.ParameterValueStruct(f"{ROOT}.DeviceInfo.UpTime", 99, "xsd:unsignedInt")]))
    assert req.status == 200 and isinstance(req.body, m.SetParameterValues)
    p = req.body.parameter_list[0]
    assert (p.name, p.value, p.type) == (f"{ROOT}.ManagementServer.PeriodicInformInterval", 600, "xsd:unsignedInt")
    end = await cpe.respond(http, req, m.SetParameterValuesResponse(status=0))
    assert end.status == 204
    done = await eventually(lambda: db.tasks.find_one({"_id": spv, "status": "done"}))
    assert done["completedAt"]
    g = db.tasks.find_one({"_id": gpv})
    assert g["status"] == "done" and g["result"]["parameterValues"] == [[f"{ROOT}.DeviceInfo.UpTime", 99, "xsd:unsignedInt"]]
    dev = await eventually(lambda: db.devices.find_one({"_id": device, f"{ROOT}.ManagementServer.PeriodicInformInterval._value": 600}))
    assert dev[ROOT]["DeviceInfo"]["UpTime"]["_value"] == 99


async def test_get_and_set_parameter_values_tasks_in_one_session(stack, db, http):
    await _gpv_then_spv_session(stack, db, http, "TASKS1", [stack.cwmp_url(0)])


async def test_session_alternating_between_two_gateways(stack, db, http):
    """A non-sticky load balancer: every POST of the session lands on the other gateway."""
    await _gpv_then_spv_session(stack, db, http, "ALT1", [stack.cwmp_url(0), stack.cwmp_url(1)])


def _counter(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and want in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_nothing_to_do_ends_at_the_inform(stack, db, http):
    """A periodic session with nothing for the ACS: the scheduler says so in answer to the Inform
    event, and the gateway answers the empty POST with 204 without publishing it. Sent to the
    other gateway, the empty POST is published and still gets 204 (from the scheduler's memory)."""
    sched = f"http://127.0.0.1:{stack.schedulers[0].admin_port}/metrics"
    before = _counter((await http.get(sched)).text, "acs_scheduler_events_total", kind="empty")
    cpe = ScriptedCpe("IDLE1", [stack.cwmp_url(0)])
    for _ in range(3):
        assert (await cpe.inform(http, ["2 PERIODIC"])).status == 200
        assert (await cpe.empty(http)).status == 204
    assert _counter((await http.get(sched)).text, "acs_scheduler_events_total", kind="empty") == before
    other = ScriptedCpe("IDLE1", [stack.cwmp_url(0), stack.cwmp_url(1)])
    assert (await other.inform(http, ["2 PERIODIC"])).status == 200
    assert (await other.empty(http)).status == 204  # on the second gateway
    assert _counter((await http.get(sched)).text, "acs_scheduler_events_total", kind="empty") == before + 1
    await eventually(lambda: db.last_informs.find_one({"_id": "202BC1-BM632w-IDLE1", "_acs.lastEvents": ["2 PERIODIC"]}))


async def test_the_first_request_answers_the_empty_post_unpublished(stack, db, http):
    """With something to do, the scheduler offers its first request in answer to the Inform event
    and the gateway answers the empty POST with it, without publishing that POST. A CPE request
    first (unannounced by the Inform) leaves the offer unused: it goes out at the empty POST."""
    from cwmp import soap

    sched = f"http://127.0.0.1:{stack.schedulers[0].admin_port}/metrics"
    device, uptime = "202BC1-BM632w-OFFER1", f"{ROOT}.DeviceInfo.UpTime"
    before = _counter((await http.get(sched)).text, "acs_scheduler_events_total", kind="empty")
    cpe = ScriptedCpe("OFFER1", [stack.cwmp_url(0)])
    for n, ask_first in enumerate((False, True)):
        tid = _task(db, device, "getParameterValues", parameterNames=[uptime])
        assert (await cpe.inform(http, ["6 CONNECTION REQUEST"])).status == 200
        if ask_first:
            r = await cpe.post(http, soap.build_message(m.GetRPCMethods(), id="g1"))
            assert r.status == 200 and isinstance(r.body, m.GetRPCMethodsResponse)
        req = await cpe.empty(http)
        assert req.status == 200 and isinstance(req.body, m.GetParameterValues)
        end = await cpe.respond(http, req, m.GetParameterValuesResponse([m.ParameterValueStruct(uptime, 7 + n, "xsd:unsignedInt")]))
        assert end.status == 204
        t = await eventually(lambda tid=tid: db.tasks.find_one({"_id": tid, "status": "done"}))
        assert t["result"]["parameterValues"] == [[uptime, 7 + n, "xsd:unsignedInt"]]
        published = _counter((await http.get(sched)).text, "acs_scheduler_events_total", kind="empty") - before
        assert published == n  # only the empty POST after the CPE's own request was published
    dev = await eventually(lambda: db.devices.find_one({"_id": device, f"{uptime}._value": 8}))
    assert dev["_acs"]["lastEvents"] == ["6 CONNECTION REQUEST"]


async def test_set_parameter_values_fault_9007_fails_the_task(stack, db, http):
    device = "202BC1-BM632w-FAULT1"
    tid = _task(db, device, "setParameterValues", parameterValues=[[f"{ROOT}.LANDevice.1.WLANConfiguration.1.Channel", 99, "xsd:unsignedInt"]])
    cpe = ScriptedCpe("FAULT1", [stack.cwmp_url(0)])
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    req = await cpe.empty(http)
    assert isinstance(req.body, m.SetParameterValues)
    fault = m.Fault(fault_code=9007, fault_string="Invalid parameter value", faultcode="Client",
                    set_parameter_values_faults=[m.SetParameterValuesFault(f"{ROOT}.LANDevice.1.WLANConfiguration.1.Channel", 9007, "Invalid value")])
    end = await cpe.respond(http, req, fault)
    assert end.status == 204
    t = await eventually(lambda: db.tasks.find_one({"_id": tid, "status": "fault"}))
    assert t["fault"]["code"] == "cwmp.9007"
    assert t["fault"]["detail"]["setParameterValuesFault"] == [[f"{ROOT}.LANDevice.1.WLANConfiguration.1.Channel", 9007, "Invalid value"]]
    f = await eventually(lambda: db.faults.find_one({"_id": f"{device}:task_{tid}"}))
    assert f["code"] == "cwmp.9007" and f["device"] == device


async def test_transfer_complete_completes_download_by_command_key(stack, db, http):
    device = "202BC1-BM632w-DL1"
    tid = _task(db, device, "download", fileType="1 Firmware Upgrade Image", fileName="fw.bin")
    cpe = ScriptedCpe("DL1", [stack.cwmp_url(0)])
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    req = await cpe.empty(http)
    assert isinstance(req.body, m.Download) and req.body.command_key == str(tid)
    assert "fw.bin" in req.body.url
    assert (await cpe.respond(http, req, m.DownloadResponse(status=1))).status == 204
    await eventually(lambda: db.tasks.find_one({"_id": tid, "transfer": "in_progress", "status": "pending"}))
    # next session, after the CPE rebooted into the new image
    await cpe.inform(http, ["1 BOOT", "7 TRANSFER COMPLETE", "M Download"])
    tc = m.TransferComplete(command_key=str(tid), fault=m.FaultStruct(0, ""))
    from cwmp import soap

    resp = await cpe.post(http, soap.build_message(tc, id="tc-1"))
    assert resp.status == 200 and isinstance(resp.body, m.TransferCompleteResponse) and resp.envelope.id == "tc-1"
    assert (await cpe.empty(http)).status == 204
    await eventually(lambda: db.tasks.find_one({"_id": tid, "status": "done", "transfer": {"$exists": False}}))


async def test_cpe_get_rpc_methods_is_answered(stack, http):
    from cwmp import soap

    cpe = ScriptedCpe("RPC1", [stack.cwmp_url(1)])
    await cpe.inform(http, ["2 PERIODIC"])
    r = await cpe.post(http, soap.build_message(m.GetRPCMethods(), id="g1"))
    assert r.status == 200 and "TransferComplete" in r.body.method_list
    assert (await cpe.empty(http)).status == 204


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&lol4;</soap:Body></soap:Envelope>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&xxe;</soap:Body></soap:Envelope>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, b"<not-xml", b"<a>" * 50000, b"\x00\xff garbage"])
async def test_hostile_xml_gets_400_and_the_cluster_stays_healthy(stack, http, body):
    r = await http.post(stack.cwmp_url(0), content=body)
    assert r.status_code == 400
    assert "passwd" not in r.text and "root:" not in r.text
    ready = await http.get(f"http://127.0.0.1:{stack.gateways[0].admin_port}/readyz")
    assert ready.status_code == 200
    cpe = ScriptedCpe("AFTERHOSTILE", [stack.cwmp_url(0)])
    assert (await cpe.inform(http, ["2 PERIODIC"])).status == 200
    assert (await cpe.empty(http)).status == 204


async def test_post_without_session_is_refused(stack, http):
    r = await http.post(stack.cwmp_url(0), content=b"")
    assert r.status_code == 400


async def test_oversized_body_gets_413(stack, http):
    r = await http.post(stack.cwmp_url(0), content=b"<a>" + b" " * (5 * 1024 * 1024) + b"</a>")
    assert r.status_code == 413


async def test_health_and_metrics_endpoints(stack, http):
    for svc in [*stack.gateways, *stack.schedulers]:
        assert (await http.get(f"http://127.0.0.1:{svc.admin_port}/healthz")).status_code == 200
        r = await http.get(f"http://127.0.0.1:{svc.admin_port}/readyz")
        assert r.status_code == 200 and r.json()["kafka"] and r.json()["mongodb"]
        assert "acs_" in (await http.get(f"http://127.0.0.1:{svc.admin_port}/metrics")).text
    # the CWMP port serves no admin endpoints, the admin port no CWMP
    assert (await http.post(f"http://127.0.0.1:{stack.gateways[0].admin_port}/", content=b"")).status_code == 404


async def test_what_happened_is_published_on_the_outbound_topics(stack, db, http):
    """Other systems read device informs, task results and session ends from Kafka."""
    from acs_contracts.kafka_topics import DEVICE_INFORMS, SESSION_ENDS, TASK_RESULTS, DeviceInformed, SessionEnded, TaskResult

    device = "202BC1-BM632w-OUTBOUND1"
    tid = _task(db, device, "getParameterValues", parameterNames=[f"{ROOT}.DeviceInfo.UpTime"])
    cpe = ScriptedCpe("OUTBOUND1", [stack.cwmp_url(0)])
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    req = await cpe.empty(http)
    await cpe.respond(http, req, m.GetParameterValuesResponse([m.ParameterValueStruct(f"{ROOT}.DeviceInfo.UpTime", 1, "xsd:unsignedInt")]))

    schemas = {DEVICE_INFORMS: DeviceInformed, TASK_RESULTS: TaskResult, SESSION_ENDS: SessionEnded}
    async with TopicReader(stack.common_env(), schemas) as topics:
        for topic in schemas:
            await topics.wait(topic, lambda x: x.device_id == device)
    seen = topics.seen
    [inf] = [x for x in seen[DEVICE_INFORMS] if x.device_id == device]
    assert inf.event_codes == ["6 CONNECTION REQUEST"] and inf.serial_number == "OUTBOUND1"
    [res] = [x for x in seen[TASK_RESULTS] if x.device_id == device]
    assert res.task_id == str(tid) and res.status == "done" and res.name == "getParameterValues"
    [end] = [x for x in seen[SESSION_ENDS] if x.device_id == device]
    assert end.outcome == "ok" and end.rpc_count == 1

