"""Tasks as CWMP RPC sequences: each task kind is a generator that yields the ACS requests it
needs and receives the CPE's responses, recording device updates and the task's result.

Pure code (no I/O): the session driver feeds responses in and writes ``TaskOutcome`` out.
A CPE Fault ends the task as failed; the driver handles that without asking the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cwmp import messages as m
from cwmp.values import decode_value

from .device_record import jsonable, parameter_info_sets, parameter_sets
from .diagnostics import DIAGNOSTICS_KINDS
from .task_base import TaskArgumentError, TaskContext, TaskGen, TaskOutcome, expect, record_values


def _coerce(value: Any, xsd_type: str) -> Any:
    """A JSON value of a setParameterValues task as the typed value the codec sends. The NBI takes
    a whole JSON number (``5.0``, as some clients write every number) for an integer or boolean
    type: it is that integer, not the text "5.0" the codec cannot send."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer() and xsd_type != "xsd:string":
        text = str(int(value))
    else:
        text = str(value)
    return decode_value(text, xsd_type)[0]


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "xsd:boolean"
    if isinstance(value, int):
        return "xsd:int" if value < 0 else "xsd:unsignedInt"
    return "xsd:string"


def get_parameter_values(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    names = task.get("parameterNames")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise TaskArgumentError("parameterNames must be a non-empty list of strings")
    values: list[m.ParameterValueStruct] = []
    for i in range(0, len(names), ctx.gpv_batch_size):
        resp = yield m.GetParameterValues(parameter_names=names[i : i + ctx.gpv_batch_size])
        values += expect(resp, m.GetParameterValuesResponse).parameter_list
    record_values(out, ctx, values)
    out.result["parameterValues"] = [[p.name, jsonable(p.value), p.type] for p in values]


def set_parameter_values(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    raw = task.get("parameterValues")
    if not isinstance(raw, list) or not raw:
        raise TaskArgumentError("parameterValues must be a non-empty list of [name, value, type?]")
    structs = []
    for item in raw:
        if not isinstance(item, (list, tuple)) or len(item) < 2 or not isinstance(item[0], str):
            raise TaskArgumentError(f"bad parameterValues entry {item!r}")
        name, value = item[0], item[1]
        xsd_type = item[2] if len(item) > 2 and item[2] else ctx.known_types.get(name) or _infer_type(value)
        structs.append(m.ParameterValueStruct(name=name, value=_coerce(value, xsd_type), type=xsd_type))
    resp = yield m.SetParameterValues(parameter_list=structs, parameter_key=ctx.task_id[:32])
    out.result["status"] = expect(resp, m.SetParameterValuesResponse).status
    record_values(out, ctx, structs)


def refresh_object(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    """Rediscover a subtree: GetParameterNames (full depth), then its values.

    Values come in one GetParameterValues of the subtree's partial path (TR-069 lets a name
    ending in "." stand for all parameters below it), so a whole data model is two RPCs; with
    ``ctx.partial_path_values`` off (CPEs that mishandle partial paths) the leaves are read by
    name in batches of ``gpv_batch_size``.
    """
    path = task.get("objectName", "")
    if not isinstance(path, str):
        raise TaskArgumentError("objectName must be a string")
    gpn_path = path if path == "" or path.endswith(".") else path + "."
    resp = yield m.GetParameterNames(parameter_path=gpn_path, next_level=False)
    infos = expect(resp, m.GetParameterNamesResponse).parameter_list
    ts = ctx.now()
    if gpn_path:
        out.unsets.append(gpn_path.rstrip("."))  # instances gone from the CPE disappear here too
    out.sets.update(parameter_info_sets(infos, ts))
    leaves = [i.name for i in infos if not i.name.endswith(".")]
    values: list[m.ParameterValueStruct] = []
    if ctx.partial_path_values and leaves:
        roots = [gpn_path] if gpn_path else sorted({i.name.split(".", 1)[0] + "." for i in infos})
        resp = yield m.GetParameterValues(parameter_names=roots)
        values = expect(resp, m.GetParameterValuesResponse).parameter_list
        leaves = []
    for i in range(0, len(leaves), ctx.gpv_batch_size):
        resp = yield m.GetParameterValues(parameter_names=leaves[i : i + ctx.gpv_batch_size])
        values += expect(resp, m.GetParameterValuesResponse).parameter_list
    record_values(out, ctx, values)
    out.result["parameters"] = len(infos)


def discover_data_model(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    """The ACS's own first-contact discovery: every value of the data model in one
    GetParameterValues of the root's partial path. Object nodes are known from the names;
    writability comes later from GetParameterNames where a task or preset needs it."""
    root = task.get("root") or "InternetGatewayDevice"
    resp = yield m.GetParameterValues(parameter_names=[f"{root}."])
    values = expect(resp, m.GetParameterValuesResponse).parameter_list
    ts = ctx.now()
    objects: set[str] = set()
    for p in values:  # each value's object and those above it, walked up only to one already known
        obj = p.name.rpartition(".")[0]
        while obj and obj not in objects:
            objects.add(obj)
            obj = obj.rpartition(".")[0]
    for obj in sorted(objects):  # in tree order: the document is built walking down, not back and forth
        out.sets[f"{obj}._object"] = True
        out.sets[f"{obj}._timestamp"] = ts
    out.sets.update(parameter_sets(values, ts))
    out.result["parameters"] = len(values)


def get_parameter_names(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    path = task.get("parameterPath", "")
    if not isinstance(path, str):
        raise TaskArgumentError("parameterPath must be a string")
    resp = yield m.GetParameterNames(parameter_path=path, next_level=bool(task.get("nextLevel", False)))
    infos = expect(resp, m.GetParameterNamesResponse).parameter_list
    out.sets.update(parameter_info_sets(infos, ctx.now()))
    out.result["parameterNames"] = [[i.name, i.writable] for i in infos]


def add_object(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    name = task.get("objectName")
    if not isinstance(name, str) or not name:
        raise TaskArgumentError("objectName must be a non-empty string")
    obj = name if name.endswith(".") else name + "."
    resp = yield m.AddObject(object_name=obj, parameter_key=ctx.task_id[:32])
    r = expect(resp, m.AddObjectResponse)
    inst = f"{obj}{r.instance_number}"
    out.result["instanceNumber"] = r.instance_number
    out.sets[f"{inst}._object"] = True
    out.sets[f"{inst}._writable"] = True
    out.sets[f"{inst}._timestamp"] = ctx.now()
    extra = task.get("parameterValues") or []
    if extra:
        sub = {"parameterValues": [[f"{inst}.{p[0]}", *p[1:]] for p in extra]}
        yield from set_parameter_values(sub, ctx, out)


def delete_object(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    name = task.get("objectName")
    if not isinstance(name, str) or not name:
        raise TaskArgumentError("objectName must be a non-empty string")
    obj = name if name.endswith(".") else name + "."
    resp = yield m.DeleteObject(object_name=obj, parameter_key=ctx.task_id[:32])
    out.result["status"] = expect(resp, m.DeleteObjectResponse).status
    out.unsets.append(obj.rstrip("."))


def reboot(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.Reboot(command_key=ctx.task_id[:32])
    expect(resp, m.RebootResponse)


def factory_reset(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.FactoryReset()
    expect(resp, m.FactoryResetResponse)


def download(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    file_name = task.get("fileName") or task.get("file")
    if not isinstance(file_name, str) or not file_name:
        raise TaskArgumentError("fileName must be a non-empty string")
    if ctx.download_url is None:
        raise TaskArgumentError("no file server configured")
    file_type = task.get("fileType") or "1 Firmware Upgrade Image"
    size = ctx.file_size(file_name) if ctx.file_size else 0
    resp = yield m.Download(command_key=ctx.task_id[:32], file_type=file_type, url=ctx.download_url(file_name),
                            file_size=size, target_file_name=task.get("targetFileName") or "")
    r = expect(resp, m.DownloadResponse)
    out.result["downloadStatus"] = r.status
    out.awaiting_transfer = r.status == 1


def upload(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    file_type = task.get("fileType") or "1 Vendor Configuration File"
    if ctx.upload_url is None:
        raise TaskArgumentError("no file server configured")
    resp = yield m.Upload(command_key=ctx.task_id[:32], file_type=file_type, url=ctx.upload_url(ctx.task_id[:32], file_type))
    r = expect(resp, m.UploadResponse)
    out.result["uploadStatus"] = r.status
    out.awaiting_transfer = r.status == 1


def get_parameter_attributes(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    names = task.get("parameterNames")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TaskArgumentError("parameterNames must be a list of strings")
    resp = yield m.GetParameterAttributes(parameter_names=names)
    attrs = expect(resp, m.GetParameterAttributesResponse).parameter_list
    for a in attrs:
        if not a.name.endswith("."):
            out.sets[f"{a.name}._notification"] = a.notification
            out.sets[f"{a.name}._accessList"] = list(a.access_list)
    out.result["parameterAttributes"] = [{"name": a.name, "notification": a.notification, "accessList": a.access_list} for a in attrs]


def set_parameter_attributes(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    raw = task.get("parameterAttributes")
    if not isinstance(raw, list) or not raw:
        raise TaskArgumentError("parameterAttributes must be a non-empty list")
    structs = []
    for a in raw:
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            raise TaskArgumentError(f"bad parameterAttributes entry {a!r}")
        structs.append(m.SetParameterAttributesStruct(
            name=a["name"], notification_change="notification" in a, notification=int(a.get("notification", 0)),
            access_list_change="accessList" in a, access_list=list(a.get("accessList") or [])))
    resp = yield m.SetParameterAttributes(parameter_list=structs)
    expect(resp, m.SetParameterAttributesResponse)
    for s in structs:
        if s.notification_change and not s.name.endswith("."):
            out.sets[f"{s.name}._notification"] = s.notification


def schedule_inform(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.ScheduleInform(delay_seconds=int(task.get("delaySeconds", 0)), command_key=str(task.get("commandKey", ctx.task_id))[:32])
    expect(resp, m.ScheduleInformResponse)


def schedule_download(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    file_name = task.get("fileName")
    if not isinstance(file_name, str) or not file_name or ctx.download_url is None:
        raise TaskArgumentError("fileName must be a non-empty string")
    windows = [m.TimeWindowStruct(window_start=int(w.get("windowStart", 0)), window_end=int(w.get("windowEnd", 3600)),
                                  window_mode=w.get("windowMode", "1 At Any Time"), user_message=w.get("userMessage", ""),
                                  max_retries=int(w.get("maxRetries", 0)))
               for w in task.get("timeWindows") or [{}]]
    resp = yield m.ScheduleDownload(command_key=ctx.task_id[:32], file_type=task.get("fileType") or "1 Firmware Upgrade Image",
                                    url=ctx.download_url(file_name), file_size=ctx.file_size(file_name) if ctx.file_size else 0,
                                    target_file_name=task.get("targetFileName") or "", time_windows=windows)
    expect(resp, m.ScheduleDownloadResponse)
    out.awaiting_transfer = True


def cancel_transfer(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    key = task.get("commandKey")
    if not isinstance(key, str):
        raise TaskArgumentError("commandKey must be a string")
    resp = yield m.CancelTransfer(command_key=key)
    expect(resp, m.CancelTransferResponse)


def get_all_queued_transfers(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.GetAllQueuedTransfers()
    r = expect(resp, m.GetAllQueuedTransfersResponse)
    out.result["transfers"] = [{"commandKey": t.command_key, "state": t.state, "isDownload": t.is_download,
                                "fileType": t.file_type, "fileSize": t.file_size, "targetFileName": t.target_file_name}
                               for t in r.transfer_list]


def get_queued_transfers(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.GetQueuedTransfers()
    r = expect(resp, m.GetQueuedTransfersResponse)
    out.result["transfers"] = [{"commandKey": t.command_key, "state": t.state} for t in r.transfer_list]


def get_rpc_methods(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    resp = yield m.GetRPCMethods()
    out.result["methods"] = list(expect(resp, m.GetRPCMethodsResponse).method_list)


def change_du_state(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
    ops: list[m.OperationStruct] = []
    for op in task.get("operations") or []:
        kind = (op or {}).get("type", "").lower()
        if kind == "install":
            ops.append(m.InstallOpStruct(url=op["url"], uuid=op.get("uuid", ""), username=op.get("username", ""),
                                         password=op.get("password", ""), execution_env_ref=op.get("executionEnvRef", "")))
        elif kind == "update":
            ops.append(m.UpdateOpStruct(uuid=op.get("uuid", ""), version=op.get("version", ""), url=op.get("url", ""),
                                        username=op.get("username", ""), password=op.get("password", "")))
        elif kind == "uninstall":
            ops.append(m.UninstallOpStruct(uuid=op["uuid"], version=op.get("version", ""),
                                           execution_env_ref=op.get("executionEnvRef", "")))
        else:
            raise TaskArgumentError(f"unknown ChangeDUState operation {op!r}")
    if not ops:
        raise TaskArgumentError("operations must list install/update/uninstall operations")
    resp = yield m.ChangeDUState(operations=ops, command_key=ctx.task_id[:32])
    expect(resp, m.ChangeDUStateResponse)
    out.awaiting_transfer = True  # completes with DUStateChangeComplete


TASK_KINDS: dict[str, Callable[[dict, TaskContext, TaskOutcome], TaskGen]] = {
    "getParameterValues": get_parameter_values,
    "setParameterValues": set_parameter_values,
    "refreshObject": refresh_object,
    "getParameterNames": get_parameter_names,
    "addObject": add_object,
    "deleteObject": delete_object,
    "reboot": reboot,
    "factoryReset": factory_reset,
    "download": download,
    "upload": upload,
    "getParameterAttributes": get_parameter_attributes,
    "setParameterAttributes": set_parameter_attributes,
    "scheduleInform": schedule_inform,
    "scheduleDownload": schedule_download,
    "cancelTransfer": cancel_transfer,
    "getAllQueuedTransfers": get_all_queued_transfers,
    "getQueuedTransfers": get_queued_transfers,
    "getRPCMethods": get_rpc_methods,
    "changeDUState": change_du_state,
    **DIAGNOSTICS_KINDS,
}


class TaskRun:
    """Drives one task's generator: ``start()`` and ``feed(response)`` give the next request or None.

    ``step`` numbers the requests given out, from 0 (the first, ``start()``'s): the session driver
    tags each request's cwmp:ID with the task id and step. A task's first request depends only on
    the task document and the context (the same task run again asks for the same RPC), so a
    scheduler that takes over a session can rebuild the run of a task whose first request another
    one sent, and feed it the CPE's answer."""

    def __init__(self, task: dict, ctx: TaskContext, kind: Callable[[dict, TaskContext, TaskOutcome], TaskGen] | None = None) -> None:
        kind = kind or TASK_KINDS.get(task.get("name", ""))
        if kind is None:
            raise TaskArgumentError(f"unknown task name {task.get('name')!r}")
        self.task = task
        self.outcome = TaskOutcome()
        self.step = -1  # the last request given out: 0 for the first
        self._gen = kind(task, ctx, self.outcome)

    def start(self) -> m.Message | None:
        try:
            return self._given(next(self._gen))
        except StopIteration:
            return None

    def feed(self, response: m.Message) -> m.Message | None:
        try:
            return self._given(self._gen.send(response))
        except StopIteration:
            return None

    def _given(self, request: m.Message | None) -> m.Message | None:
        if request is not None:
            self.step += 1
        return request

