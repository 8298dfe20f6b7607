"""Tasks: validation and creation (POST /devices/<id>/tasks), waiting for completion, and /tasks.

A task is queued in ``tasks`` as "pending"; the scheduler runs it in the device's next session
and sets "done" or "fault". A caller that asked for ``connection_request`` (or a ``timeout``)
waits: one change stream per process watches the tasks collection and wakes the waiters of a
task when it changes, so an answer comes as soon as the task completes, not on a poll tick.
Arguments are checked before anything is stored: a bad request stores nothing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

from bson import ObjectId
from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import auth, scope
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec, task_query
from .shapes import dumps, lookup, parse_date, valid_path

log = logging.getLogger(__name__)

# --- argument validation ------------------------------------------------------------------------

XSD_TYPES = {
    "xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
    "xsd:dateTime", "xsd:base64", "xsd:hexBinary", "xsd:byte", "xsd:unsignedByte", "xsd:short",
    "xsd:unsignedShort", "xsd:decimal", "xsd:double", "xsd:float", "xsd:integer",
}
_INT_RANGES = {
    "xsd:int": (-(2**31), 2**31 - 1), "xsd:unsignedInt": (0, 2**32 - 1),
    "xsd:long": (-(2**63), 2**63 - 1), "xsd:unsignedLong": (0, 2**64 - 1),
    "xsd:byte": (-128, 127), "xsd:unsignedByte": (0, 255),
    "xsd:short": (-(2**15), 2**15 - 1), "xsd:unsignedShort": (0, 2**16 - 1),
    "xsd:integer": (-(2**63), 2**64 - 1),
}
_FILE_TYPE = re.compile(r"^(?:[1-9][0-9]* .+|X [0-9A-Fa-f]{6} .+)$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})*$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$")
WINDOW_MODES = {"1 At Any Time", "2 Immediately", "3 When Idle", "4 Confirmation Needed"}


def value_fits(value: Any, xsd: str) -> bool:
    """Whether a setParameterValues value can be sent as ``xsd`` (strings may spell numbers)."""
    if isinstance(value, (dict, list)) or value is None:
        return False
    if xsd in _INT_RANGES:
        lo, hi = _INT_RANGES[xsd]
        if isinstance(value, bool):
            return False
        if isinstance(value, str):
            if not re.fullmatch(r"[+-]?\d+", value.strip()):
                return False
            value = int(value)
        if isinstance(value, float):
            if not value.is_integer():
                return False
            value = int(value)
        return lo <= value <= hi
    if xsd == "xsd:boolean":
        return isinstance(value, bool) or value in ("true", "false", "0", "1", 0, 1)
    if xsd == "xsd:dateTime":
        return isinstance(value, str) and bool(_DATETIME.match(value))
    if xsd in ("xsd:decimal", "xsd:double", "xsd:float"):
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        try:
            float(value)
            return True
        except ValueError:
            return False
    if xsd == "xsd:base64":
        if not isinstance(value, str):
            return False
        try:
            base64.b64decode(value, validate=True)
            return True
        except ValueError:
            return False
    if xsd == "xsd:hexBinary":
        return isinstance(value, str) and bool(_HEX.match(value))
    return isinstance(value, (str, int, float, bool))  # xsd:string and anything else


class Ctx:
    """What a validator may consult: the device document and a file lookup."""

    def __init__(self, device: Mapping[str, Any], file_meta: Callable[[str], Any]) -> None:
        self.device = device
        self.file_meta = file_meta


def _need(body: Mapping[str, Any], key: str) -> Any:
    if key not in body:
        raise bad_request(f"missing argument {key}")
    return body[key]


@overload
def _str(body: Mapping[str, Any], key: str, *, required: Literal[True] = ..., max_len: int = ...) -> str: ...
@overload
def _str(body: Mapping[str, Any], key: str, *, required: bool, max_len: int = ...) -> str | None: ...
def _str(body: Mapping[str, Any], key: str, *, required: bool = True, max_len: int = 1024) -> str | None:
    """The string argument ``key`` (None only when it is absent and not required)."""
    if key not in body and not required:
        return None
    v = _need(body, key)
    if not isinstance(v, str) or len(v) > max_len:
        raise bad_request(f"{key} must be a string of at most {max_len} characters", v)
    return v


@overload
def _int(body: Mapping[str, Any], key: str, lo: int, hi: int, *, required: Literal[True] = ...) -> int: ...
@overload
def _int(body: Mapping[str, Any], key: str, lo: int, hi: int, *, required: bool) -> int | None: ...
def _int(body: Mapping[str, Any], key: str, lo: int, hi: int, *, required: bool = True) -> int | None:
    """The integer argument ``key`` in [lo, hi] (None only when it is absent and not required)."""
    if key not in body and not required:
        return None
    v = _need(body, key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise bad_request(f"{key} must be an integer in [{lo}, {hi}]", v)
    return v


def _path(v: Any, what: str, *, partial: bool = True, allow_empty: bool = False) -> str:
    if not valid_path(v, partial=partial, allow_empty=allow_empty):
        raise bad_request(f"invalid parameter path in {what}", v)
    return v


def _path_list(body: Mapping[str, Any], key: str) -> list[str]:
    v = _need(body, key)
    if isinstance(v, str):
        v = [v]  # GenieACS accepts one name as a string
    if not isinstance(v, list) or not v:
        raise bad_request(f"{key} must be a non-empty array of parameter paths", v)
    return [_path(p, key) for p in v]


def _value_list(raw: Any, key: str, device: Mapping[str, Any], prefix: str = "") -> list[list[Any]]:
    """[[name, value, type?]]: the type is checked against the device record's type when known."""
    if not isinstance(raw, list) or (not raw and not prefix):
        raise bad_request(f"{key} must be a non-empty array of [name, value, type?]", raw)
    out: list[list[Any]] = []
    for item in raw:
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise bad_request(f"each {key} entry must be [name, value] or [name, value, type]", item)
        name, value = item[0], item[1]
        _path(name, key, partial=False)
        if isinstance(value, (dict, list)) or value is None:
            raise bad_request(f"value of {name} must be a string, number or boolean", value)
        given = item[2] if len(item) == 3 else None
        if given is not None and given not in XSD_TYPES:
            raise bad_request(f"unknown type {given!r} for {name}", sorted(XSD_TYPES))
        node = lookup(device, prefix + name)
        known = node.get("_type") if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and node.get("_object") is True:
            raise bad_request(f"{prefix + name} is an object, not a parameter")
        xsd = given or known
        if xsd and not value_fits(value, xsd):
            raise bad_request(f"value {value!r} does not fit {xsd} for {prefix + name}",
                              {"parameter": prefix + name, "type": xsd, "value": value})
        if known and given and known != given:
            raise bad_request(f"{prefix + name} is {known} on this device, not {given}")
        out.append([name, value, xsd] if xsd else [name, value])
    return out


