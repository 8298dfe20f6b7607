"""What a session tells the rest of the ACS: the reply to the gateway holding the CPE's POST
(over the affinity channel), the outbound topics (device-informs, parameter-changes, task
results, session ends) and the device's fault records.

Messages handed off without waiting are kept in ``_background`` until done, so none is
garbage-collected half-way and a failure is logged rather than lost. Every message is keyed by
the device id, so one device's events keep their order on the topics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from acs_contracts.affinity import Reply
from acs_contracts.kafka_topics import DeviceInformed, ParameterChanges, SessionEnded, SessionEvent, TaskResult
from cwmp import messages as m
from cwmp.events import EventCode

from . import metrics
from .device_record import jsonable, jsonable_tree
from .outbound import Outbound
from .replies import ReplySender
from .session_state import DeviceSession
from .store import Store

log = logging.getLogger(__name__)


def session_ended(s: DeviceSession, outcome: str) -> SessionEnded:
    return SessionEnded(device_id=s.device_id, session_id=s.session_id, timestamp=time.time(), outcome=outcome,
                        rpc_count=s.acs.rpc_count, duration_s=time.monotonic() - s.started, event_codes=s.event_codes)


class SessionEvents:
    """The session's outbound side: gateway replies, topic messages and fault records."""

    def __init__(self, store: Store, replies: ReplySender, outbound: Outbound) -> None:
        self.store = store
        self.replies = replies
        self.outbound = outbound
        self._background: set[asyncio.Future] = set()

    def _in_background(self, aw: Awaitable[None], what: str) -> None:
        fut = asyncio.ensure_future(aw)
        self._background.add(fut)

        def done(f: asyncio.Future) -> None:
            self._background.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.warning("%s failed: %r", what, f.exception())

        fut.add_done_callback(done)

    # ------------------------------------------------------------------ the gateway
    async def reply(self, ev: SessionEvent, status: int, body: bytes, consumed_at: float, *, end: bool = False,
                    outcome: str = "ok") -> None:
        """Answer the CPE's POST ``ev`` through the gateway that holds it (none: nobody waits)."""
        if not ev.reply_to:
            return
        await self.replies.send(ev.reply_to, Reply(ev.request_id, status, body, end_session=end, outcome=outcome))
        metrics.REPLY_SECONDS.observe(time.perf_counter() - consumed_at)

    # ------------------------------------------------------------------ topics
    async def informed(self, ev: SessionEvent, event_codes: list[str], inform: m.Inform) -> None:
        """The Inform on the outbound topics: device-informs, and parameter-changes for a VALUE CHANGE."""
        d = inform.device_id
        await self.outbound.emit(DeviceInformed(
            device_id=ev.device_id, timestamp=ev.received_at, event_codes=event_codes, manufacturer=d.manufacturer,
            oui=d.oui, product_class=d.product_class, serial_number=d.serial_number, source_ip=ev.source_ip,
            cwmp_version=ev.cwmp_version, session_id=ev.session_id), ev.device_id)
        if EventCode.VALUE_CHANGE in event_codes and inform.parameter_list:
            await self.outbound.emit(ParameterChanges(
                device_id=ev.device_id, timestamp=ev.received_at, source="inform",
                changes=[{"name": p.name, "value": jsonable(p.value), "type": p.type, "previous": None}
                         for p in inform.parameter_list]), ev.device_id)

    def parameter_changes(self, device_id: str, source: str, changes: list[dict], what: str = "outbound ParameterChanges") -> None:
        """Values a task or the presets learnt or set, on parameter-changes (not waited for)."""
        self._in_background(self.outbound.emit(ParameterChanges(
            device_id=device_id, timestamp=time.time(), source=source, changes=changes), device_id), what)

    def task_result(self, task: dict, device_id: str, status: str, fault: dict | None, result: dict) -> None:
        """A task's end on the task-results topic (not waited for)."""
        self._in_background(self.outbound.emit(TaskResult(
            task_id=str(task["_id"]), device_id=device_id, name=task.get("name", ""), status=status,
            timestamp=time.time(), fault=fault, result=jsonable_tree(result)), device_id), "outbound TaskResult")

    async def ended(self, s: DeviceSession, outcome: str) -> None:
        """The session's end on the session-ends topic, waited for (its last reply went out)."""
        await self.outbound.emit(session_ended(s, outcome), s.device_id)

    def abandoned(self, s: DeviceSession, outcome: str) -> None:
        """The end of a session nobody waits for (no POST to answer), not waited for."""
        self._in_background(self.outbound.emit(session_ended(s, outcome), s.device_id), "outbound SessionEnded")

    # ------------------------------------------------------------------ fault records
    def fault(self, device_id: str, channel: str, timestamp: datetime, code: str, message: str, detail: Any,
              retries: int = 0) -> asyncio.Future:
        """The device's fault on ``channel`` (one record per channel, replaced by a later fault)."""
        return self.store.upsert_fault(f"{device_id}:{channel}", {
            "device": device_id, "channel": channel, "timestamp": timestamp, "code": code,
            "message": message, "detail": detail, "retries": retries})

    def fault_cleared(self, device_id: str, channel: str) -> asyncio.Future:
        return self.store.clear_fault(f"{device_id}:{channel}")
