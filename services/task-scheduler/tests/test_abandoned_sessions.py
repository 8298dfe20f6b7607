"""Sessions a CPE abandons after its InformResponse (it reboots, its NAT mapping times out, its
firmware gives up): what the CPE was acknowledged is stored at once, and what the session did not
finish (discovery, tasks, the BOOTSTRAP's defaults and presets) is finished at its next session.

Driven without Kafka: the real session driver, store, batch writer and provisioner over a real
SecantusDB (the commands they send counted by a pymongo command listener: a session's round
trips), a simulated CPE (cpe_simulator's Device, no I/O) answering the RPCs.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from acs_contracts.affinity import CONTINUE
from acs_contracts.device_id import make_device_id
from acs_contracts.kafka_topics import REPLY_WAIT, DeviceInformed, SessionEnded, SessionEvent, TaskResult
from acs_contracts.mongo_collections import CREDENTIALS, DEVICES, LAST_INFORMS, TASKS
from cwmp import messages as m
from cwmp import soap
from cwmp.events import EventCode
from cwmp.serialize import message_to_dict
from task_scheduler.config import Settings
from task_scheduler.device_record import BOOTSTRAP_DISCOVERED, BOOTSTRAP_PENDING, lookup
from task_scheduler.device_session import SessionDriver
from task_scheduler.provisioning import Provisioner, ProvisioningSettings
from task_scheduler.provisioning.consistent_store import ReadYourWritesStore
from task_scheduler.store import BatchWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import IGD_MODEL, device  # noqa: E402

NS = "urn:dslforum-org:cwmp-1-0"
ROOT = "InternetGatewayDevice"
# A Zhone 6718 sends its OUI in lower case; it is kept as sent (device id, _deviceId._OUI).
OUI, PRODUCT_CLASS = "00a0c5", "ZNID6718"


# ---------------------------------------------------------------------------------- the scheduler
class Replies:
    def __init__(self) -> None:
        self.sent: list = []

    async def send(self, addr: str, reply) -> bool:
        self.sent.append(reply)
        return True


class Outbound:
    def __init__(self) -> None:
        self.sent: list = []

    async def emit(self, msg, key: str) -> None:
        self.sent.append(msg)

    def of(self, kind: type, device_id: str) -> list:
        return [x for x in self.sent if isinstance(x, kind) and x.device_id == device_id]


class Scheduler:
    """One scheduler instance over ``db``, wired as task_scheduler.app wires it."""

    def __init__(self, db: Any, **settings: Any) -> None:
        self.s = Settings(**{"session_idle_timeout_s": 30.0, **settings})
        self.db = db
        self.writer = BatchWriter(db, 500, 0.001)
        self.store = ReadYourWritesStore(db, self.writer, tasks_poll_s=3600)  # polls out of the round-trip counts
        self.replies, self.outbound = Replies(), Outbound()
        self.driver = SessionDriver(self.s, self.store, self.replies, self.outbound,
                                    provisioner=Provisioner(ProvisioningSettings()))

    async def __aenter__(self) -> "Scheduler":
        self.writer.start()
        await self.store.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.store.stop()
        await self.writer.stop()

    async def drained(self) -> None:
        """Every write submitted so far is acknowledged."""
        deadline = time.monotonic() + 60
        while self.writer.pending:
            assert time.monotonic() < deadline, "writes not acknowledged"
            await asyncio.sleep(0.002)

    async def expire_all(self) -> int:
        """The CPEs went quiet: every session reaches the idle timeout now."""
        for s in self.driver.sessions.values():
            s.last_seen -= self.s.session_idle_timeout_s + 1
        expired = self.driver.expire_idle()
        await asyncio.sleep(0)  # what it publishes is queued
        return expired


_ids = itertools.count()


class Cpe:
    """A simulated CPE (real data model, real RPC behaviour) whose POSTs become session events."""

    def __init__(self, sched: Scheduler, serial: str, oui: str = OUI) -> None:
        self.sched = sched
        self.dev = device(IGD_MODEL, serial=serial)
        self.ident = m.DeviceIdStruct("Zhone", oui, PRODUCT_CLASS, serial)
        self.id = make_device_id(oui, PRODUCT_CLASS, serial)
        self.session_id = ""
        self.rpcs: list[str] = []
        self.futs: list[asyncio.Future] = []  # the write futures of every event, for the commit

    def _event(self, kind: str, body: m.Message | None, msg_id: str | None = None, reply_to: str | None = "gw:1") -> SessionEvent:
        return SessionEvent(device_id=self.id, session_id=self.session_id, kind=kind, request_id=f"r{next(_ids)}",
                            reply_to=reply_to, received_at=time.time(), cwmp_ns=NS, cwmp_version="1.0",
                            source_ip="10.1.2.3", body=message_to_dict(body) if body is not None else None,
                            headers={"id": msg_id} if kind == "inform" else {"id": msg_id, REPLY_WAIT: 20.0})

    async def _send(self, ev: SessionEvent):
        sent = len(self.sched.replies.sent)
        self.futs += await self.sched.driver.handle(ev, time.perf_counter())
        replies = self.sched.replies.sent[sent:]
        return replies[-1] if replies else None

    async def inform(self, *events: str, reply_to: str | None = "gw:1", **params: Any):
        """The Inform (acknowledged: the gateway sent InformResponse). Returns the scheduler's
        answer for the empty POST: the first request, 204, or CONTINUE."""
        self.session_id = f"s{next(_ids)}"
        for e in events:
            self.dev.add_event(EventCode(e))
        for path, value in params.items():
            self.dev.tree.set(f"{ROOT}.{path}", value)
        inform = self.dev.build_inform()
        inform.device_id = self.ident
        self.dev.inform_delivered(inform.events)
        return await self._send(self._event("inform", inform, "inform-1", reply_to))

    async def empty(self):
        return await self._send(self._event("empty", None))

    async def answer(self, reply):
        """Answer the ACS request ``reply`` carries."""
        env = soap.parse(reply.body)
        self.rpcs.append(env.body.RPC)
        return await self._send(self._event("message", self.dev.handle(env.body), env.id))

    async def request(self, message: m.Message):
        return await self._send(self._event("message", message, "cpe-1"))

    async def serve(self, reply, limit: int = 20):
        """Answer every request until the session ends; the final reply (204)."""
        while reply.status == 200 and reply.body:
            assert len(self.rpcs) < limit, self.rpcs
            reply = await self.answer(reply)
        return reply


def request_of(reply) -> m.Message:
    assert reply is not None and reply.status == 200 and reply.body, reply
    return soap.parse(reply.body).body


async def until(check, timeout: float = 60.0):
    """``check()``'s result (awaited when it is awaitable) once it is true."""
    deadline = time.monotonic() + timeout

    async def result_of() -> Any:
        result = check()
        return await result if inspect.isawaitable(result) else result

    while not (result := await result_of()):
        assert time.monotonic() < deadline, f"not met within {timeout}s: {check}"
        await asyncio.sleep(0.002)
    return result