async def _file(ctx: Ctx, name: str) -> Mapping[str, Any]:
    meta = await ctx.file_meta(name)
    if meta is None:
        raise bad_request(f"no file named {name!r}")
    return meta


def _file_type(v: Any, key: str = "fileType") -> str:
    if not isinstance(v, str) or not _FILE_TYPE.match(v) or len(v) > 64:
        raise bad_request(f"{key} must look like \"1 Firmware Upgrade Image\" or \"X 00D09E ...\"", v)
    return v


def _command_key(body: Mapping[str, Any], *, required: bool = False) -> dict[str, str]:
    ck = _str(body, "commandKey", required=required, max_len=32)
    return {} if ck is None else {"commandKey": ck}


async def _gpv(b, ctx):
    return {"parameterNames": _path_list(b, "parameterNames")}


async def _spv(b, ctx):
    pk = _str(b, "parameterKey", required=False, max_len=32)
    out: dict[str, Any] = {"parameterValues": _value_list(_need(b, "parameterValues"), "parameterValues", ctx.device)}
    if pk is not None:
        out["parameterKey"] = pk
    return out


async def _refresh(b, ctx):
    return {"objectName": _path(_need(b, "objectName"), "objectName", allow_empty=True)}


async def _add(b, ctx):
    name = _path(_need(b, "objectName"), "objectName")
    out: dict[str, Any] = {"objectName": name}
    if "parameterValues" in b:
        # names are relative to the new instance; its number is unknown, so types are checked by name only
        out["parameterValues"] = _value_list(b["parameterValues"], "parameterValues", {}, prefix="")
    return out


