"""CPEs that go away in the middle of a session (reboots, NAT timeouts, flaky firmware), against
the running cluster: whatever point a CPE vanishes at after its InformResponse, the events it was
acknowledged are in the inventory (NBI and database) and on the outbound topics within the usual
batching delay, and its next session finishes what was left (discovery, tasks, the BOOTSTRAP's
defaults, a transfer's completion).

The scheduler's session idle timeout is turned down to ``IDLE_S``: a write seen sooner than that
after the CPE's last POST was not made by the timeout. Devices report their OUI in lower case, as
a Zhone 6718 does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from acs_contracts.device_id import make_device_id
from acs_contracts.kafka_topics import DEVICE_INFORMS, SESSION_ENDS, TASK_RESULTS, DeviceInformed, SessionEnded, TaskResult
from cwmp import messages as m

from .conftest import eventually, full_stack, inventory_db, nbi_client
from .scripted_cpe import ROOT, Answer, ScriptedCpe
from .topics import TopicReader

IDLE_S = 6.0  # the scheduler's session idle timeout here
PROMPT_S = 5.0  # a write must be seen within this of the CPE's last POST (less than IDLE_S)
OUI, PRODUCT_CLASS = "00a0c5", "ZNID6718"  # lower case, as sent
ANY_PARAM = object()


@pytest.fixture(scope="module")
def st():
    with full_stack(SCHEDULER_SESSION_IDLE_TIMEOUT_S=str(IDLE_S)) as stack:
        yield stack


@pytest.fixture(scope="module")
def db(st):
    with inventory_db(st) as d:
        yield d


@pytest.fixture
async def nbi(st):
    async with nbi_client(st, timeout=30) as c:
        yield c


@pytest.fixture
async def topics(st):
    schemas = {DEVICE_INFORMS: DeviceInformed, SESSION_ENDS: SessionEnded, TASK_RESULTS: TaskResult}
    async with TopicReader(st.common_env(), schemas, default_timeout=PROMPT_S) as t:
        yield t


class Cpe(ScriptedCpe):
    """A scripted CPE with a small data model that answers the ACS's requests as a device would."""

    def __init__(self, st, serial: str) -> None:
        super().__init__(serial, [st.cwmp_url(0)])
        self.id = make_device_id(OUI, PRODUCT_CLASS, serial)
        self.rpcs: list[str] = []
        mgmt, wan = f"{ROOT}.ManagementServer", f"{ROOT}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1"
        self.params: dict[str, tuple[Any, str]] = {
            f"{ROOT}.DeviceInfo.Manufacturer": ("Zhone", "xsd:string"),
            f"{ROOT}.DeviceInfo.ManufacturerOUI": (OUI, "xsd:string"),
            f"{ROOT}.DeviceInfo.ProductClass": (PRODUCT_CLASS, "xsd:string"),
            f"{ROOT}.DeviceInfo.SerialNumber": (serial, "xsd:string"),
            f"{ROOT}.DeviceInfo.SoftwareVersion": ("S3L-1.0", "xsd:string"),
            f"{ROOT}.DeviceInfo.HardwareVersion": ("6718-W1", "xsd:string"),
            f"{ROOT}.DeviceInfo.UpTime": (12, "xsd:unsignedInt"),
            f"{mgmt}.URL": ("http://acs", "xsd:string"),
            f"{mgmt}.PeriodicInformEnable": (False, "xsd:boolean"),
            f"{mgmt}.PeriodicInformInterval": (86400, "xsd:unsignedInt"),
            f"{mgmt}.ConnectionRequestURL": (f"http://127.0.0.1:1/{serial}", "xsd:string"),
            f"{mgmt}.ConnectionRequestUsername": ("", "xsd:string"),
            f"{mgmt}.ConnectionRequestPassword": ("", "xsd:string"),
            f"{mgmt}.ParameterKey": ("", "xsd:string"),
            f"{wan}.ExternalIPAddress": ("192.0.2.7", "xsd:string"),
            f"{ROOT}.LANDevice.1.WLANConfiguration.1.SSID": ("zhone", "xsd:string"),
        }

    def inform_params(self) -> dict[str, tuple[Any, str]]:
        keep = ("SoftwareVersion", "HardwareVersion", "ConnectionRequestURL", "ParameterKey", "ExternalIPAddress")
        return {k: v for k, v in self.params.items() if k.endswith(keep)}

    async def inform(self, client: httpx.AsyncClient, events: list[str], gateway: int | None = None, **kw) -> Answer:
        answer = await super().inform(client, events, gateway, oui=OUI, product_class=PRODUCT_CLASS,
                                      params=self.inform_params(), **kw)
        assert answer.status == 200 and isinstance(answer.body, m.InformResponse), answer
        return answer

    def reply_to(self, request: m.Message) -> m.Message:
        if isinstance(request, m.GetParameterValues):
            out = []
            for name in request.parameter_names:
                hits = [k for k in self.params if k.startswith(name)] if name.endswith(".") else [name] if name in self.params else []
                if not hits:
                    return m.Fault(fault_code=9005, fault_string=f"Invalid parameter name {name}", faultcode="Client")
                out += [m.ParameterValueStruct(k, *self.params[k]) for k in hits]
            return m.GetParameterValuesResponse(out)
        if isinstance(request, m.SetParameterValues):
            for p in request.parameter_list:
                self.params[p.name] = (p.value, p.type)
            return m.SetParameterValuesResponse(status=0)
        if isinstance(request, m.Download):
            return m.DownloadResponse(status=1)
        raise AssertionError(f"unexpected request {request.RPC}")

    async def answer(self, client: httpx.AsyncClient, request: Answer) -> Answer:
        self.rpcs.append(request.body.RPC)
        return await self.respond(client, request, self.reply_to(request.body))

    async def serve(self, client: httpx.AsyncClient, answer: Answer) -> Answer:
        """Answer every request until the ACS has nothing more (204)."""
        while answer.status == 200 and answer.body is not None:
            assert len(self.rpcs) < 20, self.rpcs
            answer = await self.answer(client, answer)
        assert answer.status == 204, answer
        return answer

    def value(self, name: str) -> Any:
        return self.params[f"{ROOT}.{name}"][0]


