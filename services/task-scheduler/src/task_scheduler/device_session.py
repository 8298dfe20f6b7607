"""Driving each device's CWMP session from its session events.

One ``SessionDriver`` per scheduler instance holds the live sessions of the devices whose
partitions it owns. Events of one device arrive in order (Kafka partition by device id) and the
consumer hands them over one at a time per device. For each event the driver feeds the
sans-I/O ``cwmp.session.AcsSession``, decides the next RPC (pending tasks, in order, then the
presets), replies to the gateway holding the HTTP request, and queues store writes; it returns
the write futures so the consumer commits the event's offset only once its effects are durable.

The driver only routes a session's events; each concern is a unit of its own, handed what it
needs: the Inform and its writes (``inform.InformReceiver``), the task queue step
(``task_queue.TaskQueue``), the provisioning step with its ext() calls and CPE credentials
(``provisioning_step.ProvisioningStep``), the CPE's own requests (``cpe_requests.CpeRequests``),
recovered sessions and tasks taken up by cwmp:ID (``recovery.SessionRecovery``), the replies,
outbound events and fault records (``session_events.SessionEvents``), and the live sessions
with their end, abandon and held writes (``sessions.LiveSessions``). What the scheduler keeps
about one session is ``session_state.DeviceSession``.

A session this instance does not know (another instance died or gave the partition up
mid-session) is recovered: the driver resumes in the ACS's turn and runs the device's pending
tasks again, so nothing in flight is lost. Tasks are idempotent by task id across that move: the
cwmp:ID of every request a task sends carries the task id and the request's step in the task
(``<prefix>-<n>.<task id>.<step>``, which the CPE echoes), so when the event that reaches this
instance first answers the *first* request of a task still pending for the device, the task's
run is rebuilt (its first request is deterministic), the session resumes with that request
outstanding (``AcsSession.resume_request``) and the answer completes the task, or faults it, as
if this instance had sent the request: the CPE does not execute it twice. A later step of a
multi-step task, a task no longer pending (a replayed event) or a response that does not answer
the rebuilt request's RPC falls back to the plain recovery. So does the same answer in a session
rebuilt from its replayed Inform (the partition moved before the Inform's offset was committed):
it asked again for the same task step under another cwmp:ID, and takes the first one up instead.
Neither applies to an answer that reaches this instance after its gateway stopped waiting (a
stale event: the CPE was answered 204, its session is over, as when a scheduler dies and its
partitions move only after the gateways' reply timeout): that task runs again at the device's
next session, as before.

A CPE may vanish at any point after its InformResponse (reboot, NAT timeout, flaky firmware): by
CWMP its events are delivered then, and it will not send them again. So the Inform's effects are
written at once (device document, ``last_informs``, device-informs topic), not with the session's
held updates. A session that hears nothing for ``session_idle_timeout_s`` ends (``expire_idle``):
what it learnt is written, a task in flight stays pending for the next session, and a BOOTSTRAP
it did not finish stays marked in the device document (``BOOTSTRAP_PENDING``, written with the
Inform): the device's next session finishes it (discovery if still needed, bootstrap defaults
and presets) whatever its Inform's events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from acs_contracts.affinity import CONTINUE
from acs_contracts.kafka_topics import SessionEvent
from cwmp import messages as m
from cwmp import soap
from cwmp.events import EventCode
from cwmp.serialize import message_from_dict
from cwmp.session import (
    AcsEvent,
    CpeRequestReceived,
    CpeTurnEnded,
    FaultReceived,
    ProtocolViolation,
    ResponseReceived,
    SessionStateError,
)

from . import metrics
from .config import Settings
from .cpe_requests import CpeRequests
from .inform import InformReceiver
from .outbound import Outbound
from .provisioning_step import ProvisioningStep
from .recovery import SessionRecovery
from .replies import ReplySender
from .session_events import SessionEvents
from .session_state import DeviceSession
from .sessions import LiveSessions
from .store import Store
from .task_queue import TaskQueue

log = logging.getLogger(__name__)

# Events after which the CPE sends requests of its own in the session (TransferComplete...).
_CPE_REQUEST_EVENTS = {EventCode.TRANSFER_COMPLETE, EventCode.AUTONOMOUS_TRANSFER_COMPLETE, EventCode.KICKED,
                       EventCode.DU_STATE_CHANGE_COMPLETE, EventCode.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE,
                       EventCode.REQUEST_DOWNLOAD}


class SessionDriver:
    """Routes each session event to the unit that owns its concern, and answers the gateway."""

    def __init__(self, settings: Settings, store: Store, replies: ReplySender, outbound: Outbound,
                 provisioner: Any = None) -> None:
        """``provisioner``: presets and built-in defaults (``task_scheduler.provisioning``), run
        after the device's tasks; it has ``wants(device_id, event_codes) -> bool`` (no I/O) and
        ``session(device_id, device_doc, event_codes) -> ProvisionRun | None``; a ProvisionRun has
        ``start()``, ``feed(response)``, ``fault(fault)`` (each returns the next RPC or None) and
        ``outcome`` (``sets``, ``unsets``, ``changes``, ``credentials``, ``faults``, ``cleared_faults``)."""
        self.s = settings
        self.store = store
        self.events = SessionEvents(store, replies, outbound)
        self.live = LiveSessions(settings, store, self.events)
        self.tasks = TaskQueue(settings, store, self.events)
        self.provisioning = ProvisioningStep(settings, store, self.events, provisioner)
        self.informs = InformReceiver(settings, store, self.provisioning.promote_credentials)
        self.cpe_requests = CpeRequests(self.tasks, self.provisioning)
        self.recovery = SessionRecovery(store, self.tasks)

    @property
    def sessions(self) -> dict[str, DeviceSession]:
        """The live sessions, by device id (the consumer's admission counts them)."""
        return self.live.sessions

    @property
    def provisioner(self) -> Any:
        return self.provisioning.provisioner

    @provisioner.setter
    def provisioner(self, provisioner: Any) -> None:
        self.provisioning.provisioner = provisioner

    # ------------------------------------------------------------------ entry point
    async def handle(self, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        metrics.EVENTS.labels(ev.kind).inc()
        if ev.kind == "inform":
            return await self._inform(ev, consumed_at)
        s = self.live.get(ev.device_id)
        if s is None and ev.kind == "empty" and self.live.forget_ended_at_inform(ev.session_id):
            await self.events.reply(ev, 204, b"", consumed_at, end=True)
            return []
        if s is None or s.session_id != ev.session_id:
            s = self.recovery.rebuild(ev)
            self.live.add(s)
        s.last_seen = time.monotonic()
        body = message_from_dict(ev.body) if ev.body else None
        env = m.Envelope(body=body, id=ev.headers.get("id"), cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version,
                         hold_requests=ev.headers.get("hold_requests"))
        futs: list[asyncio.Future] = []
        if s.recovered:
            if await self._recovered_in_acs_turn(s, ev, env):
                return await self._next(s, ev, consumed_at)
        elif _an_answer(body) and not ev.is_stale(time.time()):
            futs += self.recovery.answer_to_a_copy(s, env)
        try:
            event = s.acs.receive(env)
        except ProtocolViolation as v:
            return futs + await self.live.violation(s, ev, v, consumed_at)
        except SessionStateError as e:
            log.warning("session %s of %s out of step (%s); ending it", s.session_id, s.device_id, e)
            return futs + await self.live.finish(s, ev, consumed_at, "error")
        return futs + await self._dispatch(s, ev, event, consumed_at)

    async def _recovered_in_acs_turn(self, s: DeviceSession, ev: SessionEvent, env: m.Envelope) -> bool:
        """The first event of a recovered session: True when the ACS's turn goes on from the
        device's pending tasks (the plain recovery), False when the event is received as usual
        (the CPE's turn, or a task request taken up from its answer)."""
        s.recovered = False
        acs_turn = _an_answer(env.body) or ev.kind == "empty" or not isinstance(env.body, m.Message)
        return acs_turn and (ev.is_stale(time.time()) or not await self.recovery.resume_task(s, env))

    async def _dispatch(self, s: DeviceSession, ev: SessionEvent, event: AcsEvent,
                        consumed_at: float) -> list[asyncio.Future]:
        """What the session machine made of a CPE message: answer a CPE request, or take an
        answer to the ACS's request (or the end of the CPE's turn) and send what comes next."""
        if isinstance(event, CpeRequestReceived):
            answer, futs = await self.cpe_requests.answer(s, event.message)
            await self.events.reply(ev, 200, soap.build(s.acs.respond(answer)), consumed_at)
            return futs
        futs = []
        if isinstance(event, (ResponseReceived, FaultReceived)) and event.request is s.pending_request:
            s.pending_request = None  # the request offered at the Inform: the gateway delivered it
            metrics.RPCS.labels(event.request.RPC).inc()
        if isinstance(event, ResponseReceived):
            _observe_rpc(s, event.request)
            futs += self._response(s, event.response)
        elif isinstance(event, FaultReceived):
            _observe_rpc(s, event.request)
            futs += self._fault(s, event.fault)
        elif not isinstance(event, CpeTurnEnded):
            log.warning("unexpected session event %r", event)
        return futs + await self._next(s, ev, consumed_at)

    def _response(self, s: DeviceSession, response: m.Message) -> list[asyncio.Future]:
        """The CPE's answer goes to whoever sent the request: the presets' run, or the running task."""
        if self.provisioning.running(s):
            return self.provisioning.response(s, response)
        return self.tasks.response(s, response)

    def _fault(self, s: DeviceSession, fault: m.Fault) -> list[asyncio.Future]:
        metrics.CPE_FAULTS.labels(str(fault.fault_code)).inc()
        if self.provisioning.running(s):
            return self.provisioning.fault(s, fault)
        return self.tasks.fault(s, fault)

    # ------------------------------------------------------------------ Inform
    async def _inform(self, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        futs = self.live.supersede(ev.device_id)
        begun = await self.informs.receive(ev, futs)
        if begun is None:
            return futs
        s, inform = begun
        self.live.add(s)
        await self.events.informed(ev, s.event_codes, inform)
        if ev.reply_to:
            futs += await self._answer_inform(s, ev, consumed_at)
        return futs

    async def _answer_inform(self, s: DeviceSession, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        """Tell the gateway at once how to answer the CPE's empty POST: with 204 when the ACS has
        nothing to send (the session costs one event, not two), or with the first request (the
        CPE's answer to it is the session's next event). When the Inform announces requests from
        the CPE, "continue": the gateway publishes its POSTs as usual.

        Should the CPE send a request, or its empty POST to another gateway, the answer goes
        unused: that POST is published, and the offered request is sent in the usual way (or the
        204, by a session this scheduler recovers).

        The common periodic session (no task, no built-in run, no preset triggered) is known to
        have nothing to do without I/O: the pending-task index and the presets' triggers say so."""
        if _CPE_REQUEST_EVENTS.intersection(s.event_codes):
            await self.events.reply(ev, CONTINUE, b"", consumed_at)
            return []
        request, futs = await self._next_request(s)
        if request is not None:
            s.pending_request = request
            s.sent_at = time.monotonic()
            await self.events.reply(ev, 200, soap.build(s.acs.offer_request(request, tag=s.outgoing_tag())), consumed_at)
            return futs
        s.acs.receive(None)  # the empty POST the gateway will answer
        self.live.ended_at_inform(s)
        return futs + await self.live.finish(s, ev, consumed_at, "ok")

    # ------------------------------------------------------------------ the ACS's next request
    async def _next_request(self, s: DeviceSession) -> tuple[m.Message | None, list[asyncio.Future]]:
        """The presets' ext() calls answered first, then: the request a task or the presets asked
        for at the last turn, the next task's first, or the presets' first (None: nothing left)."""
        futs: list[asyncio.Future] = await self.provisioning.settle_extensions(s)
        if s.pending_request is not None:
            pending, s.pending_request = s.pending_request, None
            return pending, futs
        first, more = await self.tasks.next(s)
        futs += more
        if first is not None:
            return first, futs
        first, more = await self.provisioning.start(s)
        if first is None and s.bootstrap:  # discovery, tasks and presets done: so is the BOOTSTRAP
            s.bootstrap = False
            more += self.store.bootstrap_done(s.device_id, s.writes)
        return first, futs + more

    async def _next(self, s: DeviceSession, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        if ev.is_stale(time.time()):
            # The gateway answered this POST with 204 long ago (a backlog): the CPE's session is
            # over. What the event said is taken; sending more would only hold a session slot
            # until the idle timeout, waiting for an answer that cannot come.
            return await self.live.finish(s, ev, consumed_at, "stale")
        if s.acs.rpc_count >= self.s.max_rpcs_per_session:
            log.warning("session of %s hit the RPC limit (%d)", s.device_id, self.s.max_rpcs_per_session)
            return await self.live.finish(s, ev, consumed_at, "loop-limit")
        request, futs = await self._next_request(s)
        if request is None:
            return futs + await self.live.finish(s, ev, consumed_at, "ok")
        env = s.acs.send_request(request, tag=s.outgoing_tag())
        s.sent_at = time.monotonic()
        metrics.RPCS.labels(request.RPC).inc()
        await self.events.reply(ev, 200, soap.build(env), consumed_at)
        return futs

    # ------------------------------------------------------------------ housekeeping
    def expire_idle(self) -> int:
        """End the sessions whose CPE went quiet (``LiveSessions.expire_idle``)."""
        return self.live.expire_idle()

    def release_all(self) -> list[asyncio.Future]:
        """Write the held updates of every session (``LiveSessions.release_all``)."""
        return self.live.release_all()


def _an_answer(body: object) -> bool:
    """Whether a CPE message answers the ACS's request (a response or a fault)."""
    return isinstance(body, m.Fault) or (isinstance(body, m.Message) and body.RPC.endswith("Response"))


def _observe_rpc(s: DeviceSession, request: m.Message) -> None:
    if s.sent_at:
        metrics.RPC_DURATION.labels(request.RPC).observe(time.monotonic() - s.sent_at)