async def _delete(b, ctx):
    name = _path(_need(b, "objectName"), "objectName")
    if not name.rstrip(".").rsplit(".", 1)[-1].isdigit():
        raise bad_request("deleteObject needs an instance path ending with its number", name)
    return {"objectName": name}


async def _none(b, ctx):
    return {}


async def _reboot(b, ctx):
    return _command_key(b)


async def _download(b, ctx, *, schedule: bool = False):
    if "file" in b and "fileName" not in b:  # GenieACS's documented example names it "file"
        b = {**b, "fileName": b["file"]}
    name = _str(b, "fileName", max_len=256)
    meta = await _file(ctx, name)
    file_type = b.get("fileType") or (meta.get("metadata") or {}).get("fileType")
    if not file_type:
        raise bad_request(f"fileType not given and file {name!r} has none")
    out: dict[str, Any] = {"fileType": _file_type(file_type), "fileName": name}
    target = _str(b, "targetFileName", required=False, max_len=256)
    if target is not None:
        out["targetFileName"] = target
    if schedule:
        out["timeWindows"] = _time_windows(_need(b, "timeWindows"))
    out.update(_command_key(b))
    return out


def _time_windows(v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, list) or not 1 <= len(v) <= 2:
        raise bad_request("timeWindows must hold one or two windows", v)
    out = []
    for w in v:
        if not isinstance(w, dict) or set(w) - {"windowStart", "windowEnd", "windowMode", "userMessage", "maxRetries"}:
            raise bad_request("time window has unknown fields", w)
        start = _int(w, "windowStart", 0, 2**32 - 1)
        end = _int(w, "windowEnd", 0, 2**32 - 1)
        if end < start:
            raise bad_request("windowEnd is before windowStart", w)
        mode = _need(w, "windowMode")
        if mode not in WINDOW_MODES and not (isinstance(mode, str) and mode.startswith("X ")):
            raise bad_request("windowMode must be one of " + ", ".join(sorted(WINDOW_MODES)), mode)
        win = {"windowStart": start, "windowEnd": end, "windowMode": mode,
               "userMessage": _str(w, "userMessage", required=False, max_len=256) or "",
               "maxRetries": _int(w, "maxRetries", -1, 2**31 - 1, required=False)}
        if win["maxRetries"] is None:
            win["maxRetries"] = 0
        out.append(win)
    return out


async def _gpn(b, ctx):
    nl = b.get("nextLevel", False)
    if not isinstance(nl, bool):
        raise bad_request("nextLevel must be a boolean", nl)
    return {"parameterPath": _path(b.get("parameterPath", ""), "parameterPath", allow_empty=True), "nextLevel": nl}


async def _gpa(b, ctx):
    return {"parameterNames": _path_list(b, "parameterNames")}