def param(doc: dict, path: str) -> Any:
    return lookup(doc, f"{path}._value")


async def new_task(db: Any, device_id: str, name: str, **args: Any) -> ObjectId:
    tid = ObjectId()
    await db[TASKS].insert_one({"_id": tid, "device": device_id, "name": name, "status": "pending",
                                "timestamp": datetime.now(UTC), **args})
    return tid


# ---------------------------------------------------------------------------------- the tests
@pytest.mark.asyncio
async def test_a_new_device_gone_after_the_first_request_is_stored_at_once_and_bootstrapped_next_time(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00001")
        offer = await cpe.inform("0 BOOTSTRAP", "1 BOOT")
        assert isinstance(request_of(offer), m.GetParameterValues)  # discovery, sent with the empty POST's answer
        # the CPE takes the request and goes away: the Inform is stored anyway, at once
        doc = await until(lambda: db.doc(DEVICES, cpe.id))
        assert cpe.id == "00a0c5-ZNID6718-ZHN00001"
        assert doc["_deviceId"] == {"_Manufacturer": "Zhone", "_OUI": "00a0c5", "_ProductClass": "ZNID6718",
                                    "_SerialNumber": "ZHN00001"}
        assert doc["_acs"]["lastEvents"] == ["0 BOOTSTRAP", "1 BOOT"] and doc["_lastInform"] and doc["_lastBoot"]
        assert isinstance(lookup(doc, BOOTSTRAP_PENDING), datetime)
        assert param(doc, f"{ROOT}.DeviceInfo.SoftwareVersion")
        assert (await db.doc(LAST_INFORMS, cpe.id))["_acs"]["lastEvents"] == ["0 BOOTSTRAP", "1 BOOT"]
        [informed] = sched.outbound.of(DeviceInformed, cpe.id)
        assert informed.oui == "00a0c5" and informed.event_codes == ["0 BOOTSTRAP", "1 BOOT"]

        # the idle timeout ends the session: published, and nothing left held
        assert await sched.expire_all() == 1 and cpe.id not in sched.driver.sessions
        [ended] = sched.outbound.of(SessionEnded, cpe.id)
        assert ended.outcome == "timeout" and ended.event_codes == ["0 BOOTSTRAP", "1 BOOT"]
        await asyncio.wait_for(asyncio.gather(*cpe.futs), 5)  # the events' offsets can be committed

        # its next session has only 2 PERIODIC: the BOOTSTRAP is finished all the same
        end = await cpe.serve(await cpe.inform("2 PERIODIC"))
        assert end.status == 204 and cpe.rpcs == ["GetParameterValues", "SetParameterValues"]  # discovery, defaults
        await sched.drained()
        doc = await db.doc(DEVICES, cpe.id)
        assert lookup(doc, BOOTSTRAP_PENDING) is None and lookup(doc, BOOTSTRAP_DISCOVERED) is None
        assert doc[ROOT]["LANDevice"]["1"]["_object"] is True  # the data model, learnt
        assert param(doc, f"{ROOT}.ManagementServer.PeriodicInformInterval") == 300  # the bootstrap defaults, set
        assert (await db.doc(CREDENTIALS, cpe.id))["connectionRequest"]["username"] == cpe.id
        assert cpe.dev.value(f"{ROOT}.ManagementServer.PeriodicInformEnable").value is True
        assert cpe.id not in sched.store.bootstraps

        # and the one after is an ordinary periodic session again
        cpe.rpcs.clear()
        assert (await cpe.inform("2 PERIODIC")).status == 204 and cpe.rpcs == []
        await asyncio.wait_for(asyncio.gather(*cpe.futs), 5)


@pytest.mark.asyncio
async def test_a_bootstrap_cut_short_after_its_discovery_is_finished_with_the_presets_only(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00002")
        spv = await cpe.answer(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))  # the data model, answered
        assert isinstance(request_of(spv), m.SetParameterValues)  # the bootstrap defaults: the CPE goes away
        await sched.expire_all()
        await sched.drained()
        doc = await db.doc(DEVICES, cpe.id)  # what the session learnt is kept, and says so
        assert lookup(doc, BOOTSTRAP_DISCOVERED) is True and lookup(doc, BOOTSTRAP_PENDING)
        assert doc[ROOT]["LANDevice"]["1"]["_object"] is True
        assert param(doc, f"{ROOT}.ManagementServer.ConnectionRequestUsername") != cpe.id  # not set yet
        assert await db.doc(CREDENTIALS, cpe.id) is None

        cpe.rpcs.clear()
        assert (await cpe.serve(await cpe.inform("2 PERIODIC"))).status == 204
        assert cpe.rpcs == ["SetParameterValues"]  # no second discovery
        await sched.drained()
        doc = await db.doc(DEVICES, cpe.id)
        assert lookup(doc, BOOTSTRAP_PENDING) is None and lookup(doc, BOOTSTRAP_DISCOVERED) is None
        assert param(doc, f"{ROOT}.ManagementServer.ConnectionRequestUsername") == cpe.id
        assert (await db.doc(CREDENTIALS, cpe.id))["connectionRequest"]["username"] == cpe.id
        assert doc[ROOT]["LANDevice"]["1"]["_object"] is True


@pytest.mark.asyncio
async def test_a_bootstrap_left_by_a_scheduler_that_died_is_finished_by_the_next_one(database):
    db = database
    async with Scheduler(db) as first:
        cpe = Cpe(first, "ZHN00003")
        await cpe.inform("0 BOOTSTRAP", "1 BOOT")
        await until(lambda: db.doc(DEVICES, cpe.id))
    # that scheduler is gone, and its memory with it; another one owns the device now
    async with Scheduler(db) as second:
        assert cpe.id in second.store.bootstraps  # found in the database at start
        cpe.sched = second
        assert (await cpe.serve(await cpe.inform("2 PERIODIC"))).status == 204
        assert cpe.rpcs == ["GetParameterValues", "SetParameterValues"]
        await second.drained()
        assert lookup(await db.doc(DEVICES, cpe.id), BOOTSTRAP_PENDING) is None


@pytest.mark.asyncio
async def test_an_entry_left_behind_costs_one_read_and_no_second_bootstrap(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00004")
        assert (await cpe.serve(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))).status == 204
        await sched.drained()
        sched.store.bootstraps.add(cpe.id)  # e.g. found by a look-up that raced the session's write
        cpe.rpcs.clear()
        assert (await cpe.inform("2 PERIODIC")).status == 204 and cpe.rpcs == []
        assert cpe.id not in sched.store.bootstraps


@pytest.mark.asyncio
async def test_a_known_device_gone_right_after_its_inform_response_keeps_its_events_and_its_task(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00005", oui="00A0C5")
        await cpe.serve(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))
        await sched.drained()
        tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[f"{ROOT}.DeviceInfo.UpTime"])
        sched.store.pending_devices.add(cpe.id)  # (found by the tasks poll)

        # rebooted into a new firmware: the Inform is answered, the CPE takes the offered task
        # request and goes away before answering it
        offer = await cpe.inform("1 BOOT", "M Reboot", **{"DeviceInfo.SoftwareVersion": "V2"})
        assert isinstance(request_of(offer), m.GetParameterValues)
        doc = await until(lambda: db.doc_where(DEVICES, cpe.id,
                                               lambda d: param(d, f"{ROOT}.DeviceInfo.SoftwareVersion") == "V2"))
        assert doc["_acs"]["lastEvents"] == ["1 BOOT", "M Reboot"] and doc["_lastBoot"] > doc["_lastBootstrap"]
        assert sched.outbound.of(DeviceInformed, cpe.id)[-1].event_codes == ["1 BOOT", "M Reboot"]
        await sched.expire_all()
        await sched.drained()
        task = await db.doc(TASKS, tid)
        assert task["status"] == "pending" and task["attempts"] == 1  # in flight: never marked done

        # its next session runs the task again, and completes it
        end = await cpe.serve(await cpe.inform("2 PERIODIC"))
        assert end.status == 204 and cpe.rpcs[-1] == "GetParameterValues"
        await sched.drained()
        task = await db.doc(TASKS, tid)
        assert task["status"] == "done" and task["attempts"] == 2
        assert [r.status for r in sched.outbound.of(TaskResult, cpe.id)] == ["done"]


