"""Tasks: validation and creation (POST /devices/<id>/tasks), waiting for completion, and /tasks.

A task is queued in ``tasks`` as "pending"; the scheduler runs it in the device's next session
and sets "done" or "fault". A caller that asked for ``connection_request`` (or a ``timeout``)
waits: one change stream per process watches the tasks collection and wakes the waiters of a
task when it changes, so an answer comes as soon as the task completes, not on a poll tick.
Arguments are checked before anything is stored (``task_bodies`` holds the bodies' models; the
checks that need the device or the file store are here): a bad request stores nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from device_query.mongo import task_query
from device_query.values import parse_date
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from . import auth, scope
from . import task_bodies as tb
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec
from .shapes import dumps, lookup
from .task_bodies import value_fits

log = logging.getLogger(__name__)

# --- from a body to a task ------------------------------------------------------------------------

def _typed_values(entries: Iterable[Sequence[Any]], device: Mapping[str, Any]) -> list[list[Any]]:
    """[[name, value, type?]] with each type checked against (or taken from) the device's record."""
    out: list[list[Any]] = []
    for entry in entries:
        name, value = entry[0], entry[1]
        given = entry[2] if len(entry) == 3 else None
        node = lookup(device, name)
        known = node.get("_type") if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and node.get("_object") is True:
            raise bad_request(f"{name} is an object, not a parameter")
        xsd = given or known
        if xsd and not value_fits(value, xsd):
            raise bad_request(f"value {value!r} does not fit {xsd} for {name}",
                              {"parameter": name, "type": xsd, "value": value})
        if known and given and known != given:
            raise bad_request(f"{name} is {known} on this device, not {given}")
        out.append([name, value, xsd] if xsd else [name, value])
    return out


async def _arguments(body: Any, device: Mapping[str, Any], file_meta: Callable[[str], Any]) -> dict[str, Any]:
    """The stored arguments: the body's, with what the device and the file store add."""
    args = body.arguments()
    if isinstance(body, tb.SetParameterValues):
        args["parameterValues"] = _typed_values(body.parameterValues, device)
    elif isinstance(body, tb.AddObject) and body.parameterValues is not None:
        args["parameterValues"] = _typed_values(body.parameterValues, {})  # the new instance's number is unknown
    elif isinstance(body, tb._Transfer):  # noqa: SLF001 - download and scheduleDownload
        meta = await file_meta(body.file_name)
        if meta is None:
            raise bad_request(f"no file named {body.file_name!r}")
        if body.fileType is None:
            file_type = (meta.get("metadata") or {}).get("fileType")
            if not file_type:
                raise bad_request(f"fileType not given and file {body.file_name!r} has none")
            args["fileType"] = _stored_file_type(file_type)
    elif body.name in tb.DIAGNOSTICS:
        root = next((r for r in ("InternetGatewayDevice", "Device") if isinstance(device.get(r), Mapping)), None)
        if root is not None:
            args["dataModel"] = root  # the scheduler then needs no extra RPC to find the root
    return args


_FILE_TYPE_ADAPTER: TypeAdapter[str] = TypeAdapter(tb.FileType)


def _stored_file_type(v: Any) -> str:
    """A stored file's fileType, held to what a Download may carry."""
    try:
        return _FILE_TYPE_ADAPTER.validate_python(v)
    except ValidationError:
        raise bad_request("fileType must look like \"1 Firmware Upgrade Image\" or \"X 00D09E ...\"", v) from None


async def build_task(body: Any, device: Mapping[str, Any], file_meta: Callable[[str], Any]) -> dict[str, Any]:
    """The task document for a POSTed body, or ApiError(400)."""
    task = tb.parse_task(body)
    if task.device is not None and task.device != device["_id"]:
        raise bad_request("device in body differs from the URL")
    args = await _arguments(task, device, file_meta)
    now = datetime.now(UTC)
    return {
        "_id": ObjectId(), "device": device["_id"], "name": task.name, "timestamp": now, **args,
        "status": "pending", "retries": 0, "fault": None, "result": None, "completedAt": None,
        "expiry": None if task.expiry is None else now + timedelta(seconds=task.expiry),
    }


# --- waiting for completion ---------------------------------------------------------------------