async def nbi_device(nbi: httpx.AsyncClient, device_id: str) -> dict | None:
    r = await nbi.get("/devices/", params={"query": json.dumps({"_id": device_id})})
    assert r.status_code == 200, r.text
    docs = r.json()
    return docs[0] if docs else None


async def promptly(check):
    """``check()`` holds within PROMPT_S (so before the session's idle timeout could have written anything)."""
    return await eventually(check, timeout=PROMPT_S, what="stored within the batching delay")


def informed(cpe: Cpe, events: list[str]):
    return lambda x: x.device_id == cpe.id and x.event_codes == events


async def shown(nbi, cpe: Cpe, events: list[str], **fields: Any) -> dict:
    """The device as the NBI returns it, once it shows the Inform with ``events`` (and ``fields``)."""
    async def check():
        doc = await nbi_device(nbi, cpe.id)
        if doc is None or (doc.get("_acs") or {}).get("lastEvents") != events:
            return None
        for path, want in fields.items():
            node: Any = doc
            for seg in path.split("."):
                node = node.get(seg) if isinstance(node, dict) else None
            if node is None or (want is not ANY_PARAM and node != want):
                return None
        return doc
    return await promptly(check)


def new_task(db, device_id: str, name: str, **args: Any):
    return db.tasks.insert_one({"device": device_id, "name": name, "status": "pending",
                                "timestamp": datetime.now(UTC), **args}).inserted_id