async def _spa(b, ctx):
    attrs = _need(b, "parameterAttributes")
    if not isinstance(attrs, list) or not attrs:
        raise bad_request("parameterAttributes must be a non-empty array", attrs)
    out = []
    for a in attrs:
        if not isinstance(a, dict) or set(a) - {"name", "notification", "accessList"}:
            raise bad_request("each parameterAttributes entry is {name, notification?, accessList?}", a)
        item: dict[str, Any] = {"name": _path(_need(a, "name"), "parameterAttributes")}
        if "notification" in a:
            item["notification"] = _int(a, "notification", 0, 6)
        if "accessList" in a:
            al = a["accessList"]
            if not isinstance(al, list) or not all(isinstance(x, str) for x in al):
                raise bad_request("accessList must be an array of strings", al)
            item["accessList"] = al
        if len(item) == 1:
            raise bad_request("a parameterAttributes entry needs notification or accessList", a)
        out.append(item)
    return {"parameterAttributes": out}


async def _upload(b, ctx):
    return {"fileType": _file_type(_need(b, "fileType")), **_command_key(b)}


async def _schedule_inform(b, ctx):
    return {"delaySeconds": _int(b, "delaySeconds", 1, 2**32 - 1), **_command_key(b)}


async def _cancel(b, ctx):
    return _command_key(b, required=True)


_DU_FIELDS = {
    "install": {"url": True, "uuid": False, "username": False, "password": False, "executionEnvRef": False},
    "update": {"uuid": False, "version": False, "url": False, "username": False, "password": False},
    "uninstall": {"uuid": True, "version": False, "executionEnvRef": False},
}


async def _du(b, ctx):
    ops = _need(b, "operations")
    if not isinstance(ops, list) or not ops:
        raise bad_request("operations must be a non-empty array", ops)
    out = []
    for op in ops:
        kind = op.get("type") if isinstance(op, dict) else None
        if kind not in _DU_FIELDS:
            raise bad_request("each operation needs type install, update or uninstall", op)
        spec = _DU_FIELDS[kind]
        extra = set(op) - set(spec) - {"type"}
        if extra:
            raise bad_request(f"{kind} operation has unknown fields {sorted(extra)}", op)
        item = {"type": kind}
        for key, required in spec.items():
            v = _str(op, key, required=required)
            if v is not None:
                item[key] = v
        out.append(item)
    return {"operations": out}


# Diagnostics (TR-143 style; run by the scheduler's diagnostics tasks): argument -> integer?
DIAGNOSTICS = {
    "ipPing": ({"host": False, "numberOfRepetitions": True, "timeout": True, "dataBlockSize": True, "dscp": True,
                "interface": False}, ("host",)),
    "traceRoute": ({"host": False, "numberOfTries": True, "timeout": True, "dataBlockSize": True, "dscp": True,
                    "maxHopCount": True, "interface": False}, ("host",)),
    "downloadDiagnostics": ({"downloadURL": False, "dscp": True, "ethernetPriority": True, "interface": False},
                            ("downloadURL",)),
    "uploadDiagnostics": ({"uploadURL": False, "testFileLength": True, "dscp": True, "ethernetPriority": True,
                           "interface": False}, ("uploadURL", "testFileLength")),
}


def _diagnostics(name: str):
    fields, required = DIAGNOSTICS[name]

    async def validate(b, ctx):
        out: dict[str, Any] = {}
        for key, integer in fields.items():
            if key not in b and key not in required:
                continue
            if integer:
                out[key] = _int(b, key, 0, 2**32 - 1)
            else:
                v = _str(b, key, max_len=1024)
                if key in ("host", "downloadURL", "uploadURL") and not v.strip():
                    raise bad_request(f"{key} must not be empty")
                if key.endswith("URL") and not v.lower().startswith(("http://", "https://", "ftp://")):
                    raise bad_request(f"{key} must be an http, https or ftp URL", v)
                out[key] = v
        root = next((r for r in ("InternetGatewayDevice", "Device") if isinstance(ctx.device.get(r), Mapping)), None)
        if root is not None:
            out["dataModel"] = root  # the scheduler then needs no extra RPC to find the root
        return out

    return validate


