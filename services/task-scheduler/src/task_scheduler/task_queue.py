"""The task queue step of a session: the ACS's own runs (BOOTSTRAP discovery) and the device's
pending tasks, one at a time, in order; each task's RPCs, its end (done, fault, waiting for an
event or a TransferComplete) and its writes.

Owns, in the ``DeviceSession``: ``builtin``, ``tasks``, ``task``, ``run`` and the task's next
request (``pending_request``). A task's effects on the device are held with the session's
writes; they are released before the task's status is written, so whoever waits for the task
(the NBI) finds them stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from cwmp import messages as m

from . import metrics
from .config import Settings
from .device_record import BOOTSTRAP_DISCOVERED, now_utc
from .session_events import SessionEvents
from .session_state import DeviceSession
from .store import Store
from .task_base import TaskOutcome
from .tasks import TaskArgumentError, TaskContext, TaskRun, discover_data_model

log = logging.getLogger(__name__)


class TaskQueue:
    """Runs a session's tasks: starts them, feeds them the CPE's answers, ends them."""

    def __init__(self, settings: Settings, store: Store, events: SessionEvents) -> None:
        self.s = settings
        self.store = store
        self.events = events
        self._file_sizes: dict[str, int] = {}

    async def next(self, s: DeviceSession) -> tuple[m.Message | None, list[asyncio.Future]]:
        """The first RPC of the next task that has one (the ACS's own runs first), or None when
        the queue is empty."""
        futs: list[asyncio.Future] = []
        while s.builtin:
            first, more = await self.start(s, s.builtin.pop(0))
            futs += more
            if first is not None:
                return first, futs
        while True:
            if s.tasks is None:
                s.tasks = deque(await self.store.pending_tasks(s.device_id)) if s.may_have_tasks else deque()
            if not s.tasks:
                return None, futs
            first, more = await self.start(s, s.tasks.popleft())
            futs += more
            if first is not None:
                return first, futs

    async def start(self, s: DeviceSession, task: dict) -> tuple[m.Message | None, list[asyncio.Future]]:
        attempts = int(task.get("attempts", 0))
        if attempts >= self.s.max_task_attempts:
            return None, self.finish(s, task, "fault", {}, local_fault=(
                "too_many_attempts", f"gave up after {attempts} attempts without completion"))
        futs = [] if task.get("builtin") else [self.store.update_task(task["_id"], {"$inc": {"attempts": 1}}, s.device_id)]
        ctx = await self.context(s, task)
        try:
            run = TaskRun(task, ctx, kind=discover_data_model if task.get("builtin") == "discovery" else None)
            first = run.start()
        except (TaskArgumentError, KeyError, TypeError, ValueError) as e:
            return None, futs + self.finish(s, task, "fault", {}, local_fault=("invalid_arguments", str(e)))
        s.task, s.run = task, run
        if first is None:
            return None, futs + self.end(s, "done")
        return first, futs

    async def context(self, s: DeviceSession, task: dict) -> TaskContext:
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

    # ------------------------------------------------------------------ the CPE's answers
    def response(self, s: DeviceSession, response: m.Message) -> list[asyncio.Future]:
        if s.run is None:
            return []
        try:
            nxt = s.run.feed(response)
        except TaskArgumentError as e:
            return self.end(s, "fault", local_fault=("invalid_response", str(e)))
        if nxt is None:
            return self.end(s, "done")
        s.pending_request = nxt
        return []

    def fault(self, s: DeviceSession, fault: m.Fault) -> list[asyncio.Future]:
        if s.run is None:
            return []
        spv = [[f.parameter_name, f.fault_code, f.fault_string] for f in fault.set_parameter_values_faults]
        return self.end(s, "fault", cwmp_fault=(fault.fault_code, fault.fault_string, spv))

    async def transfer_done(self, s: DeviceSession, command_key: str, fault: m.FaultStruct, result: dict) -> list[asyncio.Future]:
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
            return self.finish(s, task, "fault", merged, cwmp_fault=(fault.fault_code, fault.fault_string, []))
        return self.finish(s, task, "done", merged)

    # ------------------------------------------------------------------ a task's end
    def end(self, s: DeviceSession, status: str, *, cwmp_fault=None, local_fault=None) -> list[asyncio.Future]:
        """The running task's run is over: write what it learnt, then its status (or what it waits for)."""
        task, run = s.task, s.run
        s.task, s.run = None, None
        if task is None or run is None:
            return []
        out = run.outcome
        futs = self._learnt(s, task, out) if status == "done" else []
        if task.get("builtin"):
            return futs  # the ACS's own run: its effects are held with the session's, there is no task document
        # Whoever waits for the task (the NBI) finds its effects stored: they are written first.
        futs += self.store.release(s.writes)
        waiting = _waiting(out) if status == "done" else None
        if waiting is not None:
            futs.append(self.store.update_task(task["_id"], {"$set": waiting}, s.device_id))
            return futs
        return futs + self.finish(s, task, status, out.result, cwmp_fault=cwmp_fault, local_fault=local_fault)

    def _learnt(self, s: DeviceSession, task: dict, out: TaskOutcome) -> list[asyncio.Future]:
        """What a run that went to its end learnt about the device: held writes, and its changes on the topic."""
        futs: list[asyncio.Future] = []
        if task.get("builtin") == "discovery" and s.bootstrap:
            out.sets[BOOTSTRAP_DISCOVERED] = True  # should the session be cut short, its next one skips it
        if out.sets or out.unsets:
            futs += self.store.update_device(s.device_id, {"$set": out.sets} if out.sets else {}, out.unsets,
                                             upsert=False, hold=s.writes)
        if out.changes and not task.get("builtin"):
            self.events.parameter_changes(s.device_id, task.get("name", ""), out.changes)
        return futs

    def finish(self, s: DeviceSession, task: dict, status: str, result: dict, *, cwmp_fault=None,
               local_fault=None) -> list[asyncio.Future]:
        """The task document's final status, its fault record and its TaskResult."""
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
        if status == "fault":
            assert fault_doc is not None  # a fault status comes with its cwmp or local fault
            futs.append(self.events.fault(device_id, f"task_{task['_id']}", now, fault_doc["code"], fault_doc["message"],
                                          fault_doc["detail"], task.get("attempts", 0)))
        metrics.TASKS.labels(task.get("name", ""), status).inc()
        self.events.task_result(task, device_id, status, fault_doc, result)
        return futs

    # ------------------------------------------------------------------ file URLs
    def _download_url(self, device_id: str, file_name: str) -> str:
        from acs_contracts import file_urls

        expires = int(time.time()) + self.s.file_url_ttl_s
        return file_urls.sign_download_url(self.s.files_base_url, file_name, device_id, expires, self.s.files_secret)

    def _upload_url(self, device_id: str, command_key: str, file_type: str) -> str:
        from acs_contracts import file_urls

        expires = int(time.time()) + self.s.file_url_ttl_s
        return file_urls.sign_upload_url(self.s.files_base_url, device_id, command_key, file_type, expires, self.s.files_secret)


def _waiting(out: TaskOutcome) -> dict | None:
    """What a task done for now still waits for (an event, a TransferComplete), as its document says it."""
    if out.awaiting_event:
        return {"waitingFor": out.awaiting_event, "result": out.result}
    if out.awaiting_transfer:
        return {"transfer": "in_progress", "result": out.result}
    return None