# ---------------------------------------------------------------------------------- new devices
async def test_a_new_device_gone_after_the_first_request_is_in_the_inventory_and_bootstrapped_next_time(st, db, nbi, http, topics):
    cpe = Cpe(st, "ZHN0000A1")
    await cpe.inform(http, ["0 BOOTSTRAP", "1 BOOT"])
    first = await cpe.empty(http)
    assert isinstance(first.body, m.GetParameterValues)  # the data model, and the CPE goes away with it

    doc = await shown(nbi, cpe, ["0 BOOTSTRAP", "1 BOOT"], _lastInform=ANY_PARAM, _lastBoot=ANY_PARAM)
    assert doc["_deviceId"] == {"_Manufacturer": "Huawei", "_OUI": OUI, "_ProductClass": PRODUCT_CLASS,
                                "_SerialNumber": "ZHN0000A1"}
    assert doc[ROOT]["DeviceInfo"]["SoftwareVersion"]["_value"] == "S3L-1.0"
    assert db.devices.find_one({"_id": cpe.id})["_acs"]["bootstrapPending"]  # to be finished
    [inf] = await topics.wait(DEVICE_INFORMS, informed(cpe, ["0 BOOTSTRAP", "1 BOOT"]))
    assert inf.oui == OUI and inf.serial_number == "ZHN0000A1"

    # the CPE's next session has only 2 PERIODIC: the BOOTSTRAP is finished all the same
    await cpe.inform(http, ["2 PERIODIC"])
    await cpe.serve(http, await cpe.empty(http))
    assert cpe.rpcs[0] == "GetParameterValues" and cpe.rpcs[-1] == "SetParameterValues"
    assert cpe.value("ManagementServer.PeriodicInformEnable") is True  # the bootstrap defaults
    assert cpe.value("ManagementServer.ConnectionRequestUsername") == cpe.id
    done = await eventually(lambda: db.devices.find_one({"_id": cpe.id, "_acs.bootstrapPending": {"$exists": False}}))
    assert done[ROOT]["LANDevice"]["1"]["_object"] is True  # learnt by the discovery
    assert done[ROOT]["ManagementServer"]["PeriodicInformEnable"]["_value"] is True
    creds = await eventually(lambda: db.credentials.find_one({"_id": cpe.id}))
    assert creds["connectionRequest"]["username"] == cpe.id
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["2 PERIODIC"]))
    [end] = await topics.wait(SESSION_ENDS, lambda x: x.device_id == cpe.id and x.outcome == "ok")
    assert end.rpc_count == len(cpe.rpcs)


async def test_a_new_device_gone_right_after_its_inform_response(st, db, nbi, http, topics):
    cpe = Cpe(st, "ZHN0000A2")
    await cpe.inform(http, ["0 BOOTSTRAP", "1 BOOT"])  # and nothing more: no empty POST
    await shown(nbi, cpe, ["0 BOOTSTRAP", "1 BOOT"], **{f"{ROOT}.DeviceInfo.HardwareVersion._value": "6718-W1"})
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["0 BOOTSTRAP", "1 BOOT"]))

    await cpe.inform(http, ["1 BOOT"])  # it rebooted meanwhile
    await cpe.serve(http, await cpe.empty(http))
    assert cpe.rpcs == ["GetParameterValues", "SetParameterValues"]
    await eventually(lambda: db.devices.find_one({"_id": cpe.id, "_acs.bootstrapPending": {"$exists": False},
                                                  "_acs.lastEvents": ["1 BOOT"]}))


