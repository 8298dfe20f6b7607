"""What a simulated CPE does, without any I/O: its tree, its Inform, and its answer to every ACS RPC.

:class:`Device` answers requests at once (``handle``) and records what must happen after the session
(reboot, transfers, diagnostics...) in ``actions``; :class:`cpe_simulator.cpe.SimulatedCpe` runs
those with real sockets and timers. Keeping this part pure lets tests check every RPC and fault
without a network.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.faults import FaultCode, make_fault
from cwmp.values import decode_value, encode_value

from .datamodel import DataModel
from .tree import DeviceTree, is_instance_segment, last_segment
from .typecheck import ValueFault, check_value

CPE_METHODS = (
    "GetRPCMethods", "GetParameterNames", "GetParameterValues", "SetParameterValues",
    "GetParameterAttributes", "SetParameterAttributes", "AddObject", "DeleteObject", "Reboot",
    "Download", "Upload", "FactoryReset", "ScheduleInform", "GetQueuedTransfers",
    "GetAllQueuedTransfers", "ScheduleDownload", "CancelTransfer", "ChangeDUState",
)  # fmt: skip

# Events that stay queued until the request they announce (TransferComplete...) is acknowledged.
_TRANSFER_EVENTS = frozenset({"7 TRANSFER COMPLETE", "M Download", "M Upload", "M ScheduleDownload"})
_DU_EVENTS = frozenset({"11 DU STATE CHANGE COMPLETE", "M ChangeDUState"})
_FORCED_INFORM = (
    "DeviceSummary", "DeviceInfo.SpecVersion", "RootDataModelVersion", "DeviceInfo.HardwareVersion",
    "DeviceInfo.SoftwareVersion", "DeviceInfo.ProvisioningCode", "ManagementServer.ConnectionRequestURL",
    "ManagementServer.ParameterKey",
)  # fmt: skip
# Counters and clocks change all the time; devices refuse active notification on them.
_NO_ACTIVE_NOTIFY = (".Stats.", "UpTime", "CurrentLocalTime", "BytesSent", "BytesReceived", "PacketsSent", "PacketsReceived")
PING_SUFFIXES = ("IPPingDiagnostics.DiagnosticsState", "IP.Diagnostics.IPPing.DiagnosticsState")
MAX_QUEUED_TRANSFERS = 16


class CpeFault(Exception):
    """An RPC's answer is a Fault."""

    def __init__(self, code: int, text: str | None = None, spv: list[m.SetParameterValuesFault] | None = None):
        super().__init__(text or str(code))
        self.fault = make_fault(code, text, spv or ())


@dataclass(slots=True)
class Transfer:
    """A queued Download, ScheduleDownload or Upload."""

    method: str  # the RPC that queued it
    command_key: str
    file_type: str
    url: str
    username: str = ""
    password: str = ""
    file_size: int = 0
    target_file_name: str = ""
    delay_seconds: int = 0
    window_end: int = 0  # ScheduleDownload: seconds after the request the last window closes
    state: int = 1  # 1 not started, 2 in progress, 3 completed
    queued_at: float = field(default_factory=time.monotonic)

    @property
    def is_download(self) -> bool:
        return self.method != "Upload"


@dataclass(slots=True)
class DeploymentUnit:
    uuid: str
    version: str
    url: str
    execution_env_ref: str = ""


@dataclass(slots=True)
class Action:
    """Something to do once the session is over: ``kind`` plus its arguments."""

    kind: str  # reboot | factory_reset | transfer | schedule_inform | diagnostics | change_du_state | config
    arg: object = None
    command_key: str = ""