class TaskWaiters:
    """A change stream on ``tasks`` that wakes whoever waits on a task when that task changes.

    The stream is open only while someone waits (and ``linger_s`` after): every open change
    stream makes the database read every oplog entry, whatever its collection, so an idle one
    costs on every device write. When it opens, every waiter re-reads its task once, so a change
    made before the stream was up is not missed.
    """

    def __init__(self, tasks: Any, metrics: Any, linger_s: float = 60.0) -> None:
        self.tasks = tasks
        self.metrics = metrics
        self.linger_s = linger_s
        self._events: dict[ObjectId, set[asyncio.Event]] = {}
        self._wanted = asyncio.Event()
        self.watching = asyncio.Event()

    def register(self, task_id: ObjectId) -> asyncio.Event:
        ev = asyncio.Event()
        self._events.setdefault(task_id, set()).add(ev)
        self._wanted.set()
        return ev

    def unregister(self, task_id: ObjectId, ev: asyncio.Event) -> None:
        evs = self._events.get(task_id)
        if evs is not None:
            evs.discard(ev)
            if not evs:
                del self._events[task_id]

    def _wake_all(self) -> None:
        for evs in list(self._events.values()):
            for ev in evs:
                ev.set()

    async def run(self) -> None:
        """Watch while wanted, resuming after errors (a missed event only delays an answer to the timeout)."""
        pipeline = [{"$match": {"operationType": {"$in": ["update", "replace", "delete"]}}}]
        loop = asyncio.get_running_loop()
        while True:
            await self._wanted.wait()
            try:
                async with await self.tasks.watch(pipeline, max_await_time_ms=250) as stream:
                    self.watching.set()
                    self._wake_all()
                    idle_since = loop.time()
                    while True:
                        change = await stream.try_next()
                        if change is not None:
                            task_id = (change.get("documentKey") or {}).get("_id")
                            for ev in self._events.get(task_id, ()) if task_id is not None else ():
                                ev.set()
                        if self._events:
                            idle_since = loop.time()
                        elif loop.time() - idle_since > self.linger_s:
                            self._wanted.clear()  # no await between the check and the clear
                            break
                self.watching.clear()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - reconnect; waiters fall back to their timeout
                self.watching.clear()
                log.warning("tasks change stream failed (%s); reopening", e)
                self._wake_all()  # let waiters re-read now rather than miss a change
                await asyncio.sleep(1.0)

    async def wait(self, task_id: ObjectId, ev: asyncio.Event, timeout_s: float) -> dict[str, Any] | None:
        """Wait until the task is no longer pending or the time is up; the task as last read."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(ev.wait(), remaining)
            except TimeoutError:
                break
            ev.clear()
            doc = await self._read(task_id)
            if doc is None or doc.get("status") != "pending":
                return doc
        return await self._read(task_id)  # the fallback re-read at the end of the timeout

    async def _read(self, task_id: ObjectId) -> dict[str, Any] | None:
        async with self.metrics.mongo("find_task"):
            return await self.tasks.find_one({"_id": task_id})


async def refresh_gauges(tasks: Any, metrics: Any) -> None:
    """acs_tasks_pending and acs_task_queue_oldest_age_seconds from the tasks collection."""
    async with metrics.mongo("count_pending_tasks"):
        pending = await tasks.count_documents({"status": "pending"})
    metrics.tasks_pending.set(pending)
    async with metrics.mongo("oldest_pending_task"):
        oldest = await tasks.find_one({"status": "pending"}, {"timestamp": 1}, sort=[("timestamp", 1)])
    age = 0.0
    if oldest and isinstance(oldest.get("timestamp"), datetime):
        age = max(0.0, (datetime.now(UTC) - oldest["timestamp"]).total_seconds())
    metrics.oldest_pending_age.set(age)


# --- routes ---------------------------------------------------------------------------------------

router = APIRouter()


def _json(doc: Any, status: int = 200) -> Response:
    return Response(dumps(doc), status_code=status, media_type="application/json")


def _timeout_ms(raw: str | None, default: int, cap: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise bad_request("timeout must be milliseconds, a non-negative integer", raw)
    return min(int(raw), cap)


_TASK_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": tb.OPENAPI_SCHEMA, "example": {"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice.DeviceInfo.SoftwareVersion"]}}}},
    "parameters": [
        {"name": "connection_request", "in": "query", "required": False, "allowEmptyValue": True,
         "schema": {"type": "string"}, "description": "send a connection request and wait for the task"},
        {"name": "timeout", "in": "query", "required": False, "schema": {"type": "integer"},
         "description": "milliseconds to wait for completion (200 if done in time, else 202)"},
    ],
}


@router.post("/devices/{device_id}/tasks", dependencies=[auth.operator], tags=["tasks"], openapi_extra=_TASK_BODY,
             summary="Queue a task; with connection_request, ask the CPE to connect and wait up to timeout ms")
async def post_task(device_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    loop = asyncio.get_running_loop()
    started = loop.time()
    params = request.query_params
    body = parse_json((await rt.read_body(request)).decode("utf-8", "replace"), "task")
    async with rt.metrics.mongo("find_device"):
        device = await rt.db.devices.find_one({"_id": device_id})
    if device is None:
        raise not_found(f"no device {device_id!r}")
    task = await build_task(body, device, scope.file_meta(request))  # the caller's files only
    wait = "connection_request" in params or "timeout" in params
    timeout_ms = _timeout_ms(params.get("timeout"), rt.settings.task_timeout_ms, rt.settings.task_timeout_max_ms)
    ev = rt.waiters.register(task["_id"]) if wait else None
    try:
        async with rt.metrics.mongo("insert_task"):
            await rt.db.tasks.insert_one(task)
        if "connection_request" in params:
            outcome = await rt.cr.request(device)
            async with rt.metrics.mongo("update_task"):
                await rt.db.tasks.update_one({"_id": task["_id"]}, {"$set": {"connectionRequest": outcome}})
            task["connectionRequest"] = outcome
            if outcome["status"] != "ok":
                return _json(task, 202)
        if ev is None:
            return _json(task, 202)
        remaining = timeout_ms / 1000 - (loop.time() - started)
        final = await rt.waiters.wait(task["_id"], ev, max(0.0, remaining))
    finally:
        if ev is not None:
            rt.waiters.unregister(task["_id"], ev)
    if final is None:  # deleted meanwhile
        return _json(task, 202)
    return _json(final, 200 if final.get("status") == "done" else 202)


def _task_id(raw: str) -> ObjectId:
    if not ObjectId.is_valid(raw):
        raise not_found(f"no task {raw!r}")
    return ObjectId(raw)


@router.get("/tasks/", dependencies=[auth.readonly], tags=["tasks"], summary="Search tasks")
@router.get("/tasks", dependencies=[auth.readonly], include_in_schema=False)
async def list_tasks(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = and_(task_query(parse_json(p.get("query"), "query")), await scope.device_ids(request))  # in scope only
    skip, limit = paging(p.get("skip"), p.get("limit"))
    return await rt.stream(rt.db.tasks, q, projection(p.get("projection")), sort_spec(p.get("sort"), device=False), skip, limit, "find_tasks")


@router.delete("/tasks/{task_id}", dependencies=[auth.operator], tags=["tasks"], summary="Delete a task and its fault")
async def delete_task(task_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    oid = _task_id(task_id)
    async with rt.metrics.mongo("delete_task"):
        task = await rt.db.tasks.find_one_and_delete({"_id": oid})
    if task is None:
        raise not_found(f"no task {task_id!r}")
    async with rt.metrics.mongo("delete_fault"):
        await rt.db.faults.delete_one({"_id": f"{task['device']}:task_{task_id}"})
    return Response(status_code=200)


@router.post("/tasks/{task_id}/retry", dependencies=[auth.operator], tags=["tasks"],
             summary="Retry a faulted task: back to pending, its fault cleared")
async def retry_task(task_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    oid = _task_id(task_id)
    async with rt.metrics.mongo("find_task"):
        task = await rt.db.tasks.find_one({"_id": oid}, {"status": 1, "device": 1})
    if task is None:
        raise not_found(f"no task {task_id!r}")
    if task.get("status") == "done":
        raise ApiError(409, "task is already done", task_id)
    await retry(rt, oid, task["device"])
    return Response(status_code=200)


async def retry(rt: Any, oid: ObjectId, device: str) -> None:
    """Back to pending with retries reset, and its fault document removed."""
    async with rt.metrics.mongo("update_task"):
        await rt.db.tasks.update_one(
            {"_id": oid},
            {"$set": {"status": "pending", "retries": 0, "fault": None, "completedAt": None}},
        )
    async with rt.metrics.mongo("delete_fault"):
        await rt.db.faults.delete_one({"_id": f"{device}:task_{oid}"})


__all__ = ["TaskWaiters", "build_task", "refresh_gauges", "router", "value_fits", "parse_date"]