async def test_the_idle_timeout_ends_a_session_and_keeps_what_it_learnt(st, db, nbi, http, topics):
    cpe = Cpe(st, "ZHN0000A3")
    await cpe.inform(http, ["0 BOOTSTRAP", "1 BOOT"])
    spv = await cpe.answer(http, await cpe.empty(http))  # the data model, answered
    assert isinstance(spv.body, m.SetParameterValues)  # the bootstrap defaults: the CPE goes away
    await shown(nbi, cpe, ["0 BOOTSTRAP", "1 BOOT"])
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["0 BOOTSTRAP", "1 BOOT"]))

    # the idle timeout (checked every few seconds) ends the session, and writes what it learnt
    [end] = await topics.wait(SESSION_ENDS, lambda x: x.device_id == cpe.id, timeout=IDLE_S + 15)
    assert end.outcome == "timeout" and end.event_codes == ["0 BOOTSTRAP", "1 BOOT"] and end.rpc_count == 2
    doc = await eventually(lambda: db.devices.find_one({"_id": cpe.id, "_acs.bootstrapDiscovered": True}))
    assert doc["_acs"]["bootstrapPending"] and doc[ROOT]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"]["_value"] == "zhone"

    # the next session sends only what the presets still need: no second discovery
    cpe.rpcs.clear()
    await cpe.inform(http, ["2 PERIODIC"])
    await cpe.serve(http, await cpe.empty(http))
    assert cpe.rpcs == ["SetParameterValues"] and cpe.value("ManagementServer.PeriodicInformEnable") is True
    await eventually(lambda: db.devices.find_one({"_id": cpe.id, "_acs.bootstrapPending": {"$exists": False},
                                                  "_acs.bootstrapDiscovered": {"$exists": False}}))


# ---------------------------------------------------------------------------------- known devices
async def registered(st, db, http, serial: str) -> Cpe:
    cpe = Cpe(st, serial)
    await cpe.inform(http, ["0 BOOTSTRAP", "1 BOOT"])
    await cpe.serve(http, await cpe.empty(http))
    await eventually(lambda: db.devices.find_one({"_id": cpe.id, "_acs.bootstrapPending": {"$exists": False}}))
    cpe.rpcs.clear()
    return cpe


async def test_a_known_device_gone_after_each_request_keeps_its_events_and_its_tasks(st, db, nbi, http, topics):
    cpe = await registered(st, db, http, "ZHN0000B1")
    r = await nbi.post(f"/devices/{cpe.id}/tasks", json={"name": "getParameterValues",
                                                          "parameterNames": [f"{ROOT}.DeviceInfo.UpTime"]})
    assert r.status_code == 202, r.text
    get_id = r.json()["_id"]
    r = await nbi.post(f"/devices/{cpe.id}/tasks", json={"name": "setParameterValues", "parameterValues": [
        [f"{ROOT}.LANDevice.1.WLANConfiguration.1.SSID", "renamed", "xsd:string"]]})
    set_id = r.json()["_id"]

    # rebooted into new firmware; goes away right after its InformResponse (the first task offered)
    cpe.params[f"{ROOT}.DeviceInfo.SoftwareVersion"] = ("S3L-2.0", "xsd:string")
    await cpe.inform(http, ["1 BOOT", "M Reboot"])
    await shown(nbi, cpe, ["1 BOOT", "M Reboot"], **{f"{ROOT}.DeviceInfo.SoftwareVersion._value": "S3L-2.0"})
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["1 BOOT", "M Reboot"]))

    # gone after the first request
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    assert isinstance((await cpe.empty(http)).body, m.GetParameterValues)
    await shown(nbi, cpe, ["6 CONNECTION REQUEST"])
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["6 CONNECTION REQUEST"]))

    # gone after the second: the first task is done, the second still pending
    await cpe.inform(http, ["2 PERIODIC"])
    second = await cpe.answer(http, await cpe.empty(http))
    assert isinstance(second.body, m.SetParameterValues)
    await shown(nbi, cpe, ["2 PERIODIC"])
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["2 PERIODIC"]))
    got = await eventually(lambda: db.tasks.find_one({"_id": _oid(get_id), "status": "done"}))
    assert got["result"]["parameterValues"][0][1] == 12
    assert db.tasks.find_one({"_id": _oid(set_id)})["status"] == "pending"

    # the next session completes it
    cpe.rpcs.clear()
    await cpe.inform(http, ["2 PERIODIC"])
    await cpe.serve(http, await cpe.empty(http))
    assert cpe.rpcs == ["SetParameterValues"] and cpe.value("LANDevice.1.WLANConfiguration.1.SSID") == "renamed"
    task = await eventually(lambda: db.tasks.find_one({"_id": _oid(set_id), "status": "done"}))
    assert task["attempts"] == 2
    results = await topics.wait(TASK_RESULTS, lambda x: x.device_id == cpe.id and x.task_id == set_id)
    assert [x.status for x in results] == ["done"]