@pytest.mark.asyncio
async def test_a_transfer_complete_sent_again_completes_its_task_once(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00006")
        await cpe.serve(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))
        await sched.drained()
        tid = await new_task(db, cpe.id, "download", fileName="fw.bin", fileType="1 Firmware Upgrade Image")
        sched.store.pending_devices.add(cpe.id)
        cpe.rpcs.clear()
        download = await cpe.inform("6 CONNECTION REQUEST")
        assert isinstance(request_of(download), m.Download)
        # the CPE goes away before its DownloadResponse: the task is sent again next time
        await sched.expire_all()
        assert (await db.doc(TASKS, tid))["status"] == "pending"
        download = await cpe.inform("6 CONNECTION REQUEST")
        done = await cpe._send(cpe._event("message", m.DownloadResponse(status=1), soap.parse(download.body).id))
        assert done.status == 204
        await sched.drained()
        task = await db.doc(TASKS, tid)
        assert task["transfer"] == "in_progress" and task["attempts"] == 2

        # the CPE applies it, reboots, and reports it; it goes away before the TransferCompleteResponse
        key = str(tid)[:32]
        transfer = m.TransferComplete(command_key=key, fault=m.FaultStruct(), start_time=datetime.now(UTC),
                                      complete_time=datetime.now(UTC))
        assert (await cpe.inform("7 TRANSFER COMPLETE", "M Download", "1 BOOT")).status == CONTINUE
        doc = await until(lambda: db.doc_where(DEVICES, cpe.id, lambda d: d["_acs"]["lastEvents"] == [
            "7 TRANSFER COMPLETE", "M Download", "1 BOOT"]))
        assert doc["_lastBoot"]
        assert isinstance(request_of(await cpe.request(transfer)), m.TransferCompleteResponse)
        await sched.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done"
        await sched.expire_all()

        # so it sends it again in its next session: acknowledged, the task is not completed twice
        assert (await cpe.inform("7 TRANSFER COMPLETE", "M Download")).status == CONTINUE
        assert isinstance(request_of(await cpe.request(transfer)), m.TransferCompleteResponse)
        assert (await cpe.empty()).status == 204
        await sched.drained()
        assert [r.status for r in sched.outbound.of(TaskResult, cpe.id)] == ["done"]