VALIDATORS: dict[str, Callable[[Mapping[str, Any], Ctx], Any]] = {
    "getParameterValues": _gpv,
    "setParameterValues": _spv,
    "refreshObject": _refresh,
    "addObject": _add,
    "deleteObject": _delete,
    "reboot": _reboot,
    "factoryReset": _none,
    "download": _download,
    "getParameterNames": _gpn,
    "getParameterAttributes": _gpa,
    "setParameterAttributes": _spa,
    "upload": _upload,
    "scheduleInform": _schedule_inform,
    "scheduleDownload": lambda b, ctx: _download(b, ctx, schedule=True),
    "cancelTransfer": _cancel,
    "getAllQueuedTransfers": _none,
    "getQueuedTransfers": _none,
    "getRPCMethods": _none,
    "changeDUState": _du,
    **{name: _diagnostics(name) for name in DIAGNOSTICS},
}
ARGUMENTS = {
    "getParameterValues": {"parameterNames"}, "setParameterValues": {"parameterValues", "parameterKey"},
    "refreshObject": {"objectName"}, "addObject": {"objectName", "parameterValues"},
    "deleteObject": {"objectName"}, "reboot": {"commandKey"}, "factoryReset": set(),
    "download": {"fileType", "fileName", "file", "targetFileName", "commandKey"},
    "getParameterNames": {"parameterPath", "nextLevel"}, "getParameterAttributes": {"parameterNames"},
    "setParameterAttributes": {"parameterAttributes"}, "upload": {"fileType", "commandKey"},
    "scheduleInform": {"delaySeconds", "commandKey"},
    "scheduleDownload": {"fileType", "fileName", "targetFileName", "timeWindows", "commandKey"},
    "cancelTransfer": {"commandKey"}, "getAllQueuedTransfers": set(), "getQueuedTransfers": set(),
    "getRPCMethods": set(), "changeDUState": {"operations"},
    **{name: set(fields) for name, (fields, _) in DIAGNOSTICS.items()},
}
COMMON = {"name", "device", "expiry"}


async def build_task(body: Any, device: Mapping[str, Any], file_meta: Callable[[str], Any]) -> dict[str, Any]:
    """The task document for a POSTed body, or ApiError(400)."""
    if not isinstance(body, dict):
        raise bad_request("task must be a JSON object", body)
    name = body.get("name")
    if name not in VALIDATORS:
        raise bad_request(f"unknown task name {name!r}", sorted(VALIDATORS))
    unknown = set(body) - ARGUMENTS[name] - COMMON
    if unknown:
        raise bad_request(f"unknown arguments for {name}: {sorted(unknown)}", sorted(ARGUMENTS[name]))
    if "device" in body and body["device"] != device["_id"]:
        raise bad_request("device in body differs from the URL")
    args = await VALIDATORS[name](body, Ctx(device, file_meta))
    now = datetime.now(UTC)
    expiry = None
    if body.get("expiry") is not None:
        e = body["expiry"]
        if isinstance(e, bool) or not isinstance(e, (int, float)) or e <= 0:
            raise bad_request("expiry is seconds from now, a positive number", e)
        expiry = now + timedelta(seconds=e)
    return {
        "_id": ObjectId(), "device": device["_id"], "name": name, "timestamp": now, **args,
        "status": "pending", "retries": 0, "expiry": expiry, "fault": None, "result": None,
        "completedAt": None,
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
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "enum": sorted(VALIDATORS)},
                       "expiry": {"type": "number", "description": "seconds until the task expires"}},
        "additionalProperties": True,
        "description": "Arguments by task name: " + "; ".join(
            f"{n}: {', '.join(sorted(a)) or '-'}" for n, a in sorted(ARGUMENTS.items())),
    }, "example": {"name": "getParameterValues", "parameterNames": ["InternetGatewayDevice.DeviceInfo.SoftwareVersion"]}}}},
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


__all__ = ["TaskWaiters", "VALIDATORS", "build_task", "refresh_gauges", "router", "value_fits", "parse_date"]
