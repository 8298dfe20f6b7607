"""TR-143 style diagnostics as tasks: IPPing, TraceRoute, DownloadDiagnostics, UploadDiagnostics,
on both data model roots (TR-098 ``InternetGatewayDevice.*Diagnostics`` and TR-181
``Device.IP.Diagnostics.*``).

Phase 1 sets the inputs with ``DiagnosticsState = Requested`` in one SetParameterValues and waits
for the CPE's "8 DIAGNOSTICS COMPLETE" Inform; phase 2 (that Inform's session) reads the
diagnostics object in one GetParameterValues and puts the results into the task's ``result``.
A task without ``dataModel`` (the NBI fills it from the device document) first asks the CPE which
root it has. An ``Error_*`` DiagnosticsState completes the task with that state in the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cwmp import messages as m

from .device_record import jsonable
from .task_base import TaskArgumentError, TaskContext, TaskGen, TaskOutcome, expect, record_values

DIAGNOSTICS_COMPLETE = "8 DIAGNOSTICS COMPLETE"
ROOTS = ("InternetGatewayDevice", "Device")
U = "xsd:unsignedInt"
S = "xsd:string"


@dataclass(frozen=True)
class Kind:
    objects: dict[str, str]  # data model root -> the diagnostics object
    inputs: dict[str, tuple[str, str]]  # task argument -> (parameter name, type)
    required: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "ipPing": Kind(
        {"InternetGatewayDevice": "InternetGatewayDevice.IPPingDiagnostics", "Device": "Device.IP.Diagnostics.IPPing"},
        {"host": ("Host", S), "numberOfRepetitions": ("NumberOfRepetitions", U), "timeout": ("Timeout", U),
         "dataBlockSize": ("DataBlockSize", U), "dscp": ("DSCP", U), "interface": ("Interface", S)},
        ("host",)),
    "traceRoute": Kind(
        {"InternetGatewayDevice": "InternetGatewayDevice.TraceRouteDiagnostics", "Device": "Device.IP.Diagnostics.TraceRoute"},
        {"host": ("Host", S), "numberOfTries": ("NumberOfTries", U), "timeout": ("Timeout", U),
         "dataBlockSize": ("DataBlockSize", U), "dscp": ("DSCP", U), "maxHopCount": ("MaxHopCount", U),
         "interface": ("Interface", S)},
        ("host",)),
    "downloadDiagnostics": Kind(
        {"InternetGatewayDevice": "InternetGatewayDevice.DownloadDiagnostics",
         "Device": "Device.IP.Diagnostics.DownloadDiagnostics"},
        {"downloadURL": ("DownloadURL", S), "dscp": ("DSCP", U), "ethernetPriority": ("EthernetPriority", U),
         "interface": ("Interface", S)},
        ("downloadURL",)),
    "uploadDiagnostics": Kind(
        {"InternetGatewayDevice": "InternetGatewayDevice.UploadDiagnostics",
         "Device": "Device.IP.Diagnostics.UploadDiagnostics"},
        {"uploadURL": ("UploadURL", S), "testFileLength": ("TestFileLength", U), "dscp": ("DSCP", U),
         "ethernetPriority": ("EthernetPriority", U), "interface": ("Interface", S)},
        ("uploadURL", "testFileLength")),
}


def _inputs(task: dict, kind: Kind, obj: str) -> list[m.ParameterValueStruct]:
    missing = [a for a in kind.required if task.get(a) in (None, "")]
    if missing:
        raise TaskArgumentError(f"missing arguments {missing}")
    params = []
    for arg, (name, xsd) in kind.inputs.items():
        v = task.get(arg)
        if v is None:
            continue
        if xsd == U:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**32:
                raise TaskArgumentError(f"{arg} must be a non-negative integer")
        elif not isinstance(v, str) or len(v) > 1024:
            raise TaskArgumentError(f"{arg} must be a string")
        params.append(m.ParameterValueStruct(f"{obj}.{name}", v, xsd))
    params.append(m.ParameterValueStruct(f"{obj}.DiagnosticsState", "Requested", S))
    return params


def _results(obj: str, params: list[m.ParameterValueStruct]) -> dict[str, Any]:
    """The diagnostics object's values by their path below it (``RouteHops.1.Host``...)."""
    out: dict[str, Any] = {}
    for p in params:
        if p.name.startswith(obj + "."):
            out[p.name[len(obj) + 1:]] = jsonable(p.value)
    return out


def _diagnostics(name: str) -> Callable[[dict, TaskContext, TaskOutcome], TaskGen]:
    kind = KINDS[name]

    def run(task: dict, ctx: TaskContext, out: TaskOutcome) -> TaskGen:
        root = task.get("dataModel") or (task.get("result") or {}).get("dataModel")
        if root not in kind.objects:
            resp = yield m.GetParameterNames(parameter_path="", next_level=True)
            names = [i.name.rstrip(".") for i in expect(resp, m.GetParameterNamesResponse).parameter_list]
            root = next((r for r in ROOTS if r in names), None)
            if root is None:
                raise TaskArgumentError(f"the device has neither of the data model roots {ROOTS}")
        obj = kind.objects[root]
        if ctx.phase < 2:
            params = _inputs(task, kind, obj)
            resp = yield m.SetParameterValues(parameter_list=params, parameter_key=ctx.task_id[:32])
            expect(resp, m.SetParameterValuesResponse)
            out.result = {"dataModel": root, "requested": {p.name: jsonable(p.value) for p in params}}
            out.awaiting_event = DIAGNOSTICS_COMPLETE
            return
        resp = yield m.GetParameterValues(parameter_names=[obj + "."])
        values = expect(resp, m.GetParameterValuesResponse).parameter_list
        record_values(out, ctx, values)
        results = _results(obj, values)
        out.result = {**(task.get("result") or {}), "dataModel": root, "diagnosticsState": results.get("DiagnosticsState"),
                      "results": results}

    run.__name__ = name
    return run


DIAGNOSTICS_KINDS: dict[str, Callable[[dict, TaskContext, TaskOutcome], TaskGen]] = {n: _diagnostics(n) for n in KINDS}
