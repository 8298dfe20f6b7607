"""Events the scheduler reaches after the gateway stopped waiting for their reply (a backlog): the
session is over at the CPE, so the scheduler takes what they say and ends it, instead of sending
a request nobody will answer and holding a session slot until the idle timeout."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from acs_contracts.kafka_topics import REPLY_WAIT, SessionEvent
from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.serialize import message_to_dict
from task_scheduler.config import Settings
from task_scheduler.device_session import SessionDriver
from task_scheduler.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_abandoned_sessions import Outbound, Replies  # noqa: E402
from test_inform_writes import RecordingWriter  # noqa: E402

NS = "urn:dslforum-org:cwmp-1-0"
DEV = "202BC1-BM632w-STALE1"


def _event(kind: str, body=None, age_s: float = 0.0, wait_s: float | None = 20.0) -> SessionEvent:
    headers = {} if wait_s is None else {REPLY_WAIT: wait_s}
    return SessionEvent(device_id=DEV, session_id="s1", kind=kind, request_id=f"r-{kind}", reply_to="gw:1",
                        received_at=time.time() - age_s, cwmp_ns=NS, cwmp_version="1.0",
                        body=message_to_dict(body) if body is not None else None, headers=headers)


def test_an_event_is_stale_once_the_gateway_stopped_waiting():
    assert _event("empty", age_s=30).is_stale(time.time())
    assert not _event("empty", age_s=5).is_stale(time.time())
    assert not _event("empty", age_s=300, wait_s=None).is_stale(time.time())  # no wait given: never


async def _bootstrap_session(empty_age_s: float) -> tuple[SessionDriver, Replies]:
    replies = Replies()
    driver = SessionDriver(Settings(), Store(None, RecordingWriter()), replies, Outbound())  # type: ignore[arg-type]
    inform = m.Inform(device_id=m.DeviceIdStruct("Huawei", "202BC1", "BM632w", "STALE1"),
                      events=[m.EventStruct(EventCode("0 BOOTSTRAP"))], max_envelopes=1, retry_count=0,
                      parameter_list=[m.ParameterValueStruct("InternetGatewayDevice.DeviceInfo.SoftwareVersion", "V1", "xsd:string")])
    ev = _event("inform", inform, wait_s=None)
    ev.reply_to = None  # an Inform whose empty POST the gateway publishes
    await driver.handle(ev, time.perf_counter())
    await driver.handle(_event("empty", age_s=empty_age_s), time.perf_counter())
    return driver, replies


@pytest.mark.asyncio
async def test_a_stale_empty_post_ends_the_session_without_a_request():
    driver, replies = await _bootstrap_session(empty_age_s=0.0)
    assert replies.sent[-1].status == 200 and b"GetParameterValues" in replies.sent[-1].body  # discovery
    assert DEV in driver.sessions

    driver, replies = await _bootstrap_session(empty_age_s=60.0)
    assert [r.status for r in replies.sent] == [204] and replies.sent[0].outcome == "stale"
    assert DEV not in driver.sessions  # no slot held until the idle timeout
    await asyncio.sleep(0)