@pytest.mark.asyncio
async def test_sessions_ended_otherwise_than_normally_leave_the_bootstrap_to_the_next(database):
    """A stale event (the gateway gave up on its reply) ends the session at once: the BOOTSTRAP is
    still owed, and so is it after a session superseded by a new Inform."""
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00007")
        await cpe.inform("0 BOOTSTRAP", "1 BOOT", reply_to=None)  # an Inform whose empty POST is published
        stale = cpe._event("empty", None)
        stale.received_at -= 60
        assert (await cpe._send(stale)).outcome == "stale"
        await asyncio.wait_for(asyncio.gather(*cpe.futs), 5)
        await cpe.inform("2 PERIODIC")  # discovery offered; superseded before it is answered
        offer = await cpe.inform("2 PERIODIC")
        assert isinstance(request_of(offer), m.GetParameterValues)
        assert (await cpe.serve(offer)).status == 204
        await sched.drained()
        assert lookup(await db.doc(DEVICES, cpe.id), BOOTSTRAP_PENDING) is None
        await asyncio.wait_for(asyncio.gather(*cpe.futs), 5)


@pytest.mark.asyncio
async def test_round_trips_per_session(database):
    """A first contact: its Inform at once (two operations in the bulk writes shared with other
    sessions), its tasks looked up, one read for the presets, one write of the whole document
    (built for the presets: no read of its own), the credentials. A periodic session with nothing
    to do: one small last_informs replace (the device document is not touched)."""
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00008")
        await sched.drained()
        db.clear_trips()
        assert (await cpe.serve(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))).status == 204
        await sched.drained()
        assert sorted(db.trips) == sorted([(LAST_INFORMS, "update"), (DEVICES, "update"),  # the Inform (bulk writes)
                                           (TASKS, "find"),  # a BOOTSTRAP looks its tasks up
                                           (DEVICES, "find_one"),  # the presets' read
                                           (DEVICES, "update"),  # the data model and the presets' values
                                           (CREDENTIALS, "update")])

        db.clear_trips()
        assert (await cpe.inform("2 PERIODIC")).status == 204
        await sched.drained()
        # after a first contact the document's digest was blanked: this Inform writes it once
        assert sorted(db.trips) == [(DEVICES, "update"), (LAST_INFORMS, "update")]
        db.clear_trips()
        assert (await cpe.inform("2 PERIODIC")).status == 204
        await sched.drained()
        assert db.trips == [(LAST_INFORMS, "update")]


