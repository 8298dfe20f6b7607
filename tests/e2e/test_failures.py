"""Failures that must lose nothing: a scheduler killed mid-session, the broker restarting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pymongo import MongoClient

from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cwmp import messages as m

from .conftest import eventually
from .scripted_cpe import ROOT, ScriptedCpe


async def test_scheduler_killed_mid_session_task_completes_later(http):
    st = Stack(partitions=2, gateway_env={"GATEWAY_REPLY_TIMEOUT_S": "3"}).start_servers()
    try:
        first = st.add_scheduler()
        st.add_gateway()
        db = MongoClient(mongo_uri(st.mongo.port)).acs
        device = "202BC1-BM632w-KILL1"
        tid = db.tasks.insert_one({"device": device, "name": "getParameterValues", "status": "pending",
                                   "timestamp": datetime.now(UTC),
                                   "parameterNames": [f"{ROOT}.DeviceInfo.UpTime"]}).inserted_id
        cpe = ScriptedCpe("KILL1", [st.cwmp_url(0)])
        await cpe.inform(http, ["6 CONNECTION REQUEST"])
        req = await cpe.empty(http)
        assert isinstance(req.body, m.GetParameterValues)
        first.kill()  # dies holding the session, the task in flight
        lost = await cpe.respond(http, req, m.GetParameterValuesResponse([m.ParameterValueStruct(f"{ROOT}.DeviceInfo.UpTime", 5, "xsd:unsignedInt")]))
        assert lost.status == 204  # a clean end at the reply timeout, not a hung connection
        assert db.tasks.find_one({"_id": tid})["status"] == "pending"
        st.add_scheduler()  # takes the partitions over
        # the replayed events recover the session; the next session runs the task
        await cpe.inform(http, ["2 PERIODIC"])
        req = await cpe.empty(http)
        assert isinstance(req.body, m.GetParameterValues)
        end = await cpe.respond(http, req, m.GetParameterValuesResponse([m.ParameterValueStruct(f"{ROOT}.DeviceInfo.UpTime", 6, "xsd:unsignedInt")]))
        assert end.status == 204
        t = await eventually(lambda: db.tasks.find_one({"_id": tid, "status": "done"}))
        assert t["attempts"] >= 2
    finally:
        st.stop()


async def test_broker_down_gives_503_and_nothing_is_lost(http):
    """The broker stops answering: Informs get 503 + Retry-After (never acknowledged), and once
    it is back the CPE's retried session goes through and its events reach the inventory."""
    st = Stack(partitions=2, gateway_env={"GATEWAY_PUBLISH_TIMEOUT_S": "2", "GATEWAY_REPLY_TIMEOUT_S": "5"}).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        db = MongoClient(mongo_uri(st.mongo.port)).acs
        cpe = ScriptedCpe("BROKER1", [st.cwmp_url(0)])
        assert (await cpe.inform(http, ["2 PERIODIC"])).status == 200
        assert (await cpe.empty(http)).status == 204
        st.kafka.pause()
        try:
            down = await cpe.inform(http, ["1 BOOT", "M Reboot"])
            assert down.status == 503 and int(down.headers["retry-after"]) > 0  # the CPE keeps its events
            ready = await http.get(f"http://127.0.0.1:{st.gateways[0].admin_port}/readyz")
            assert ready.status_code == 503 and ready.json()["kafka"] is False
        finally:
            st.kafka.resume()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        answer = await cpe.inform(http, ["1 BOOT", "M Reboot"])
        while answer.status != 200 and loop.time() < deadline:
            await asyncio.sleep(1)
            answer = await cpe.inform(http, ["1 BOOT", "M Reboot"])
        assert answer.status == 200, "the gateway never recovered after the broker came back"
        assert (await cpe.empty(http)).status == 204
        dev = await eventually(lambda: db.devices.find_one({"_id": "202BC1-BM632w-BROKER1", "_acs.lastEvents": ["1 BOOT", "M Reboot"]}), timeout=30)
        assert dev["_lastBoot"]
    finally:
        st.stop()


async def test_services_stop_promptly_when_the_broker_is_gone():
    import os
    import signal
    import time

    st = Stack(partitions=2).start_servers()
    try:
        sched = st.add_scheduler()
        gw = st.add_gateway()
        st.kafka.kill()
        for svc in (sched, gw):
            t0 = time.monotonic()
            os.killpg(svc.proc.pid, signal.SIGTERM)
            svc.proc.wait(timeout=40)
            assert time.monotonic() - t0 < 40, f"{svc.name} took too long to stop"
    finally:
        st.stop()