async def test_a_download_survives_the_cpe_going_away_during_it_and_mid_transfer_complete(st, db, nbi, http, topics):
    cpe = await registered(st, db, http, "ZHN0000B2")
    tid = new_task(db, cpe.id, "download", fileName="zhone-s3l-2.0.img", fileType="1 Firmware Upgrade Image")

    # gone during the Download: the task is sent again at the next session
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    assert isinstance((await cpe.empty(http)).body, m.Download)
    await shown(nbi, cpe, ["6 CONNECTION REQUEST"])
    await topics.wait(DEVICE_INFORMS, informed(cpe, ["6 CONNECTION REQUEST"]))
    assert db.tasks.find_one({"_id": tid})["status"] == "pending"
    await cpe.inform(http, ["6 CONNECTION REQUEST"])
    await cpe.serve(http, await cpe.empty(http))
    assert cpe.rpcs == ["Download"]
    await eventually(lambda: db.tasks.find_one({"_id": tid, "transfer": "in_progress", "attempts": 2}))

    # the firmware is applied; the CPE reports it, and goes away before its TransferComplete
    transfer = m.TransferComplete(command_key=str(tid)[:32], fault=m.FaultStruct(),
                                  start_time=datetime.now(UTC), complete_time=datetime.now(UTC))
    events = ["7 TRANSFER COMPLETE", "M Download", "1 BOOT"]
    cpe.params[f"{ROOT}.DeviceInfo.SoftwareVersion"] = ("S3L-2.0", "xsd:string")
    await cpe.inform(http, events)
    await shown(nbi, cpe, events, _lastBoot=ANY_PARAM, **{f"{ROOT}.DeviceInfo.SoftwareVersion._value": "S3L-2.0"})
    await topics.wait(DEVICE_INFORMS, informed(cpe, events))
    assert db.tasks.find_one({"_id": tid})["status"] == "pending"

    # it sends it in its next session, and goes away before that session's end
    await cpe.inform(http, ["7 TRANSFER COMPLETE", "M Download"])
    ack = await cpe.post(http, _envelope(transfer))
    assert isinstance(ack.body, m.TransferCompleteResponse)
    task = await eventually(lambda: db.tasks.find_one({"_id": tid, "status": "done"}))
    assert "transfer" not in task and task["result"]["downloadStatus"] == 1
    [result] = await topics.wait(TASK_RESULTS, lambda x: x.device_id == cpe.id and x.task_id == str(tid))
    assert result.status == "done"

    # had the acknowledgement not reached it, it sends it again: acknowledged, completed once
    await cpe.inform(http, ["7 TRANSFER COMPLETE", "M Download"])
    assert isinstance((await cpe.post(http, _envelope(transfer))).body, m.TransferCompleteResponse)
    assert (await cpe.empty(http)).status == 204
    await topics.wait(SESSION_ENDS, lambda x: x.device_id == cpe.id and x.event_codes == ["7 TRANSFER COMPLETE", "M Download"]
                      and x.outcome == "ok")
    await topics.read_for(0.5)  # a second result would have been published before the session's end
    assert [x.status for x in topics.seen[TASK_RESULTS] if x.task_id == str(tid)] == ["done"]
    assert db.tasks.find_one({"_id": tid})["completedAt"] == task["completedAt"]


def _oid(raw: str):
    from bson import ObjectId

    return ObjectId(raw)


def _envelope(message: m.Message) -> bytes:
    from cwmp import soap

    return soap.build_message(message, id="cpe-request-1", cwmp_ns="urn:dslforum-org:cwmp-1-0")