@pytest.mark.asyncio
async def test_a_cpe_that_faults_the_discovery_and_goes_away_gets_it_again_next_time(database):
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00009")
        offer = await cpe.inform("0 BOOTSTRAP", "1 BOOT")
        fault = m.Fault(fault_code=9002, fault_string="Internal error", faultcode="Server")
        nxt = await cpe._send(cpe._event("message", fault, soap.parse(offer.body).id))
        assert nxt.status == 200  # the session goes on (the presets read what they need)...
        await sched.expire_all()  # ...but the CPE is gone
        await sched.drained()
        doc = await db.doc(DEVICES, cpe.id)
        assert lookup(doc, BOOTSTRAP_PENDING) and lookup(doc, BOOTSTRAP_DISCOVERED) is None
        [ended] = sched.outbound.of(SessionEnded, cpe.id)
        assert ended.outcome == "timeout"

        assert (await cpe.serve(await cpe.inform("2 PERIODIC"))).status == 204
        assert cpe.rpcs == ["GetParameterValues", "SetParameterValues"]  # the discovery again, then the defaults
        await sched.drained()
        doc = await db.doc(DEVICES, cpe.id)
        assert lookup(doc, BOOTSTRAP_PENDING) is None and doc[ROOT]["LANDevice"]["1"]["_object"] is True


@pytest.mark.asyncio
async def test_releasing_sessions_settles_what_their_events_offsets_wait_for(database):
    """Before partitions are given up, the sessions in progress write what they hold; what the
    consumer waits for includes the futures its offset tracking waits on, so the commit that
    follows counts those events (else the next owner replays the sessions from their Informs)."""
    db = database
    async with Scheduler(db) as sched:
        cpe = Cpe(sched, "ZHN00077")
        offer = await cpe.inform("0 BOOTSTRAP", "1 BOOT")
        reply = await cpe.answer(offer)  # the discovery's answer: the data model is held with the session
        assert request_of(reply) is not None and cpe.id in sched.driver.sessions
        held = sched.driver.sessions[cpe.id].writes.done
        assert held is not None and not held.done() and held in cpe.futs
        futs = sched.driver.release_all()
        await asyncio.wait(futs, timeout=5)
        assert held.done(), "the consumer would commit before the held writes' future settles"