@dataclass(slots=True)
class PingResult:
    state: str
    success: int = 0
    failure: int = 0
    avg_ms: int = 0
    min_ms: int = 0
    max_ms: int = 0


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Device:
    """One CPE's state and RPC behaviour. ``base`` holds this device's own values (identity, URLs)."""

    def __init__(
        self,
        model: DataModel,
        *,
        serial: str,
        base: dict[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.model = model
        self.root = model.root
        self.serial = serial
        base = dict(base or {})
        base.setdefault(model.root + "DeviceInfo.SerialNumber", serial)
        self.tree = DeviceTree(model, base)
        self.rng = rng or random.Random(serial)
        self.events: list[tuple[str, str]] = []  # (EventCode, CommandKey) not yet delivered
        self.changed: dict[str, None] = {}  # parameters to report in the next Inform (ordered set)
        self.transfers: list[Transfer] = []
        self.requests: list[m.Message] = []  # TransferComplete/DUStateChangeComplete to send
        self.actions: list[Action] = []
        self.deployment_units: dict[str, DeploymentUnit] = {}
        self.boot_time = time.monotonic()

    # ------------------------------------------------------------------ identity and values
    def path(self, relative: str) -> str:
        return self.root + relative

    def device_id(self) -> m.DeviceIdStruct:
        ident = self.model.identity
        return m.DeviceIdStruct(ident.manufacturer, ident.oui, ident.product_class, self.serial)

    def text(self, path: str, default: str = "") -> str:
        """A parameter's wire text (``default`` when the tree lacks it)."""
        got = self.tree.get(path)
        if got is None:
            return default
        if path.endswith("DeviceInfo.UpTime"):
            return str(int(time.monotonic() - self.boot_time))
        return got[0]

    def value(self, path: str) -> m.ParameterValueStruct:
        """A parameter as a ParameterValueStruct (typed Python value)."""
        got = self.tree.get(path)
        if got is None:
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{path} does not exist")
        value, xsd = decode_value(self.text(path), got[1])
        return m.ParameterValueStruct(path, value, xsd)

    def set_local_value(self, path: str, value: m.Value) -> int:
        """A change made on the device itself (not by the ACS). Returns the parameter's notification
        level: 2 (active) means the caller must start a session; 1 and 2 queue "4 VALUE CHANGE"."""
        got = self.tree.get(path)
        if got is None:
            raise KeyError(path)
        text = value if isinstance(value, str) else encode_value(value, got[1])
        if text == got[0]:
            return 0
        self.tree.set(path, text)
        level = self.tree.notification(path)
        if level:
            self.changed[path] = None
            self.add_event(EventCode.VALUE_CHANGE)
        return level

    # ------------------------------------------------------------------ events and Inform
    def add_event(self, code: str, command_key: str = "") -> None:
        if (code, command_key) not in self.events:
            self.events.append((EventCode(code), command_key))

    def build_inform(self, retry_count: int = 0) -> m.Inform:
        params: dict[str, None] = {}
        for rel in _FORCED_INFORM:
            if self.tree.get(self.path(rel)) is not None:
                params[self.path(rel)] = None
        wan_ip = self._external_ip_path()
        if wan_ip:
            params[wan_ip] = None
        params.update(self.changed)
        return m.Inform(
            device_id=self.device_id(),
            events=[m.EventStruct(EventCode(c), k) for c, k in self.events],
            max_envelopes=1,
            current_time=now(),
            retry_count=retry_count,
            parameter_list=[self.value(p) for p in params if self.tree.get(p) is not None],
        )

    def _external_ip_path(self) -> str | None:
        if self.root == "Device.":
            return "Device.IP.Interface.1.IPv4Address.1.IPAddress" if self.tree.exists(
                "Device.IP.Interface.1.IPv4Address.1.IPAddress"
            ) else None
        for kind in ("WANIPConnection", "WANPPPConnection"):
            p = f"{self.root}WANDevice.1.WANConnectionDevice.1.{kind}.1.ExternalIPAddress"
            if self.tree.exists(p):
                return p
        return None

    def inform_delivered(self, sent: list[m.EventStruct]) -> None:
        """InformResponse arrived: drop delivered events, except those waiting for their request."""
        delivered = {(str(e.event_code), e.command_key) for e in sent}
        self.events = [
            e for e in self.events if (str(e[0]), e[1]) not in delivered or e[0] in _TRANSFER_EVENTS or e[0] in _DU_EVENTS
        ]
        self.changed.clear()

    def session_failed(self, sent: list[m.EventStruct]) -> None:
        """The session broke after its Inform was acknowledged: the retry Inform carries the same
        events again, so the ACS sees why the device came (and an Inform always has one)."""
        missing = [(EventCode(e.event_code), e.command_key) for e in sent]
        missing = [e for e in missing if e not in self.events]
        self.events[:0] = missing

    def request_acknowledged(self, request: m.Message) -> None:
        """The ACS answered a TransferComplete/DUStateChangeComplete: forget it and its events."""
        if request in self.requests:
            self.requests.remove(request)
        if not any(isinstance(r, m.TransferComplete) for r in self.requests):
            self.events = [e for e in self.events if e[0] not in _TRANSFER_EVENTS]
        if not any(isinstance(r, m.DUStateChangeComplete) for r in self.requests):
            self.events = [e for e in self.events if e[0] not in _DU_EVENTS]

    # ------------------------------------------------------------------ RPC dispatch
    def handle(self, request: m.Message) -> m.Message:
        """The response (or Fault) to one ACS request."""
        handler = _HANDLERS.get(request.RPC)
        if handler is None:
            return make_fault(FaultCode.METHOD_NOT_SUPPORTED, f"{request.RPC} is not supported")
        try:
            return handler(self, request)
        except CpeFault as exc:
            return exc.fault

    def _GetRPCMethods(self, _: m.Message) -> m.Message:
        return m.GetRPCMethodsResponse(method_list=list(CPE_METHODS))

    def _GetParameterNames(self, req: m.GetParameterNames) -> m.Message:
        path = req.parameter_path or ""
        if path == "":
            if req.next_level:
                return m.GetParameterNamesResponse([m.ParameterInfoStruct(self.root, False)])
            path = self.root
        node = self.tree.node(path)
        if node is None or (path.endswith(".") != node.is_object):
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{path} does not exist")
        if not node.is_object:
            if req.next_level:
                raise CpeFault(FaultCode.INVALID_ARGUMENTS, "NextLevel true needs an object path")
            return m.GetParameterNamesResponse([m.ParameterInfoStruct(path, node.writable)])
        names = self.tree.children(path) if req.next_level else [path, *self.tree.walk(path)]
        return m.GetParameterNamesResponse([m.ParameterInfoStruct(p, self._writable(p)) for p in names])

    def _writable(self, path: str) -> bool:
        """Whether ``path`` (a path the tree listed, so present) is writable."""
        node = self.tree.node(path)
        return node is not None and node.writable

    def _expand(self, name: str) -> list[str]:
        """A parameter name or partial path ("" = everything) as the parameters it covers."""
        path = name or self.root
        node = self.tree.node(path)
        if node is None or path.endswith(".") != node.is_object:
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{name} does not exist")
        if not node.is_object:
            return [path]
        return [p for p in self.tree.walk(path) if not p.endswith(".")]

    def _GetParameterValues(self, req: m.GetParameterValues) -> m.Message:
        out: list[m.ParameterValueStruct] = []
        for name in req.parameter_names:
            out.extend(self.value(p) for p in self._expand(name))
        # TR-069: a password "when read, returns an empty string"
        for i, p in enumerate(out):
            if p.name.endswith("Password") and p.value:
                out[i] = m.ParameterValueStruct(p.name, "", p.type)
        return m.GetParameterValuesResponse(out)

    def _SetParameterValues(self, req: m.SetParameterValues) -> m.Message:
        faults: list[m.SetParameterValuesFault] = []
        updates: list[tuple[str, str]] = []
        seen: set[str] = set()
        for pvs in req.parameter_list:
            node = self.tree.node(pvs.name)
            code, text = 0, ""
            if pvs.name in seen:
                raise CpeFault(FaultCode.INVALID_ARGUMENTS, f"{pvs.name} appears twice")
            seen.add(pvs.name)
            if node is None or node.is_object:
                code, text = FaultCode.INVALID_PARAMETER_NAME, f"{pvs.name} does not exist"
            elif not node.writable:
                code, text = FaultCode.NON_WRITABLE_PARAMETER, f"{pvs.name} is read-only"
            else:
                try:
                    value = check_value(pvs.name, node.type, pvs.value, pvs.type)
                    updates.append((pvs.name, encode_value(value, node.type)))
                except ValueFault as exc:
                    code, text = exc.code, exc.message
            if code:
                faults.append(m.SetParameterValuesFault(pvs.name, int(code), text))
        if faults:
            raise CpeFault(FaultCode.INVALID_ARGUMENTS, None, faults)
        for path, text in updates:
            self.tree.set(path, text)
            if text == "Requested" and path.endswith(PING_SUFFIXES):
                self.actions.append(Action("diagnostics", path[: path.rfind(".") + 1]))
            if ".ManagementServer." in path or ".BulkData." in path or ".XMPP." in path:
                self.actions.append(Action("config", path))
        self._set_parameter_key(req.parameter_key)
        return m.SetParameterValuesResponse(status=0)

    def _set_parameter_key(self, key: str) -> None:
        self.tree.set(self.path("ManagementServer.ParameterKey"), key or "")

    def _GetParameterAttributes(self, req: m.GetParameterAttributes) -> m.Message:
        out = []
        for name in req.parameter_names:
            for p in self._expand(name):
                out.append(m.ParameterAttributeStruct(p, self.tree.notification(p), list(self.tree.access_list(p))))
        return m.GetParameterAttributesResponse(out)

    def _SetParameterAttributes(self, req: m.SetParameterAttributes) -> m.Message:
        plan: list[tuple[str, int | None, list[str] | None]] = []
        for s in req.parameter_list:
            if s.notification_change and not 0 <= s.notification <= 6:
                raise CpeFault(FaultCode.INVALID_ARGUMENTS, f"Notification {s.notification} for {s.name}")
            for p in self._expand(s.name):
                if s.notification_change and s.notification == 2 and any(x in p for x in _NO_ACTIVE_NOTIFY):
                    if s.name == p:  # asked for this very parameter: refuse; on a subtree, skip it
                        raise CpeFault(FaultCode.NOTIFICATION_REQUEST_REJECTED, f"active notification refused for {p}")
                    continue
                plan.append(
                    (p, s.notification if s.notification_change else None, s.access_list if s.access_list_change else None)
                )
        for p, n, acl in plan:
            self.tree.set_attributes(p, n, acl)
        return m.SetParameterAttributesResponse()

    def _AddObject(self, req: m.AddObject) -> m.Message:
        name = req.object_name
        node = self.tree.node(name) if name.endswith(".") else None
        if node is None or not node.writable or not self.tree.is_table(name):
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{name} is not a writable multi-instance object")
        number = self.tree.add_object(name)
        self._set_parameter_key(req.parameter_key)
        return m.AddObjectResponse(instance_number=number, status=0)

    def _DeleteObject(self, req: m.DeleteObject) -> m.Message:
        name = req.object_name
        if not name.endswith(".") or not is_instance_segment(last_segment(name)) or not self.tree.exists(name):
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{name} is not an object instance")
        table = name[: name.rstrip(".").rfind(".") + 1]
        if not (self._writable(name) or self._writable(table)):
            raise CpeFault(FaultCode.INVALID_PARAMETER_NAME, f"{table} does not allow deleting instances")
        self.tree.delete_object(name)
        self._set_parameter_key(req.parameter_key)
        return m.DeleteObjectResponse(status=0)

    def _Reboot(self, req: m.Reboot) -> m.Message:
        self.actions.append(Action("reboot", command_key=req.command_key))
        return m.RebootResponse()

    def _FactoryReset(self, _: m.Message) -> m.Message:
        self.actions.append(Action("factory_reset"))
        return m.FactoryResetResponse()

    def _check_url(self, url: str) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise CpeFault(FaultCode.UNSUPPORTED_TRANSFER_PROTOCOL, f"unsupported URL scheme in {url!r}")
        if len(self.transfers) >= MAX_QUEUED_TRANSFERS:
            raise CpeFault(FaultCode.RESOURCES_EXCEEDED, "transfer queue full")

    def _Download(self, req: m.Download) -> m.Message:
        self._check_url(req.url)
        t = Transfer("Download", req.command_key, req.file_type, req.url, req.username, req.password,
                     req.file_size, req.target_file_name, req.delay_seconds)  # fmt: skip
        self.transfers.append(t)
        self.actions.append(Action("transfer", t, req.command_key))
        return m.DownloadResponse(status=1)

    def _Upload(self, req: m.Upload) -> m.Message:
        self._check_url(req.url)
        t = Transfer("Upload", req.command_key, req.file_type, req.url, req.username, req.password,
                     delay_seconds=req.delay_seconds)  # fmt: skip
        self.transfers.append(t)
        self.actions.append(Action("transfer", t, req.command_key))
        return m.UploadResponse(status=1)

    def _ScheduleDownload(self, req: m.ScheduleDownload) -> m.Message:
        windows = req.time_windows
        if not 1 <= len(windows) <= 2 or any(w.window_end < w.window_start for w in windows):
            raise CpeFault(FaultCode.INVALID_ARGUMENTS, "one or two TimeWindows with WindowEnd >= WindowStart")
        self._check_url(req.url)
        first = min(windows, key=lambda w: w.window_start)
        t = Transfer("ScheduleDownload", req.command_key, req.file_type, req.url, req.username, req.password,
                     req.file_size, req.target_file_name, first.window_start,
                     max(w.window_end for w in windows))  # fmt: skip
        self.transfers.append(t)
        self.actions.append(Action("transfer", t, req.command_key))
        return m.ScheduleDownloadResponse()

    def _CancelTransfer(self, req: m.CancelTransfer) -> m.Message:
        matching = [t for t in self.transfers if t.command_key == req.command_key]
        if not matching:
            raise CpeFault(FaultCode.INVALID_ARGUMENTS, f"no transfer with CommandKey {req.command_key!r}")
        if any(t.state != 1 for t in matching):
            raise CpeFault(FaultCode.CANCEL_NOT_PERMITTED, "transfer already started")
        for t in matching:
            self.transfers.remove(t)
        return m.CancelTransferResponse()

    def _GetQueuedTransfers(self, _: m.Message) -> m.Message:
        return m.GetQueuedTransfersResponse(
            [m.QueuedTransferStruct(t.command_key, t.state) for t in self.transfers if t.method == "Download"]
        )

    def _GetAllQueuedTransfers(self, _: m.Message) -> m.Message:
        return m.GetAllQueuedTransfersResponse(
            [
                m.AllQueuedTransferStruct(t.command_key, t.state, t.is_download, t.file_type, t.file_size, t.target_file_name)
                for t in self.transfers
            ]
        )

    def _ScheduleInform(self, req: m.ScheduleInform) -> m.Message:
        if req.delay_seconds <= 0:
            raise CpeFault(FaultCode.INVALID_ARGUMENTS, "DelaySeconds must be greater than zero")
        self.actions.append(Action("schedule_inform", req.delay_seconds, req.command_key))
        return m.ScheduleInformResponse()

    def _ChangeDUState(self, req: m.ChangeDUState) -> m.Message:
        if not req.operations:
            raise CpeFault(FaultCode.INVALID_ARGUMENTS, "no operations")
        for op in req.operations:
            if (isinstance(op, (m.InstallOpStruct, m.UpdateOpStruct)) and op.url
                    and not op.url.lower().startswith(("http://", "https://"))):
                raise CpeFault(FaultCode.UNSUPPORTED_TRANSFER_PROTOCOL, f"unsupported URL {op.url!r}")
            if op.uuid:
                try:
                    uuid.UUID(op.uuid)
                except ValueError:
                    raise CpeFault(FaultCode.INVALID_UUID_FORMAT, f"bad UUID {op.uuid!r}") from None
        self.actions.append(Action("change_du_state", req, req.command_key))
        return m.ChangeDUStateResponse()

    # ------------------------------------------------------------------ effects, run by the caller
    def take_actions(self) -> list[Action]:
        actions, self.actions = self.actions, []
        return actions

    def reboot(self, command_key: str | None = None) -> None:
        """The device restarts: "1 BOOT" (+ "M Reboot" when the ACS asked for it)."""
        self.boot_time = time.monotonic()
        self.add_event(EventCode.BOOT)
        if command_key is not None:
            self.add_event(EventCode.M_REBOOT, command_key)

    def factory_reset(self) -> None:
        """Back to the dump's values; the device then bootstraps again."""
        self.tree.factory_reset()
        self.events.clear()
        self.changed.clear()
        self.transfers.clear()
        self.requests.clear()
        self.deployment_units.clear()
        self.boot_time = time.monotonic()
        self.add_event(EventCode.BOOTSTRAP)
        self.add_event(EventCode.BOOT)

    def complete_transfer(self, t: Transfer, fault: m.FaultStruct, started: datetime, completed: datetime) -> None:
        """Queue the TransferComplete and its events for the next session."""
        if t in self.transfers:
            self.transfers.remove(t)
        t.state = 3
        self.requests.append(m.TransferComplete(t.command_key, fault, started, completed))
        self.add_event(EventCode.TRANSFER_COMPLETE)
        self.add_event("M " + t.method, t.command_key)
        if t.is_download and fault.fault_code == 0 and t.file_type.startswith("1 "):
            name = t.target_file_name or t.url.rsplit("/", 1)[-1]
            version = name.rsplit(".", 1)[0] if "." in name else name
            if version:
                self.tree.set(self.path("DeviceInfo.SoftwareVersion"), version)
            self.reboot()  # a new firmware image is applied by rebooting

    def upload_body(self, file_type: str) -> bytes:
        """A vendor configuration file (the tree as XML) or log file, as a device would PUT."""
        if file_type.startswith(("2", "4")):
            lines = [f"{now().isoformat()} {self.serial} boot ok", f"{now().isoformat()} {self.serial} cwmp session"]
            return ("\n".join(lines) + "\n").encode()
        rows = []
        for p in self.tree.walk(self.root):
            if not p.endswith("."):
                text = self.text(p).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
                rows.append(f'  <param name="{p}" value="{text}"/>')
        return ("<config>\n" + "\n".join(rows) + "\n</config>\n").encode()

    def run_ping(self, prefix: str) -> PingResult:
        """Fill an IPPing diagnostics object with plausible results; queue "8 DIAGNOSTICS COMPLETE"."""
        host = self.text(prefix + "Host")
        reps = int(self.text(prefix + "NumberOfRepetitions", "4") or 4) or 4
        if not host or host.endswith(".invalid"):
            result = PingResult("Error_CannotResolveHostName")
        else:
            failure = sum(1 for _ in range(reps) if self.rng.random() < 0.02)
            times = [self.rng.uniform(1.0, 40.0) for _ in range(reps - failure)]
            result = PingResult(
                "Complete", reps - failure, failure,
                round(sum(times) / len(times)) if times else 0,
                round(min(times)) if times else 0, round(max(times)) if times else 0,
            )  # fmt: skip
        fields = {
            "DiagnosticsState": result.state, "SuccessCount": result.success, "FailureCount": result.failure,
            "AverageResponseTime": result.avg_ms, "MinimumResponseTime": result.min_ms,
            "MaximumResponseTime": result.max_ms, "AverageResponseTimeDetailed": result.avg_ms * 1000,
            "MinimumResponseTimeDetailed": result.min_ms * 1000, "MaximumResponseTimeDetailed": result.max_ms * 1000,
        }  # fmt: skip
        for leaf, v in fields.items():
            self.tree.set(prefix + leaf, str(v))
        self.add_event(EventCode.DIAGNOSTICS_COMPLETE)
        return result

    def change_du_state(self, req: m.ChangeDUState, fetched: dict[str, m.FaultStruct]) -> None:
        """Apply ChangeDUState operations (``fetched``: URL -> fault of fetching it) and queue the
        DUStateChangeComplete."""
        results = []
        for op in req.operations:
            start = now()
            fault = m.FaultStruct()
            if isinstance(op, m.InstallOpStruct):
                unit_uuid = op.uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, op.url))
                fault = fetched.get(op.url, fault)
                if fault.fault_code == 0 and unit_uuid in self.deployment_units:
                    fault = m.FaultStruct(FaultCode.DUPLICATE_DEPLOYMENT_UNIT, "already installed")
                version = "1.0"
                if fault.fault_code == 0:
                    self.deployment_units[unit_uuid] = DeploymentUnit(unit_uuid, version, op.url, op.execution_env_ref)
                state = "Installed" if fault.fault_code == 0 else "Failed"
            else:
                unit = self.deployment_units.get(op.uuid)
                unit_uuid, version = op.uuid, unit.version if unit else getattr(op, "version", "")
                if unit is None:
                    fault = m.FaultStruct(FaultCode.UNKNOWN_DEPLOYMENT_UNIT, f"no unit {op.uuid}")
                    state = "Failed"
                elif isinstance(op, m.UpdateOpStruct):
                    fault = fetched.get(op.url or unit.url, fault)
                    if fault.fault_code == 0:
                        unit.version = op.version or _next_version(unit.version)
                        version = unit.version
                    state = "Installed"
                else:
                    del self.deployment_units[op.uuid]
                    state = "Uninstalled"
            index = list(self.deployment_units).index(unit_uuid) + 1 if unit_uuid in self.deployment_units else 0
            ref = f"{self.root}SoftwareModules.DeploymentUnit.{index}." if index and self.root == "Device." else ""
            results.append(m.OpResultStruct(unit_uuid, ref, version, state, fault.fault_code == 0, "", start, now(), fault))
        self.requests.append(m.DUStateChangeComplete(results, req.command_key))
        self.add_event(EventCode.DU_STATE_CHANGE_COMPLETE)
        self.add_event(EventCode.M_CHANGE_DU_STATE, req.command_key)

    # ------------------------------------------------------------------ settings the runner reads
    def management(self, leaf: str, default: str = "") -> str:
        return self.text(self.path("ManagementServer." + leaf), default)

    def periodic_interval(self) -> int | None:
        """Seconds between periodic Informs, or None when PeriodicInformEnable is false."""
        if self.management("PeriodicInformEnable", "true").lower() in ("false", "0"):
            return None
        try:
            return max(1, int(self.management("PeriodicInformInterval", "300")))
        except ValueError:
            return 300


_HANDLERS: dict[str, Callable[[Device, m.Message], m.Message]] = {
    name: getattr(Device, "_" + name) for name in CPE_METHODS
}


def _next_version(version: str) -> str:
    head, _, tail = version.rpartition(".")
    return f"{head}.{int(tail) + 1}" if tail.isdigit() and head else version + ".1"
