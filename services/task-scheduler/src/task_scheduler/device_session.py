"""Driving each device's CWMP session from its session events.

One ``SessionDriver`` per scheduler instance holds the live sessions of the devices whose
partitions it owns. Events of one device arrive in order (Kafka partition by device id) and the
consumer hands them over one at a time per device. For each event the driver feeds the
sans-I/O ``cwmp.session.AcsSession``, decides the next RPC (pending tasks, in order), replies to
the gateway holding the HTTP request, and queues store writes; it returns the write futures so
the consumer commits the event's offset only once its effects are durable.

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
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from acs_contracts.affinity import CONTINUE, Reply
from acs_contracts.device_id import split_device_id
from acs_contracts.kafka_topics import DeviceInformed, ParameterChanges, SessionEnded, SessionEvent, TaskResult
from cwmp import messages as m
from cwmp import soap
from cwmp.events import EventCode
from cwmp.serialize import message_from_dict
from cwmp.session import (
    AcsEvent,
    AcsSession,
    CpeRequestReceived,
    CpeTurnEnded,
    FaultReceived,
    ProtocolViolation,
    ResponseReceived,
    SessionStateError,
    request_tag,
    response_rpc,
)

from . import cpe_credentials, metrics, tenants
from .config import Settings
from .device_record import (
    BOOTSTRAP_DISCOVERED,
    data_model_root,
    inform_update,
    jsonable,
    jsonable_tree,
    last_inform_doc,
    needs_full_write,
    now_utc,
)
from .outbound import Outbound
from .provisioning import downloads
from .provisioning.engine import PROVISIONING_KEY_PREFIX, ExtensionCalls
from .replies import ReplySender
from .store import DeviceWrites, Store
from .tasks import TaskArgumentError, TaskContext, TaskRun, discover_data_model

log = logging.getLogger(__name__)

ACS_METHODS = ["Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
               "DUStateChangeComplete", "AutonomousDUStateChangeComplete", "RequestDownload", "Kicked"]

# Events after which the device's tasks are looked up even if the index says there are none.
_CHECK_TASKS_EVENTS = {EventCode.CONNECTION_REQUEST, EventCode.BOOTSTRAP}
# Events that resume tasks waiting for them (TaskOutcome.awaiting_event).
_RESUMING_EVENTS = {EventCode.DIAGNOSTICS_COMPLETE}
_ENDED_AT_INFORM_REMEMBERED = 10_000
# Events after which the CPE sends requests of its own in the session (TransferComplete...).
_CPE_REQUEST_EVENTS = {EventCode.TRANSFER_COMPLETE, EventCode.AUTONOMOUS_TRANSFER_COMPLETE, EventCode.KICKED,
                       EventCode.DU_STATE_CHANGE_COMPLETE, EventCode.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE,
                       EventCode.REQUEST_DOWNLOAD}
# Task ids that go into request tags: ObjectIds (24 hex), which keeps cwmp:IDs short.
_TASK_ID = re.compile(r"[0-9a-f]{24}")


def task_tag(task: dict | None, run: TaskRun | None) -> str | None:
    """The cwmp:ID tag of the request ``run`` just gave out: "<task id>.<step>" (None for the
    ACS's own runs and tasks whose id is not an ObjectId)."""
    if task is None or run is None or task.get("builtin"):
        return None
    task_id = str(task.get("_id"))
    return f"{task_id}.{run.step}" if _TASK_ID.fullmatch(task_id) and run.step >= 0 else None


def tagged_task(request_id: str | None) -> tuple[str, int] | None:
    """(task id, step) from the cwmp:ID a CPE echoed, or None when the request was no task's."""
    tag = request_tag(request_id)
    if tag is None:
        return None
    task_id, _, step = tag.partition(".")
    if not _TASK_ID.fullmatch(task_id) or not step.isdigit():
        return None
    return task_id, int(step)


def _answers(body: m.Message, request: m.Message) -> bool:
    """Whether ``body`` (a CPE response or fault) can answer ``request``."""
    return isinstance(body, m.Fault) or body.RPC == response_rpc(request)


def _give_back_attempt(task: dict) -> None:
    """The task document's attempt count, less the one counted twice for the same request."""
    task["attempts"] = max(0, int(task.get("attempts", 0)) - 1)


class DeviceSession:
    """What the scheduler keeps about one device's session between its POSTs."""

    __slots__ = ("device_id", "session_id", "acs", "started", "event_codes", "tasks", "task", "run",
                 "may_have_tasks", "sent_at", "last_seen", "recovered", "pending_request", "provision", "provision_done",
                 "builtin", "writes", "bootstrap", "codes", "ext_calls", "cpe_facts", "cred_previous")

    def __init__(self, device_id: str, session_id: str) -> None:
        self.device_id = device_id
        self.session_id = session_id
        self.acs = AcsSession()
        self.started = time.monotonic()
        self.event_codes: list[str] = []
        self.tasks: deque[dict] | None = None
        self.task: dict | None = None
        self.run: TaskRun | None = None
        self.may_have_tasks = False
        self.sent_at = 0.0
        self.last_seen = time.monotonic()
        self.recovered = False
        self.pending_request: m.Message | None = None  # a task's next RPC, sent at the next turn
        self.provision: Any = None  # the presets' ProvisionRun while it sends RPCs
        self.provision_done = False
        self.builtin: list[dict] = []  # the ACS's own runs (BOOTSTRAP discovery), before the device's tasks
        self.writes = DeviceWrites(device_id)  # device updates held until the session ends or a task completes
        self.bootstrap = False  # a BOOTSTRAP (this Inform's, or one a session cut short) to finish
        self.codes: list[str] = []  # the events tasks and presets go by: the Inform's, and BOOTSTRAP when resumed
        self.ext_calls: Any = None  # the presets' run waits for these ext() answers (ExtensionCalls)
        self.cpe_facts: dict[str, Any] = {}  # which credentials the CPE logged in with (cpe_credentials.facts_of)
        self.cred_previous: dict[str, Any] | None = None  # kept for the grace window when new ones are stored


def _session_ended(s: DeviceSession, outcome: str) -> SessionEnded:
    return SessionEnded(device_id=s.device_id, session_id=s.session_id, timestamp=time.time(), outcome=outcome,
                        rpc_count=s.acs.rpc_count, duration_s=time.monotonic() - s.started, event_codes=s.event_codes)


class SessionDriver:
    def __init__(self, settings: Settings, store: Store, replies: ReplySender, outbound: Outbound,
                 provisioner: Any = None) -> None:
        """``provisioner``: presets and built-in defaults (``task_scheduler.provisioning``), run
        after the device's tasks; it has ``wants(device_id, event_codes) -> bool`` (no I/O) and
        ``session(device_id, device_doc, event_codes) -> ProvisionRun | None``; a ProvisionRun has
        ``start()``, ``feed(response)``, ``fault(fault)`` (each returns the next RPC or None) and
        ``outcome`` (``sets``, ``unsets``, ``changes``, ``credentials``, ``faults``, ``cleared_faults``)."""
        self.s = settings
        self.provisioner = provisioner
        self.store = store
        self.replies = replies
        self.outbound = outbound
        self.sessions: dict[str, DeviceSession] = {}
        self._file_sizes: dict[str, int] = {}
        # Sessions ended at their Inform (nothing to do), by session id: an empty POST published
        # for one anyway (it reached another gateway, or came before the answer) gets 204 at once.
        self._ended_at_inform: OrderedDict[str, None] = OrderedDict()
        # Outbound messages handed off without waiting: the tasks are kept here until done, so
        # none is garbage-collected half-way and a failure is logged rather than lost.
        self._background: set[asyncio.Future] = set()

    def _in_background(self, aw: Awaitable[None], what: str) -> None:
        fut = asyncio.ensure_future(aw)
        self._background.add(fut)

        def done(f: asyncio.Future) -> None:
            self._background.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.warning("%s failed: %r", what, f.exception())

        fut.add_done_callback(done)

    # ------------------------------------------------------------------ entry point
    async def handle(self, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        metrics.EVENTS.labels(ev.kind).inc()
        if ev.kind == "inform":
            return await self._inform(ev, consumed_at)
        s = self.sessions.get(ev.device_id)
        if s is None and ev.kind == "empty" and ev.session_id in self._ended_at_inform:
            del self._ended_at_inform[ev.session_id]
            await self._reply(ev, 204, b"", consumed_at, end=True)
            return []
        if s is None or s.session_id != ev.session_id:
            s = self._recover(ev)
        s.last_seen = time.monotonic()
        body = message_from_dict(ev.body) if ev.body else None
        env = m.Envelope(body=body, id=ev.headers.get("id"), cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version,
                         hold_requests=ev.headers.get("hold_requests"))
        an_answer = isinstance(body, m.Fault) or (isinstance(body, m.Message) and body.RPC.endswith("Response"))
        futs: list[asyncio.Future] = []
        if s.recovered:
            s.recovered = False
            acs_turn = an_answer or ev.kind == "empty" or not isinstance(body, m.Message)
            if acs_turn and (ev.is_stale(time.time()) or not await self._resume_task(s, env)):
                return await self._next(s, ev, consumed_at)
        elif an_answer and not ev.is_stale(time.time()):
            futs += self._answer_to_a_copy(s, env)
        try:
            event = s.acs.receive(env)
        except ProtocolViolation as v:
            return futs + await self._violation(s, ev, v, consumed_at)
        except SessionStateError as e:
            log.warning("session %s of %s out of step (%s); ending it", s.session_id, s.device_id, e)
            return futs + await self._finish(s, ev, consumed_at, "error")
        return futs + await self._dispatch(s, ev, event, consumed_at)

    async def _dispatch(self, s: DeviceSession, ev: SessionEvent, event: AcsEvent,
                        consumed_at: float) -> list[asyncio.Future]:
        """What the session machine made of a CPE message: answer a CPE request, or take an
        answer to the ACS's request (or the end of the CPE's turn) and send what comes next."""
        if isinstance(event, CpeRequestReceived):
            answer, futs = await self._cpe_request(s, event.message)
            await self._reply(ev, 200, soap.build(s.acs.respond(answer)), consumed_at)
            return futs
        futs = []
        if isinstance(event, (ResponseReceived, FaultReceived)) and event.request is s.pending_request:
            s.pending_request = None  # the request offered at the Inform: the gateway delivered it
            metrics.RPCS.labels(event.request.RPC).inc()
        if isinstance(event, ResponseReceived):
            self._observe_rpc(s, event.request)
            futs += self._task_response(s, event.response)
        elif isinstance(event, FaultReceived):
            self._observe_rpc(s, event.request)
            futs += self._task_fault(s, event.fault)
        elif not isinstance(event, CpeTurnEnded):
            log.warning("unexpected session event %r", event)
        return futs + await self._next(s, ev, consumed_at)

    # ------------------------------------------------------------------ Inform
    async def _inform(self, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        old = self.sessions.pop(ev.device_id, None)
        futs: list[asyncio.Future] = []
        if old is not None:
            metrics.SESSIONS.labels("superseded").inc()
            futs += self.store.release(old.writes)
        inform = message_from_dict(ev.body or {})
        if not isinstance(inform, m.Inform):
            log.error("inform event from %s carries %s", ev.device_id, type(inform).__name__)
            return futs
        s = DeviceSession(ev.device_id, ev.session_id)
        env = m.Envelope(body=inform, id=ev.headers.get("id"), cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version,
                         supported_cwmp_versions=ev.headers.get("supported_cwmp_versions"))
        try:
            s.acs.receive(env)
            s.acs.respond(s.acs.inform_response())  # the gateway already sent it, after the broker's ack
        except ProtocolViolation as v:
            log.warning("Inform from %s refused by the session rules: %s", ev.device_id, v)
            return futs
        s.event_codes = s.codes = [str(e.event_code) for e in inform.events]
        s.cpe_facts = cpe_credentials.facts_of(ev.headers)
        if s.cpe_facts.get("cpeCredential") == cpe_credentials.PENDING:
            futs.append(asyncio.ensure_future(self._promote_credentials(s.device_id)))
        await self._plan_session(s, inform)
        ts = datetime.fromtimestamp(ev.received_at, UTC)
        update, unsets = inform_update(inform, source_ip=ev.source_ip,
                                       cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version, ts=ts)
        tenants.assign(update, inform, ev.headers)  # ACS_TENANT_RULES: the owner, at first contact
        # Written at once, whatever the session does next: the CPE was answered InformResponse, so
        # it considers these events delivered. The event is done once the session's later held
        # updates are stored too (a crash replays the session from its Inform).
        futs += self.store.record_inform(ev.device_id, update, unsets, needs_full_write(s.event_codes),
                                         last_inform_doc(ts, s.event_codes))
        futs.append(s.writes.pending())
        self.sessions[ev.device_id] = s
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        await self._publish_inform(s, ev, inform)
        if ev.reply_to:
            futs += await self._answer_inform(s, ev, consumed_at)
        return futs

    async def _plan_session(self, s: DeviceSession, inform: m.Inform) -> None:
        """What the session must do besides tasks: finish a BOOTSTRAP (this one, or one a session
        cut short left), learn the data model first, and whether tasks may be waiting."""
        device_id = s.device_id
        s.bootstrap = EventCode.BOOTSTRAP in s.event_codes
        resumed = None
        if not s.bootstrap and self.store.may_have_bootstrap(device_id):
            # a session cut short left its BOOTSTRAP unfinished: this one finishes it
            resumed = await self.store.pending_bootstrap(device_id)
            if resumed is not None:
                log.info("%s: finishing the BOOTSTRAP of %s", device_id, resumed["since"])
                s.bootstrap, s.codes = True, [*s.event_codes, str(EventCode.BOOTSTRAP)]
        if s.bootstrap:
            self.store.bootstrap_begun(device_id)
        s.may_have_tasks = self.store.may_have_tasks(device_id) or bool(_CHECK_TASKS_EVENTS.intersection(s.codes))
        if s.bootstrap and self.s.bootstrap_discovery and self.s.bootstrap_defaults and not (resumed or {}).get("discovered"):
            # the whole data model, learnt afresh, before tasks and presets look at it
            s.builtin.append({"_id": None, "builtin": "discovery", "root": data_model_root(inform)})
        for code in _RESUMING_EVENTS.intersection(s.event_codes):
            if await self.store.wake_tasks(device_id, code):
                s.may_have_tasks = True

    async def _publish_inform(self, s: DeviceSession, ev: SessionEvent, inform: m.Inform) -> None:
        """The Inform on the outbound topics: device-informs, and parameter-changes for a VALUE CHANGE."""
        d = inform.device_id
        await self.outbound.emit(DeviceInformed(
            device_id=ev.device_id, timestamp=ev.received_at, event_codes=s.event_codes, manufacturer=d.manufacturer,
            oui=d.oui, product_class=d.product_class, serial_number=d.serial_number, source_ip=ev.source_ip,
            cwmp_version=ev.cwmp_version, session_id=ev.session_id), ev.device_id)
        if EventCode.VALUE_CHANGE in s.event_codes and inform.parameter_list:
            await self.outbound.emit(ParameterChanges(
                device_id=ev.device_id, timestamp=ev.received_at, source="inform",
                changes=[{"name": p.name, "value": jsonable(p.value), "type": p.type, "previous": None}
                         for p in inform.parameter_list]), ev.device_id)

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
            await self._reply(ev, CONTINUE, b"", consumed_at)
            return []
        request, futs = await self._next_request(s)
        if request is not None:
            s.pending_request = request
            s.sent_at = time.monotonic()
            await self._reply(ev, 200, soap.build(s.acs.offer_request(request, tag=self._tag(s))), consumed_at)
            return futs
        s.acs.receive(None)  # the empty POST the gateway will answer
        self._ended_at_inform[s.session_id] = None
        while len(self._ended_at_inform) > _ENDED_AT_INFORM_REMEMBERED:
            self._ended_at_inform.popitem(last=False)
        return futs + await self._finish(s, ev, consumed_at, "ok")

    def _recover(self, ev: SessionEvent) -> DeviceSession:
        """Rebuild a session this instance never saw begin: resume in the ACS's turn (then
        ``_resume_task`` may take up the task request the event answers)."""
        oui, product_class, serial = split_device_id(ev.device_id)
        s = DeviceSession(ev.device_id, ev.session_id)
        inform = m.Inform(device_id=m.DeviceIdStruct("", oui, product_class, serial), events=[])
        s.acs.receive(m.Envelope(body=inform, cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version))
        s.acs.respond(s.acs.inform_response())
        body = ev.body or {}
        if ev.kind == "empty" or str(body.get("rpc", "")).endswith("Response") or body.get("rpc") == "Fault":
            s.acs.receive(None)  # into the ACS's turn
        s.recovered = True
        s.may_have_tasks = True
        self.sessions[ev.device_id] = s
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        log.info("recovered session %s of %s", ev.session_id, ev.device_id)
        return s

    async def _resume_task(self, s: DeviceSession, env: m.Envelope) -> bool:
        """A recovered session whose first event answers (response or fault) the first request of
        a task still pending for the device, as its cwmp:ID says: take that request up as if this
        instance had sent it (the task's run rebuilt, the request outstanding again) and say
        True; the event is then received as usual and completes or faults the task, so the CPE
        does not execute it a second time. False (the plain recovery: the ACS's turn, the
        device's pending tasks from the start) for anything else: no task tag, a later step of
        the task (its run cannot be rebuilt half-way), a task no longer pending (a replayed
        event: it completed already), or a response that does not answer the rebuilt request.
        (A stale event is not taken up: see the module docstring.)"""
        tagged = tagged_task(env.id)
        if tagged is None or env.id is None or env.body is None:
            return False
        task_id, step = tagged
        s.tasks = deque(await self.store.pending_tasks(s.device_id))  # read once: the session needs them anyway
        task = next((t for t in s.tasks if str(t.get("_id")) == task_id), None)
        if step != 0 or task is None:
            log.info("%s: answer to step %d of task %s, %s: recovered in the ACS's turn", s.device_id, step, task_id,
                     "a later step" if task is not None else "no longer pending")
            return False
        try:
            run = TaskRun(task, await self._task_context(s, task))
            request = run.start()
        except (TaskArgumentError, KeyError, TypeError, ValueError) as e:
            log.info("%s: task %s cannot be rebuilt (%s): recovered in the ACS's turn", s.device_id, task_id, e)
            return False
        if request is None or not _answers(env.body, request):
            log.warning("%s: %s does not answer the first request of task %s (%s): recovered in the ACS's turn",
                        s.device_id, env.body.RPC, task_id, request.RPC if request is not None else "none")
            return False
        s.acs.resume_request(request, env.id)
        s.tasks.remove(task)
        _give_back_attempt(task)  # counted by the instance that sent the request: the task as that one read it
        s.task, s.run = task, run
        log.info("%s: resumed task %s (%s) from the answer to its request", s.device_id, task_id, request.RPC)
        return True

    def _answer_to_a_copy(self, s: DeviceSession, env: m.Envelope) -> list[asyncio.Future]:
        """An answer whose cwmp:ID names the same task and step as the request this session
        offered or sent, under another ID: the session was rebuilt from its replayed Inform
        (partitions moved, to another instance or back to this one, before the Inform's offset
        was committed), and it asked again for what the first AcsSession had asked, on an HTTP
        request nobody waits for any more. The CPE answers the first one: take that one up
        (``AcsSession.resume_request``), so the answer completes the step once and the CPE is
        not asked again; the task's attempt counted a second time at the replayed start is
        given back. Anything else is left to the session rules (8003 for another cwmp:ID); a
        stale event is not taken up (see the module docstring)."""
        acs = s.acs
        offered = acs.offered is not None and acs.outstanding is None
        request, own_id = (acs.offered, acs.offered_id) if offered else (acs.outstanding, acs.outstanding_id)
        if request is None or env.body is None or not env.id or env.id == own_id:
            return []
        theirs = tagged_task(env.id)
        if theirs is None or theirs != tagged_task(own_id):
            return []
        if not _answers(env.body, request):
            return []
        acs.resume_request(request, env.id, replace=not offered)
        log.info("%s: answer to step %d of task %s sent under another cwmp:ID (a replayed session): taken up",
                 s.device_id, theirs[1], theirs[0])
        task = s.task
        if theirs[1] != 0 or task is None or str(task.get("_id")) != theirs[0]:
            return []
        _give_back_attempt(task)
        return [self.store.update_task(task["_id"], {"$inc": {"attempts": -1}}, s.device_id)]

    # ------------------------------------------------------------------ CPE requests
    async def _cpe_request(self, s: DeviceSession, msg: m.Message) -> tuple[m.Message, list[asyncio.Future]]:
        if isinstance(msg, m.GetRPCMethods):
            return m.GetRPCMethodsResponse(method_list=list(ACS_METHODS)), []
        if isinstance(msg, m.TransferComplete) and msg.command_key.startswith(PROVISIONING_KEY_PREFIX):
            return m.TransferCompleteResponse(), await self._scripted_download_done(s, msg)
        if isinstance(msg, m.TransferComplete):
            return m.TransferCompleteResponse(), await self._transfer_done(s, msg.command_key, msg.fault,
                                                                           {"startTime": jsonable(msg.start_time),
                                                                            "completeTime": jsonable(msg.complete_time)})
        if isinstance(msg, m.DUStateChangeComplete):
            first_fault = next((r.fault for r in msg.results if r.fault.fault_code), m.FaultStruct())
            result = {"results": [{"uuid": r.uuid, "version": r.version, "currentState": r.current_state,
                                   "faultCode": r.fault.fault_code} for r in msg.results]}
            return m.DUStateChangeCompleteResponse(), await self._transfer_done(s, msg.command_key, first_fault, result)
        if isinstance(msg, m.AutonomousTransferComplete):
            return m.AutonomousTransferCompleteResponse(), []
        if isinstance(msg, m.AutonomousDUStateChangeComplete):
            return m.AutonomousDUStateChangeCompleteResponse(), []
        if isinstance(msg, m.RequestDownload):
            return m.RequestDownloadResponse(), []
        if isinstance(msg, m.Kicked):
            return m.KickedResponse(next_url=msg.next), []
        return m.Fault(fault_code=8000, fault_string=f"{msg.RPC} not supported", faultcode="Client"), []

    async def _scripted_download_done(self, s: DeviceSession, msg: m.TransferComplete) -> list[asyncio.Future]:
        """TransferComplete of a Download a script declared (``Downloads.*``): its instance gets
        StartTime and CompleteTime; a failed transfer faults the channel that declared it."""
        doc = await self.store.device_doc(s.device_id, s.writes)
        now = now_utc()

        def when(t: Any) -> datetime | None:  # CWMP's "unknown time" is 0001-01-01
            return t if isinstance(t, datetime) and t.year > 1970 else None

        found = downloads.completion(doc, msg.command_key, when(msg.start_time), when(msg.complete_time), now)
        if found is None:
            log.info("%s reported completion of unknown CommandKey %r", s.device_id, msg.command_key)
            return []
        num, channel, sets = found
        futs = self.store.update_device(s.device_id, {"$set": sets}, upsert=False, hold=s.writes)
        if msg.fault is not None and msg.fault.fault_code:
            futs.append(self.store.upsert_fault(f"{s.device_id}:{channel}", {
                "device": s.device_id, "channel": channel, "timestamp": now, "code": f"cwmp.{msg.fault.fault_code}",
                "message": f"Download of Downloads.{num} failed: {msg.fault.fault_string}",
                "detail": {"faultCode": msg.fault.fault_code, "faultString": msg.fault.fault_string}, "retries": 0}))
        return futs

    async def _transfer_done(self, s: DeviceSession, command_key: str, fault: m.FaultStruct, result: dict) -> list[asyncio.Future]:
        """TransferComplete / DUStateChangeComplete: complete the task whose id is the CommandKey."""
        task = await self.store.task_by_id(command_key)
        if task is None or task.get("device") != s.device_id:
            log.info("%s reported completion of unknown CommandKey %r", s.device_id, command_key)
            return []
        if task.get("status") != "pending":
            # the CPE sends it again: it went away before our TransferCompleteResponse reached it
            log.info("%s reported completion of task %s again", s.device_id, command_key)
            return []
        merged = {**(task.get("result") or {}), **result}
        if fault.fault_code:
            return self._finish_task(s, task, "fault", merged, cwmp_fault=(fault.fault_code, fault.fault_string, []))
        return self._finish_task(s, task, "done", merged)

    # ------------------------------------------------------------------ tasks
    def _task_response(self, s: DeviceSession, response: m.Message) -> list[asyncio.Future]:
        if s.provision is not None:
            return self._provision_step(s, lambda: s.provision.feed(response))
        if s.run is None:
            return []
        try:
            nxt = s.run.feed(response)
        except TaskArgumentError as e:
            return self._end_task(s, "fault", local_fault=("invalid_response", str(e)))
        if nxt is None:
            return self._end_task(s, "done")
        s.pending_request = nxt
        return []

    def _task_fault(self, s: DeviceSession, fault: m.Fault) -> list[asyncio.Future]:
        metrics.CPE_FAULTS.labels(str(fault.fault_code)).inc()
        if s.provision is not None:
            return self._provision_step(s, lambda: s.provision.fault(fault))
        if s.run is None:
            return []
        spv = [[f.parameter_name, f.fault_code, f.fault_string] for f in fault.set_parameter_values_faults]
        return self._end_task(s, "fault", cwmp_fault=(fault.fault_code, fault.fault_string, spv))

    def _end_task(self, s: DeviceSession, status: str, *, cwmp_fault=None, local_fault=None) -> list[asyncio.Future]:
        task, run = s.task, s.run
        s.task, s.run = None, None
        if task is None or run is None:
            return []
        out = run.outcome
        futs: list[asyncio.Future] = []
        if status == "done" and task.get("builtin") == "discovery" and s.bootstrap:
            out.sets[BOOTSTRAP_DISCOVERED] = True  # should the session be cut short, its next one skips it
        if status == "done" and (out.sets or out.unsets):
            futs += self.store.update_device(s.device_id, {"$set": out.sets} if out.sets else {}, out.unsets,
                                             upsert=False, hold=s.writes)
        if status == "done" and out.changes and not task.get("builtin"):
            self._in_background(self.outbound.emit(ParameterChanges(
                device_id=s.device_id, timestamp=time.time(), source=task.get("name", ""), changes=out.changes), s.device_id), "outbound ParameterChanges")
        if task.get("builtin"):
            return futs  # the ACS's own run: its effects are held with the session's, there is no task document
        # Whoever waits for the task (the NBI) finds its effects stored: they are written first.
        futs += self.store.release(s.writes)
        if status == "done" and out.awaiting_event:
            futs.append(self.store.update_task(task["_id"], {"$set": {"waitingFor": out.awaiting_event, "result": out.result}},
                                                s.device_id))
            return futs
        if status == "done" and out.awaiting_transfer:
            futs.append(self.store.update_task(task["_id"], {"$set": {"transfer": "in_progress", "result": out.result}},
                                                s.device_id))
            return futs
        return futs + self._finish_task(s, task, status, out.result, cwmp_fault=cwmp_fault, local_fault=local_fault)

    def _finish_task(self, s: DeviceSession, task: dict, status: str, result: dict, *, cwmp_fault=None,
                     local_fault=None) -> list[asyncio.Future]:
        device_id = s.device_id
        held = self.store.release(s.writes)  # the session's effects are stored before the task's status
        now = now_utc()
        fault_doc = None
        if cwmp_fault is not None:
            code, text, spv = cwmp_fault
            fault_doc = {"code": f"cwmp.{code}", "message": text,
                         "detail": {"faultCode": code, "faultString": text, "setParameterValuesFault": spv}}
        elif local_fault is not None:
            fault_doc = {"code": local_fault[0], "message": local_fault[1], "detail": None}
        update = {"$set": {"status": status, "completedAt": now, "result": result or None, "fault": fault_doc},
                  "$unset": {"transfer": ""}}
        futs = held + [self.store.finish_task(task["_id"], update, device_id)]
        channel = f"task_{task['_id']}"
        if status == "fault":
            assert fault_doc is not None  # a fault status comes with its cwmp or local fault
            futs.append(self.store.upsert_fault(f"{device_id}:{channel}", {
                "device": device_id, "channel": channel, "timestamp": now, "code": fault_doc["code"],
                "message": fault_doc["message"], "detail": fault_doc["detail"], "retries": task.get("attempts", 0)}))
        metrics.TASKS.labels(task.get("name", ""), status).inc()
        self._in_background(self.outbound.emit(TaskResult(
            task_id=str(task["_id"]), device_id=device_id, name=task.get("name", ""), status=status,
            timestamp=time.time(), fault=fault_doc, result=jsonable_tree(result)), device_id), "outbound TaskResult")
        return futs

    async def _start_task(self, s: DeviceSession, task: dict) -> tuple[m.Message | None, list[asyncio.Future]]:
        attempts = int(task.get("attempts", 0))
        if attempts >= self.s.max_task_attempts:
            return None, self._finish_task(s, task, "fault", {}, local_fault=(
                "too_many_attempts", f"gave up after {attempts} attempts without completion"))
        futs = [] if task.get("builtin") else [self.store.update_task(task["_id"], {"$inc": {"attempts": 1}}, s.device_id)]
        ctx = await self._task_context(s, task)
        try:
            run = TaskRun(task, ctx, kind=discover_data_model if task.get("builtin") == "discovery" else None)
            first = run.start()
        except (TaskArgumentError, KeyError, TypeError, ValueError) as e:
            return None, futs + self._finish_task(s, task, "fault", {}, local_fault=("invalid_arguments", str(e)))
        s.task, s.run = task, run
        if first is None:
            return None, futs + self._end_task(s, "done")
        return first, futs

    async def _task_context(self, s: DeviceSession, task: dict) -> TaskContext:
        """What a task's run needs besides its document (the same for a run rebuilt elsewhere)."""
        ctx = TaskContext(device_id=s.device_id, task_id=str(task["_id"] or "acs"), now=now_utc,
                          gpv_batch_size=self.s.gpv_batch_size, partial_path_values=self.s.partial_path_values,
                          phase=int(task.get("phase", 1)),
                          download_url=lambda name: self._download_url(s.device_id, name),
                          upload_url=lambda key, ftype: self._upload_url(s.device_id, key, ftype),
                          file_size=lambda name: self._file_sizes.get(name, 0))
        if task.get("name") in ("download", "scheduleDownload") and task.get("fileName"):
            self._file_sizes[task["fileName"]] = await self.store.file_length(task["fileName"])
        if task.get("name") == "setParameterValues":
            untyped = [p[0] for p in task.get("parameterValues") or [] if isinstance(p, list) and p and (len(p) < 3 or not p[2])]
            if untyped:
                ctx.known_types = await self.store.device_types(s.device_id, untyped, s.writes)
        return ctx

    async def _next_request(self, s: DeviceSession) -> tuple[m.Message | None, list[asyncio.Future]]:
        futs: list[asyncio.Future] = await self._settle_extensions(s)
        if s.pending_request is not None:
            pending, s.pending_request = s.pending_request, None
            return pending, futs
        while s.builtin:
            first, more = await self._start_task(s, s.builtin.pop(0))
            futs += more
            if first is not None:
                return first, futs
        while True:
            if s.tasks is None:
                s.tasks = deque(await self.store.pending_tasks(s.device_id)) if s.may_have_tasks else deque()
            if not s.tasks:
                first, more = await self._start_provisioning(s)
                if first is None and s.bootstrap:  # discovery, tasks and presets done: so is the BOOTSTRAP
                    s.bootstrap = False
                    more += self.store.bootstrap_done(s.device_id, s.writes)
                return first, futs + more
            first, more = await self._start_task(s, s.tasks.popleft())
            futs += more
            if first is not None:
                return first, futs

    # ------------------------------------------------------------------ provisioning (presets)
    async def _start_provisioning(self, s: DeviceSession) -> tuple[m.Message | None, list[asyncio.Future]]:
        if s.provision_done or self.provisioner is None:
            return None, []
        s.provision_done = True
        cred_plan = cpe_credentials.plan(self.s.cpe_credentials, self.s.cpe_credential_rotation_days, s.codes,
                                         s.cpe_facts, time.time(), self.s.bootstrap_defaults) \
            if s.cpe_facts or self.s.cpe_credentials == "per-device" else None
        if cred_plan is None and not self.provisioner.wants(s.device_id, s.codes):
            return None, []
        doc = await self.store.device_doc(s.device_id, s.writes)
        if cred_plan is None:
            run = self.provisioner.session(s.device_id, doc, s.codes)
        else:
            run = self.provisioner.session(s.device_id, doc, s.codes, credential_plan=cred_plan)
        if run is None:
            return None, []
        s.provision = run
        new = getattr(run, "pending_credentials", None) or {}
        if "cpe" in new:
            # before the SPV goes out: whatever the CPE ends up with logs in (docs/security.md)
            stored = await self.store.credentials_doc(s.device_id)
            s.cred_previous = cpe_credentials.previous_of((stored or {}).get("cpe"), s.cpe_facts.get("cpeCredential"))
            await self.store.set_credentials(s.device_id, cpe_credentials.staged(self.store.secrets, new))
            log.info("%s: new CWMP credentials (%s)", s.device_id, cred_plan.why if cred_plan else "bootstrap")
        futs = self._provision_step(s, run.start)
        futs += await self._settle_extensions(s)
        nxt, s.pending_request = s.pending_request, None
        return nxt, futs

    async def _settle_extensions(self, s: DeviceSession) -> list[asyncio.Future]:
        """Answer the ext() calls the presets' run stopped at, awaited (Node.js processes), so the
        event loop serves other devices meanwhile; the run then plans its round again."""
        futs: list[asyncio.Future] = []
        while s.ext_calls is not None and s.provision is not None:
            calls, s.ext_calls = s.ext_calls.calls, None
            answers = await self.provisioner.answer_extensions(calls)
            futs += self._provision_step(s, lambda: s.provision.answer_extensions(answers))  # noqa: B023 - called at once
        s.ext_calls = None
        return futs

    def _provision_step(self, s: DeviceSession, step) -> list[asyncio.Future]:
        """Advance the presets' run; its next RPC goes out at the next turn, its outcome is written at its end."""
        run = s.provision
        try:
            nxt = step()
        except Exception as e:  # a broken preset or provision function faults this device only
            log.exception("provisioning of %s failed", s.device_id)
            run.outcome.faults.append({"channel": "provisioning", "code": "provision_error", "message": str(e), "detail": None})
            nxt = None
        if isinstance(nxt, ExtensionCalls):
            s.ext_calls = nxt  # answered by _settle_extensions before the next request is chosen
            return []
        if nxt is not None:
            s.pending_request = nxt
            return []
        s.provision = None
        out = run.outcome
        futs: list[asyncio.Future] = []
        if out.sets or out.unsets:
            futs += self.store.update_device(s.device_id, {"$set": out.sets} if out.sets else {}, out.unsets,
                                             upsert=False, hold=s.writes)
        if out.credentials:
            futs.append(self.store.set_credentials(s.device_id, cpe_credentials.committed(
                self.store.secrets, out.credentials, s.cred_previous, now_utc(), self.s.cpe_credential_grace_s)))
        now = now_utc()
        for f in out.faults:
            futs.append(self.store.upsert_fault(f"{s.device_id}:{f['channel']}", {
                "device": s.device_id, "channel": f["channel"], "timestamp": now, "code": f["code"],
                "message": f["message"], "detail": f.get("detail"), "retries": 0}))
        for channel in out.cleared_faults:
            futs.append(self.store.clear_fault(f"{s.device_id}:{channel}"))
        if out.changes:
            self._in_background(self.outbound.emit(ParameterChanges(
                device_id=s.device_id, timestamp=time.time(), source="provisioning", changes=out.changes), s.device_id), "outbound ParameterChanges")
        if out.samples:  # KPIs read on a schedule: the history takes them from the same topic
            self._in_background(self.outbound.emit(ParameterChanges(
                device_id=s.device_id, timestamp=time.time(), source="sampling", changes=out.samples), s.device_id),
                "outbound ParameterChanges (samples)")
        return futs

    async def _promote_credentials(self, device_id: str) -> None:
        """The CPE logged in with its pending credentials: the SPV that set them took effect."""
        try:
            update = cpe_credentials.promoted(await self.store.credentials_doc(device_id), now_utc(),
                                              self.s.cpe_credential_grace_s)
            if update is not None:
                await self.store.set_credentials(device_id, update)
        except Exception as e:  # noqa: BLE001 - the next login with them promotes them again
            log.warning("promoting the pending credentials of %s failed: %r", device_id, e)

    async def _next(self, s: DeviceSession, ev: SessionEvent, consumed_at: float) -> list[asyncio.Future]:
        if ev.is_stale(time.time()):
            # The gateway answered this POST with 204 long ago (a backlog): the CPE's session is
            # over. What the event said is taken; sending more would only hold a session slot
            # until the idle timeout, waiting for an answer that cannot come.
            return await self._finish(s, ev, consumed_at, "stale")
        if s.acs.rpc_count >= self.s.max_rpcs_per_session:
            log.warning("session of %s hit the RPC limit (%d)", s.device_id, self.s.max_rpcs_per_session)
            return await self._finish(s, ev, consumed_at, "loop-limit")
        request, futs = await self._next_request(s)
        if request is None:
            return futs + await self._finish(s, ev, consumed_at, "ok")
        env = s.acs.send_request(request, tag=self._tag(s))
        s.sent_at = time.monotonic()
        metrics.RPCS.labels(request.RPC).inc()
        await self._reply(ev, 200, soap.build(env), consumed_at)
        return futs

    async def _finish(self, s: DeviceSession, ev: SessionEvent, consumed_at: float, outcome: str) -> list[asyncio.Future]:
        s.acs.end()
        if self.sessions.get(s.device_id) is s:
            del self.sessions[s.device_id]
        futs = self.store.release(s.writes)
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        metrics.SESSIONS.labels(outcome).inc()
        await self._reply(ev, 204, b"", consumed_at, end=True, outcome=outcome)
        await self.outbound.emit(_session_ended(s, outcome), s.device_id)
        return futs

    async def _violation(self, s: DeviceSession, ev: SessionEvent, v: ProtocolViolation, consumed_at: float) -> list[asyncio.Future]:
        log.info("protocol violation in session of %s: %s", s.device_id, v)
        answer = s.acs.reject(v)
        if answer is None:
            return await self._finish(s, ev, consumed_at, "fault")
        if v.ends_session:
            if self.sessions.get(s.device_id) is s:
                del self.sessions[s.device_id]
            metrics.SESSIONS.labels("fault").inc()
            await self._reply(ev, 200, soap.build(answer), consumed_at, end=True, outcome="fault")
            return self.store.release(s.writes)
        await self._reply(ev, 200, soap.build(answer), consumed_at)
        return []

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _tag(s: DeviceSession) -> str | None:
        """The cwmp:ID tag of the request about to go out: the task's id and step when it is the
        running task's (a preset's request, or the ACS's own, is not tagged)."""
        return None if s.provision is not None else task_tag(s.task, s.run)

    def _observe_rpc(self, s: DeviceSession, request: m.Message) -> None:
        if s.sent_at:
            metrics.RPC_DURATION.labels(request.RPC).observe(time.monotonic() - s.sent_at)

    async def _reply(self, ev: SessionEvent, status: int, body: bytes, consumed_at: float, *, end: bool = False,
                     outcome: str = "ok") -> None:
        if not ev.reply_to:
            return
        await self.replies.send(ev.reply_to, Reply(ev.request_id, status, body, end_session=end, outcome=outcome))
        metrics.REPLY_SECONDS.observe(time.perf_counter() - consumed_at)

    def _download_url(self, device_id: str, file_name: str) -> str:
        from acs_contracts import file_urls

        expires = int(time.time()) + self.s.file_url_ttl_s
        return file_urls.sign_download_url(self.s.files_base_url, file_name, device_id, expires, self.s.files_secret)

    def _upload_url(self, device_id: str, command_key: str, file_type: str) -> str:
        from acs_contracts import file_urls

        expires = int(time.time()) + self.s.file_url_ttl_s
        return file_urls.sign_upload_url(self.s.files_base_url, device_id, command_key, file_type, expires, self.s.files_secret)

    def expire_idle(self) -> int:
        """End the sessions whose CPE went quiet for ``session_idle_timeout_s`` (it went away, closed
        the connection, or the gateway stopped waiting): what they learnt is written, a task in
        flight stays pending (it runs again at the device's next session), and a BOOTSTRAP not
        finished stays marked in the device document for the next session to finish."""
        cutoff = time.monotonic() - self.s.session_idle_timeout_s
        stale = [d for d, s in self.sessions.items() if s.last_seen < cutoff]
        now = time.monotonic()
        for d in stale:
            s = self.sessions.pop(d)
            self.store.release(s.writes)  # what the session learnt is kept
            metrics.SESSIONS.labels("timeout").inc()
            log.info("session %s of %s abandoned after %.0f s without a POST%s", s.session_id, d, now - s.last_seen,
                     "; its BOOTSTRAP is finished at the next session" if s.bootstrap else "")
            self._in_background(self.outbound.emit(_session_ended(s, "timeout"), d), "outbound SessionEnded")
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        return len(stale)

    def release_all(self) -> list[asyncio.Future]:
        """Write the held updates of every session: before offsets are committed for partitions
        given up, or at shutdown."""
        futs: list[asyncio.Future] = []
        for s in self.sessions.values():
            done = s.writes.done  # what the session's events' offsets wait for: settled after the writes
            futs += self.store.release(s.writes)
            if done is not None:
                futs.append(done)
        return futs



